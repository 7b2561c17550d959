/*
 * test_check.c -- herdd's checks: the /proc parsers of the ephemeral port
 * range and the reserved ports, and the data set check's messages.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "conf.h"
#include "tap.h"

int
main(void)
{
	struct herd_conf	 cf;
	unsigned		 lo = 0, hi = 0;
	char			 err[2048];

	ok(check_parse_range("32768\t60999\n", &lo, &hi) == 0 && lo == 32768 &&
	    hi == 60999, "range: the kernel's format");
	ok(check_parse_range("1024 1024", &lo, &hi) == 0 && lo == 1024 &&
	    hi == 1024, "range: one port, spaces, no newline");
	ok(check_parse_range("", &lo, &hi) == -1, "range: empty");
	ok(check_parse_range("32768", &lo, &hi) == -1, "range: one number");
	ok(check_parse_range("60999 32768\n", &lo, &hi) == -1,
	    "range: reversed");
	ok(check_parse_range("1 70000\n", &lo, &hi) == -1, "range: past 65535");
	ok(check_parse_range("1 2 3\n", &lo, &hi) == -1, "range: three");

	ok(!check_reserved("\n", 40000), "reserved: none");
	ok(check_reserved("40000\n", 40000), "reserved: one port");
	ok(check_reserved("8080,39000-41000\n", 40000), "reserved: a range");
	ok(!check_reserved("8080,39000-39999\n", 40000),
	    "reserved: outside every range");
	ok(!check_reserved("x,40000\n", 40000), "reserved: malformed: none");

	conf_defaults(&cf);
	snprintf(cf.path, sizeof(cf.path), "h.ini");
	snprintf(cf.places.dataset, sizeof(cf.places.dataset),
	    "/nonexistent/cities.dat");
	ok(check_dataset(&cf, err, sizeof(err)) == -1 && strcmp(err,
	    "h.ini: dataset /nonexistent/cities.dat (the default): No such "
	    "file or directory\n") == 0, "dataset: the default, missing: %s",
	    err);
	cf.places.dataset_line = 7;
	ok(check_dataset(&cf, err, sizeof(err)) == -1 && strcmp(err,
	    "h.ini:7: dataset /nonexistent/cities.dat: No such file or "
	    "directory\n") == 0, "dataset: given at a line, missing: %s", err);
	cf.places.backend = HERD_BACKEND_GOOGLE;
	ok(check_dataset(&cf, err, sizeof(err)) == 0,
	    "dataset: not needed by the google backend");
	return tap_done();
}
