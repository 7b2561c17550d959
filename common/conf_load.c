/*
 * conf_load.c -- the configuration from its file: reading it, resolving
 * relative paths against its directory, the herd's secret, and the checks
 * and lookups that need the file system (see conf.h).  The parser itself,
 * a pure function of the text, is conf.c and the files it names.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "keyring.h"
#include "log.h"
#include "paths.h"

static int
conf_resolve(char *path, size_t size, const char *dir)
{
	char	 tmp[HERD_PATH_MAX];
	int	 n;

	if (path[0] == '/' || path[0] == '\0' || dir[0] == '\0')
		return 0;
	n = snprintf(tmp, sizeof(tmp), "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= size)
		return -1;
	memcpy(path, tmp, (size_t)n + 1);
	return 0;
}

/*
 * The paths the file does not give take the defaults of paths.h for where
 * this binary runs.  0, or -1 when one does not fit.
 */
static int
conf_where_defaults(struct herd_conf *c)
{
	enum paths_where	 w = paths_where();

	if ((c->log_dir_line == 0 && paths_default(PATHS_LOG_DIR, w,
	    c->log_dir, sizeof(c->log_dir)) == -1) ||
	    (c->control_line == 0 && paths_default(PATHS_CONTROL, w,
	    c->control, sizeof(c->control)) == -1) ||
	    (c->state_dir_line == 0 && paths_default(PATHS_STATE_DIR, w,
	    c->state_dir, sizeof(c->state_dir)) == -1) ||
	    (c->places.dataset_line == 0 && paths_default(PATHS_DATASET, w,
	    c->places.dataset, sizeof(c->places.dataset)) == -1))
		return -1;
	return 0;
}

/*
 * The herd's keyring: HERD_SECRET, else every line of secret_file (shown
 * as written in messages); its first key is the secret.  0, or -1 with a
 * message in err.
 */
static int
conf_secret(struct herd_conf *c, const char *written, char *err,
    size_t errlen)
{
	struct stat	 st;
	const char	*env, *why = NULL;
	char		 buf[HERD_KEYS_MAX * (HERD_SECRET_MAX + 1) + 1];
	char		 kwhy[128];
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd = -1;

	if ((env = getenv("HERD_SECRET")) != NULL && env[0] != '\0') {
		if (keyring_parse(&c->keys, env, strlen(env), kwhy,
		    sizeof(kwhy)) == -1) {
			snprintf(err, errlen, "HERD_SECRET: %s\n", kwhy);
			return -1;
		}
		goto done;
	}
	if (c->secret_file[0] == '\0')
		return 0;
	if ((fd = open(c->secret_file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		why = strerror(errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto fail;
	}
	if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		why = "readable by group or others (chmod 600 it)";
		goto fail;
	}
	while (len < sizeof(buf)) {
		if ((n = read(fd, buf + len, sizeof(buf) - len)) == -1) {
			if (errno == EINTR)
				continue;
			why = strerror(errno);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	why = kwhy;
	if (len == sizeof(buf))
		snprintf(kwhy, sizeof(kwhy), "longer than %d keys of %d bytes",
		    HERD_KEYS_MAX, HERD_SECRET_MAX);
	else if (keyring_parse(&c->keys, buf, len, kwhy, sizeof(kwhy)) == 0)
		why = NULL;
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL)
		goto fail;
done:
	memcpy(c->secret, c->keys.key[0].b, c->keys.key[0].len);
	c->secret_len = c->keys.key[0].len;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "%s:%d: secret_file %s: %s\n", c->path,
	    c->secret_line, written, why);
	return -1;
}

int
conf_load(const char *path, struct herd_conf *conf, char *err, size_t errlen)
{
	FILE		*fp;
	char		*text = NULL, dir[HERD_PATH_MAX], *slash;
	char		 written[HERD_PATH_MAX];
	size_t		 len = 0, cap = 0, n;
	const char	*env;
	int		 rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		conf_defaults(conf);
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *t;

			if (cap > 16 * 1024 * 1024) {
				snprintf(err, errlen, "%s: file too large\n",
				    path);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			if ((t = realloc(text, cap)) == NULL) {
				snprintf(err, errlen, "%s: out of memory\n",
				    path);
				goto fail;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		goto fail;
	}
	fclose(fp);
	text[len] = '\0';
	rc = conf_parse(text, len, path, conf, err, errlen);
	free(text);
	if (rc == -1)
		return -1;

	snprintf(conf->path, sizeof(conf->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(written, sizeof(written), "%s", conf->secret_file);
	if (conf_where_defaults(conf) == -1 || (strcmp(conf->log_dir, "-") != 0 &&
	    conf_resolve(conf->log_dir, sizeof(conf->log_dir), dir) == -1) ||
	    conf_resolve(conf->secret_file, sizeof(conf->secret_file),
	    dir) == -1 ||
	    conf_resolve(conf->control, sizeof(conf->control), dir) == -1 ||
	    conf_resolve(conf->node_path, sizeof(conf->node_path), dir) == -1 ||
	    conf_resolve(conf->state_dir, sizeof(conf->state_dir), dir) == -1 ||
	    conf_resolve(conf->tls.cert, sizeof(conf->tls.cert), dir) == -1 ||
	    conf_resolve(conf->tls.key, sizeof(conf->tls.key), dir) == -1 ||
	    conf_resolve(conf->tls.ca, sizeof(conf->tls.ca), dir) == -1 ||
	    conf_resolve(conf->ctls.cert, sizeof(conf->ctls.cert), dir) == -1 ||
	    conf_resolve(conf->ctls.key, sizeof(conf->ctls.key), dir) == -1 ||
	    conf_resolve(conf->places.dataset, sizeof(conf->places.dataset),
	    dir) == -1) {
		snprintf(err, errlen, "%s: a path is too long\n", path);
		conf_free(conf);
		return -1;
	}
	if ((env = getenv("HERD_PLACES_KEY")) != NULL && env[0] != '\0') {
		snprintf(conf->places.key, sizeof(conf->places.key), "%s", env);
		if (!conf->places.backend_set) {
			conf->places.backend = HERD_BACKEND_GOOGLE;
			if (!conf->places.url_set)
				snprintf(conf->places.url,
				    sizeof(conf->places.url), GOOGLE_URL);
		}
	}
	if (conf_secret(conf, written, err, errlen) == -1) {
		conf_free(conf);
		return -1;
	}
	return 0;
fail:
	fclose(fp);
	free(text);
	conf_defaults(conf);
	return -1;
}

struct conf_ctl {
	char	 control[HERD_PATH_MAX];
	int	 in_herd;
};

static int
conf_ctl_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct conf_ctl	*c = user;

	if (strcmp(section, "herd") == 0 && strcmp(key, "control") == 0 &&
	    strlen(value) < sizeof(c->control))
		snprintf(c->control, sizeof(c->control), "%s", value);
	return 1;			/* errors elsewhere are not ours */
}

int
conf_control_path(const char *path, char *out, size_t outlen)
{
	struct conf_ctl	 c;
	char		 dir[HERD_PATH_MAX], *slash;
	int		 rc;

	memset(&c, 0, sizeof(c));
	if (paths_default(PATHS_CONTROL, paths_where(), c.control,
	    sizeof(c.control)) == -1)
		return -1;
	if ((rc = ini_parse(path, conf_ctl_handler, &c)) == -1 || rc == -2)
		return -1;		/* unreadable, or out of memory */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (conf_resolve(c.control, sizeof(c.control), dir) == -1 ||
	    strlen(c.control) >= outlen)
		return -1;
	snprintf(out, outlen, "%s", c.control);
	return 0;
}

int
conf_mkdirs(const char *dir)
{
	char	 tmp[HERD_PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
conf_check_state_dir(const struct herd_conf *conf, char *err, size_t errlen)
{
	char		 dir[HERD_PATH_MAX], *slash;
	struct stat	 st;
	const char	*why = NULL;

	if (conf->state_dir[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s", conf->state_dir);
	for (;;) {
		if (stat(dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				why = "not a directory";
			else if (access(dir, W_OK | X_OK) == -1)
				why = strerror(errno);
			break;
		}
		if (errno != ENOENT) {
			why = strerror(errno);
			break;
		}
		/* missing: it is made if its parent can take it */
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(dir, sizeof(dir), ".");
			continue;
		}
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "%s:%d: state_dir %s: %s%s%s\n", conf->path,
	    conf->state_dir_line, conf->state_dir, strcmp(dir,
	    conf->state_dir) != 0 ? dir : "", strcmp(dir, conf->state_dir) !=
	    0 ? ": " : "", why);
	return -1;
}
