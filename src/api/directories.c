/*
 * Directories: the tree inside a project (DAT-1, DAT-2, CRY-1).
 *
 *   POST   /api/v1/projects/{pid}/directories          editor
 *   GET    /api/v1/projects/{pid}/directories?parent_id= viewer; children
 *   GET    /api/v1/projects/{pid}/directories/{did}    viewer
 *   PATCH  /api/v1/projects/{pid}/directories/{did}    editor; rename, move
 *   DELETE /api/v1/projects/{pid}/directories/{did}[?recursive=true] editor
 *
 * Names follow ws_name_check and are unique among the siblings of a
 * directory, directories and files together (the store's entry_names,
 * keyed by the case-sensitive blind index ws_name_index).  A directory
 * cannot move into its own subtree (409 cycle).  Deleting a non-empty
 * directory needs recursive=true; it gives back the usage of every file
 * below and removes their content files after the commit.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/workspace.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

#define TREE_MAX 1000000         /* directories visited by one tree walk */
#define DEPTH_MAX 10000          /* parents followed by the cycle check */

/*
 * Plaintext bytes of every kept version and the number of files in the
 * subtree of dir_id (STORE_ROOT_DIR: the whole project), walked
 * iteratively so depth costs no stack.  Run inside the transaction that
 * deletes the subtree so the counts match what goes.  KURA_ETOOBIG past
 * TREE_MAX directories.
 */
kura_err
api_dir_tree_usage(struct http_req *req, const char *pid, const char *dir_id,
    uint64_t *ret_bytes, uint64_t *ret_files)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	char (*pending)[STORE_ID_MAX] = NULL;
	size_t npending = 0, cap = 0, visited = 0;
	uint64_t bytes = 0, files = 0;
	kura_err err = KURA_OK;

	pending = kura_calloc(16, sizeof(*pending));
	if (pending == NULL)
		return KURA_ENOMEM;
	cap = 16;
	snprintf(pending[npending++], STORE_ID_MAX, "%s", dir_id);
	while (err == KURA_OK && npending > 0) {
		char cur[STORE_ID_MAX];
		struct store_file *fl = NULL;
		struct store_dir *dl = NULL;
		size_t nf = 0, nd = 0;

		memcpy(cur, pending[--npending], sizeof(cur));
		if (++visited > TREE_MAX) {
			err = KURA_ETOOBIG;
			break;
		}
		err = store_file_list(app->store, &a->ctx, pid, cur, &fl, &nf);
		for (size_t i = 0; err == KURA_OK && i < nf; i++) {
			struct store_file_version *vl = NULL;
			size_t nv = 0;
			files++;
			err = store_version_list(app->store, &a->ctx, fl[i].id, &vl, &nv);
			for (size_t k = 0; err == KURA_OK && k < nv; k++)
				bytes += vl[k].size;
			store_version_list_free(vl, nv);
		}
		store_file_list_free(fl, nf);
		if (err == KURA_OK)
			err = store_dir_list(app->store, &a->ctx, pid, cur, &dl, &nd);
		for (size_t i = 0; err == KURA_OK && i < nd; i++) {
			if (npending == cap) {
				void *grown = kura_reallocarray(pending, cap * 2, sizeof(*pending));
				if (grown == NULL) {
					err = KURA_ENOMEM;
					break;
				}
				pending = grown;
				cap *= 2;
			}
			memcpy(pending[npending++], dl[i].id, STORE_ID_MAX);
		}
		store_dir_list_free(dl, nd);
	}
	free(pending);
	if (err)
		return err;
	*ret_bytes = bytes;
	*ret_files = files;
	return KURA_OK;
}

/* ---- views and arguments ---- */

static json_t *
dir_json(struct http_req *req, const struct store_dir *d)
{
	struct api_auth *a = api_auth(req);
	json_t *name, *labels;

	name = api_open_json(a->keys, "directories", "name", d->id, &d->name);
	labels = api_open_json_value(a->keys, "directories", "labels", d->id,
	    &d->labels);
	if (name == NULL || labels == NULL || !json_is_array(labels)) {
		json_decref(name);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "id", d->id,
	    "project_id", d->project_id,
	    "parent_id", d->parent_id[0] ? json_string(d->parent_id) : json_null(),
	    "name", name, "labels", labels,
	    "created", api_time(a, d->created_us),
	    "updated", api_time(a, d->updated_us));
}

/* dir_json for ws_reply_page. */
static json_t *
dir_json_row(struct http_req *req, const void *row)
{
	return dir_json(req, row);
}

static void
reply_dir(struct http_req *req, unsigned status, const struct store_dir *d)
{
	json_t *j = dir_json(req, d);

	if (j == NULL) {
		log_error("request %s: directory %s does not open", req->request_id,
		    d->id);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	http_reply_json(req, status, j);
}

static void
name_taken(struct http_req *req)
{
	http_reply_error(req, 409, "name_taken",
	    "a file or directory of that name is already there");
}

/* Load {did} of project {pid} after checking access; replies and returns
 * NULL on failure. */
static struct store_dir *
load_dir(struct http_req *req, enum ws_access need)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *did = http_param(req, "did");
	struct store_dir *d = NULL;

	if (ws_project_access(req, pid, need, NULL) == WS_NONE)
		return NULL;
	if (!kcrypto_id_valid(did, "dir") ||
	    store_dir_get(app->store, &a->ctx, pid, did, &d) != KURA_OK) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return NULL;
	}
	return d;
}

/* "parent_id" of the body: absent or null is the root; else a directory
 * of project pid.  Replies 400 and returns false when it is not. */
static bool
parent_arg(struct http_req *req, const char *pid, char ret[STORE_ID_MAX])
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_dir *d = NULL;
	const char *parent;

	ret[0] = '\0';
	if (!api_str(req, "parent_id", false, &parent))
		return false;
	if (parent == NULL)
		return true;
	if (!kcrypto_id_valid(parent, "dir") ||
	    store_dir_get(app->store, &a->ctx, pid, parent, &d) != KURA_OK) {
		api_bad_field(req, "parent_id", "no such directory in this project");
		return false;
	}
	store_dir_free(d);
	snprintf(ret, STORE_ID_MAX, "%s", parent);
	return true;
}

/*
 * Would making parent the parent of did put did inside itself?  Follows
 * parent's ancestors to the root (inside the caller's transaction).
 * *ret_cycle true when did is parent or one of its ancestors.
 */
static kura_err
would_cycle(struct http_req *req, const char *pid, const char *did,
    const char *parent, bool *ret_cycle)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	char cur[STORE_ID_MAX];
	kura_err err = KURA_OK;

	*ret_cycle = false;
	snprintf(cur, sizeof(cur), "%s", parent);
	for (size_t depth = 0; cur[0] != '\0'; depth++) {
		struct store_dir *d = NULL;
		if (strcmp(cur, did) == 0) {
			*ret_cycle = true;
			break;
		}
		if (depth >= DEPTH_MAX)
			return KURA_ETOOBIG;
		if ((err = store_dir_get(app->store, &a->ctx, pid, cur, &d)))
			return err;
		snprintf(cur, sizeof(cur), "%s", d->parent_id);
		store_dir_free(d);
	}
	return KURA_OK;
}

static void
cycle(struct http_req *req)
{
	http_reply_error(req, 409, "cycle",
	    "a directory cannot move into itself or one of its subdirectories");
}

/* ---- handlers ---- */

/* POST /api/v1/projects/{pid}/directories {"name","parent_id","labels"} */
void
api_dirs_create(struct http_req *req)
{
	static const char *const fields[] = { "name", "parent_id", "labels", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *name;
	struct store_dir d;
	json_t *labels = NULL;
	bool in_tx = false;
	kura_err err;

	memset(&d, 0, sizeof(d));
	if (!api_only_fields(req, fields) ||
	    ws_project_access(req, pid, WS_EDIT, NULL) == WS_NONE ||
	    !api_str(req, "name", true, &name) ||
	    !api_check(req, "name", ws_name_check(name)) ||
	    !parent_arg(req, pid, d.parent_id) || !api_labels(req, &labels))
		return;
	if ((err = kcrypto_id_new("dir", d.id)) ||
	    (err = ws_name_index(a->keys, name, d.name_index)) ||
	    (err = api_seal_str(a->keys, "directories", "name", d.id, name, &d.name)))
		goto out;
	snprintf(d.tenant_id, sizeof(d.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(d.project_id, sizeof(d.project_id), "%s", pid);
	d.created_us = d.updated_us = kura_now_us();
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (labels != NULL)
		err = ws_labels_store(req, "directory", "directories", d.id, labels,
		    &d.labels);
	if (err == KURA_OK)
		err = store_dir_insert(app->store, &a->ctx, &d);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err == KURA_ENOENT) {
		/* the parent went away meanwhile */
		api_bad_field(req, "parent_id", "no such directory in this project");
		goto out;
	}
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(pid));
		err = api_commit(req, 201, d.id);
	}
	if (err)
		goto out;
	in_tx = false;
	reply_dir(req, 201, &d);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(d.name.data);
	free(d.labels.data);
}

/* GET /api/v1/projects/{pid}/directories?parent_id=&label=&limit=&cursor=:
 * the children of parent_id (the root when absent), by id. */
void
api_dirs_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *parent = http_query(req, "parent_id");
	const char *cursor;
	struct store_dir *list = NULL;
	char (*ids)[STORE_ID_MAX] = NULL;
	size_t n = 0, nids = 0, limit;
	bool filter;
	kura_err err;

	if (ws_project_access(req, pid, WS_VIEW, NULL) == WS_NONE)
		return;
	if (parent != NULL && !kcrypto_id_valid(parent, "dir")) {
		api_bad_field(req, "parent_id", "not a directory id");
		return;
	}
	if (!api_page_args(req, "dir", &cursor, &limit) ||
	    !ws_label_filter(req, "directory", &ids, &nids, &filter))
		return;
	err = store_dir_list(app->store, &a->ctx, pid, parent ? parent :
	    STORE_ROOT_DIR, &list, &n);
	if (err) {
		http_reply_kura_err(req, err == KURA_ENOENT ? KURA_EIO : err);
		goto out;
	}
	ws_reply_page(req, list, n, sizeof(*list),
	    offsetof(struct store_dir, id), dir_json_row, cursor, limit, filter,
	    (const char (*)[STORE_ID_MAX])ids, nids);
out:
	store_dir_list_free(list, n);
	free(ids);
}

/* GET /api/v1/projects/{pid}/directories/{did} */
void
api_dirs_get(struct http_req *req)
{
	struct store_dir *d = load_dir(req, WS_VIEW);

	if (d == NULL)
		return;
	reply_dir(req, 200, d);
	store_dir_free(d);
}

/* PATCH /api/v1/projects/{pid}/directories/{did}
 * {"name"?,"parent_id"? (null: the root),"labels"?} */
void
api_dirs_patch(struct http_req *req)
{
	static const char *const fields[] = { "name", "parent_id", "labels", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_dir *d = NULL;
	const char *name;
	json_t *labels = NULL;
	bool in_tx = false, moved, is_cycle = false;
	kura_err err = KURA_OK;

	if (!api_only_fields(req, fields) || (d = load_dir(req, WS_EDIT)) == NULL)
		return;
	moved = req->json != NULL && json_object_get(req->json, "parent_id") != NULL;
	if (!api_str(req, "name", false, &name) ||
	    (name != NULL && !api_check(req, "name", ws_name_check(name))) ||
	    !api_labels(req, &labels))
		goto out;
	if (moved) {
		const char *p = NULL;
		if (!api_str(req, "parent_id", false, &p))
			goto out;
		/* itself as parent is a cycle, not a missing directory */
		if (p != NULL && strcmp(p, d->id) == 0) {
			cycle(req);
			goto out;
		}
		if (!parent_arg(req, d->project_id, d->parent_id))
			goto out;
	}
	if (name != NULL) {
		free(d->name.data);
		d->name.data = NULL;
		d->name.len = 0;
		if ((err = ws_name_index(a->keys, name, d->name_index)) ||
		    (err = api_seal_str(a->keys, "directories", "name", d->id, name,
		    &d->name)))
			goto out;
	}
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (moved && (err = would_cycle(req, d->project_id, d->id, d->parent_id,
	    &is_cycle)) == KURA_OK && is_cycle) {
		cycle(req);
		goto out;
	}
	if (err == KURA_ENOENT) {
		api_bad_field(req, "parent_id", "no such directory in this project");
		goto out;
	}
	if (err == KURA_OK && labels != NULL) {
		free(d->labels.data);
		d->labels.data = NULL;
		d->labels.len = 0;
		err = ws_labels_store(req, "directory", "directories", d->id, labels,
		    &d->labels);
	}
	d->updated_us = kura_now_us();
	if (err == KURA_OK)
		err = store_dir_update(app->store, &a->ctx, d);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err == KURA_ECONFLICT) {
		cycle(req);
		goto out;
	}
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(d->project_id));
		err = api_commit(req, 200, d->id);
	}
	if (err)
		goto out;
	in_tx = false;
	reply_dir(req, 200, d);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_dir_free(d);
}

/*
 * DELETE /api/v1/projects/{pid}/directories/{did}[?recursive=true]: an
 * empty directory, or with recursive=true everything below it; the usage
 * of the files removed is given back and their content files removed
 * after the commit.
 */
void
api_dirs_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *rq = http_query(req, "recursive");
	struct store_dir *d = NULL;
	char (*blobs)[STORE_ID_MAX] = NULL;
	uint64_t children = 0, bytes = 0, files = 0, qb, qf;
	size_t nb = 0;
	bool recursive = false, in_tx = false;
	kura_err err = KURA_OK;

	if ((d = load_dir(req, WS_EDIT)) == NULL)
		return;
	if (rq != NULL && strcmp(rq, "true") != 0 && strcmp(rq, "false") != 0) {
		api_bad_field(req, "recursive", "true or false");
		goto out;
	}
	recursive = rq != NULL && strcmp(rq, "true") == 0;
	ws_quota_defaults(&qb, &qf);
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	err = store_dir_children(app->store, &a->ctx, d->project_id, d->id, &children);
	if (err == KURA_OK && children > 0 && !recursive) {
		http_reply_error(req, 409, "not_empty",
		    "the directory is not empty; delete with recursive=true to remove everything in it");
		goto out;
	}
	if (err == KURA_OK)
		err = api_dir_tree_usage(req, d->project_id, d->id, &bytes, &files);
	if (err == KURA_OK)
		err = store_dir_delete_tree(app->store, &a->ctx, d->project_id, d->id,
		    &blobs, &nb);
	if (err == KURA_OK && (bytes > 0 || files > 0))
		err = store_usage_add(app->store, &a->ctx, -(int64_t)bytes,
		    -(int64_t)files, qb, qf);
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(d->project_id));
		api_audit_detail(req, "recursive", json_boolean(recursive));
		api_audit_detail(req, "files", json_integer((json_int_t)files));
		api_audit_detail(req, "bytes", json_integer((json_int_t)bytes));
		err = api_commit(req, 200, d->id);
	}
	if (err)
		goto out;
	in_tx = false;
	ws_blobs_delete(req, (const char (*)[STORE_ID_MAX])blobs, nb);
	http_reply_json(req, 200, json_pack("{s:s,s:b,s:I,s:I}", "id", d->id,
	    "deleted", 1, "files_removed", (json_int_t)files,
	    "bytes_removed", (json_int_t)bytes));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(blobs);
	store_dir_free(d);
}
