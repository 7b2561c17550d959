/*
 * test_paths.c -- the default paths, installed and from the build tree.
 *
 *	test_paths SOURCE_ROOT SYSCONFDIR DATADIR LOCALSTATEDIR RUNSTATEDIR
 *
 * run from a directory without etc/herd.ini (meson runs it in the build
 * directory).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "tap.h"

static char	 got[4096];

static const char *
def(enum paths_file what, enum paths_where where)
{
	if (paths_default(what, where, got, sizeof(got)) == -1)
		return "(too long)";
	return got;
}

static const char *
cat(const char *a, const char *b)
{
	static char	 buf[4][4096];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", a, b);
	return buf[i];
}

int
main(int argc, char *argv[])
{
	const char	*src, *sysconf, *data, *lstate, *run;
	char		 small[8];

	if (argc != 6) {
		fprintf(stderr, "usage: test_paths SOURCE SYSCONFDIR DATADIR "
		    "LOCALSTATEDIR RUNSTATEDIR\n");
		return 2;
	}
	src = argv[1];
	sysconf = argv[2];
	data = argv[3];
	lstate = argv[4];
	run = argv[5];

	ok(paths_under("/a/b/c", "/a/b"), "under: a child");
	ok(paths_under("/a/b", "/a/b"), "under: the directory itself");
	ok(paths_under("/a/b/c", "/a/b/"), "under: a trailing slash");
	ok(!paths_under("/a/bc/d", "/a/b"), "under: not a mere prefix");
	ok(!paths_under("/a", "/a/b"), "under: not a parent");
	ok(paths_under("/x", "/"), "under: everything is under /");
	ok(!paths_under("/a", ""), "under: nothing is under \"\"");

	ok(paths_where() == PATHS_BUILD_TREE, "this test runs from the build "
	    "tree");
	ok(access("etc/herd.ini", F_OK) == -1, "no etc/herd.ini here");

	ok(strcmp(def(PATHS_CONF, PATHS_INSTALLED), cat(sysconf,
	    "/herd/herd.ini")) == 0, "installed conf: %s", got);
	ok(strcmp(def(PATHS_DATASET, PATHS_INSTALLED), cat(data,
	    "/herd/cities.dat")) == 0, "installed dataset: %s", got);
	ok(strcmp(def(PATHS_LOG_DIR, PATHS_INSTALLED), cat(lstate,
	    "/log/herd")) == 0, "installed log_dir: %s", got);
	ok(strcmp(def(PATHS_STATE_DIR, PATHS_INSTALLED), cat(lstate,
	    "/lib/herd")) == 0, "installed state_dir: %s", got);
	ok(strcmp(def(PATHS_CONTROL, PATHS_INSTALLED), cat(run,
	    "/herd/herd.sock")) == 0, "installed control: %s", got);

	ok(strcmp(def(PATHS_CONF, PATHS_BUILD_TREE), cat(src,
	    "/etc/herd.ini")) == 0, "build tree conf, none in cwd: %s", got);
	ok(strcmp(paths_conf(), cat(src, "/etc/herd.ini")) == 0,
	    "paths_conf: %s", paths_conf());
	ok(strcmp(def(PATHS_DATASET, PATHS_BUILD_TREE), cat(src,
	    "/data/cities.dat")) == 0, "build tree dataset: %s", got);
	ok(strcmp(def(PATHS_LOG_DIR, PATHS_BUILD_TREE), "log") == 0,
	    "build tree log_dir: %s", got);
	ok(strcmp(def(PATHS_STATE_DIR, PATHS_BUILD_TREE), "") == 0,
	    "build tree state_dir: none");
	ok(strcmp(def(PATHS_CONTROL, PATHS_BUILD_TREE), "herd.sock") == 0,
	    "build tree control: %s", got);
	if (chdir(src) == 0)
		ok(strcmp(def(PATHS_CONF, PATHS_BUILD_TREE), "etc/herd.ini") ==
		    0, "build tree conf, from the source directory: %s", got);
	ok(paths_default(PATHS_CONF, PATHS_INSTALLED, small, sizeof(small)) ==
	    -1, "a buffer too small");
	return tap_done();
}
