/*
 * Personal API tokens (IAM-12, DAT-1): GET|POST /tokens, DELETE
 * /tokens/{id}.
 *
 * A token carries a subset of its owner's permissions, an expiry, a sealed
 * name and labels.  The secret ("kura_" + 32 random bytes, base64url) is
 * shown once in the 201 answer; only its SHA-256 is stored, which is what
 * the gate looks tokens up by.  The gate also intersects the token's
 * permissions with the owner's current ones on every request and refuses
 * tokens of a disabled or deleted owner, so a token never outlives or
 * outgrows its owner.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/validate.h"
#include "core/log.h"
#include "core/mem.h"

#define TOKEN_PREFIX "kura_"
#define TOKEN_BYTES 32
#define TOKENS_PER_USER 50
#define TOKEN_DAYS_DEFAULT 90
#define TOKEN_DAYS_MAX 365
#define DAY_US ((int64_t)86400 * 1000000)

/*
 * JSON view of a token: id, name, labels, permissions, expires,
 * last_used, created.  Never the secret or its hash.  NULL if the sealed
 * fields do not open.
 */
static json_t *
token_json(struct http_req *req, const struct store_token *t)
{
	struct api_auth *a = api_auth(req);
	json_t *name, *labels;

	name = api_open_json(a->keys, "api_tokens", "name", t->id, &t->name);
	labels = api_open_json_value(a->keys, "api_tokens", "labels", t->id,
	    &t->labels);
	if (name == NULL || labels == NULL || !json_is_array(labels)) {
		json_decref(name);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "id", t->id,
	    "name", name, "labels", labels,
	    "permissions", api_csv_array(t->permissions),
	    "expires", api_time(a, t->expires_us),
	    "expired", t->expires_us <= kura_now_us(),
	    "last_used", api_time(a, t->last_used_us),
	    "created", api_time(a, t->created_us));
}

/* GET /api/v1/tokens[?label=X]: the caller's own tokens. */
void
api_tokens_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_token *list = NULL;
	const char *label;
	json_t *items = NULL;
	size_t n = 0;
	kura_err err;

	if (!api_label_query(req, &label))
		return;
	err = store_token_list(app->store, &a->ctx, a->user->id, &list, &n);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *t = token_json(req, &list[i]);
		if (t == NULL) {
			log_error("request %s: token %s does not open", req->request_id,
			    list[i].id);
			http_reply_error(req, 500, "internal", "internal error");
			goto out;
		}
		if (api_labels_match(json_object_get(t, "labels"), label))
			json_array_append_new(items, t);
		else
			json_decref(t);
	}
	http_reply_json(req, 200, json_pack("{s:O,s:n}", "items", items,
	    "next_cursor"));
out:
	json_decref(items);
	store_token_list_free(list, n);
}

/*
 * POST /api/v1/tokens {"name","permissions":[...],"expires_in_days"?,
 * "labels"?} -> 201 with the token and, once, its secret.  Only from a
 * signed-in session (a token cannot mint tokens), with permissions the
 * caller holds now, at most TOKENS_PER_USER per user.
 */
void
api_token_create(struct http_req *req)
{
	static const char *const fields[] = { "name", "permissions",
	    "expires_in_days", "labels", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_token t, *list = NULL;
	const char *name;
	json_t *labels = NULL, *empty = NULL, *out;
	char *secret = NULL, *full = NULL;
	rbac_perms perms = 0;
	int64_t days = TOKEN_DAYS_DEFAULT, now = kura_now_us();
	size_t n = 0, flen;
	bool in_tx = false;
	kura_err err;

	memset(&t, 0, sizeof(t));
	if (a->via_token) {
		http_reply_error(req, 403, "token_cannot_create_tokens",
		    "API tokens are created from a signed-in session, not with a token");
		return;
	}
	if (!api_only_fields(req, fields) ||
	    !api_str(req, "name", true, &name) ||
	    !api_check(req, "name", val_resource_name(name)) ||
	    !api_perms_field(req, "permissions", true, &perms, NULL) ||
	    !api_int(req, "expires_in_days", false, 1, TOKEN_DAYS_MAX, &days, NULL) ||
	    !api_labels(req, &labels))
		return;
	if (perms == 0) {
		api_bad_field(req, "permissions", "give at least one permission");
		return;
	}
	if ((perms & ~a->perms) != 0) {
		http_reply_error(req, 403, "privilege_escalation",
		    "a token cannot hold permissions you do not hold yourself");
		return;
	}
	if (labels == NULL)
		labels = empty = json_array();

	err = kcrypto_id_new("tok", t.id);
	if (err == KURA_OK)
		err = kcrypto_token_new(TOKEN_BYTES, &secret);
	if (err)
		goto out;
	flen = strlen(TOKEN_PREFIX) + strlen(secret) + 1;
	full = kura_calloc(1, flen);
	if (full == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	snprintf(full, flen, "%s%s", TOKEN_PREFIX, secret);
	err = kcrypto_sha256_hex(full, strlen(full), t.token_hash);
	if (err == KURA_OK)
		err = api_seal_str(a->keys, "api_tokens", "name", t.id, name, &t.name);
	if (err == KURA_OK)
		err = api_seal_json(a->keys, "api_tokens", "labels", t.id, labels,
		    &t.labels);
	if (err == KURA_OK && (t.permissions = rbac_format(perms)) == NULL)
		err = KURA_ENOMEM;
	if (err)
		goto out;
	snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(t.user_id, sizeof(t.user_id), "%s", a->user->id);
	t.created_us = now;
	t.expires_us = now + days * DAY_US;

	/* count and insert together, so parallel requests cannot pass the cap */
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	err = store_token_list(app->store, &a->ctx, a->user->id, &list, &n);
	if (err)
		goto out;
	if (n >= TOKENS_PER_USER) {
		http_reply_error(req, 409, "too_many_tokens",
		    "you have the most API tokens allowed (50); delete one first");
		goto out;
	}
	err = store_token_insert(app->store, &a->ctx, &t);
	if (err == KURA_OK)
		err = api_commit(req, 201, t.id);
	if (err)
		goto out;
	in_tx = false;
	out = token_json(req, &t);
	if (out == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	json_object_set_new(out, "token", json_string(full));
	http_reply_json(req, 201, out);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_token_list_free(list, n);
	json_decref(empty);
	kura_free_secret_str(secret);
	kura_free_secret_str(full);
	free(t.name.data);
	free(t.labels.data);
	free(t.permissions);
}

/*
 * DELETE /api/v1/tokens/{id}: one's own token, or (users.write) any token
 * of the tenant.  Someone else's token answers 404 like a missing one.
 */
void
api_token_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *id = http_param(req, "id");
	struct store_token *t = NULL;
	bool in_tx = false;
	kura_err err;

	if (!kcrypto_id_valid(id, "tok")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	err = store_token_get(app->store, &a->ctx, id, &t);
	if (err)
		goto out;      /* another tenant's token is ENOENT too: 404 */
	if (strcmp(t->user_id, a->user->id) != 0 &&
	    !rbac_allows(a->perms, "users.write")) {
		err = KURA_ENOENT;
		goto out;
	}
	err = store_token_delete(app->store, &a->ctx, id);
	if (err == KURA_OK)
		err = api_commit(req, 200, id);
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_token_free(t);
}
