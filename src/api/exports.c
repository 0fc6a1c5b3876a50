/*
 * Tenant exports (DAT-4, TEN-5): the API side.  A caller with
 * exports.write queues an export (one queued or running per tenant), the
 * export thread (src/jobs/exports.c) builds the archive into an encrypted
 * blob, and the caller downloads it until it expires.  The download is
 * streamed from the blob (every chunk authenticated before it is sent),
 * supports Range like file downloads, and is flagged "bulk" in its audit
 * record so the bulk-export alert (LOG-6) fires.
 *
 *   POST /api/v1/exports (no body)       202 {export}; 409 export_in_progress,
 *                                        409 too_many_exports (EXPORTS_KEEP_MAX ready)
 *   GET  /api/v1/exports                 {items, next_cursor}
 *   GET  /api/v1/exports/{id}            {export}
 *   GET  /api/v1/exports/{id}/download   the archive; 409 not_ready, 410 expired
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/workspace.h"
#include "blob/blob.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "jobs/exports.h"

/* What a client sees: "expired" as soon as a ready export is past its
 * time, even before the export thread has removed the archive. */
static const char *
shown_status(const struct store_export *e, int64_t now)
{
	if (strcmp(e->status, "ready") == 0 && e->expires_us <= now)
		return "expired";
	return e->status;
}

static json_t *
export_json(struct http_req *req, const struct store_export *e)
{
	struct api_auth *a = api_auth(req);
	const char *status = shown_status(e, kura_now_us());
	bool ready = strcmp(status, "ready") == 0;
	char link[96];

	snprintf(link, sizeof(link), "/api/v1/exports/%s/download", e->id);
	return json_pack("{s:s,s:s,s:I,s:s?,s:o,s:o,s:o,s:s?}", "id", e->id,
	    "status", status, "size", (json_int_t)(ready ? e->size : 0),
	    "requested_by", e->requested_by[0] ? e->requested_by : NULL,
	    "created", api_time(a, e->created_us),
	    "ready", api_time(a, e->ready_us),
	    "expires", api_time(a, e->expires_us),
	    "download", ready ? link : NULL);
}

static void
internal(struct http_req *req, const char *what, kura_err err)
{
	log_error("request %s: %s: %s", req->request_id, what, kura_strerror(err));
	http_reply_error(req, 500, "internal", "internal error");
}

/* Load {id} of the caller's tenant; replies 404 and returns false when
 * there is none (another tenant's id looks exactly the same). */
static bool
load_export(struct http_req *req, struct store_export *ret)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *id = http_param(req, "id");
	kura_err err;

	if (id == NULL || !kcrypto_id_valid(id, "exp")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return false;
	}
	err = store_export_get(app->store, &a->ctx, id, ret);
	if (err == KURA_ENOENT) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return false;
	}
	if (err) {
		internal(req, "export get", err);
		return false;
	}
	return true;
}

/* POST /api/v1/exports: queue an export of the whole tenant.  The check
 * for one in progress and the insert share a write transaction, so two
 * concurrent requests cannot both pass. */
void
api_exports_create(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_export e, *list = NULL;
	size_t n = 0, ready = 0;
	bool in_tx = false;
	kura_err err;

	memset(&e, 0, sizeof(e));
	if ((err = kcrypto_id_new("exp", e.id)))
		goto out;
	snprintf(e.tenant_id, sizeof(e.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(e.status, sizeof(e.status), "queued");
	snprintf(e.requested_by, sizeof(e.requested_by), "%s", a->user->id);
	e.created_us = kura_now_us();
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if ((err = store_export_list(app->store, &a->ctx, &list, &n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].status, "queued") == 0 ||
		    strcmp(list[i].status, "running") == 0) {
			api_audit_detail(req, "running", json_string(list[i].id));
			http_reply_error(req, 409, "export_in_progress",
			    "an export of this organisation is already queued or running");
			goto out;
		}
		if (strcmp(shown_status(&list[i], e.created_us), "ready") == 0)
			ready++;
	}
	/* each ready archive is a full copy of the tenant's data on disk */
	if (ready >= EXPORTS_KEEP_MAX) {
		http_reply_error(req, 409, "too_many_exports",
		    "this organisation has as many exports ready as allowed; "
		    "download one, and start another once one has expired");
		goto out;
	}
	if ((err = store_export_insert(app->store, &a->ctx, &e)) ||
	    (err = api_commit(req, 202, e.id)))
		goto out;
	in_tx = false;
	exports_kick();
	http_reply_json(req, 202, export_json(req, &e));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(list);
}

/* Newest first, then by id (a stable order for the cursor). */
static int
newest_first(const void *pa, const void *pb)
{
	const struct store_export *x = pa, *y = pb;

	if (x->created_us != y->created_us)
		return x->created_us > y->created_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* GET /api/v1/exports?limit=&cursor= */
void
api_exports_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_export *list = NULL;
	const char *cursor = NULL;
	size_t n = 0, limit = 0, start = 0, shown = 0;
	json_t *items;
	kura_err err;

	if (!api_page_args(req, "exp", &cursor, &limit))
		return;
	if ((err = store_export_list(app->store, &a->ctx, &list, &n))) {
		internal(req, "export list", err);
		return;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), newest_first);
	if (cursor != NULL) {
		start = n;                  /* an unknown cursor: nothing after it */
		for (size_t i = 0; i < n; i++)
			if (strcmp(list[i].id, cursor) == 0)
				start = i + 1;
	}
	items = json_array();
	for (size_t i = start; items != NULL && i < n && shown < limit; i++, shown++)
		json_array_append_new(items, export_json(req, &list[i]));
	http_reply_json(req, 200, json_pack("{s:o,s:s?}", "items", items,
	    "next_cursor", start + shown < n && shown > 0 ?
	    list[start + shown - 1].id : NULL));
	free(list);
}

/* GET /api/v1/exports/{id} */
void
api_exports_get(struct http_req *req)
{
	struct store_export e;

	if (load_export(req, &e))
		http_reply_json(req, 200, export_json(req, &e));
}

/* GET /api/v1/exports/{id}/download: the archive, decrypted as it is
 * streamed; a bulk export in the audit record (LOG-6). */
void
api_exports_download(struct http_req *req)
{
	struct store_export e;
	uint64_t len = 0;
	char disp[128];
	const char *status;

	if (!load_export(req, &e))
		return;
	status = shown_status(&e, kura_now_us());
	if (strcmp(status, "expired") == 0) {
		http_reply_error(req, 410, "expired",
		    "this export has expired and its archive was deleted; start a new one");
		return;
	}
	if (strcmp(status, "ready") != 0 || e.blob_id[0] == '\0') {
		http_reply_error(req, 409, "not_ready", strcmp(status, "failed") == 0 ?
		    "this export failed; start a new one" :
		    "this export is not ready yet");
		return;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"kura-export-%s.tar.zst\"",
	    e.id);
	if (ws_reply_blob(req, e.blob_id, "application/zstd", disp, &len) != KURA_OK)
		return;
	api_audit_detail(req, "bulk", json_true());
	api_audit_detail(req, "size", json_integer((json_int_t)len));
}
