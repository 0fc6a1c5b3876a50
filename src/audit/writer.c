/*
 * The audit writer thread: records from read-only requests (and failures)
 * are appended in groups, one transaction (one fsync) per group, and each
 * submitter is called back once its record is durable.
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
};

/* Append jobs[0..n) in one transaction; on failure, one by one so a bad
 * record cannot sink its neighbours.  Calls every done callback. */
static void
write_batch(struct audit *a, struct audit_job **jobs, size_t n)
{
	struct store_audit *rows;
	struct audit_heads *heads;
	kura_err err;
	size_t i;

	rows = kura_calloc(n, sizeof(*rows));
	heads = audit_heads_new();
	err = rows && heads ? store_begin(a->s) : KURA_ENOMEM;
	for (i = 0; err == KURA_OK && i < n; i++)
		err = audit_append_batch(a->s, heads, &jobs[i]->rec, &rows[i]);
	if (err == KURA_OK)
		err = store_commit(a->s);
	free(heads);
	if (err == KURA_OK) {
		for (i = 0; i < n; i++) {
			audit_notify(&rows[i]);
			if (jobs[i]->done != NULL)
				jobs[i]->done(jobs[i]->arg, KURA_OK);
		}
	} else {
		(void)store_rollback(a->s);
		for (i = 0; i < n; i++) {
			kura_err e1 = audit_append(a->s, &jobs[i]->rec);
			if (e1)
				log_error("audit: record %s not written: %s",
				    jobs[i]->rec.action, kura_strerror(e1));
			if (jobs[i]->done != NULL)
				jobs[i]->done(jobs[i]->arg, e1);
		}
	}
	if (rows != NULL)
		for (i = 0; i < n; i++)
			store_audit_clear(&rows[i]);
	free(rows);
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
		for (size_t i = 0; i < n; i++) {
			audit_rec_clear(&batch[i]->rec);
			free(batch[i]);
		}
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
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
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
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
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
