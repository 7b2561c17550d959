/*
 * paths.c -- the default paths, installed or in the build tree (see
 * paths.h).  The directories come from meson (common/meson.build).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

#ifndef HERD_BUILD_ROOT		/* built outside meson: always installed */
#define HERD_BUILD_ROOT		""
#define HERD_SOURCE_ROOT	"."
#endif
#ifndef HERD_SYSCONFDIR
#define HERD_SYSCONFDIR		"/usr/local/etc"
#define HERD_DATADIR		"/usr/local/share"
#define HERD_LOCALSTATEDIR	"/var/local"
#define HERD_RUNSTATEDIR	"/run"
#endif

#define PATHS_BUILD_CONF	"etc/herd.ini"	/* from the current directory */

int
paths_under(const char *path, const char *dir)
{
	size_t	 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(path, dir, n) != 0)
		return 0;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

int
paths_default(enum paths_file what, enum paths_where where, char *buf,
    size_t len)
{
	int	 n = -1;

	if (where == PATHS_BUILD_TREE) {
		switch (what) {
		case PATHS_CONF:
			if (access(PATHS_BUILD_CONF, F_OK) == 0)
				n = snprintf(buf, len, "%s", PATHS_BUILD_CONF);
			else
				n = snprintf(buf, len, "%s/%s",
				    HERD_SOURCE_ROOT, PATHS_BUILD_CONF);
			break;
		case PATHS_DATASET:
			n = snprintf(buf, len, "%s/data/cities.dat",
			    HERD_SOURCE_ROOT);
			break;
		case PATHS_LOG_DIR:
			n = snprintf(buf, len, "log");
			break;
		case PATHS_STATE_DIR:
			n = snprintf(buf, len, "%s", "");
			break;
		case PATHS_CONTROL:
			n = snprintf(buf, len, "herd.sock");
			break;
		case PATHS_PAGE:
			n = snprintf(buf, len, "%s/etc/status.html",
			    HERD_SOURCE_ROOT);
			break;
		}
	} else {
		switch (what) {
		case PATHS_CONF:
			n = snprintf(buf, len, "%s/herd/herd.ini",
			    HERD_SYSCONFDIR);
			break;
		case PATHS_DATASET:
			n = snprintf(buf, len, "%s/herd/cities.dat",
			    HERD_DATADIR);
			break;
		case PATHS_LOG_DIR:
			n = snprintf(buf, len, "%s/log/herd",
			    HERD_LOCALSTATEDIR);
			break;
		case PATHS_STATE_DIR:
			n = snprintf(buf, len, "%s/lib/herd",
			    HERD_LOCALSTATEDIR);
			break;
		case PATHS_CONTROL:
			n = snprintf(buf, len, "%s/herd/herd.sock",
			    HERD_RUNSTATEDIR);
			break;
		case PATHS_PAGE:
			n = snprintf(buf, len, "%s/herd/status.html",
			    HERD_DATADIR);
			break;
		}
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
paths_conf(void)
{
	static char	 conf[PATH_MAX];

	if (conf[0] == '\0' && paths_default(PATHS_CONF, paths_where(), conf,
	    sizeof(conf)) == -1)
		conf[0] = '\0';
	return conf;
}

enum paths_where
paths_where(void)
{
	static int	 where = -1;
	char		 exe[PATH_MAX], root[PATH_MAX];

	if (where != -1)
		return (enum paths_where)where;
	where = PATHS_INSTALLED;
	if (HERD_BUILD_ROOT[0] != '\0' &&
	    realpath("/proc/self/exe", exe) != NULL &&
	    realpath(HERD_BUILD_ROOT, root) != NULL && paths_under(exe, root))
		where = PATHS_BUILD_TREE;
	return (enum paths_where)where;
}
