/*
 * The route table: every route the server answers, with the permission it
 * needs and the audit action it records (IAM-3).  tests/unit/test_http.c
 * fails if a row lacks either.  Probes are public and not audited.
 *
 * Permissions: a name from the catalogue (auth/rbac.c), "self" (any
 * signed-in user, on their own account) or "public" (no sign-in).
 * SETUP routes stay reachable while a password change or MFA enrolment
 * is still required.
 */
#include <stdint.h>

#include "api/api.h"

#define KIB 1024
#define JSON HTTP_ROUTE_JSON
#define PUB (HTTP_ROUTE_PUBLIC | HTTP_ROUTE_JSON)
#define SETUP HTTP_ROUTE_SETUP
#define SES HTTP_ROUTE_SESSION

const struct http_route api_routes[] = {
	{ HTTP_GET, "/healthz", api_healthz, "public", NULL, 0, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_PROBE },
	{ HTTP_GET, "/readyz", api_readyz, "public", NULL, 0, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_PROBE },

	/* the web console (console.c): static files embedded at build time;
	 * public and not audited, like every route outside /api */
	{ HTTP_GET, "/", api_console_redirect, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/console", api_console_redirect, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/console/", api_console_index, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/console/{f}", api_console_file, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/console/{d}/{f}", api_console_file, "public", NULL, 0, HTTP_ROUTE_PUBLIC },

	{ HTTP_POST, "/api/v1/auth/login", api_auth_login, "public", "auth.login", 8 * KIB, PUB },
	{ HTTP_POST, "/api/v1/auth/mfa", api_auth_mfa, "public", "auth.mfa", 4 * KIB, PUB },
	{ HTTP_POST, "/api/v1/auth/invitation", api_auth_invitation, "public", "auth.invitation_read", 4 * KIB, PUB },
	{ HTTP_POST, "/api/v1/auth/accept-invitation", api_auth_accept_invitation, "public", "auth.accept_invitation", 8 * KIB, PUB },
	{ HTTP_POST, "/api/v1/auth/logout", api_auth_logout, "self", "auth.logout", 0, SETUP | SES },
	{ HTTP_POST, "/api/v1/auth/logout-all", api_auth_logout_all, "self", "auth.logout_all", 0, SETUP | SES },

	{ HTTP_GET, "/api/v1/me", api_me_get, "self", "me.read", 0, SETUP },
	{ HTTP_PUT, "/api/v1/me/password", api_me_password, "self", "me.password_change", 8 * KIB, JSON | SETUP | SES },
	{ HTTP_GET, "/api/v1/me/sessions", api_me_sessions, "self", "me.sessions_list", 0, SETUP | SES },
	{ HTTP_DELETE, "/api/v1/me/sessions/{id}", api_me_session_delete, "self", "me.session_revoke", 0, SETUP | SES },
	{ HTTP_POST, "/api/v1/me/mfa/totp", api_me_totp_start, "self", "me.mfa_enrol", 0, SETUP | SES },
	{ HTTP_POST, "/api/v1/me/mfa/totp/confirm", api_me_totp_confirm, "self", "me.mfa_confirm", 4 * KIB, JSON | SETUP | SES },
	{ HTTP_DELETE, "/api/v1/me/mfa/totp", api_me_totp_disable, "self", "me.mfa_disable", 4 * KIB, JSON | SES },

	/* users (users.c) */
	{ HTTP_GET, "/api/v1/users", api_users_list, "users.read", "user.list", 0, 0 },
	{ HTTP_POST, "/api/v1/users", api_users_create, "users.write", "user.invite", 16 * KIB, JSON },
	{ HTTP_GET, "/api/v1/users/{id}", api_users_get, "users.read", "user.read", 0, 0 },
	{ HTTP_PATCH, "/api/v1/users/{id}", api_users_patch, "users.write", "user.update", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/users/{id}", api_users_delete, "users.write", "user.delete", 0, 0 },
	{ HTTP_POST, "/api/v1/users/{id}/unlock", api_users_unlock, "users.write", "user.unlock", 0, 0 },
	{ HTTP_POST, "/api/v1/users/{id}/revoke-sessions", api_users_revoke_sessions, "users.write", "user.revoke_sessions", 0, 0 },
	{ HTTP_POST, "/api/v1/users/{id}/reset-mfa", api_users_reset_mfa, "users.write", "user.reset_mfa", 0, 0 },
	{ HTTP_POST, "/api/v1/users/{id}/reinvite", api_users_reinvite, "users.write", "user.reinvite", 0, 0 },

	/* roles, permissions (roles.c) */
	{ HTTP_GET, "/api/v1/permissions", api_permissions_list, "roles.read", "permission.list", 0, 0 },
	{ HTTP_GET, "/api/v1/roles", api_roles_list, "roles.read", "role.list", 0, 0 },
	{ HTTP_POST, "/api/v1/roles", api_role_create, "roles.write", "role.create", 16 * KIB, JSON },
	{ HTTP_PATCH, "/api/v1/roles/{id}", api_role_update, "roles.write", "role.update", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/roles/{id}", api_role_delete, "roles.write", "role.delete", 0, 0 },

	/* access review (access_review.c) */
	{ HTTP_GET, "/api/v1/access-review", api_access_review, "access_review.read", "access_review.read", 0, 0 },

	/* security settings (settings.c) */
	{ HTTP_GET, "/api/v1/settings/security", api_settings_get, "settings.read", "settings.security_read", 0, 0 },
	{ HTTP_PUT, "/api/v1/settings/security", api_settings_put, "settings.write", "settings.security_update", 16 * KIB, JSON },

	/* API tokens (tokens.c) */

	/* audit view (audit_view.c) */
	{ HTTP_GET, "/api/v1/audit-events", api_audit_events_list, "audit.read", "audit.list", 0, 0 },
	{ HTTP_GET, "/api/v1/audit-events/verify", api_audit_events_verify, "audit.read", "audit.verify", 0, 0 },
	{ HTTP_GET, "/api/v1/audit-events/export", api_audit_events_export, "audit.read", "audit.export", 0, 0 },
	{ HTTP_GET, "/api/v1/me/sign-ins", api_me_sign_ins, "self", "me.sign_ins_list", 0, 0 },

	/* alerts (alerts_api.c) */
	{ HTTP_GET, "/api/v1/alerts", api_alerts_list, "audit.read", "alert.list", 0, 0 },
	{ HTTP_POST, "/api/v1/alerts/{id}/ack", api_alert_ack, "audit.read", "alert.ack", 0, 0 },

	/* metrics (metrics.c) */
	/* public to the router: the handler admits only [metrics] allow
	 * networks or the operator token (MON-2); not under /api, so no
	 * audit record (a scraper every 15 s would drown the log) */
	{ HTTP_GET, "/metrics", api_metrics, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/api/v1/tokens", api_tokens_list, "tokens.write", "token.list", 0, 0 },
	{ HTTP_POST, "/api/v1/tokens", api_token_create, "tokens.write", "token.create", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/tokens/{id}", api_token_delete, "tokens.write", "token.delete", 0, 0 },

	/* workspace (projects.c, directories.c, files.c, tasks.c) */
	/* a project the caller is not a member of answers 404 on every route
	 * (ws_project_access); the project role is checked in the handler */
	{ HTTP_POST, "/api/v1/projects", api_projects_create, "files.write", "project.create", 16 * KIB, JSON },
	{ HTTP_GET, "/api/v1/projects", api_projects_list, "files.read", "project.list", 0, 0 },
	{ HTTP_GET, "/api/v1/projects/{pid}", api_projects_get, "files.read", "project.read", 0, 0 },
	{ HTTP_PATCH, "/api/v1/projects/{pid}", api_projects_patch, "files.write", "project.update", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/projects/{pid}", api_projects_delete, "files.write", "project.delete", 0, 0 },
	{ HTTP_GET, "/api/v1/projects/{pid}/members", api_members_list, "files.read", "project.member_list", 0, 0 },
	{ HTTP_PUT, "/api/v1/projects/{pid}/members/{uid}", api_members_put, "files.write", "project.member_set", 4 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/projects/{pid}/members/{uid}", api_members_delete, "files.write", "project.member_remove", 0, 0 },
	{ HTTP_POST, "/api/v1/projects/{pid}/directories", api_dirs_create, "files.write", "directory.create", 16 * KIB, JSON },
	{ HTTP_GET, "/api/v1/projects/{pid}/directories", api_dirs_list, "files.read", "directory.list", 0, 0 },
	{ HTTP_GET, "/api/v1/projects/{pid}/directories/{did}", api_dirs_get, "files.read", "directory.read", 0, 0 },
	{ HTTP_PATCH, "/api/v1/projects/{pid}/directories/{did}", api_dirs_patch, "files.write", "directory.update", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/projects/{pid}/directories/{did}", api_dirs_delete, "files.write", "directory.delete", 0, 0 },
	{ HTTP_POST, "/api/v1/projects/{pid}/files", api_files_create, "files.write", "file.create", 16 * KIB, JSON },
	{ HTTP_GET, "/api/v1/projects/{pid}/files", api_files_list, "files.read", "file.list", 0, 0 },
	{ HTTP_GET, "/api/v1/projects/{pid}/files/{fid}", api_files_get, "files.read", "file.read", 0, 0 },
	{ HTTP_PATCH, "/api/v1/projects/{pid}/files/{fid}", api_files_patch, "files.write", "file.update", 16 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/projects/{pid}/files/{fid}", api_files_delete, "files.write", "file.delete", 0, 0 },
	{ HTTP_PUT, "/api/v1/projects/{pid}/files/{fid}/content", api_files_upload, "files.write", "file.upload", SIZE_MAX, HTTP_ROUTE_STREAM },   /* bound: [limits] max_upload_bytes */
	{ HTTP_GET, "/api/v1/projects/{pid}/files/{fid}/content", api_files_download, "files.read", "file.download", 0, 0 },
	{ HTTP_POST, "/api/v1/projects/{pid}/tasks", api_tasks_create, "files.write", "task.create", 32 * KIB, JSON },
	{ HTTP_GET, "/api/v1/projects/{pid}/tasks", api_tasks_list, "files.read", "task.list", 0, 0 },
	{ HTTP_GET, "/api/v1/projects/{pid}/tasks/{tid}", api_tasks_get, "files.read", "task.read", 0, 0 },
	{ HTTP_PATCH, "/api/v1/projects/{pid}/tasks/{tid}", api_tasks_patch, "files.write", "task.update", 32 * KIB, JSON },
	{ HTTP_DELETE, "/api/v1/projects/{pid}/tasks/{tid}", api_tasks_delete, "files.write", "task.delete", 0, 0 },
	{ HTTP_GET, "/api/v1/usage", api_usage_get, "settings.read", "usage.read", 0, 0 },

	/* exports (exports.c) */
	/* the whole tenant's data (DAT-4): exports.write only; the download
	 * is flagged bulk in its audit record (LOG-6) */
	{ HTTP_POST, "/api/v1/exports", api_exports_create, "exports.write", "export.create", 0, 0 },
	{ HTTP_GET, "/api/v1/exports", api_exports_list, "exports.write", "export.list", 0, 0 },
	{ HTTP_GET, "/api/v1/exports/{id}", api_exports_get, "exports.write", "export.read", 0, 0 },
	{ HTTP_GET, "/api/v1/exports/{id}/download", api_exports_download, "exports.write", "export.download", 0, 0 },
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
