/*
 * output.c -- herdctl's human-readable rendering of herdd's JSON replies.
 *
 * Copyright (c) 2026 The herd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "herdctl.h"

static const char *
output_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An element of an array that should be a string, or "?". */
static const char *
output_elem(struct json_object *arr, size_t i)
{
	struct json_object	*v = json_object_array_get_idx(arr, i);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return "?";
	return json_object_get_string(v);
}

/* The value of key as text, or "-" when absent or null. */
static void
output_num(char *buf, size_t len, struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld",
		    (long long)json_object_get_int64(v));
}

void
output_duration(char *buf, size_t len, long long s)
{
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static void
output_links(char *buf, size_t len, struct json_object *node)
{
	struct json_object	*v;
	size_t			 i, n, used = 0;
	int			 w;

	if (!json_object_object_get_ex(node, "links", &v) || v == NULL ||
	    !json_object_is_type(v, json_type_array)) {
		snprintf(buf, len, "-");
		return;
	}
	n = json_object_array_length(v);
	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		w = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		    output_elem(v, i));
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, len, "none");
}

/* A link of a status's "keys" or "keys_in", for output_keys. */
struct output_link {
	const char	*nb;		/* the neighbour */
	const char	*key;		/* the key's name */
	int		 in;		/* 1: its stream to us (keys_in) */
};

/* The links of node's object field (name to key) into l, after n. */
static size_t
output_link_keys(struct json_object *node, const char *field, int in,
    struct output_link *l, size_t n)
{
	struct json_object	*o;

	if (!json_object_object_get_ex(node, field, &o) || o == NULL ||
	    !json_object_is_type(o, json_type_object))
		return n;
	json_object_object_foreach(o, nb, v)
		if (json_object_is_type(v, json_type_string)) {
			l[n].nb = nb;
			l[n].key = json_object_get_string(v);
			l[n++].in = in;
		}
	return n;
}

/*
 * Which key each of node's links over TLS uses: a line for each key, the
 * neighbours it dialled with it (to) and those that dialled it (from);
 * none for plain-text links.
 */
static void
output_keys(FILE *fp, struct json_object *node, int w)
{
	struct json_object	*o;
	struct output_link	*l;
	const char		*name = output_str(node, "name");
	size_t			 max = 0, n, i, j;
	int			 in, said;

	for (in = 0; in < 2; in++)
		if (json_object_object_get_ex(node, in ? "keys_in" : "keys",
		    &o) && o != NULL && json_object_is_type(o, json_type_object))
			max += (size_t)json_object_object_length(o);
	if (max == 0 || (l = calloc(max, sizeof(*l))) == NULL)
		return;
	n = output_link_keys(node, "keys", 0, l, 0);
	n = output_link_keys(node, "keys_in", 1, l, n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(l[j].key, l[i].key) != 0; j++)
			;
		if (j < i)
			continue;	/* its line is out already */
		fprintf(fp, "%-*s  key %s ", w, name ? name : "?", l[i].key);
		for (said = 0, in = 0; in < 2; in++) {
			for (j = i; j < n; j++) {
				if (l[j].in != in || strcmp(l[j].key, l[i].key))
					continue;
				fprintf(fp, "%s%s", said == in + 1 ? "," :
				    said > 0 ? "; from " : in ? " from " : " to ",
				    l[j].nb);
				said = in + 1;
			}
		}
		fprintf(fp, "\n");
	}
	free(l);
}

void
output_status(FILE *fp, struct json_object *reply)
{
	struct json_object	*nodes, *n, *v;
	const char		*name, *state, *last;
	char			 pid[24], up[24], rs[24], cl[24], cn[24];
	char			 st[48], links[1024];
	const char		*jr, *why;
	size_t			 i, count;
	int			 w = 4;

	if (!json_object_object_get_ex(reply, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return;
	count = json_object_array_length(nodes);
	for (i = 0; i < count; i++) {
		name = output_str(json_object_array_get_idx(nodes, i), "name");
		if (name != NULL && (int)strlen(name) > w)
			w = (int)strlen(name);
	}
	fprintf(fp, "%-*s  %-14s %8s %7s %8s %7s %5s  %-10s %-7s %s\n", w,
	    "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "CLIENTS", "CONNS",
	    "LAST EXIT", "JOURNAL", "LINKS");
	for (i = 0; i < count; i++) {
		n = json_object_array_get_idx(nodes, i);
		name = output_str(n, "name");
		state = output_str(n, "state");
		last = output_str(n, "last_exit");
		if (state != NULL && strcmp(state, "backoff") == 0 &&
		    json_object_object_get_ex(n, "next_start_ms", &v) &&
		    v != NULL)
			snprintf(st, sizeof(st), "backoff %.1fs",
			    json_object_get_int64(v) / 1000.0);
		else
			snprintf(st, sizeof(st), "%s", state ? state : "?");
		output_num(pid, sizeof(pid), n, "pid");
		if (json_object_object_get_ex(n, "uptime_s", &v) && v != NULL)
			output_duration(up, sizeof(up),
			    (long long)json_object_get_int64(v));
		else
			snprintf(up, sizeof(up), "-");
		output_num(rs, sizeof(rs), n, "restarts");
		output_num(cl, sizeof(cl), n, "clients");
		output_num(cn, sizeof(cn), n, "conns");
		if (state != NULL && strcmp(state, "remote") == 0)
			snprintf(links, sizeof(links), "on %s",
			    output_str(n, "host") ? output_str(n, "host") :
			    "another machine");
		else
			output_links(links, sizeof(links), n);
		jr = output_str(n, "journal");
		fprintf(fp, "%-*s  %-14s %8s %7s %8s %7s %5s  %-10s %-7s %s\n",
		    w, name ? name : "?", st, pid, up, rs, cl, cn,
		    last ? last : "-", jr != NULL ? jr : "-", links);
	}
	/* which key each link uses, under the table */
	for (i = 0; i < count; i++)
		output_keys(fp, json_object_array_get_idx(nodes, i), w);
	/* why the workers that are not well are so, under the table */
	for (i = 0; i < count; i++) {
		n = json_object_array_get_idx(nodes, i);
		name = output_str(n, "name");
		state = output_str(n, "state");
		if ((why = output_str(n, "reason")) == NULL || state == NULL ||
		    strcmp(state, "running") == 0)
			continue;
		fprintf(fp, "%s %s: %s\n", name ? name : "?", state, why);
	}
}

static void
output_names(FILE *fp, struct json_object *reply, const char *key)
{
	struct json_object	*v;
	size_t			 i, n;

	if (!json_object_object_get_ex(reply, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	fprintf(fp, " %s:", key);
	if (n == 0)
		fprintf(fp, " none");
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%s", i ? ", " : " ", output_elem(v, i));
	fprintf(fp, ";");
}

int
output_all_done(struct json_object *reply)
{
	struct json_object	*nodes, *v;
	size_t			 i, n;

	if (json_object_object_get_ex(reply, "timed_out", &v) &&
	    json_object_get_boolean(v))
		return 0;
	if (json_object_object_get_ex(reply, "halted", &v) && v != NULL)
		return 0;
	if (json_object_object_get_ex(reply, "waiting", &v) &&
	    json_object_get_boolean(v))
		return 1;		/* --no-wait: nothing was waited for */
	if (!json_object_object_get_ex(reply, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return 1;
	n = json_object_array_length(nodes);
	for (i = 0; i < n; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(nodes,
		    i), "done", &v) && !json_object_get_boolean(v))
			return 0;
	return 1;
}

/* One line per worker of a start, stop or restart. */
static void
output_nodes(FILE *fp, struct json_object *reply)
{
	struct json_object	*nodes, *n;
	const char		*name, *state, *why;
	char			 pid[24];
	size_t			 i, count;

	if (!json_object_object_get_ex(reply, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array))
		return;
	count = json_object_array_length(nodes);
	for (i = 0; i < count; i++) {
		n = json_object_array_get_idx(nodes, i);
		name = output_str(n, "name");
		state = output_str(n, "state");
		why = output_str(n, "reason");
		output_num(pid, sizeof(pid), n, "pid");
		fprintf(fp, "%s: %s%s%s%s%s\n", name ? name : "?",
		    state ? state : "?", strcmp(pid, "-") ? ", pid " : "",
		    strcmp(pid, "-") ? pid : "", why ? ": " : "",
		    why ? why : "");
	}
}

void
output_result(FILE *fp, const struct control_cmd *cmd,
    struct json_object *reply)
{
	struct json_object	*v;
	const char		*node;
	char			 pid[24];

	switch (cmd->verb) {
	case CONTROL_STATUS:
		output_status(fp, reply);
		break;
	case CONTROL_METRICS:
		if ((node = output_str(reply, "text")) != NULL)
			fputs(node, fp);
		break;
	case CONTROL_RELOAD:
		fprintf(fp, "reloaded:");
		output_names(fp, reply, "added");
		output_names(fp, reply, "removed");
		output_names(fp, reply, "changed");
		output_names(fp, reply, "started");
		if (!cmd->nowait)
			output_names(fp, reply, "restarted");
		if (json_object_object_get_ex(reply, "unchanged", &v))
			fprintf(fp, " unchanged: %d",
			    json_object_get_int(v));
		fprintf(fp, "\n");
		if (json_object_object_get_ex(reply, "halted", &v) &&
		    v != NULL)
			fprintf(fp, "the rolling restart halted: %s failed "
			    "after its restart\n", json_object_get_string(v));
		if (cmd->nowait)
			fprintf(fp, "changed servers restart one at a time; "
			    "see herdctl status\n");
		break;
	case CONTROL_REOPEN:
		fprintf(fp, "logs reopened\n");
		break;
	case CONTROL_SHUTDOWN:
		fprintf(fp, "herdd is stopping the herd\n");
		break;
	case CONTROL_KILL:
		node = output_str(reply, "node");
		output_num(pid, sizeof(pid), reply, "pid");
		fprintf(fp, "%s: sent signal %d to pid %s\n",
		    node ? node : cmd->names[0],
		    json_object_object_get_ex(reply, "signal", &v) &&
		    json_object_is_type(v, json_type_int) ?
		    json_object_get_int(v) : cmd->signo, pid);
		break;
	default:
		output_nodes(fp, reply);
		if (json_object_object_get_ex(reply, "timed_out", &v) &&
		    json_object_get_boolean(v))
			fprintf(fp, "herdctl: %s: timed out before every "
			    "worker got there\n", control_verb_name(cmd->verb));
		break;
	}
}
