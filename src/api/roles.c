/*
 * Roles and the permission catalogue (IAM-2, IAM-3, DAT-1): GET
 * /permissions, GET|POST /roles, PATCH|DELETE /roles/{id}.
 *
 * Built-in roles (tenant_admin, member) are not rows and cannot be changed
 * or deleted.  A custom role is a set of catalogue permissions with a
 * sealed name and labels; its name is unique per tenant, case-insensitively,
 * through the blind index (purpose "role").  Least privilege: a caller can
 * only create or edit a role whose permissions they hold themselves.
 *
 * Hook for project-level data scopes (workspace issue): a role will carry
 * the projects it applies to next to its permissions; api_user_perms and
 * role_json are where that scope joins in.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/validate.h"
#include "core/log.h"
#include "core/mem.h"

static const char *const builtin_roles[] = { RBAC_ROLE_ADMIN, RBAC_ROLE_MEMBER };

static void
not_found(struct http_req *req)
{
	http_reply_error(req, 404, "not_found", "no such resource");
}

static void
internal(struct http_req *req, const char *what, kura_err err)
{
	log_error("request %s: %s: %s", req->request_id, what, kura_strerror(err));
	http_reply_error(req, 500, "internal", "internal error");
}

/* Catalogue names of perms as a JSON array. */
static json_t *
perms_array(rbac_perms perms)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < rbac_catalogue_len; i++)
		if (perms & rbac_catalogue[i].bit)
			json_array_append_new(arr, json_string(rbac_catalogue[i].name));
	return arr;
}

static json_t *
builtin_json(const char *name)
{
	rbac_perms p = 0;

	(void)rbac_builtin(name, &p);
	return json_pack("{s:s,s:s,s:b,s:[],s:o,s:n,s:n}", "id", name, "name", name,
	    "builtin", 1, "labels", "permissions", perms_array(p), "created",
	    "updated");
}

/*
 * JSON view of a custom role: id, name, labels, permissions, created,
 * updated.  Opens the sealed name and labels; NULL if they do not open
 * (a key or data problem the caller answers with 500).
 */
static json_t *
role_json(struct http_req *req, const struct store_role *r)
{
	struct api_auth *a = api_auth(req);
	json_t *name, *labels;
	rbac_perms p = 0;

	name = api_open_json(a->keys, "roles", "name", r->id, &r->name);
	labels = api_open_json_value(a->keys, "roles", "labels", r->id, &r->labels);
	if (name == NULL || labels == NULL || !json_is_array(labels) ||
	    rbac_parse(r->permissions, &p) != KURA_OK) {
		json_decref(name);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:b,s:o,s:o,s:o,s:o}", "id", r->id, "name", name,
	    "builtin", 0, "labels", labels, "permissions", perms_array(p),
	    "created", api_time(a, r->created_us),
	    "updated", api_time(a, r->updated_us));
}

static bool
is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++)
		if (strcmp(name, builtin_roles[i]) == 0)
			return true;
	return false;
}

/* Case-insensitive (ASCII) match against the built-in names, which a
 * custom role may not take: a user would not tell them apart. */
static bool
is_builtin_name(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++)
		if (strcasecmp(name, builtin_roles[i]) == 0)
			return true;
	return false;
}

static void
name_taken(struct http_req *req)
{
	http_reply_error(req, 409, "name_taken",
	    "another role of this organisation has that name");
}

/* GET /api/v1/permissions: the catalogue and the built-in roles. */
void
api_permissions_list(struct http_req *req)
{
	json_t *items = json_array(), *roles = json_array();

	for (size_t i = 0; i < rbac_catalogue_len; i++)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:b}",
		    "name", rbac_catalogue[i].name, "en", rbac_catalogue[i].en,
		    "ja", rbac_catalogue[i].ja,
		    "admin_only", rbac_catalogue[i].admin_only != 0));
	for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++)
		json_array_append_new(roles, builtin_json(builtin_roles[i]));
	http_reply_json(req, 200, json_pack("{s:o,s:o,s:n}", "items", items,
	    "builtin_roles", roles, "next_cursor"));
}

/* GET /api/v1/roles[?label=X]: built-in roles, then custom roles by id. */
void
api_roles_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_role *list = NULL;
	const char *label;
	json_t *items = NULL;
	size_t n = 0;
	kura_err err;

	if (!api_label_query(req, &label))
		return;
	err = store_role_list(app->store, &a->ctx, &list, &n);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	items = json_array();
	/* built-in roles have no labels, so a label filter leaves them out */
	for (size_t i = 0; label == NULL && i < sizeof(builtin_roles) /
	    sizeof(builtin_roles[0]); i++)
		json_array_append_new(items, builtin_json(builtin_roles[i]));
	for (size_t i = 0; i < n; i++) {
		json_t *r = role_json(req, &list[i]);
		if (r == NULL) {
			internal(req, "role does not open", KURA_ECRYPTO);
			goto out;
		}
		if (api_labels_match(json_object_get(r, "labels"), label))
			json_array_append_new(items, r);
		else
			json_decref(r);
	}
	http_reply_json(req, 200, json_pack("{s:O,s:n}", "items", items,
	    "next_cursor"));
out:
	json_decref(items);
	store_role_list_free(list, n);
}

/*
 * Body of POST and PATCH: {"name","permissions","labels"}.  Validates
 * every present field (replying 400) and the least-privilege rule on the
 * permissions given (403).  On success fills the out parameters; absent
 * fields leave *ret_name / *ret_labels NULL and *ret_has_perms false.
 */
static bool
role_body(struct http_req *req, bool create, const char **ret_name,
    rbac_perms *ret_perms, bool *ret_has_perms, json_t **ret_labels)
{
	static const char *const fields[] = { "name", "permissions", "labels", NULL };
	struct api_auth *a = api_auth(req);

	if (!api_only_fields(req, fields) ||
	    !api_str(req, "name", create, ret_name) ||
	    (*ret_name != NULL && !api_check(req, "name",
	    val_resource_name(*ret_name))) ||
	    !api_perms_field(req, "permissions", create, ret_perms, ret_has_perms) ||
	    !api_labels(req, ret_labels))
		return false;
	if (*ret_name != NULL && is_builtin_name(*ret_name)) {
		name_taken(req);
		return false;
	}
	if (*ret_has_perms && (*ret_perms & ~a->perms) != 0) {
		http_reply_error(req, 403, "privilege_escalation",
		    "a role cannot hold permissions you do not hold yourself");
		return false;
	}
	return true;
}

/* Seal name (if given) and labels (if given) into r, replacing what is
 * there, and set the name's blind index. */
static kura_err
role_seal(const struct api_auth *a, struct store_role *r, const char *name,
    const json_t *labels)
{
	kura_err err = KURA_OK;

	if (name != NULL) {
		free(r->name.data);
		r->name.data = NULL;
		r->name.len = 0;
		err = api_blind(a->keys, "role", name, r->name_index);
		if (err == KURA_OK)
			err = api_seal_str(a->keys, "roles", "name", r->id, name, &r->name);
	}
	if (err == KURA_OK && labels != NULL) {
		free(r->labels.data);
		r->labels.data = NULL;
		r->labels.len = 0;
		err = api_seal_json(a->keys, "roles", "labels", r->id, labels, &r->labels);
	}
	return err;
}

/* POST /api/v1/roles {"name","permissions":[...],"labels":[...]} -> 201 */
void
api_role_create(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_role r;
	const char *name = NULL;
	json_t *labels = NULL, *empty = NULL, *out;
	rbac_perms perms = 0;
	bool has_perms = false;
	kura_err err;

	memset(&r, 0, sizeof(r));
	if (!role_body(req, true, &name, &perms, &has_perms, &labels))
		return;
	if (labels == NULL)
		labels = empty = json_array();
	err = kcrypto_id_new("rol", r.id);
	if (err == KURA_OK)
		err = role_seal(a, &r, name, labels);
	if (err == KURA_OK && (r.permissions = rbac_format(perms)) == NULL)
		err = KURA_ENOMEM;
	if (err)
		goto out;
	snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", a->ctx.tenant_id);
	r.created_us = r.updated_us = kura_now_us();
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_role_insert(app->store, &a->ctx, &r);
	if (err == KURA_OK)
		err = api_commit(req, 201, r.id);
	if (err)
		(void)store_rollback(app->store);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err)
		goto out;
	out = role_json(req, &r);
	if (out == NULL)
		err = KURA_ENOMEM;
	else
		http_reply_json(req, 201, out);
out:
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	json_decref(empty);
	free(r.name.data);
	free(r.labels.data);
	free(r.permissions);
}

/* {id} of a route on a custom role: 409 for a built-in role name, 404 for
 * anything that is not a role id.  NULL after replying. */
static const char *
role_param(struct http_req *req)
{
	const char *id = http_param(req, "id");

	if (id != NULL && is_builtin(id)) {
		http_reply_error(req, 409, "builtin_role",
		    "built-in roles cannot be changed or deleted");
		return NULL;
	}
	if (!kcrypto_id_valid(id, "rol")) {
		not_found(req);
		return NULL;
	}
	return id;
}

/* PATCH /api/v1/roles/{id} {"name"?,"permissions"?,"labels"?} */
void
api_role_update(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_role *r = NULL;
	const char *id, *name = NULL;
	json_t *labels = NULL, *out;
	rbac_perms perms = 0, old = 0;
	bool has_perms = false, in_tx = false;
	kura_err err;

	if ((id = role_param(req)) == NULL ||
	    !role_body(req, false, &name, &perms, &has_perms, &labels))
		return;
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	err = store_role_get(app->store, &a->ctx, id, &r);
	if (err)
		goto out;    /* another tenant's role is ENOENT too: 404 */
	err = rbac_parse(r->permissions, &old);
	if (err)
		goto out;
	/* editing a role more powerful than oneself is escalation too: the
	 * role, as it will be, must stay within the caller's permissions */
	if (((has_perms ? perms : old) & ~a->perms) != 0) {
		http_reply_error(req, 403, "privilege_escalation",
		    "a role cannot hold permissions you do not hold yourself");
		goto out;
	}
	err = role_seal(a, r, name, labels);
	if (err == KURA_OK && has_perms) {
		free(r->permissions);
		if ((r->permissions = rbac_format(perms)) == NULL)
			err = KURA_ENOMEM;
	}
	if (err)
		goto out;
	r->updated_us = kura_now_us();
	err = store_role_update(app->store, &a->ctx, r);
	if (err == KURA_EEXIST) {
		name_taken(req);
		goto out;
	}
	if (err == KURA_OK)
		err = api_commit(req, 200, r->id);
	if (err)
		goto out;
	in_tx = false;
	out = role_json(req, r);
	if (out == NULL)
		err = KURA_ENOMEM;
	else
		http_reply_json(req, 200, out);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_role_free(r);
}

/* DELETE /api/v1/roles/{id}: only when no user holds the role. */
void
api_role_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_role *r = NULL;
	struct store_user *users = NULL;
	size_t n = 0;
	const char *id;
	bool in_tx = false;
	kura_err err;

	if ((id = role_param(req)) == NULL)
		return;
	/* one transaction: nobody can be given the role between check and delete */
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	err = store_role_get(app->store, &a->ctx, id, &r);
	if (err == KURA_OK)
		err = store_user_list(app->store, &a->ctx, &users, &n);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (api_csv_has(users[i].roles, id)) {
			http_reply_error(req, 409, "role_in_use",
			    "users still hold this role; give them another role first");
			goto out;
		}
	}
	err = store_role_delete(app->store, &a->ctx, id);
	if (err == KURA_OK)
		err = api_commit(req, 200, id);
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	store_user_list_free(users, n);
	store_role_free(r);
}
