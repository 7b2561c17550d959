/*
 * test_jrec.c -- journal records: formats, checksums, and what is refused.
 */
#include <stdio.h>
#include <string.h>

#include "jrec.h"
#include "tap.h"

static enum jrec_type
parse(const char *s, struct jrec *r)
{
	return jrec_parse(s, strlen(s), r);
}

int
main(void)
{
	static const char at[] =
	    "AT Hands +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
	    "1621464827.959498503";
	struct jrec	 r;
	char		 buf[512], bad[512];
	size_t		 n, i;

	n = jrec_format_header(buf, sizeof(buf), 0x0123456789abcdefULL);
	ok(n > 0 && buf[n - 1] == '\n', "a header, with its newline");
	buf[n - 1] = '\0';
	ok(strcmp(buf + 8, " H 1 0123456789abcdef") == 0, "header: %s", buf);
	ok(parse(buf, &r) == JREC_HEADER && r.epoch == 0x0123456789abcdefULL &&
	    r.format == 1, "the header parses back");
	{
		extern unsigned long crc32(unsigned long,
		    const unsigned char *, unsigned int);
		char	 hex[9];

		snprintf(hex, sizeof(hex), "%08lx", crc32(0,
		    (const unsigned char *)"H 1 0123456789abcdef", 20));
		ok(strncmp(buf, hex, 8) == 0, "its crc is CRC-32 of the rest: "
		    "%.8s", buf);
	}

	n = jrec_format_update(buf, sizeof(buf), 42, NULL, at, strlen(at));
	ok(n > 0 && n <= jrec_update_len(NULL, strlen(at)) &&
	    strncmp(buf + 8, " U 42 - AT Hands ", 17) == 0,
	    "an update: %.40s", buf);
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_UPDATE && r.lseq == 42 &&
	    r.src.len == 1 && r.src.p[0] == '-' && r.line.len == strlen(at) &&
	    memcmp(r.line.p, at, r.line.len) == 0,
	    "a client's update parses back");
	ok(r.at.id.len == 16 && memcmp(r.at.id.p, "kiwi.cs.ucla.edu", 16) == 0 &&
	    r.at.t.sec == 1621464827 && r.at.t.nsec == 959498503 &&
	    r.at.lat == 34.06893 && r.at.lng == -118.445127,
	    "its fields are parsed once");
	n = jrec_format_update(buf, sizeof(buf), 18446744073709551615ULL,
	    "Goloman", at, strlen(at));
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_UPDATE &&
	    r.lseq == 18446744073709551615ULL && r.src.len == 7,
	    "the largest lseq, from a neighbour");
	ok(jrec_format_update(buf, 40, 1, NULL, at, strlen(at)) == 0,
	    "too small a buffer: 0");

	/* every single flipped byte and every truncation is refused */
	n = jrec_format_update(buf, sizeof(buf), 7, "Hands", at, strlen(at));
	n--;
	for (i = 0; i < n; i++) {
		memcpy(bad, buf, n);
		bad[i] ^= 0x20;
		if (jrec_parse(bad, n, &r) != JREC_INVALID)
			break;
	}
	ok(i == n, "a flipped byte is found (at %zu of %zu)", i, n);
	for (i = 0; i < n; i++)
		if (jrec_parse(buf, i, &r) != JREC_INVALID)
			break;
	ok(i == n, "a cut record is found (at %zu)", i);

	n = jrec_format_mark(buf, sizeof(buf), "Welsh", 0xffULL, 99);
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_MARK && r.epoch == 0xff && r.lseq == 99 &&
	    r.src.len == 5, "a mark parses back: %s", buf);
	n = jrec_format_epoch(buf, sizeof(buf), 5);
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_EPOCH && r.epoch == 5, "an epoch record");

	n = jrec_format_boot(buf, sizeof(buf),
	    "0123456789abcdef0123456789abcdef");
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_BOOT && r.boot.len == 32, "a boot record");
	ok(jrec_format_boot(buf, sizeof(buf), "0123") == 0,
	    "a boot id of another length: not formatted");
	n = jrec_format_close(buf, sizeof(buf));
	buf[n - 1] = '\0';
	ok(parse(buf, &r) == JREC_CLOSE, "a close record: %s", buf);
	ok(parse("", &r) == JREC_INVALID, "empty");
	ok(parse("00000000 U 1 - AT", &r) == JREC_INVALID, "wrong crc");
	ok(parse("zzzzzzzz H 1 0123456789abcdef", &r) == JREC_INVALID,
	    "not hex");
	/* well-sealed but malformed bodies */
	{
		static const char *bodies[] = {
			"H 2 0123456789abcdef", "H 1 0123456789ABCDEF",
			"H 1 0123", "M bad/name 0123456789abcdef 1",
			"M A 0123456789abcdef -1", "U x - AT A +0.1 k +1+1 1",
			"U 1 - AT A +0.1 k +1+1", "U 1 - AT A +0.1 k 1+1 1",
			"U 1 b/c AT A +0.1 k +1+1 1", "X 1",
			"U 18446744073709551616 - AT A +0.1 k +1+1 1",
			"B 0123", "B 0123456789ABCDEF0123456789abcdef",
			"C x",
		};
		char	 line[256];

		for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			/* seal it as a formatter would */
			snprintf(line, sizeof(line), "-------- %s", bodies[i]);
			n = strlen(line);
			{
				unsigned long	 c;
				char		 hex[9];
				extern unsigned long crc32(unsigned long,
				    const unsigned char *, unsigned int);

				c = crc32(0, (const unsigned char *)line + 9,
				    (unsigned)(n - 9));
				snprintf(hex, sizeof(hex), "%08lx", c);
				memcpy(line, hex, 8);
			}
			ok(jrec_parse(line, n, &r) == JREC_INVALID,
			    "refused: %s", bodies[i]);
		}
	}
	{
		/* ISA-L's CRC is zlib's: every length to 3000, any alignment */
		extern unsigned long crc32(unsigned long,
		    const unsigned char *, unsigned int);
		static char	 data[3008];
		size_t		 len, off, bad = 0;
		unsigned	 x = 12345;

		for (len = 0; len < sizeof(data); len++) {
			x = x * 1103515245 + 12345;
			data[len] = (char)(x >> 16);
		}
		for (len = 0; len <= 3000; len++)
			for (off = 0; off < 8; off++)
				bad += jrec_crc(data + off, len) != (uint32_t)
				    crc32(0, (const unsigned char *)data + off,
				    (unsigned)len);
		ok(bad == 0, "the records' CRC is zlib's CRC-32 at every length "
		    "0-3000 and offset 0-7 (%zu differ)", bad);
	}
	return tap_done();
}
