#include "api/app.h"

/* GET /healthz: the process is alive and answering. */
void
api_healthz(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /readyz: the database answers and the keyring holds a current KEK. */
void
api_readyz(struct http_req *req)
{
	struct app *app = req->app;
	bool db_ok, keys_ok;

	db_ok = store_ping(app->store) == KURA_OK;
	pthread_rwlock_rdlock(&app->kr_lock);
	keys_ok = app->keyring != NULL &&
	    kcrypto_keyring_has(app->keyring, kcrypto_keyring_current(app->keyring));
	pthread_rwlock_unlock(&app->kr_lock);
	http_reply_json(req, db_ok && keys_ok ? 200 : 503,
	    json_pack("{s:s,s:{s:s,s:s}}", "status",
	    db_ok && keys_ok ? "ready" : "not_ready", "checks",
	    "database", db_ok ? "ok" : "failed", "keys", keys_ok ? "ok" : "failed"));
}
