/*
 * Unit tests for src/core/gsync: the group durability barrier.  A fake
 * sync function stands in for fdatasync: "written" counts commits, and a
 * sync makes durable what was written when it started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/gsync.h"

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t written;       /* commits issued */
	uint64_t durable;       /* commits covered by a finished sync */
	unsigned calls;
	unsigned fail_at;       /* 1-based call that fails; 0: never */
	bool hold;              /* the sync blocks while set */
	bool in_sync;
	long sleep_ns;
};

static void
fake_init(struct fake *f)
{
	*f = (struct fake){ .fail_at = 0 };
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

static void
fake_fini(struct fake *f)
{
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

static kura_err
fake_sync(void *arg)
{
	struct fake *f = arg;
	uint64_t upto;
	unsigned n;

	pthread_mutex_lock(&f->lock);
	upto = f->written;      /* what is on "disk" once this returns */
	n = ++f->calls;
	f->in_sync = true;
	pthread_cond_broadcast(&f->cond);
	while (f->hold)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	if (f->sleep_ns > 0) {
		struct timespec ts = { 0, f->sleep_ns };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&f->lock);
	f->in_sync = false;
	if (f->fail_at == 0 || n < f->fail_at) {
		if (upto > f->durable)
			f->durable = upto;
		pthread_mutex_unlock(&f->lock);
		return KURA_OK;
	}
	pthread_mutex_unlock(&f->lock);
	return KURA_EIO;
}

/* "commit": one more write, then the ticket (the order api_commit uses) */
static uint64_t
commit(struct fake *f, struct gsync *g, uint64_t *ret_mine)
{
	pthread_mutex_lock(&f->lock);
	*ret_mine = ++f->written;
	pthread_mutex_unlock(&f->lock);
	return gsync_ticket(g);
}

struct writer {
	struct fake *f;
	struct gsync *g;
	int n;
	int ok, failed, early;  /* early: released before durable (a bug) */
	kura_err last;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < w->n; i++) {
		uint64_t mine, durable;
		uint64_t t = commit(w->f, w->g, &mine);
		kura_err err = gsync_wait(w->g, t);

		pthread_mutex_lock(&w->f->lock);
		durable = w->f->durable;
		pthread_mutex_unlock(&w->f->lock);
		if (err == KURA_OK) {
			w->ok++;
			if (durable < mine)
				w->early++;
		} else {
			w->failed++;
			w->last = err;
		}
	}
	return NULL;
}

/* 8 threads x 200 commits: each is released only once a sync that began
 * after its write has finished, and syncs are shared. */
static void
concurrent_waiters_released_only_when_durable(void **state)
{
	struct writer w[8];
	pthread_t th[8];
	struct gsync_stats st;
	struct gsync *g = NULL;
	struct fake f;

	(void)state;
	fake_init(&f);
	f.sleep_ns = 200 * 1000;
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct writer){ .f = &f, .g = g, .n = 200 };
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 200);
		assert_int_equal(w[i].failed, 0);
		assert_int_equal(w[i].early, 0);
	}
	gsync_stats(g, &st);
	assert_true(st.waiters == 1600);
	assert_true(st.syncs >= 1 && st.syncs < 1600);   /* grouped */
	assert_true(st.max_group > 1);
	assert_int_equal(gsync_failed(g), KURA_OK);
	gsync_stop(g);
	fake_fini(&f);
}

struct done_rec {
	pthread_mutex_t lock;
	int calls;
	kura_err err;
};

static void
on_done(void *arg, kura_err err)
{
	struct done_rec *d = arg;

	pthread_mutex_lock(&d->lock);
	d->calls++;
	d->err = err;
	pthread_mutex_unlock(&d->lock);
}

static int
done_calls(struct done_rec *d)
{
	int n;

	pthread_mutex_lock(&d->lock);
	n = d->calls;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static void
wait_for_calls(struct done_rec *d, int n)
{
	struct timespec ts = { 0, 1000 * 1000 };

	for (int i = 0; i < 5000 && done_calls(d) < n; i++)
		nanosleep(&ts, NULL);
}

static void
wait_in_sync(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	while (!f->in_sync)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

/* A commit whose ticket is taken while a sync runs is not released by
 * that sync, only by the next one. */
static void
ticket_after_sync_start_waits_for_next_sync(void **state)
{
	struct done_rec a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct done_rec b = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct gsync *g = NULL;
	uint64_t ma, mb, ta, tb;
	struct fake f;

	(void)state;
	fake_init(&f);
	f.hold = true;
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	ta = commit(&f, g, &ma);
	assert_int_equal(gsync_wait_async(g, ta, on_done, &a), KURA_OK);
	wait_in_sync(&f);               /* sync 1 has started, covers ta */
	tb = commit(&f, g, &mb);
	assert_true(tb > ta);
	assert_int_equal(gsync_wait_async(g, tb, on_done, &b), KURA_OK);
	pthread_mutex_lock(&f.lock);
	f.hold = false;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	wait_for_calls(&a, 1);
	wait_for_calls(&b, 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, KURA_OK);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, KURA_OK);
	assert_true(f.calls == 2);      /* b needed a second sync */
	assert_true(f.durable >= mb);
	gsync_stop(g);
	fake_fini(&f);
}

/* A failed sync fails its group and every later waiter, with no further
 * sync: nothing written before it can be proven durable any more. */
static void
failed_sync_fails_waiters_and_sticks(void **state)
{
	struct done_rec a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct done_rec b = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct gsync *g = NULL;
	uint64_t m, t1, t2, t3;
	struct fake f;

	(void)state;
	fake_init(&f);
	f.fail_at = 2;
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	t1 = commit(&f, g, &m);
	assert_int_equal(gsync_wait(g, t1), KURA_OK);     /* sync 1 fine */

	f.hold = true;
	t2 = commit(&f, g, &m);
	assert_int_equal(gsync_wait_async(g, t2, on_done, &a), KURA_OK);
	wait_in_sync(&f);               /* sync 2 (failing) has started */
	t3 = commit(&f, g, &m);         /* after it: would need sync 3 */
	assert_int_equal(gsync_wait_async(g, t3, on_done, &b), KURA_OK);
	pthread_mutex_lock(&f.lock);
	f.hold = false;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	wait_for_calls(&a, 1);
	wait_for_calls(&b, 1);
	assert_int_equal(a.err, KURA_EIO);
	assert_int_equal(b.err, KURA_EIO);
	assert_int_equal(gsync_failed(g), KURA_EIO);
	/* later commits fail at once, and no sync is tried for them */
	t3 = commit(&f, g, &m);
	assert_int_equal(gsync_wait(g, t3), KURA_EIO);
	assert_int_equal(gsync_wait_async(g, t3, on_done, &b), KURA_EIO);
	assert_int_equal(b.calls, 1);
	assert_true(f.calls == 2);
	gsync_stop(g);
	fake_fini(&f);
}

/* Concurrent writers while a sync fails: every waiter hears an outcome,
 * none is told OK for a write the failed sync should have covered. */
static void
concurrent_waiters_see_the_failure(void **state)
{
	struct writer w[4];
	pthread_t th[4];
	struct gsync *g = NULL;
	struct fake f;
	int ok = 0, failed = 0;

	(void)state;
	fake_init(&f);
	f.sleep_ns = 100 * 1000;
	f.fail_at = 5;
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ .f = &f, .g = g, .n = 100 };
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].early, 0);
		assert_int_equal(w[i].ok + w[i].failed, 100);
		if (w[i].failed > 0)
			assert_int_equal(w[i].last, KURA_EIO);
		ok += w[i].ok;
		failed += w[i].failed;
	}
	assert_true(failed > 0);
	assert_true(ok > 0);            /* syncs 1-4 succeeded */
	assert_true(f.calls == 5);
	gsync_stop(g);
	fake_fini(&f);
}

/* gsync_stop syncs once more for waiters still queued. */
static void
stop_releases_pending_waiters(void **state)
{
	struct done_rec a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct gsync *g = NULL;
	uint64_t m, t;
	struct fake f;

	(void)state;
	fake_init(&f);
	f.sleep_ns = 2 * 1000 * 1000;
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	t = commit(&f, g, &m);
	assert_int_equal(gsync_wait_async(g, t, on_done, &a), KURA_OK);
	gsync_stop(g);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, KURA_OK);
	assert_true(f.durable >= m);
	fake_fini(&f);
}

static void
bad_arguments_refused(void **state)
{
	struct done_rec a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct gsync *g = NULL;
	struct fake f;

	(void)state;
	fake_init(&f);
	assert_int_equal(gsync_start(NULL, &f, &g), KURA_EINVAL);
	assert_int_equal(gsync_start(fake_sync, &f, &g), KURA_OK);
	assert_int_equal(gsync_wait_async(g, 0, on_done, &a), KURA_EINVAL);
	assert_int_equal(gsync_wait_async(g, 1, NULL, &a), KURA_EINVAL);
	assert_true(gsync_ticket(g) == 1);
	gsync_stop(g);
	gsync_stop(NULL);
	fake_fini(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_waiters_released_only_when_durable),
		cmocka_unit_test(ticket_after_sync_start_waits_for_next_sync),
		cmocka_unit_test(failed_sync_fails_waiters_and_sticks),
		cmocka_unit_test(concurrent_waiters_see_the_failure),
		cmocka_unit_test(stop_releases_pending_waiters),
		cmocka_unit_test(bad_arguments_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
