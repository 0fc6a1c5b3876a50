/*
 * The gate in front of every non-public route (IAM-3, IAM-8, IAM-10,
 * IAM-12, TEN-1): who is calling, for which tenant, whether the session
 * or token is still alive, from an allowed address, with the CSRF token
 * for browser writes, and with the route's permission.  The tenant comes
 * only from the session or token.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/mem.h"

void
api_cleanup(struct http_req *req)
{
	struct api_auth *a = req->auth;

	api_commit_row_free(req);
	if (a == NULL)
		return;
	store_tenant_free(a->tenant);
	store_user_free(a->user);
	kcrypto_tkeys_free(a->keys);
	free(a);
	req->auth = NULL;
}

static bool
deny(struct http_req *req, unsigned status, const char *code, const char *msg)
{
	http_reply_error(req, status, code, msg);
	return false;
}

static bool
unauthenticated(struct http_req *req)
{
	return deny(req, 401, "unauthenticated", "sign in first");
}

/* Look up the caller's credential; fills a->ctx, session/token id and the
 * user id.  Returns false after replying. */
static bool
find_credential(struct http_req *req, struct api_auth *a, char *user_id,
    int64_t now, struct store_session **ret_ses, struct store_token **ret_tok)
{
	struct app *app = req->app;
	const char *authz = http_header(req, "Authorization");
	char hash[KCRYPTO_INDEX_HEX_LEN + 1];
	const char *secret;

	if (authz != NULL) {
		if (strncmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0')
			return unauthenticated(req);
		secret = authz + 7;
	} else {
		secret = http_cookie(req, API_COOKIE_SESSION);
		if (secret == NULL || *secret == '\0')
			return unauthenticated(req);
	}
	if (strlen(secret) > 256 ||
	    kcrypto_sha256_hex(secret, strlen(secret), hash) != KURA_OK)
		return unauthenticated(req);
	if (authz != NULL) {
		struct store_token *t = NULL;
		if (store_token_get_by_hash(app->store, hash, &t) != KURA_OK)
			return unauthenticated(req);
		if (t->expires_us <= now) {
			store_token_free(t);
			return deny(req, 401, "token_expired", "the API token has expired");
		}
		a->via_token = true;
		snprintf(a->token_id, sizeof(a->token_id), "%s", t->id);
		snprintf(a->ctx.tenant_id, sizeof(a->ctx.tenant_id), "%s", t->tenant_id);
		snprintf(user_id, STORE_ID_MAX, "%s", t->user_id);
		*ret_tok = t;
		return true;
	}
	{
		struct store_session *s = NULL;
		if (store_session_get_by_token(app->store, hash, &s) != KURA_OK)
			return unauthenticated(req);
		if (strcmp(s->kind, "full") != 0) {
			store_session_free(s);
			return unauthenticated(req);
		}
		snprintf(a->session_id, sizeof(a->session_id), "%s", s->id);
		snprintf(a->ctx.tenant_id, sizeof(a->ctx.tenant_id), "%s", s->tenant_id);
		snprintf(user_id, STORE_ID_MAX, "%s", s->user_id);
		*ret_ses = s;
	}
	return true;
}

/* End a session that is no longer valid and answer 401. */
static bool
expire(struct http_req *req, struct api_auth *a, const char *user_id)
{
	struct app *app = req->app;

	(void)store_session_delete(app->store, &a->ctx, user_id, a->session_id);
	return deny(req, 401, "session_expired", "the session has ended; sign in again");
}

bool
api_gate(struct http_req *req)
{
	struct app *app = req->app;
	const struct http_route *r = req->route;
	struct store_session *ses = NULL;
	struct store_token *tok = NULL;
	struct api_auth *a;
	char user_id[STORE_ID_MAX];
	int64_t now = kura_now_us();
	bool ok = false;
	kura_err err;

	if (r->flags & HTTP_ROUTE_PUBLIC)
		return true;
	a = kura_calloc(1, sizeof(*a));
	if (a == NULL)
		return deny(req, 503, "busy", "the server is busy, try again");
	req->auth = a;
	if (!find_credential(req, a, user_id, now, &ses, &tok))
		return false;

	err = store_tenant_get(app->store, a->ctx.tenant_id, &a->tenant);
	if (err || strcmp(a->tenant->status, "active") != 0) {
		ok = unauthenticated(req);
		goto out;
	}
	err = store_user_get(app->store, &a->ctx, user_id, &a->user);
	if (err || strcmp(a->user->status, "active") != 0) {
		if (ses != NULL)
			ok = expire(req, a, user_id);
		else
			ok = unauthenticated(req);
		goto out;
	}
	/* per user (or token on its own) and per tenant (MON-3): once the
	 * caller is known, before the costlier key and settings work */
	if (!http_rate_limit(req, HTTP_RL_USER, a->via_token ? a->token_id :
	    a->user->id) || !http_rate_limit(req, HTTP_RL_TENANT, a->ctx.tenant_id))
		goto out;
	err = app_tenant_keys(app, &a->ctx, &a->keys);
	if (err == KURA_OK)
		err = api_settings_load(app, &a->ctx, a->keys, &a->settings);
	if (err) {
		log_error("request %s: tenant keys or settings unusable: %s",
		    req->request_id, kura_strerror(err));
		ok = deny(req, 500, "internal", "internal error");
		goto out;
	}
	if (ses != NULL) {
		int64_t idle = (int64_t)a->settings.idle_timeout_s * 1000000;
		int64_t life = (int64_t)a->settings.absolute_lifetime_s * 1000000;
		if (now >= ses->expires_us || now >= ses->created_us + life ||
		    now - ses->last_seen_us >= idle) {
			ok = expire(req, a, user_id);
			goto out;
		}
	}
	if (!auth_settings_ip_allowed(&a->settings, a->via_token ? AUTH_ALLOW_API :
	    AUTH_ALLOW_CONSOLE, req->client_ip)) {
		ok = deny(req, 403, "ip_not_allowed",
		    "your network address is not in this tenant's allowlist");
		goto out;
	}
	if (ses != NULL && req->method != HTTP_GET && req->method != HTTP_HEAD) {
		const char *csrf = http_header(req, "X-CSRF-Token");
		char h[KCRYPTO_INDEX_HEX_LEN + 1];
		if (csrf == NULL || strlen(csrf) > 256 ||
		    kcrypto_sha256_hex(csrf, strlen(csrf), h) != KURA_OK ||
		    !kura_ct_equal(h, ses->csrf_hash, KCRYPTO_INDEX_HEX_LEN)) {
			ok = deny(req, 403, "csrf_failed",
			    "send the X-CSRF-Token from the sign-in answer");
			goto out;
		}
	}
	err = api_user_perms(app, &a->ctx, a->user->roles, &a->perms, &a->is_admin);
	if (err) {
		ok = deny(req, 500, "internal", "internal error");
		goto out;
	}
	if (tok != NULL) {
		rbac_perms tp = 0;
		if (rbac_parse(tok->permissions, &tp) != KURA_OK)
			tp = 0;
		a->perms &= tp;     /* a token never exceeds its owner */
	}
	if ((r->flags & HTTP_ROUTE_SESSION) && a->via_token) {
		ok = deny(req, 403, "session_required",
		    "account security is changed from a signed-in session, not with an API token");
		goto out;
	}
	if (!(r->flags & HTTP_ROUTE_SETUP)) {
		if (a->user->must_change_password) {
			ok = deny(req, 403, "password_change_required",
			    "set a new password first (PUT /api/v1/me/password)");
			goto out;
		}
		if (api_mfa_required(&a->settings, a->is_admin) && !a->user->mfa_enabled) {
			ok = deny(req, 403, "mfa_enrolment_required",
			    "this organisation requires two-step verification; enrol first");
			goto out;
		}
	}
	if (!rbac_allows(a->perms, r->permission)) {
		ok = deny(req, 403, "forbidden", "you do not have permission for this");
		goto out;
	}
	/* keep the idle clock honest without a write per request */
	if (ses != NULL) {
		int64_t grain = (int64_t)a->settings.idle_timeout_s * 100000;  /* 1/10 */
		if (grain > 15000000)
			grain = 15000000;
		if (now - ses->last_seen_us >= grain)
			(void)store_session_touch(app->store, &a->ctx, ses->id, now);
	} else if (now - tok->last_used_us >= 60000000) {
		(void)store_token_touch(app->store, &a->ctx, tok->id, now);
	}
	ok = true;
out:
	store_session_free(ses);
	store_token_free(tok);
	return ok;
}

/* ---- rate-limit records (MON-3) ---- */

/*
 * http_app.notice: the records of rate limiting that belong to no single
 * request (see server.c: a refused request keeps its own record only when
 * it is the first of its address in a minute).  They are operator events
 * (no tenant: the address may be refused before anyone is known), queued
 * to the group-commit writer without waiting: nobody waits for an answer.
 * If the queue is full the event is logged instead.
 */
void
api_ratelimit_notice(void *ctx, const char *action, const char *client_ip,
    const char *request_id, json_t *detail)
{
	struct app *app = ctx;
	struct audit_rec r;
	kura_err err;

	if (app->audit == NULL ||
	    audit_rec_init(&r, "", "anonymous", "", action) != KURA_OK) {
		json_decref(detail);
		return;
	}
	snprintf(r.source_ip, sizeof(r.source_ip), "%s", client_ip);
	snprintf(r.request_id, sizeof(r.request_id), "%s", request_id);
	snprintf(r.resource_type, sizeof(r.resource_type), "address");
	snprintf(r.resource_id, sizeof(r.resource_id), "%s", client_ip);
	snprintf(r.outcome, sizeof(r.outcome), "denied");
	r.status = 429;
	r.detail = detail;
	err = audit_submit(app->audit, &r, NULL, NULL);
	if (err)
		log_warn("%s for %s not recorded: %s", action, client_ip,
		    kura_strerror(err));
	audit_rec_clear(&r);
}
