/*
 * Tasks in a project (DAT-1, DAT-2, CRY-1): title, description, status,
 * assignee, due date, labels and links to files of the same project.
 *
 *   POST   /api/v1/projects/{pid}/tasks                editor
 *   GET    /api/v1/projects/{pid}/tasks?status=&assignee_id=&label= viewer
 *   GET    /api/v1/projects/{pid}/tasks/{tid}          viewer
 *   PATCH  /api/v1/projects/{pid}/tasks/{tid}          editor
 *   DELETE /api/v1/projects/{pid}/tasks/{tid}          editor
 *
 * Title, description and labels are sealed.  The assignee must be a
 * member of the project; "due" is an RFC 3339 time stored as UTC
 * microseconds and shown in the tenant's zone; "file_ids" (at most
 * TASK_FILES_MAX, each a file of the project) are the task's links.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/workspace.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/tz.h"

#define TITLE_MAX 255            /* bytes */
#define DESC_MAX 8192            /* bytes */
#define TASK_FILES_MAX 100

/* ---- parsing ---- */


static bool
status_ok(const char *s)
{
	return strcmp(s, "open") == 0 || strcmp(s, "in_progress") == 0 ||
	    strcmp(s, "done") == 0;
}

/* What a POST or PATCH body gives; NULL / false for what it leaves out. */
struct task_body {
	const char *title;
	const char *description;
	bool desc_set;               /* null or "" clears */
	const char *status;
	bool assignee_set;           /* null clears */
	char assignee[STORE_ID_MAX];
	bool due_set;                /* null clears */
	int64_t due_us;
	json_t *labels;
	json_t *file_ids;            /* validated, distinct */
};

/* "file_ids": an array of at most TASK_FILES_MAX distinct ids of files of
 * project pid.  Replies 400 and returns false otherwise. */
static bool
file_ids_arg(struct http_req *req, const char *pid, json_t **ret)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	json_t *v = json_object_get(req->json, "file_ids"), *item;
	size_t i;

	*ret = NULL;
	if (v == NULL)
		return true;
	if (!json_is_array(v) || json_array_size(v) > TASK_FILES_MAX) {
		api_bad_field(req, "file_ids", "must be an array of at most 100 file ids");
		return false;
	}
	json_array_foreach(v, i, item) {
		const char *id = json_string_value(item);
		struct store_file *f = NULL;
		if (id == NULL || !kcrypto_id_valid(id, "fil")) {
			api_bad_field(req, "file_ids", "each must be a file id");
			return false;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(json_string_value(json_array_get(v, k)), id) == 0) {
				api_bad_field(req, "file_ids", "each file at most once");
				return false;
			}
		}
		if (store_file_get(app->store, &a->ctx, pid, id, &f) != KURA_OK) {
			api_bad_field(req, "file_ids", "each must be a file of this project");
			return false;
		}
		store_file_free(f);
	}
	*ret = v;
	return true;
}

/*
 * Validate the body of POST (create: title required) or PATCH into b.
 * Replies 400 and returns false on the first bad field.
 */
static bool
task_body(struct http_req *req, const char *pid, bool create, struct task_body *b)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *assignee = NULL, *due = NULL;
	json_t *j = req->json;

	memset(b, 0, sizeof(*b));
	b->desc_set = j != NULL && json_object_get(j, "description") != NULL;
	b->assignee_set = j != NULL && json_object_get(j, "assignee_id") != NULL;
	b->due_set = j != NULL && json_object_get(j, "due") != NULL;
	if (!api_str(req, "title", create, &b->title) ||
	    !api_str(req, "description", false, &b->description) ||
	    !api_str(req, "status", false, &b->status) ||
	    !api_str(req, "assignee_id", false, &assignee) ||
	    !api_str(req, "due", false, &due) || !api_labels(req, &b->labels))
		return false;
	if (b->title != NULL && (*b->title == '\0' ||
	    !kura_text_ok(b->title, TITLE_MAX))) {
		api_bad_field(req, "title",
		    "1 to 255 bytes of text without control characters");
		return false;
	}
	if (b->description != NULL && !api_multiline_ok(b->description, DESC_MAX)) {
		api_bad_field(req, "description",
		    "at most 8192 bytes of text (line breaks and tabs allowed)");
		return false;
	}
	if (b->status != NULL && !status_ok(b->status)) {
		api_bad_field(req, "status", "must be open, in_progress or done");
		return false;
	}
	if (assignee != NULL) {
		struct store_member m;
		if (!kcrypto_id_valid(assignee, "usr") ||
		    store_member_get(app->store, &a->ctx, pid, assignee, &m) != KURA_OK) {
			api_bad_field(req, "assignee_id", "must be a member of this project");
			return false;
		}
		snprintf(b->assignee, sizeof(b->assignee), "%s", assignee);
	}
	if (due != NULL && (!tz_parse_rfc3339(due, &b->due_us) || b->due_us == 0)) {
		api_bad_field(req, "due",
		    "an RFC 3339 time such as 2026-11-21T09:00:00+09:00, or null");
		return false;
	}
	return j == NULL || file_ids_arg(req, pid, &b->file_ids);
}

/* Seal the fields b gives into t (title, description). */
static kura_err
task_seal(const struct api_auth *a, struct store_task *t, const struct task_body *b)
{
	kura_err err = KURA_OK;

	if (b->title != NULL) {
		free(t->title.data);
		t->title.data = NULL;
		t->title.len = 0;
		err = api_seal_str(a->keys, "tasks", "title", t->id, b->title, &t->title);
	}
	if (err == KURA_OK && b->desc_set) {
		free(t->description.data);
		t->description.data = NULL;
		t->description.len = 0;
		if (b->description != NULL && *b->description != '\0')
			err = api_seal_str(a->keys, "tasks", "description", t->id,
			    b->description, &t->description);
	}
	if (b->status != NULL)
		snprintf(t->status, sizeof(t->status), "%s", b->status);
	if (b->assignee_set)
		snprintf(t->assignee_id, sizeof(t->assignee_id), "%s", b->assignee);
	if (b->due_set)
		t->due_us = b->due_us;
	return err;
}

/*
 * Make the links of task tid exactly the ids of want (inside the caller's
 * transaction): unlink what is no longer wanted, link what is new.
 */
static kura_err
task_set_files(struct http_req *req, const char *tid, const json_t *want)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	char (*have)[STORE_ID_MAX] = NULL;
	size_t nhave = 0, i;
	const json_t *item;
	kura_err err;

	err = store_task_files(app->store, &a->ctx, tid, &have, &nhave);
	for (i = 0; err == KURA_OK && i < nhave; i++) {
		bool keep = false;
		size_t k;
		json_array_foreach(want, k, item)
			if (strcmp(json_string_value(item), have[i]) == 0)
				keep = true;
		if (!keep)
			err = store_task_unlink(app->store, &a->ctx, tid, have[i]);
	}
	json_array_foreach(want, i, item) {
		if (err)
			break;
		if (!ws_id_in((const char (*)[STORE_ID_MAX])have, nhave,
		    json_string_value(item)))
			err = store_task_link(app->store, &a->ctx, tid,
			    json_string_value(item));
	}
	free(have);
	return err;
}

/* ---- views ---- */

/*
 * JSON view: id, project_id, title, description, labels, status,
 * assignee_id, due, file_ids, created_by, created, updated.  NULL if a
 * sealed field does not open or the links cannot be read.
 */
static json_t *
task_json(struct http_req *req, const struct store_task *t)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	char (*ids)[STORE_ID_MAX] = NULL;
	size_t n = 0;
	json_t *title, *desc, *labels, *files = NULL;

	title = api_open_json(a->keys, "tasks", "title", t->id, &t->title);
	desc = t->description.len > 0 ? api_open_json(a->keys, "tasks",
	    "description", t->id, &t->description) : json_string("");
	labels = api_open_json_value(a->keys, "tasks", "labels", t->id, &t->labels);
	if (store_task_files(app->store, &a->ctx, t->id, &ids, &n) == KURA_OK) {
		files = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(files, json_string(ids[i]));
	}
	free(ids);
	if (title == NULL || desc == NULL || labels == NULL ||
	    !json_is_array(labels) || files == NULL) {
		json_decref(title);
		json_decref(desc);
		json_decref(labels);
		json_decref(files);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:s,s:o,s:o}",
	    "id", t->id, "project_id", t->project_id, "title", title,
	    "description", desc, "labels", labels, "status", t->status,
	    "assignee_id", t->assignee_id[0] ? json_string(t->assignee_id) :
	    json_null(),
	    "due", t->due_us > 0 ? api_time(a, t->due_us) : json_null(),
	    "file_ids", files, "created_by", t->created_by,
	    "created", api_time(a, t->created_us),
	    "updated", api_time(a, t->updated_us));
}

/* task_json for ws_reply_page. */
static json_t *
task_json_row(struct http_req *req, const void *row)
{
	return task_json(req, row);
}

static void
reply_task(struct http_req *req, unsigned status, const struct store_task *t)
{
	json_t *j = task_json(req, t);

	if (j == NULL) {
		log_error("request %s: task %s does not open", req->request_id, t->id);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	http_reply_json(req, status, j);
}

/* Load {tid} of project {pid} after checking access; replies and returns
 * NULL on failure. */
static struct store_task *
load_task(struct http_req *req, enum ws_access need)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *tid = http_param(req, "tid");
	struct store_task *t = NULL;

	if (ws_project_access(req, pid, need, NULL) == WS_NONE)
		return NULL;
	if (!kcrypto_id_valid(tid, "tsk") ||
	    store_task_get(app->store, &a->ctx, pid, tid, &t) != KURA_OK) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return NULL;
	}
	return t;
}

static const char *const task_fields[] = { "title", "description", "status",
    "assignee_id", "due", "labels", "file_ids", NULL };

/* ---- handlers ---- */

/* POST /api/v1/projects/{pid}/tasks {"title","description","status",
 * "assignee_id","due","labels","file_ids"} -> 201 */
void
api_tasks_create(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid");
	struct task_body b;
	struct store_task t;
	bool in_tx = false;
	kura_err err;

	memset(&t, 0, sizeof(t));
	if (!api_only_fields(req, task_fields) ||
	    ws_project_access(req, pid, WS_EDIT, NULL) == WS_NONE ||
	    !task_body(req, pid, true, &b))
		return;
	if ((err = kcrypto_id_new("tsk", t.id)))
		goto out;
	snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(t.project_id, sizeof(t.project_id), "%s", pid);
	snprintf(t.status, sizeof(t.status), "open");
	snprintf(t.created_by, sizeof(t.created_by), "%s", a->user->id);
	t.created_us = t.updated_us = kura_now_us();
	if ((err = task_seal(a, &t, &b)))
		goto out;
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (b.labels != NULL)
		err = ws_labels_store(req, "task", "tasks", t.id, b.labels, &t.labels);
	if (err == KURA_OK)
		err = store_task_insert(app->store, &a->ctx, &t);
	if (err == KURA_OK && b.file_ids != NULL)
		err = task_set_files(req, t.id, b.file_ids);
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(pid));
		err = api_commit(req, 201, t.id);
	}
	if (err)
		goto out;
	in_tx = false;
	reply_task(req, 201, &t);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err == KURA_ENOENT && !req->replied)
		/* a linked file or the assignee went away meanwhile */
		http_reply_error(req, 409, "conflict",
		    "a linked file or the assignee changed meanwhile; try again");
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(t.title.data);
	free(t.description.data);
	free(t.labels.data);
}

/* GET /api/v1/projects/{pid}/tasks?status=&assignee_id=&label=&limit=&cursor= */
void
api_tasks_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid");
	const char *status = http_query(req, "status");
	const char *assignee = http_query(req, "assignee_id");
	const char *cursor;
	struct store_task *list = NULL;
	char (*ids)[STORE_ID_MAX] = NULL;
	size_t n = 0, nids = 0, limit;
	bool filter;
	kura_err err;

	if (ws_project_access(req, pid, WS_VIEW, NULL) == WS_NONE)
		return;
	if (status != NULL && !status_ok(status)) {
		api_bad_field(req, "status", "must be open, in_progress or done");
		return;
	}
	if (assignee != NULL && !kcrypto_id_valid(assignee, "usr")) {
		api_bad_field(req, "assignee_id", "not a user id");
		return;
	}
	if (!api_page_args(req, "tsk", &cursor, &limit) ||
	    !ws_label_filter(req, "task", &ids, &nids, &filter))
		return;
	err = store_task_list(app->store, &a->ctx, pid, status, assignee, &list, &n);
	if (err) {
		http_reply_kura_err(req, err == KURA_ENOENT ? KURA_EIO : err);
		goto out;
	}
	ws_reply_page(req, list, n, sizeof(*list),
	    offsetof(struct store_task, id), task_json_row, cursor, limit, filter,
	    (const char (*)[STORE_ID_MAX])ids, nids);
out:
	store_task_list_free(list, n);
	free(ids);
}

/* GET /api/v1/projects/{pid}/tasks/{tid} */
void
api_tasks_get(struct http_req *req)
{
	struct store_task *t = load_task(req, WS_VIEW);

	if (t == NULL)
		return;
	reply_task(req, 200, t);
	store_task_free(t);
}

/* PATCH /api/v1/projects/{pid}/tasks/{tid}: any field of POST; "file_ids"
 * replaces the links. */
void
api_tasks_patch(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_task *t = NULL;
	struct task_body b;
	bool in_tx = false;
	kura_err err = KURA_OK;

	if (!api_only_fields(req, task_fields) ||
	    (t = load_task(req, WS_EDIT)) == NULL)
		return;
	if (!task_body(req, t->project_id, false, &b))
		goto out;
	if ((err = task_seal(a, t, &b)))
		goto out;
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (b.labels != NULL) {
		free(t->labels.data);
		t->labels.data = NULL;
		t->labels.len = 0;
		err = ws_labels_store(req, "task", "tasks", t->id, b.labels, &t->labels);
	}
	t->updated_us = kura_now_us();
	if (err == KURA_OK)
		err = store_task_update(app->store, &a->ctx, t);
	if (err == KURA_OK && b.file_ids != NULL)
		err = task_set_files(req, t->id, b.file_ids);
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(t->project_id));
		err = api_commit(req, 200, t->id);
	}
	if (err)
		goto out;
	in_tx = false;
	reply_task(req, 200, t);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err == KURA_ENOENT && !req->replied)
		http_reply_error(req, 409, "conflict",
		    "a linked file or the assignee changed meanwhile; try again");
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_task_free(t);
}

/* DELETE /api/v1/projects/{pid}/tasks/{tid} (the links go with it) */
void
api_tasks_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_task *t = NULL;
	kura_err err;

	if ((t = load_task(req, WS_EDIT)) == NULL)
		return;
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_task_delete(app->store, &a->ctx, t->project_id, t->id);
	if (err == KURA_OK) {
		api_audit_detail(req, "project_id", json_string(t->project_id));
		err = api_commit(req, 200, t->id);
	}
	if (err) {
		(void)store_rollback(app->store);
		http_reply_kura_err(req, err);
	} else {
		http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", t->id,
		    "deleted", 1));
	}
	store_task_free(t);
}
