#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/mem.h"

kura_err
app_init(struct app *app, const struct kura_config *cfg, bool migrate,
    char **ret_msg)
{
	struct kbuf b;
	kura_err err;

	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	pthread_rwlock_init(&app->kr_lock, NULL);
	kbuf_init(&b, 1024);
	err = config_check_private_file(cfg->kek_file, ret_msg);
	if (err)
		goto out;
	err = kcrypto_keyring_load(cfg->kek_file, &app->keyring);
	if (err) {
		(void)kbuf_printf(&b, "%s: cannot load the keyring: %s",
		    cfg->kek_file, kura_strerror(err));
		*ret_msg = kbuf_steal(&b, NULL);
		goto out;
	}
	app->pw.opslimit = cfg->argon2_iterations;
	app->pw.memlimit = (size_t)cfg->argon2_memory_kib * 1024;
	{
		char *rnd = NULL;
		err = kcrypto_pw_generate(24, &rnd);
		if (err == KURA_OK)
			err = kcrypto_pw_hash(&app->pw, rnd, app->dummy_hash);
		kura_free_secret_str(rnd);
		if (err) {
			(void)kbuf_printf(&b, "cannot compute a password hash with the "
			    "configured Argon2id cost: %s", kura_strerror(err));
			*ret_msg = kbuf_steal(&b, NULL);
			goto out;
		}
	}
	app->blob_root = kbuf_strdupf(8192, "%s/blobs", cfg->data_dir);
	if (app->blob_root == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	err = store_open_sqlite(cfg->database, &app->store);
	if (err == KURA_OK && migrate)
		err = store_migrate(app->store);
	if (err) {
		(void)kbuf_printf(&b, "%s: cannot open the database: %s",
		    cfg->database, kura_strerror(err));
		*ret_msg = kbuf_steal(&b, NULL);
		goto out;
	}
out:
	kbuf_free(&b);
	if (err)
		app_fini(app);
	return err;
}

void
app_fini(struct app *app)
{
	store_close(app->store);
	app->store = NULL;
	kcrypto_keyring_free(app->keyring);
	app->keyring = NULL;
	free(app->blob_root);
	app->blob_root = NULL;
	pthread_rwlock_destroy(&app->kr_lock);
}

/* Unwrap every key version of one tenant with kr. */
static kura_err
unwrap_all(const struct kcrypto_keyring *kr, const struct store_tenant_key *rows,
    size_t n, const char *tenant_id, struct kcrypto_tkeys **ret_keys)
{
	struct kcrypto_tkeys *set = NULL;
	kura_err err;

	err = kcrypto_tkeys_new(tenant_id, &set);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct kcrypto_tkey *k = NULL;
		err = kcrypto_tkey_unwrap(kr, tenant_id, rows[i].version,
		    rows[i].kek_version, rows[i].wrapped.data, rows[i].wrapped.len, &k);
		if (err)
			goto out;
		err = kcrypto_tkeys_add(set, k);
		if (err)
			goto out;
	}
	if (n == 0)
		err = KURA_ENOENT;
out:
	if (err) {
		kcrypto_tkeys_free(set);
		return err;
	}
	*ret_keys = set;
	return KURA_OK;
}

kura_err
app_tenant_keys(struct app *app, const struct store_tctx *ctx,
    struct kcrypto_tkeys **ret_keys)
{
	struct store_tenant_key *rows = NULL;
	size_t n = 0;
	kura_err err;

	err = store_tkey_list(app->store, ctx, &rows, &n);
	if (err)
		return err;
	pthread_rwlock_rdlock(&app->kr_lock);
	err = unwrap_all(app->keyring, rows, n, ctx->tenant_id, ret_keys);
	pthread_rwlock_unlock(&app->kr_lock);
	if (err == KURA_ENOENT && n > 0) {
		/* a KEK version we do not hold: the keyring was rotated by
		 * another process; reload it once and retry */
		err = app_reload_keyring(app);
		if (err == KURA_OK) {
			pthread_rwlock_rdlock(&app->kr_lock);
			err = unwrap_all(app->keyring, rows, n, ctx->tenant_id,
			    ret_keys);
			pthread_rwlock_unlock(&app->kr_lock);
		}
	}
	store_tkey_list_free(rows, n);
	return err;
}

kura_err
app_reload_keyring(struct app *app)
{
	struct kcrypto_keyring *fresh = NULL;
	kura_err err;

	err = kcrypto_keyring_load(app->cfg->kek_file, &fresh);
	if (err)
		return err;
	pthread_rwlock_wrlock(&app->kr_lock);
	kcrypto_keyring_free(app->keyring);
	app->keyring = fresh;
	pthread_rwlock_unlock(&app->kr_lock);
	return KURA_OK;
}

void
app_http(struct app *app, struct http_app *ret_http)
{
	memset(ret_http, 0, sizeof(*ret_http));
	ret_http->routes = api_routes;
	ret_http->n_routes = api_n_routes;
	ret_http->ctx = app;
	ret_http->gate = api_gate;
	ret_http->after = api_gate_after;
	ret_http->cleanup = api_cleanup;
	ret_http->record = api_record;
	ret_http->completed = api_metrics_completed;   /* metrics (MON-2) */
	ret_http->notice = api_ratelimit_notice;       /* rate limits (MON-3) */
}
