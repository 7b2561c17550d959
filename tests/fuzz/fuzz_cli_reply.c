/*
 * fuzz_cli_reply.c -- libFuzzer target: the server's replies as herd-cli
 * reads and shows them (client/cli_reply.h).  The first byte says whether
 * the reply is a WHATSAT's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_reply.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data + 1;
	char		*shown;
	size_t		 len, end, slen;
	int		 multi;

	if (size == 0)
		return 0;
	multi = data[0] & 1;
	len = size - 1;
	(void)cli_reply_multi(buf, len);
	end = cli_reply_end(buf, len, multi);
	if (end > len || (end > 0 && buf[end - 1] != '\n'))
		__builtin_trap();
	if (end == 0 && !multi && memchr(buf, '\n', len) != NULL)
		__builtin_trap();		/* a line was there */
	if ((shown = cli_reply_format(buf, end > 0 ? end : len)) == NULL)
		return 0;
	slen = strlen(shown);
	if (slen == 0 || shown[slen - 1] != '\n')
		__builtin_trap();		/* always ends in a newline */
	free(shown);
	return 0;
}
