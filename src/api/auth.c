/*
 * Sign-in (IAM-5..IAM-9): POST /auth/login, /auth/mfa, /auth/logout,
 * /auth/logout-all, /auth/accept-invitation.
 *
 * Every credential failure answers the same 401 invalid_credentials and
 * costs one Argon2id verification (an unknown user is verified against
 * app->dummy_hash).  Password work runs on the worker pool (http_defer).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/validate.h"
#include "auth/totp.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

struct login_work {
	char *contract_id;
	char *login_id;
	char *password;
	char *code;
};

static void
login_work_free(void *arg)
{
	struct login_work *w = arg;

	if (w == NULL)
		return;
	free(w->contract_id);
	free(w->login_id);
	kura_free_secret_str(w->password);
	kura_free_secret_str(w->code);
	free(w);
}

static void
invalid_credentials(struct http_req *req)
{
	http_reply_error(req, 401, "invalid_credentials",
	    "the contract id, login id or password is not correct, or the account cannot sign in");
}

/* Set-Cookie for name=value, scoped to path, living max_age seconds
 * (0 clears it; -1 lasts for the browser session). */
static void
set_cookie(struct http_req *req, const char *name, const char *value,
    const char *path, long max_age)
{
	struct kbuf b;

	kbuf_init(&b, 512);
	(void)kbuf_printf(&b, "%s=%s; Path=%s; Secure; HttpOnly; SameSite=Strict",
	    name, value, path);
	if (max_age >= 0)
		(void)kbuf_printf(&b, "; Max-Age=%ld", max_age);
	if (b.data != NULL)
		(void)http_add_header(req, "Set-Cookie", b.data);
	kbuf_free(&b);
}

/*
 * Record one failed attempt for u inside a transaction: count it and lock
 * the account when the count reaches the threshold.  Failures against a
 * locked account still count (IAM-7).
 */
void
api_record_failure(struct http_req *req, const struct store_tctx *ctx,
    const struct store_user *u, const struct auth_settings *s, int64_t now,
    unsigned status)
{
	struct app *app = req->app;
	struct store_user *cur = NULL;

	if (store_begin(app->store) != KURA_OK)
		return;
	if (store_user_get(app->store, ctx, u->id, &cur) != KURA_OK)
		goto fail;
	cur->failed_logins++;
	if (cur->failed_logins >= s->lockout_threshold && cur->locked_until_us <= now) {
		cur->locked_until_us = s->lockout_minutes ?
		    now + (int64_t)s->lockout_minutes * 60 * 1000000 : INT64_MAX;
		api_audit_detail(req, "locked", json_true());
	}
	api_audit_detail(req, "failed_count", json_integer(cur->failed_logins));
	cur->updated_us = now;
	if (store_user_update(app->store, ctx, cur) != KURA_OK)
		goto fail;
	if (api_commit(req, status, u->id) == KURA_OK) {
		store_user_free(cur);
		return;
	}
fail:
	(void)store_rollback(app->store);
	store_user_free(cur);
}

/*
 * Start a session of the given kind for a->user and set its cookie.  A
 * full session also gets a CSRF token, returned in *ret_csrf (free with
 * kura_free_secret_str).  The user's oldest sessions beyond the limit end.
 */
static kura_err
session_start(struct http_req *req, struct api_auth *a, const char *kind,
    char **ret_csrf)
{
	struct app *app = req->app;
	struct store_session s, *list = NULL;
	char *token = NULL, *csrf = NULL;
	size_t n = 0;
	int64_t now = kura_now_us();
	bool full = strcmp(kind, "full") == 0;
	kura_err err;

	memset(&s, 0, sizeof(s));
	if ((err = kcrypto_id_new("ses", s.id)) ||
	    (err = kcrypto_token_new(32, &token)) ||
	    (err = kcrypto_token_new(32, &csrf)) ||
	    (err = kcrypto_sha256_hex(token, strlen(token), s.token_hash)) ||
	    (err = kcrypto_sha256_hex(csrf, strlen(csrf), s.csrf_hash)))
		goto out;
	snprintf(s.tenant_id, sizeof(s.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(s.user_id, sizeof(s.user_id), "%s", a->user->id);
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.client_ip, sizeof(s.client_ip), "%s", req->client_ip);
	s.created_us = s.last_seen_us = now;
	s.expires_us = now + (full ? (int64_t)a->settings.absolute_lifetime_s :
	    API_PREAUTH_SECONDS) * 1000000;
	err = store_session_insert(app->store, &a->ctx, &s);
	if (err)
		goto out;
	/* bound sessions per user: end the oldest ones */
	if (store_session_list_user(app->store, &a->ctx, a->user->id, &list, &n) ==
	    KURA_OK) {
		for (size_t i = API_SESSIONS_PER_USER; i < n; i++)
			(void)store_session_delete(app->store, &a->ctx, a->user->id,
			    list[i].id);
	}
	store_session_list_free(list, n);
	if (full) {
		set_cookie(req, API_COOKIE_SESSION, token, "/", -1);
		snprintf(a->session_id, sizeof(a->session_id), "%s", s.id);
		*ret_csrf = csrf;
		csrf = NULL;
	} else {
		set_cookie(req, API_COOKIE_PREAUTH, token, "/api/v1/auth/mfa",
		    API_PREAUTH_SECONDS);
	}
out:
	kura_free_secret_str(token);
	kura_free_secret_str(csrf);
	return err;
}

/* 200 with the signed-in user and the CSRF token. */
static void
reply_signed_in(struct http_req *req, struct api_auth *a, char *csrf)
{
	json_t *user = api_user_json(req, a->user);
	char *perms = rbac_format(a->perms);

	if (user != NULL) {
		json_object_set_new(user, "permissions", api_csv_array(perms));
		json_object_set_new(user, "mfa_required_by_tenant",
		    json_boolean(api_mfa_required(&a->settings, a->is_admin)));
	}
	http_reply_json(req, 200, json_pack("{s:b,s:o*,s:s}", "mfa_required", 0,
	    "user", user, "csrf_token", csrf));
	free(perms);
	kura_free_secret_str(csrf);
}

/* Load tenant (active), keys, settings and the user by login id into a.
 * Returns false if any is missing; a holds what was found. */
static bool
load_account(struct app *app, struct api_auth *a, const char *contract_id,
    const char *login_id)
{
	char idx[STORE_INDEX_MAX];

	if (val_contract_id(contract_id) != NULL || val_login_id(login_id) != NULL)
		return false;
	if (store_tenant_get_by_contract(app->store, contract_id, &a->tenant) != KURA_OK)
		return false;
	if (strcmp(a->tenant->status, "active") != 0)
		return false;
	snprintf(a->ctx.tenant_id, sizeof(a->ctx.tenant_id), "%s", a->tenant->id);
	if (app_tenant_keys(app, &a->ctx, &a->keys) != KURA_OK ||
	    api_settings_load(app, &a->ctx, a->keys, &a->settings) != KURA_OK ||
	    api_blind(a->keys, "login", login_id, idx) != KURA_OK)
		return false;
	return store_user_get_by_login(app->store, &a->ctx, idx, &a->user) == KURA_OK;
}

/* A completed sign-in: reset the failure count and lockout, note the
 * time; a->user is replaced by the updated row. */
static void
signed_in(struct http_req *req, struct api_auth *a, int64_t now)
{
	struct app *app = req->app;
	struct store_user *cur = NULL;

	if (store_begin(app->store) != KURA_OK)
		return;
	if (store_user_get(app->store, &a->ctx, a->user->id, &cur) == KURA_OK) {
		cur->failed_logins = 0;
		cur->locked_until_us = 0;
		cur->last_login_us = now;
		cur->updated_us = now;
		if (store_user_update(app->store, &a->ctx, cur) == KURA_OK &&
		    api_commit(req, 200, cur->id) == KURA_OK) {
			store_user_free(a->user);
			a->user = cur;
			cur = NULL;
		}
	}
	(void)store_rollback(app->store);
	store_user_free(cur);
}

static void
login_run(struct http_req *req)
{
	struct app *app = req->app;
	struct login_work *w = req->work;
	struct api_auth *a;
	int64_t now = kura_now_us();
	bool found, pw_ok, locked, ip_ok;
	char *csrf = NULL;

	a = kura_calloc(1, sizeof(*a));
	if (a == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	req->auth = a;
	auth_settings_default(&a->settings);
	found = load_account(app, a, w->contract_id, w->login_id);
	/* exactly one Argon2id verification on every path */
	pw_ok = kcrypto_pw_verify(found && a->user->password_hash ?
	    a->user->password_hash : app->dummy_hash, w->password) == KURA_OK;
	if (!found || a->user->password_hash == NULL ||
	    strcmp(a->user->status, "active") != 0) {
		invalid_credentials(req);
		return;
	}
	locked = a->user->locked_until_us > now;
	ip_ok = auth_settings_ip_allowed(&a->settings, AUTH_ALLOW_CONSOLE, req->client_ip);
	if (!pw_ok || locked || !ip_ok) {
		if (!pw_ok || locked)
			api_record_failure(req, &a->ctx, a->user, &a->settings, now, 401);
		invalid_credentials(req);
		return;
	}
	if (api_user_perms(app, &a->ctx, a->user->roles, &a->perms, &a->is_admin)) {
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	/* with MFA the sign-in is not complete yet: the failure count is
	 * reset only after the second factor (wrong codes must add up) */
	if (a->user->mfa_enabled) {
		if (session_start(req, a, "preauth", NULL) != KURA_OK) {
			http_reply_error(req, 500, "internal", "internal error");
			return;
		}
		http_reply_json(req, 200, json_pack("{s:b}", "mfa_required", 1));
		return;
	}
	signed_in(req, a, now);
	if (session_start(req, a, "full", &csrf) != KURA_OK) {
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	reply_signed_in(req, a, csrf);
}

/* POST /api/v1/auth/login {"contract_id","login_id","password"} */
void
api_auth_login(struct http_req *req)
{
	static const char *const fields[] = { "contract_id", "login_id", "password", NULL };
	const char *contract, *login, *pw;
	struct login_work *w;

	if (!api_only_fields(req, fields) ||
	    !api_str(req, "contract_id", true, &contract) ||
	    !api_str(req, "login_id", true, &login) ||
	    !api_str(req, "password", true, &pw))
		return;
	w = kura_calloc(1, sizeof(*w));
	if (w == NULL || (w->contract_id = kura_strdup(contract)) == NULL ||
	    (w->login_id = kura_strdup(login)) == NULL ||
	    (w->password = kura_strdup(pw)) == NULL) {
		login_work_free(w);
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	req->work = w;
	req->work_free = login_work_free;
	http_defer(req, login_run);
}

/* Check a TOTP code or a recovery code for a->user; on success update the
 * replay step / consume the code.  KURA_EAUTH on mismatch. */
static kura_err
check_second_factor(struct app *app, struct api_auth *a, const char *code,
    int64_t now)
{
	uint8_t *secret = NULL, key[64];
	size_t slen = 0, klen = 0;
	int64_t step = 0;
	kura_err err = KURA_EAUTH;

	if (strlen(code) == 6) {
		if (a->user->totp_secret.data == NULL ||
		    kcrypto_open(a->keys, "users", "totp_secret", a->user->id,
		    a->user->totp_secret.data, a->user->totp_secret.len, &secret,
		    &slen) != KURA_OK)
			return KURA_EAUTH;
		if (totp_b32_decode((const char *)secret, key, sizeof(key), &klen) == KURA_OK)
			err = totp_verify(key, klen, code, now / 1000000,
			    a->user->totp_last_step, &step);
		kura_wipe(key, sizeof(key));
		kura_wipe(secret, slen);
		free(secret);
		if (err == KURA_OK) {
			struct store_user *cur = NULL;
			/* store the step so the same code cannot be replayed */
			err = store_begin(app->store);
			if (err == KURA_OK)
				err = store_user_get(app->store, &a->ctx, a->user->id, &cur);
			if (err == KURA_OK && step <= cur->totp_last_step)
				err = KURA_EAUTH;
			if (err == KURA_OK) {
				cur->totp_last_step = step;
				err = store_user_update(app->store, &a->ctx, cur);
			}
			/* a sub-step of the sign-in: its audit record commits
			 * with the completed sign-in (or the failure) */
			if (err == KURA_OK)
				err = store_commit(app->store);
			if (err)
				(void)store_rollback(app->store);
			store_user_free(cur);
		}
		return err;
	}
	{
		/* recovery code: XXXX-XXXX-XX..., compared by keyed hash */
		char norm[64], idx[STORE_INDEX_MAX];
		size_t o = 0;
		for (const char *p = code; *p != '\0' && o + 1 < sizeof(norm); p++)
			if (*p != '-' && *p != ' ')
				norm[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		norm[o] = '\0';
		if (o < 10 || api_blind(a->keys, "recovery", norm, idx) != KURA_OK)
			return KURA_EAUTH;
		kura_wipe(norm, sizeof(norm));
		return store_recovery_use(app->store, &a->ctx, a->user->id, idx) ==
		    KURA_OK ? KURA_OK : KURA_EAUTH;
	}
}

/* POST /api/v1/auth/mfa {"code"} with the pre-auth cookie. */
void
api_auth_mfa(struct http_req *req)
{
	static const char *const fields[] = { "code", NULL };
	struct app *app = req->app;
	struct store_session *ses = NULL;
	struct api_auth *a;
	const char *code, *cookie;
	char hash[STORE_INDEX_MAX], *token = NULL, *csrf = NULL;
	char new_hash[STORE_INDEX_MAX], csrf_hash[STORE_INDEX_MAX];
	int64_t now = kura_now_us();

	if (!api_only_fields(req, fields) || !api_str(req, "code", true, &code))
		return;
	a = kura_calloc(1, sizeof(*a));
	if (a == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	req->auth = a;
	cookie = http_cookie(req, API_COOKIE_PREAUTH);
	if (cookie == NULL || strlen(cookie) > 256 || strlen(code) > 64 ||
	    kcrypto_sha256_hex(cookie, strlen(cookie), hash) != KURA_OK ||
	    store_session_get_by_token(app->store, hash, &ses) != KURA_OK ||
	    strcmp(ses->kind, "preauth") != 0 || ses->expires_us <= now)
		goto fail;
	snprintf(a->ctx.tenant_id, sizeof(a->ctx.tenant_id), "%s", ses->tenant_id);
	if (store_tenant_get(app->store, ses->tenant_id, &a->tenant) != KURA_OK ||
	    strcmp(a->tenant->status, "active") != 0 ||
	    store_user_get(app->store, &a->ctx, ses->user_id, &a->user) != KURA_OK ||
	    strcmp(a->user->status, "active") != 0 ||
	    app_tenant_keys(app, &a->ctx, &a->keys) != KURA_OK ||
	    api_settings_load(app, &a->ctx, a->keys, &a->settings) != KURA_OK)
		goto fail;
	if (a->user->locked_until_us > now ||
	    check_second_factor(app, a, code, now) != KURA_OK) {
		api_record_failure(req, &a->ctx, a->user, &a->settings, now, 401);
		goto fail;
	}
	/* promote: new token and CSRF token, so the pre-auth cookie is dead */
	if (kcrypto_token_new(32, &token) || kcrypto_token_new(32, &csrf) ||
	    kcrypto_sha256_hex(token, strlen(token), new_hash) ||
	    kcrypto_sha256_hex(csrf, strlen(csrf), csrf_hash) ||
	    api_user_perms(app, &a->ctx, a->user->roles, &a->perms, &a->is_admin)) {
		http_reply_error(req, 500, "internal", "internal error");
		goto out;
	}
	/* promotion happens once: a racing second submit is just a failure */
	if (store_session_promote(app->store, &a->ctx, ses->id, new_hash, csrf_hash,
	    now + (int64_t)a->settings.absolute_lifetime_s * 1000000) != KURA_OK)
		goto fail;
	snprintf(a->session_id, sizeof(a->session_id), "%s", ses->id);
	signed_in(req, a, now);
	set_cookie(req, API_COOKIE_SESSION, token, "/", -1);
	set_cookie(req, API_COOKIE_PREAUTH, "", "/api/v1/auth/mfa", 0);
	reply_signed_in(req, a, csrf);
	csrf = NULL;
	goto out;
fail:
	invalid_credentials(req);
out:
	kura_free_secret_str(token);
	kura_free_secret_str(csrf);
	store_session_free(ses);
}

/* POST /api/v1/auth/logout: end this session. */
void
api_auth_logout(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;

	if (a->via_token) {
		http_reply_error(req, 400, "not_a_session",
		    "API tokens are revoked with DELETE /api/v1/tokens/{id}");
		return;
	}
	if (store_begin(app->store) != KURA_OK ||
	    store_session_delete(app->store, &a->ctx, a->user->id, a->session_id) ||
	    api_commit(req, 200, a->session_id) != KURA_OK) {
		(void)store_rollback(app->store);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	set_cookie(req, API_COOKIE_SESSION, "", "/", 0);
	http_reply_json(req, 200, json_pack("{s:b}", "signed_out", 1));
}

/* POST /api/v1/auth/logout-all: end every session of the caller. */
void
api_auth_logout_all(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	size_t n = 0;

	if (store_begin(app->store) != KURA_OK ||
	    store_session_delete_user(app->store, &a->ctx, a->user->id, NULL, &n) ||
	    api_commit(req, 200, a->user->id) != KURA_OK) {
		(void)store_rollback(app->store);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	set_cookie(req, API_COOKIE_SESSION, "", "/", 0);
	http_reply_json(req, 200, json_pack("{s:I}", "sessions_ended", (json_int_t)n));
}

static void
invalid_invitation(struct http_req *req)
{
	http_reply_error(req, 400, "invalid_invitation",
	    "the invitation is not valid or has expired; ask your administrator for a new one");
}

/*
 * Find the invited user of an invitation token still open (not used, not
 * expired, tenant active) and load the tenant's keys and settings into a
 * new req->auth.  hash receives the token's lookup hash; *ret_u the user
 * (free with store_user_free).  On failure it has answered
 * invalid_invitation (or busy) and returns false.
 */
static bool
invitation_open(struct http_req *req, const char *token,
    char hash[STORE_INDEX_MAX], struct store_user **ret_u)
{
	struct app *app = req->app;
	struct api_auth *a;
	struct store_user *u = NULL;

	*ret_u = NULL;
	a = kura_calloc(1, sizeof(*a));
	if (a == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return false;
	}
	req->auth = a;
	if (strlen(token) > 256 ||
	    kcrypto_sha256_hex(token, strlen(token), hash) != KURA_OK ||
	    store_user_get_by_invite(app->store, hash, &u) != KURA_OK ||
	    strcmp(u->status, "invited") != 0 ||
	    u->invite_expires_us <= kura_now_us()) {
		store_user_free(u);
		invalid_invitation(req);
		return false;
	}
	snprintf(a->ctx.tenant_id, sizeof(a->ctx.tenant_id), "%s", u->tenant_id);
	if (store_tenant_get(app->store, a->ctx.tenant_id, &a->tenant) != KURA_OK ||
	    strcmp(a->tenant->status, "active") != 0 ||
	    app_tenant_keys(app, &a->ctx, &a->keys) != KURA_OK ||
	    api_settings_load(app, &a->ctx, a->keys, &a->settings) != KURA_OK) {
		store_user_free(u);
		invalid_invitation(req);
		return false;
	}
	*ret_u = u;
	return true;
}

static void
accept_run(struct http_req *req)
{
	struct app *app = req->app;
	struct login_work *w = req->work;
	struct api_auth *a;
	struct store_user *u = NULL;
	char hash[STORE_INDEX_MAX], pwhash[KCRYPTO_PWHASH_LEN];
	const char *why = NULL;
	int64_t now = kura_now_us();
	kura_err err;

	if (!invitation_open(req, w->code, hash, &u))
		return;
	store_user_free(u);
	u = NULL;
	a = req->auth;
	if (auth_password_check(&a->settings.password, w->password, &why) != KURA_OK) {
		http_reply_error(req, 400, "password_policy", why);
		return;
	}
	err = kcrypto_pw_hash(&app->pw, w->password, pwhash);
	if (err == KURA_OK)
		err = store_begin(app->store);
	if (err == KURA_OK) {
		/* re-check inside the transaction: a token works once */
		err = store_user_get_by_invite(app->store, hash, &u);
		if (err == KURA_OK && (strcmp(u->status, "invited") != 0 ||
		    u->invite_expires_us <= now))
			err = KURA_ENOENT;
		if (err == KURA_OK) {
			free(u->password_hash);
			u->password_hash = kura_strdup(pwhash);
			snprintf(u->status, sizeof(u->status), "active");
			u->invite_hash[0] = '\0';
			u->invite_expires_us = 0;
			u->must_change_password = 0;
			u->password_changed_us = now;
			u->updated_us = now;
			err = u->password_hash ? store_user_update(app->store, &a->ctx, u) :
			    KURA_ENOMEM;
		}
		if (err == KURA_OK)
			err = api_commit(req, 200, u->id);
		if (err)
			(void)store_rollback(app->store);
	}
	kura_wipe(pwhash, sizeof(pwhash));
	if (err == KURA_ENOENT) {
		invalid_invitation(req);
	} else if (err) {
		http_reply_error(req, 500, "internal", "internal error");
	} else {
		http_reply_json(req, 200, json_pack("{s:s,s:s}", "id", u->id,
		    "status", "active"));
	}
	store_user_free(u);
}

/* POST /api/v1/auth/accept-invitation {"token","password"} */
void
api_auth_accept_invitation(struct http_req *req)
{
	static const char *const fields[] = { "token", "password", NULL };
	const char *token, *pw;
	struct login_work *w;

	if (!api_only_fields(req, fields) || !api_str(req, "token", true, &token) ||
	    !api_str(req, "password", true, &pw))
		return;
	w = kura_calloc(1, sizeof(*w));
	if (w == NULL || (w->code = kura_strdup(token)) == NULL ||
	    (w->password = kura_strdup(pw)) == NULL) {
		login_work_free(w);
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	req->work = w;
	req->work_free = login_work_free;
	http_defer(req, accept_run);
}

/*
 * POST /api/v1/auth/invitation {"token"}: what the invitation page shows
 * before the password is set: the contract and login id the invitation is
 * for, and the tenant's password policy (checked as the user types).  The
 * token travels in the body, never in a URL.
 */
void
api_auth_invitation(struct http_req *req)
{
	static const char *const fields[] = { "token", NULL };
	char hash[STORE_INDEX_MAX];
	struct store_user *u = NULL;
	struct api_auth *a;
	const char *token;
	json_t *login;

	if (!api_only_fields(req, fields) || !api_str(req, "token", true, &token) ||
	    !invitation_open(req, token, hash, &u))
		return;
	a = req->auth;
	snprintf(a->resource_id, sizeof(a->resource_id), "%s", u->id);
	login = api_open_json(a->keys, "users", "login_id", u->id, &u->login_id);
	if (login == NULL) {
		store_user_free(u);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	http_reply_json(req, 200, json_pack("{s:s,s:o,s:{s:I,s:I}}",
	    "contract_id", a->tenant->contract_id, "login_id", login,
	    "password_policy",
	    "min_length", (json_int_t)a->settings.password.min_len,
	    "min_classes", (json_int_t)a->settings.password.min_classes));
	store_user_free(u);
}
