/*
 * Files in projects (DAT-2, DAT-3, CRY-1): metadata routes and streamed
 * content.  Names are customer content, so they travel in JSON bodies,
 * never in URLs: a file is created with POST (name), and each upload of
 * its content (PUT .../content, the raw body) adds a version.  Content is
 * encrypted chunk by chunk as it arrives (src/blob): no plaintext byte
 * reaches the disk, memory stays at about two chunks per upload, and an
 * interrupted or refused upload leaves no visible file (its temporary
 * file is removed).  Downloads are served as attachments with nosniff,
 * with HTTP Range; every chunk is authenticated before it is sent.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/workspace.h"
#include "blob/blob.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

/* ---- views ---- */

static json_t *
version_json(struct http_req *req, const struct store_file_version *v)
{
	struct api_auth *a = api_auth(req);

	return json_pack("{s:I,s:I,s:o*,s:o*,s:s,s:o}",
	    "version", (json_int_t)v->version, "size", (json_int_t)v->size,
	    "sha256", api_open_json(a->keys, "file_versions", "sha256", v->blob_id,
	    &v->sha256),
	    "content_type", v->content_type.data ? api_open_json(a->keys,
	    "file_versions", "content_type", v->blob_id, &v->content_type) :
	    json_string("application/octet-stream"),
	    "uploaded_by", v->uploaded_by, "created", api_time(a, v->created_us));
}

static json_t *
file_json(struct http_req *req, const struct store_file *f, bool versions)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_file_version *list = NULL;
	size_t n = 0;
	json_t *j;

	j = json_pack("{s:s,s:s,s:o,s:o*,s:o*,s:s,s:I,s:s,s:o,s:o}",
	    "id", f->id, "project_id", f->project_id,
	    "directory_id", f->directory_id[0] ? json_string(f->directory_id) :
	    json_null(),
	    "name", api_open_json(a->keys, "files", "name", f->id, &f->name),
	    "labels", api_open_json_value(a->keys, "files", "labels", f->id,
	    &f->labels),
	    "kind", f->kind, "current_version", (json_int_t)f->current_version,
	    "created_by", f->created_by, "created", api_time(a, f->created_us),
	    "updated", api_time(a, f->updated_us));
	if (j == NULL)
		return NULL;
	if (store_version_list(app->store, &a->ctx, f->id, &list, &n) == KURA_OK) {
		if (n > 0) {
			json_object_set_new(j, "size", json_integer((json_int_t)list[0].size));
			json_object_set_new(j, "sha256", api_open_json(a->keys,
			    "file_versions", "sha256", list[0].blob_id, &list[0].sha256));
		}
		if (versions) {
			json_t *arr = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(arr, version_json(req, &list[i]));
			json_object_set_new(j, "versions", arr);
		}
	}
	store_version_list_free(list, n);
	return j;
}

/* A row of the file list (without versions), for ws_reply_page. */
static json_t *
file_list_row(struct http_req *req, const void *row)
{
	return file_json(req, row, false);
}

/* Load {fid} of project {pid} after checking access; replies and returns
 * NULL on failure. */
static struct store_file *
load_file(struct http_req *req, enum ws_access need)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *fid = http_param(req, "fid");
	struct store_file *f = NULL;

	if (ws_project_access(req, pid, need, NULL) == WS_NONE)
		return NULL;
	if (!kcrypto_id_valid(fid, "fil") ||
	    store_file_get(app->store, &a->ctx, pid, fid, &f) != KURA_OK) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return NULL;
	}
	return f;
}

/* directory_id from the body: absent/null -> root; else a directory of
 * the project.  Replies and returns false when it is not. */
static bool
directory_arg(struct http_req *req, const char *pid, char ret[STORE_ID_MAX])
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_dir *d = NULL;
	const char *dir;

	ret[0] = '\0';
	if (!api_str(req, "directory_id", false, &dir))
		return false;
	if (dir == NULL)
		return true;
	if (!kcrypto_id_valid(dir, "dir") ||
	    store_dir_get(app->store, &a->ctx, pid, dir, &d) != KURA_OK) {
		api_bad_field(req, "directory_id", "no such directory in this project");
		return false;
	}
	store_dir_free(d);
	snprintf(ret, STORE_ID_MAX, "%s", dir);
	return true;
}

/* ---- metadata ---- */

/* POST /api/v1/projects/{pid}/files {"name","directory_id","labels",
 * "on_conflict": "fail"|"new_version"} */
void
api_files_create(struct http_req *req)
{
	static const char *const fields[] = { "name", "directory_id", "labels",
	    "on_conflict", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *name, *conflict;
	struct store_file f, *existing = NULL;
	uint64_t qb, qf;
	json_t *labels = NULL;
	bool in_tx = false;
	kura_err err;

	memset(&f, 0, sizeof(f));
	if (!api_only_fields(req, fields) ||
	    ws_project_access(req, pid, WS_EDIT, NULL) == WS_NONE ||
	    !api_str(req, "name", true, &name) ||
	    !api_check(req, "name", ws_name_check(name)) ||
	    !directory_arg(req, pid, f.directory_id) || !api_labels(req, &labels) ||
	    !api_str(req, "on_conflict", false, &conflict))
		return;
	if (conflict != NULL && strcmp(conflict, "fail") != 0 &&
	    strcmp(conflict, "new_version") != 0) {
		api_bad_field(req, "on_conflict", "must be fail or new_version");
		return;
	}
	if ((err = kcrypto_id_new("fil", f.id)) ||
	    (err = ws_name_index(a->keys, name, f.name_index)))
		goto out;
	/* the same name again: with new_version, the client uploads to it */
	if (conflict != NULL && strcmp(conflict, "new_version") == 0 &&
	    store_file_get_by_name(app->store, &a->ctx, pid, f.directory_id,
	    f.name_index, &existing) == KURA_OK) {
		http_reply_json(req, 200, file_json(req, existing, false));
		goto out;
	}
	snprintf(f.tenant_id, sizeof(f.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(f.project_id, sizeof(f.project_id), "%s", pid);
	snprintf(f.kind, sizeof(f.kind), "user");      /* uploads are user content */
	snprintf(f.created_by, sizeof(f.created_by), "%s", a->user->id);
	f.created_us = f.updated_us = kura_now_us();
	if ((err = api_seal_str(a->keys, "files", "name", f.id, name, &f.name)))
		goto out;
	ws_quota_defaults(&qb, &qf);
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	err = store_usage_add(app->store, &a->ctx, 0, 1, qb, qf);
	if (err == KURA_ETOOBIG) {
		http_reply_error(req, 409, "quota_exceeded",
		    "the organisation's file count quota is used up");
		goto out;
	}
	if (err == KURA_OK)
		err = ws_labels_store(req, "file", "files", f.id, labels, &f.labels);
	if (err == KURA_OK)
		err = store_file_insert(app->store, &a->ctx, &f);
	if (err == KURA_EEXIST) {
		http_reply_error(req, 409, "name_taken",
		    "a file or directory of that name is already here");
		goto out;
	}
	if (err == KURA_OK)
		err = api_commit(req, 201, f.id);
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 201, file_json(req, &f, false));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_file_free(existing);
	free(f.name.data);
	free(f.labels.data);
}

/* GET /api/v1/projects/{pid}/files?directory_id=&label=&limit=&cursor=
 * (keyset on the file id, like every list) */
void
api_files_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *dir = http_query(req, "directory_id");
	const char *cursor;
	struct store_file *list = NULL;
	char (*ids)[STORE_ID_MAX] = NULL;
	size_t n = 0, nids = 0, limit;
	bool filter;

	if (ws_project_access(req, pid, WS_VIEW, NULL) == WS_NONE)
		return;
	if (dir != NULL && !kcrypto_id_valid(dir, "dir")) {
		api_bad_field(req, "directory_id", "not a directory id");
		return;
	}
	if (!api_page_args(req, "fil", &cursor, &limit) ||
	    !ws_label_filter(req, "file", &ids, &nids, &filter))
		return;
	if (store_file_list(app->store, &a->ctx, pid, dir ? dir : STORE_ROOT_DIR,
	    &list, &n) != KURA_OK) {
		free(ids);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	ws_reply_page(req, list, n, sizeof(*list),
	    offsetof(struct store_file, id), file_list_row, cursor, limit, filter,
	    (const char (*)[STORE_ID_MAX])ids, nids);
	store_file_list_free(list, n);
	free(ids);
}

/* GET /api/v1/projects/{pid}/files/{fid} */
void
api_files_get(struct http_req *req)
{
	struct store_file *f = load_file(req, WS_VIEW);

	if (f == NULL)
		return;
	http_reply_json(req, 200, file_json(req, f, true));
	store_file_free(f);
}

/* PATCH /api/v1/projects/{pid}/files/{fid} {"name","directory_id","labels"} */
void
api_files_patch(struct http_req *req)
{
	static const char *const fields[] = { "name", "directory_id", "labels", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_file *f = NULL;
	const char *name;
	json_t *labels = NULL;
	bool in_tx = false;
	kura_err err = KURA_OK;

	if (!api_only_fields(req, fields) || (f = load_file(req, WS_EDIT)) == NULL)
		return;
	if (!api_str(req, "name", false, &name) ||
	    (name && !api_check(req, "name", ws_name_check(name))) ||
	    !api_labels(req, &labels))
		goto out;
	if (req->json != NULL && json_object_get(req->json, "directory_id") != NULL &&
	    !directory_arg(req, f->project_id, f->directory_id))
		goto out;
	if (name != NULL) {
		free(f->name.data);
		f->name.data = NULL;
		if ((err = ws_name_index(a->keys, name, f->name_index)) ||
		    (err = api_seal_str(a->keys, "files", "name", f->id, name, &f->name)))
			goto out;
	}
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (labels != NULL) {
		free(f->labels.data);
		f->labels.data = NULL;
		if ((err = ws_labels_store(req, "file", "files", f->id, labels,
		    &f->labels)))
			goto out;
	}
	f->updated_us = kura_now_us();
	err = store_file_update(app->store, &a->ctx, f);
	if (err == KURA_EEXIST) {
		http_reply_error(req, 409, "name_taken",
		    "a file or directory of that name is already there");
		goto out;
	}
	if (err == KURA_OK)
		err = api_commit(req, 200, f->id);
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 200, file_json(req, f, false));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_file_free(f);
}

/* DELETE /api/v1/projects/{pid}/files/{fid}: the file, every version, and
 * (after the commit) their content files. */
void
api_files_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_file_version *vers = NULL;
	struct store_file *f = NULL;
	char (*blobs)[STORE_ID_MAX] = NULL;
	size_t nv = 0, nb = 0;
	uint64_t bytes = 0, qb, qf;
	kura_err err;

	if ((f = load_file(req, WS_EDIT)) == NULL)
		return;
	ws_quota_defaults(&qb, &qf);
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_version_list(app->store, &a->ctx, f->id, &vers, &nv);
	for (size_t i = 0; err == KURA_OK && i < nv; i++)
		bytes += vers[i].size;
	if (err == KURA_OK)
		err = store_file_delete(app->store, &a->ctx, f->project_id, f->id,
		    &blobs, &nb);
	if (err == KURA_OK)
		err = store_usage_add(app->store, &a->ctx, -(int64_t)bytes, -1, qb, qf);
	if (err == KURA_OK)
		err = api_commit(req, 200, f->id);
	if (err) {
		(void)store_rollback(app->store);
		http_reply_kura_err(req, err);
	} else {
		ws_blobs_delete(req, (const char (*)[STORE_ID_MAX])blobs, nb);
		http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", f->id,
		    "deleted", 1));
	}
	free(blobs);
	store_version_list_free(vers, nv);
	store_file_free(f);
}

/* ---- upload ---- */

struct upload {
	struct blob_writer *w;
	struct store_file *f;
	char content_type[128];
	uint64_t quota_left;
};

static void
upload_free(void *arg)
{
	struct upload *u = arg;

	if (u == NULL)
		return;
	blob_writer_free(u->w);     /* removes an uncommitted temporary file */
	store_file_free(u->f);
	free(u);
}

static void
quota_reply(struct http_req *req)
{
	http_reply_error(req, 413, "quota_exceeded",
	    "the upload would exceed the organisation's storage quota or the largest file allowed");
}

/* Runs on the worker pool: make the content durable, then record the
 * version, usage and audit record in one transaction. */
static void
upload_finish(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct upload *u = req->work;
	struct store_file_version v;
	char (*pruned)[STORE_ID_MAX] = NULL;
	char sha[BLOB_SHA256_HEX + 1];
	size_t npruned = 0;
	uint64_t freed = 0, qb, qf;
	bool in_tx = false, blob_made = false;
	kura_err err;

	memset(&v, 0, sizeof(v));
	ws_quota_defaults(&qb, &qf);
	err = blob_commit(u->w, v.blob_id, &v.size, sha);
	if (err)
		goto out;
	blob_made = true;
	snprintf(v.file_id, sizeof(v.file_id), "%s", u->f->id);
	snprintf(v.uploaded_by, sizeof(v.uploaded_by), "%s", a->user->id);
	v.created_us = kura_now_us();
	if ((err = api_seal_str(a->keys, "file_versions", "sha256", v.blob_id, sha,
	    &v.sha256)) ||
	    (err = api_seal_str(a->keys, "file_versions", "content_type", v.blob_id,
	    u->content_type, &v.content_type)))
		goto out;
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	/* re-read: a concurrent upload may have added a version */
	{
		struct store_file *cur = NULL;
		err = store_file_get(app->store, &a->ctx, u->f->project_id, u->f->id, &cur);
		if (err)
			goto out;
		store_file_free(u->f);
		u->f = cur;
	}
	err = store_usage_add(app->store, &a->ctx, (int64_t)v.size, 0, qb, qf);
	if (err == KURA_ETOOBIG) {
		quota_reply(req);
		goto out;
	}
	v.version = u->f->current_version + 1;
	if (err == KURA_OK)
		err = store_version_insert(app->store, &a->ctx, &v);
	if (err == KURA_OK) {
		u->f->current_version = v.version;
		u->f->updated_us = v.created_us;
		err = store_file_update(app->store, &a->ctx, u->f);
	}
	if (err == KURA_OK)
		err = store_version_prune(app->store, &a->ctx, u->f->id,
		    (uint32_t)app->cfg->keep_versions, &pruned, &npruned, &freed);
	if (err == KURA_OK && freed > 0)
		err = store_usage_add(app->store, &a->ctx, -(int64_t)freed, 0, qb, qf);
	if (err == KURA_OK) {
		api_audit_detail(req, "version", json_integer(v.version));
		api_audit_detail(req, "size", json_integer((json_int_t)v.size));
		err = api_commit(req, 201, u->f->id);
	}
	if (err)
		goto out;
	in_tx = false;
	blob_made = false;          /* it belongs to the version now */
	ws_blobs_delete(req, (const char (*)[STORE_ID_MAX])pruned, npruned);
	http_reply_json(req, 201, json_pack("{s:s,s:o}", "file_id", u->f->id,
	    "version", version_json(req, &v)));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (blob_made)
		(void)blob_delete(app->blob_root, a->ctx.tenant_id, v.blob_id);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(pruned);
	free(v.sha256.data);
	free(v.content_type.data);
}

/* PUT /api/v1/projects/{pid}/files/{fid}/content: the raw body becomes a
 * new version.  A streamed route: called per phase (see http.h). */
void
api_files_upload(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct upload *u = req->work;
	struct store_usage use;
	uint64_t qb, qf, max;
	kura_err err;

	switch (req->phase) {
	case HTTP_STREAM_START: {
		const char *ct = http_header(req, "Content-Type");
		u = kura_calloc(1, sizeof(*u));
		if (u == NULL) {
			http_reply_error(req, 503, "busy", "the server is busy, try again");
			return;
		}
		req->work = u;
		req->work_free = upload_free;
		if ((u->f = load_file(req, WS_EDIT)) == NULL)
			return;
		snprintf(u->content_type, sizeof(u->content_type), "%s",
		    ct != NULL && kura_token_ok(ct, 127, "/.+-;= _") ? ct :
		    "application/octet-stream");
		ws_quota_defaults(&qb, &qf);
		if (store_usage_get(app->store, &a->ctx, qb, qf, &use) != KURA_OK) {
			http_reply_error(req, 500, "internal", "internal error");
			return;
		}
		u->quota_left = use.bytes >= use.max_bytes ? 0 : use.max_bytes - use.bytes;
		max = u->quota_left < req->body.max ? u->quota_left : req->body.max;
		if (req->content_length != UINT64_MAX && req->content_length > max) {
			quota_reply(req);
			return;
		}
		err = blob_writer_new(app->blob_root, a->keys, max, &u->w);
		if (err) {
			log_error("request %s: cannot start an upload: %s",
			    req->request_id, kura_strerror(err));
			http_reply_error(req, 500, "internal", "internal error");
		}
		return;
	}
	case HTTP_STREAM_DATA:
		err = blob_write(u->w, req->chunk, req->chunk_len);
		if (err == KURA_ETOOBIG)
			quota_reply(req);
		else if (err)
			http_reply_error(req, 500, "internal", "internal error");
		return;
	case HTTP_STREAM_END:
		http_defer(req, upload_finish);
		return;
	case HTTP_STREAM_NONE:
		break;
	}
	http_reply_error(req, 500, "internal", "internal error");
}

/* GET /api/v1/projects/{pid}/files/{fid}/content[?version=N]: served as
 * an attachment (application/octet-stream, nosniff) whatever the recorded
 * type, with the decrypted name in an RFC 5987 filename*. */
void
api_files_download(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_file_version v;
	struct store_file *f = NULL;
	const char *qv = http_query(req, "version");
	uint64_t version;
	char *disp = NULL;
	json_t *name = NULL;

	memset(&v, 0, sizeof(v));
	if ((f = load_file(req, WS_VIEW)) == NULL)
		return;
	version = f->current_version;
	if (qv != NULL && kura_parse_u64(qv, 1, UINT32_MAX, &version) != KURA_OK) {
		api_bad_field(req, "version", "a version number");
		goto out;
	}
	if (version == 0 || store_version_get(app->store, &a->ctx, f->id,
	    (uint32_t)version, &v) != KURA_OK) {
		http_reply_error(req, 404, "not_found", "no such version of this file");
		goto out;
	}
	name = api_open_json(a->keys, "files", "name", f->id, &f->name);
	if (name != NULL) {
		/* RFC 5987: percent-encode all but unreserved characters */
		struct kbuf b;
		const unsigned char *p = (const unsigned char *)json_string_value(name);
		kbuf_init(&b, 2048);
		(void)kbuf_puts(&b, "attachment; filename=\"download\"; filename*=UTF-8''");
		for (; *p != '\0'; p++) {
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
				(void)kbuf_append(&b, p, 1);
			else
				(void)kbuf_printf(&b, "%%%02X", *p);
		}
		disp = kbuf_steal(&b, NULL);
	}
	(void)ws_reply_blob(req, v.blob_id, "application/octet-stream",
	    disp ? disp : "attachment; filename=\"download\"", NULL);
out:
	json_decref(name);
	free(disp);
	store_version_clear(&v);
	store_file_free(f);
}
