/*
 * Unit tests for src/http/ratelimit.c (MON-3): token-bucket arithmetic
 * with a fake clock, the memory bound and eviction order, blocking after
 * repeated refusals, audit sampling and summaries, and thread safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "http/ratelimit.h"

#define S 1000000LL                     /* one second in microseconds */
#define T0 (1000 * S)                   /* any monotonic start */

static struct ratelimit *
mk(size_t cap, uint64_t rate, uint64_t burst, uint64_t block_after,
    uint64_t block_s)
{
	struct ratelimit_policy p = { rate, burst, block_after, block_s };
	struct ratelimit *rl = NULL;

	assert_int_equal(ratelimit_new(cap, &p, &rl), KURA_OK);
	return rl;
}

static enum ratelimit_verdict
take(struct ratelimit *rl, const char *key, int64_t now,
    struct ratelimit_result *ret)
{
	struct ratelimit_result r;

	ratelimit_take(rl, key, now, false, ret ? ret : &r);
	return (ret ? ret : &r)->verdict;
}

/* Evidence: MON-3 (token bucket: burst, refill rate, cap, Retry-After) */
static void
bucket_refill_arithmetic(void **state)
{
	struct ratelimit *rl = mk(1024, 5, 5, 0, 0);
	struct ratelimit_result r;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(rl, "192.0.2.1", T0, NULL), RATELIMIT_PASS);
	assert_int_equal(take(rl, "192.0.2.1", T0, &r), RATELIMIT_LIMITED);
	assert_int_equal(r.retry_after_s, 1);  /* 0.2 s, rounded up */
	/* another key has its own bucket */
	assert_int_equal(take(rl, "192.0.2.2", T0, NULL), RATELIMIT_PASS);
	/* 5/s: a token every 200 ms, not before */
	assert_int_equal(take(rl, "192.0.2.1", T0 + 199999, NULL), RATELIMIT_LIMITED);
	assert_int_equal(take(rl, "192.0.2.1", T0 + 200000, NULL), RATELIMIT_PASS);
	assert_int_equal(take(rl, "192.0.2.1", T0 + 200000, NULL), RATELIMIT_LIMITED);
	/* a long pause refills to the burst, no more */
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(rl, "192.0.2.1", T0 + 3600 * S, NULL),
		    RATELIMIT_PASS);
	assert_int_equal(take(rl, "192.0.2.1", T0 + 3600 * S, NULL), RATELIMIT_LIMITED);
	/* the clock going backwards gives nothing */
	assert_int_equal(take(rl, "192.0.2.1", T0, NULL), RATELIMIT_LIMITED);
	ratelimit_free(rl);
}

/* Fractions of a token add up; extreme rates and gaps do not overflow. */
static void
bucket_fractions_and_extremes(void **state)
{
	struct ratelimit *rl = mk(64, 4, 1, 0, 0);
	struct ratelimit *big = mk(64, 1000000, 1000000, 0, 0);
	int passed = 0;

	(void)state;
	/* 4/s for 10 s after the first token: 1 + 40 passes, no drift */
	for (int64_t t = 0; t <= 10 * S; t += 1000)
		passed += take(rl, "k", T0 + t, NULL) == RATELIMIT_PASS;
	assert_int_equal(passed, 41);
	assert_int_equal(take(big, "k", T0, NULL), RATELIMIT_PASS);
	assert_int_equal(take(big, "k", INT64_MAX / 2, NULL), RATELIMIT_PASS);
	ratelimit_free(rl);
	ratelimit_free(big);
}

static void
policy_is_validated(void **state)
{
	struct ratelimit_policy p = { 0, 1, 0, 0 };
	struct ratelimit *rl = NULL;

	(void)state;
	assert_int_equal(ratelimit_new(16, &p, &rl), KURA_EINVAL);
	p.rate = 1;
	p.burst = 0;
	assert_int_equal(ratelimit_new(16, &p, &rl), KURA_EINVAL);
	p.burst = 1000001;
	assert_int_equal(ratelimit_new(16, &p, &rl), KURA_EINVAL);
	p.burst = 1;
	assert_int_equal(ratelimit_new(0, &p, &rl), KURA_EINVAL);
	assert_null(rl);
}

/* Evidence: MON-3 (bounded memory: a spray of keys never grows the table,
 * and a blocked address is not pushed out by it) */
static void
eviction_bound(void **state)
{
	struct ratelimit *rl = mk(64, 1, 1, 2, 600);
	struct ratelimit_result r;
	char key[100];

	(void)state;
	assert_int_equal(ratelimit_capacity(rl), 64);
	/* block 203.0.113.9 */
	for (int i = 0; i < 4; i++)
		(void)take(rl, "203.0.113.9", T0, &r);
	assert_true(r.blocked_now);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "2001:db8::%x", i);
		(void)take(rl, key, T0 + i, NULL);
		assert_true(ratelimit_used(rl) <= 64);
	}
	assert_int_equal(ratelimit_used(rl), 64);
	assert_int_equal(take(rl, "203.0.113.9", T0 + 100000, &r), RATELIMIT_BLOCKED);
	/* a key evicted while idle comes back with a full bucket */
	assert_int_equal(take(rl, "2001:db8::0", T0 + 200 * S, NULL), RATELIMIT_PASS);
	/* over-long keys are cut, not overflowed */
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(take(rl, key, T0, NULL), RATELIMIT_PASS);
	ratelimit_free(rl);
}

/* Idle entries (bucket full again, nothing pending) go before busy ones. */
static void
eviction_prefers_idle_entries(void **state)
{
	/* one set: capacity 8 */
	struct ratelimit *rl = mk(8, 1, 10, 0, 0);
	char key[16];

	(void)state;
	assert_int_equal(ratelimit_capacity(rl), RATELIMIT_WAYS);
	/* "busy" drains its bucket; the others take one token and refill */
	for (int i = 0; i < 10; i++)
		(void)take(rl, "busy", T0, NULL);
	for (int i = 0; i < RATELIMIT_WAYS - 1; i++) {
		snprintf(key, sizeof(key), "idle%d", i);
		(void)take(rl, key, T0, NULL);
	}
	/* 5 s later the idle ones are full again, busy holds 5 tokens; all
	 * were last seen at T0, so plain LRU would take busy (way 0) first */
	for (int i = 0; i < RATELIMIT_WAYS - 1; i++) {
		snprintf(key, sizeof(key), "new%d", i);
		(void)take(rl, key, T0 + 5 * S, NULL);
	}
	/* busy kept its state: 5 tokens, then refused */
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(rl, "busy", T0 + 5 * S, NULL), RATELIMIT_PASS);
	assert_int_equal(take(rl, "busy", T0 + 5 * S, NULL), RATELIMIT_LIMITED);
	ratelimit_free(rl);
}

struct summary {
	char key[RATELIMIT_KEY_MAX];
	uint64_t n;
	int calls;
};

static void
on_summary(void *arg, const char *key, uint64_t n)
{
	struct summary *s = arg;

	snprintf(s->key, sizeof(s->key), "%s", key);
	s->n += n;
	s->calls++;
}

/* Evidence: MON-3 (more than block_after refusals in a minute block the
 * address for block_s; Retry-After is the time left, rounded up) */
static void
block_logic(void **state)
{
	struct ratelimit *rl = mk(1024, 1, 1, 3, 2);
	struct ratelimit_result r;
	int audited = 0, unaudited = 0;

	(void)state;
	assert_int_equal(take(rl, "198.51.100.7", T0, NULL), RATELIMIT_PASS);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(take(rl, "198.51.100.7", T0, &r), RATELIMIT_LIMITED);
		assert_false(r.blocked_now);
		assert_int_equal(r.refusals, (uint64_t)i);
		audited += r.audit;
		unaudited += !r.audit;
	}
	/* the 4th refusal within the minute (> block_after) blocks */
	assert_int_equal(take(rl, "198.51.100.7", T0 + 1000, &r), RATELIMIT_LIMITED);
	assert_true(r.blocked_now);
	assert_int_equal(r.refusals, 4);
	unaudited += !r.audit;
	assert_int_equal(audited, 1);       /* only the first was to be recorded */
	/* blocked: even with tokens back, and probes too */
	assert_int_equal(take(rl, "198.51.100.7", T0 + 500000, &r), RATELIMIT_BLOCKED);
	assert_int_equal(r.retry_after_s, 2);   /* 1.5 s left, rounded up */
	assert_true(r.audit);                   /* first refusal of the block */
	ratelimit_take(rl, "198.51.100.7", T0 + 1500000, true, &r);
	assert_int_equal(r.verdict, RATELIMIT_BLOCKED);
	assert_int_equal(r.retry_after_s, 1);
	assert_false(r.audit);
	unaudited++;
	/* other addresses are not affected */
	assert_int_equal(take(rl, "198.51.100.8", T0 + S, NULL), RATELIMIT_PASS);
	/* the block ends after block_s */
	assert_int_equal(take(rl, "198.51.100.7", T0 + 1000 + 2 * S - 1, NULL),
	    RATELIMIT_BLOCKED);
	unaudited++;
	assert_int_equal(take(rl, "198.51.100.7", T0 + 1000 + 2 * S, NULL),
	    RATELIMIT_PASS);
	/* summaries: nothing before the window ends, then the count once */
	{
		struct summary s = { "", 0, 0 };
		assert_int_equal(ratelimit_sweep(rl, T0 + 3 * S, false, on_summary, &s), 0);
		/* the first window's unaudited refusals (2nd to 4th) were set
		 * aside when the block opened a window of its own */
		assert_int_equal(s.n, 3);
		s.n = 0;
		s.calls = 0;
		(void)ratelimit_sweep(rl, T0 + 3 * S, false, on_summary, &s);
		assert_int_equal(s.calls, 0);
		(void)ratelimit_sweep(rl, T0 + 1000 + 61 * S, false, on_summary, &s);
		assert_int_equal(s.calls, 1);
		assert_int_equal(s.n, (uint64_t)unaudited - 3);
		assert_string_equal(s.key, "198.51.100.7");
		(void)ratelimit_sweep(rl, T0 + 200 * S, true, on_summary, &s);
		assert_int_equal(s.calls, 1);
	}
	ratelimit_free(rl);
}

/* Probes: exempt from the bucket, an unknown key is not even stored. */
static void
check_only_leaves_the_bucket(void **state)
{
	struct ratelimit *rl = mk(1024, 1, 1, 0, 0);
	struct ratelimit_result r;

	(void)state;
	ratelimit_take(rl, "192.0.2.50", T0, true, &r);
	assert_int_equal(r.verdict, RATELIMIT_PASS);
	assert_int_equal(ratelimit_used(rl), 0);
	assert_int_equal(take(rl, "192.0.2.50", T0, NULL), RATELIMIT_PASS);
	assert_int_equal(take(rl, "192.0.2.50", T0, NULL), RATELIMIT_LIMITED);
	for (int i = 0; i < 10; i++) {
		ratelimit_take(rl, "192.0.2.50", T0, true, &r);
		assert_int_equal(r.verdict, RATELIMIT_PASS);
	}
	ratelimit_free(rl);
}

/* Refusals by the user or tenant buckets count toward the address's block;
 * a new minute audits its first refusal again. */
static void
noted_refusals_and_windows(void **state)
{
	struct ratelimit *rl = mk(1024, 100, 100, 2, 60);
	struct ratelimit_result r;
	struct summary s = { "", 0, 0 };

	(void)state;
	ratelimit_note_refusal(rl, "192.0.2.9", T0, &r);
	assert_true(r.audit);
	ratelimit_note_refusal(rl, "192.0.2.9", T0 + 1, &r);
	assert_false(r.audit);
	assert_false(r.blocked_now);
	/* next minute: the count starts again and the first is audited */
	ratelimit_note_refusal(rl, "192.0.2.9", T0 + 61 * S, &r);
	assert_true(r.audit);
	assert_int_equal(r.refusals, 1);
	ratelimit_note_refusal(rl, "192.0.2.9", T0 + 61 * S, &r);
	ratelimit_note_refusal(rl, "192.0.2.9", T0 + 61 * S, &r);
	assert_true(r.blocked_now);
	assert_int_equal(take(rl, "192.0.2.9", T0 + 62 * S, &r), RATELIMIT_BLOCKED);
	assert_int_equal(r.retry_after_s, 59);
	assert_int_equal(ratelimit_sweep(rl, T0 + 62 * S, true, on_summary, &s), 1);
	assert_int_equal(s.n, 3);       /* 1 + 2 not recorded one by one */
	ratelimit_free(rl);
}

struct race {
	struct ratelimit *rl;
	int passed;
};

static void *
racer(void *arg)
{
	struct race *x = arg;

	for (int i = 0; i < 20000; i++) {
		char key[32];
		if (take(x->rl, "shared", T0, NULL) == RATELIMIT_PASS)
			x->passed++;
		snprintf(key, sizeof(key), "k%d", i % 500);   /* no eviction */
		(void)take(x->rl, key, T0, NULL);
	}
	return NULL;
}

/* Four threads on one key at one instant: exactly the burst passes. */
static void
thread_safety(void **state)
{
	struct ratelimit *rl = mk(4096, 1, 1000, 0, 0);
	struct race x[4];
	pthread_t t[4];
	int total = 0;

	(void)state;
	for (int i = 0; i < 4; i++) {
		x[i].rl = rl;
		x[i].passed = 0;
		assert_int_equal(pthread_create(&t[i], NULL, racer, &x[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += x[i].passed;
	}
	assert_int_equal(total, 1000);
	assert_true(ratelimit_used(rl) <= ratelimit_capacity(rl));
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_refill_arithmetic),
		cmocka_unit_test(bucket_fractions_and_extremes),
		cmocka_unit_test(policy_is_validated),
		cmocka_unit_test(eviction_bound),
		cmocka_unit_test(eviction_prefers_idle_entries),
		cmocka_unit_test(block_logic),
		cmocka_unit_test(check_only_leaves_the_bucket),
		cmocka_unit_test(noted_refusals_and_windows),
		cmocka_unit_test(thread_safety),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
