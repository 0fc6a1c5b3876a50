#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "audit/audit.h"
#include "blob/blob.h"
#include "core/log.h"
#include "core/mem.h"
#include "jobs/exports.h"
#include "jobs/health.h"
#include "jobs/jobs.h"

/* The longest idle timeout a tenant may set (auth/settings.c): sessions
 * idle longer than this are dead for every tenant. */
#define MAX_IDLE_US (86400LL * 1000000)

struct jobs {
	struct app *app;
	unsigned period_s;
	unsigned health_s;
	struct health *health;
	struct exports *exports;             /* its own thread (exports.h) */
	/* last status of each component, to log changes only */
	enum health_status last[HEALTH_COMPONENTS];
	bool have_last;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

#define SWEEP_EVERY_US (6LL * 3600 * 1000000)
/* only the jobs thread runs rounds (and tests, one at a time) */
static int64_t last_sweep_us;

/* A content file is owned while a file version or an export names it.
 * On a store error the file counts as owned (never remove on doubt). */
static bool
blob_owned(void *arg, const char *tenant_id, const char *blob_id)
{
	struct app *app = arg;
	bool owned = true;

	if (store_blob_referenced(app->store, tenant_id, blob_id, &owned) != KURA_OK)
		return true;
	return owned;
}

/*
 * One round: purge ended sessions, seal the audit chain heads with a
 * signed checkpoint (LOG-2), remove audit records past retention as a
 * whole prefix with a signed anchor (LOG-3), and remove temporary content
 * files that no upload or export will finish (a crash mid-transfer): they
 * are encrypted, but they take space.
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
	/* files older than any transfer can still be running (exports are
	 * bounded to 6 hours); it asks the store about each old file, so it
	 * runs every few hours, not every round */
	if (last_sweep_us == 0 || now - last_sweep_us >= SWEEP_EVERY_US) {
		last_sweep_us = now;
		e2 = blob_sweep(app->blob_root, 24 * 3600, blob_owned, app, &n);
		if (e2)
			log_warn("housekeeping: sweep of content files failed: %s",
			    kura_strerror(e2));
		else if (n > 0)
			log_info("housekeeping: %zu abandoned content file(s) removed", n);
	}
	return err;
}

/*
 * One health round (MON-1): results are stored by the checker; here the
 * edge logs what changed, and a data directory short of space every round
 * (the capacity alert of MON-2 until the alerts engine takes it over).
 */
static void
health_round(struct jobs *j)
{
	struct health_result res[HEALTH_COMPONENTS];
	kura_err err;

	err = health_run(j->health, res);
	if (err)
		log_error("health: results not stored: %s", kura_strerror(err));
	for (size_t i = 0; i < HEALTH_COMPONENTS; i++) {
		bool changed = !j->have_last || j->last[i] != res[i].status;
		bool disk_low = strcmp(res[i].component, "disk") == 0 &&
		    res[i].status != HEALTH_OK;

		if (disk_low)
			log_warn("capacity: data directory low on space: %s",
			    res[i].detail);
		else if (changed && res[i].status != HEALTH_OK)
			log_warn("health: %s %s: %s", res[i].component,
			    health_status_name(res[i].status), res[i].detail);
		else if (changed && j->have_last)
			log_info("health: %s ok again: %s", res[i].component,
			    res[i].detail);
		j->last[i] = res[i].status;
	}
	j->have_last = true;
}

static void
housekeeping_round(struct jobs *j)
{
	size_t n = 0;

	if (jobs_run_once(j->app, &n) != KURA_OK)
		log_warn("housekeeping: session purge failed");
	else if (n > 0)
		log_info("housekeeping: %zu ended session(s) removed", n);
}

/* Two schedules on one thread: housekeeping every period_s and health
 * checks every health_s, both once at start.  Rounds that fall due while
 * another runs simply run next (no catching up). */
static void *
jobs_main(void *arg)
{
	struct jobs *j = arg;
	int64_t next_house = 0, next_health = 0;

	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		struct timespec until;
		int64_t now = kura_mono_us(), next, wait_us;

		pthread_mutex_unlock(&j->lock);
		if (now >= next_health) {
			health_round(j);
			next_health = now + (int64_t)j->health_s * 1000000;
		}
		if (now >= next_house) {
			housekeeping_round(j);
			next_house = now + (int64_t)j->period_s * 1000000;
		}
		next = next_house < next_health ? next_house : next_health;
		wait_us = next - kura_mono_us();
		if (wait_us < 1000)
			wait_us = 1000;
		pthread_mutex_lock(&j->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(wait_us / 1000000);
		until.tv_nsec += (long)(wait_us % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
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
	j->health_s = app->cfg->health_interval_s ?
	    (unsigned)app->cfg->health_interval_s : 300;
	if (health_new(app, &j->health) != KURA_OK) {
		free(j);
		return KURA_ENOMEM;
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	if (exports_start(app, &j->exports) != KURA_OK) {
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		health_free(j->health);
		free(j);
		return KURA_ENOMEM;
	}
	if (pthread_create(&j->thread, NULL, jobs_main, j) != 0) {
		exports_stop(j->exports);
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		health_free(j->health);
		free(j);
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(j->thread, "kura-jobs");
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
	exports_stop(j->exports);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	health_free(j->health);
	free(j);
}
