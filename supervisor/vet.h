/*
 * vet.h -- a configuration vetted for herdd's start, -n or reload alike
 * (vet.c), and the servers named with -s.
 */
#ifndef HERD_VET_H
#define HERD_VET_H

#include <stdio.h>

#include "conf.h"

/* What a configuration is vetted for. */
enum vet_for {
	VET_FOR_CHECK,			/* herdd -n */
	VET_FOR_START,
	VET_FOR_RELOAD,
};

/* A configuration vetted by vet_config(), with what running it takes. */
struct vet {
	struct herd_conf *cf;		/* from malloc, or NULL */
	unsigned char	*run;		/* [i]: cf->servers[i] runs here */
	long		 nrun;		/* how many do */
	int		 chosen;	/* run came from -s */
	char		 node[HERD_PATH_MAX];	/* the herd-node to run */
	int		 share_fd;	/* the data set's image, or -1 */
	int		 logging;	/* start: the log is open (errors go
					   there) */
	char		 logpath[HERD_PATH_MAX + 16];	/* the log, or "" */
};

/*
 * Vet the configuration file for start, -n or reload alike, in this
 * order: the file (conf_load), the -s names, the state directory; for -n
 * then what check_noaction() checks, and no more; else herd-node, the log
 * (at start only: opened here, so that what follows goes to it), the
 * servers that run here (vet_select), the data set made into the image
 * the workers share, and at start the status page, the ports and the mesh
 * (check_start()).  Returns 0, or the exit code with the errors in err,
 * one per line: HERD_EXIT_USAGE (a -s name that is no server, but for a
 * reload), HERD_EXIT_CONFIG, or 1 (memory, the log).  n is filled in
 * either way, for vet_free().
 */
int	 vet_config(struct vet *n, const char *file, enum vet_for why,
	    char *err, size_t errlen);

/* Free what n holds (the configuration, run) and close its image. */
void	 vet_free(struct vet *n);

/*
 * Add the names of one -s argument ("A" or "A,B"); -1 when malformed.
 * vet_chosen_free() forgets them all.
 */
int	 vet_choose(const char *arg);
void	 vet_chosen_free(void);

/*
 * Which servers of cf this herdd runs: run[i] for cf->servers[i].  With
 * -s, exactly the servers named; else those whose host is an address of
 * this machine (see local.h).  Returns how many run here, or -1 with err
 * set when a -s name is not in cf.  When fp is not NULL, each server's
 * verdict is printed on it (-nv); else the remote ones are logged.
 */
long	 vet_select(const struct herd_conf *cf, unsigned char *run, FILE *fp,
	    char *err, size_t errlen);

#endif /* HERD_VET_H */
