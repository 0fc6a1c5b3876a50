/*
 * Unit tests for src/core/tz (LOG-4): offsets of real zones from the
 * system's TZif files (including instants after the last transition of a
 * "fat" file, which follow the POSIX footer), POSIX rules on their own,
 * and strict refusal of malformed images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/tz.h"

/* Seconds since the epoch of a UTC civil time (timegm is fine in tests:
 * it does not read TZ). */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm);
}

static int32_t
off_of(const char *zone, int64_t t)
{
	int32_t off = 12345;

	assert_int_equal(tz_offset(zone, t, &off), KURA_OK);
	return off;
}

static void
tokyo_is_always_plus_nine(void **state)
{
	(void)state;
	assert_int_equal(off_of("Asia/Tokyo", utc(2026, 1, 15, 0, 0)), 9 * 3600);
	assert_int_equal(off_of("Asia/Tokyo", utc(2026, 7, 15, 0, 0)), 9 * 3600);
	assert_int_equal(off_of("Asia/Tokyo", utc(2040, 7, 15, 0, 0)), 9 * 3600);
	assert_int_equal(off_of("Asia/Tokyo", utc(2100, 12, 31, 23, 59)), 9 * 3600);
}

static void
new_york_follows_dst_and_the_footer(void **state)
{
	(void)state;
	assert_int_equal(off_of("America/New_York", utc(2026, 1, 15, 12, 0)), -5 * 3600);
	assert_int_equal(off_of("America/New_York", utc(2026, 7, 15, 12, 0)), -4 * 3600);
	/* past the last transition of a fat file (2037): the footer rule */
	assert_int_equal(off_of("America/New_York", utc(2040, 7, 15, 12, 0)), -4 * 3600);
	assert_int_equal(off_of("America/New_York", utc(2040, 1, 15, 12, 0)), -5 * 3600);
	/* the 2026 change: second Sunday of March (8th), 02:00 EST = 07:00Z */
	assert_int_equal(off_of("America/New_York", utc(2026, 3, 8, 6, 59)), -5 * 3600);
	assert_int_equal(off_of("America/New_York", utc(2026, 3, 8, 7, 0)), -4 * 3600);
	/* first Sunday of November (1st), 02:00 EDT = 06:00Z */
	assert_int_equal(off_of("America/New_York", utc(2026, 11, 1, 5, 59)), -4 * 3600);
	assert_int_equal(off_of("America/New_York", utc(2026, 11, 1, 6, 0)), -5 * 3600);
	/* 2045: second Sunday of March is the 12th */
	assert_int_equal(off_of("America/New_York", utc(2045, 3, 12, 6, 59)), -5 * 3600);
	assert_int_equal(off_of("America/New_York", utc(2045, 3, 12, 7, 0)), -4 * 3600);
}

static void
berlin_and_sydney(void **state)
{
	(void)state;
	assert_int_equal(off_of("Europe/Berlin", utc(2026, 1, 15, 12, 0)), 3600);
	assert_int_equal(off_of("Europe/Berlin", utc(2026, 7, 15, 12, 0)), 7200);
	/* last Sunday of March 2026 (29th) at 01:00Z */
	assert_int_equal(off_of("Europe/Berlin", utc(2026, 3, 29, 0, 59)), 3600);
	assert_int_equal(off_of("Europe/Berlin", utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(off_of("Europe/Berlin", utc(2050, 7, 1, 0, 0)), 7200);
	assert_int_equal(off_of("Europe/Berlin", utc(2050, 12, 1, 0, 0)), 3600);
	/* southern hemisphere: summer time across the new year */
	assert_int_equal(off_of("Australia/Sydney", utc(2045, 1, 1, 0, 0)), 11 * 3600);
	assert_int_equal(off_of("Australia/Sydney", utc(2045, 7, 1, 0, 0)), 10 * 3600);
	assert_int_equal(off_of("Australia/Sydney", utc(2045, 12, 31, 0, 0)), 11 * 3600);
}

static void
utc_needs_no_file_and_names_are_checked(void **state)
{
	int32_t off = 7;

	(void)state;
	assert_int_equal(off_of("UTC", utc(2026, 7, 1, 0, 0)), 0);
	assert_int_equal(off_of("Etc/UTC", utc(2026, 7, 1, 0, 0)), 0);
	assert_int_equal(tz_offset("Mars/Olympus_Mons", 0, &off), KURA_ENOENT);
	assert_int_equal(tz_offset("Asia", 0, &off), KURA_ENOENT);
	assert_int_equal(tz_offset("../../etc/passwd", 0, &off), KURA_EINVAL);
	assert_int_equal(tz_offset("/etc/passwd", 0, &off), KURA_EINVAL);
	assert_int_equal(tz_offset("Asia/To kyo", 0, &off), KURA_EINVAL);
	assert_int_equal(tz_offset("", 0, &off), KURA_EINVAL);
	assert_int_equal(tz_offset(NULL, 0, &off), KURA_EINVAL);
	assert_int_equal(off, 7);
	assert_false(tz_name_ok("-x"));
	assert_true(tz_name_ok("America/Argentina/Buenos_Aires"));
	assert_true(tz_name_ok("Etc/GMT+9"));
	/* Etc/GMT+9 is nine hours west */
	assert_int_equal(off_of("Etc/GMT+9", 0), -9 * 3600);
}

static void
posix_rules(void **state)
{
	int32_t off = 0;

	(void)state;
	assert_int_equal(tz_posix_offset("JST-9", 0, &off), KURA_OK);
	assert_int_equal(off, 9 * 3600);
	assert_int_equal(tz_posix_offset("<+0530>-5:30", 0, &off), KURA_OK);
	assert_int_equal(off, 5 * 3600 + 1800);
	assert_int_equal(tz_posix_offset("EST5EDT,M3.2.0,M11.1.0",
	    utc(2030, 7, 1, 0, 0), &off), KURA_OK);
	assert_int_equal(off, -4 * 3600);
	assert_int_equal(tz_posix_offset("EST5EDT,M3.2.0,M11.1.0",
	    utc(2030, 12, 1, 0, 0), &off), KURA_OK);
	assert_int_equal(off, -5 * 3600);
	/* Julian days and explicit times */
	assert_int_equal(tz_posix_offset("AAA3BBB,J60/2,J300/2",
	    utc(2030, 6, 1, 0, 0), &off), KURA_OK);
	assert_int_equal(off, -2 * 3600);
	assert_int_equal(tz_posix_offset("AAA3BBB,59,299",
	    utc(2030, 1, 1, 0, 0), &off), KURA_OK);
	assert_int_equal(off, -3 * 3600);
	/* all year daylight time (v3 extension) */
	assert_int_equal(tz_posix_offset("EST5EDT,0/0,J365/25",
	    utc(2030, 1, 10, 0, 0), &off), KURA_OK);
	assert_int_equal(off, -4 * 3600);
	/* far instants do not overflow */
	assert_int_equal(tz_posix_offset("EST5EDT,M3.2.0,M11.1.0", INT64_MAX, &off),
	    KURA_OK);
	assert_int_equal(tz_posix_offset("EST5EDT,M3.2.0,M11.1.0", INT64_MIN, &off),
	    KURA_OK);
	/* malformed */
	const char *bad[] = { "", "J", "JS-9", "JST", "JST-9x", "JST-25",
	    "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
	    "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,M3.2.0", "EST5EDT,J0,J100",
	    "EST5EDT,M3.2.0/168,M11.1.0", "<AB>5", "<ABC5", "EST5:60", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		int32_t o = 42;
		assert_int_equal(tz_posix_offset(bad[i], 0, &o), KURA_EINVAL);
		assert_int_equal(o, 42);
	}
}

/* ---- images ---- */

static uint8_t *
read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(TZ_FILE_MAX + 1);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, TZ_FILE_MAX + 1, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static kura_err
parse(const uint8_t *data, size_t len)
{
	struct tz_zone *z = NULL;
	kura_err err = tz_parse_image(data, len, &z);

	assert_true((err == KURA_OK) == (z != NULL));
	tz_zone_free(z);
	return err;
}

/* A minimal valid v2 image: no transitions, one type (+09:00), "JST-9". */
static size_t
minimal(uint8_t *b, size_t cap, const char *footer)
{
	size_t n = 0, fl = strlen(footer);

	assert_true(cap >= 44 * 2 + 6 + 4 + fl + 2 + 6 + 4);
	/* v1 header + block: 1 type, 4 chars */
	memset(b, 0, 44);
	memcpy(b, "TZif2", 5);
	put32(b + 36, 1);
	put32(b + 40, 4);
	n = 44;
	put32(b + n, 32400);
	b[n + 4] = 0;
	b[n + 5] = 0;
	memcpy(b + n + 6, "JST", 4);
	n += 10;
	memcpy(b + n, b, 44);
	n += 44;
	put32(b + n, 32400);
	b[n + 4] = 0;
	b[n + 5] = 0;
	memcpy(b + n + 6, "JST", 4);
	n += 10;
	b[n++] = '\n';
	memcpy(b + n, footer, fl);
	n += fl;
	b[n++] = '\n';
	return n;
}

static void
real_files_parse_and_malformed_images_are_refused(void **state)
{
	uint8_t img[512], *buf;
	struct tz_zone *z = NULL;
	int32_t off = 0;
	size_t n, len;

	(void)state;
	n = minimal(img, sizeof(img), "JST-9");
	assert_int_equal(tz_parse_image(img, n, &z), KURA_OK);
	assert_int_equal(tz_zone_offset(z, 0, &off), KURA_OK);
	assert_int_equal(off, 32400);
	tz_zone_free(z);
	assert_int_equal(parse(img, minimal(img, sizeof(img), "")), KURA_OK);

	/* every truncation of a valid image is refused */
	n = minimal(img, sizeof(img), "JST-9");
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(parse(img, cut), KURA_EINVAL);
	/* trailing garbage after the footer */
	img[n] = 'x';
	assert_int_equal(parse(img, n + 1), KURA_EINVAL);
	/* bad magic, version 1, version mismatch */
	n = minimal(img, sizeof(img), "JST-9");
	img[0] = 'X';
	assert_int_equal(parse(img, n), KURA_EINVAL);
	n = minimal(img, sizeof(img), "JST-9");
	img[4] = 0;
	img[54 + 4] = 0;
	assert_int_equal(parse(img, n), KURA_EINVAL);
	n = minimal(img, sizeof(img), "JST-9");
	img[54 + 4] = '3';
	assert_int_equal(parse(img, n), KURA_EINVAL);
	/* zero types, huge counts (no allocation from them) */
	n = minimal(img, sizeof(img), "JST-9");
	put32(img + 54 + 36, 0);
	assert_int_equal(parse(img, n), KURA_EINVAL);
	n = minimal(img, sizeof(img), "JST-9");
	put32(img + 54 + 32, 0xffffffffu);
	assert_int_equal(parse(img, n), KURA_EINVAL);
	n = minimal(img, sizeof(img), "JST-9");
	put32(img + 32, 0xffffffffu);
	assert_int_equal(parse(img, n), KURA_EINVAL);
	/* designation index past the characters; offset out of range */
	n = minimal(img, sizeof(img), "JST-9");
	img[98 + 5] = 4;
	assert_int_equal(parse(img, n), KURA_EINVAL);
	n = minimal(img, sizeof(img), "JST-9");
	put32(img + 98, 0x80000000u);
	assert_int_equal(parse(img, n), KURA_EINVAL);
	/* a malformed footer */
	assert_int_equal(parse(img, minimal(img, sizeof(img), "JST")), KURA_EINVAL);
	/* oversized */
	buf = calloc(1, TZ_FILE_MAX + 1);
	assert_non_null(buf);
	assert_int_equal(tz_parse_image(buf, TZ_FILE_MAX + 1, &z), KURA_ETOOBIG);
	free(buf);

	/* a real fat file, and every truncation of it, and bit flips */
	buf = read_file(TZ_DIR "/America/New_York", &len);
	assert_true(len > 1000);
	assert_int_equal(tz_parse_image(buf, len, &z), KURA_OK);
	assert_int_equal(tz_zone_offset(z, utc(2040, 7, 15, 12, 0), &off), KURA_OK);
	assert_int_equal(off, -4 * 3600);
	tz_zone_free(z);
	for (size_t cut = 0; cut < len; cut += 7)
		assert_int_equal(parse(buf, cut), KURA_EINVAL);
	for (size_t i = 0; i < len; i += 3) {
		buf[i] ^= 0x80;
		(void)parse(buf, len);      /* must not crash; result may vary */
		buf[i] ^= 0x80;
	}
	free(buf);
}

/* Cross-check against glibc over many zones and instants (the test is
 * single-threaded, so setting TZ here is safe; kura never does). */
static void
agrees_with_glibc(void **state)
{
	static const char *const zones[] = { "Asia/Tokyo", "America/New_York",
	    "Europe/Berlin", "Europe/London", "Australia/Sydney",
	    "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Auckland",
	    "America/Santiago", "Africa/Casablanca", "Europe/Dublin",
	    "Asia/Tehran", "America/St_Johns", "Pacific/Chatham", NULL };
	char env[96];

	(void)state;
	for (size_t i = 0; zones[i] != NULL; i++) {
		snprintf(env, sizeof(env), ":%s", zones[i]);
		setenv("TZ", env, 1);
		tzset();
		for (int64_t t = utc(1975, 1, 1, 0, 0); t < utc(2060, 1, 1, 0, 0);
		    t += 86400 * 3 + 3607) {
			time_t tt = (time_t)t;
			struct tm tm;
			int32_t off = 0;

			assert_non_null(localtime_r(&tt, &tm));
			assert_int_equal(tz_offset(zones[i], t, &off), KURA_OK);
			if (off != (int32_t)tm.tm_gmtoff)
				fail_msg("%s at %lld: kura %d, glibc %ld", zones[i],
				    (long long)t, off, tm.tm_gmtoff);
		}
	}
	unsetenv("TZ");
	tzset();
}

/* RFC 3339 date-times for query filters and due dates. */
static void
rfc3339_parses_strictly(void **state)
{
	static const char *const bad[] = { "", "2026-11-21", "2026-11-21T09:00:00",
	    "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z",
	    "2026-11-21T09:00:00+9:00", "2026-11-21T09:00:00.Z",
	    "2026-11-21T09:00:00.1234567890Z", "1969-12-31T23:59:59Z",
	    "2026-11-21T09:00:00Zjunk", "2026-11-21 09:00:00Z" };
	int64_t us = 0;

	(void)state;
	assert_true(tz_parse_rfc3339("1970-01-01T00:00:00Z", &us));
	assert_int_equal(us, 0);
	assert_true(tz_parse_rfc3339("2026-11-21T09:00:00.123456+09:00", &us));
	assert_int_equal(us, 1795219200123456LL);   /* checked with python datetime */
	assert_true(tz_parse_rfc3339("2026-11-21T00:00:00.5z", &us));
	assert_int_equal(us % 1000000, 500000);
	/* an unencoded '+' in a query string arrives as ' ' */
	assert_true(tz_parse_rfc3339("2026-11-21T09:00:00 09:00", &us));
	assert_true(tz_parse_rfc3339("2024-02-29T12:00:00-05:30", &us));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tz_parse_rfc3339(bad[i], &us))
			fail_msg("accepted '%s'", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokyo_is_always_plus_nine),
		cmocka_unit_test(new_york_follows_dst_and_the_footer),
		cmocka_unit_test(berlin_and_sydney),
		cmocka_unit_test(utc_needs_no_file_and_names_are_checked),
		cmocka_unit_test(posix_rules),
		cmocka_unit_test(real_files_parse_and_malformed_images_are_refused),
		cmocka_unit_test(agrees_with_glibc),
		cmocka_unit_test(rfc3339_parses_strictly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
