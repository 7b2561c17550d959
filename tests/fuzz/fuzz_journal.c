/* fuzz_journal.c -- libFuzzer target: journal records (jrec.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jrec.h"

static void
inside(const struct proto_field *f, const uint8_t *data, size_t size)
{
	if (f->len > 0 && ((const uint8_t *)f->p < data ||
	    (const uint8_t *)f->p + f->len > data + size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 buf[1 << 18], src[80];
	struct jrec	 rec, again;
	size_t		 n;

	switch (jrec_parse((const char *)data, size, &rec)) {
	case JREC_UPDATE:
		inside(&rec.src, data, size);
		inside(&rec.line, data, size);
		/* formatted again, it parses to the same record */
		if (rec.src.len >= sizeof(src))
			abort();
		memcpy(src, rec.src.p, rec.src.len);
		src[rec.src.len] = '\0';
		n = jrec_format_update(buf, sizeof(buf), rec.lseq,
		    strcmp(src, "-") == 0 ? NULL : src, rec.line.p,
		    rec.line.len);
		if (n == 0 || buf[n - 1] != '\n' ||
		    jrec_parse(buf, n - 1, &again) != JREC_UPDATE ||
		    again.lseq != rec.lseq || again.line.len != rec.line.len ||
		    memcmp(again.line.p, rec.line.p, rec.line.len) != 0)
			abort();
		break;
	case JREC_MARK:
		inside(&rec.src, data, size);
		if (rec.src.len == 0 || rec.src.len >= sizeof(src))
			abort();
		memcpy(src, rec.src.p, rec.src.len);
		src[rec.src.len] = '\0';
		n = jrec_format_mark(buf, sizeof(buf), src, rec.epoch,
		    rec.lseq);
		if (n == 0 || jrec_parse(buf, n - 1, &again) != JREC_MARK ||
		    again.epoch != rec.epoch || again.lseq != rec.lseq)
			abort();
		break;
	default:
		break;
	}
	return 0;
}
