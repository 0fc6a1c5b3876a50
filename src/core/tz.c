/*
 * TZif (RFC 8536) reader and POSIX TZ rule evaluation; see tz.h.
 *
 * The parser trusts nothing: the image size is bounded, every count is
 * checked against the bytes that remain before anything is allocated,
 * every read goes through a cursor that refuses to run past the end, and
 * indexes, offsets and orders are validated so lookups never need to.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/parse.h"
#include "core/tz.h"

#define TZ_HEADER_LEN 44
#define TZ_FOOTER_MAX 256
#define TZ_ABBR_MAX 16
#define UTOFF_MIN (-89999)          /* RFC 8536 3.2: -24:59:59 */
#define UTOFF_MAX 93599             /* 25:59:59 */
#define RULE_HOURS_MAX 167          /* RFC 8536 3.3.1 extension */
#define CLAMP_S ((int64_t)1 << 40)  /* ~35000 years: keeps year arithmetic small */

/* One date of a POSIX rule: Jn (1..365, Feb 29 never counted), n
 * (0..365, counted) or Mm.w.d; time is seconds after local midnight. */
struct tz_rule_date {
	char kind;                  /* 'J', 'D' or 'M' */
	int n, m, w, d;
	int32_t time;
};

struct tz_posix {
	int32_t std_off;            /* seconds east of UTC */
	int32_t dst_off;
	bool has_dst;
	struct tz_rule_date start, end;
};

struct tz_zone {
	size_t timecnt;
	int64_t *times;             /* strictly ascending */
	uint8_t *types;             /* index into utoff, < typecnt */
	size_t typecnt;
	int32_t *utoff;
	bool has_footer;
	struct tz_posix footer;
};

/* ---- bounded reads ---- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool
take(struct cursor *c, size_t n, const uint8_t **ret)
{
	if (n > c->left)
		return false;
	*ret = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3];
}

static int64_t
be64s(const uint8_t *p)
{
	uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);

	return (int64_t)v;
}

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* H. Hinnant's days_from_civil. */
int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
year_of_days(int64_t z)
{
	int64_t era, doe, yoe, y, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return mp >= 10 ? y + 1 : y;
}

int
tz_month_len(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Day (since the epoch) a rule date falls on in year y. */
static int64_t
rule_day(const struct tz_rule_date *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);

	if (r->kind == 'J')
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
	if (r->kind == 'D')
		return jan1 + r->n;
	{
		int64_t first = tz_days_from_civil(y, r->m, 1);
		int wday = (int)(((first % 7) + 11) % 7);       /* 0 = Sunday */
		int off = (r->d - wday + 7) % 7 + (r->w - 1) * 7;
		int len = tz_month_len(y, r->m);

		while (off >= len)
			off -= 7;
		return first + off;
	}
}

/* ---- POSIX TZ strings ---- */

static bool
parse_num(const char **s, int min, int max, int *ret)
{
	const char *p = *s;
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || (*p >= '0' && *p <= '9') || v < min || v > max)
		return false;
	*s = p;
	*ret = v;
	return true;
}

/* [+-]hh[:mm[:ss]] into seconds; hours at most max_h. */
static bool
parse_hms(const char **s, int max_h, int32_t *ret)
{
	const char *p = *s;
	int sign = 1, h = 0, m = 0, sec = 0;

	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (!parse_num(&p, 0, max_h, &h))
		return false;
	if (*p == ':') {
		p++;
		if (!parse_num(&p, 0, 59, &m))
			return false;
		if (*p == ':') {
			p++;
			if (!parse_num(&p, 0, 59, &sec))
				return false;
		}
	}
	*s = p;
	*ret = (int32_t)(sign * (h * 3600 + m * 60 + sec));
	return true;
}

/* A zone abbreviation: 3+ letters, or <...> of [A-Za-z0-9+-]. */
static bool
parse_abbr(const char **s)
{
	const char *p = *s;
	size_t n = 0;

	if (*p == '<') {
		p++;
		while (n <= TZ_ABBR_MAX && ((*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '+' || *p == '-')) {
			p++;
			n++;
		}
		if (*p != '>' || n < 3 || n > TZ_ABBR_MAX)
			return false;
		*s = p + 1;
		return true;
	}
	while (n <= TZ_ABBR_MAX && ((*p >= 'A' && *p <= 'Z') ||
	    (*p >= 'a' && *p <= 'z'))) {
		p++;
		n++;
	}
	if (n < 3 || n > TZ_ABBR_MAX)
		return false;
	*s = p;
	return true;
}

static bool
parse_rule_date(const char **s, struct tz_rule_date *r)
{
	const char *p = *s;

	memset(r, 0, sizeof(*r));
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (!parse_num(&p, 1, 365, &r->n))
			return false;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (!parse_num(&p, 1, 12, &r->m) || *p++ != '.' ||
		    !parse_num(&p, 1, 5, &r->w) || *p++ != '.' ||
		    !parse_num(&p, 0, 6, &r->d))
			return false;
	} else {
		r->kind = 'D';
		if (!parse_num(&p, 0, 365, &r->n))
			return false;
	}
	r->time = 2 * 3600;
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, RULE_HOURS_MAX, &r->time))
			return false;
	}
	*s = p;
	return true;
}

/* Parse a whole POSIX TZ string (no trailing bytes allowed). */
static kura_err
posix_parse(const char *s, struct tz_posix *ret)
{
	struct tz_posix p;
	int32_t off;

	memset(&p, 0, sizeof(p));
	if (s == NULL || strlen(s) >= TZ_FOOTER_MAX || !parse_abbr(&s) ||
	    !parse_hms(&s, 24, &off))
		return KURA_EINVAL;
	p.std_off = -off;              /* POSIX counts west as positive */
	if (*s != '\0') {
		p.has_dst = true;
		if (!parse_abbr(&s))
			return KURA_EINVAL;
		p.dst_off = p.std_off + 3600;
		if (*s != '\0' && *s != ',') {
			if (!parse_hms(&s, 24, &off))
				return KURA_EINVAL;
			p.dst_off = -off;
		}
		if (*s == ',') {
			s++;
			if (!parse_rule_date(&s, &p.start) || *s++ != ',' ||
			    !parse_rule_date(&s, &p.end))
				return KURA_EINVAL;
		} else {
			/* no rule: the common default (US rules, as glibc) */
			p.start = (struct tz_rule_date){ 'M', 0, 3, 2, 0, 7200 };
			p.end = (struct tz_rule_date){ 'M', 0, 11, 1, 0, 7200 };
		}
	}
	if (*s != '\0')
		return KURA_EINVAL;
	*ret = p;
	return KURA_OK;
}

static int32_t
posix_eval(const struct tz_posix *p, int64_t t)
{
	int64_t y, start, end;
	bool dst;

	if (!p->has_dst)
		return p->std_off;
	if (t > CLAMP_S)
		t = CLAMP_S;
	if (t < -CLAMP_S)
		t = -CLAMP_S;
	y = year_of_days(floor_div(t + p->std_off, 86400));
	/* the start happens in standard time, the end in daylight time */
	start = rule_day(&p->start, y) * 86400 + p->start.time - p->std_off;
	end = rule_day(&p->end, y) * 86400 + p->end.time - p->dst_off;
	if (start < end)
		dst = t >= start && t < end;
	else
		dst = !(t >= end && t < start);    /* southern hemisphere */
	return dst ? p->dst_off : p->std_off;
}

kura_err
tz_posix_offset(const char *rule, int64_t utc_s, int32_t *ret_offset_s)
{
	struct tz_posix p;
	kura_err err = posix_parse(rule, &p);

	if (err)
		return err;
	*ret_offset_s = posix_eval(&p, utc_s);
	return KURA_OK;
}

/* ---- TZif images ---- */

struct counts {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static kura_err
read_header(struct cursor *c, uint8_t *ret_version, struct counts *k)
{
	const uint8_t *h;

	if (!take(c, TZ_HEADER_LEN, &h) || memcmp(h, "TZif", 4) != 0)
		return KURA_EINVAL;
	*ret_version = h[4];
	k->isutcnt = be32(h + 20);
	k->isstdcnt = be32(h + 24);
	k->leapcnt = be32(h + 28);
	k->timecnt = be32(h + 32);
	k->typecnt = be32(h + 36);
	k->charcnt = be32(h + 40);
	return KURA_OK;
}

/* Bytes of a data block with time size tsize (4 or 8), overflow-safe
 * (every count is < 2^32, so the sum fits in 64 bits). */
static uint64_t
block_len(const struct counts *k, uint64_t tsize)
{
	return (uint64_t)k->timecnt * (tsize + 1) + (uint64_t)k->typecnt * 6 +
	    k->charcnt + (uint64_t)k->leapcnt * (tsize + 4) + k->isstdcnt +
	    k->isutcnt;
}

void
tz_zone_free(struct tz_zone *z)
{
	if (z == NULL)
		return;
	free(z->times);
	free(z->types);
	free(z->utoff);
	free(z);
}

/* Validate and copy the 64-bit data block. */
static kura_err
read_block(struct cursor *c, const struct counts *k, struct tz_zone *z)
{
	const uint8_t *times, *idx, *ttinfo, *chars, *leaps, *isstd, *isut;
	size_t i;

	if (!take(c, (size_t)k->timecnt * 8, &times) ||
	    !take(c, k->timecnt, &idx) ||
	    !take(c, (size_t)k->typecnt * 6, &ttinfo) ||
	    !take(c, k->charcnt, &chars) ||
	    !take(c, (size_t)k->leapcnt * 12, &leaps) ||
	    !take(c, k->isstdcnt, &isstd) ||
	    !take(c, k->isutcnt, &isut))
		return KURA_EINVAL;
	z->timecnt = k->timecnt;
	z->typecnt = k->typecnt;
	z->times = kura_calloc(z->timecnt ? z->timecnt : 1, sizeof(*z->times));
	z->types = kura_calloc(z->timecnt ? z->timecnt : 1, sizeof(*z->types));
	z->utoff = kura_calloc(z->typecnt, sizeof(*z->utoff));
	if (z->times == NULL || z->types == NULL || z->utoff == NULL)
		return KURA_ENOMEM;
	for (i = 0; i < z->timecnt; i++) {
		z->times[i] = be64s(times + 8 * i);
		if (i > 0 && z->times[i] <= z->times[i - 1])
			return KURA_EINVAL;
		if (idx[i] >= z->typecnt)
			return KURA_EINVAL;
		z->types[i] = idx[i];
	}
	for (i = 0; i < z->typecnt; i++) {
		const uint8_t *tt = ttinfo + 6 * i;
		int32_t off = (int32_t)be32(tt);

		if (off < UTOFF_MIN || off > UTOFF_MAX || tt[4] > 1 ||
		    tt[5] >= k->charcnt)
			return KURA_EINVAL;
		z->utoff[i] = off;
	}
	if (chars[k->charcnt - 1] != '\0')
		return KURA_EINVAL;
	for (i = 0; i < k->leapcnt; i++) {
		int64_t at = be64s(leaps + 12 * i);
		if ((i == 0 && at < 0) || (i > 0 && at <= be64s(leaps + 12 * (i - 1))))
			return KURA_EINVAL;
	}
	for (i = 0; i < k->isstdcnt; i++)
		if (isstd[i] > 1)
			return KURA_EINVAL;
	for (i = 0; i < k->isutcnt; i++)
		if (isut[i] > 1 || (isut[i] == 1 && k->isstdcnt > 0 && isstd[i] == 0))
			return KURA_EINVAL;
	return KURA_OK;
}

/* The footer: "\n" TZ-string "\n", then nothing. */
static kura_err
read_footer(struct cursor *c, struct tz_zone *z)
{
	char rule[TZ_FOOTER_MAX];
	const uint8_t *nl, *p;
	size_t n;

	if (!take(c, 1, &p) || *p != '\n')
		return KURA_EINVAL;
	nl = memchr(c->p, '\n', c->left);
	if (nl == NULL)
		return KURA_EINVAL;
	n = (size_t)(nl - c->p);
	if (n >= sizeof(rule) || n + 1 != c->left)
		return KURA_EINVAL;
	memcpy(rule, c->p, n);
	rule[n] = '\0';
	if (memchr(rule, '\0', n) != NULL)
		return KURA_EINVAL;
	c->p += n + 1;
	c->left = 0;
	if (n == 0)
		return KURA_OK;         /* no rule: the last type stays in force */
	if (posix_parse(rule, &z->footer) != KURA_OK)
		return KURA_EINVAL;
	z->has_footer = true;
	return KURA_OK;
}

kura_err
tz_parse_image(const uint8_t *data, size_t len, struct tz_zone **ret_zone)
{
	struct cursor c = { data, len };
	struct counts k1, k2;
	struct tz_zone *z = NULL;
	const uint8_t *skip;
	uint8_t v1, v2;
	kura_err err;

	if (data == NULL || ret_zone == NULL)
		return KURA_EINVAL;
	if (len > TZ_FILE_MAX)
		return KURA_ETOOBIG;
	if ((err = read_header(&c, &v1, &k1)) != KURA_OK)
		return err;
	if (v1 < '2' || v1 > '4')
		return KURA_EINVAL;     /* version 1 files have no 64-bit data */
	/* the version 1 block is only skipped, but its size must add up */
	if (block_len(&k1, 4) > c.left || !take(&c, (size_t)block_len(&k1, 4), &skip))
		return KURA_EINVAL;
	if ((err = read_header(&c, &v2, &k2)) != KURA_OK)
		return err;
	if (v2 != v1 || k2.typecnt == 0 || k2.typecnt > 256 || k2.charcnt == 0 ||
	    (k2.isstdcnt != 0 && k2.isstdcnt != k2.typecnt) ||
	    (k2.isutcnt != 0 && k2.isutcnt != k2.typecnt) ||
	    block_len(&k2, 8) > c.left)
		return KURA_EINVAL;
	z = kura_calloc(1, sizeof(*z));
	if (z == NULL)
		return KURA_ENOMEM;
	if ((err = read_block(&c, &k2, z)) != KURA_OK ||
	    (err = read_footer(&c, z)) != KURA_OK)
		goto out;
	*ret_zone = z;
	z = NULL;
out:
	tz_zone_free(z);
	return err;
}

kura_err
tz_zone_offset(const struct tz_zone *z, int64_t utc_s, int32_t *ret_offset_s)
{
	size_t lo, hi;

	if (z == NULL || ret_offset_s == NULL)
		return KURA_EINVAL;
	if (z->timecnt == 0 || utc_s >= z->times[z->timecnt - 1]) {
		if (z->has_footer)
			*ret_offset_s = posix_eval(&z->footer, utc_s);
		else
			*ret_offset_s = z->utoff[z->timecnt ?
			    z->types[z->timecnt - 1] : 0];
		return KURA_OK;
	}
	if (utc_s < z->times[0]) {
		*ret_offset_s = z->utoff[0];    /* RFC 8536: type 0 before */
		return KURA_OK;
	}
	/* last transition at or before utc_s: times[lo] <= utc_s < times[hi] */
	lo = 0;
	hi = z->timecnt - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= utc_s)
			lo = mid;
		else
			hi = mid;
	}
	*ret_offset_s = z->utoff[z->types[lo]];
	return KURA_OK;
}

/* ---- zone files and the cache ---- */

bool
tz_name_ok(const char *name)
{
	if (name != NULL && strcmp(name, "UTC") == 0)
		return true;
	return kura_token_ok(name, TZ_NAME_MAX, "/_-+") &&
	    strstr(name, "..") == NULL && name[0] != '/' && name[0] != '-';
}

/* Read and parse TZ_DIR/name. */
static kura_err
load_zone(const char *name, struct tz_zone **ret_zone)
{
	char path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	kura_err err;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name) >= (int)sizeof(path))
		return KURA_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? KURA_ENOENT : KURA_EIO;
	if (fstat(fd, &st) != 0) {
		err = KURA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = KURA_ENOENT;      /* a directory such as "Asia" */
		goto out;
	}
	if (st.st_size > TZ_FILE_MAX) {
		err = KURA_ETOOBIG;
		goto out;
	}
	/* one byte more than allowed, to notice a file that grew */
	buf = malloc(TZ_FILE_MAX + 1);
	if (buf == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, TZ_FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = KURA_EIO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > TZ_FILE_MAX) {
			err = KURA_ETOOBIG;
			goto out;
		}
	}
	err = tz_parse_image(buf, got, ret_zone);
out:
	free(buf);
	close(fd);
	return err;
}

static struct {
	char name[TZ_NAME_MAX + 1];
	struct tz_zone *zone;
} cache[TZ_CACHE_MAX];
static size_t cache_n;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static struct tz_zone *
cache_find(const char *name)
{
	for (size_t i = 0; i < cache_n; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].zone;
	return NULL;
}

kura_err
tz_offset(const char *zone, int64_t utc_s, int32_t *ret_offset_s)
{
	struct tz_zone *z, *fresh = NULL;
	kura_err err;

	if (ret_offset_s == NULL || !tz_name_ok(zone))
		return KURA_EINVAL;
	if (strcmp(zone, "UTC") == 0) {
		*ret_offset_s = 0;
		return KURA_OK;
	}
	pthread_mutex_lock(&cache_lock);
	z = cache_find(zone);
	pthread_mutex_unlock(&cache_lock);
	if (z != NULL)
		return tz_zone_offset(z, utc_s, ret_offset_s);
	/* load outside the lock; a racing loader's copy is simply dropped */
	if ((err = load_zone(zone, &fresh)) != KURA_OK)
		return err;
	pthread_mutex_lock(&cache_lock);
	z = cache_find(zone);
	if (z == NULL && cache_n < TZ_CACHE_MAX) {
		snprintf(cache[cache_n].name, sizeof(cache[cache_n].name), "%s", zone);
		cache[cache_n].zone = fresh;
		cache_n++;
		z = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	/* cached zones are never freed, so z stays valid without the lock;
	 * with a full cache the fresh copy serves this call only */
	err = tz_zone_offset(z ? z : fresh, utc_s, ret_offset_s);
	tz_zone_free(fresh);
	return err;
}

static bool
rfc_digits(const char **s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*ret = v;
	return true;
}

/*
 * Strict RFC 3339 date-time ("2026-11-21T09:00:00.123456+09:00", "...Z")
 * into UTC microseconds since the epoch.  Fractions beyond microseconds
 * are cut.  A ' ' stands for '+' in the offset (a query string's '+' is
 * often left unencoded).  Times before 1970 are refused.
 */
bool
tz_parse_rfc3339(const char *s, int64_t *ret_us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000, us;

	if (s == NULL || strlen(s) > 40 || !rfc_digits(&s, 4, &y) || *s++ != '-' ||
	    !rfc_digits(&s, 2, &mo) || *s++ != '-' || !rfc_digits(&s, 2, &d) ||
	    (*s != 'T' && *s != 't'))
		return false;
	s++;
	if (!rfc_digits(&s, 2, &h) || *s++ != ':' || !rfc_digits(&s, 2, &mi) ||
	    *s++ != ':' || !rfc_digits(&s, 2, &sec))
		return false;
	if (*s == '.') {
		int nd = 0;
		s++;
		while (*s >= '0' && *s <= '9') {
			if (nd < 6) {
				frac += (*s - '0') * scale;
				scale /= 10;
			}
			nd++;
			s++;
		}
		if (nd == 0 || nd > 9)
			return false;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-' || *s == ' ') {
		sign = *s == '-' ? -1 : 1;
		s++;
		if (!rfc_digits(&s, 2, &oh) || *s++ != ':' || !rfc_digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > tz_month_len(y, mo) ||
	    h > 23 || mi > 59 || sec > 59)
		return false;
	us = ((tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	    sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	if (us < 0)
		return false;
	*ret_us = us;
	return true;
}
