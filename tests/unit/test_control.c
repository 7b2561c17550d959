/*
 * test_control.c -- the control command parser and the backoff ladder.
 */
#include <signal.h>
#include <string.h>

#include "control.h"
#include "proc.h"
#include "tap.h"

static int
parse(const char *s, struct control_cmd *c)
{
	return control_parse(s, strlen(s), c);
}

int
main(void)
{
	struct control_cmd	 c;
	char			 big[CONTROL_LINE_MAX * 2];

	ok(parse("status", &c) == 0 && c.verb == CONTROL_STATUS &&
	    c.name[0] == '\0', "status");
	ok(parse("status Hands", &c) == 0 && c.verb == CONTROL_STATUS &&
	    strcmp(c.name, "Hands") == 0, "status NAME");
	ok(parse("  status \r", &c) == 0 && c.verb == CONTROL_STATUS,
	    "white space and CR around a command");
	ok(parse("STATUS", &c) == 0 && c.verb == CONTROL_STATUS,
	    "verbs are case-insensitive");
	ok(parse("", &c) == 0 && c.verb == CONTROL_NONE, "empty line");
	ok(parse(" \t\r", &c) == 0 && c.verb == CONTROL_NONE, "blank line");
	ok(parse("start Goloman", &c) == 0 && c.verb == CONTROL_START &&
	    strcmp(c.name, "Goloman") == 0, "start NAME");
	ok(parse("stop a.b_c-9", &c) == 0 && c.verb == CONTROL_STOP &&
	    strcmp(c.name, "a.b_c-9") == 0, "stop NAME with . _ -");
	ok(parse("restart\tWelsh", &c) == 0 && c.verb == CONTROL_RESTART,
	    "restart NAME, tab-separated");
	ok(parse("reload", &c) == 0 && c.verb == CONTROL_RELOAD, "reload");
	ok(parse("shutdown", &c) == 0 && c.verb == CONTROL_SHUTDOWN,
	    "shutdown");

	ok(parse("kill Hands", &c) == 0 && c.verb == CONTROL_KILL &&
	    c.signo == SIGKILL, "kill defaults to KILL");
	ok(parse("kill Hands TERM", &c) == 0 && c.signo == SIGTERM,
	    "kill TERM");
	ok(parse("kill Hands SIGTERM", &c) == 0 && c.signo == SIGTERM,
	    "kill SIGTERM");
	ok(parse("kill Hands sigusr1", &c) == 0 && c.signo == SIGUSR1,
	    "kill sigusr1 (case-insensitive)");
	ok(parse("kill Hands 9", &c) == 0 && c.signo == 9, "kill 9");
	ok(parse("kill Hands 0", &c) == -1, "signal 0 refused");
	ok(parse("kill Hands 65", &c) == -1, "signal 65 refused");
	ok(parse("kill Hands 1234", &c) == -1, "signal 1234 refused");
	ok(parse("kill Hands FOO", &c) == -1 &&
	    strstr(c.error, "unknown signal") != NULL, "unknown signal");
	ok(parse("kill Hands SIG", &c) == -1, "bare SIG refused");
	ok(parse("kill", &c) == -1 && strstr(c.error, "usage") != NULL,
	    "kill without a name");
	ok(parse("kill a b c", &c) == -1, "kill with three operands");

	ok(parse("frobnicate", &c) == -1 &&
	    strcmp(c.error, "unknown command \"frobnicate\"") == 0,
	    "unknown command: %s", c.error);
	ok(parse("stat", &c) == -1, "no prefix matching");
	ok(parse("start", &c) == -1 && strstr(c.error, "usage") != NULL,
	    "start without a name");
	ok(parse("start a b", &c) == -1, "start with two names");
	ok(parse("reload now", &c) == -1, "reload with an operand");
	ok(parse("status a b", &c) == -1, "status with two names");
	ok(parse("start a/b", &c) == -1 &&
	    strstr(c.error, "bad node name") != NULL, "bad node name");
	ok(parse("start \xff\x01", &c) == -1 &&
	    strchr(c.error, '\xff') == NULL && strchr(c.error, '\x01') ==
	    NULL, "bad bytes are not echoed");
	memset(big, 'a', sizeof(big));
	big[0] = 's', big[1] = 't', big[2] = 'o', big[3] = 'p', big[4] = ' ';
	ok(control_parse(big, sizeof(big), &c) == -1, "over-long name");
	ok(control_parse("status", 4, &c) == -1, "length is honoured (\"stat\")");
	ok(control_parse("start A\0B", 9, &c) == -1, "NUL in a name");

	ok(control_signal("HUP") == SIGHUP && control_signal("sigint") ==
	    SIGINT && control_signal("15") == SIGTERM, "control_signal");
	ok(strcmp(control_verb_name(CONTROL_KILL), "kill") == 0,
	    "control_verb_name");

	/* the backoff ladder: delay 100, max 1000 */
	ok(proc_backoff_ms(1, 1, 100, 1000) == 0,
	    "first crash of a healthy worker: at once");
	ok(proc_backoff_ms(2, 1, 100, 1000) == 100, "then restart_delay_ms");
	ok(proc_backoff_ms(3, 1, 100, 1000) == 200, "then doubling");
	ok(proc_backoff_ms(1, 0, 100, 1000) == 100,
	    "a worker never ready: restart_delay_ms at once");
	ok(proc_backoff_ms(4, 0, 100, 1000) == 800, "100 200 400 800");
	ok(proc_backoff_ms(5, 0, 100, 1000) == 1000, "capped");
	ok(proc_backoff_ms(400, 0, 100, 30000) == 30000,
	    "no overflow after many crashes");
	ok(proc_backoff_ms(3, 0, 0, 0) == 0, "zero delay stays zero");
	return tap_done();
}
