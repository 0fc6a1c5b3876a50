/*
 * Projects and their members (DAT-1, DAT-2, IAM-2 project scopes, CRY-1),
 * and the tenant's storage usage (quotas).
 *
 *   POST   /api/v1/projects                      files.write; caller = owner
 *   GET    /api/v1/projects                      the caller's projects (all
 *                                                with projects.all)
 *   GET    /api/v1/projects/{pid}                viewer
 *   PATCH  /api/v1/projects/{pid}                owner
 *   DELETE /api/v1/projects/{pid}                owner; everything inside
 *   GET    /api/v1/projects/{pid}/members        viewer
 *   PUT    /api/v1/projects/{pid}/members/{uid}  owner
 *   DELETE /api/v1/projects/{pid}/members/{uid}  owner
 *   GET    /api/v1/usage                         settings.read
 *
 * A project a caller may not see answers 404 on every route, exactly like
 * one that does not exist (ws_project_access).  Names, descriptions and
 * labels are sealed; a name is unique per tenant, case-insensitively,
 * through the blind index of purpose "project".  A project always keeps
 * at least one owner.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/workspace.h"
#include "core/log.h"
#include "core/parse.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define DESC_MAX 8192            /* bytes of a description */

static void
internal(struct http_req *req, const char *what, kura_err err)
{
	log_error("request %s: %s: %s", req->request_id, what, kura_strerror(err));
	http_reply_error(req, 500, "internal", "internal error");
}

bool
api_page_args(struct http_req *req, const char *prefix, const char **ret_cursor,
    size_t *ret_limit)
{
	const char *cursor = http_query(req, "cursor");
	const char *lim = http_query(req, "limit");
	uint64_t limit = PAGE_DEFAULT;

	if (lim != NULL && kura_parse_u64(lim, 1, PAGE_MAX, &limit) != KURA_OK) {
		api_bad_field(req, "limit", "a whole number from 1 to 200");
		return false;
	}
	if (cursor != NULL && !kcrypto_id_valid(cursor, prefix)) {
		api_bad_field(req, "cursor", "the next_cursor of an earlier page");
		return false;
	}
	*ret_cursor = cursor;
	*ret_limit = (size_t)limit;
	return true;
}

bool
api_multiline_ok(const char *s, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	/* jansson has checked UTF-8 already; refuse controls but TAB, LF, CR */
	for (; *p != '\0'; p++, n++) {
		if (n >= max_bytes)
			return false;
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
		    *p == 0x7f)
			return false;
		/* C1 controls U+0080..U+009F are C2 80..C2 9F */
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false;
	}
	return true;
}

/* The caller's member role in pid into ret ("" when not a member). */
static void
caller_role(struct http_req *req, const char *pid, char ret[STORE_STATUS_MAX])
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_member m;

	ret[0] = '\0';
	if (store_member_get(app->store, &a->ctx, pid, a->user->id, &m) == KURA_OK)
		snprintf(ret, STORE_STATUS_MAX, "%s", m.role);
}

/*
 * JSON view of a project: id, name, description, labels, role (the
 * caller's, null when they see it through projects.all only), created_by,
 * created, updated.  NULL if a sealed field does not open.
 */
static json_t *
project_json(struct http_req *req, const struct store_project *p)
{
	struct api_auth *a = api_auth(req);
	char role[STORE_STATUS_MAX];
	json_t *name, *desc, *labels;

	caller_role(req, p->id, role);
	name = api_open_json(a->keys, "projects", "name", p->id, &p->name);
	desc = p->description.len > 0 ? api_open_json(a->keys, "projects",
	    "description", p->id, &p->description) : json_string("");
	labels = api_open_json_value(a->keys, "projects", "labels", p->id,
	    &p->labels);
	if (name == NULL || desc == NULL || labels == NULL || !json_is_array(labels)) {
		json_decref(name);
		json_decref(desc);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:o,s:o,s:s?,s:s,s:o,s:o}", "id", p->id,
	    "name", name, "description", desc, "labels", labels,
	    "role", role[0] ? role : NULL, "created_by", p->created_by,
	    "created", api_time(a, p->created_us),
	    "updated", api_time(a, p->updated_us));
}

/* project_json for ws_reply_page. */
static json_t *
project_json_row(struct http_req *req, const void *row)
{
	return project_json(req, row);
}

static void
reply_project(struct http_req *req, unsigned status, const struct store_project *p)
{
	json_t *j = project_json(req, p);

	if (j == NULL)
		internal(req, "project does not open", KURA_ECRYPTO);
	else
		http_reply_json(req, status, j);
}

static void
name_taken(struct http_req *req)
{
	http_reply_error(req, 409, "name_taken",
	    "another project of this organisation has that name");
}

/*
 * Body of POST and PATCH: {"name","description","labels"}.  Replies 400
 * and returns false on a bad field.  Absent fields leave their out
 * parameter NULL; *ret_desc_set says whether "description" was given
 * (null or "" clears it).
 */
static bool
project_body(struct http_req *req, bool create, const char **ret_name,
    const char **ret_desc, bool *ret_desc_set, json_t **ret_labels)
{
	static const char *const fields[] = { "name", "description", "labels", NULL };

	*ret_desc_set = req->json != NULL &&
	    json_object_get(req->json, "description") != NULL;
	if (!api_only_fields(req, fields) ||
	    !api_str(req, "name", create, ret_name) ||
	    (*ret_name != NULL && !api_check(req, "name", ws_name_check(*ret_name))) ||
	    !api_str(req, "description", false, ret_desc) ||
	    !api_labels(req, ret_labels))
		return false;
	if (*ret_desc != NULL && !api_multiline_ok(*ret_desc, DESC_MAX)) {
		api_bad_field(req, "description",
		    "at most 8192 bytes of text (line breaks and tabs allowed)");
		return false;
	}
	return true;
}

/* Seal name (with its blind index) and description into p when given. */
static kura_err
project_seal(const struct api_auth *a, struct store_project *p, const char *name,
    const char *desc, bool desc_set)
{
	kura_err err = KURA_OK;

	if (name != NULL) {
		free(p->name.data);
		p->name.data = NULL;
		p->name.len = 0;
		err = api_blind(a->keys, "project", name, p->name_index);
		if (err == KURA_OK)
			err = api_seal_str(a->keys, "projects", "name", p->id, name,
			    &p->name);
	}
	if (err == KURA_OK && desc_set) {
		free(p->description.data);
		p->description.data = NULL;
		p->description.len = 0;
		if (desc != NULL && *desc != '\0')
			err = api_seal_str(a->keys, "projects", "description", p->id,
			    desc, &p->description);
	}
	return err;
}

/* POST /api/v1/projects {"name","description","labels"} -> 201 */
void
api_projects_create(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_project p;
	struct store_member m;
	const char *name = NULL, *desc = NULL;
	json_t *labels = NULL;
	bool desc_set = false, in_tx = false;
	kura_err err;

	memset(&p, 0, sizeof(p));
	memset(&m, 0, sizeof(m));
	if (!project_body(req, true, &name, &desc, &desc_set, &labels))
		return;
	if ((err = kcrypto_id_new("prj", p.id)) ||
	    (err = project_seal(a, &p, name, desc, desc_set)))
		goto out;
	snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(p.created_by, sizeof(p.created_by), "%s", a->user->id);
	p.created_us = p.updated_us = kura_now_us();
	snprintf(m.project_id, sizeof(m.project_id), "%s", p.id);
	snprintf(m.user_id, sizeof(m.user_id), "%s", a->user->id);
	snprintf(m.role, sizeof(m.role), "owner");
	m.added_us = p.created_us;
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (labels != NULL)
		err = ws_labels_store(req, "project", "projects", p.id, labels, &p.labels);
	if (err == KURA_OK)
		err = store_project_insert(app->store, &a->ctx, &p);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err == KURA_OK)
		err = store_member_put(app->store, &a->ctx, &m);
	if (err == KURA_OK)
		err = api_commit(req, 201, p.id);
	if (err)
		goto out;
	in_tx = false;
	reply_project(req, 201, &p);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(p.name.data);
	free(p.description.data);
	free(p.labels.data);
}

/* GET /api/v1/projects?label=&limit=&cursor=: the projects the caller is a
 * member of (every project with projects.all), by id. */
void
api_projects_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_project *list = NULL;
	char (*ids)[STORE_ID_MAX] = NULL;
	const char *cursor;
	size_t n = 0, nids = 0, limit;
	bool filter;
	kura_err err;

	if (!api_page_args(req, "prj", &cursor, &limit) ||
	    !ws_label_filter(req, "project", &ids, &nids, &filter))
		return;
	err = store_project_list(app->store, &a->ctx,
	    rbac_allows(a->perms, "projects.all") ? NULL : a->user->id, &list, &n);
	if (err) {
		internal(req, "project list", err);
		goto out;
	}
	ws_reply_page(req, list, n, sizeof(*list),
	    offsetof(struct store_project, id), project_json_row, cursor, limit, filter,
	    (const char (*)[STORE_ID_MAX])ids, nids);
out:
	store_project_list_free(list, n);
	free(ids);
}

/* GET /api/v1/projects/{pid} */
void
api_projects_get(struct http_req *req)
{
	struct store_project *p = NULL;

	if (ws_project_access(req, http_param(req, "pid"), WS_VIEW, &p) == WS_NONE)
		return;
	reply_project(req, 200, p);
	store_project_free(p);
}

/* PATCH /api/v1/projects/{pid} {"name"?,"description"?,"labels"?} (owner) */
void
api_projects_patch(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_project *p = NULL;
	const char *name = NULL, *desc = NULL;
	json_t *labels = NULL;
	bool desc_set = false, in_tx = false;
	kura_err err;

	/* fields first: a body naming a tenant is refused the same everywhere */
	if (!project_body(req, false, &name, &desc, &desc_set, &labels) ||
	    ws_project_access(req, http_param(req, "pid"), WS_OWN, &p) == WS_NONE)
		return;
	if ((err = project_seal(a, p, name, desc, desc_set)))
		goto out;
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	if (labels != NULL) {
		free(p->labels.data);
		p->labels.data = NULL;
		p->labels.len = 0;
		err = ws_labels_store(req, "project", "projects", p->id, labels,
		    &p->labels);
	}
	p->updated_us = kura_now_us();
	if (err == KURA_OK)
		err = store_project_update(app->store, &a->ctx, p);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err == KURA_OK)
		err = api_commit(req, 200, p->id);
	if (err)
		goto out;
	in_tx = false;
	reply_project(req, 200, p);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_project_free(p);
}

/*
 * DELETE /api/v1/projects/{pid} (owner): the project with its members,
 * directories, files, versions and tasks in one transaction, the usage
 * they held given back, and after the commit their content files.
 */
void
api_projects_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid");
	char (*blobs)[STORE_ID_MAX] = NULL;
	size_t nb = 0;
	uint64_t bytes = 0, files = 0, qb, qf;
	kura_err err;

	if (ws_project_access(req, pid, WS_OWN, NULL) == WS_NONE)
		return;
	ws_quota_defaults(&qb, &qf);
	err = store_begin(app->store);
	if (err)
		goto out;
	/* what the project holds, counted before its rows go */
	err = api_dir_tree_usage(req, pid, STORE_ROOT_DIR, &bytes, &files);
	if (err == KURA_OK)
		err = store_project_delete(app->store, &a->ctx, pid, &blobs, &nb);
	if (err == KURA_OK && (bytes > 0 || files > 0))
		err = store_usage_add(app->store, &a->ctx, -(int64_t)bytes,
		    -(int64_t)files, qb, qf);
	if (err == KURA_OK) {
		api_audit_detail(req, "files", json_integer((json_int_t)files));
		api_audit_detail(req, "bytes", json_integer((json_int_t)bytes));
		err = api_commit(req, 200, pid);
	}
	if (err) {
		(void)store_rollback(app->store);
		goto out;
	}
	ws_blobs_delete(req, (const char (*)[STORE_ID_MAX])blobs, nb);
	http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", pid, "deleted", 1));
out:
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(blobs);
}

/* ---- members ---- */

static json_t *
member_json(struct http_req *req, const struct store_member *m)
{
	return json_pack("{s:s,s:s,s:o}", "user_id", m->user_id, "role", m->role,
	    "added", api_time(api_auth(req), m->added_us));
}

/* GET /api/v1/projects/{pid}/members?limit=&cursor=: user ids and roles
 * (never names: a member may not read the user directory). */
void
api_members_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *cursor, *last = NULL;
	struct store_member *list = NULL;
	size_t n = 0, limit, shown = 0;
	json_t *items, *next = NULL;
	kura_err err;

	if (ws_project_access(req, pid, WS_VIEW, NULL) == WS_NONE ||
	    !api_page_args(req, "usr", &cursor, &limit))
		return;
	err = store_member_list(app->store, &a->ctx, pid, &list, &n);
	if (err) {
		internal(req, "member list", err);
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++) {
		if (cursor != NULL && strcmp(list[i].user_id, cursor) <= 0)
			continue;
		if (shown == limit) {
			next = json_string(last);
			break;
		}
		json_array_append_new(items, member_json(req, &list[i]));
		last = list[i].user_id;
		shown++;
	}
	free(list);   /* rows own nothing */
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "items", items,
	    "next_cursor", next ? next : json_null()));
}

/* Owners of pid into *ret_n (inside the caller's transaction). */
static kura_err
count_owners(struct http_req *req, const char *pid, size_t *ret_n)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_member *list = NULL;
	size_t n = 0, owners = 0;
	kura_err err;

	err = store_member_list(app->store, &a->ctx, pid, &list, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].role, "owner") == 0)
			owners++;
	free(list);   /* rows own nothing */
	*ret_n = owners;
	return KURA_OK;
}

static void
last_owner(struct http_req *req)
{
	http_reply_error(req, 409, "last_owner",
	    "a project keeps at least one owner; make someone else owner first");
}

/*
 * PUT /api/v1/projects/{pid}/members/{uid} {"role":"owner|editor|viewer"}
 * (owner): adds the user (201) or changes their role (200).  The user must
 * be an active or invited user of the tenant, else 404; the last owner
 * cannot be demoted (409 last_owner).
 */
void
api_members_put(struct http_req *req)
{
	static const char *const fields[] = { "role", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *uid = http_param(req, "uid");
	const char *role = NULL;
	struct store_member m, old;
	struct store_user *u = NULL;
	bool in_tx = false, existed;
	size_t owners = 0;
	kura_err err;

	memset(&m, 0, sizeof(m));
	if (!api_only_fields(req, fields) ||
	    ws_project_access(req, pid, WS_OWN, NULL) == WS_NONE)
		return;
	if (!kcrypto_id_valid(uid, "usr")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	if (!api_str(req, "role", true, &role))
		return;
	if (strcmp(role, "owner") != 0 && strcmp(role, "editor") != 0 &&
	    strcmp(role, "viewer") != 0) {
		api_bad_field(req, "role", "must be owner, editor or viewer");
		return;
	}
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	err = store_user_get(app->store, &a->ctx, uid, &u);
	if (err == KURA_OK && strcmp(u->status, "active") != 0 &&
	    strcmp(u->status, "invited") != 0)
		err = KURA_ENOENT;      /* a disabled user cannot join */
	if (err)
		goto out;
	err = store_member_get(app->store, &a->ctx, pid, uid, &old);
	existed = err == KURA_OK;
	if (err == KURA_ENOENT)
		err = KURA_OK;
	if (err == KURA_OK && existed && strcmp(old.role, "owner") == 0 &&
	    strcmp(role, "owner") != 0) {
		err = count_owners(req, pid, &owners);
		if (err == KURA_OK && owners <= 1) {
			last_owner(req);
			goto out;
		}
	}
	if (err)
		goto out;
	snprintf(m.project_id, sizeof(m.project_id), "%s", pid);
	snprintf(m.user_id, sizeof(m.user_id), "%s", uid);
	snprintf(m.role, sizeof(m.role), "%s", role);
	m.added_us = existed ? old.added_us : kura_now_us();
	err = store_member_put(app->store, &a->ctx, &m);
	if (err == KURA_OK) {
		api_audit_detail(req, "user_id", json_string(uid));
		api_audit_detail(req, "role", json_string(role));
		err = api_commit(req, existed ? 200 : 201, pid);
	}
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, existed ? 200 : 201, member_json(req, &m));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_user_free(u);
}

/* DELETE /api/v1/projects/{pid}/members/{uid} (owner; not the last owner) */
void
api_members_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *pid = http_param(req, "pid"), *uid = http_param(req, "uid");
	struct store_member old;
	bool in_tx = false;
	size_t owners = 0;
	kura_err err;

	if (ws_project_access(req, pid, WS_OWN, NULL) == WS_NONE)
		return;
	if (!kcrypto_id_valid(uid, "usr")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	if ((err = store_begin(app->store)))
		goto out;
	in_tx = true;
	err = store_member_get(app->store, &a->ctx, pid, uid, &old);
	if (err == KURA_OK && strcmp(old.role, "owner") == 0) {
		err = count_owners(req, pid, &owners);
		if (err == KURA_OK && owners <= 1) {
			last_owner(req);
			goto out;
		}
	}
	if (err == KURA_OK)
		err = store_member_delete(app->store, &a->ctx, pid, uid);
	if (err == KURA_OK) {
		api_audit_detail(req, "user_id", json_string(uid));
		err = api_commit(req, 200, pid);
	}
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 200, json_pack("{s:s,s:s,s:b}", "project_id", pid,
	    "user_id", uid, "deleted", 1));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
}

/* ---- usage ---- */

/* GET /api/v1/usage: bytes and files the tenant uses and its quota. */
void
api_usage_get(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_usage u;
	uint64_t qb, qf;
	kura_err err;

	ws_quota_defaults(&qb, &qf);
	err = store_usage_get(app->store, &a->ctx, qb, qf, &u);
	if (err) {
		internal(req, "usage", err);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:I,s:I,s:I,s:I}",
	    "bytes", (json_int_t)u.bytes, "files", (json_int_t)u.files,
	    "max_bytes", (json_int_t)u.max_bytes, "max_files", (json_int_t)u.max_files));
}
