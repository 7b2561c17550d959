/*
 * peer_ctx.c -- the floor under both sides of the peer links (see
 * peer_ctx.h): what they share, the handshake's lines, and the ops that
 * the floors above (peer.c, the tree, rescue) fill.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "keyring.h"
#include "peer_ctx.h"
#include "proto.h"

struct peer_ctx		 peer_ctx;

int
peer_index(const struct herd_server *srv)
{
	return (int)(srv - peer_ctx.conf->servers);
}

int
peer_nonce(char *out)
{
	unsigned char	 b[PROTO_NONCE_LEN];
	size_t		 o = 0;
	ssize_t		 n;

	while (o < sizeof(b)) {
		if ((n = getrandom(b + o, sizeof(b) - o, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		o += (size_t)n;
	}
	proto_hex(out, b, sizeof(b));
	return 0;
}

static const struct {
	const char	*word;
	unsigned	 bit;
} peer_feature_names[] = {
	{ "tree", PEER_F_TREE },
};
#define PEER_NFEATURES	(sizeof(peer_feature_names) / \
			    sizeof(peer_feature_names[0]))

unsigned
peer_features_ours(const char *env)
{
	unsigned	 f = 0;
	size_t		 i, n;
	const char	*p;

	if (env == NULL)
		return PEER_F_ALL;
	for (p = env; *p != '\0'; p += n) {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		for (i = 0; i < PEER_NFEATURES; i++)
			if (n == strlen(peer_feature_names[i].word) &&
			    strncmp(p, peer_feature_names[i].word, n) == 0)
				f |= peer_feature_names[i].bit;
	}
	return f;
}

unsigned
peer_features(const struct proto_peer *msg)
{
	unsigned	 f = 0;
	size_t		 i, k;

	for (i = 0; i < msg->nfeat; i++)
		for (k = 0; k < PEER_NFEATURES; k++)
			if (proto_field_eq(&msg->feat[i],
			    peer_feature_names[k].word))
				f |= peer_feature_names[k].bit;
	return f;
}

int
peer_features_words(char *buf, size_t size)
{
	size_t	 i, o = strlen(buf);
	int	 n;

	if (o > 0 && buf[o - 1] == '\n')
		o--;			/* before the line's end */
	for (i = 0; i < PEER_NFEATURES; i++) {
		if (!(peer_ctx.features & peer_feature_names[i].bit))
			continue;
		n = snprintf(buf + o, size - o, " +%s",
		    peer_feature_names[i].word);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	if (o + 2 > size)
		return -1;
	buf[o++] = '\n';
	buf[o] = '\0';
	return 0;
}

int
peer_key_dropped(const struct ptls *t)
{
	char	 id[KEYRING_ID_SIZE];
	size_t	 i;

	if (t == NULL || ptls_key_index(t) == -1)
		return 0;	/* plain text, certificates, or not up yet */
	for (i = 0; i < peer_ctx.keys.n; i++)
		if (keyring_id(&peer_ctx.keys.key[i], id) == 0 &&
		    strcmp(id, ptls_key_name(t)) == 0)
			return 0;
	return 1;
}

void
peer_text(char *dst, size_t size, const struct proto_field *f)
{
	size_t	 i, o = 0;
	char	 c;

	for (i = 0; i < f->len && o + 1 < size && o < 120; i++) {
		c = f->p[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	dst[o] = '\0';
}

int
peer_mac_key(struct ptls *t, size_t i, struct herd_key *out)
{
	unsigned char	 b[PTLS_BINDING_LEN];
	char		 bhex[2 * PTLS_BINDING_LEN + 1], mac[PROTO_MAC_HEX + 1];
	const struct herd_key *k;

	if (i >= peer_ctx.keys.n)
		return -1;
	k = &peer_ctx.keys.key[i];
	if (t == NULL) {
		*out = *k;
		return 0;
	}
	if (ptls_binding(t, b) == -1)
		return -1;
	proto_hex(bhex, b, sizeof(b));
	if (proto_mac(mac, k->b, k->len, "herd-bind", bhex, "-", "-",
	    "-") == -1)
		return -1;
	memcpy(out->b, mac, PROTO_MAC_HEX);
	out->len = PROTO_MAC_HEX;
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

int
peer_hello_line(char *buf, size_t size, const struct herd_server *to,
    char *nonce_d, int rescue)
{
	const char	*r = rescue ? " RESCUE" : "";

	if (peer_ctx.secret == NULL) {
		snprintf(buf, size, "HELLO %d %s %s%s\n", PROTO_VERSION,
		    peer_ctx.self->name, to->name, r);
		return peer_features_words(buf, size);
	}
	if (peer_nonce(nonce_d) == -1)
		return -1;
	snprintf(buf, size, "HELLO %d %s %s %s%s\n", PROTO_VERSION_AUTH,
	    peer_ctx.self->name, to->name, nonce_d, r);
	return peer_features_words(buf, size);
}

int
peer_auth_line(char *buf, size_t size, const struct herd_server *to,
    const char *nonce_d, const char *nonce_l, const struct herd_key *k)
{
	char	 mac[PROTO_MAC_HEX + 1];

	if (proto_mac(mac, k->b, k->len, "herd-link",
	    peer_ctx.self->name, to->name, nonce_d, nonce_l) == -1)
		return -1;
	snprintf(buf, size, "AUTH %s\n", mac);
	return 0;
}

int
peer_ok_check(const struct herd_server *to, int hello, int auth,
    const char *nonce_d, const char *nonce_l, const struct herd_key *k,
    const struct proto_peer *msg, char *why, size_t whylen)
{
	char	 mac[PROTO_MAC_HEX + 1];

	snprintf(why, whylen, "unexpected OK");
	if (peer_ctx.secret == NULL)
		return hello && msg->version == PROTO_VERSION &&
		    msg->mac.len == 0 && proto_field_eq(&msg->from, to->name) ?
		    0 : -1;
	if (!auth || msg->version != PROTO_VERSION_AUTH ||
	    !proto_field_eq(&msg->from, to->name))
		return -1;
	if (proto_mac(mac, k->b, k->len, "herd-ok",
	    to->name, peer_ctx.self->name, nonce_l, nonce_d) == -1) {
		snprintf(why, whylen, "could not compute the MAC");
		return -1;
	}
	if (!proto_mac_eq(&msg->mac, mac)) {
		snprintf(why, whylen, "%s", msg->mac.len == 0 ?
		    "its OK has no MAC" : "its OK has a wrong MAC (another "
		    "secret, or not the neighbour)");
		return -2;
	}
	return 0;
}
