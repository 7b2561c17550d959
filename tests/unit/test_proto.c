/*
 * test_proto.c -- client and peer lines: every valid and invalid form.
 */
#include <stdlib.h>
#include <string.h>

#include "htime.h"
#include "proto.h"
#include "tap.h"

static enum proto_verb
client(const char *s, struct proto_cmd *cmd)
{
	return proto_parse_client(s, strlen(s), cmd);
}

static int
coords(const char *s, double *lat, double *lng)
{
	return proto_parse_coords(s, strlen(s), lat, lng);
}

static enum proto_peer_type
peer(const char *s, struct proto_peer *m)
{
	return proto_parse_peer(s, strlen(s), m);
}

/* proto_format_json as it was written first: a byte at a time. */
static size_t
json_bytewise(char *dst, const char *json, size_t len)
{
	size_t	 i, o = 0;

	for (i = 0; i < len; i++) {
		if (json[i] == '\n' && o > 0 && dst[o - 1] == '\n')
			continue;
		dst[o++] = json[i];
	}
	while (o > 0 && dst[o - 1] == '\n')
		o--;
	dst[o++] = '\n';
	dst[o++] = '\n';
	return o;
}

/*
 * proto_format_json against json_bytewise: every text of up to 12 bytes
 * of 'a' and '\n' (empty lines at every offset of a word and across two),
 * and random ones of up to 300 bytes.
 */
static int
json_all_shapes(void)
{
	char		 in[300], want[302], got[302];
	size_t		 len, n, m, i;
	unsigned long	 bits;

	for (len = 0; len <= 12; len++)
		for (bits = 0; bits < (1UL << len); bits++) {
			for (i = 0; i < len; i++)
				in[i] = (bits >> i) & 1 ? '\n' : 'a';
			n = proto_format_json(got, in, len);
			m = json_bytewise(want, in, len);
			if (n != m || memcmp(got, want, n) != 0)
				return 0;
		}
	srand(7);
	for (i = 0; i < 20000; i++) {
		len = (size_t)rand() % sizeof(in);
		for (n = 0; n < len; n++)
			in[n] = rand() % 8 == 0 ? '\n' : (char)(' ' + rand() % 90);
		n = proto_format_json(got, in, len);
		m = json_bytewise(want, in, len);
		if (n != m || memcmp(got, want, n) != 0)
			return 0;
	}
	return 1;
}

int
main(void)
{
	static const char *invalid[] = {
		"", " ", "\t\r", "IAMAT", "IAMAT kiwi",
		"IAMAT kiwi +34.068930-118.445127",
		"IAMAT kiwi +34.068930-118.445127 1621464827.959498503 extra",
		"iamat kiwi +34.068930-118.445127 1621464827.959498503",
		"IAMAT kiwi 34.068930-118.445127 1621464827.959498503",
		"IAMAT kiwi +34.068930118.445127 1621464827.959498503",
		"IAMAT kiwi +34.068930-118.445127 1621464827.",
		"IAMAT kiwi +34.068930-118.445127 -1621464827",
		"IAMAT kiwi +34.068930-118.445127 16214648x7",
		"IAMAT kiwi +34.068930-118.445127 1621464827.9594985031",
		"IAMAT kiwi +91.0-118.4 1621464827",
		"IAMAT kiwi +34.0-180.0001 1621464827",
		"AT Goloman +0.263873386 kiwi +34.068930-118.445127 1621464827.959498503",
		"WHATSAT", "WHATSAT kiwi", "WHATSAT kiwi 10",
		"WHATSAT kiwi 10 5 6", "whatsat kiwi 10 5",
		"WHATSAT kiwi 0 5", "WHATSAT kiwi 0.0 5", "WHATSAT kiwi 51 5",
		"WHATSAT kiwi 50.001 5", "WHATSAT kiwi -1 5",
		"WHATSAT kiwi +10 5", "WHATSAT kiwi 10. 5", "WHATSAT kiwi .5 5",
		"WHATSAT kiwi 1e1 5", "WHATSAT kiwi 10 0", "WHATSAT kiwi 10 21",
		"WHATSAT kiwi 10 5.0", "WHATSAT kiwi 10 -5", "WHATSAT kiwi 10 +5",
		"WHATSAT kiwi nan 5", "WHATSAT kiwi inf 5",
		"WHATSAT kiwi 10 99999999999999999999",
		"WHATSAT kiwi 50.0000000000000000001 5",
		"WHATSAT kiwi 0000000000000000000000000000000000051 5",
		"WHATSAT kiwi 0.00000000000000000000000000000000000000 5",
		"IAMAT kiwi +90.000000000000000001-118.4 1621464827",
		"IAMAT kiwi +34.0+180.000000000000000001 1621464827",
		"HELLO 1 Goloman Hands", "UPDATE AT a b c d e",
	};
	struct proto_cmd	 cmd;
	struct proto_peer	 m;
	struct proto_field	 f[8];
	struct htime		 now;
	double			 lat, lng;
	char			 buf[512];
	size_t			 i, n;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ok(client(invalid[i], &cmd) == PROTO_INVALID, "invalid: \"%s\"",
		    invalid[i]);

	ok(client("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 "
	    "1621464827.959498503", &cmd) == PROTO_IAMAT &&
	    cmd.id.len == 16 && cmd.coords.len == 21 && cmd.time.len == 20 &&
	    cmd.t.sec == 1621464827 && cmd.t.nsec == 959498503 &&
	    1, "IAMAT from PROTOCOL.md");
	ok(cmd.lat > 34.06892 && cmd.lat < 34.06894 && cmd.lng < -118.445126 &&
	    cmd.lng > -118.445128, "its coordinates");
	ok(client(" \t IAMAT\t\tkiwi \v+34-118\f1621464827\r ", &cmd) ==
	    PROTO_IAMAT && memcmp(cmd.coords.p, "+34-118", 7) == 0,
	    "any white space separates; leading and trailing ignored");
	ok(client("IAMAT k\x01\xff +0+0 0", &cmd) == PROTO_IAMAT &&
	    cmd.id.len == 3, "ids are any non-white-space bytes");
	ok(proto_parse_client("IAMAT a\0b +0+0 0", 16, &cmd) == PROTO_IAMAT &&
	    cmd.id.len == 3, "a NUL byte is part of an id");
	ok(client("WHATSAT kiwi.cs.ucla.edu 10 5", &cmd) == PROTO_WHATSAT &&
	    cmd.radius_km == 10.0 && cmd.max == 5, "WHATSAT 10 5");
	ok(client("WHATSAT kiwi 50 20", &cmd) == PROTO_WHATSAT &&
	    cmd.radius_km == 50.0 && cmd.max == 20, "WHATSAT bounds 50 20");
	ok(client("WHATSAT kiwi 0.001 1", &cmd) == PROTO_WHATSAT &&
	    cmd.max == 1, "WHATSAT fractional radius");
	ok(client("WHATSAT kiwi 010 05", &cmd) == PROTO_WHATSAT &&
	    cmd.radius_km == 10.0 && cmd.max == 5, "leading zeros");
	ok(client("WHATSAT kiwi 00000000000000000000000000000000000000010.5"
	    "000000000000000000000000000000000000000000000000000000000000 5",
	    &cmd) == PROTO_WHATSAT && cmd.radius_km == 10.5,
	    "a radius of any length");
	ok(client("WHATSAT kiwi 50.00000000000000000000000000000000000 5",
	    &cmd) == PROTO_WHATSAT && cmd.radius_km == 50.0,
	    "50 with a long zero fraction");
	ok(client("WHATSAT kiwi 0.000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000001 1",
	    &cmd) == PROTO_WHATSAT && cmd.radius_km > 0.0,
	    "a tiny radius is still more than 0");

	/* ISO 6709 edge cases */
	ok(coords("+90-180", &lat, &lng) == 0 && lat == 90 && lng == -180,
	    "+90-180: the corners");
	ok(coords("-90.000000+180.000000", &lat, &lng) == 0,
	    "-90.000000+180.000000");
	ok(coords("+00.0-000.0", &lat, &lng) == 0, "zeros");
	ok(coords("-0+0", &lat, &lng) == 0, "-0+0");
	ok(coords("+90.0000001+0", &lat, &lng) == -1, "latitude over 90");
	ok(coords("+0+180.0000001", &lat, &lng) == -1, "longitude over 180");
	ok(coords("+34.5", &lat, &lng) == -1, "no longitude");
	ok(coords("34.5-118.2", &lat, &lng) == -1, "latitude without sign");
	ok(coords("+34.5118.2", &lat, &lng) == -1, "longitude without sign");
	ok(coords("+34.5-118.2+10", &lat, &lng) == -1, "an altitude");
	ok(coords("+34.5-118.2/", &lat, &lng) == -1, "a solidus");
	ok(coords("+.5-118", &lat, &lng) == -1, "no integer digits");
	ok(coords("+34.-118", &lat, &lng) == -1, "no fraction digits");
	ok(coords("+1234-118", &lat, &lng) == -1, "DDMM form is not decimal");
	ok(coords("+34,5-118,2", &lat, &lng) == -1, "decimal comma");
	ok(coords("++34-118", &lat, &lng) == -1, "two signs");
	ok(coords("+3e1-118", &lat, &lng) == -1, "exponent");
	ok(coords("", &lat, &lng) == -1, "empty");
	ok(coords("+90.000000000000000001+0", &lat, &lng) == -1,
	    "latitude over 90 by less than a double tells");
	ok(coords("-90.000000000000000001+0", &lat, &lng) == -1,
	    "latitude under -90 by less than a double tells");
	ok(coords("+0-180.00000000000000000001", &lat, &lng) == -1,
	    "longitude under -180 by less than a double tells");
	ok(coords("+90.000000000000000000000000000000000000000000000000000000000"
	    "000000000-180.0000000000000000000000000000000000000000000000000000"
	    "00000000000000000", &lat, &lng) == 0 && lat == 90 && lng == -180,
	    "the corners with long zero fractions");
	ok(coords("+34.0689300000000000000000000000000000000000000000000000000"
	    "0000000000001-118.445127", &lat, &lng) == 0 && lat > 34.06892 &&
	    lat < 34.06894 && lng < -118.445126 && lng > -118.445128,
	    "a fraction longer than 64 digits");
	ok(coords("+89.99999999999999999999999+179.9999999999999999999999",
	    &lat, &lng) == 0, "just under the limits");

	/* the AT reply */
	client("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 "
	    "1621464827.959498503", &cmd);
	now.sec = 1621464828;
	now.nsec = 223372889;
	n = proto_format_at(buf, sizeof(buf), "Goloman", &now, &cmd);
	ok(n == strlen(buf) && strcmp(buf, "AT Goloman +0.263874386 "
	    "kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503") ==
	    0, "AT line: %s", buf);
	client("IAMAT kiwi +34-118 1621464829", &cmd);
	proto_format_at(buf, sizeof(buf), "Hands", &now, &cmd);
	ok(strcmp(buf, "AT Hands -0.776627111 kiwi +34-118 1621464829") == 0,
	    "negative difference: %s", buf);
	ok(proto_format_at(buf, 20, "Hands", &now, &cmd) == 0,
	    "too small a buffer: 0");

	/* WHATSAT JSON */
	n = proto_format_json(buf, "{\n\n\n  \"a\": 1\n\n}\n\n\n", 18);
	ok(n == 14 && memcmp(buf, "{\n  \"a\": 1\n}\n\n", 14) == 0,
	    "newline runs collapsed, trailing removed, two added");
	ok(json_all_shapes(), "every text of up to 12 bytes of 'a' and "
	    "newlines, and longer ones: as byte by byte");

	/* peer lines */
	ok(peer("HELLO 1 Goloman Hands", &m) == PEER_HELLO && m.version == 1 &&
	    proto_field_eq(&m.from, "Goloman") && proto_field_eq(&m.to, "Hands"),
	    "HELLO");
	ok(peer("HELLO 1 Goloman", &m) == PEER_INVALID, "HELLO short");
	ok(peer("HELLO 1 Goloman Hands RESCUE", &m) == PEER_HELLO &&
	    m.rescue && m.nonce.len == 0, "HELLO 1 ... RESCUE");
	ok(peer("HELLO 2 Goloman Hands 0123456789abcdef0123456789abcdef "
	    "RESCUE", &m) == PEER_HELLO && m.rescue && m.nonce.len == 32,
	    "HELLO 2 ... nonce RESCUE");
	ok(peer("HELLO 1 Goloman Hands", &m) == PEER_HELLO && !m.rescue,
	    "HELLO without RESCUE");
	ok(peer("HELLO 1 Goloman RESCUE", &m) == PEER_HELLO && !m.rescue,
	    "RESCUE as a name: a HELLO to server RESCUE");
	ok(peer("HELLO 1 Goloman Hands RESCUE RESCUE", &m) == PEER_INVALID,
	    "RESCUE twice");
	ok(peer("HELLO 1 a b c d e f g h i j RESCUE", &m) == PEER_INVALID,
	    "a long HELLO ending RESCUE (found by fuzz_peer: read past the "
	    "fields)");
	ok(peer("HELLO x Goloman Hands", &m) == PEER_INVALID, "HELLO version");
	ok(peer("HELLO 1 Gol/oman Hands", &m) == PEER_INVALID, "HELLO name");
	ok(peer("OK 1 Hands", &m) == PEER_OK, "OK");
	ok(peer("HELLO 2 Goloman Hands 0123456789abcdef0123456789abcdef "
	    "RESCUE +tree +next-thing", &m) == PEER_HELLO && m.rescue &&
	    m.nonce.len == 32 && m.nfeat == 2 && proto_field_eq(&m.feat[0],
	    "tree") && proto_field_eq(&m.feat[1], "next-thing"),
	    "HELLO with features, after RESCUE, in order");
	ok(peer("HELLO 1 Goloman Hands +a +b +c +d +e +f +g +h", &m) ==
	    PEER_HELLO && m.nfeat == 8, "HELLO with 8 features");
	ok(peer("HELLO 1 Goloman Hands +a +b +c +d +e +f +g +h +i", &m) ==
	    PEER_INVALID, "HELLO with 9 features");
	ok(peer("HELLO 1 Goloman Hands +", &m) == PEER_INVALID &&
	    peer("HELLO 1 Goloman Hands +Tree", &m) == PEER_INVALID &&
	    peer("HELLO 1 Goloman Hands +tr_ee", &m) == PEER_INVALID,
	    "a feature word: 1 or more of a-z 0-9 -");
	ok(peer("HELLO 1 Goloman +tree", &m) == PEER_INVALID,
	    "features do not stand for names");
	ok(peer("OK 2 Hands 0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef +tree", &m) == PEER_OK && m.nfeat == 1 &&
	    m.mac.len == 64, "OK with a feature after its MAC");
	ok(peer("SEQ 5 +tree", &m) == PEER_INVALID,
	    "features only in HELLO and OK");
	ok(peer("ERROR not a neighbour", &m) == PEER_ERROR &&
	    m.text.len == 15, "ERROR text");
	ok(peer("UPDATE AT Goloman +0.263873386 kiwi +34.068930-118.445127 "
	    "1621464827.959498503", &m) == PEER_UPDATE &&
	    proto_field_eq(&m.at.server, "Goloman") &&
	    m.at.t.nsec == 959498503, "UPDATE");
	ok(peer("UPDATE AT Goloman 0.263873386 kiwi +34-118 1", &m) ==
	    PEER_INVALID, "UPDATE with an unsigned diff");
	ok(peer("UPDATE AT Goloman +0.2 kiwi +34-118 1", &m) ==
	    PEER_INVALID, "UPDATE with a short diff");
	ok(peer("UPDATE AT Goloman +0.263873386 kiwi +34-118", &m) ==
	    PEER_INVALID, "UPDATE missing a field");
	ok(peer("UPDATE AT Goloman +0.263873386 kiwi +99-118 1", &m) ==
	    PEER_INVALID, "UPDATE bad coordinates");
	ok(peer("UPDATE AT Goloman +0.263873386 kiwi +9-118 1 x y z", &m) ==
	    PEER_INVALID, "UPDATE too many fields");
	ok(peer("SYNCED 12", &m) == PEER_SYNCED && m.count == 12, "SYNCED");
	ok(peer("PING", &m) == PEER_PING && peer("PONG", &m) == PEER_PONG,
	    "PING PONG");
	ok(peer("PING x", &m) == PEER_INVALID, "PING with junk");
	ok(peer("IAMAT kiwi +34-118 1", &m) == PEER_INVALID,
	    "client commands are not peer messages");
	ok(peer("", &m) == PEER_INVALID, "empty");

	/* version 2: the handshake with the herd's secret */
	{
		static const char *bad[] = {
			"HELLO 2 Goloman Hands 0123456789abcdef0123456789abcde",
			"HELLO 2 Goloman Hands 0123456789abcdef0123456789abcdef0",
			"HELLO 2 Goloman Hands 0123456789ABCDEF0123456789abcdef",
			"HELLO 2 Goloman Hands 0123456789abcdeg0123456789abcdef",
			"HELLO 2 Goloman Hands 0123456789abcdef0123456789abcdef x",
			"CHALLENGE", "CHALLENGE 00", "CHALLENGE "
			    "0123456789abcdef0123456789abcdef x",
			"challenge 0123456789abcdef0123456789abcdef",
			"AUTH", "AUTH 0123456789abcdef0123456789abcdef",
			"AUTH f26804e3b62a8e0c25d6b2582297c4e9cc00852cf4fd422921"
			    "001d1986e04233 x",
			"AUTH F26804E3B62A8E0C25D6B2582297C4E9CC00852CF4FD422921"
			    "001D1986E04233",
			"OK 2 Hands 0123456789abcdef0123456789abcdef",
			"OK 2 Hands f26804e3b62a8e0c25d6b2582297c4e9cc00852cf4fd4"
			    "22921001d1986e04233 x",
		};
		const char	*key = "0123456789abcdef-herd-secret";
		const char	*n0 = "00000000000000000000000000000000";
		const char	*nf = "ffffffffffffffffffffffffffffffff";
		char		 mac[PROTO_MAC_HEX + 1], hex[8];
		struct proto_field mf;
		size_t		 i;

		ok(peer("HELLO 2 Goloman Hands "
		    "0123456789abcdef0123456789abcdef", &m) == PEER_HELLO &&
		    m.version == 2 && proto_field_eq(&m.from, "Goloman") &&
		    proto_field_eq(&m.to, "Hands") && proto_field_eq(&m.nonce,
		    "0123456789abcdef0123456789abcdef"), "HELLO 2 with nonce");
		ok(peer("HELLO 1 Goloman Hands", &m) == PEER_HELLO &&
		    m.nonce.len == 0, "HELLO 1 has no nonce");
		ok(peer("CHALLENGE 0123456789abcdef0123456789abcdef", &m) ==
		    PEER_CHALLENGE && m.nonce.len == 32, "CHALLENGE");
		ok(peer("AUTH f26804e3b62a8e0c25d6b2582297c4e9cc00852cf4fd4229"
		    "21001d1986e04233", &m) == PEER_AUTH && m.mac.len == 64,
		    "AUTH");
		ok(peer("OK 2 Hands f26804e3b62a8e0c25d6b2582297c4e9cc00852cf4fd"
		    "422921001d1986e04233", &m) == PEER_OK && m.version == 2 &&
		    proto_field_eq(&m.from, "Hands") && m.mac.len == 64,
		    "OK 2 with MAC");
		ok(peer("OK 1 Hands", &m) == PEER_OK && m.mac.len == 0,
		    "OK 1 has no MAC");
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ok(peer(bad[i], &m) == PEER_INVALID, "invalid: %s",
			    bad[i]);

		/* known answers, from Python's hmac module */
		ok(proto_mac(mac, key, strlen(key), "herd-link", "Goloman",
		    "Hands", n0, nf) == 0 && strcmp(mac, "f26804e3b62a8e0c25d6"
		    "b2582297c4e9cc00852cf4fd422921001d1986e04233") == 0,
		    "herd-link MAC: %s", mac);
		ok(proto_mac(mac, key, strlen(key), "herd-ok", "Hands",
		    "Goloman", nf, n0) == 0 && strcmp(mac, "04cfbd8ff9880577cc"
		    "bb65d2b66e0a6fcd9cfd89f7bf397a9bb15f2c61c6571c") == 0,
		    "herd-ok MAC: %s", mac);
		mf.p = mac;
		mf.len = strlen(mac);
		ok(proto_mac_eq(&mf, mac), "a MAC equals itself");
		mf.len--;
		ok(!proto_mac_eq(&mf, mac), "a shorter MAC does not");
		ok(proto_mac(mac, key, strlen(key), "herd-link", "Goloman",
		    "Hands", n0, n0) == 0, "another nonce");
		mf.p = "f26804e3b62a8e0c25d6b2582297c4e9cc00852cf4fd422921001d19"
		    "86e04233";
		mf.len = 64;
		ok(!proto_mac_eq(&mf, mac), "gives another MAC");
		proto_hex(hex, (const unsigned char *)"\x00\xa5\xff", 3);
		ok(strcmp(hex, "00a5ff") == 0, "hex: %s", hex);
	}

	ok(proto_split("  a  b\tc ", 9, f, 8) == 3 && f[2].len == 1,
	    "split");
	ok(proto_split("a b c d e f g h i j", 19, f, 2) == 10,
	    "split counts past max");

	/* catch-up and repair (herd-protocol(7)) */
	{
		struct proto_peer	 m;
		char			 line[1024], abuf[256];
		const char		*l;
		size_t			 k, o;

		ok(peer("SINCE 00000000000000ff 42", &m) == PEER_SINCE &&
		    m.epoch == 255 && m.lseq == 42, "SINCE");
		ok(peer("FROM 0123456789abcdef 0", &m) == PEER_FROM &&
		    m.epoch == 0x0123456789abcdefULL && m.lseq == 0, "FROM");
		ok(peer("SEQ 18446744073709551", &m) == PEER_SEQ &&
		    m.lseq == 18446744073709551ULL, "SEQ");
		ok(peer("DIGEST 3 fedcba9876543210", &m) == PEER_DIGEST &&
		    m.dcount == 3 && m.dsum == 0xfedcba9876543210ULL, "DIGEST");
		ok(peer("SINCE 0123 1", &m) == PEER_INVALID &&
		    peer("SINCE 0123456789ABCDEF 1", &m) == PEER_INVALID &&
		    peer("FROM 0123456789abcdef -1", &m) == PEER_INVALID &&
		    peer("SEQ", &m) == PEER_INVALID &&
		    peer("SEQ 1 2", &m) == PEER_INVALID &&
		    peer("DIGEST 1", &m) == PEER_INVALID &&
		    peer("SEQ 18446744073709551616", &m) == PEER_INVALID,
		    "malformed SINCE, FROM, SEQ, DIGEST");
		o = (size_t)snprintf(line, sizeof(line), "SUMS");
		for (k = 0; k < PROTO_SUMS; k++)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    " %016zx", k);
		ok(peer(line, &m) == PEER_SUMS && m.sums[0] == 0 &&
		    m.sums[PROTO_SUMS - 1] == PROTO_SUMS - 1, "SUMS");
		line[o - 17] = '\0';
		ok(peer(line, &m) == PEER_INVALID, "SUMS short of a part");

		/* the broadcast tree's */
		ok(peer("IHAVE 17 0badcafe", &m) == PEER_IHAVE &&
		    m.lseq == 17 && m.nhave == 1 && m.have[0] == 0x0badcafe,
		    "IHAVE");
		ok(peer("IHAVE 3 00000001 ffffffff", &m) == PEER_IHAVE &&
		    m.nhave == 2 && m.have[0] == 1 && m.have[1] == 0xffffffff,
		    "IHAVE naming two records");
		o = (size_t)snprintf(line, sizeof(line), "IHAVE 1");
		for (k = 0; k < PROTO_IHAVE_MAX; k++)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    " %08zx", k);
		ok(peer(line, &m) == PEER_IHAVE && m.nhave == PROTO_IHAVE_MAX &&
		    m.have[PROTO_IHAVE_MAX - 1] == PROTO_IHAVE_MAX - 1,
		    "IHAVE naming %d records", PROTO_IHAVE_MAX);
		snprintf(line + o, sizeof(line) - o, " 00000000");
		ok(peer(line, &m) == PEER_INVALID, "and not one more");
		ok(peer("IHAVE 17", &m) == PEER_INVALID &&
		    peer("IHAVE x 00000001", &m) == PEER_INVALID &&
		    peer("IHAVE 1 0000001", &m) == PEER_INVALID &&
		    peer("IHAVE 1 000000001", &m) == PEER_INVALID &&
		    peer("IHAVE 1 0000000G", &m) == PEER_INVALID &&
		    peer("IHAVE 1 0000000A", &m) == PEER_INVALID &&
		    peer("IHAVE 1 kiwi 1", &m) == PEER_INVALID,
		    "malformed IHAVE");
		ok(peer("IHAVE 40 00000001 0000000x", &m) == PEER_INVALID &&
		    m.nhave == 0, "an IHAVE bad in its second record names none "
		    "(fuzz_peer)");
		{
			char	 hex[9] = { 0 };

			/* FNV-1a 32: the published test vectors */
			ok(proto_line_hash("", 0) == 0x811c9dc5u &&
			    proto_line_hash("a", 1) == 0xe40c292cu &&
			    proto_line_hash("foobar", 6) == 0xbf9cf968u,
			    "proto_line_hash is FNV-1a 32");
			proto_hash_hex(hex, 0x0badcafe);
			ok(strcmp(hex, "0badcafe") == 0, "proto_hash_hex: %s",
			    hex);
		}
		ok(peer("GRAFT 0", &m) == PEER_GRAFT && m.lseq == 0 &&
		    peer("GRAFT 99", &m) == PEER_GRAFT && m.lseq == 99, "GRAFT");
		ok(peer("GRAFT", &m) == PEER_INVALID &&
		    peer("GRAFT -1", &m) == PEER_INVALID &&
		    peer("GRAFT 1 2", &m) == PEER_INVALID, "malformed GRAFT");
		ok(peer("PRUNE", &m) == PEER_PRUNE &&
		    peer("PRUNE 1", &m) == PEER_INVALID, "PRUNE");
		ok(peer("EAGER", &m) == PEER_EAGER &&
		    peer("EAGER 1", &m) == PEER_INVALID &&
		    peer("EAGERX", &m) == PEER_INVALID, "EAGER");
		ok(peer("RESEND AT A +0.100000000 k +1+1 1", &m) == PEER_RESEND &&
		    m.line.len == 26 && peer("RESEND AT A", &m) == PEER_INVALID,
		    "RESEND");

		ok(peer("UPDATE AT A +0.100000000 k +1+1 1", &m) == PEER_UPDATE,
		    "UPDATE");
		l = proto_at_line(&m.at, abuf, sizeof(abuf), &k);
		ok(l == m.line.p && k == 26 && memcmp(l,
		    "AT A +0.100000000 k +1+1 1", k) == 0,
		    "a single-spaced AT line is used as it is");
		ok(peer("UPDATE AT\tA  +0.100000000 k +1+1 1 ", &m) ==
		    PEER_UPDATE, "UPDATE, other white space");
		l = proto_at_line(&m.at, abuf, sizeof(abuf), &k);
		ok(l == abuf && k == 26 &&
		    strcmp(l, "AT A +0.100000000 k +1+1 1") == 0,
		    "is rebuilt single-spaced: %s", l);
		ok(proto_at_line(&m.at, abuf, 10, &k) == NULL,
		    "rebuilt into too small a buffer: NULL");
	}
	/* exact decimals, both ways of computing them */
	{
		struct proto_cmd c2;

		ok(client("IAMAT k +34.068930-118.445127 1", &c2) ==
		    PROTO_IAMAT && c2.lat == 34.06893 && c2.lng == -118.445127,
		    "coordinates, the fast path");
		ok(client("IAMAT k +34.0689300000000000000001-118.4451270000000000"
		    "00000001 1", &c2) == PROTO_IAMAT && c2.lat == 34.06893 &&
		    c2.lng == -118.445127, "coordinates, past 15 digits");
		ok(client("IAMAT k +0.000000000000000000000000001-0.1 1", &c2) ==
		    PROTO_IAMAT && c2.lat == 1e-27 && c2.lng == -0.1,
		    "a tiny latitude, past the scale of the fast path");
	}
	return tap_done();
}
