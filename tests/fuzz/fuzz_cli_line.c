/*
 * fuzz_cli_line.c -- libFuzzer target: what a person types to herd-cli
 * (client/cli_line.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli_line.h"
#include "proto.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct htime now = { 1796540450, 878192363 };
	static char		 out[CLI_LINE_MAX], err[256];
	struct proto_cmd	 cmd;
	enum cli_kind		 k;
	size_t			 len;

	err[0] = '\0';
	k = cli_line_make((const char *)data, size, &now, out, sizeof(out),
	    err, sizeof(err));
	if (k == CLI_ERROR) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			__builtin_trap();	/* one line, never empty */
		return 0;
	}
	if (k < CLI_EMPTY || k > CLI_QUIT)
		__builtin_trap();
	if (k != CLI_IAMAT && k != CLI_WHATSAT && k != CLI_SEND)
		return 0;
	/* one line, with its newline, that the server parses as made */
	len = strlen(out);
	if (len == 0 || len >= sizeof(out) || out[len - 1] != '\n' ||
	    memchr(out, '\n', len - 1) != NULL)
		__builtin_trap();
	if (k == CLI_IAMAT &&
	    proto_parse_client(out, len - 1, &cmd) != PROTO_IAMAT)
		__builtin_trap();
	if (k == CLI_WHATSAT &&
	    proto_parse_client(out, len - 1, &cmd) != PROTO_WHATSAT)
		__builtin_trap();
	return 0;
}
