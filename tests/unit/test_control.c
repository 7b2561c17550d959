/*
 * test_control.c -- the control command parser and the backoff ladder.
 */
#include <signal.h>
#include <string.h>

#include "control.h"
#include "backoff.h"
#include "tap.h"

static int
parse(const char *s, struct control_cmd *c)
{
	return control_parse(s, strlen(s), c);
}

int
main(void)
{
	static struct control_cmd c;
	char			 big[CONTROL_LINE_MAX * 2];

	ok(parse("status", &c) == 0 && c.verb == CONTROL_STATUS &&
	    c.nnames == 0, "status");
	ok(parse("status Hands", &c) == 0 && c.verb == CONTROL_STATUS &&
	    c.nnames == 1 && strcmp(c.names[0], "Hands") == 0, "status NAME");
	ok(parse("status Hands Welsh", &c) == 0 && c.nnames == 2 &&
	    strcmp(c.names[1], "Welsh") == 0, "status with two names");
	ok(parse("  status \r", &c) == 0 && c.verb == CONTROL_STATUS,
	    "white space and CR around a command");
	ok(parse("STATUS", &c) == 0 && c.verb == CONTROL_STATUS,
	    "verbs are case-insensitive");
	ok(parse("", &c) == 0 && c.verb == CONTROL_NONE, "empty line");
	ok(parse(" \t\r", &c) == 0 && c.verb == CONTROL_NONE, "blank line");
	ok(parse("start Goloman", &c) == 0 && c.verb == CONTROL_START &&
	    c.nnames == 1 && strcmp(c.names[0], "Goloman") == 0 &&
	    !c.nowait && !c.all, "start NAME");
	ok(parse("stop a.b_c-9", &c) == 0 && c.verb == CONTROL_STOP &&
	    strcmp(c.names[0], "a.b_c-9") == 0, "stop NAME with . _ -");
	ok(parse("stop --no-wait A B C", &c) == 0 && c.nowait &&
	    c.nnames == 3 && strcmp(c.names[2], "C") == 0,
	    "stop --no-wait with three names");
	ok(parse("restart all", &c) == 0 && c.all && c.nnames == 0,
	    "restart all");
	ok(parse("start --no-wait all", &c) == 0 && c.all && c.nowait,
	    "start --no-wait all");
	ok(parse("start all Hands", &c) == -1 &&
	    strstr(c.error, "alone") != NULL, "all goes alone: %s", c.error);
	ok(parse("start --no-wait", &c) == -1, "--no-wait without names");
	ok(parse("start Hands --no-wait", &c) == -1,
	    "--no-wait after the names is a bad name");
	ok(parse("reload --no-wait", &c) == 0 && c.verb == CONTROL_RELOAD &&
	    c.nowait, "reload --no-wait");
	ok(parse("reopen", &c) == 0 && c.verb == CONTROL_REOPEN, "reopen");
	ok(parse("reopen now", &c) == -1, "reopen with an operand");
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
	ok(parse("reload now", &c) == -1, "reload with an operand");
	memset(big, 0, sizeof(big));
	{
		size_t	 i, o = 0;

		o += (size_t)snprintf(big, sizeof(big), "stop");
		for (i = 0; i <= CONTROL_NAMES_MAX; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o, " n");
		ok(control_parse(big, o, &c) == -1, "too many names");
	}
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
	ok(backoff_delay_ms(1, 1, 100, 1000) == 0,
	    "first crash of a healthy worker: at once");
	ok(backoff_delay_ms(2, 1, 100, 1000) == 100, "then restart_delay_ms");
	ok(backoff_delay_ms(3, 1, 100, 1000) == 200, "then doubling");
	ok(backoff_delay_ms(1, 0, 100, 1000) == 100,
	    "a worker never ready: restart_delay_ms at once");
	ok(backoff_delay_ms(4, 0, 100, 1000) == 800, "100 200 400 800");
	ok(backoff_delay_ms(5, 0, 100, 1000) == 1000, "capped");
	ok(backoff_delay_ms(400, 0, 100, 30000) == 30000,
	    "no overflow after many crashes");
	ok(backoff_delay_ms(3, 0, 0, 0) == 0, "zero delay stays zero");
	/* giving up: 5 crashes within 10 s */
	{
		double	 at[] = { 0, 1, 2, 3, 4, 20, 21, 22, 23, 33.5 };

		ok(!backoff_crash_loop(at, 4, 5, 10), "4 crashes: not yet");
		ok(backoff_crash_loop(at, 5, 5, 10), "5 within 4 s: a loop");
		ok(!backoff_crash_loop(at, 6, 5, 10), "the 5 last within 19 s: no");
		ok(!backoff_crash_loop(at, 10, 5, 10),
		    "20 21 22 23 33.5: 13.5 s, no");
		ok(!backoff_crash_loop(at, 5, 0, 10), "burst 0: never");
		ok(backoff_crash_loop(at, 1, 1, 10), "burst 1: the first crash");
	}
	/* whose doing: killed from outside, or failed on its own */
	ok(backoff_from_outside(SIGKILL, 0, 0) && backoff_from_outside(SIGTERM,
	    0, 0) && backoff_from_outside(SIGINT, 0, 0) &&
	    backoff_from_outside(SIGHUP, 0, 0), "KILL TERM INT HUP: outside");
	ok(!backoff_from_outside(SIGSEGV, 0, 0) && !backoff_from_outside(
	    SIGABRT | 0x80, 0, 0) && !backoff_from_outside(SIGBUS, 0, 0) &&
	    !backoff_from_outside(SIGFPE, 0, 0) &&
	    !backoff_from_outside(SIGILL, 0, 0), "SEGV ABRT BUS FPE ILL: its own");
	ok(backoff_from_outside(SIGSEGV, 0, 1), "any signal after herdctl kill");
	ok(!backoff_from_outside(SIGKILL, 1, 0) &&
	    !backoff_from_outside(SIGKILL, 1, 1), "killed by herdd: its own");
	ok(backoff_from_outside(0, 0, 0), "exit 0: told to stop");
	ok(!backoff_from_outside(1 << 8, 0, 0) &&
	    !backoff_from_outside(1 << 8, 0, 1), "exit 1: its own, always");
	return tap_done();
}
