/*
 * Every /api/ request leaves one audit record (LOG-1): a state change
 * commits its record in the same transaction (api_commit); everything
 * else (reads, refusals, failures) goes to the group-commit writer and the
 * reply waits until the record is durable (api_record).
 * Records hold ids, action names, the address and the status, never
 * request bodies, names, e-mail addresses or secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/mem.h"

/* "user.invite" -> "user" */
static void
resource_type_of(const char *action, char *dst, size_t len)
{
	const char *dot = strchr(action, '.');
	size_t n = dot ? (size_t)(dot - action) : strlen(action);

	if (n >= len)
		n = len - 1;
	memcpy(dst, action, n);
	dst[n] = '\0';
}

static const char *
method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	case HTTP_HEAD: return "HEAD";
	}
	return "OTHER";
}

/* Fill r from what the request knows: who (from the gate or sign-in), the
 * tenant, the action of the route, the resource and the outcome. */
static void
fill(struct http_req *req, struct audit_rec *r, unsigned status,
    const char *resource_id)
{
	struct api_auth *a = req->auth;
	const char *action = req->route && req->route->audit_action ?
	    req->route->audit_action : status == 404 ? "http.not_found" :
	    "http.rejected";
	const char *tenant = "";
	const char *actor_type = "anonymous", *actor_id = "";

	if (a != NULL && a->ctx.tenant_id[0] != '\0')
		tenant = a->ctx.tenant_id;
	/* the actor is who was authenticated: by session or token, or the
	 * user a sign-in step has just proven (a failed attempt stays
	 * anonymous: it only claimed to be that user) */
	if (a != NULL && a->user != NULL && (a->session_id[0] != '\0' ||
	    a->token_id[0] != '\0' || (strncmp(action, "auth.", 5) == 0 &&
	    status < 400))) {
		actor_type = a->via_token ? "token" : "user";
		actor_id = a->via_token ? a->token_id : a->user->id;
	}
	if (audit_rec_init(r, tenant, actor_type, actor_id, action) != KURA_OK)
		(void)audit_rec_init(r, "", "anonymous", "", "http.rejected");
	snprintf(r->source_ip, sizeof(r->source_ip), "%s", req->client_ip);
	snprintf(r->request_id, sizeof(r->request_id), "%s", req->request_id);
	resource_type_of(r->action, r->resource_type, sizeof(r->resource_type));
	if (resource_id == NULL && a != NULL && a->resource_id[0] != '\0')
		resource_id = a->resource_id;
	if (resource_id == NULL)
		resource_id = http_param(req, "id");
	/* nested routes (/projects/{pid}/files/{fid}): the innermost id */
	if (resource_id == NULL && req->n_params > 0)
		resource_id = req->params[req->n_params - 1].value;
	if (resource_id == NULL && a != NULL && a->user != NULL &&
	    strncmp(r->action, "auth.", 5) == 0)
		resource_id = a->user->id;     /* whose sign-in it was */
	if (resource_id != NULL && strlen(resource_id) < sizeof(r->resource_id))
		snprintf(r->resource_id, sizeof(r->resource_id), "%s", resource_id);
	snprintf(r->outcome, sizeof(r->outcome), "%s", status < 400 ? "success" :
	    (status == 401 || status == 403) ? "denied" : "failure");
	r->status = (int)status;
	r->detail = json_pack("{s:s,s:s*,s:s*,s:b}", "method", method_name(req->method),
	    "route", req->route ? req->route->pattern : NULL,
	    "error", status >= 400 ? req->error_code : NULL,
	    "session", a != NULL && a->session_id[0] != '\0');
	if (r->detail != NULL && req->audit_extra != NULL)
		json_object_update(r->detail, req->audit_extra);
}

void
api_audit_detail(struct http_req *req, const char *key, json_t *value)
{
	if (req->audit_extra == NULL)
		req->audit_extra = json_object();
	if (req->audit_extra != NULL)
		json_object_set_new(req->audit_extra, key, value);
	else
		json_decref(value);
}

/* The row api_commit keeps for the observers, and the detail object it
 * holds for them (decisions #55): they read it instead of parsing the
 * text again.  Not for a detail that was stored cut. */
static void
keep_detail(struct store_audit *row, struct audit_rec *r)
{
	if (r->detail != NULL && row->detail != NULL &&
	    strcmp(row->detail, AUDIT_DETAIL_TRUNCATED) != 0) {
		row->detail_json = r->detail;
		r->detail = NULL;
	}
}

static void
row_free(struct store_audit *row)
{
	if (row == NULL)
		return;
	json_decref((json_t *)row->detail_json);
	store_audit_clear(row);
	free(row);
}

/*
 * The request's transaction commits without waiting for the disk (with
 * group durability on): the WAL is appended, SQLite's write lock is
 * released, and the ticket goes on req.  The reply is held until the
 * barrier has synced the WAL past it (api_record), or the caller forces
 * it with api_durable before an irreversible step outside the database.
 * Observers hear of the record only once it is durable.
 */
kura_err
api_commit(struct http_req *req, unsigned status, const char *resource_id)
{
	struct app *app = req->app;
	struct store_audit *row = NULL;
	struct audit_rec r;
	uint64_t ticket = 0;
	kura_err err;

#ifdef KURA_BENCH_NO_AUDIT
	req->audited = true;    /* benchmark-only build: see meson_options.txt */
#endif
	if (req->audited) {
		err = store_commit_grouped(app->store, &ticket);
		if (err == KURA_OK && ticket > req->commit_ticket)
			req->commit_ticket = ticket;
		return err;
	}
	if ((row = kura_calloc(1, sizeof(*row))) == NULL)
		return KURA_ENOMEM;
	fill(req, &r, status, resource_id);
	err = audit_append_tx(app->store, &r, row);
	if (err == KURA_OK)
		keep_detail(row, &r);
	audit_rec_clear(&r);
	if (err == KURA_OK)
		err = store_commit_grouped(app->store, &ticket);
	if (err != KURA_OK)
		goto out;
	req->audited = true;
	if (ticket == 0) {
		audit_notify(row);      /* durable already (no group barrier) */
		goto out;
	}
	if (ticket > req->commit_ticket)
		req->commit_ticket = ticket;
	req->commit_row = row;      /* notified by durable_done */
	row = NULL;
out:
	row_free(row);
	return err;
}

void
api_commit_row_free(struct http_req *req)
{
	row_free(req->commit_row);
	req->commit_row = NULL;
}

/* The request's change is durable: tell the observers its record. */
static void
durable_ok(struct http_req *req)
{
	req->commit_ticket = 0;
	if (req->commit_row != NULL)
		audit_notify(req->commit_row);
	api_commit_row_free(req);
}

static void
durable_fail(struct http_req *req, kura_err err)
{
	log_error("request %s: committed change not made durable (WAL sync): %s",
	    req->request_id, kura_strerror(err));
	/* the change may not survive a crash: never answer success */
	http_reply_error(req, 503, "busy", "the server is busy, try again");
	api_commit_row_free(req);
}

kura_err
api_durable(struct http_req *req)
{
	struct app *app = req->app;
	kura_err err;

	if (req->commit_ticket == 0)
		return KURA_OK;
	err = store_durable_wait(app->store, req->commit_ticket);
	if (err != KURA_OK) {
		durable_fail(req, err);
		return err;
	}
	durable_ok(req);
	return KURA_OK;
}

static void
durable_done(void *arg, kura_err err)
{
	struct http_req *req = arg;

	if (err != KURA_OK)
		durable_fail(req, err);
	else
		durable_ok(req);
	http_record_done(req);
}

static void
record_done(void *arg, kura_err err)
{
	struct http_req *req = arg;

	if (err) {
		/* no durable record: the answer must not claim success */
		log_error("request %s: audit record failed: %s", req->request_id,
		    kura_strerror(err));
		http_reply_error(req, 503, "busy", "the server is busy, try again");
	}
	http_record_done(req);
}

bool
api_record(struct http_req *req)
{
	struct app *app = req->app;
	struct audit_rec r;
	kura_err err;

	if (req->commit_ticket != 0) {
		/* a change committed by api_commit: the reply waits for the
		 * WAL sync that covers it */
		if (req->record_nowait) {
			/* an early error reply that cannot be held: it claims
			 * no success, and the change stays (lazily) committed */
			return false;
		}
		err = store_durable_wait_async(app->store, req->commit_ticket,
		    durable_done, req);
		if (err != KURA_OK) {
			durable_fail(req, err);
			(void)http_add_header(req, "Retry-After", "1");
			return false;
		}
		return true;
	}
	if (app->audit == NULL)
		return false;
#ifdef KURA_BENCH_NO_AUDIT
	return false;           /* benchmark-only build: see meson_options.txt */
#endif
	fill(req, &r, req->status, NULL);
	err = audit_submit(app->audit, &r, req->record_nowait ? NULL : record_done,
	    req);
	audit_rec_clear(&r);
	if (err) {
		log_error("request %s: audit queue full: %s", req->request_id,
		    kura_strerror(err));
		if (!req->record_nowait) {
			http_reply_error(req, 503, "busy", "the server is busy, try again");
			(void)http_add_header(req, "Retry-After", "1");
		}
		return false;
	}
	req->audited = true;
	return !req->record_nowait;
}
