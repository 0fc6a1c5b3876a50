/*
 * Health checks of every component (MON-1, LOG-4): the database (ping and
 * a write/read round trip), free space of the data directory, the keys
 * (KEK keyring and audit signing key load), the audit writer (queue
 * bounded and moving) and clock synchronisation as the kernel reports it
 * (adjtimex: STA_UNSYNC, maxerror).  Each round stores one result per
 * component (0005) and prunes history past HEALTH_KEEP_DAYS, for the
 * status page, /readyz and /metrics.  No logging here: the jobs thread
 * logs what changed.
 */
#ifndef KURA_JOBS_HEALTH_H
#define KURA_JOBS_HEALTH_H

#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define HEALTH_COMPONENTS 5
#define HEALTH_KEEP_DAYS 30

struct app;
struct health;

enum health_status { HEALTH_OK = 0, HEALTH_DEGRADED, HEALTH_FAILING };

struct health_result {
	const char *component;              /* static name */
	enum health_status status;
	char detail[STORE_HEALTH_DETAIL_MAX];
	int64_t checked_us;
};

/* Checker state between rounds (audit writer progress). */
kura_err health_new(struct app *app, struct health **ret_h);
/* Accepts NULL. */
void health_free(struct health *h);
/* One round: check, store (KURA_OK even if a component fails; the store
 * error if results could not be saved, e.g. the database is down) and
 * fill ret[HEALTH_COMPONENTS]. */
kura_err health_run(struct health *h, struct health_result ret[HEALTH_COMPONENTS]);
const char *health_status_name(enum health_status s);

#endif
