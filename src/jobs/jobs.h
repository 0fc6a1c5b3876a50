/*
 * Background jobs of `kura serve`: one owned thread that runs periodic
 * tasks (now: purge of ended sessions; later backups, purges, health
 * checks).  Library-style: no logging here; the serve edge logs.
 */
#ifndef KURA_JOBS_JOBS_H
#define KURA_JOBS_JOBS_H

#include "core/error.h"

struct app;
struct jobs;

/* Start the jobs thread for app; period_s between rounds. */
kura_err jobs_start(struct app *app, unsigned period_s, struct jobs **ret_jobs);
/* Stop and join the thread; accepts NULL. */
void jobs_stop(struct jobs *j);
/* One round now (also used by tests): returns how many sessions ended. */
kura_err jobs_run_once(struct app *app, size_t *ret_sessions);

#endif
