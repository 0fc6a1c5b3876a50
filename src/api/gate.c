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

/* What check() found: go on, refused (answered), or a session that has
 * ended (to delete, then answer 401, once the read snapshot is over). */
enum verdict { GATE_PASS, GATE_DENIED, GATE_EXPIRED };

static enum verdict
refuse(struct http_req *req, unsigned status, const char *code, const char *msg)
{
	http_reply_error(req, status, code, msg);
	return GATE_DENIED;
}

/*
 * Every check of the gate, all reads, inside one read snapshot (so they
 * see one state of the store and share one lock round).  Writes (ending
 * a session, noting its use) happen in api_gate after the checks.
 */
static enum verdict
check(struct http_req *req, struct api_auth *a, char *user_id, int64_t now,
    struct store_session **ret_ses, struct store_token **ret_tok)
{
	struct app *app = req->app;
	const struct http_route *r = req->route;
	struct store_session *ses;
	struct store_token *tok;
	kura_err err;

	if (!find_credential(req, a, user_id, now, ret_ses, ret_tok))
		return GATE_DENIED;
	ses = *ret_ses;
	tok = *ret_tok;
	err = store_tenant_get(app->store, a->ctx.tenant_id, &a->tenant);
	if (err || strcmp(a->tenant->status, "active") != 0)
		return refuse(req, 401, "unauthenticated", "sign in first");
	err = store_user_get(app->store, &a->ctx, user_id, &a->user);
	if (err || strcmp(a->user->status, "active") != 0) {
		if (ses != NULL)
			return GATE_EXPIRED;
		return refuse(req, 401, "unauthenticated", "sign in first");
	}
	/* per user (or token on its own) and per tenant (MON-3): once the
	 * caller is known, before the costlier key and settings work */
	if (!http_rate_limit(req, HTTP_RL_USER, a->via_token ? a->token_id :
	    a->user->id) || !http_rate_limit(req, HTTP_RL_TENANT, a->ctx.tenant_id))
		return GATE_DENIED;
	err = app_tenant_keys(app, &a->ctx, &a->keys);
	if (err == KURA_OK)
		err = api_settings_load(app, &a->ctx, a->keys, &a->settings);
	if (err) {
		log_error("request %s: tenant keys or settings unusable: %s",
		    req->request_id, kura_strerror(err));
		return refuse(req, 500, "internal", "internal error");
	}
	if (ses != NULL) {
		int64_t idle = (int64_t)a->settings.idle_timeout_s * 1000000;
		int64_t life = (int64_t)a->settings.absolute_lifetime_s * 1000000;
		if (now >= ses->expires_us || now >= ses->created_us + life ||
		    now - ses->last_seen_us >= idle) {
			return GATE_EXPIRED;
		}
	}
	if (!auth_settings_ip_allowed(&a->settings, a->via_token ? AUTH_ALLOW_API :
	    AUTH_ALLOW_CONSOLE, req->client_ip)) {
		return refuse(req, 403, "ip_not_allowed",
		    "your network address is not in this tenant's allowlist");
	}
	if (ses != NULL && req->method != HTTP_GET && req->method != HTTP_HEAD) {
		const char *csrf = http_header(req, "X-CSRF-Token");
		char h[KCRYPTO_INDEX_HEX_LEN + 1];
		if (csrf == NULL || strlen(csrf) > 256 ||
		    kcrypto_sha256_hex(csrf, strlen(csrf), h) != KURA_OK ||
		    !kura_ct_equal(h, ses->csrf_hash, KCRYPTO_INDEX_HEX_LEN)) {
			return refuse(req, 403, "csrf_failed",
			    "send the X-CSRF-Token from the sign-in answer");
		}
	}
	err = api_user_perms(app, &a->ctx, a->user->roles, &a->perms, &a->is_admin);
	if (err) {
		return refuse(req, 500, "internal", "internal error");
	}
	if (tok != NULL) {
		rbac_perms tp = 0;
		if (rbac_parse(tok->permissions, &tp) != KURA_OK)
			tp = 0;
		a->perms &= tp;     /* a token never exceeds its owner */
	}
	if ((r->flags & HTTP_ROUTE_SESSION) && a->via_token) {
		return refuse(req, 403, "session_required",
		    "account security is changed from a signed-in session, not with an API token");
	}
	if (!(r->flags & HTTP_ROUTE_SETUP)) {
		if (a->user->must_change_password) {
			return refuse(req, 403, "password_change_required",
			    "set a new password first (PUT /api/v1/me/password)");
		}
		if (api_mfa_required(&a->settings, a->is_admin) && !a->user->mfa_enabled) {
			return refuse(req, 403, "mfa_enrolment_required",
			    "this organisation requires two-step verification; enrol first");
		}
	}
	if (!rbac_allows(a->perms, r->permission)) {
		return refuse(req, 403, "forbidden", "you do not have permission for this");
	}
	return GATE_PASS;
}

bool
api_gate(struct http_req *req)
{
	struct app *app = req->app;
	struct store_session *ses = NULL;
	struct store_token *tok = NULL;
	struct api_auth *a;
	char user_id[STORE_ID_MAX];
	int64_t now = kura_now_us();
	enum verdict v;
	kura_err err;

	if (req->route->flags & HTTP_ROUTE_PUBLIC)
		return true;
	a = kura_calloc(1, sizeof(*a));
	if (a == NULL)
		return deny(req, 503, "busy", "the server is busy, try again");
	req->auth = a;
	if ((err = store_read_begin(app->store)) != KURA_OK) {
		log_error("request %s: read snapshot: %s", req->request_id,
		    kura_strerror(err));
		return deny(req, 500, "internal", "internal error");
	}
	v = check(req, a, user_id, now, &ses, &tok);
	/*
	 * A read-only request's handler goes on reading in the snapshot the
	 * checks saw (one lock round for the whole request, and its data in
	 * the state its permission was checked against): relaxed, so that a
	 * write (noting the session's use below, or one a handler makes)
	 * ends it instead of failing.  api_gate_after ends it.  Any other
	 * request ends it here; its handler writes.
	 */
	if (v == GATE_PASS && (req->method == HTTP_GET ||
	    req->method == HTTP_HEAD)) {
		err = store_read_relax(app->store);
		a->snapshot = err == KURA_OK;
		if (err != KURA_OK)
			(void)store_read_end(app->store);
	} else {
		err = store_read_end(app->store);
	}
	if (err != KURA_OK && v == GATE_PASS) {
		log_error("request %s: read snapshot end: %s", req->request_id,
		    kura_strerror(err));
		v = GATE_DENIED;
		(void)deny(req, 500, "internal", "internal error");
	}
	if (v == GATE_EXPIRED) {
		/* end a session that is no longer valid */
		(void)store_session_delete(app->store, &a->ctx, user_id,
		    a->session_id);
		(void)deny(req, 401, "session_expired",
		    "the session has ended; sign in again");
	} else if (v == GATE_PASS && ses != NULL) {
		/* keep the idle clock honest without a write per request */
		int64_t grain = (int64_t)a->settings.idle_timeout_s * 100000;  /* 1/10 */
		if (grain > 15000000)
			grain = 15000000;
		if (now - ses->last_seen_us >= grain)
			(void)store_session_touch(app->store, &a->ctx, ses->id, now);
	} else if (v == GATE_PASS && now - tok->last_used_us >= 60000000) {
		(void)store_token_touch(app->store, &a->ctx, tok->id, now);
	}
	store_session_free(ses);
	store_token_free(tok);
	return v == GATE_PASS;
}

void
api_gate_after(struct http_req *req)
{
	struct api_auth *a = req->auth;
	struct app *app = req->app;
	kura_err err;

	if (a == NULL || !a->snapshot)
		return;
	a->snapshot = false;
	/* KURA_ECONFLICT: a write ended it already */
	err = store_read_end(app->store);
	if (err != KURA_OK && err != KURA_ECONFLICT)
		log_error("request %s: read snapshot end: %s", req->request_id,
		    kura_strerror(err));
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
