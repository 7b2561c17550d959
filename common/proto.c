/*
 * proto.c -- pure parsers and formatters of client lines and AT lines,
 * and the handshake's MACs; the peer messages are proto_peer.c's.
 */
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto.h"

static int
proto_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

size_t
proto_split(const char *line, size_t len, struct proto_field *f, size_t max)
{
	size_t	 i = 0, n = 0, start;

	for (;;) {
		while (i < len && proto_isspace(line[i]))
			i++;
		if (i == len)
			return n;
		start = i;
		while (i < len && !proto_isspace(line[i]))
			i++;
		if (n < max) {
			f[n].p = line + start;
			f[n].len = i - start;
		}
		n++;
	}
}

int
proto_field_eq(const struct proto_field *a, const char *s)
{
	size_t	 n = strlen(s);

	return a->len == n && memcmp(a->p, s, n) == 0;
}

/*
 * The value of the decimal ip[.fp] (digits only), exact to the 40 digits a
 * double can use: the significant digits and an exponent go to strtod, so
 * neither leading zeros nor a long fraction matter.  Up to 15 significant
 * digits with a scale of at most 22 take Clinger's fast path instead: the
 * digits are an integer a double holds exactly, and so is the power of
 * ten, so one multiplication or division rounds correctly, as strtod does.
 */
static double
proto_decimal(const char *ip, size_t ni, const char *fp, size_t nf)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
	    1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
	    1e18, 1e19, 1e20, 1e21, 1e22 };
	char	 buf[80];
	size_t	 o = 0, i;
	long	 exp, scale;
	uint64_t d = 0;

	while (ni > 0 && *ip == '0')
		ip++, ni--;
	exp = (long)ni;			/* value = 0.DIGITS * 10^exp */
	if (ni == 0)
		while (nf > 0 && *fp == '0')
			fp++, nf--, exp--;
	if (ni + nf <= 15) {
		for (i = 0; i < ni; i++)
			d = d * 10 + (uint64_t)(ip[i] - '0');
		for (i = 0; i < nf; i++)
			d = d * 10 + (uint64_t)(fp[i] - '0');
		scale = exp - (long)(ni + nf);	/* value = d * 10^scale */
		if (scale >= 0 && scale <= 22)
			return (double)d * pow10[scale];
		if (scale < 0 && scale >= -22)
			return (double)d / pow10[-scale];
	}
	buf[o++] = '0';
	buf[o++] = '.';
	for (i = 0; i < ni && o < 42; i++)
		buf[o++] = ip[i];
	for (i = 0; i < nf && o < 42; i++)
		buf[o++] = fp[i];
	if (o == 2)
		return 0.0;
	snprintf(buf + o, sizeof(buf) - o, "e%ld", exp);
	return strtod(buf, NULL);
}

/*
 * "D+[.D+]" at s: the integer part's value in *ip (capped past 999999),
 * whether any digit is not 0, and its value.  Returns the bytes used, or
 * 0 when there are no integer or no fraction digits.
 */
static size_t
proto_unsigned(const char *s, size_t len, size_t maxint, long *ip,
    int *frac_nonzero, int *nonzero, double *out)
{
	size_t	 i, ni, nf = 0;
	const char *fp = NULL;

	*ip = 0;
	*frac_nonzero = *nonzero = 0;
	for (i = 0; i < len && proto_isdigit(s[i]); i++) {
		if (*ip < 1000000)
			*ip = *ip * 10 + (s[i] - '0');
		*nonzero |= s[i] != '0';
	}
	if ((ni = i) == 0 || (maxint > 0 && ni > maxint))
		return 0;
	if (i < len && s[i] == '.') {
		fp = s + ++i;
		for (; i < len && proto_isdigit(s[i]); i++, nf++)
			*frac_nonzero |= s[i] != '0';
		if (nf == 0)
			return 0;
	}
	*nonzero |= *frac_nonzero;
	*out = proto_decimal(s, ni, fp, nf);
	return i;
}

/*
 * "[+-]D+[.D+]" with at most 3 integer digits and an absolute value of at
 * most limit, compared exactly (+90.000000000000000001 is over 90 even if
 * a double rounds it to 90); the value in *out.  Returns the number of
 * bytes used, or 0.
 */
static size_t
proto_degrees(const char *s, size_t len, long limit, double *out)
{
	size_t	 n;
	long	 ip;
	int	 fnz, nz;

	if (len < 2 || (s[0] != '+' && s[0] != '-'))
		return 0;
	if ((n = proto_unsigned(s + 1, len - 1, 3, &ip, &fnz, &nz, out)) == 0)
		return 0;
	if (ip > limit || (ip == limit && fnz))
		return 0;
	if (s[0] == '-')
		*out = -*out;
	return 1 + n;
}

int
proto_parse_coords(const char *s, size_t len, double *lat, double *lng)
{
	size_t	 a, b;

	if ((a = proto_degrees(s, len, 90, lat)) == 0)
		return -1;
	if ((b = proto_degrees(s + a, len - a, 180, lng)) == 0 ||
	    a + b != len)
		return -1;
	return 0;
}

/* A radius in km: "D+[.D+]", > 0 and <= 50, compared exactly. */
static int
proto_radius(const struct proto_field *f, double *km)
{
	size_t	 n;
	long	 ip;
	int	 fnz, nz;

	n = proto_unsigned(f->p, f->len, 0, &ip, &fnz, &nz, km);
	if (n == 0 || n != f->len || !nz || ip > PROTO_RADIUS_MAX_KM ||
	    (ip == PROTO_RADIUS_MAX_KM && fnz))
		return -1;
	if (*km < DBL_MIN)
		*km = DBL_MIN;	/* more than 0, if less than a double holds */
	return 0;
}

/* An integer "D+" in [lo, hi] (leading zeros allowed). */
static int
proto_int(const struct proto_field *f, long lo, long hi, long *out)
{
	size_t	 i;
	long	 v = 0;

	if (f->len == 0)
		return -1;
	for (i = 0; i < f->len; i++) {
		if (!proto_isdigit(f->p[i]))
			return -1;
		v = v * 10 + (f->p[i] - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*out = v;
	return 0;
}

enum proto_verb
proto_parse_client(const char *line, size_t len, struct proto_cmd *cmd)
{
	struct proto_field	 f[5];
	size_t			 n;
	long			 max;

	memset(cmd, 0, sizeof(*cmd));
	n = proto_split(line, len, f, 5);
	if (n != 4)
		return PROTO_INVALID;
	if (proto_field_eq(&f[0], "IAMAT")) {
		if (proto_parse_coords(f[2].p, f[2].len, &cmd->lat,
		    &cmd->lng) == -1 || htime_parse(f[3].p, f[3].len,
		    &cmd->t) == -1)
			return PROTO_INVALID;
		cmd->id = f[1];
		cmd->coords = f[2];
		cmd->time = f[3];
		return cmd->verb = PROTO_IAMAT;
	}
	if (proto_field_eq(&f[0], "WHATSAT")) {
		if (proto_radius(&f[2], &cmd->radius_km) == -1 ||
		    proto_int(&f[3], 1, PROTO_RESULTS_MAX, &max) == -1)
			return PROTO_INVALID;
		cmd->id = f[1];
		cmd->max = (int)max;
		return cmd->verb = PROTO_WHATSAT;
	}
	return PROTO_INVALID;
}

int
proto_name_ok(const struct proto_field *f)
{
	size_t	 i;
	char	 c;

	if (f->len == 0 || f->len > 63)
		return 0;
	for (i = 0; i < f->len; i++) {
		c = f->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    proto_isdigit(c) || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
proto_parse_at(const struct proto_field *f, size_t n, struct proto_at *at)
{
	memset(at, 0, sizeof(*at));
	if (n != 6 || !proto_field_eq(&f[0], "AT") || !proto_name_ok(&f[1]) ||
	    htime_parse_diff(f[2].p, f[2].len) == -1 ||
	    proto_parse_coords(f[4].p, f[4].len, &at->lat, &at->lng) == -1 ||
	    htime_parse(f[5].p, f[5].len, &at->t) == -1)
		return -1;
	at->server = f[1];
	at->diff = f[2];
	at->id = f[3];
	at->coords = f[4];
	at->time = f[5];
	return 0;
}

size_t
proto_format_at(char *buf, size_t size, const char *server,
    const struct htime *now, const struct proto_cmd *cmd)
{
	char	 diff[HTIME_DIFF_MAX];
	size_t	 sl = strlen(server), dl, need;
	char	*p = buf;

	dl = htime_diff(diff, sizeof(diff), now, &cmd->t);
	need = 3 + sl + 1 + dl + 1 + cmd->id.len + 1 + cmd->coords.len + 1 +
	    cmd->time.len;
	if (need >= size)
		return 0;
	memcpy(p, "AT ", 3), p += 3;
	memcpy(p, server, sl), p += sl;
	*p++ = ' ';
	memcpy(p, diff, dl), p += dl;
	*p++ = ' ';
	memcpy(p, cmd->id.p, cmd->id.len), p += cmd->id.len;
	*p++ = ' ';
	memcpy(p, cmd->coords.p, cmd->coords.len), p += cmd->coords.len;
	*p++ = ' ';
	memcpy(p, cmd->time.p, cmd->time.len), p += cmd->time.len;
	*p = '\0';
	return need;
}

/*
 * Where the first empty line starts in json (the first of two newlines in
 * a row), or len: eight bytes a time, flagging each newline exactly
 * (0x80 where a byte is '\n': the precise zero-byte test of Bit Twiddling
 * Hacks on x ^ '\n'...) and testing flags side by side, whatever the byte
 * order; the pair across two words is looked at byte by byte.
 */
static size_t
proto_blank_line(const char *json, size_t len)
{
	const uint64_t	 ones = 0x0101010101010101ULL, high = ones * 0x80;
	const uint64_t	 low7 = ones * 0x7f;
	uint64_t	 x, m;
	size_t		 i;

	for (i = 0; i + 9 <= len; i += 8) {
		memcpy(&x, json + i, 8);
		x ^= ones * '\n';
		m = ~(((x & low7) + low7) | x) & high;
		if ((m & (m >> 8)) != 0 ||
		    (json[i + 7] == '\n' && json[i + 8] == '\n'))
			break;
	}
	for (; i + 1 < len; i++)
		if (json[i] == '\n' && json[i + 1] == '\n')
			return i;
	return len;
}

size_t
proto_format_json(char *dst, const char *json, size_t len)
{
	const char	*nl;
	size_t		 i, o, k;

	/* up to the first empty line (most often all of it) as it is */
	i = proto_blank_line(json, len);
	if (i < len)
		i++;				/* and its first newline */
	memcpy(dst, json, i);
	o = i;
	/* then a line at a time (with its newline); an empty one after another */
	while (i < len) {
		if (json[i] == '\n' && o > 0 && dst[o - 1] == '\n') {
			i++;
			continue;
		}
		nl = memchr(json + i, '\n', len - i);
		k = nl != NULL ? (size_t)(nl - (json + i)) + 1 : len - i;
		memcpy(dst + o, json + i, k);
		o += k;
		i += k;
	}
	while (o > 0 && dst[o - 1] == '\n')
		o--;
	dst[o++] = '\n';
	dst[o++] = '\n';
	return o;
}

void
proto_hex(char *out, const unsigned char *buf, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
proto_mac(char *out, const void *secret, size_t secretlen, const char *label,
    const char *a, const char *b, const char *na, const char *nb)
{
	char		 msg[512];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 n;

	out[0] = '\0';
	n = snprintf(msg, sizeof(msg), "%s %d %s %s %s %s", label,
	    PROTO_VERSION_AUTH, a, b, na, nb);
	if (n < 0 || (size_t)n >= sizeof(msg) || secretlen > INT_MAX)
		return -1;
	if (HMAC(EVP_sha256(), secret, (int)secretlen,
	    (const unsigned char *)msg, (size_t)n, md, &mdlen) == NULL ||
	    mdlen != PROTO_MAC_LEN)
		return -1;
	proto_hex(out, md, PROTO_MAC_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int
proto_mac_eq(const struct proto_field *f, const char *mac)
{
	if (f->len != PROTO_MAC_HEX || strlen(mac) != PROTO_MAC_HEX)
		return 0;
	return CRYPTO_memcmp(f->p, mac, PROTO_MAC_HEX) == 0;
}
