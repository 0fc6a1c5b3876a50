#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "api/app.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/mem.h"
#include "jobs/jobs.h"

/* The longest idle timeout a tenant may set (auth/settings.c): sessions
 * idle longer than this are dead for every tenant. */
#define MAX_IDLE_US (86400LL * 1000000)

struct jobs {
	struct app *app;
	unsigned period_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

/*
 * One round: purge ended sessions, seal the audit chain heads with a
 * signed checkpoint (LOG-2), and remove audit records past retention as a
 * whole prefix with a signed anchor (LOG-3).
 */
kura_err
jobs_run_once(struct app *app, size_t *ret_sessions)
{
	const struct kura_config *cfg = app->cfg;
	int64_t now = kura_now_us();
	size_t n = 0;
	kura_err err, e2;

	err = store_session_purge(app->store, now, now - MAX_IDLE_US, ret_sessions);
	e2 = audit_checkpoint(app->store, cfg->audit_key, &n);
	if (e2)
		log_warn("housekeeping: audit checkpoint failed: %s", kura_strerror(e2));
	e2 = audit_expire(app->store, cfg->audit_key, now -
	    (int64_t)cfg->audit_retention_days * 86400 * 1000000, &n);
	if (e2)
		log_warn("housekeeping: audit retention failed: %s", kura_strerror(e2));
	else if (n > 0)
		log_info("housekeeping: %zu audit record(s) past retention removed", n);
	return err;
}

static void *
jobs_main(void *arg)
{
	struct jobs *j = arg;

	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		struct timespec until;
		size_t n = 0;

		pthread_mutex_unlock(&j->lock);
		if (jobs_run_once(j->app, &n) != KURA_OK)
			log_warn("housekeeping: session purge failed");
		else if (n > 0)
			log_info("housekeeping: %zu ended session(s) removed", n);
		pthread_mutex_lock(&j->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += j->period_s;
		while (!j->stop &&
		    pthread_cond_timedwait(&j->cond, &j->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&j->lock);
	store_thread_done(j->app->store);
	return NULL;
}

kura_err
jobs_start(struct app *app, unsigned period_s, struct jobs **ret_jobs)
{
	struct jobs *j = kura_calloc(1, sizeof(*j));

	if (j == NULL)
		return KURA_ENOMEM;
	j->app = app;
	j->period_s = period_s ? period_s : 60;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	if (pthread_create(&j->thread, NULL, jobs_main, j) != 0) {
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		free(j);
		return KURA_ENOMEM;
	}
	*ret_jobs = j;
	return KURA_OK;
}

void
jobs_stop(struct jobs *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}
