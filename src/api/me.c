/*
 * The signed-in user's own account: GET /me, PUT /me/password, sessions,
 * TOTP enrolment (IAM-5, IAM-6, IAM-8).
 */
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "api/api.h"
#include "auth/totp.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#define RECOVERY_CODES 10

/* GET /api/v1/me */
void
api_me_get(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	json_t *u = api_user_json(req, a->user);
	char *perms = rbac_format(a->perms);
	uint32_t codes = 0;

	if (u == NULL || perms == NULL) {
		free(perms);
		json_decref(u);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	(void)store_recovery_count(((struct app *)req->app)->store, &a->ctx,
	    a->user->id, &codes);
	json_object_set_new(u, "permissions", api_csv_array(perms));
	json_object_set_new(u, "recovery_codes_left", json_integer(codes));
	json_object_set_new(u, "mfa_required_by_tenant",
	    json_boolean(api_mfa_required(&a->settings, a->is_admin)));
	json_object_set_new(u, "tenant", json_pack("{s:s,s:s,s:o*,s:s,s:s}",
	    "id", a->tenant->id, "contract_id", a->tenant->contract_id,
	    "name", api_open_json(a->keys, "tenants", "name", a->tenant->id,
	    &a->tenant->name),
	    "region", a->tenant->region, "timezone", a->tenant->timezone));
	json_object_set_new(u, "via_token", json_boolean(a->via_token));
	/* what the console needs without settings.read: the policy a new
	 * password must meet, and the idle timeout it warns about */
	json_object_set_new(u, "password_policy", json_pack("{s:I,s:I}",
	    "min_length", (json_int_t)a->settings.password.min_len,
	    "min_classes", (json_int_t)a->settings.password.min_classes));
	json_object_set_new(u, "idle_timeout_seconds",
	    json_integer(a->settings.idle_timeout_s));
	free(perms);
	http_reply_json(req, 200, u);
}

struct pw_work {
	char *current;
	char *next;
};

static void
pw_work_free(void *arg)
{
	struct pw_work *w = arg;
	if (w == NULL)
		return;
	kura_free_secret_str(w->current);
	kura_free_secret_str(w->next);
	free(w);
}

static void
password_run(struct http_req *req)
{
	struct app *app = req->app;
	struct api_auth *a = api_auth(req);
	struct pw_work *w = req->work;
	struct store_user *cur = NULL;
	char hash[KCRYPTO_PWHASH_LEN];
	const char *why = NULL;
	int64_t now = kura_now_us();
	kura_err err;

	if (a->user->password_hash == NULL ||
	    kcrypto_pw_verify(a->user->password_hash, w->current) != KURA_OK) {
		api_record_failure(req, &a->ctx, a->user, &a->settings, now, 403);
		http_reply_error(req, 403, "wrong_password",
		    "the current password is not correct");
		return;
	}
	if (auth_password_check(&a->settings.password, w->next, &why) != KURA_OK) {
		http_reply_error(req, 400, "password_policy", why);
		return;
	}
	if (strcmp(w->current, w->next) == 0) {
		http_reply_error(req, 400, "password_policy",
		    "the new password must differ from the current one");
		return;
	}
	err = kcrypto_pw_hash(&app->pw, w->next, hash);
	if (err == KURA_OK)
		err = store_begin(app->store);
	if (err == KURA_OK) {
		err = store_user_get(app->store, &a->ctx, a->user->id, &cur);
		if (err == KURA_OK) {
			free(cur->password_hash);
			cur->password_hash = kura_strdup(hash);
			cur->must_change_password = 0;
			cur->password_changed_us = now;
			cur->updated_us = now;
			err = cur->password_hash ? store_user_update(app->store, &a->ctx,
			    cur) : KURA_ENOMEM;
		}
		/* other sessions end: whoever else had the old password is out */
		if (err == KURA_OK && !a->via_token)
			err = store_session_delete_user(app->store, &a->ctx, a->user->id,
			    a->session_id, NULL);
		if (err == KURA_OK)
			err = api_commit(req, 200, a->user->id);
		if (err)
			(void)store_rollback(app->store);
	}
	kura_wipe(hash, sizeof(hash));
	store_user_free(cur);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:b}", "password_changed", 1));
}

/* PUT /api/v1/me/password {"current_password","new_password"} */
void
api_me_password(struct http_req *req)
{
	static const char *const fields[] = { "current_password", "new_password", NULL };
	const char *cur, *next;
	struct pw_work *w;

	if (!api_only_fields(req, fields) ||
	    !api_str(req, "current_password", true, &cur) ||
	    !api_str(req, "new_password", true, &next))
		return;
	w = kura_calloc(1, sizeof(*w));
	if (w == NULL || (w->current = kura_strdup(cur)) == NULL ||
	    (w->next = kura_strdup(next)) == NULL) {
		pw_work_free(w);
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	req->work = w;
	req->work_free = pw_work_free;
	http_defer(req, password_run);
}

/* GET /api/v1/me/sessions */
void
api_me_sessions(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_session *list = NULL;
	size_t n = 0;
	json_t *items;
	kura_err err;

	err = store_session_list_user(app->store, &a->ctx, a->user->id, &list, &n);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].kind, "full") != 0)
			continue;
		json_array_append_new(items, json_pack("{s:s,s:o,s:o,s:o,s:s,s:b}",
		    "id", list[i].id, "created", api_time(a, list[i].created_us),
		    "last_seen", api_time(a, list[i].last_seen_us),
		    "expires", api_time(a, list[i].expires_us),
		    "client_ip", list[i].client_ip,
		    "current", strcmp(list[i].id, a->session_id) == 0));
	}
	store_session_list_free(list, n);
	http_reply_json(req, 200, json_pack("{s:o,s:n}", "items", items,
	    "next_cursor"));
}

/* DELETE /api/v1/me/sessions/{id} */
void
api_me_session_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *id = http_param(req, "id");
	kura_err err;

	if (!kcrypto_id_valid(id, "ses")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_session_delete(app->store, &a->ctx, a->user->id, id);
	if (err == KURA_OK)
		err = api_commit(req, 200, id);
	if (err) {
		(void)store_rollback(app->store);
		http_reply_kura_err(req, err);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:b}", "deleted", 1));
}

/* POST /api/v1/me/mfa/totp: a new pending secret and its otpauth URI. */
/*
 * The otpauth URI as a QR code (libqrencode, error correction M): {"size":
 * N, "modules": N*N '0'/'1' row by row}.  The console draws it on a canvas,
 * so the secret never becomes an image URL or leaves the page.  NULL when
 * it cannot be made (the secret and URI still let the user type it in).
 */
static json_t *
qr_json(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	json_t *ret = NULL;
	char *bits;
	size_t n;

	if (qr == NULL)
		return NULL;
	n = (size_t)qr->width * (size_t)qr->width;
	bits = malloc(n + 1);
	if (bits != NULL) {
		for (size_t i = 0; i < n; i++)
			bits[i] = (qr->data[i] & 1) ? '1' : '0';
		bits[n] = '\0';
		ret = json_pack("{s:i,s:s}", "size", qr->width, "modules", bits);
		kura_wipe(bits, n);
		free(bits);
	}
	kura_wipe(qr->data, n);
	QRcode_free(qr);
	return ret;
}

void
api_me_totp_start(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	uint8_t raw[TOTP_SECRET_BYTES];
	char b32[TOTP_B32_LEN + 8];
	struct store_user *cur = NULL;
	struct kbuf uri;
	json_t *login;
	kura_err err;

	if (a->user->mfa_enabled) {
		http_reply_error(req, 409, "mfa_already_enabled",
		    "two-step verification is already on; turn it off first");
		return;
	}
	kbuf_init_secret(&uri, 1024);
	err = kcrypto_random(raw, sizeof(raw));
	if (err)
		goto out;
	totp_b32_encode(raw, sizeof(raw), b32);
	err = store_begin(app->store);
	if (err)
		goto out;
	err = store_user_get(app->store, &a->ctx, a->user->id, &cur);
	if (err == KURA_OK) {
		free(cur->totp_pending.data);
		cur->totp_pending.data = NULL;
		err = api_seal_str(a->keys, "users", "totp_pending", cur->id, b32,
		    &cur->totp_pending);
	}
	if (err == KURA_OK) {
		cur->updated_us = kura_now_us();
		err = store_user_update(app->store, &a->ctx, cur);
	}
	if (err == KURA_OK)
		err = api_commit(req, 200, a->user->id);
	if (err) {
		(void)store_rollback(app->store);
		goto out;
	}
	login = api_open_json(a->keys, "users", "login_id", a->user->id,
	    &a->user->login_id);
	err = kbuf_printf(&uri, "otpauth://totp/kura:%s?secret=%s&issuer=kura"
	    "&algorithm=SHA1&digits=6&period=30",
	    login ? json_string_value(login) : "user", b32);
	json_decref(login);
	if (err)
		goto out;
	http_reply_json(req, 200, json_pack("{s:s,s:s,s:o*}", "secret", b32,
	    "otpauth_uri", uri.data, "qr", qr_json(uri.data)));
out:
	kura_wipe(raw, sizeof(raw));
	kura_wipe(b32, sizeof(b32));
	kbuf_free(&uri);
	store_user_free(cur);
	if (err)
		http_reply_kura_err(req, err);
}

/* Decode a sealed base32 TOTP secret into key. */
static kura_err
open_secret(const struct api_auth *a, const char *column,
    const struct store_blob *b, uint8_t *key, size_t cap, size_t *ret_len)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	kura_err err;

	if (b->data == NULL)
		return KURA_ENOENT;
	err = kcrypto_open(a->keys, "users", column, a->user->id, b->data, b->len,
	    &pt, &len);
	if (err)
		return err;
	err = totp_b32_decode((const char *)pt, key, cap, ret_len);
	kura_wipe(pt, len);
	free(pt);
	return err;
}

/* POST /api/v1/me/mfa/totp/confirm {"code"}: enable MFA, return 10
 * one-time recovery codes (only their keyed hashes are stored). */
void
api_me_totp_confirm(struct http_req *req)
{
	static const char *const fields[] = { "code", NULL };
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *cur = NULL;
	char hashes[RECOVERY_CODES][STORE_INDEX_MAX];
	char codes[RECOVERY_CODES][12];
	uint8_t key[64], rnd[10];
	size_t klen = 0;
	int64_t step = 0, now = kura_now_us();
	const char *code;
	json_t *arr = NULL;
	kura_err err;

	if (!api_only_fields(req, fields) || !api_str(req, "code", true, &code))
		return;
	if (a->user->mfa_enabled) {
		http_reply_error(req, 409, "mfa_already_enabled",
		    "two-step verification is already on");
		return;
	}
	err = open_secret(a, "totp_pending", &a->user->totp_pending, key,
	    sizeof(key), &klen);
	if (err) {
		http_reply_error(req, 409, "no_pending_enrolment",
		    "start with POST /api/v1/me/mfa/totp");
		return;
	}
	if (totp_verify(key, klen, code, now / 1000000, 0, &step) != KURA_OK) {
		kura_wipe(key, sizeof(key));
		http_reply_error(req, 400, "invalid_code",
		    "the code does not match; check the authenticator's clock");
		return;
	}
	kura_wipe(key, sizeof(key));
	for (size_t i = 0; i < RECOVERY_CODES && err == KURA_OK; i++) {
		char plain[11];
		err = kcrypto_random(rnd, sizeof(rnd));
		for (size_t k = 0; k < 10 && err == KURA_OK; k++)
			plain[k] = alphabet[rnd[k] & 31];
		plain[10] = '\0';
		snprintf(codes[i], sizeof(codes[i]), "%.5s-%.5s", plain, plain + 5);
		if (err == KURA_OK)
			err = api_blind(a->keys, "recovery", plain, hashes[i]);
		kura_wipe(plain, sizeof(plain));
	}
	if (err == KURA_OK)
		err = store_begin(app->store);
	if (err == KURA_OK) {
		err = store_user_get(app->store, &a->ctx, a->user->id, &cur);
		if (err == KURA_OK) {
			free(cur->totp_secret.data);
			cur->totp_secret = cur->totp_pending;
			cur->totp_pending.data = NULL;
			cur->totp_pending.len = 0;
			/* re-seal under the confirmed column's binding */
			{
				uint8_t *pt = NULL;
				size_t len = 0;
				err = kcrypto_open(a->keys, "users", "totp_pending", cur->id,
				    cur->totp_secret.data, cur->totp_secret.len, &pt, &len);
				free(cur->totp_secret.data);
				cur->totp_secret.data = NULL;
				if (err == KURA_OK)
					err = kcrypto_seal(a->keys, "users", "totp_secret",
					    cur->id, pt, len, &cur->totp_secret.data,
					    &cur->totp_secret.len);
				kura_wipe(pt, len);
				free(pt);
			}
			cur->mfa_enabled = 1;
			cur->totp_last_step = step;
			cur->updated_us = now;
		}
		if (err == KURA_OK)
			err = store_user_update(app->store, &a->ctx, cur);
		if (err == KURA_OK)
			err = store_recovery_replace(app->store, &a->ctx, a->user->id,
			    (const char (*)[STORE_INDEX_MAX])hashes, RECOVERY_CODES);
		if (err == KURA_OK)
			err = api_commit(req, 200, a->user->id);
		if (err)
			(void)store_rollback(app->store);
	}
	store_user_free(cur);
	if (err) {
		kura_wipe(codes, sizeof(codes));
		http_reply_kura_err(req, err);
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < RECOVERY_CODES; i++)
		json_array_append_new(arr, json_string(codes[i]));
	kura_wipe(codes, sizeof(codes));
	kura_wipe(rnd, sizeof(rnd));
	http_reply_json(req, 200, json_pack("{s:b,s:o}", "mfa_enabled", 1,
	    "recovery_codes", arr));
}

/* DELETE /api/v1/me/mfa/totp {"code"}: turn MFA off with a current code. */
void
api_me_totp_disable(struct http_req *req)
{
	static const char *const fields[] = { "code", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *cur = NULL;
	uint8_t key[64];
	size_t klen = 0;
	int64_t step = 0, now = kura_now_us();
	const char *code;
	kura_err err;

	if (!api_only_fields(req, fields) || !api_str(req, "code", true, &code))
		return;
	if (!a->user->mfa_enabled) {
		http_reply_error(req, 409, "mfa_not_enabled", "two-step verification is off");
		return;
	}
	if (api_mfa_required(&a->settings, a->is_admin)) {
		http_reply_error(req, 409, "mfa_required_by_tenant",
		    "your organisation requires two-step verification");
		return;
	}
	err = open_secret(a, "totp_secret", &a->user->totp_secret, key, sizeof(key),
	    &klen);
	if (err == KURA_OK)
		err = totp_verify(key, klen, code, now / 1000000, a->user->totp_last_step,
		    &step);
	kura_wipe(key, sizeof(key));
	if (err) {
		api_record_failure(req, &a->ctx, a->user, &a->settings, now, 400);
		http_reply_error(req, 400, "invalid_code", "the code does not match");
		return;
	}
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_user_get(app->store, &a->ctx, a->user->id, &cur);
	if (err == KURA_OK) {
		free(cur->totp_secret.data);
		free(cur->totp_pending.data);
		memset(&cur->totp_secret, 0, sizeof(cur->totp_secret));
		memset(&cur->totp_pending, 0, sizeof(cur->totp_pending));
		cur->mfa_enabled = 0;
		cur->totp_last_step = step;
		cur->updated_us = now;
		err = store_user_update(app->store, &a->ctx, cur);
	}
	if (err == KURA_OK)
		err = store_recovery_delete(app->store, &a->ctx, a->user->id);
	if (err == KURA_OK)
		err = api_commit(req, 200, a->user->id);
	if (err)
		(void)store_rollback(app->store);
	store_user_free(cur);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:b}", "mfa_enabled", 0));
}
