/*
 * The tenant's security settings (IAM-5, IAM-6, IAM-7, IAM-8, IAM-10):
 * GET and PUT /settings/security.  The document is sealed with the tenant
 * key (api_settings_save).  Password rules can only be made stricter:
 * auth_settings_from_json refuses anything below the built-in policy.
 */
#include <string.h>

#include "api/api.h"
#include "core/log.h"

/* GET /api/v1/settings/security */
void
api_settings_get(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	json_t *j = auth_settings_to_json(&a->settings);

	if (j == NULL) {
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	http_reply_json(req, 200, j);
}

/*
 * PUT /api/v1/settings/security: a full or partial settings object,
 * applied over the current settings.  Refuses (409 would_lock_you_out)
 * a change whose allowlists would no longer admit the caller's own
 * address for the kind of access in use now (console for a session, api
 * for a token; the "all" list always applies), so an admin cannot cut
 * themselves off by mistake (IAM-10).
 */
void
api_settings_put(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct auth_settings cur, next;
	const char *field = NULL, *msg = NULL;
	json_t *out;
	bool in_tx = false;
	kura_err err;

	if (req->json == NULL) {
		api_bad_field(req, "settings", "send a JSON object");
		return;
	}
	/* read-modify-write in one transaction so concurrent changes are not lost */
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	err = api_settings_load(app, &a->ctx, a->keys, &cur);
	if (err)
		goto out;
	if (auth_settings_from_json(req->json, &cur, &next, &field, &msg) != KURA_OK) {
		api_bad_field(req, field ? field : "settings",
		    msg ? msg : "is not valid");
		goto out;
	}
	if (!auth_settings_ip_allowed(&next, a->via_token ? AUTH_ALLOW_API :
	    AUTH_ALLOW_CONSOLE, req->client_ip)) {
		http_reply_error(req, 409, "would_lock_you_out",
		    "the new IP allowlists would not admit your own address; add it first");
		goto out;
	}
	if (memcmp(cur.n_allow, next.n_allow, sizeof(cur.n_allow)) != 0 || memcmp(cur.allow, next.allow, sizeof(cur.allow)) != 0)
		api_audit_detail(req, "allowlist_changed", json_true());   /* LOG-6 alert */
	err = api_settings_save(app, &a->ctx, a->keys, &next);
	if (err == KURA_OK)
		err = api_commit(req, 200, "security");
	if (err)
		goto out;
	in_tx = false;
	a->settings = next;
	out = auth_settings_to_json(&next);
	if (out == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	http_reply_json(req, 200, out);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied) {
		log_error("request %s: security settings not saved: %s",
		    req->request_id, kura_strerror(err));
		http_reply_kura_err(req, err);
	}
}
