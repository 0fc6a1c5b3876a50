/*
 * Token buckets in a fixed, set-associative table (see ratelimit.h).
 *
 * Tokens are kept in millionths (integer arithmetic, no drift): a bucket
 * of burst b holds up to b * 1e6; rate r adds r micro-tokens per
 * microsecond; a request takes 1e6.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "crypto/kcrypto.h"
#include "http/ratelimit.h"

#define UNIT 1000000LL                  /* micro-tokens per token */
#define RATE_MAX 1000000u
#define USEC 1000000LL

struct rl_entry {
	uint64_t hash;
	int64_t tokens;                     /* micro-tokens at last_us */
	int64_t last_us;
	int64_t seen_us;                    /* last use (eviction order) */
	int64_t win_start_us;               /* refusal window, 0: none open */
	int64_t blocked_until_us;
	uint32_t win_refusals;              /* LIMITED refusals in the window */
	uint32_t unaudited;                 /* this window's unrecorded refusals */
	uint32_t pending;                   /* unrecorded ones of ended windows */
	bool win_audited;                   /* the window's first one is recorded */
	bool used;
	char key[RATELIMIT_KEY_MAX];
};

struct rl_shard {
	pthread_mutex_t lock;
	char pad[64 - sizeof(pthread_mutex_t) % 64];  /* own cache line(s) */
};

struct ratelimit {
	struct ratelimit_policy p;
	int64_t burst_ut;                   /* burst in micro-tokens */
	size_t nsets;
	struct rl_entry *e;                 /* nsets * RATELIMIT_WAYS */
	struct rl_shard shard[RATELIMIT_SHARDS];
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

kura_err
ratelimit_new(size_t capacity, const struct ratelimit_policy *p,
    struct ratelimit **ret_rl)
{
	struct ratelimit *rl;
	size_t i;

	if (p == NULL || p->rate == 0 || p->rate > RATE_MAX || p->burst == 0 ||
	    p->burst > RATE_MAX || p->block_s > 86400 * 365 ||
	    p->block_after > UINT32_MAX - 1 || capacity == 0 ||
	    capacity > (SIZE_MAX / sizeof(struct rl_entry)) - RATELIMIT_WAYS)
		return KURA_EINVAL;
	rl = kura_calloc(1, sizeof(*rl));
	if (rl == NULL)
		return KURA_ENOMEM;
	rl->p = *p;
	rl->burst_ut = (int64_t)p->burst * UNIT;
	rl->nsets = (capacity + RATELIMIT_WAYS - 1) / RATELIMIT_WAYS;
	rl->e = kura_calloc(rl->nsets * RATELIMIT_WAYS, sizeof(*rl->e));
	if (rl->e == NULL || kcrypto_random(rl->hkey, sizeof(rl->hkey)) != KURA_OK) {
		free(rl->e);
		free(rl);
		return KURA_ENOMEM;
	}
	for (i = 0; i < RATELIMIT_SHARDS; i++)
		pthread_mutex_init(&rl->shard[i].lock, NULL);
	*ret_rl = rl;
	return KURA_OK;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < RATELIMIT_SHARDS; i++)
		pthread_mutex_destroy(&rl->shard[i].lock);
	free(rl->e);
	free(rl);
}

size_t
ratelimit_capacity(const struct ratelimit *rl)
{
	return rl->nsets * RATELIMIT_WAYS;
}

/* ---- entries (all under the set's shard lock) ---- */

/* Tokens of e at now (refilled, capped at the burst). */
static int64_t
refilled(const struct ratelimit *rl, const struct rl_entry *e, int64_t now_us)
{
	int64_t dt = now_us - e->last_us;

	if (dt <= 0)
		return e->tokens;
	/* past the time a full refill takes, the bucket is full; this also
	 * keeps dt * rate far from overflowing (< 1e12 * 1e6) */
	if (dt >= (rl->burst_ut - e->tokens) / (int64_t)rl->p.rate + 1)
		return rl->burst_ut;
	dt = e->tokens + dt * (int64_t)rl->p.rate;
	return dt < rl->burst_ut ? dt : rl->burst_ut;
}

/* Nothing would be lost by dropping e. */
static bool
idle(const struct ratelimit *rl, const struct rl_entry *e, int64_t now_us)
{
	return e->blocked_until_us <= now_us && e->pending == 0 &&
	    e->unaudited == 0 && refilled(rl, e, now_us) == rl->burst_ut;
}

/* The entry for key in its set; created (evicting if need be) when
 * create, else NULL when absent. */
static struct rl_entry *
lookup(struct ratelimit *rl, struct rl_entry *set, uint64_t h, const char *key,
    int64_t now_us, bool create)
{
	struct rl_entry *free_e = NULL, *victim = NULL;
	int victim_rank = 3;                /* 0 idle, 1 unblocked, 2 blocked */

	for (size_t w = 0; w < RATELIMIT_WAYS; w++) {
		struct rl_entry *e = &set[w];
		int rank;

		if (!e->used) {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
		if (!create)
			continue;
		rank = idle(rl, e, now_us) ? 0 :
		    e->blocked_until_us <= now_us ? 1 : 2;
		if (victim == NULL || rank < victim_rank ||
		    (rank == victim_rank && (rank == 2 ?
		    e->blocked_until_us < victim->blocked_until_us :
		    e->seen_us < victim->seen_us))) {
			victim = e;
			victim_rank = rank;
		}
	}
	if (!create)
		return NULL;
	if (free_e == NULL)
		free_e = victim;
	memset(free_e, 0, sizeof(*free_e));
	free_e->used = true;
	free_e->hash = h;
	snprintf(free_e->key, sizeof(free_e->key), "%s", key);
	free_e->tokens = rl->burst_ut;
	free_e->last_us = now_us;
	free_e->seen_us = now_us;
	return free_e;
}

/* Start a new refusal window if none is open or the open one ended. */
static void
window_roll(struct rl_entry *e, int64_t now_us, bool force)
{
	if (!force && e->win_start_us != 0 &&
	    now_us - e->win_start_us < RATELIMIT_WINDOW_US)
		return;
	e->pending += e->unaudited;
	e->unaudited = 0;
	e->win_refusals = 0;
	e->win_audited = false;
	e->win_start_us = now_us;
}

/* The first refusal of a window is recorded, later ones counted. */
static void
window_mark(struct rl_entry *e, struct ratelimit_result *ret)
{
	if (!e->win_audited) {
		e->win_audited = true;
		ret->audit = true;
	} else if (e->unaudited < UINT32_MAX) {
		e->unaudited++;
	}
}

static unsigned
seconds_up(int64_t us)
{
	int64_t s = (us + USEC - 1) / USEC;

	if (s < 1)
		s = 1;
	if (s > UINT32_MAX)
		s = UINT32_MAX;
	return (unsigned)s;
}

/* A refusal that counts toward a block (bucket empty here or elsewhere). */
static void
refused(struct ratelimit *rl, struct rl_entry *e, int64_t now_us,
    struct ratelimit_result *ret)
{
	window_roll(e, now_us, false);
	if (e->win_refusals < UINT32_MAX)
		e->win_refusals++;
	window_mark(e, ret);
	ret->refusals = e->win_refusals;
	if (rl->p.block_after > 0 && e->win_refusals > rl->p.block_after) {
		e->blocked_until_us = now_us + (int64_t)rl->p.block_s * USEC;
		ret->blocked_now = true;
		/* the block gets a window of its own: its first refusal is
		 * recorded again */
		window_roll(e, now_us, true);
	}
}

static void
locate(struct ratelimit *rl, const char *key, uint64_t *ret_h,
    struct rl_entry **ret_set, pthread_mutex_t **ret_lock, char *buf)
{
	uint64_t h;
	size_t set;

	snprintf(buf, RATELIMIT_KEY_MAX, "%s", key);
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)buf,
	    strlen(buf), rl->hkey);
	set = (size_t)(h % rl->nsets);
	*ret_h = h;
	*ret_set = &rl->e[set * RATELIMIT_WAYS];
	*ret_lock = &rl->shard[set % RATELIMIT_SHARDS].lock;
}

void
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_us,
    bool check_only, struct ratelimit_result *ret)
{
	char k[RATELIMIT_KEY_MAX];
	struct rl_entry *set, *e;
	pthread_mutex_t *lock;
	uint64_t h;

	memset(ret, 0, sizeof(*ret));
	locate(rl, key, &h, &set, &lock, k);
	pthread_mutex_lock(lock);
	e = lookup(rl, set, h, k, now_us, !check_only);
	if (e == NULL)
		goto out;               /* a probe from an unknown key */
	e->seen_us = now_us;
	if (e->blocked_until_us > now_us) {
		ret->verdict = RATELIMIT_BLOCKED;
		ret->retry_after_s = seconds_up(e->blocked_until_us - now_us);
		window_roll(e, now_us, false);
		window_mark(e, ret);
		ret->refusals = e->win_refusals;
		goto out;
	}
	if (check_only)
		goto out;
	e->tokens = refilled(rl, e, now_us);
	e->last_us = now_us > e->last_us ? now_us : e->last_us;
	if (e->tokens >= UNIT) {
		e->tokens -= UNIT;
		goto out;
	}
	ret->verdict = RATELIMIT_LIMITED;
	/* microseconds until one whole token, rounded up */
	ret->retry_after_s = seconds_up((UNIT - e->tokens + (int64_t)rl->p.rate - 1) /
	    (int64_t)rl->p.rate);
	refused(rl, e, now_us, ret);
out:
	pthread_mutex_unlock(lock);
}

void
ratelimit_note_refusal(struct ratelimit *rl, const char *key, int64_t now_us,
    struct ratelimit_result *ret)
{
	char k[RATELIMIT_KEY_MAX];
	struct rl_entry *set, *e;
	pthread_mutex_t *lock;
	uint64_t h;

	memset(ret, 0, sizeof(*ret));
	locate(rl, key, &h, &set, &lock, k);
	pthread_mutex_lock(lock);
	e = lookup(rl, set, h, k, now_us, true);
	e->seen_us = now_us;
	ret->verdict = RATELIMIT_LIMITED;
	refused(rl, e, now_us, ret);
	pthread_mutex_unlock(lock);
}

size_t
ratelimit_sweep(struct ratelimit *rl, int64_t now_us, bool force,
    ratelimit_summary_fn fn, void *arg)
{
	size_t blocked = 0;

	for (size_t sh = 0; sh < RATELIMIT_SHARDS; sh++) {
		pthread_mutex_lock(&rl->shard[sh].lock);
		for (size_t set = sh; set < rl->nsets; set += RATELIMIT_SHARDS) {
			struct rl_entry *e = &rl->e[set * RATELIMIT_WAYS];
			for (size_t w = 0; w < RATELIMIT_WAYS; w++, e++) {
				uint64_t n;

				if (!e->used)
					continue;
				if (e->blocked_until_us > now_us)
					blocked++;
				if (force || (e->win_start_us != 0 &&
				    now_us - e->win_start_us >= RATELIMIT_WINDOW_US)) {
					e->pending += e->unaudited;
					e->unaudited = 0;
				}
				n = e->pending;
				e->pending = 0;
				if (n > 0 && fn != NULL)
					fn(arg, e->key, n);
			}
		}
		pthread_mutex_unlock(&rl->shard[sh].lock);
	}
	return blocked;
}

size_t
ratelimit_used(struct ratelimit *rl)
{
	size_t n = 0;

	for (size_t sh = 0; sh < RATELIMIT_SHARDS; sh++) {
		pthread_mutex_lock(&rl->shard[sh].lock);
		for (size_t set = sh; set < rl->nsets; set += RATELIMIT_SHARDS)
			for (size_t w = 0; w < RATELIMIT_WAYS; w++)
				n += rl->e[set * RATELIMIT_WAYS + w].used;
		pthread_mutex_unlock(&rl->shard[sh].lock);
	}
	return n;
}
