/*
 * topo.h -- the weak spots of a herd's configured mesh (topo.c): parts no
 * link joins, servers with no link or one, servers and links whose loss
 * splits the herd.  herdd -n and herdd at start say them as warnings.
 */
#ifndef HERD_TOPO_H
#define HERD_TOPO_H

#define TOPO_MSG_MAX	1400	/* a sentence, at most */

struct herd_conf;

typedef void topo_say_fn(void *arg, const char *msg);

/*
 * One sentence per weak spot of cf's graph to say, in a stable order:
 * the parts, the servers with no link or one, then the servers (in the
 * file's order) and the links whose loss cuts off more than those.
 * Returns how many, or -1 when memory ran out.  Pure.
 */
int	 topo_weak_spots(const struct herd_conf *cf, topo_say_fn *say,
	    void *arg);

#endif /* HERD_TOPO_H */
