/*
 * The application context shared by every API handler, and the route
 * table (routes.c) that names each route's permission and audit action.
 */
#ifndef KURA_API_APP_H
#define KURA_API_APP_H

#include <pthread.h>

#include "config/config.h"
#include "crypto/kcrypto.h"
#include "http/http.h"
#include "store/store.h"

struct app {
	const struct kura_config *cfg;
	struct store *store;
	/* The KEK keyring, reloaded when a tenant key names a version it does
	 * not hold (after `kura key rotate-kek` in another process). */
	pthread_rwlock_t kr_lock;
	struct kcrypto_keyring *keyring;
	/* Argon2id cost from the config, and a hash of a random password
	 * with it: unknown users are verified against it so every failed
	 * sign-in costs the same (IAM-9). */
	struct kcrypto_pwparams pw;
	char dummy_hash[KCRYPTO_PWHASH_LEN];
	/* Content files (src/blob): DATA_DIR/blobs. */
	char *blob_root;
	/* The audit writer (serve only; NULL in CLI commands). */
	struct audit *audit;
};

extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* Load the keyring and open the store; with migrate, bring the schema up
 * to date (serve, CLI); without (kura check), leave it as it is. */
kura_err app_init(struct app *app, const struct kura_config *cfg,
    bool migrate, char **ret_msg);
void app_fini(struct app *app);
/* Re-read the keyring file (after taking the key lock, so a rotation that
 * finished meanwhile is seen). */
kura_err app_reload_keyring(struct app *app);
/* Fill an http_app for the server from app. */
void app_http(struct app *app, struct http_app *ret_http);
/* Load the tenant's key set, unwrapping with the keyring (reloading it once
 * if a needed KEK version is missing).  Caller frees with kcrypto_tkeys_free. */
kura_err app_tenant_keys(struct app *app, const struct store_tctx *ctx,
    struct kcrypto_tkeys **ret_keys);

/* handlers (one file per resource) */
void api_healthz(struct http_req *req);
void api_readyz(struct http_req *req);
void api_console_redirect(struct http_req *req);
void api_console_index(struct http_req *req);
void api_console_file(struct http_req *req);

#endif
