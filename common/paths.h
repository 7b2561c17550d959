/*
 * paths.h -- where the herd's files are by default, which depends on where
 * the binary runs from.
 *
 * Installed, the defaults are meson's directories, compiled in: the
 * configuration sysconfdir/herd/herd.ini, the data set
 * datadir/herd/cities.dat, the status page datadir/herd/status.html, logs in localstatedir/log/herd, journals in
 * localstatedir/lib/herd and the control socket runstatedir/herd/herd.sock
 * (runstatedir: /run when localstatedir is /var or beneath it, else
 * localstatedir/run).  Run from its meson build tree (the real path of
 * /proc/self/exe lies under the build root compiled in), a binary keeps
 * the source tree's layout instead: etc/herd.ini from the current
 * directory when it is there, else the source tree's; the source tree's
 * data/cities.dat and etc/status.html; and the configuration's relative defaults (log,
 * herd.sock, no state_dir), which conf_load() resolves against the
 * file's directory.
 */
#ifndef HERD_PATHS_H
#define HERD_PATHS_H

#include <stddef.h>

enum paths_where {
	PATHS_INSTALLED = 0,
	PATHS_BUILD_TREE,
};

enum paths_file {
	PATHS_CONF,		/* the configuration file */
	PATHS_DATASET,		/* the offline data set */
	PATHS_LOG_DIR,		/* [herd] log_dir */
	PATHS_STATE_DIR,	/* [herd] state_dir; "" = none */
	PATHS_CONTROL,		/* [herd] control */
	PATHS_PAGE,		/* the status page of [herd] http */
};

/*
 * The default of what, for a binary that runs from where, into buf
 * ("" when there is none).  Pure but for PATHS_CONF from the build tree,
 * which looks for etc/herd.ini in the current directory.  0, or -1 when
 * buf is too small.
 */
int	 paths_default(enum paths_file what, enum paths_where where,
	    char *buf, size_t len);

/* The default configuration file for paths_where(), in a static buffer. */
const char *paths_conf(void);

/* 1 when path is dir or lies beneath it (both absolute, "/"-separated). */
int	 paths_under(const char *path, const char *dir);

/*
 * Where this process's executable runs from: the real path of
 * /proc/self/exe against the real path of the build root.  Computed once;
 * PATHS_INSTALLED when either cannot be resolved.
 */
enum paths_where paths_where(void);

#endif /* HERD_PATHS_H */
