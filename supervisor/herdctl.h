/*
 * herdctl.h -- herdctl's rendering of herdd's replies (output.c).
 */
#ifndef HERD_HERDCTL_H
#define HERD_HERDCTL_H

#include <stdio.h>

#include <json-c/json.h>

#include "control.h"

/* The table of a status reply: one row per node. */
void	 output_status(FILE *fp, struct json_object *reply);

/* A one-line summary of any other successful reply. */
void	 output_result(FILE *fp, const struct control_cmd *cmd,
	    struct json_object *reply);

/*
 * 0 when a start, stop or restart left some worker short of where it was
 * sent, or a reload's roll halted; else 1.
 */
int	 output_all_done(struct json_object *reply);

/* top.c: herdctl top [-n count] [-d seconds]. */
int	 top_main(int argc, char *argv[], const char *sock);

/* "5s", "1m02s", "3h04m", "2d03h". */
void	 output_duration(char *buf, size_t len, long long secs);

#endif /* HERD_HERDCTL_H */
