/*
 * The audit writer thread: records from read-only requests (and failures)
 * are appended in groups, one transaction per group, and each submitter is
 * called back once its record is durable.  The writer does not wait for
 * a group's WAL sync: the sync thread (core/gsync.c) calls back, and the
 * writer meanwhile commits the next group.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "core/log.h"
#include "core/mem.h"

#define QUEUE_MAX 65536

struct audit_job {
	struct audit_rec rec;
	audit_done_fn done;
	void *arg;
	struct audit_job *next;
};

struct audit {
	struct store *s;
	size_t batch_max;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct audit_job *head, *tail;
	size_t depth;
	bool stop;
	size_t last_batch;
	uint64_t records, batches;
	/* groups committed and waiting for their WAL sync (group_done) */
	size_t pending;
	pthread_cond_t idle;
};

/* A committed group waiting for its WAL sync: its jobs and stored rows. */
struct audit_group {
	struct audit *a;
	struct audit_job **jobs;
	struct store_audit *rows;
	size_t n;
};

static void
group_free(struct audit_group *g)
{
	free(g->rows);
	free(g->jobs);
	free(g);
}

/* The group is durable (err KURA_OK) or its sync failed: tell the
 * observers (alerts, SIEM) of durable records only, call every done
 * callback, free the group.  Runs on the WAL sync thread, or on the
 * writer when there is no group durability. */
static void
group_done(void *arg, kura_err err)
{
	struct audit_group *g = arg;
	struct audit *a = g->a;

	if (err != KURA_OK)
		log_error("audit: %zu record(s) not durable: %s", g->n,
		    kura_strerror(err));
	for (size_t i = 0; i < g->n; i++) {
		/* the observers may read the detail object the record was
		 * written from (the same content, unless it was cut) */
		if (g->rows[i].detail != NULL &&
		    strcmp(g->rows[i].detail, AUDIT_DETAIL_TRUNCATED) != 0)
			g->rows[i].detail_json = g->jobs[i]->rec.detail;
		if (err == KURA_OK)
			audit_notify(&g->rows[i]);
		if (g->jobs[i]->done != NULL)
			g->jobs[i]->done(g->jobs[i]->arg, err);
		store_audit_clear(&g->rows[i]);
		audit_rec_clear(&g->jobs[i]->rec);
		free(g->jobs[i]);
	}
	group_free(g);
	pthread_mutex_lock(&a->lock);
	if (--a->pending == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
}

/*
 * Append jobs[0..n) in one transaction and commit it without waiting for
 * the WAL sync: the group goes to the sync thread (store_durable_wait_async)
 * and the writer takes the next records while the sync runs.  Their done
 * callbacks run once the group is durable.  If the transaction fails, the
 * records are appended one by one instead.  Takes ownership of the jobs.
 */
static void
write_batch(struct audit *a, struct audit_job **jobs, size_t n)
{
	struct audit_group *g;
	struct audit_heads *heads = NULL;
	uint64_t ticket = 0;
	kura_err err;
	size_t i;

	g = kura_calloc(1, sizeof(*g));
	if (g != NULL) {
		g->a = a;
		g->n = n;
		g->rows = kura_calloc(n, sizeof(*g->rows));
		g->jobs = kura_calloc(n, sizeof(*g->jobs));
	}
	if (g == NULL || g->rows == NULL || g->jobs == NULL) {
		if (g != NULL)
			group_free(g);
		goto singly;
	}
	memcpy(g->jobs, jobs, n * sizeof(*jobs));
	heads = audit_heads_new();
	err = heads ? store_begin(a->s) : KURA_ENOMEM;
	for (i = 0; err == KURA_OK && i < n; i++)
		err = audit_append_batch(a->s, heads, &jobs[i]->rec, &g->rows[i]);
	if (err == KURA_OK)
		err = store_commit_grouped(a->s, &ticket);
	free(heads);
	if (err != KURA_OK) {
		(void)store_rollback(a->s);
		for (i = 0; i < n; i++)
			store_audit_clear(&g->rows[i]);
		group_free(g);
		goto singly;
	}
	pthread_mutex_lock(&a->lock);
	a->pending++;
	pthread_mutex_unlock(&a->lock);
	if (ticket == 0)
		group_done(g, KURA_OK);             /* durable already */
	else if (store_durable_wait_async(a->s, ticket, group_done, g) != KURA_OK)
		group_done(g, store_durable_wait(a->s, ticket));
	return;
singly:
	for (i = 0; i < n; i++) {
		kura_err e1 = audit_append(a->s, &jobs[i]->rec);
		if (e1)
			log_error("audit: record %s not written: %s",
			    jobs[i]->rec.action, kura_strerror(e1));
		if (jobs[i]->done != NULL)
			jobs[i]->done(jobs[i]->arg, e1);
		audit_rec_clear(&jobs[i]->rec);
		free(jobs[i]);
	}
}

static void *
writer_main(void *arg)
{
	struct audit *a = arg;
	struct audit_job **batch;
	struct sched_param sp = { .sched_priority = 0 };

	/* SCHED_BATCH, as the WAL sync thread (core/gsync.c): a submitter's
	 * wake-up does not preempt the request thread that made it, so under
	 * load the request threads go on until they block or their slice
	 * ends, and one transaction takes all their records; when they are
	 * idle the writer runs at once.  Best effort. */
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	batch = kura_calloc(a->batch_max, sizeof(*batch));
	pthread_mutex_lock(&a->lock);
	for (;;) {
		size_t n = 0;

		while (a->head == NULL && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->head == NULL && a->stop)
			break;
		while (a->head != NULL && n < a->batch_max && batch != NULL) {
			batch[n++] = a->head;
			a->head = a->head->next;
			a->depth--;
		}
		if (a->head == NULL)
			a->tail = NULL;
		a->last_batch = n;
		a->records += n;
		a->batches++;
		pthread_mutex_unlock(&a->lock);
		write_batch(a, batch, n);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	free(batch);
	store_thread_done(a->s);
	return NULL;
}

kura_err
audit_start(struct store *s, const char *key_file, size_t batch_max,
    struct audit **ret_audit)
{
	struct audit *a;

	(void)key_file;
	a = kura_calloc(1, sizeof(*a));
	if (a == NULL)
		return KURA_ENOMEM;
	a->s = s;
	a->batch_max = batch_max ? batch_max : 256;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_cond_init(&a->idle, NULL);
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		pthread_cond_destroy(&a->idle);
		free(a);
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(a->thread, "kura-audit");
	*ret_audit = a;
	return KURA_OK;
}

kura_err
audit_submit(struct audit *a, struct audit_rec *r, audit_done_fn done, void *arg)
{
	struct audit_job *j;

	j = kura_calloc(1, sizeof(*j));
	if (j == NULL)
		return KURA_ENOMEM;
	pthread_mutex_lock(&a->lock);
	if (a->depth >= QUEUE_MAX || a->stop) {
		pthread_mutex_unlock(&a->lock);
		free(j);
		return KURA_EBUSY;
	}
	j->rec = *r;
	r->detail = NULL;           /* ownership moves to the job */
	j->done = done;
	j->arg = arg;
	if (a->tail != NULL)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
	a->depth++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return KURA_OK;
}

void
audit_stop(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	/* every group the writer committed is durable and answered */
	pthread_mutex_lock(&a->lock);
	while (a->pending > 0)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	pthread_cond_destroy(&a->idle);
	free(a);
}

void
audit_stats(struct audit *a, size_t *ret_depth, size_t *ret_last_batch,
    uint64_t *ret_records, uint64_t *ret_batches)
{
	pthread_mutex_lock(&a->lock);
	if (ret_depth)
		*ret_depth = a->depth;
	if (ret_last_batch)
		*ret_last_batch = a->last_batch;
	if (ret_records)
		*ret_records = a->records;
	if (ret_batches)
		*ret_batches = a->batches;
	pthread_mutex_unlock(&a->lock);
}
