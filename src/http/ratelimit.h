/*
 * Token buckets keyed by short strings (a source address, a user or token
 * id, a tenant id) for request protection (MON-3).
 *
 * Memory is bounded and each call is O(1): a fixed table of sets of
 * RATELIMIT_WAYS entries, the set chosen by a keyed hash (SipHash, random
 * key, so a client cannot aim many keys at one set), each group of sets
 * under one of RATELIMIT_SHARDS mutexes.  When a set is full an entry is
 * evicted: one that carries nothing worth keeping (bucket refilled, no
 * block, no unreported refusals) if there is one, else the least recently
 * seen unblocked one, else the block that ends first.
 *
 * Abuse tracking (the per-address table): refusals are counted in windows
 * of RATELIMIT_WINDOW_US starting at a window's first refusal; more than
 * block_after refusals in one window block the key for block_s seconds.
 * To keep the audit log from flooding, only the first refusal of each
 * window (and the first while blocked) is marked to be audited; later ones
 * are counted and handed to ratelimit_sweep() once their window ends, for
 * one summary record.
 *
 * Time is passed in (monotonic microseconds), so tests use a fake clock.
 * Thread-safe.
 */
#ifndef KURA_HTTP_RATELIMIT_H
#define KURA_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define RATELIMIT_KEY_MAX 48            /* bytes with the NUL (an IPv6 text) */
#define RATELIMIT_WAYS 8
#define RATELIMIT_SHARDS 64
#define RATELIMIT_WINDOW_US (60 * 1000000LL)

struct ratelimit;

struct ratelimit_policy {
	uint64_t rate;          /* tokens per second, 1..1000000 */
	uint64_t burst;         /* bucket size, 1..1000000 */
	uint64_t block_after;   /* refusals in a window before a block; 0: never */
	uint64_t block_s;       /* seconds a block lasts */
};

enum ratelimit_verdict {
	RATELIMIT_PASS = 0,
	RATELIMIT_LIMITED,      /* bucket empty: 429 rate_limited */
	RATELIMIT_BLOCKED,      /* key blocked: 429 blocked */
};

struct ratelimit_result {
	enum ratelimit_verdict verdict;
	unsigned retry_after_s; /* refused: seconds until a retry can pass, >= 1 */
	bool audit;             /* refused: record this one (first of its window) */
	bool blocked_now;       /* this refusal started a block */
	uint64_t refusals;      /* refusals in the key's window so far */
};

/* A table of at least capacity entries (rounded up to whole sets) under
 * policy p.  KURA_EINVAL for a rate or burst of 0 or over 1000000. */
kura_err ratelimit_new(size_t capacity, const struct ratelimit_policy *p,
    struct ratelimit **ret_rl);
/* Accepts NULL. */
void ratelimit_free(struct ratelimit *rl);

/* Take one token for key: PASS, LIMITED (the refusal counts toward a
 * block), or BLOCKED while a block lasts.  With check_only the bucket is
 * left alone and only a block refuses (health probes).  A key longer than
 * RATELIMIT_KEY_MAX - 1 is cut; keys are compared whole otherwise. */
void ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_us,
    bool check_only, struct ratelimit_result *ret);

/* Count a refusal made by another table (per user or tenant) against key's
 * window: may start a block; ret->audit says whether to record it. */
void ratelimit_note_refusal(struct ratelimit *rl, const char *key,
    int64_t now_us, struct ratelimit_result *ret);

/* Called by ratelimit_sweep for a key with refusals that were not audited
 * one by one.  Runs under a shard lock: must only queue. */
typedef void (*ratelimit_summary_fn)(void *arg, const char *key,
    uint64_t unaudited);

/* Report (through fn, may be NULL) and reset the unaudited refusals of
 * windows that have ended, or of every window with force (shutdown).
 * Returns how many keys are blocked at now_us.  O(capacity). */
size_t ratelimit_sweep(struct ratelimit *rl, int64_t now_us, bool force,
    ratelimit_summary_fn fn, void *arg);

/* Entries in use (for tests and metrics). */
size_t ratelimit_used(struct ratelimit *rl);
/* Entries the table holds at most. */
size_t ratelimit_capacity(const struct ratelimit *rl);

#endif
