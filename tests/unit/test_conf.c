/*
 * test_conf.c -- configuration errors, from the cases in tests/conf/.
 *
 * Each .ini file in tests/conf starts with "; expect: ok" or "; expect: MESSAGE",
 * MESSAGE being the first file:line error conf_load must report.  Also:
 * the default etc/herd.ini, relative paths, the environment key, and the
 * herd's secret (its files are made here: git keeps no modes).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_tls.h"
#include "tap.h"

static void
check_file(const char *dir, const char *name)
{
	struct herd_conf c;
	char		 path[2048], expect[512], err[4096], *nl;
	FILE		*fp;
	int		 rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) == NULL ||
	    fgets(expect, sizeof(expect), fp) == NULL ||
	    strncmp(expect, "; expect: ", 10) != 0) {
		ok(0, "%s has an expect line", name);
		if (fp != NULL)
			fclose(fp);
		return;
	}
	fclose(fp);
	expect[strcspn(expect, "\n")] = '\0';
	rc = conf_load(path, &c, err, sizeof(err));
	if (strcmp(expect + 10, "ok") == 0) {
		ok(rc == 0, "%s loads%s%s", name, rc ? ": " : "", rc ? err : "");
		if (rc == 0)
			conf_free(&c);
		return;
	}
	/* the message names the file as given: compare from its base name */
	nl = strstr(err, name);
	if (nl != NULL)
		nl[strcspn(nl, "\n")] = '\0';
	ok(rc == -1 && nl != NULL && strcmp(nl, expect + 10) == 0,
	    "%s: %s", name, nl != NULL ? nl : err);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	unlink(path);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

/* Load a herd whose secret_file is "s/herd.secret" (relative). */
static int
load_secret(const char *tmp, const char *secret, mode_t mode,
    struct herd_conf *c, char *err)
{
	char	 conf[1024], sec[1024];

	snprintf(conf, sizeof(conf), "%s/herd.ini", tmp);
	snprintf(sec, sizeof(sec), "%s/s/herd.secret", tmp);
	write_file(conf, "[herd]\nsecret_file = s/herd.secret\n"
	    "[server A]\nport = 3000\n", 0644);
	if (secret != NULL)
		write_file(sec, secret, mode);
	else
		unlink(sec);
	return conf_load(conf, c, err, 4096);
}

static void
test_secret(void)
{
	struct herd_conf c, d;
	char		 tmp[] = "/tmp/test_conf.XXXXXX", path[1024], err[4096];
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*mem;

	unsetenv("HERD_SECRET");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/s", tmp);
	mkdir(path, 0700);

	ok(load_secret(tmp, "0123456789abcdef\nthe next key, 16+\n", 0600, &c,
	    err) == 0 && c.secret_len == 16 &&
	    memcmp(c.secret, "0123456789abcdef", 16) == 0 && c.keys.n == 2 &&
	    c.keys.key[1].len == 17 &&
	    strstr(c.secret_file, "/s/herd.secret") != NULL &&
	    strncmp(c.secret_file, tmp, strlen(tmp)) == 0,
	    "the secret is the first line, each line a key of the keyring; "
	    "its path is resolved: %s", err);
	mem = open_memstream(&buf, &len);
	conf_print(mem, &c);
	fclose(mem);
	ok(strstr(buf, "secret_file = ") != NULL &&
	    strstr(buf, "0123456789abcdef") == NULL,
	    "conf_print shows secret_file, never the secret");
	free(buf);
	ok(load_secret(tmp, "0123456789abcdef\nthe next key, 16+", 0400, &d,
	    err) == 0 && d.secret_len == 16 && conf_server_equal(&c,
	    &c.servers[0], &d, &d.servers[0]), "no newline, mode 0400; the "
	    "same keys: %s", err);
	conf_free(&d);
	ok(load_secret(tmp, "0123456789abcdef\n", 0600, &d, err) == 0 &&
	    conf_server_equal(&c, &c.servers[0], &d, &d.servers[0]) &&
	    !conf_tls_equal(&c, &d),
	    "the same secret, a key less: no restart, the worker takes the "
	    "keyring on SIGHUP");
	conf_free(&d);
	ok(load_secret(tmp, "0123456789abcdeF", 0600, &d, err) == 0 &&
	    conf_server_equal(&c, &c.servers[0], &d, &d.servers[0]) &&
	    !conf_tls_equal(&c, &d),
	    "another secret: no restart, the worker takes it on SIGHUP");
	conf_free(&d);
	conf_defaults(&d);
	ok(conf_tls_live(&c, &c) && !conf_tls_live(&c, &d),
	    "no secret where there was one: the worker must restart");
	conf_free(&d);
	conf_free(&c);
	ok(c.secret_len == 0 && c.secret[0] == '\0', "conf_free wipes it");

	ok(load_secret(tmp, NULL, 0600, &c, err) == -1 &&
	    strstr(err, "herd.ini:2: secret_file s/herd.secret: No such file "
	    "or directory") != NULL, "missing: %s", err);
	ok(load_secret(tmp, "0123456789abcde\n0123456789abcdef\n", 0600, &c,
	    err) == -1 && strstr(err, "herd.ini:2: secret_file s/herd.secret: "
	    "line 1: shorter than 16 bytes") != NULL, "15 bytes: %s", err);
	ok(load_secret(tmp, "", 0600, &c, err) == -1 &&
	    strstr(err, "no key (a key is a line of 16 to 1024 bytes)") !=
	    NULL, "empty: %s", err);
	ok(load_secret(tmp, "0123456789abcdef\n", 0640, &c, err) == -1 &&
	    strstr(err, "herd.ini:2: secret_file s/herd.secret: readable by "
	    "group or others") != NULL, "group-readable: %s", err);
	ok(load_secret(tmp, "0123456789abcdef\n", 0604, &c, err) == -1 &&
	    strstr(err, "readable by group or others") != NULL,
	    "world-readable: %s", err);

	/* HERD_SECRET overrides, even a bad file */
	setenv("HERD_SECRET", "environment-secret-16", 1);
	ok(load_secret(tmp, "0123456789abcdef\n", 0644, &c, err) == 0 &&
	    c.secret_len == 21 && memcmp(c.secret, "environment-secret-16",
	    21) == 0, "HERD_SECRET overrides the file: %s", err);
	conf_free(&c);
	setenv("HERD_SECRET", "environment-secret-16\nsecond-env-key-16+", 1);
	ok(load_secret(tmp, NULL, 0600, &c, err) == 0 && c.keys.n == 2 &&
	    c.secret_len == 21, "HERD_SECRET holds a keyring too: %s", err);
	conf_free(&c);
	setenv("HERD_SECRET", "short", 1);
	ok(load_secret(tmp, "0123456789abcdef\n", 0600, &c, err) == -1 &&
	    strstr(err, "HERD_SECRET: line 1: shorter than 16 bytes") != NULL,
	    "a short HERD_SECRET: %s", err);
	unsetenv("HERD_SECRET");

	snprintf(path, sizeof(path), "%s/s/herd.secret", tmp);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s", tmp);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/herd.ini", tmp);
	unlink(path);
	rmdir(tmp);
}

static int
parse(const char *text, struct herd_conf *c, char *err)
{
	return conf_parse(text, strlen(text), "t", c, err, 4096);
}

int
main(int argc, char *argv[])
{
	const struct herd_server *g, *h, *w;
	struct herd_conf c;
	struct dirent	*de;
	DIR		*d;
	char		 err[4096], path[2048];
	const char	*dir = argc > 1 ? argv[1] : "tests/conf";

	unsetenv("HERD_SECRET");
	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".ini") != NULL)
			check_file(dir, de->d_name);
	closedir(d);

	/* the default herd */
	snprintf(path, sizeof(path), "%s/../../etc/herd.ini", dir);
	unsetenv("HERD_PLACES_KEY");
	ok(conf_load(path, &c, err, sizeof(err)) == 0, "etc/herd.ini loads %s",
	    err);
	ok(c.nservers == 5, "five servers");
	g = conf_server(&c, "Goloman");
	h = conf_server(&c, "Hands");
	w = conf_server(&c, "Welsh");
	ok(g && h && w && conf_linked(&c, g, h) && conf_linked(&c, h, g),
	    "Goloman-Hands, both ways");
	ok(w && w->nneighbors == 1 && conf_linked(&c, w,
	    conf_server(&c, "Holiday")), "Welsh's only link is Holiday");
	ok(g && g->peer_port == g->port + 10000, "peer_port defaults to +10000");
	ok(c.places.backend == HERD_BACKEND_OFFLINE, "offline by default");
	ok(strstr(c.log_dir, "/log") != NULL && c.log_dir[0] != 'l',
	    "log_dir resolved against the file's directory: %s", c.log_dir);
	ok(conf_server_equal(&c, g, &c, g), "a server equals itself");
	ok(!conf_server_equal(&c, g, &c, h), "and not another");
	conf_free(&c);

	ok(parse("[herd]\nhttp = [::1]:9180\n[server A]\nport = 1\n", &c,
	    err) == 0 && strcmp(c.http_host, "::1") == 0 &&
	    c.http_port == 9180, "http = [::1]:9180");
	conf_free(&c);
	ok(parse("[herd]\nhttp = localhost:80\nhttp = off\n[server A]\n"
	    "port = 1\n", &c, err) == 0 && c.http_port == 0 &&
	    c.http_host[0] == '\0', "http = off, the last one given");
	conf_free(&c);
	ok(parse("[server A]\nport = 1\n", &c, err) == 0 && c.http_port == 0,
	    "http is off by default");
	conf_free(&c);
	ok(parse("[server A]\nport = 1\n", &c, err) == 0 &&
	    c.broadcast == HERD_BROADCAST_TREE, "broadcast is tree by default");
	conf_free(&c);
	{
		struct herd_conf	 t, f;

		ok(parse("[herd]\nbroadcast = flood\n[server A]\nport = 1\n",
		    &f, err) == 0 && f.broadcast == HERD_BROADCAST_FLOOD,
		    "broadcast = flood");
		ok(parse("[herd]\nbroadcast = tree\n[server A]\nport = 1\n",
		    &t, err) == 0 && t.broadcast == HERD_BROADCAST_TREE &&
		    !conf_server_equal(&t, &t.servers[0], &f, &f.servers[0]),
		    "broadcast = tree; a server changes with it (a reload "
		    "restarts it)");
		conf_free(&t);
		conf_free(&f);
	}

	setenv("HERD_PLACES_KEY", "k-from-env", 1);
	ok(conf_load(path, &c, err, sizeof(err)) == 0 &&
	    strcmp(c.places.key, "k-from-env") == 0 &&
	    c.places.backend == HERD_BACKEND_OFFLINE,
	    "HERD_PLACES_KEY sets the key; an explicit backend stays");
	conf_free(&c);
	unsetenv("HERD_PLACES_KEY");

	ok(parse("[places]\nkey = abc\n[server A]\nport = 1\n", &c, err) ==
	    0 &&
	    c.places.backend == HERD_BACKEND_GOOGLE &&
	    strstr(c.places.url, "nearbysearch") != NULL,
	    "a key without a backend means google");
	conf_free(&c);
	ok(parse("[places]\nbackend = google-new\n[server A]\nport = 1\n", &c,
	    err) == 0 &&
	    strstr(c.places.url, "searchNearby") != NULL,
	    "google-new has its own default url");
	conf_free(&c);
	ok(conf_parse("[server A]\nport = 1\n\0[x]", 24, "t", &c, err,
	    sizeof(err)) == -1 && strstr(err, "t:3: NUL byte") != NULL,
	    "NUL byte: %s", err);
	/* the reader's edges */
	ok(parse("\xef\xbb\xbf[herd]\nlog_dir = x\n[server A]\nport = 1\n",
	    &c, err) == 0 && strcmp(c.log_dir, "x") == 0,
	    "a UTF-8 BOM before the first header: %s", err);
	conf_free(&c);
	ok(parse("[server A]\r\nport = 1\r\nneighbors = B\r\n"
	    "[server B]\r\nport = 2", &c, err) == 0 && c.nservers == 2 &&
	    c.servers[1].port == 2 && conf_linked(&c, &c.servers[1],
	    &c.servers[0]), "CRLF lines, a last line without newline: %s", err);
	conf_free(&c);
	{
		char	 text[1024], val[256];

		/* 198 bytes of line: the most inih takes, with LF or CRLF */
		memset(val, '7', sizeof(val));
		val[193] = '\0';	/* "key = " and 192 bytes */
		val[0] = '1';
		snprintf(text, sizeof(text), "[places]\ntimeout_ms = 1\n"
		    "key = %s\n[server A]\r\nport = 1\n", val + 1);
		ok(parse(text, &c, err) == 0 && strlen(c.places.key) == 192,
		    "a 198-byte line: %s", err);
		conf_free(&c);
		snprintf(text, sizeof(text), "[places]\r\nkey = %s\r\n"
		    "[server A]\r\nport = 1\r\n", val + 1);
		ok(parse(text, &c, err) == 0 && strlen(c.places.key) == 192,
		    "a 198-byte line ending in CRLF: %s", err);
		conf_free(&c);
		snprintf(text, sizeof(text), "[places]\nkey = %s7\n"
		    "[server A]\nport = 1\n", val + 1);
		ok(parse(text, &c, err) == -1 &&
		    strstr(err, "t:2: line longer than 198 bytes") != NULL,
		    "a 199-byte line: %s", err);
		snprintf(text, sizeof(text), "[places]\nkey = %s7", val + 1);
		ok(parse(text, &c, err) == -1 &&
		    strstr(err, "t:2: line longer than 198 bytes") != NULL,
		    "a 199-byte last line without newline: %s", err);
	}
	ok(conf_load("/nonexistent/herd.ini", &c, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL, "missing file: %s", err);
	ok(parse("[herd]\nsecret_file = /nonexistent\n[server A]\nport = 1\n",
	    &c, err) == 0 && c.secret_len == 0 &&
	    strcmp(c.secret_file, "/nonexistent") == 0,
	    "conf_parse reads no secret file");
	conf_free(&c);
	test_secret();
	return tap_done();
}
