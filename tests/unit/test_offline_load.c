/*
 * test_offline_load.c -- unit tests of loading the offline Places data
 * set (TAP).
 *
 * usage: test_offline_load DATA-FILE
 *
 * Feeds the loader and the parser truncated and corrupt copies of the real
 * file, and makes herdd's shared image of it (offline_share.c), maps it
 * back and has damaged ones refused.  The answers: test_offline.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "offline.h"
#include "offline_image.h"
#include "tap.h"

static unsigned char	*image;		/* the real file */
static size_t		 imagelen;
static char		 tmpdir[64];

/* Write len bytes to a file in tmpdir and try to load it. */
static int
load_rejects(const char *what, const unsigned char *buf, size_t len)
{
	struct offline_db	*db;
	char			 path[128], err[256] = "";
	int			 fd, rejected;

	snprintf(path, sizeof(path), "%s/corrupt.dat", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	db = offline_load(path, err, sizeof(err));
	rejected = db == NULL && err[0] != '\0';
	ok(rejected, "rejects %s: %s", what, err);
	offline_free(db);
	unlink(path);
	return rejected;
}


static void
test_corrupt(void)
{
	struct offline_db	*db;
	unsigned char		*b;
	size_t			 cuts[] = { 0, 1, 8, 31, 32, 33, 48, 1000 };
	size_t			 i, off, nplaces, strsize, nok = 0;
	char			 err[256], what[128];

	if ((b = malloc(imagelen + 1)) == NULL)
		exit(1);
	nplaces = le32(image + 16);
	strsize = le32(image + 20);

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(what, sizeof(what), "a file cut at %zu bytes",
		    cuts[i]);
		load_rejects(what, image, cuts[i]);
	}
	load_rejects("a file missing its last byte", image, imagelen - 1);
	memcpy(b, image, imagelen);
	b[imagelen] = 0;
	load_rejects("a byte too many", b, imagelen + 1);

#define CORRUPT(what, stmt) do {					\
	memcpy(b, image, imagelen);					\
	stmt;								\
	load_rejects(what, b, imagelen);				\
} while (0)
	CORRUPT("a bad magic", b[0] = 'X');
	CORRUPT("version 2", put32(b + 8, 2));
	CORRUPT("decimals 8", put32(b + 12, 8));
	CORRUPT("reserved bits", put32(b + 28, 1));
	CORRUPT("0 places", put32(b + 16, 0));
	CORRUPT("one place too many", put32(b + 16, nplaces + 1));
	CORRUPT("0xffffffff places", put32(b + 16, 0xffffffff));
	CORRUPT("a string pool too large", put32(b + 20, strsize + 16));
	CORRUPT("a string pool of 0xffffffff", put32(b + 20, 0xffffffff));
	CORRUPT("an attribution past the pool", put32(b + 24, strsize));
	CORRUPT("a name past the pool", put32(b + HDRSZ + 8, strsize));
	CORRUPT("a vicinity past the pool",
	    put32(b + HDRSZ + 100 * RECSZ + 12, 0xfffffff0));
	CORRUPT("lat 90.00001", put32(b + HDRSZ + 5 * RECSZ, 9000001));
	CORRUPT("lat -2^31", put32(b + HDRSZ + 5 * RECSZ, 0x80000000));
	CORRUPT("lng 180.00001", put32(b + HDRSZ + 7 * RECSZ + 4, 18000001));
	CORRUPT("an unterminated pool", b[imagelen - 1] = 'x');
	CORRUPT("bad UTF-8", b[imagelen - 2] = 0xc3);
	CORRUPT("an overlong NUL", (b[imagelen - 3] = 0xc0,
	    b[imagelen - 2] = 0x80));
	CORRUPT("a surrogate", (b[imagelen - 4] = 0xed,
	    b[imagelen - 3] = 0xa0, b[imagelen - 2] = 0x80));
#undef CORRUPT

	/* A name offset inside a two-byte character (the pool stays UTF-8):
	 * the answer would carry a stray continuation byte. */
	{
		static const double	 pt[1][2] = { { 10, 20 } };
		unsigned char		*m;
		size_t			 mlen;

		m = mkimage(pt, 1, &mlen);
		memcpy(m + HDRSZ + RECSZ + 7, "pl\xc3\xa9" "e", 5);
		db = offline_parse(m, mlen, err, sizeof(err));
		ok(db != NULL, "a place named with an e-acute loads: %s",
		    db != NULL ? "ok" : err);
		offline_free(db);
		put32(m + HDRSZ + 8, 7 + 3);
		load_rejects("a name offset inside a character", m, mlen);
		put32(m + HDRSZ + 8, 7);
		put32(m + HDRSZ + 12, 7 + 3);
		db = offline_parse(m, mlen, err, sizeof(err));
		ok(db == NULL, "parse rejects a vicinity offset inside a "
		    "character: %s", err);
		offline_free(db);
		put32(m + HDRSZ + 12, 13);
		put32(m + 24, 7 + 3);
		load_rejects("an attribution offset inside a character", m,
		    mlen);
		free(m);
	}

	snprintf(what, sizeof(what), "%s/none.dat", tmpdir);
	db = offline_load(what, err, sizeof(err));
	ok(db == NULL && strstr(err, "No such file") != NULL,
	    "rejects a missing file: %s", err);
	db = offline_load(tmpdir, err, sizeof(err));
	ok(db == NULL, "rejects a directory: %s", err);

	/* Random damage: parse must reject it or give a usable data set. */
	srandom(7);
	for (i = 0; i < 40; i++) {
		memcpy(b, image, imagelen);
		off = i < 20 ? (size_t)random() % (HDRSZ + 64 * RECSZ) :
		    (size_t)random() % imagelen;
		b[off] ^= 1 + random() % 255;
		db = offline_parse(b, imagelen, err, sizeof(err));
		if (db != NULL) {
			json_object_put(offline_query(db, 34, -118, 50000,
			    20));
			offline_free(db);
			nok++;
		}
	}
	ok(1, "40 randomly damaged images: no crash (%zu of them still "
	    "load)", nok);
	free(b);
}

/* The same answer from two data sets, at a few places and radii. */
static int
same_answers(const struct offline_db *a, const struct offline_db *b)
{
	static const double q[][3] = { { 34.068930, -118.445127, 10000 },
	    { 48.8566, 2.3522, 50000 }, { -33.87, 151.21, 20000 },
	    { 89.9, 0, 500000 }, { 0, 179.99, 300000 } };
	struct json_object	*ja, *jb;
	size_t			 i;
	int			 same = 1;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		ja = offline_query(a, q[i][0], q[i][1], q[i][2], 20);
		jb = offline_query(b, q[i][0], q[i][1], q[i][2], 20);
		if (ja == NULL || jb == NULL ||
		    strcmp(json_object_to_json_string(ja),
		    json_object_to_json_string(jb)) != 0)
			same = 0;
		json_object_put(ja);
		json_object_put(jb);
	}
	return same;
}

/* A copy of the image on fd in a new memfd, sealable or not; -1. */
static int
copy_image(int fd, unsigned int flags)
{
	char	 buf[65536];
	ssize_t	 n;
	off_t	 off = 0;
	int	 copy;

	if ((copy = memfd_create("test", MFD_CLOEXEC | flags)) == -1)
		return -1;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(copy, buf, (size_t)n) != n) {
			close(copy);
			return -1;
		}
		off += n;
	}
	return copy;
}

/* herdd's shared image (offline_share.c): made, mapped, and refused. */
static void
test_share(const struct offline_db *db, const char *path)
{
	struct offline_db	*m;
	char			 err[256];
	uint64_t		 cells;
	uint32_t		 bad = 0xffffffff;
	int			 fd, copy, seals;

	fd = offline_share(db, path, err, sizeof(err));
	ok(fd >= 0, "share: an image made%s%s", fd < 0 ? ": " : "",
	    fd < 0 ? err : "");
	if (fd < 0)
		return;
	seals = fcntl(fd, F_GET_SEALS);
	ok(seals != -1 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_GROW),
	    "share: sealed against writes and growth");
	m = offline_map(fd, path, err, sizeof(err));
	ok(m != NULL && offline_count(m) == offline_count(db),
	    "share: mapped back, %zu places", m ? offline_count(m) : 0);
	ok(m != NULL && same_answers(db, m),
	    "share: the mapping answers as the loaded data set does");
	offline_free(m);
	m = offline_map(fd, "/elsewhere/cities.dat", err, sizeof(err));
	ok(m == NULL && strstr(err, "not /elsewhere/cities.dat") != NULL,
	    "share: an image of another file is refused: %s", err);

	copy = copy_image(fd, 0);
	m = copy == -1 ? NULL : offline_map(copy, path, err, sizeof(err));
	ok(copy != -1 && m == NULL && strstr(err, "not a sealed") != NULL,
	    "share: an unsealed copy is refused: %s", err);
	if (copy != -1)
		close(copy);

	/* sealed, but a cell points past the places */
	copy = copy_image(fd, MFD_ALLOW_SEALING);
	m = NULL;
	err[0] = '\0';
	/* the header's cells_off: magic, 2 x u32, 3 x u64, places_off */
	if (copy != -1 && pread(copy, &cells, sizeof(cells), 48) ==
	    sizeof(cells) && pwrite(copy, &bad, sizeof(bad),
	    (off_t)cells + 4) == sizeof(bad) && fcntl(copy, F_ADD_SEALS,
	    F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == 0)
		m = offline_map(copy, path, err, sizeof(err));
	ok(copy != -1 && m == NULL && strstr(err, "damaged") != NULL,
	    "share: a damaged image is refused: %s", err);
	if (copy != -1)
		close(copy);
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct offline_db	*db;
	char			 err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: test_offline_load DATA-FILE\n");
		return 64;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_offline.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	image = readfile(argv[1], &imagelen);

	test_corrupt();
	db = offline_load(argv[1], err, sizeof(err));
	ok(db != NULL, "load %s: %s", argv[1], db != NULL ? "ok" : err);
	if (db != NULL)
		test_share(db, argv[1]);
	offline_free(db);
	rmdir(tmpdir);
	free(image);
	return tap_done();
}
