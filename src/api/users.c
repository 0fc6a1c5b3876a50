/*
 * Users, managed by tenant admins (IAM-1, IAM-2, IAM-7, IAM-8, TEN-2):
 * invite, list, read, change, disable, delete, unlock, revoke sessions.
 * Seat limit: active + invited users <= the contract's seats.  The last
 * active tenant admin cannot be removed, disabled or demoted.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/validate.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

#define INVITE_DAYS 7
#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define ROLES_MAX 16

static bool
has_role(const char *csv, const char *role)
{
	size_t len = strlen(role);
	const char *s = csv;

	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == len && memcmp(s, role, len) == 0)
			return true;
		s = comma ? comma + 1 : NULL;
	}
	return false;
}

/*
 * Validate a "roles" array: every entry a built-in role or a custom role
 * id of this tenant, no duplicates, and (least privilege) granting nothing
 * the caller does not hold.  Replies and returns false on a bad value;
 * on success *ret_csv is a malloc'd "a,b".
 */
static bool
parse_roles(struct http_req *req, json_t *arr, char **ret_csv)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct kbuf b;
	rbac_perms grant = 0;
	bool admin = false;
	size_t i;
	json_t *item;

	if (json_array_size(arr) == 0 || json_array_size(arr) > ROLES_MAX) {
		api_bad_field(req, "roles", "give 1 to 16 roles");
		return false;
	}
	kbuf_init(&b, 2048);
	json_array_foreach(arr, i, item) {
		const char *r = json_string_value(item);
		rbac_perms p = 0;
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(arr, k)), r) == 0)
				dup = true;
		if (dup || (!rbac_builtin(r, &p) && !kcrypto_id_valid(r, "rol"))) {
			kbuf_free(&b);
			api_bad_field(req, "roles", "each must be tenant_admin, member or a custom role id, once");
			return false;
		}
		if (kbuf_printf(&b, "%s%s", i ? "," : "", r) != KURA_OK) {
			kbuf_free(&b);
			api_bad_field(req, "roles", "too long");
			return false;
		}
	}
	if (api_user_perms(app, &a->ctx, b.data, &grant, &admin) != KURA_OK) {
		kbuf_free(&b);
		http_reply_error(req, 500, "internal", "internal error");
		return false;
	}
	/* custom role ids must exist in this tenant */
	json_array_foreach(arr, i, item) {
		const char *r = json_string_value(item);
		struct store_role *role = NULL;
		rbac_perms p;
		if (rbac_builtin(r, &p))
			continue;
		if (store_role_get(app->store, &a->ctx, r, &role) != KURA_OK) {
			kbuf_free(&b);
			api_bad_field(req, "roles", "no such role in this organisation");
			return false;
		}
		store_role_free(role);
	}
	if ((grant & ~a->perms) != 0 || (admin && !a->is_admin)) {
		kbuf_free(&b);
		http_reply_error(req, 403, "privilege_escalation",
		    "you cannot grant permissions you do not hold");
		return false;
	}
	*ret_csv = kbuf_steal(&b, NULL);
	return true;
}

/* Number of active tenant admins other than except_id. */
static kura_err
other_admins(struct app *app, const struct store_tctx *ctx, const char *except_id,
    size_t *ret_n)
{
	struct store_user *list = NULL;
	size_t n = 0, count = 0;
	kura_err err;

	err = store_user_list(app->store, ctx, &list, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].id, except_id) != 0 &&
		    strcmp(list[i].status, "active") == 0 &&
		    has_role(list[i].roles, RBAC_ROLE_ADMIN))
			count++;
	store_user_list_free(list, n);
	*ret_n = count;
	return KURA_OK;
}

static bool
seat_free(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	uint32_t used = 0;

	if (store_user_count_seated(app->store, &a->ctx, &used) != KURA_OK) {
		http_reply_error(req, 500, "internal", "internal error");
		return false;
	}
	if (used >= a->tenant->seats) {
		http_reply_error(req, 409, "seats_exhausted",
		    "every seat of the contract is taken; disable or delete a user, or add seats");
		return false;
	}
	return true;
}

/* POST /api/v1/users {"login_id","email","display_name","roles":[...]} */
void
api_users_create(struct http_req *req)
{
	static const char *const fields[] = { "login_id", "email", "display_name",
	    "roles", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *login, *email, *name;
	json_t *roles_arr = NULL, *out;
	char *roles = NULL, *token = NULL;
	struct store_user u;
	int64_t now = kura_now_us();
	bool in_tx = false;
	kura_err err;

	memset(&u, 0, sizeof(u));
	if (!api_only_fields(req, fields) ||
	    !api_str(req, "login_id", true, &login) ||
	    !api_check(req, "login_id", val_login_id(login)) ||
	    !api_str(req, "email", true, &email) ||
	    !api_check(req, "email", val_email(email)) ||
	    !api_str(req, "display_name", false, &name) ||
	    (name != NULL && !api_check(req, "display_name", val_display_name(name))) ||
	    !api_str_array(req, "roles", false, ROLES_MAX, &roles_arr))
		return;
	if (roles_arr != NULL) {
		if (!parse_roles(req, roles_arr, &roles))
			return;
	} else if ((roles = kura_strdup(RBAC_ROLE_MEMBER)) == NULL) {
		http_reply_error(req, 503, "busy", "the server is busy, try again");
		return;
	}
	if ((err = kcrypto_id_new("usr", u.id)) ||
	    (err = kcrypto_token_new(32, &token)) ||
	    (err = kcrypto_sha256_hex(token, strlen(token), u.invite_hash)) ||
	    (err = api_blind(a->keys, "login", login, u.login_index)) ||
	    (err = api_blind(a->keys, "email", email, u.email_index)) ||
	    (err = api_seal_str(a->keys, "users", "login_id", u.id, login, &u.login_id)) ||
	    (err = api_seal_str(a->keys, "users", "email", u.id, email, &u.email)) ||
	    (err = api_seal_str(a->keys, "users", "display_name", u.id,
	    name ? name : login, &u.display_name)))
		goto out;
	snprintf(u.tenant_id, sizeof(u.tenant_id), "%s", a->ctx.tenant_id);
	snprintf(u.status, sizeof(u.status), "invited");
	u.roles = roles;
	if (has_role(roles, RBAC_ROLE_ADMIN))
		api_audit_detail(req, "granted_admin", json_true());
	u.invite_expires_us = now + (int64_t)INVITE_DAYS * 86400 * 1000000;
	u.created_us = u.updated_us = now;

	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	if (!seat_free(req))
		goto out;
	err = store_user_insert(app->store, &a->ctx, &u);
	if (err == KURA_EEXIST) {
		http_reply_error(req, 409, "login_taken",
		    "another user of this organisation has that login id");
		goto out;
	}
	if (err == KURA_OK)
		err = api_commit(req, 201, u.id);
	if (err)
		goto out;
	in_tx = false;
	out = api_user_json(req, &u);
	if (out != NULL) {
		json_object_set_new(out, "invitation_token", json_string(token));
		json_object_set_new(out, "invitation_expires",
		    api_time(a, u.invite_expires_us));
	}
	http_reply_json(req, 201, out);
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	kura_free_secret_str(token);
	free(roles);
	free(u.login_id.data);
	free(u.email.data);
	free(u.display_name.data);
}

/* GET /api/v1/users?status=&role=&limit=&cursor= (keyset on id) */
void
api_users_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *status = http_query(req, "status");
	const char *role = http_query(req, "role");
	const char *cursor = http_query(req, "cursor");
	const char *lim = http_query(req, "limit");
	struct store_user *list = NULL;
	uint64_t limit = PAGE_DEFAULT;
	size_t n = 0, shown = 0, i;
	json_t *items, *next = json_null();
	uint32_t seats_used = 0;
	kura_err err;

	if (lim != NULL && kura_parse_u64(lim, 1, PAGE_MAX, &limit) != KURA_OK) {
		json_decref(next);
		api_bad_field(req, "limit", "a whole number from 1 to 200");
		return;
	}
	if ((cursor != NULL && !kcrypto_id_valid(cursor, "usr")) ||
	    (status != NULL && strcmp(status, "active") != 0 &&
	    strcmp(status, "invited") != 0 && strcmp(status, "disabled") != 0) ||
	    (role != NULL && !kura_token_ok(role, 64, "_"))) {
		json_decref(next);
		api_bad_field(req, "query", "cursor, status (active|invited|disabled) or role is not valid");
		return;
	}
	err = store_user_list(app->store, &a->ctx, &list, &n);
	if (err == KURA_OK)
		err = store_user_count_seated(app->store, &a->ctx, &seats_used);
	if (err) {
		json_decref(next);
		store_user_list_free(list, n);
		http_reply_kura_err(req, err);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		if (cursor != NULL && strcmp(list[i].id, cursor) <= 0)
			continue;
		if (status != NULL && strcmp(list[i].status, status) != 0)
			continue;
		if (role != NULL && !has_role(list[i].roles, role))
			continue;
		if (shown == limit) {
			/* more remain: the cursor is the last id shown */
			json_decref(next);
			next = json_string(json_string_value(json_object_get(
			    json_array_get(items, shown - 1), "id")));
			break;
		}
		json_array_append_new(items, api_user_json(req, &list[i]));
		shown++;
	}
	store_user_list_free(list, n);
	http_reply_json(req, 200, json_pack("{s:o,s:o,s:{s:I,s:I}}", "items", items,
	    "next_cursor", next, "seats", "used", (json_int_t)seats_used,
	    "total", (json_int_t)a->tenant->seats));
}

/* Load {id} of the caller's tenant; replies 404 and returns NULL if none. */
static struct store_user *
load_target(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *id = http_param(req, "id");
	struct store_user *u = NULL;
	kura_err err;

	if (!kcrypto_id_valid(id, "usr")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return NULL;
	}
	err = store_user_get(app->store, &a->ctx, id, &u);
	if (err) {
		http_reply_kura_err(req, err);
		return NULL;
	}
	return u;
}

/*
 * Load {id} for a change (update, delete, unlock, revoke sessions, reset
 * MFA, re-invite): an administrator can only be changed by an
 * administrator, whatever the action (a user manager must not, say,
 * re-invite an invited admin and accept the new invitation themselves).
 * Replies 404 or 403 and returns NULL otherwise.
 */
static struct store_user *
load_changeable(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct store_user *u = load_target(req);

	if (u != NULL && has_role(u->roles, RBAC_ROLE_ADMIN) && !a->is_admin) {
		http_reply_error(req, 403, "privilege_escalation",
		    "only an administrator can change an administrator");
		store_user_free(u);
		return NULL;
	}
	return u;
}

/* GET /api/v1/users/{id} */
void
api_users_get(struct http_req *req)
{
	struct store_user *u = load_target(req);

	if (u == NULL)
		return;
	http_reply_json(req, 200, api_user_json(req, u));
	store_user_free(u);
}

/* PATCH /api/v1/users/{id} {display_name, email, roles, status} */
void
api_users_patch(struct http_req *req)
{
	static const char *const fields[] = { "display_name", "email", "roles",
	    "status", NULL };
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *name, *email, *status;
	json_t *roles_arr = NULL;
	char *roles = NULL;
	struct store_user *u = NULL;
	bool in_tx = false, ends_sessions = false;
	int64_t now = kura_now_us();
	kura_err err = KURA_OK;

	if (!api_only_fields(req, fields) ||
	    !api_str(req, "display_name", false, &name) ||
	    (name && !api_check(req, "display_name", val_display_name(name))) ||
	    !api_str(req, "email", false, &email) ||
	    (email && !api_check(req, "email", val_email(email))) ||
	    !api_str(req, "status", false, &status) ||
	    !api_str_array(req, "roles", false, ROLES_MAX, &roles_arr))
		return;
	if (status != NULL && strcmp(status, "active") != 0 &&
	    strcmp(status, "disabled") != 0) {
		api_bad_field(req, "status", "must be active or disabled");
		return;
	}
	if (roles_arr != NULL && !parse_roles(req, roles_arr, &roles))
		return;
	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	u = load_changeable(req);
	if (u == NULL)
		goto out;
	/* the last admin stays an active admin */
	if (has_role(u->roles, RBAC_ROLE_ADMIN) && strcmp(u->status, "active") == 0 &&
	    ((roles != NULL && !has_role(roles, RBAC_ROLE_ADMIN)) ||
	    (status != NULL && strcmp(status, "disabled") == 0))) {
		size_t others = 0;
		err = other_admins(app, &a->ctx, u->id, &others);
		if (err)
			goto out;
		if (others == 0) {
			http_reply_error(req, 409, "last_admin",
			    "this is the organisation's last active administrator");
			goto out;
		}
	}
	if (status != NULL && strcmp(status, u->status) != 0) {
		if (strcmp(status, "active") == 0) {
			if (u->password_hash == NULL) {
				http_reply_error(req, 409, "not_activated",
				    "this user has not accepted an invitation yet");
				goto out;
			}
			if (!seat_free(req))
				goto out;
		} else {
			ends_sessions = true;
			u->invite_hash[0] = '\0';
		}
		snprintf(u->status, sizeof(u->status), "%s", status);
	}
	if (roles != NULL) {
		if (has_role(roles, RBAC_ROLE_ADMIN) && !has_role(u->roles, RBAC_ROLE_ADMIN))
			api_audit_detail(req, "granted_admin", json_true());
		free(u->roles);
		u->roles = roles;
		roles = NULL;
	}
	if (name != NULL) {
		free(u->display_name.data);
		u->display_name.data = NULL;
		err = api_seal_str(a->keys, "users", "display_name", u->id, name,
		    &u->display_name);
	}
	if (err == KURA_OK && email != NULL) {
		free(u->email.data);
		u->email.data = NULL;
		err = api_seal_str(a->keys, "users", "email", u->id, email, &u->email);
		if (err == KURA_OK)
			err = api_blind(a->keys, "email", email, u->email_index);
	}
	if (err)
		goto out;
	u->updated_us = now;
	err = store_user_update(app->store, &a->ctx, u);
	if (err == KURA_OK && ends_sessions)
		err = store_session_delete_user(app->store, &a->ctx, u->id, NULL, NULL);
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err)
		goto out;
	in_tx = false;
	http_reply_json(req, 200, api_user_json(req, u));
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err && !req->replied)
		http_reply_kura_err(req, err);
	free(roles);
	store_user_free(u);
}

/* DELETE /api/v1/users/{id} */
void
api_users_delete(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *u = NULL;
	size_t others = 0;
	kura_err err;

	err = store_begin(app->store);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	u = load_changeable(req);
	if (u == NULL)
		goto fail;
	if (has_role(u->roles, RBAC_ROLE_ADMIN)) {
		err = other_admins(app, &a->ctx, u->id, &others);
		if (err == KURA_OK && others == 0 && strcmp(u->status, "active") == 0) {
			http_reply_error(req, 409, "last_admin",
			    "this is the organisation's last active administrator");
			goto fail;
		}
	}
	if (err == KURA_OK)
		err = store_user_delete(app->store, &a->ctx, u->id);
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err) {
		http_reply_kura_err(req, err);
		goto fail;
	}
	http_reply_json(req, 200, json_pack("{s:s,s:b}", "id", u->id, "deleted", 1));
	store_user_free(u);
	return;
fail:
	(void)store_rollback(app->store);
	store_user_free(u);
}

/* POST /api/v1/users/{id}/unlock: end a lockout (IAM-7). */
void
api_users_unlock(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *u = NULL;
	kura_err err;

	err = store_begin(app->store);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	u = load_changeable(req);
	if (u == NULL) {
		(void)store_rollback(app->store);
		return;
	}
	u->failed_logins = 0;
	u->locked_until_us = 0;
	u->updated_us = kura_now_us();
	err = store_user_update(app->store, &a->ctx, u);
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err) {
		(void)store_rollback(app->store);
		http_reply_kura_err(req, err);
	} else {
		http_reply_json(req, 200, api_user_json(req, u));
	}
	store_user_free(u);
}

/* POST /api/v1/users/{id}/revoke-sessions (IAM-8) */
void
api_users_revoke_sessions(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *u = load_changeable(req);
	size_t n = 0;
	kura_err err;

	if (u == NULL)
		return;
	err = store_begin(app->store);
	if (err == KURA_OK)
		err = store_session_delete_user(app->store, &a->ctx, u->id, NULL, &n);
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err) {
		(void)store_rollback(app->store);
		http_reply_kura_err(req, err);
	}
	else
		http_reply_json(req, 200, json_pack("{s:s,s:I}", "id", u->id,
		    "sessions_ended", (json_int_t)n));
	store_user_free(u);
}

/*
 * POST /api/v1/users/{id}/reset-mfa: for a user who lost both the
 * authenticator and the recovery codes.  Clears the TOTP secret and the
 * codes and ends the user's sessions; the user enrols again at the next
 * sign-in (the tenant's MFA requirement still applies).
 */
void
api_users_reset_mfa(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *u = NULL;
	kura_err err;

	err = store_begin(app->store);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	u = load_changeable(req);
	if (u == NULL)
		goto fail;
	free(u->totp_secret.data);
	free(u->totp_pending.data);
	memset(&u->totp_secret, 0, sizeof(u->totp_secret));
	memset(&u->totp_pending, 0, sizeof(u->totp_pending));
	u->mfa_enabled = 0;
	u->updated_us = kura_now_us();
	err = store_user_update(app->store, &a->ctx, u);
	if (err == KURA_OK)
		err = store_recovery_delete(app->store, &a->ctx, u->id);
	if (err == KURA_OK)
		err = store_session_delete_user(app->store, &a->ctx, u->id, NULL, NULL);
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err) {
		http_reply_kura_err(req, err);
		goto fail;
	}
	http_reply_json(req, 200, api_user_json(req, u));
	store_user_free(u);
	return;
fail:
	(void)store_rollback(app->store);
	store_user_free(u);
}

/* POST /api/v1/users/{id}/reinvite: a new one-time invitation token (the
 * old one stops working) for a user who has not accepted yet. */
void
api_users_reinvite(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_user *u = NULL;
	char *token = NULL;
	int64_t now = kura_now_us();
	kura_err err;

	err = store_begin(app->store);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	u = load_changeable(req);
	if (u == NULL)
		goto fail;
	if (strcmp(u->status, "invited") != 0) {
		http_reply_error(req, 409, "not_invited",
		    "only a user who has not accepted an invitation can be invited again");
		goto fail;
	}
	err = kcrypto_token_new(32, &token);
	if (err == KURA_OK)
		err = kcrypto_sha256_hex(token, strlen(token), u->invite_hash);
	if (err == KURA_OK) {
		u->invite_expires_us = now + (int64_t)INVITE_DAYS * 86400 * 1000000;
		u->updated_us = now;
		err = store_user_update(app->store, &a->ctx, u);
	}
	if (err == KURA_OK)
		err = api_commit(req, 200, u->id);
	if (err) {
		http_reply_kura_err(req, err);
		goto fail;
	}
	http_reply_json(req, 200, json_pack("{s:s,s:s,s:o}", "id", u->id,
	    "invitation_token", token, "invitation_expires",
	    api_time(a, u->invite_expires_us)));
	kura_free_secret_str(token);
	store_user_free(u);
	return;
fail:
	(void)store_rollback(app->store);
	kura_free_secret_str(token);
	store_user_free(u);
}
