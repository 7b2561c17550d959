/*
 * cli_reply.c -- where a reply ends, and the reply made readable
 * (cli_reply.h).  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_reply.h"
#include "proto.h"

int
cli_reply_multi(const char *line, size_t len)
{
	struct proto_cmd	 cmd;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	return proto_parse_client(line, len, &cmd) == PROTO_WHATSAT;
}

size_t
cli_reply_end(const char *buf, size_t len, int multi)
{
	const char	*nl;
	size_t		 i;

	if ((nl = memchr(buf, '\n', len)) == NULL)
		return 0;
	if (!multi || len < 3 || memcmp(buf, "AT ", 3) != 0)
		return (size_t)(nl - buf) + 1;
	/* from the AT line's newline on: the first empty line ends it */
	for (i = (size_t)(nl - buf); i + 1 < len; i++)
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return i + 2;
	return 0;
}

/*
 * text[0..len) as a new string ending in one newline, a NUL byte in it
 * shown as '.' (as hexdump(1) shows what it cannot print).
 */
static char *
cli_reply_copy(const char *text, size_t len)
{
	char	*s;
	size_t	 i;

	while (len > 0 && text[len - 1] == '\n')
		len--;
	if ((s = malloc(len + 2)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		s[i] = text[i] != '\0' ? text[i] : '.';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

char *
cli_reply_format(const char *reply, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*doc;
	const char		*nl, *js;
	char			*s;
	size_t			 head, jlen, end;

	if (len < 3 || memcmp(reply, "AT ", 3) != 0 ||
	    (nl = memchr(reply, '\n', len)) == NULL ||
	    (size_t)(nl - reply) + 1 == len)
		return cli_reply_copy(reply, len);
	head = (size_t)(nl - reply) + 1;	/* the AT line, with "\n" */
	if (len - head > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return cli_reply_copy(reply, len);
	doc = json_tokener_parse_ex(tok, nl + 1, (int)(len - head));
	end = head + json_tokener_get_parse_end(tok);
	while (doc != NULL && end < len && reply[end] == '\n')
		end++;			/* only newlines may follow it */
	if (doc == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success || end != len) {
		json_object_put(doc);
		json_tokener_free(tok);
		return cli_reply_copy(reply, len);
	}
	json_tokener_free(tok);
	js = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	jlen = js != NULL ? strlen(js) : 0;
	if (js == NULL || (s = malloc(head + jlen + 2)) == NULL) {
		json_object_put(doc);
		return NULL;
	}
	for (end = 0; end < head; end++)	/* the AT line, NULs as '.' */
		s[end] = reply[end] != '\0' ? reply[end] : '.';
	memcpy(s + head, js, jlen);
	s[head + jlen] = '\n';
	s[head + jlen + 1] = '\0';
	json_object_put(doc);
	return s;
}
