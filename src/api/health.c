/*
 * Probes (MON-1).  /healthz: the process answers.  /readyz: the database
 * and keys work now, plus the state of every component from the health
 * checker's last round (jobs/health.c): states only, the details are for
 * operators (/metrics, the database), as probes are public.
 */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"

/* GET /healthz: the process is alive and answering. */
void
api_healthz(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /readyz: 200 when the database answers, the keyring holds a current
 * KEK and the last health round did not find the database or the keys
 * failing; 503 otherwise. */
void
api_readyz(struct http_req *req)
{
	struct app *app = req->app;
	struct store_health *h = NULL;
	json_t *components;
	size_t n = 0;
	bool db_ok, keys_ok, ready;

	db_ok = store_ping(app->store) == KURA_OK;
	pthread_rwlock_rdlock(&app->kr_lock);
	keys_ok = app->keyring != NULL &&
	    kcrypto_keyring_has(app->keyring, kcrypto_keyring_current(app->keyring));
	pthread_rwlock_unlock(&app->kr_lock);
	ready = db_ok && keys_ok;
	components = json_object();
	if (db_ok && store_health_latest(app->store, &h, &n) == KURA_OK) {
		for (size_t i = 0; i < n; i++) {
			json_object_set_new(components, h[i].component,
			    json_string(h[i].status));
			if (strcmp(h[i].status, "failing") == 0 &&
			    (strcmp(h[i].component, "database") == 0 ||
			    strcmp(h[i].component, "keys") == 0))
				ready = false;
		}
		free(h);
	}
	http_reply_json(req, ready ? 200 : 503,
	    json_pack("{s:s,s:{s:s,s:s},s:o*}", "status",
	    ready ? "ready" : "not_ready", "checks",
	    "database", db_ok ? "ok" : "failed", "keys", keys_ok ? "ok" : "failed",
	    "components", components));
}
