/*
 * fuzz_control.c -- libFuzzer target: control command lines.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control_cmd cmd;
	size_t			 i, j;

	if (control_parse((const char *)data, size, &cmd) == -1) {
		/* a one-line printable message */
		if (cmd.error[0] == '\0' ||
		    strlen(cmd.error) >= sizeof(cmd.error))
			__builtin_trap();
		for (i = 0; cmd.error[i] != '\0'; i++)
			if (cmd.error[i] < 0x20 || cmd.error[i] > 0x7e)
				__builtin_trap();
		return 0;
	}
	if (cmd.verb < CONTROL_NONE || cmd.verb >= CONTROL_NVERBS)
		__builtin_trap();
	if (cmd.nnames > CONTROL_NAMES_MAX || (cmd.all && cmd.nnames > 0))
		__builtin_trap();
	for (j = 0; j < cmd.nnames; j++) {
		if (cmd.names[j][0] == '\0' || cmd.names[j][0] == '-')
			__builtin_trap();
		for (i = 0; cmd.names[j][i] != '\0'; i++)
			if (strchr(" \t\r\n\f\v", cmd.names[j][i]) != NULL)
				__builtin_trap();
	}
	if (cmd.verb == CONTROL_KILL && (cmd.signo < 1 || cmd.signo >= 65))
		__builtin_trap();
	return 0;
}
