/*
 * What every API handler shares: the authenticated context the gate
 * builds, body field helpers that answer 400 themselves, sealing helpers
 * and JSON views.  Handlers take the tenant only from api_auth, never
 * from the request.
 */
#ifndef KURA_API_API_H
#define KURA_API_API_H

#include <stdbool.h>

#include "api/app.h"
#include "auth/rbac.h"
#include "auth/settings.h"

struct api_auth {
	struct store_tctx ctx;              /* the caller's tenant */
	struct store_tenant *tenant;
	struct store_user *user;
	struct kcrypto_tkeys *keys;
	struct auth_settings settings;
	rbac_perms perms;                   /* effective (token-restricted) */
	bool is_admin;                      /* holds tenant_admin */
	bool via_token;
	/* the gate's read snapshot is still open for the handler (a read-only
	 * request: api_gate_after ends it) */
	bool snapshot;
	char session_id[STORE_ID_MAX];
	char token_id[STORE_ID_MAX];
	/* the resource of the request's audit record when the route has no
	 * {id} and the actor is not it (e.g. whose invitation was looked up) */
	char resource_id[STORE_ID_MAX];
};

#define API_COOKIE_SESSION "kura_session"
#define API_COOKIE_PREAUTH "kura_preauth"
#define API_SESSIONS_PER_USER 20
#define API_PREAUTH_SECONDS 300

/* Commit the calling thread's transaction together with the request's
 * audit record (LOG-1): the first commit of a request carries its record,
 * later ones do not add another.  status is what the request answers;
 * resource_id NULL means the route's {id}. */
kura_err api_commit(struct http_req *req, unsigned status, const char *resource_id);
/* With group durability the commit above is not yet durable when it
 * returns; the reply is held until it is (api_record).  Call this before
 * an irreversible step outside the database that relies on the change
 * (deleting content files it no longer names): it blocks until the
 * change is durable.  On failure req's reply is 503 and the caller must
 * skip the step. */
kura_err api_durable(struct http_req *req);
/* Frees the record api_commit keeps for the observers (api_cleanup). */
void api_commit_row_free(struct http_req *req);
/* Add a field to this request's audit record detail (flags such as
 * "locked", "granted_admin"; never customer content).  Takes value. */
void api_audit_detail(struct http_req *req, const char *key, json_t *value);
/* http_app.record: queue the record of a request that changed nothing. */
bool api_record(struct http_req *req);

/* The gate (http_app.gate), what follows the handler (http_app.after)
 * and request cleanup (http_app.cleanup). */
bool api_gate(struct http_req *req);
void api_gate_after(struct http_req *req);
void api_cleanup(struct http_req *req);
static inline struct api_auth *
api_auth(struct http_req *req)
{
	return req->auth;
}

/* ---- body fields: each replies 400 and returns false on a bad value ---- */
/* Refuse fields not in the NULL-terminated list (400 unknown_field). */
bool api_only_fields(struct http_req *req, const char *const *allowed);
/* String field; *ret NULL if absent and not required. */
bool api_str(struct http_req *req, const char *field, bool required,
    const char **ret);
/* Apply a validator from api/validate.h (NULL = ok) to a present value. */
bool api_check(struct http_req *req, const char *field, const char *why);
/* Array of strings field (each passes kura_text_ok), at most max items. */
bool api_str_array(struct http_req *req, const char *field, bool required,
    size_t max, json_t **ret);
/* Integer field in [min, max]. */
bool api_int(struct http_req *req, const char *field, bool required,
    int64_t min, int64_t max, int64_t *ret, bool *ret_present);
/* Labels (DAT-1): array of at most 32 strings of 1..64 bytes of text. */
bool api_labels(struct http_req *req, json_t **ret);
/* Array of permission names from the catalogue (auth/rbac.c) as bits;
 * 400 naming the field for anything else.  *ret_present (may be NULL) says
 * whether the field was given. */
bool api_perms_field(struct http_req *req, const char *field, bool required,
    rbac_perms *ret, bool *ret_present);
/* ?label=X (DAT-1): *ret NULL when absent; 400 when not a valid label. */
bool api_label_query(struct http_req *req, const char **ret);
/* 400 {"error":{"code":"invalid_field","message":"<field>: <why>"}} */
void api_bad_field(struct http_req *req, const char *field, const char *why);

/* ---- sealing (CRY-1) ---- */
kura_err api_seal_str(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const char *s, struct store_blob *ret);
/* New JSON string from a sealed blob; NULL if it does not open. */
json_t *api_open_json(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const struct store_blob *b);
/* Seal a JSON value (labels) compactly. */
kura_err api_seal_json(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const json_t *v, struct store_blob *ret);
/* Open a sealed JSON value; empty blob gives an empty array. */
json_t *api_open_json_value(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const struct store_blob *b);
/* Blind index of the ASCII-lower-cased value. */
kura_err api_blind(const struct kcrypto_tkeys *keys, const char *purpose,
    const char *v, char ret[STORE_INDEX_MAX]);

/* ---- tenant state ---- */
kura_err api_settings_load(struct app *app, const struct store_tctx *ctx,
    const struct kcrypto_tkeys *keys, struct auth_settings *ret);
kura_err api_settings_save(struct app *app, const struct store_tctx *ctx,
    const struct kcrypto_tkeys *keys, const struct auth_settings *s);
/* Union of the permissions of a user's roles (built-in and custom). */
kura_err api_user_perms(struct app *app, const struct store_tctx *ctx,
    const char *roles, rbac_perms *ret_perms, bool *ret_admin);
/* Does the tenant's MFA requirement apply to this user? */
bool api_mfa_required(const struct auth_settings *s, bool is_admin);

/* Count a failed password or second-factor check for u and lock the
 * account at the tenant's threshold (IAM-7). */
void api_record_failure(struct http_req *req, const struct store_tctx *ctx,
    const struct store_user *u, const struct auth_settings *s, int64_t now,
    unsigned status);

/* ---- views ---- */
/* RFC 3339 time with microseconds for a UTC microsecond timestamp. */
json_t *api_time(const struct api_auth *a, int64_t us);
json_t *api_user_json(struct http_req *req, const struct store_user *u);
/* "a,b" -> ["a","b"] */
json_t *api_csv_array(const char *csv);
/* True if the comma-separated list csv holds item exactly. */
bool api_csv_has(const char *csv, const char *item);
/* True if the JSON array of labels holds label (NULL label: always). */
bool api_labels_match(const json_t *labels, const char *label);

/* ---- handlers ---- */
void api_auth_login(struct http_req *req);
void api_auth_mfa(struct http_req *req);
void api_auth_logout(struct http_req *req);
void api_auth_logout_all(struct http_req *req);
void api_auth_accept_invitation(struct http_req *req);
void api_auth_invitation(struct http_req *req);
void api_me_get(struct http_req *req);
void api_me_password(struct http_req *req);
void api_me_sessions(struct http_req *req);
void api_me_session_delete(struct http_req *req);
void api_me_totp_start(struct http_req *req);
void api_me_totp_confirm(struct http_req *req);
void api_me_totp_disable(struct http_req *req);
/* users (users.c) */
void api_users_list(struct http_req *req);
void api_users_create(struct http_req *req);
void api_users_get(struct http_req *req);
void api_users_patch(struct http_req *req);
void api_users_delete(struct http_req *req);
void api_users_unlock(struct http_req *req);
void api_users_revoke_sessions(struct http_req *req);
void api_users_reset_mfa(struct http_req *req);
void api_users_reinvite(struct http_req *req);
/* roles (roles.c) */
void api_permissions_list(struct http_req *req);
void api_roles_list(struct http_req *req);
void api_role_create(struct http_req *req);
void api_role_update(struct http_req *req);
void api_role_delete(struct http_req *req);
/* access review (access_review.c) */
void api_access_review(struct http_req *req);
/* settings (settings.c) */
void api_settings_get(struct http_req *req);
void api_settings_put(struct http_req *req);
/* tokens (tokens.c) */
/* audit view (audit_view.c) */
/* Append one RFC 4180 field to b (always quoted, quotes doubled), with a
 * leading ',' unless first; a value a spreadsheet would run as a formula
 * (= + - @ TAB CR first) gets a leading ' (shared with access_review.c). */
kura_err api_csv_field(struct kbuf *b, const char *s, bool first);
void api_audit_events_list(struct http_req *req);
void api_audit_events_verify(struct http_req *req);
void api_audit_events_export(struct http_req *req);
void api_me_sign_ins(struct http_req *req);
/* alerts (alerts_api.c) */
void api_alerts_list(struct http_req *req);
void api_alert_ack(struct http_req *req);
/* metrics (metrics.c) */
/* GET /metrics: Prometheus text format 0.0.4 (MON-2). */
void api_metrics(struct http_req *req);
/* http_app.completed: count the finished request (lock-free). */
void api_metrics_completed(struct http_req *req);
/* Start-up check of [metrics] token_file (private, not empty); *ret_msg
 * says what is wrong. */
kura_err api_metrics_check(const struct kura_config *cfg, char **ret_msg);
/* http_app.notice: rate-limit block and summary records (gate.c). */
void api_ratelimit_notice(void *ctx, const char *action, const char *client_ip,
    const char *request_id, json_t *detail);
void api_tokens_list(struct http_req *req);
void api_token_create(struct http_req *req);
void api_token_delete(struct http_req *req);

/* workspace: files (files.c) */
void api_files_create(struct http_req *req);
void api_files_list(struct http_req *req);
void api_files_get(struct http_req *req);
void api_files_patch(struct http_req *req);
void api_files_delete(struct http_req *req);
void api_files_upload(struct http_req *req);
void api_files_download(struct http_req *req);
/* workspace: projects, directories, tasks, usage, exports */
/* projects, members, usage (projects.c) */
void api_projects_create(struct http_req *req);
void api_projects_list(struct http_req *req);
void api_projects_get(struct http_req *req);
void api_projects_patch(struct http_req *req);
void api_projects_delete(struct http_req *req);
void api_members_list(struct http_req *req);
void api_members_put(struct http_req *req);
void api_members_delete(struct http_req *req);
void api_usage_get(struct http_req *req);
/* ?limit= (1..200, default 50) and ?cursor= (an id of prefix: the
 * next_cursor of the page before) of a workspace list; replies 400 and
 * returns false on a bad value. */
bool api_page_args(struct http_req *req, const char *prefix,
    const char **ret_cursor, size_t *ret_limit);
/* Text of at most max_bytes bytes without control characters other than
 * TAB, LF and CR (descriptions); s must be valid UTF-8 (from jansson). */
bool api_multiline_ok(const char *s, size_t max_bytes);
/* directories (directories.c) */
void api_dirs_create(struct http_req *req);
void api_dirs_list(struct http_req *req);
void api_dirs_get(struct http_req *req);
void api_dirs_patch(struct http_req *req);
void api_dirs_delete(struct http_req *req);
/* Plaintext bytes of every kept version and number of files below
 * directory dir_id of project pid (STORE_ROOT_DIR: the whole project);
 * call inside the transaction that deletes them. */
kura_err api_dir_tree_usage(struct http_req *req, const char *pid,
    const char *dir_id, uint64_t *ret_bytes, uint64_t *ret_files);
/* tasks (tasks.c) */
void api_tasks_create(struct http_req *req);
void api_tasks_list(struct http_req *req);
void api_tasks_get(struct http_req *req);
void api_tasks_patch(struct http_req *req);
void api_tasks_delete(struct http_req *req);
/* exports (exports.c, DAT-4) */
void api_exports_create(struct http_req *req);
void api_exports_list(struct http_req *req);
void api_exports_get(struct http_req *req);
void api_exports_download(struct http_req *req);

#endif
