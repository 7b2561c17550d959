/*
 * conf.h -- the herd's configuration: an INI file read with inih.
 *
 * conf_parse() is a pure function from text to a struct herd_conf (no I/O,
 * fuzzable); conf_load() reads a file and resolves relative paths against
 * the directory of that file.  Errors are reported as "file:line: message",
 * one per line, into the caller's buffer.
 */
#ifndef HERD_CONF_H
#define HERD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HERD_NAME_MAX		63	/* server names: [A-Za-z0-9._-]+ */
#define HERD_PATH_MAX		1024
#define HERD_EXIT_CONFIG	78	/* EX_CONFIG: permanent, never respawned */
#define HERD_EXIT_USAGE		64	/* EX_USAGE */
#define HERD_SECRET_MIN		16	/* bytes of the herd's secret, at least */
#define HERD_SECRET_MAX		1024	/* and at most */
#define HERD_KEYS_MAX		8	/* keys in the keyring, at most */
#define CONF_RESCUE_MAX		8	/* [herd] rescue_links, at most */
/* The Places endpoints, by default */
#define GOOGLE_URL	"https://maps.googleapis.com/maps/api/place/nearbysearch/json"
#define GOOGLE_NEW_URL	"https://places.googleapis.com/v1/places:searchNearby"

enum herd_backend {
	HERD_BACKEND_OFFLINE = 0,	/* embedded GeoNames data set */
	HERD_BACKEND_GOOGLE,		/* legacy Nearby Search (GET) */
	HERD_BACKEND_GOOGLE_NEW,	/* Places API (New) searchNearby (POST) */
};

enum herd_fsync {
	HERD_FSYNC_EVERYSEC = 0,	/* the default: a background sync a second */
	HERD_FSYNC_ALWAYS,		/* each batch, before its replies */
	HERD_FSYNC_NO,			/* leave it to the kernel */
};

enum herd_broadcast {
	HERD_BROADCAST_TREE = 0,	/* the default: epidemic broadcast trees */
	HERD_BROADCAST_FLOOD,		/* every update on every link */
};

struct herd_places_conf {
	enum herd_backend backend;
	int	 backend_set;		/* backend given explicitly */
	char	 key[256];		/* API key; HERD_PLACES_KEY overrides */
	char	 url[512];		/* endpoint; default depends on backend */
	int	 url_set;
	int	 timeout_ms;		/* per lookup, default 5000 */
	int	 max_inflight;		/* lookups in flight per node, default 64 */
	size_t	 max_body;		/* cap on a response body, default 1 MiB */
	char	 dataset[HERD_PATH_MAX];	/* offline data set */
	int	 dataset_line;		/* where dataset was set; 0: default */
};

/* The herd's keys (keyring.h): the first dials, all are accepted. */
struct herd_key {
	char	 b[HERD_SECRET_MAX];
	size_t	 len;
};

struct herd_keyring {
	struct herd_key	 key[HERD_KEYS_MAX];
	size_t		 n;		/* 0: no secret */
};

/* TLS on the peer links (conf_tls.c): [herd] peer_tls* */
struct herd_tls_conf {
	int	 on;			/* peer_tls, default 1 */
	int	 line;			/* where peer_tls was set; 0: default */
	char	 cert[HERD_PATH_MAX];	/* "": PSK from the keyring */
	char	 key[HERD_PATH_MAX];
	char	 ca[HERD_PATH_MAX];
	int	 cert_line, key_line, ca_line;
};

/* TLS on the client port (tls_port): [herd] client_tls_cert, _key */
struct herd_ctls_conf {
	char	 cert[HERD_PATH_MAX];	/* "": no server may have a tls_port */
	char	 key[HERD_PATH_MAX];
	int	 cert_line, key_line;
};

struct herd_server {
	char	 name[HERD_NAME_MAX + 1];
	char	 host[256];		/* listen address; neighbours dial it */
	uint16_t port;			/* client port */
	uint16_t peer_port;		/* peer port; default port + 10000 */
	uint16_t tls_port;		/* client port over TLS; 0: none */
	int	 tls_port_line;		/* where tls_port was set */
	size_t	*neighbors;		/* indices into herd_conf.servers */
	size_t	 nneighbors;		/* links, made symmetric */
	int	 line;			/* line of the [server NAME] header */
};

/*
 * What a client may cost a server ([herd] keys, herd.ini(5) LIMITS): every
 * one taken again on SIGHUP.  0 turns a bound off.
 */
struct herd_limits {
	long long max_clients;		/* ids stored, default 250000 */
	long long expire_s;		/* reports older are forgotten; 0 off */
	long long max_clock_skew;	/* s ahead of our clock, default 3600 */
	long long max_connections;	/* client connections, default 10000 */
	long long max_conn_addr;	/* per source address, default 1024 */
	long long log_max_size;		/* bytes of a log file, default 32 MiB */
	long long log_keep;		/* rotated files kept, default 3 */
};

struct herd_conf {
	char	 path[HERD_PATH_MAX];	/* the file, as given */
	char	 log_dir[HERD_PATH_MAX];	/* default: paths.h; "-": stderr */
	int	 log_dir_line;		/* where log_dir was set; 0: default */
	int	 log_level;		/* LOG_LEVEL_*, default info */
	char	 control[HERD_PATH_MAX];	/* default: paths.h */
	int	 control_line;		/* where control was set; 0: default */
	char	 http_host[256];	/* [herd] http: herdd's HTTP endpoint */
	uint16_t http_port;		/* 0: off (the default) */
	int	 http_line;
	char	 node_path[HERD_PATH_MAX];	/* herd-node binary; "" = beside herdd */
	char	 state_dir[HERD_PATH_MAX];	/* journals (paths.h); "" = none */
	int	 state_dir_line;	/* where state_dir was set */
	enum herd_fsync fsync;		/* default everysec */
	int	 restart_delay_ms;	/* first backoff delay, default 100 */
	int	 restart_max_ms;	/* backoff cap, default 30000 */
	int	 restart_reset_s;	/* healthy this long: backoff resets, 10 */
	int	 stop_timeout_ms;	/* TERM, then KILL after this, 5000 */
	int	 ready_timeout_ms;	/* a worker not ready by then restarts, 10000 */
	int	 hang_timeout_ms;	/* no heartbeat answer: killed, 10000; 0 never */
	int	 start_limit_burst;	/* crashes within the interval: failed, 5 */
	int	 start_limit_interval_s;	/* 10 */
	int	 rescue_links;		/* cut off: dial this many others, 0 */
	enum herd_broadcast broadcast;	/* default tree */
	struct herd_limits limits;
	char	 secret_file[HERD_PATH_MAX];	/* "" = links unauthenticated */
	int	 secret_line;		/* where secret_file was set */
	char	 secret[HERD_SECRET_MAX];	/* conf_load: HERD_SECRET or file */
	size_t	 secret_len;		/* 0 = no secret; = keys.key[0] */
	struct herd_keyring keys;	/* every line of it: the keyring */
	struct herd_tls_conf tls;
	struct herd_ctls_conf ctls;	/* for the servers with a tls_port */
	struct herd_places_conf places;
	struct herd_server *servers;
	size_t	 nservers;
};

/*
 * Parse INI text.  fname is used in messages only; relative paths are left
 * as written.  Returns 0, or -1 with one "fname:line: message\n" per error in
 * err (truncated to errlen).  On success the caller owns *conf and frees it
 * with conf_free(); on failure *conf is left freed.
 */
int	 conf_parse(const char *text, size_t len, const char *fname,
	    struct herd_conf *conf, char *err, size_t errlen);

/*
 * Fill conf with the defaults of every key, those of paths.h as for an
 * installed binary but for the relative log_dir "log", control "herd.sock"
 * and no state_dir (pure: conf_load applies the defaults of paths_where()).
 */
void	 conf_defaults(struct herd_conf *conf);

/*
 * Read and parse a file; a path the file does not give takes its default
 * from paths.h (for where this binary runs), and relative paths become
 * relative to the file's directory.
 * Then read the herd's keyring: HERD_SECRET from the environment, else
 * secret_file, which must be readable by its owner only; each non-empty
 * line is a key of HERD_SECRET_MIN bytes or more, the first is the secret.
 */
int	 conf_load(const char *path, struct herd_conf *conf, char *err,
	    size_t errlen);

void	 conf_free(struct herd_conf *conf);

/* The server named name, or NULL. */
const struct herd_server *conf_server(const struct herd_conf *conf,
	    const char *name);

/* 1 when a and b are neighbours (the link is written on either side). */
int	 conf_linked(const struct herd_conf *conf, const struct herd_server *a,
	    const struct herd_server *b);

/*
 * 1 when everything a worker of this server depends on is the same, or
 * can change without a restart (log_level; the keyring and the TLS files,
 * conf_tls_live: herdd sends SIGHUP).
 */
int	 conf_server_equal(const struct herd_conf *ca,
	    const struct herd_server *a, const struct herd_conf *cb,
	    const struct herd_server *b);

/* The parsed herd, in INI form, for -nv and golden tests. */
void	 conf_print(FILE *fp, const struct herd_conf *conf);

const char *conf_backend_name(enum herd_backend backend);
const char *conf_fsync_name(enum herd_fsync mode);
const char *conf_broadcast_name(enum herd_broadcast mode);

/*
 * The control socket's path as the file at path gives it ([herd] control,
 * else the default of paths.h; relative to the file's directory), however
 * broken the
 * rest of the file: what herdctl needs to reach herdd.  0, or -1 when the
 * file cannot be read.
 */
int	 conf_control_path(const char *path, char *out, size_t outlen);

/* Make dir and its parents (mode 755) as needed.  0, or -1 with errno. */
int	 conf_mkdirs(const char *dir);

/*
 * That state_dir is a directory this process can write in, or can be made
 * (its nearest existing parent is one): what a worker needs to open its
 * journal.  0, or -1 with "file:line: state_dir ...: reason" in err.
 */
int	 conf_check_state_dir(const struct herd_conf *conf, char *err,
	    size_t errlen);

#endif /* HERD_CONF_H */
