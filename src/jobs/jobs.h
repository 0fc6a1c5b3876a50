/*
 * Background jobs of `kura serve`: one owned thread that runs periodic
 * tasks: housekeeping (purge of ended sessions, audit checkpoints and
 * retention) every period_s, and health checks (health.h, MON-1) every
 * [health] interval_s; both once at start.  The thread is the edge that
 * logs their outcome.
 */
#ifndef KURA_JOBS_JOBS_H
#define KURA_JOBS_JOBS_H

#include "core/error.h"

struct app;
struct jobs;

/* Start the jobs thread for app; period_s between housekeeping rounds
 * (health checks follow app->cfg). */
kura_err jobs_start(struct app *app, unsigned period_s, struct jobs **ret_jobs);
/* Stop and join the thread; accepts NULL. */
void jobs_stop(struct jobs *j);
/* One round now (also used by tests): returns how many sessions ended. */
kura_err jobs_run_once(struct app *app, size_t *ret_sessions);

#endif
