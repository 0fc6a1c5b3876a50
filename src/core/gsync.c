/*
 * Group durability barrier; see gsync.h for the contract.
 *
 * issued: the newest ticket handed out.  synced: every ticket <= synced
 * is durable.  The thread reads issued under the lock *before* it calls
 * sync_fn, so a sync never claims a ticket taken after it began.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "core/gsync.h"
#include "core/mem.h"

struct gsync_waiter {
	uint64_t ticket;
	gsync_done_fn done;
	void *arg;
	struct gsync_waiter *next;
};

struct gsync {
	gsync_sync_fn sync_fn;
	void *sync_arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t issued;
	uint64_t synced;
	kura_err failed;
	bool stop;
	struct gsync_waiter *head;
	struct gsync_stats stats;
};

/* Unlink and return the waiters whose ticket is <= upto (all of them
 * with upto == UINT64_MAX).  Called with g->lock held. */
static struct gsync_waiter *
take_upto(struct gsync *g, uint64_t upto)
{
	struct gsync_waiter **pp = &g->head, *w, *out = NULL;

	while ((w = *pp) != NULL) {
		if (w->ticket <= upto) {
			*pp = w->next;
			w->next = out;
			out = w;
		} else {
			pp = &w->next;
		}
	}
	return out;
}

/* Tell each waiter of list its outcome and free it.  Called with g->lock
 * released and re-taken, so callbacks can take other locks. */
static void
release(struct gsync *g, struct gsync_waiter *list, kura_err err)
{
	struct gsync_waiter *w, *next;
	uint64_t n = 0;

	if (list == NULL)
		return;
	pthread_mutex_unlock(&g->lock);
	for (w = list; w != NULL; w = next) {
		next = w->next;
		w->done(w->arg, err);
		free(w);
		n++;
	}
	pthread_mutex_lock(&g->lock);
	g->stats.waiters += n;
	if (n > g->stats.max_group)
		g->stats.max_group = n;
}

static void *
gsync_main(void *arg)
{
	struct gsync *g = arg;
	struct sched_param sp = { .sched_priority = 0 };

	/* SCHED_BATCH: a waiter's wake-up does not preempt the thread that
	 * woke it, so under load the request threads go on committing until
	 * they block or their time slice ends and one sync covers them all;
	 * when they are idle the sync runs at once.  Best effort. */
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	pthread_mutex_lock(&g->lock);
	for (;;) {
		uint64_t target;
		kura_err err;

		while (g->head == NULL && !g->stop)
			pthread_cond_wait(&g->cond, &g->lock);
		if (g->head == NULL)
			break;                      /* stopping, nobody waits */
		if (g->failed != KURA_OK) {
			release(g, take_upto(g, UINT64_MAX), g->failed);
			continue;
		}
		/* already covered by an earlier sync */
		release(g, take_upto(g, g->synced), KURA_OK);
		if (g->head == NULL)
			continue;
		target = g->issued;
		pthread_mutex_unlock(&g->lock);
		err = g->sync_fn(g->sync_arg);
		pthread_mutex_lock(&g->lock);
		g->stats.syncs++;
		if (err != KURA_OK) {
			/* sticky: see gsync.h */
			g->failed = err;
			release(g, take_upto(g, UINT64_MAX), err);
			continue;
		}
		if (target > g->synced)
			g->synced = target;
		release(g, take_upto(g, g->synced), KURA_OK);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

kura_err
gsync_start(gsync_sync_fn sync_fn, void *sync_arg, struct gsync **ret_g)
{
	struct gsync *g;

	if (sync_fn == NULL || ret_g == NULL)
		return KURA_EINVAL;
	if ((g = kura_calloc(1, sizeof(*g))) == NULL)
		return KURA_ENOMEM;
	g->sync_fn = sync_fn;
	g->sync_arg = sync_arg;
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		free(g);
		return KURA_ENOMEM;
	}
	if (pthread_cond_init(&g->cond, NULL) != 0) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return KURA_ENOMEM;
	}
	if (pthread_create(&g->thread, NULL, gsync_main, g) != 0) {
		pthread_cond_destroy(&g->cond);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(g->thread, "kura-walsync");
	*ret_g = g;
	return KURA_OK;
}

void
gsync_stop(struct gsync *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

uint64_t
gsync_ticket(struct gsync *g)
{
	uint64_t t;

	pthread_mutex_lock(&g->lock);
	t = ++g->issued;
	pthread_mutex_unlock(&g->lock);
	return t;
}

kura_err
gsync_wait_async(struct gsync *g, uint64_t ticket, gsync_done_fn done,
    void *arg)
{
	struct gsync_waiter *w;
	kura_err err;

	if (g == NULL || done == NULL || ticket == 0)
		return KURA_EINVAL;
	if ((w = kura_calloc(1, sizeof(*w))) == NULL)
		return KURA_ENOMEM;
	w->ticket = ticket;
	w->done = done;
	w->arg = arg;
	pthread_mutex_lock(&g->lock);
	if (g->failed != KURA_OK || g->stop) {
		err = g->failed != KURA_OK ? g->failed : KURA_EBUSY;
		pthread_mutex_unlock(&g->lock);
		free(w);
		return err;
	}
	w->next = g->head;
	g->head = w;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return KURA_OK;
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	kura_err err;
};

static void
sync_wait_done(void *arg, kura_err err)
{
	struct sync_wait *sw = arg;

	pthread_mutex_lock(&sw->lock);
	sw->err = err;
	sw->done = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

kura_err
gsync_wait(struct gsync *g, uint64_t ticket)
{
	struct sync_wait sw = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	kura_err err;

	if ((err = gsync_wait_async(g, ticket, sync_wait_done, &sw)) != KURA_OK)
		return err;
	pthread_mutex_lock(&sw.lock);
	while (!sw.done)
		pthread_cond_wait(&sw.cond, &sw.lock);
	err = sw.err;
	pthread_mutex_unlock(&sw.lock);
	pthread_cond_destroy(&sw.cond);
	pthread_mutex_destroy(&sw.lock);
	return err;
}

kura_err
gsync_failed(struct gsync *g)
{
	kura_err err;

	pthread_mutex_lock(&g->lock);
	err = g->failed;
	pthread_mutex_unlock(&g->lock);
	return err;
}

void
gsync_stats(struct gsync *g, struct gsync_stats *ret)
{
	pthread_mutex_lock(&g->lock);
	*ret = g->stats;
	pthread_mutex_unlock(&g->lock);
}
