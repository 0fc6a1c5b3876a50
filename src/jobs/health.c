/*
 * The component checks behind MON-1 (see health.h).  Details are words and
 * numbers for operators: paths, counts, sizes, never key material.
 */
#include <sys/statvfs.h>
#include <sys/timex.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/mem.h"
#include "jobs/health.h"

#define MIB (1024ULL * 1024)
#define DB_SLOW_MS 1000                 /* round trip slower than this: degraded */
#define AUDIT_DEPTH_DEGRADED 10000      /* the writer's queue holds 65536 */
#define AUDIT_DEPTH_FAILING 50000
#define CLOCK_MAXERROR_US 1000000       /* kernel's bound on the error */

struct health {
	struct app *app;
	bool have_prev;
	size_t prev_depth;
	uint64_t prev_records;
};

kura_err
health_new(struct app *app, struct health **ret_h)
{
	struct health *h = kura_calloc(1, sizeof(*h));

	if (h == NULL)
		return KURA_ENOMEM;
	h->app = app;
	*ret_h = h;
	return KURA_OK;
}

void
health_free(struct health *h)
{
	free(h);
}

const char *
health_status_name(enum health_status s)
{
	switch (s) {
	case HEALTH_OK: return "ok";
	case HEALTH_DEGRADED: return "degraded";
	default: return "failing";
	}
}

static void
set(struct health_result *r, enum health_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set(struct health_result *r, enum health_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Ping, then write a fresh random value to the probe row and read it back. */
static void
check_database(struct health *h, struct health_result *r)
{
	struct store *s = h->app->store;
	uint8_t rnd[8];
	char value[32];
	int64_t t0 = kura_mono_us(), ms;
	kura_err err;

	if ((err = store_ping(s)) != KURA_OK) {
		set(r, HEALTH_FAILING, "ping failed: %s", kura_strerror(err));
		return;
	}
	if (kcrypto_random(rnd, sizeof(rnd)) != KURA_OK) {
		set(r, HEALTH_FAILING, "no random value for the probe");
		return;
	}
	snprintf(value, sizeof(value), "probe-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((err = store_health_probe(s, value, kura_now_us())) != KURA_OK) {
		set(r, HEALTH_FAILING, "write/read round trip failed: %s",
		    kura_strerror(err));
		return;
	}
	ms = (kura_mono_us() - t0) / 1000;
	if (ms > DB_SLOW_MS)
		set(r, HEALTH_DEGRADED, "slow: ping and write/read round trip took %lld ms",
		    (long long)ms);
	else
		set(r, HEALTH_OK, "ping and write/read round trip in %lld ms",
		    (long long)ms);
}

/* Free space of the data directory against [health] min_free_disk_mb;
 * under twice the minimum is degraded (time to act). */
static void
check_disk(struct health *h, struct health_result *r)
{
	const struct kura_config *cfg = h->app->cfg;
	unsigned long long free_b, total_b, min_b = cfg->health_min_free_mb * MIB;
	struct statvfs v;

	if (statvfs(cfg->data_dir, &v) != 0) {
		set(r, HEALTH_FAILING, "statvfs of the data directory failed: %s",
		    strerror(errno));
		return;
	}
	free_b = (unsigned long long)v.f_bavail * v.f_frsize;
	total_b = (unsigned long long)v.f_blocks * v.f_frsize;
	set(r, free_b < min_b ? HEALTH_FAILING : free_b / 2 < min_b ?
	    HEALTH_DEGRADED : HEALTH_OK, "%llu MiB free of %llu MiB (minimum %llu MiB)",
	    free_b / MIB, total_b / MIB, (unsigned long long)cfg->health_min_free_mb);
}

/* The keyring loads from its (private) file and holds its current KEK;
 * the audit signing key loads. */
static void
check_keys(struct health *h, struct health_result *r)
{
	const struct kura_config *cfg = h->app->cfg;
	struct kcrypto_keyring *kr = NULL;
	char pub[64], *why = NULL;
	uint32_t cur;
	size_t n;
	kura_err err;

	if (config_check_private_file(cfg->kek_file, &why) != KURA_OK) {
		set(r, HEALTH_FAILING, "keyring: %s", why ? why : "not a private file");
		goto out;
	}
	if ((err = kcrypto_keyring_load(cfg->kek_file, &kr)) != KURA_OK) {
		set(r, HEALTH_FAILING, "keyring does not load: %s", kura_strerror(err));
		goto out;
	}
	cur = kcrypto_keyring_current(kr);
	n = kcrypto_keyring_count(kr);
	if (!kcrypto_keyring_has(kr, cur)) {
		set(r, HEALTH_FAILING, "keyring has no current KEK");
		goto out;
	}
	if (config_check_private_file(cfg->audit_key, &why) != KURA_OK) {
		set(r, HEALTH_FAILING, "audit signing key: %s",
		    why ? why : "not a private file");
		goto out;
	}
	if ((err = audit_public_key(cfg->audit_key, pub)) != KURA_OK) {
		set(r, HEALTH_FAILING, "audit signing key does not load: %s",
		    kura_strerror(err));
		goto out;
	}
	set(r, HEALTH_OK, "keyring: %zu KEK version(s), current v%u; audit signing key loads",
	    n, cur);
out:
	free(why);
	kcrypto_keyring_free(kr);
}

/* The writer's queue is bounded and, when not empty, moving. */
static void
check_audit(struct health *h, struct health_result *r)
{
	size_t depth = 0, last = 0;
	uint64_t records = 0, batches = 0;

	if (h->app->audit == NULL) {
		set(r, HEALTH_FAILING, "the audit writer is not running");
		return;
	}
	audit_stats(h->app->audit, &depth, &last, &records, &batches);
	if (h->have_prev && h->prev_depth > 0 && depth > 0 &&
	    records == h->prev_records)
		set(r, HEALTH_FAILING, "stuck: %zu record(s) queued and none "
		    "committed since the last check", depth);
	else if (depth >= AUDIT_DEPTH_FAILING)
		set(r, HEALTH_FAILING, "queue depth %zu (limit %d)", depth,
		    AUDIT_DEPTH_FAILING);
	else
		set(r, depth >= AUDIT_DEPTH_DEGRADED ? HEALTH_DEGRADED : HEALTH_OK,
		    "queue depth %zu, last batch %zu, %llu record(s) in %llu commit(s)",
		    depth, last, (unsigned long long)records,
		    (unsigned long long)batches);
	h->have_prev = true;
	h->prev_depth = depth;
	h->prev_records = records;
}

/* Clock synchronisation as the kernel sees it (LOG-4): an NTP daemon
 * clears STA_UNSYNC and keeps maxerror small.  Unsynchronised is degraded,
 * not failing: the service works, but record times may drift. */
static void
check_clock(struct health *h, struct health_result *r)
{
	struct timex tx;
	int state;

	(void)h;
	memset(&tx, 0, sizeof(tx));     /* modes 0: read only */
	state = ntp_adjtime(&tx);
	if (state < 0) {
		set(r, HEALTH_DEGRADED, "clock state unavailable: %s", strerror(errno));
		return;
	}
	if ((tx.status & STA_UNSYNC) || state == TIME_ERROR)
		set(r, HEALTH_DEGRADED, "not synchronised (kernel reports "
		    "STA_UNSYNC), max error %ld ms", tx.maxerror / 1000);
	else if (tx.maxerror > CLOCK_MAXERROR_US)
		set(r, HEALTH_DEGRADED, "synchronised, but max error %ld ms",
		    tx.maxerror / 1000);
	else
		set(r, HEALTH_OK, "synchronised, max error %ld ms, estimated error %ld us",
		    tx.maxerror / 1000, tx.esterror);
}

static const struct {
	const char *name;
	void (*check)(struct health *h, struct health_result *r);
} checks[HEALTH_COMPONENTS] = {
	{ "database", check_database },
	{ "disk", check_disk },
	{ "keys", check_keys },
	{ "audit", check_audit },
	{ "clock", check_clock },
};

kura_err
health_run(struct health *h, struct health_result ret[HEALTH_COMPONENTS])
{
	kura_err err = KURA_OK, e2;
	size_t pruned = 0;

	for (size_t i = 0; i < HEALTH_COMPONENTS; i++) {
		struct store_health row;

		memset(&ret[i], 0, sizeof(ret[i]));
		ret[i].component = checks[i].name;
		checks[i].check(h, &ret[i]);
		ret[i].checked_us = kura_now_us();

		memset(&row, 0, sizeof(row));
		snprintf(row.component, sizeof(row.component), "%s", ret[i].component);
		snprintf(row.status, sizeof(row.status), "%s",
		    health_status_name(ret[i].status));
		snprintf(row.detail, sizeof(row.detail), "%s", ret[i].detail);
		row.checked_us = ret[i].checked_us;
		e2 = store_health_put(h->app->store, &row);
		if (e2 && err == KURA_OK)
			err = e2;
	}
	e2 = store_health_prune(h->app->store, kura_now_us() -
	    (int64_t)HEALTH_KEEP_DAYS * 86400 * 1000000, &pruned);
	if (e2 && err == KURA_OK)
		err = e2;
	return err;
}
