/*
 * Access review (IAM-4): GET /access-review[?format=csv] lists every user
 * of the tenant with their roles, effective permissions, MFA state and
 * last sign-in, for the periodic review of who may do what.
 *
 * Effective permissions are what the user's roles grant (api_user_perms);
 * a disabled or invited user cannot use them, which the status column
 * shows.  Project access: every project the user is a member of, as
 * "<project id>:<role>" (tenant-wide access shows as projects.all among
 * the permissions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#define CSV_MAX ((size_t)64 << 20)

/* A role id and its display name (opened once per request). */
struct role_name {
	const char *id;
	json_t *name;      /* JSON string */
};

static const char *const csv_columns[] = { "id", "login_id", "display_name",
    "email", "status", "roles", "permissions", "mfa_enabled", "last_login",
    "projects" };

/* Append the strings of a JSON array, joined with sep, as one CSV field. */
static kura_err
csv_join(struct kbuf *b, const json_t *arr, const char *sep)
{
	struct kbuf j;
	const json_t *v;
	size_t i;
	kura_err err = KURA_OK;

	kbuf_init_secret(&j, CSV_MAX);
	json_array_foreach(arr, i, v) {
		if (err == KURA_OK && i > 0)
			err = kbuf_puts(&j, sep);
		if (err == KURA_OK && json_is_string(v))
			err = kbuf_puts(&j, json_string_value(v));
	}
	if (err == KURA_OK)
		err = api_csv_field(b, j.data ? j.data : "", false);
	kbuf_free(&j);
	return err;
}

static const char *
str_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* One user's row of the review as JSON (api_user_json plus role names,
 * effective permissions and projects). */
static kura_err
review_row(struct http_req *req, const struct store_user *u,
    const struct role_name *roles, size_t n_roles, json_t **ret)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	json_t *row, *ids, *names, *v;
	rbac_perms perms = 0;
	bool admin = false;
	char *csv;
	size_t i;
	kura_err err;

	err = api_user_perms(app, &a->ctx, u->roles, &perms, &admin);
	if (err)
		return err;
	if ((csv = rbac_format(perms)) == NULL)
		return KURA_ENOMEM;
	row = api_user_json(req, u);
	if (row == NULL) {
		free(csv);
		return KURA_ENOMEM;
	}
	json_object_set_new(row, "permissions", api_csv_array(csv));
	free(csv);
	ids = json_object_get(row, "roles");
	names = json_array();
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		json_t *name = NULL;
		for (size_t k = 0; k < n_roles; k++)
			if (strcmp(roles[k].id, id) == 0)
				name = json_incref(roles[k].name);
		/* built-in roles are named by their id; a deleted role by its id */
		json_array_append_new(names, name ? name : json_string(id));
	}
	json_object_set_new(row, "role_names", names);
	{
		struct store_project *plist = NULL;
		size_t np = 0;
		json_t *projects = json_array();
		err = store_project_list(app->store, &a->ctx, u->id, &plist, &np);
		for (size_t k = 0; err == KURA_OK && k < np; k++) {
			struct store_member m;
			char entry[STORE_ID_MAX + STORE_STATUS_MAX + 2];
			if (store_member_get(app->store, &a->ctx, plist[k].id, u->id,
			    &m) != KURA_OK)
				continue;
			snprintf(entry, sizeof(entry), "%s:%s", plist[k].id, m.role);
			json_array_append_new(projects, json_string(entry));
		}
		store_project_list_free(plist, np);
		json_object_set_new(row, "projects", projects);
		if (err) {
			json_decref(row);
			return err;
		}
	}
	*ret = row;
	return KURA_OK;
}

/* The review as CSV: a header row, then one row per user. */
static kura_err
review_csv(const json_t *items, struct kbuf *b)
{
	const json_t *row;
	size_t i;
	kura_err err = KURA_OK;

	/* a UTF-8 byte order mark so spreadsheets read Japanese names right */
	err = kbuf_puts(b, "\xef\xbb\xbf");
	for (size_t c = 0; err == KURA_OK && c < sizeof(csv_columns) /
	    sizeof(csv_columns[0]); c++)
		err = api_csv_field(b, csv_columns[c], c == 0);
	if (err == KURA_OK)
		err = kbuf_puts(b, "\r\n");
	json_array_foreach(items, i, row) {
		const json_t *last = json_object_get(row, "last_login");
		if (err == KURA_OK)
			err = api_csv_field(b, str_of(row, "id"), true);
		if (err == KURA_OK)
			err = api_csv_field(b, str_of(row, "login_id"), false);
		if (err == KURA_OK)
			err = api_csv_field(b, str_of(row, "display_name"), false);
		if (err == KURA_OK)
			err = api_csv_field(b, str_of(row, "email"), false);
		if (err == KURA_OK)
			err = api_csv_field(b, str_of(row, "status"), false);
		if (err == KURA_OK)
			err = csv_join(b, json_object_get(row, "role_names"), "; ");
		if (err == KURA_OK)
			err = csv_join(b, json_object_get(row, "permissions"), " ");
		if (err == KURA_OK)
			err = api_csv_field(b, json_is_true(json_object_get(row,
			    "mfa_enabled")) ? "true" : "false", false);
		if (err == KURA_OK)
			err = api_csv_field(b, json_is_string(last) ?
			    json_string_value(last) : "", false);
		if (err == KURA_OK)
			err = csv_join(b, json_object_get(row, "projects"), "; ");
		if (err == KURA_OK)
			err = kbuf_puts(b, "\r\n");
	}
	return err;
}

/* GET /api/v1/access-review[?format=json|csv] */
void
api_access_review(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *format = http_query(req, "format");
	struct store_user *users = NULL;
	struct store_role *roles = NULL;
	struct role_name *names = NULL;
	size_t n_users = 0, n_roles = 0;
	json_t *items = NULL;
	struct kbuf b;
	bool csv;
	kura_err err;

	kbuf_init_secret(&b, CSV_MAX);
	if (format != NULL && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		api_bad_field(req, "format", "must be json or csv");
		return;
	}
	csv = format != NULL && strcmp(format, "csv") == 0;
	err = store_user_list(app->store, &a->ctx, &users, &n_users);
	if (err == KURA_OK)
		err = store_role_list(app->store, &a->ctx, &roles, &n_roles);
	if (err)
		goto out;
	names = kura_calloc(n_roles ? n_roles : 1, sizeof(*names));
	if (names == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_roles; i++) {
		names[i].id = roles[i].id;
		names[i].name = api_open_json(a->keys, "roles", "name", roles[i].id,
		    &roles[i].name);
		if (names[i].name == NULL) {
			err = KURA_ECRYPTO;
			goto out;
		}
	}
	items = json_array();
	for (size_t i = 0; i < n_users && err == KURA_OK; i++) {
		json_t *row = NULL;
		err = review_row(req, &users[i], names, n_roles, &row);
		if (err == KURA_OK)
			json_array_append_new(items, row);
	}
	if (err)
		goto out;
	if (!csv) {
		http_reply_json(req, 200, json_pack("{s:O,s:n}", "items", items,
		    "next_cursor"));
		goto out;
	}
	err = review_csv(items, &b);
	if (err == KURA_OK)
		err = http_add_header(req, "Content-Disposition",
		    "attachment; filename=\"access-review.csv\"");
	if (err == KURA_OK)
		http_reply_raw(req, 200, "text/csv; charset=utf-8", b.data, b.len);
out:
	if (err) {
		log_error("request %s: access review: %s", req->request_id,
		    kura_strerror(err));
		http_reply_kura_err(req, err);
	}
	for (size_t i = 0; names != NULL && i < n_roles; i++)
		json_decref(names[i].name);
	free(names);
	json_decref(items);
	kbuf_free(&b);     /* wiped: it holds names and e-mail addresses */
	store_role_list_free(roles, n_roles);
	store_user_list_free(users, n_users);
}
