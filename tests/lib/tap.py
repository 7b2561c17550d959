"""tap -- the one way the Python tests report: TAP on standard output.

    from tap import ok, run
    ok(cond, what, detail)      one line, "ok N - what" or "not ok N - what"
                                with detail as comments; returns cond
    run(tests, *args)           each test(*args) in turn; the exit status

A test checks with ok() as it goes, or with plain asserts: run() gives a
test that raised one "not ok" line with its traceback, and a test that
printed no line of its own and raised nothing one "ok" line in its name.
One script is one plan, so the reporter is one per process (TAP)."""
import signal
import time
import traceback


class Timeout(Exception):
    """The whole script ran out of its time (run's alarm)."""


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, what), flush=True)
            for line in str(detail).splitlines():
                print("#   " + line, flush=True)
        return cond

    def check(self, test, *args):
        """Run test(*args) as run() says; re-raise a Timeout."""
        n = self.n
        try:
            test(*args)
        except Exception as e:          # report, and go on with the next
            self.ok(False, "%s: %r" % (test.__name__, e),
                    traceback.format_exc())
            if isinstance(e, Timeout):
                raise
            return
        if self.n == n:
            self.ok(True, test.__name__)

    def plan(self):
        """Print the plan; the exit status: 1 if anything failed."""
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


TAP = Tap()
ok = TAP.ok


def on_alarm(signum, frame):
    raise Timeout("the whole test ran out of its time (alarm)")


def alarm(seconds):
    """Bound the whole script: past seconds the test then running raises
    Timeout (reported, and no further test runs)."""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


def run(tests, *args, limit=280, after=None):
    """Run each test(*args) in order, bounded by alarm(limit) in all, and
    after() (when given) after each; print the plan.  The exit status."""
    alarm(limit)
    try:
        for t in tests:
            t0 = time.monotonic()
            try:
                TAP.check(t, *args)
            except Timeout:
                break
            finally:
                if after is not None:
                    after()
            print("# %s took %.1f s" % (t.__name__, time.monotonic() - t0),
                  flush=True)
    finally:
        signal.alarm(0)
    return TAP.plan()
