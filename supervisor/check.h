/*
 * check.h -- what herdd checks of a configuration beyond conf_load(), at
 * start and with -n: the things that a file can get right and a machine
 * still wrong.
 *
 * Errors (exit 78): the offline data set does not load; [herd] http is
 * set and the status page cannot be read.  Warnings: no
 * server of the herd runs on this machine (-n only: herdd itself then
 * exits 78), and a port or peer_port of a server that runs here lies in
 * the kernel's ephemeral port range (net.ipv4.ip_local_port_range, less
 * net.ipv4.ip_local_reserved_ports), where an outgoing connection can
 * take it first; so too the port of [herd] http; and the weak spots of
 * the mesh (topo.h).
 */
#ifndef HERD_CHECK_H
#define HERD_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct herd_conf;

#define CHECK_PORT_RANGE	"/proc/sys/net/ipv4/ip_local_port_range"
#define CHECK_PORT_RESERVED	"/proc/sys/net/ipv4/ip_local_reserved_ports"

/* One warning, without a trailing newline. */
typedef void check_warn_cb(const char *msg);

check_warn_cb	 check_warn_stderr;	/* "herdd: warning: MSG" on stderr */
check_warn_cb	 check_warn_log;	/* log_warnx */

/*
 * herdd -n: the data set, then, for the servers named in chosen (-s; NULL
 * or nchosen 0: those whose host is local, see local.h), that there is
 * one, that the files of their tls_port load (conf_check_client_tls) and
 * that their ports are outside the ephemeral range.  Warnings go to warn.
 * 0, or -1 with "file:line: message\n" in err.
 */
int	 check_noaction(const struct herd_conf *cf, const char *const *chosen,
	    size_t nchosen, check_warn_cb *warn, char *err, size_t errlen);

/*
 * herdd at start, when run[i] says which servers of cf run here: the data
 * set, made into the image its workers share (*share_fd, see
 * check_share), then the ports of those servers.  As check_noaction.
 */
int	 check_start(const struct herd_conf *cf, const unsigned char *run,
	    check_warn_cb *warn, int *share_fd, char *err, size_t errlen);

/*
 * The data set checked as check_dataset does, then written as the image
 * the workers map (offline_share): its descriptor in *fdp, or -1 for the
 * google backends, or with a warning when no image can be made (each
 * worker then loads the file).  0, or -1 with the error in err.
 */
int	 check_share(const struct herd_conf *cf, check_warn_cb *warn, int *fdp,
	    char *err, size_t errlen);

/*
 * That the offline data set loads (only the offline backend uses one).
 * 0, or -1 with "file:line: dataset PATH: reason\n" in err (the line of
 * the dataset key; without one, "dataset PATH (the default): reason").
 */
int	 check_dataset(const struct herd_conf *cf, char *err, size_t errlen);

/* A warning per weak spot of the mesh (topo.h), "file: sentence". */
void	 check_topology(const struct herd_conf *cf, check_warn_cb *warn);

/* With [herd] http, that the status page (paths.h) can be read. */
int	 check_page(const struct herd_conf *cf, char *err, size_t errlen);

/*
 * Pure parsers of the two /proc files: "LO\tHI\n" into *lo, *hi (0, or -1
 * when malformed), and whether port is in a reserved list such as
 * "8080,9000-9100\n" (1 or 0; a malformed list reserves nothing).
 */
int	 check_parse_range(const char *text, unsigned *lo, unsigned *hi);
int	 check_reserved(const char *text, unsigned port);

#endif /* HERD_CHECK_H */
