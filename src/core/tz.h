/*
 * Time zones (LOG-4): UTC offsets of IANA zones, read from the system's
 * TZif files (RFC 8536) under /usr/share/zoneinfo, without touching the
 * process-wide TZ environment (kura is multi-threaded, and setenv/tzset
 * race with every localtime call).
 *
 * Only the version 2+ (64-bit) data block is used; instants after the
 * last transition follow the POSIX TZ footer rule (e.g.
 * "EST5EDT,M3.2.0,M11.1.0"), so both "fat" files (transitions to 2037)
 * and "slim" ones give right answers for any year.  Leap-second records
 * ("right/" zones) are checked and ignored: offsets are civil offsets.
 *
 * Loaded zones are kept in a small bounded cache shared by all threads;
 * a zone once cached is never freed before exit, so lookups need the
 * lock only to find it.
 */
#ifndef KURA_CORE_TZ_H
#define KURA_CORE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 64              /* bytes, without the NUL */
#define TZ_FILE_MAX (256 * 1024)    /* larger TZif images are refused */
#define TZ_CACHE_MAX 64             /* zones kept loaded */

struct tz_zone;

/* True if name is "UTC" or looks like an IANA zone name: 1..64 bytes of
 * [A-Za-z0-9/_+-], no "..", not starting with '/' or '-' (the same rule
 * as api/validate.c val_timezone; the file need not exist). */
bool tz_name_ok(const char *name);

/*
 * The offset from UTC (seconds east, e.g. 32400 for Asia/Tokyo) in force
 * at utc_s (seconds since the epoch) in zone.  "UTC" needs no file.
 * KURA_EINVAL for a malformed name or a malformed zone file, KURA_ENOENT
 * for an unknown zone, KURA_ETOOBIG for a file over TZ_FILE_MAX,
 * KURA_EIO for read errors, KURA_ENOMEM.  Thread-safe.
 */
kura_err tz_offset(const char *zone, int64_t utc_s, int32_t *ret_offset_s);

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12,
 * d 1..31; not range-checked: callers validate). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
/* Days in month m (1..12) of year y. */
int tz_month_len(int64_t y, int m);
/* Strict RFC 3339 date-time ("2026-11-21T09:00:00.123456+09:00", "...Z")
 * into UTC microseconds since the epoch (fractions beyond microseconds
 * are cut; a ' ' stands for '+' in the offset, as an unencoded query
 * string delivers it).  False for anything else or before 1970. */
bool tz_parse_rfc3339(const char *s, int64_t *ret_us);

/* ---- exposed for unit tests and the fuzzer ---- */

/* Parse a TZif image (version 2 or later) of len bytes, strictly: every
 * count and index is checked and every read is bounds-checked.  *ret_zone
 * is freed with tz_zone_free.  KURA_EINVAL when malformed, KURA_ETOOBIG
 * over TZ_FILE_MAX, KURA_ENOMEM. */
kura_err tz_parse_image(const uint8_t *data, size_t len,
    struct tz_zone **ret_zone);
/* Offset of a parsed zone at utc_s (never fails for a parsed zone, but
 * returns KURA_EINVAL for a NULL zone). */
kura_err tz_zone_offset(const struct tz_zone *z, int64_t utc_s,
    int32_t *ret_offset_s);
/* Parse a POSIX TZ rule string ("JST-9", "EST5EDT,M3.2.0,M11.1.0") and
 * give its offset at utc_s.  KURA_EINVAL when malformed. */
kura_err tz_posix_offset(const char *rule, int64_t utc_s, int32_t *ret_offset_s);
void tz_zone_free(struct tz_zone *z);

#endif
