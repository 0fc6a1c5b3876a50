/*
 * SQLite backend of the store.
 *
 * One sqlite3 connection per thread (opened with SQLITE_OPEN_NOMUTEX, so
 * a connection must never be used by two threads at once; store.c
 * guarantees that).  Every statement is a constant string in sq_sql[],
 * prepared lazily once per connection and kept; values are always bound,
 * never formatted into SQL.  Arguments were validated by store.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/mem.h"
#include "store/backend.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_DETAIL_MAX 1024

#define TENANT_COLS "id, contract_id, name, seats, status, region, " \
	"timezone, created_us, updated_us"
#define TKEY_COLS "tenant_id, version, kek_version, wrapped, created_us"
#define USER_COLS "id, tenant_id, login_index, email_index, login_id, " \
	"email, display_name, password_hash, status, roles, " \
	"must_change_password, created_us, updated_us, failed_logins, " \
	"locked_until_us, last_login_us, password_changed_us, mfa_enabled, " \
	"totp_secret, totp_pending, totp_last_step, invite_hash, " \
	"invite_expires_us"
/* The columns store_user_update writes, bound in this order from the
 * first parameter after the key by sq_bind_user_mutable(). */
#define USER_MUT_COLS "email_index, email, display_name, password_hash, " \
	"status, roles, must_change_password, updated_us, failed_logins, " \
	"locked_until_us, last_login_us, password_changed_us, mfa_enabled, " \
	"totp_secret, totp_pending, totp_last_step, invite_hash, " \
	"invite_expires_us"
#define SESSION_COLS "id, tenant_id, user_id, token_hash, csrf_hash, kind, " \
	"client_ip, created_us, last_seen_us, expires_us"
#define ROLE_COLS "id, tenant_id, name_index, name, labels, permissions, " \
	"created_us, updated_us"
#define AUDIT_COLS "seq, id, tenant_id, tenant_seq, time_us, actor_type, " \
	"actor_id, source_ip, request_id, action, resource_type, resource_id, " \
	"outcome, status, detail, prev_tenant_hash, prev_hash, hash"
#define MARK_COLS "kind, scope, seq, hash, time_us, key_id, signature"
#define TOKEN_COLS "id, tenant_id, user_id, token_hash, name, labels, " \
	"permissions, expires_us, last_used_us, created_us"
/* alerts (0004) */
#define ALERT_COLS "id, tenant_id, rule, severity, summary, event_seq, " \
	"event_id, actor_id, source_ip, created_us, acked_us, acked_by"
#define OUTBOX_COLS "id, tenant_id, channel, alert_id, payload, created_us, " \
	"attempts, next_attempt_us, delivered_us"
/* workspace (0006) */
#define PROJECT_COLS "id, tenant_id, name_index, name, description, labels, " \
	"created_by, created_us, updated_us"
#define MEMBER_COLS "project_id, user_id, role, added_us"
#define DIR_COLS "id, tenant_id, project_id, parent_id, name_index, name, " \
	"labels, created_us, updated_us"
#define FILE_COLS "id, tenant_id, project_id, directory_id, name_index, " \
	"name, labels, kind, current_version, created_by, created_us, " \
	"updated_us"
#define VERSION_COLS "file_id, version, blob_id, size, sha256, " \
	"content_type, uploaded_by, created_us"
#define TASK_COLS "id, tenant_id, project_id, title, description, labels, " \
	"status, assignee_id, due_us, created_by, created_us, updated_us"
#define EXPORT_COLS "id, tenant_id, status, blob_id, size, requested_by, " \
	"created_us, ready_us, expires_us"

enum sq_stmt {
	SQ_PING,
	SQ_USER_VERSION,
	SQ_BEGIN,
	SQ_BEGIN_READ,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SYNC_NORMAL,
	SQ_SYNC_FULL,
	SQ_INTEGRITY,
	SQ_FK_CHECK,
	SQ_TENANT_INSERT,
	SQ_TENANT_GET,
	SQ_TENANT_GET_BY_CONTRACT,
	SQ_TENANT_LIST,
	SQ_TENANT_SET_STATUS,
	SQ_TKEY_INSERT,
	SQ_TKEY_LIST,
	SQ_TKEY_LIST_ALL,
	SQ_TKEY_REWRAP,
	SQ_TKEY_KEK_VERSIONS,
	SQ_USER_INSERT,
	SQ_USER_GET,
	SQ_USER_GET_BY_LOGIN,
	SQ_USER_LIST,
	SQ_USER_COUNT_SEATED,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_USER_UPDATE,
	SQ_USER_UPDATE_SAME_INDEXES,
	SQ_USER_DELETE,
	SQ_USER_GET_BY_INVITE,
	SQ_USER_EXISTS,
	SQ_RECOVERY_DELETE,
	SQ_RECOVERY_INSERT,
	SQ_RECOVERY_USE,
	SQ_RECOVERY_COUNT,
	SQ_SESSION_INSERT,
	SQ_SESSION_GET_BY_TOKEN,
	SQ_SESSION_TOUCH,
	SQ_SESSION_PROMOTE,
	SQ_SESSION_DELETE,
	SQ_SESSION_DELETE_USER,
	SQ_SESSION_LIST_USER,
	SQ_SESSION_PURGE,
	SQ_ROLE_INSERT,
	SQ_ROLE_GET,
	SQ_ROLE_LIST,
	SQ_ROLE_UPDATE,
	SQ_ROLE_DELETE,
	SQ_TOKEN_INSERT,
	SQ_TOKEN_GET_BY_HASH,
	SQ_TOKEN_GET,
	SQ_TOKEN_LIST,
	SQ_TOKEN_LIST_USER,
	SQ_TOKEN_TOUCH,
	SQ_TOKEN_DELETE,
	SQ_SETTINGS_GET,
	SQ_SETTINGS_PUT,
	SQ_AUDIT_HEAD,
	SQ_AUDIT_HEAD_TENANT,
	SQ_AUDIT_INSERT,
	SQ_AUDIT_SCAN,
	SQ_AUDIT_SCAN_TENANT,
	SQ_AUDIT_QUERY,
	SQ_AUDIT_TENANT_HEADS,
	SQ_AUDIT_GET,
	SQ_AUDIT_MARK_PUT,
	SQ_AUDIT_MARKS,
	SQ_AUDIT_MARKS_SCOPE,
	SQ_AUDIT_LAST_MARK,
	SQ_AUDIT_PREFIX_END,
	SQ_AUDIT_GUARD_ON,
	SQ_AUDIT_GUARD_OFF,
	SQ_AUDIT_DELETE_PREFIX,
	/* alerts (0004) */
	SQ_ALERT_INSERT,
	SQ_OUTBOX_INSERT,
	SQ_ALERT_GET,
	SQ_ALERT_LIST,
	SQ_ALERT_LIST_ALL,
	SQ_ALERT_ACK,
	SQ_ALERT_EXISTS,
	SQ_OUTBOX_PENDING,
	SQ_OUTBOX_ATTEMPT,
	SQ_NETWORK_INSERT,
	SQ_NETWORK_COUNT,
	SQ_ALERT_OPERATOR_EVENTS,
	SQ_ALERT_CURSOR_GET,
	SQ_ALERT_CURSOR_PUT,
	/* health (0005) */
	SQ_HEALTH_PUT,
	SQ_HEALTH_LATEST,
	SQ_HEALTH_PRUNE,
	SQ_HEALTH_PROBE_PUT,
	SQ_HEALTH_PROBE_GET,
	/* workspace (0006) */
	SQ_PROJECT_INSERT,
	SQ_PROJECT_GET,
	SQ_PROJECT_LIST,
	SQ_PROJECT_LIST_MEMBER,
	SQ_PROJECT_UPDATE,
	SQ_PROJECT_BLOBS,
	SQ_PROJECT_DELETE,
	SQ_MEMBER_PUT,
	SQ_MEMBER_GET,
	SQ_MEMBER_LIST,
	SQ_MEMBER_DELETE,
	SQ_DIR_INSERT,
	SQ_DIR_GET,
	SQ_DIR_LIST,
	SQ_DIR_LIST_ALL,
	SQ_DIR_CYCLE,
	SQ_DIR_UPDATE,
	SQ_DIR_CHILDREN,
	SQ_DIR_TREE_BLOBS,
	SQ_DIR_DELETE_TREE,
	SQ_FILE_INSERT,
	SQ_FILE_GET,
	SQ_FILE_GET_BY_NAME,
	SQ_FILE_LIST,
	SQ_FILE_LIST_ALL,
	SQ_FILE_UPDATE,
	SQ_FILE_BLOBS,
	SQ_FILE_DELETE,
	SQ_FILE_EXISTS,
	SQ_VERSION_INSERT,
	SQ_VERSION_GET,
	SQ_VERSION_LIST,
	SQ_VERSION_OLD,
	SQ_VERSION_PRUNE,
	SQ_TASK_INSERT,
	SQ_TASK_GET,
	SQ_TASK_LIST,
	SQ_TASK_UPDATE,
	SQ_TASK_DELETE,
	SQ_TASK_EXISTS,
	SQ_TASK_LINK,
	SQ_TASK_UNLINK,
	SQ_TASK_FILES,
	SQ_LABELS_CLEAR,
	SQ_LABELS_ADD,
	SQ_LABELS_FIND,
	SQ_USAGE_GET,
	SQ_USAGE_ENSURE,
	SQ_USAGE_ADD,
	SQ_QUOTA_SET,
	SQ_EXPORT_INSERT,
	SQ_EXPORT_GET,
	SQ_EXPORT_LIST,
	SQ_EXPORT_UPDATE,
	SQ_EXPORT_QUEUED,
	SQ_EXPORT_EXPIRED,
	SQ_BLOB_REFERENCED,
	SQ_STMT_COUNT
};

/*
 * Tenant-owned statements carry "tenant_id = ?1" in their WHERE clause
 * (and bind ?1 from the context, never from a row).  The exceptions are
 * the authentication lookups keyed by a unique token hash
 * (SQ_USER_GET_BY_INVITE, SQ_SESSION_GET_BY_TOKEN, SQ_TOKEN_GET_BY_HASH)
 * and operator housekeeping (SQ_SESSION_PURGE).
 */
static const char *const sq_sql[SQ_STMT_COUNT] = {
	[SQ_PING] = "SELECT 1",
	[SQ_USER_VERSION] = "PRAGMA user_version",
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_BEGIN_READ] = "BEGIN DEFERRED",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[SQ_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[SQ_INTEGRITY] = "PRAGMA integrity_check",
	[SQ_FK_CHECK] = "PRAGMA foreign_key_check",
	[SQ_TENANT_INSERT] =
	    "INSERT INTO tenants (" TENANT_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_TENANT_GET] =
	    "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1",
	[SQ_TENANT_GET_BY_CONTRACT] =
	    "SELECT " TENANT_COLS " FROM tenants WHERE contract_id = ?1",
	[SQ_TENANT_LIST] =
	    "SELECT " TENANT_COLS " FROM tenants ORDER BY contract_id",
	[SQ_TENANT_SET_STATUS] =
	    "UPDATE tenants SET status = ?2, updated_us = ?3 WHERE id = ?1",
	[SQ_TKEY_INSERT] =
	    "INSERT INTO tenant_keys (" TKEY_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQ_TKEY_LIST] =
	    "SELECT " TKEY_COLS " FROM tenant_keys WHERE tenant_id = ?1 "
	    "ORDER BY version",
	[SQ_TKEY_LIST_ALL] =
	    "SELECT " TKEY_COLS " FROM tenant_keys ORDER BY tenant_id, version",
	[SQ_TKEY_REWRAP] =
	    "UPDATE tenant_keys SET kek_version = ?4, wrapped = ?5 "
	    "WHERE tenant_id = ?1 AND version = ?2 AND kek_version = ?3",
	[SQ_TKEY_KEK_VERSIONS] =
	    "SELECT DISTINCT kek_version FROM tenant_keys ORDER BY kek_version",
	[SQ_USER_INSERT] =
	    "INSERT INTO users (tenant_id, id, login_index, login_id, "
	    "created_us, " USER_MUT_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
	[SQ_USER_GET] =
	    "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND id = ?2",
	[SQ_USER_GET_BY_LOGIN] =
	    "SELECT " USER_COLS " FROM users "
	    "WHERE tenant_id = ?1 AND login_index = ?2",
	[SQ_USER_LIST] =
	    "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 ORDER BY id",
	[SQ_USER_COUNT_SEATED] =
	    "SELECT count(*) FROM users "
	    "WHERE tenant_id = ?1 AND status IN ('active', 'invited')",
	[SQ_SAVEPOINT] = "SAVEPOINT sq_step",
	[SQ_RELEASE] = "RELEASE sq_step",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO sq_step",
	[SQ_USER_UPDATE] =
	    "UPDATE users SET (" USER_MUT_COLS ") = "
	    "(?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	    "?17, ?18, ?19, ?20) "
	    "WHERE tenant_id = ?1 AND id = ?2",
	/* The same, for a row whose indexed columns keep their values: SQLite
	 * rewrites an index entry for every indexed column named in SET, even
	 * unchanged, so leaving them out saves two index pages (two WAL
	 * frames) per update.  Binds as SQ_USER_UPDATE. */
	[SQ_USER_UPDATE_SAME_INDEXES] =
	    "UPDATE users SET (email, display_name, password_hash, status, "
	    "roles, must_change_password, updated_us, failed_logins, "
	    "locked_until_us, last_login_us, password_changed_us, mfa_enabled, "
	    "totp_secret, totp_pending, totp_last_step, invite_expires_us) = "
	    "(?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	    "?18, ?20) "
	    "WHERE tenant_id = ?1 AND id = ?2 AND email_index IS ?3 AND "
	    "invite_hash IS ?19",
	[SQ_USER_DELETE] =
	    "DELETE FROM users WHERE tenant_id = ?1 AND id = ?2",
	[SQ_USER_GET_BY_INVITE] =
	    "SELECT " USER_COLS " FROM users WHERE invite_hash = ?1",
	[SQ_USER_EXISTS] =
	    "SELECT 1 FROM users WHERE tenant_id = ?1 AND id = ?2",
	[SQ_RECOVERY_DELETE] =
	    "DELETE FROM recovery_codes WHERE tenant_id = ?1 AND user_id = ?2",
	[SQ_RECOVERY_INSERT] =
	    "INSERT INTO recovery_codes (tenant_id, user_id, code_hash) "
	    "VALUES (?1, ?2, ?3)",
	[SQ_RECOVERY_USE] =
	    "UPDATE recovery_codes SET used_us = ?4 "
	    "WHERE tenant_id = ?1 AND user_id = ?2 AND code_hash = ?3 "
	    "AND used_us = 0",
	/* no row at all when the user is not in the tenant */
	[SQ_RECOVERY_COUNT] =
	    "SELECT (SELECT count(*) FROM recovery_codes r "
	    "WHERE r.tenant_id = ?1 AND r.user_id = ?2 AND r.used_us = 0) "
	    "FROM users WHERE tenant_id = ?1 AND id = ?2",
	[SQ_SESSION_INSERT] =
	    "INSERT INTO sessions (" SESSION_COLS ") "
	    "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQ_SESSION_GET_BY_TOKEN] =
	    "SELECT " SESSION_COLS " FROM sessions WHERE token_hash = ?1",
	[SQ_SESSION_TOUCH] =
	    "UPDATE sessions SET last_seen_us = max(last_seen_us, ?3) "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_SESSION_PROMOTE] =
	    "UPDATE sessions SET kind = 'full', token_hash = ?3, "
	    "csrf_hash = ?4, expires_us = ?5 "
	    "WHERE tenant_id = ?1 AND id = ?2 AND kind = 'preauth'",
	[SQ_SESSION_DELETE] =
	    "DELETE FROM sessions "
	    "WHERE tenant_id = ?1 AND user_id = ?2 AND id = ?3",
	/* ?3 NULL keeps nothing: id IS NOT NULL holds for every row */
	[SQ_SESSION_DELETE_USER] =
	    "DELETE FROM sessions "
	    "WHERE tenant_id = ?1 AND user_id = ?2 AND id IS NOT ?3",
	[SQ_SESSION_LIST_USER] =
	    "SELECT " SESSION_COLS " FROM sessions "
	    "WHERE tenant_id = ?1 AND user_id = ?2 "
	    "ORDER BY created_us DESC, id DESC",
	[SQ_SESSION_PURGE] =
	    "DELETE FROM sessions WHERE expires_us < ?1 OR last_seen_us < ?2",
	[SQ_ROLE_INSERT] =
	    "INSERT INTO roles (" ROLE_COLS ") "
	    "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQ_ROLE_GET] =
	    "SELECT " ROLE_COLS " FROM roles WHERE tenant_id = ?1 AND id = ?2",
	[SQ_ROLE_LIST] =
	    "SELECT " ROLE_COLS " FROM roles WHERE tenant_id = ?1 ORDER BY id",
	[SQ_ROLE_UPDATE] =
	    "UPDATE roles SET name_index = ?3, name = ?4, labels = ?5, "
	    "permissions = ?6, updated_us = ?7 "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_ROLE_DELETE] =
	    "DELETE FROM roles WHERE tenant_id = ?1 AND id = ?2",
	[SQ_TOKEN_INSERT] =
	    "INSERT INTO api_tokens (" TOKEN_COLS ") "
	    "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQ_TOKEN_GET_BY_HASH] =
	    "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = ?1",
	[SQ_TOKEN_GET] =
	    "SELECT " TOKEN_COLS " FROM api_tokens "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_TOKEN_LIST] =
	    "SELECT " TOKEN_COLS " FROM api_tokens WHERE tenant_id = ?1 "
	    "ORDER BY id",
	[SQ_TOKEN_LIST_USER] =
	    "SELECT " TOKEN_COLS " FROM api_tokens "
	    "WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY id",
	[SQ_TOKEN_TOUCH] =
	    "UPDATE api_tokens SET last_used_us = max(last_used_us, ?3) "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_TOKEN_DELETE] =
	    "DELETE FROM api_tokens WHERE tenant_id = ?1 AND id = ?2",
	[SQ_SETTINGS_GET] =
	    "SELECT doc FROM tenant_settings WHERE tenant_id = ?1 AND kind = ?2",
	[SQ_SETTINGS_PUT] =
	    "INSERT INTO tenant_settings (tenant_id, kind, doc, updated_us) "
	    "VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (tenant_id, kind) DO UPDATE "
	    "SET doc = excluded.doc, updated_us = excluded.updated_us",
	/* audit: the global chain and the audit writer's reads are operator
	 * scope; the tenant view binds ?1 from the context */
	[SQ_AUDIT_HEAD] =
	    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
	[SQ_AUDIT_HEAD_TENANT] =
	    "SELECT tenant_seq, hash FROM audit_events WHERE tenant_id = ?1 "
	    "ORDER BY tenant_seq DESC LIMIT 1",
	[SQ_AUDIT_INSERT] =
	    "INSERT INTO audit_events (" AUDIT_COLS ") VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[SQ_AUDIT_SCAN] =
	    "SELECT " AUDIT_COLS " FROM audit_events WHERE seq > ?1 ORDER BY seq",
	[SQ_AUDIT_SCAN_TENANT] =
	    "SELECT " AUDIT_COLS " FROM audit_events WHERE tenant_id = ?1 AND "
	    "tenant_seq > ?2 ORDER BY tenant_seq",
	[SQ_AUDIT_QUERY] =
	    "SELECT " AUDIT_COLS " FROM audit_events WHERE tenant_id = ?1 "
	    "AND (?2 = 0 OR time_us >= ?2) AND (?3 = 0 OR time_us < ?3) "
	    "AND (?4 IS NULL OR actor_id = ?4) "
	    "AND (?5 IS NULL OR action = ?5 OR (substr(?5, -1) = '*' AND "
	    "substr(action, 1, length(?5) - 1) = substr(?5, 1, length(?5) - 1))) "
	    "AND (?6 IS NULL OR resource_type = ?6) "
	    "AND (?7 IS NULL OR resource_id = ?7) "
	    "AND (?8 IS NULL OR outcome = ?8) AND (?9 IS NULL OR source_ip = ?9) "
	    "AND (?10 = 0 OR tenant_seq < ?10) "
	    "ORDER BY tenant_seq DESC LIMIT ?11",
	[SQ_AUDIT_TENANT_HEADS] =
	    "SELECT e.tenant_id, e.tenant_seq, e.hash, e.time_us FROM audit_events e "
	    "JOIN (SELECT tenant_id, MAX(tenant_seq) AS m FROM audit_events "
	    "WHERE tenant_id IS NOT NULL AND (?1 = 0 OR seq <= ?1) "
	    "GROUP BY tenant_id) h ON e.tenant_id = h.tenant_id AND "
	    "e.tenant_seq = h.m ORDER BY e.tenant_id",
	[SQ_AUDIT_GET] =
	    "SELECT " AUDIT_COLS " FROM audit_events WHERE seq = ?1",
	[SQ_AUDIT_MARK_PUT] =
	    "INSERT INTO audit_marks (" MARK_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQ_AUDIT_MARKS] =
	    "SELECT " MARK_COLS " FROM audit_marks WHERE kind = ?1 "
	    "ORDER BY scope, seq",
	[SQ_AUDIT_MARKS_SCOPE] =
	    "SELECT " MARK_COLS " FROM audit_marks WHERE kind = ?1 AND scope = ?2 "
	    "ORDER BY seq",
	[SQ_AUDIT_LAST_MARK] =
	    "SELECT " MARK_COLS " FROM audit_marks WHERE kind = ?1 AND scope = ?2 "
	    "ORDER BY seq DESC LIMIT 1",
	[SQ_AUDIT_PREFIX_END] =
	    "SELECT COALESCE((SELECT MIN(seq) FROM audit_events WHERE time_us >= ?1),"
	    " (SELECT MAX(seq) + 1 FROM audit_events), 1) - 1",
	[SQ_AUDIT_GUARD_ON] = "INSERT INTO audit_expiry_guard (active) VALUES (1)",
	[SQ_AUDIT_GUARD_OFF] = "DELETE FROM audit_expiry_guard",
	[SQ_AUDIT_DELETE_PREFIX] = "DELETE FROM audit_events WHERE seq <= ?1",
	/* alerts (0004) */
	/* alerts: the engine writes for any tenant (the row names it); the
	 * tenant view binds ?1 from the context; *_ALL, the outbox worker
	 * and the operator-event scan are operator scope */
	[SQ_ALERT_INSERT] =
	    "INSERT INTO alerts (" ALERT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, 0, '')",
	[SQ_OUTBOX_INSERT] =
	    "INSERT INTO notification_outbox (" OUTBOX_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_ALERT_GET] =
	    "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ?1 AND id = ?2",
	/* ?2 acked (-1 any), ?3 rule, ?4 cursor: rows older than that
	 * alert of the same tenant (none if it is not the tenant's) */
	[SQ_ALERT_LIST] =
	    "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ?1 "
	    "AND (?2 = -1 OR (?2 = 0 AND acked_us = 0) OR "
	    "(?2 = 1 AND acked_us <> 0)) AND (?3 IS NULL OR rule = ?3) "
	    "AND (?4 IS NULL OR (created_us, id) < (SELECT created_us, id "
	    "FROM alerts WHERE tenant_id = ?1 AND id = ?4)) "
	    "ORDER BY created_us DESC, id DESC LIMIT ?5",
	/* ?1 tenant: NULL any, '' operator-wide only */
	[SQ_ALERT_LIST_ALL] =
	    "SELECT " ALERT_COLS " FROM alerts "
	    "WHERE (?1 IS NULL OR (?1 = '' AND tenant_id IS NULL) OR "
	    "tenant_id = ?1) "
	    "AND (?2 = -1 OR (?2 = 0 AND acked_us = 0) OR "
	    "(?2 = 1 AND acked_us <> 0)) AND (?3 IS NULL OR rule = ?3) "
	    "AND (?4 IS NULL OR (created_us, id) < (SELECT created_us, id "
	    "FROM alerts WHERE id = ?4)) "
	    "ORDER BY created_us DESC, id DESC LIMIT ?5",
	[SQ_ALERT_ACK] =
	    "UPDATE alerts SET acked_us = ?3, acked_by = ?4 "
	    "WHERE tenant_id = ?1 AND id = ?2 AND acked_us = 0",
	[SQ_ALERT_EXISTS] =
	    "SELECT 1 FROM alerts WHERE tenant_id = ?1 AND id = ?2",
	[SQ_OUTBOX_PENDING] =
	    "SELECT " OUTBOX_COLS " FROM notification_outbox "
	    "WHERE delivered_us = 0 AND channel = ?1 AND next_attempt_us <= ?2 "
	    "ORDER BY created_us, id LIMIT ?3",
	[SQ_OUTBOX_ATTEMPT] =
	    "UPDATE notification_outbox SET attempts = attempts + 1, "
	    "delivered_us = ?2, next_attempt_us = CASE WHEN ?2 > 0 "
	    "THEN next_attempt_us ELSE ?3 END "
	    "WHERE id = ?1 AND delivered_us = 0",
	[SQ_NETWORK_INSERT] =
	    "INSERT INTO known_networks (tenant_id, user_id, network, "
	    "first_seen_us) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[SQ_NETWORK_COUNT] =
	    "SELECT count(*) FROM known_networks "
	    "WHERE tenant_id = ?1 AND user_id = ?2",
	[SQ_ALERT_OPERATOR_EVENTS] =
	    "SELECT " AUDIT_COLS " FROM audit_events WHERE seq > ?1 "
	    "AND seq <= ?2 AND actor_type = 'operator' ORDER BY seq LIMIT ?3",
	[SQ_ALERT_CURSOR_GET] =
	    "SELECT seq FROM alert_cursor WHERE name = ?1",
	[SQ_ALERT_CURSOR_PUT] =
	    "INSERT INTO alert_cursor (name, seq) VALUES (?1, ?2) "
	    "ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)",
	/* health (0005) */
	[SQ_HEALTH_PUT] =
	    "INSERT INTO health_checks (component, status, detail, checked_us) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[SQ_HEALTH_LATEST] =
	    "SELECT component, status, detail, checked_us FROM health_checks "
	    "WHERE id IN (SELECT MAX(id) FROM health_checks GROUP BY component) "
	    "ORDER BY component",
	[SQ_HEALTH_PRUNE] = "DELETE FROM health_checks WHERE checked_us < ?1",
	[SQ_HEALTH_PROBE_PUT] =
	    "INSERT INTO health_probe (id, value, written_us) VALUES (1, ?1, ?2) "
	    "ON CONFLICT (id) DO UPDATE SET value = excluded.value, "
	    "written_us = excluded.written_us",
	[SQ_HEALTH_PROBE_GET] = "SELECT value FROM health_probe WHERE id = 1",
	/* workspace (0006): every statement binds ?1 from the context (and
	 * the project-scoped ones ?2 from the call) except the operator
	 * scans SQ_EXPORT_QUEUED, SQ_EXPORT_EXPIRED and SQ_QUOTA_SET.
	 * Optional values ("" ids, empty blobs) are bound as NULL. */
	[SQ_PROJECT_INSERT] =
	    "INSERT INTO projects (" PROJECT_COLS ") "
	    "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_PROJECT_GET] =
	    "SELECT " PROJECT_COLS " FROM projects "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_PROJECT_LIST] =
	    "SELECT " PROJECT_COLS " FROM projects WHERE tenant_id = ?1 "
	    "ORDER BY id",
	[SQ_PROJECT_LIST_MEMBER] =
	    "SELECT " PROJECT_COLS " FROM projects WHERE tenant_id = ?1 "
	    "AND id IN (SELECT project_id FROM project_members "
	    "WHERE tenant_id = ?1 AND user_id = ?2) ORDER BY id",
	[SQ_PROJECT_UPDATE] =
	    "UPDATE projects SET name_index = ?3, name = ?4, description = ?5, "
	    "labels = ?6, updated_us = ?7 WHERE tenant_id = ?1 AND id = ?2",
	[SQ_PROJECT_BLOBS] =
	    "SELECT blob_id FROM file_versions WHERE tenant_id = ?1 "
	    "AND file_id IN (SELECT id FROM files WHERE tenant_id = ?1 "
	    "AND project_id = ?2) ORDER BY blob_id",
	/* cascades to members, directories, files, versions, tasks, links,
	 * names; triggers remove label rows */
	[SQ_PROJECT_DELETE] =
	    "DELETE FROM projects WHERE tenant_id = ?1 AND id = ?2",
	[SQ_MEMBER_PUT] =
	    "INSERT INTO project_members (tenant_id, project_id, user_id, role, "
	    "added_us) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (tenant_id, project_id, user_id) DO UPDATE "
	    "SET role = excluded.role",
	[SQ_MEMBER_GET] =
	    "SELECT " MEMBER_COLS " FROM project_members "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND user_id = ?3",
	[SQ_MEMBER_LIST] =
	    "SELECT " MEMBER_COLS " FROM project_members "
	    "WHERE tenant_id = ?1 AND project_id = ?2 ORDER BY user_id",
	[SQ_MEMBER_DELETE] =
	    "DELETE FROM project_members "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND user_id = ?3",
	[SQ_DIR_INSERT] =
	    "INSERT INTO directories (" DIR_COLS ") "
	    "VALUES (?3, ?1, ?2, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_DIR_GET] =
	    "SELECT " DIR_COLS " FROM directories "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	/* ?3 NULL: the root */
	[SQ_DIR_LIST] =
	    "SELECT " DIR_COLS " FROM directories "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND parent_id IS ?3 "
	    "ORDER BY id",
	[SQ_DIR_LIST_ALL] =
	    "SELECT " DIR_COLS " FROM directories "
	    "WHERE tenant_id = ?1 AND project_id = ?2 ORDER BY id",
	/* a row if directory ?4 is the new parent ?3 or one of its
	 * ancestors (UNION: a damaged tree with a cycle still ends) */
	[SQ_DIR_CYCLE] =
	    "WITH RECURSIVE anc(id) AS (SELECT ?3 UNION "
	    "SELECT d.parent_id FROM directories d JOIN anc ON d.id = anc.id "
	    "WHERE d.tenant_id = ?1 AND d.project_id = ?2 "
	    "AND d.parent_id IS NOT NULL) "
	    "SELECT 1 FROM anc WHERE id = ?4",
	[SQ_DIR_UPDATE] =
	    "UPDATE directories SET parent_id = ?4, name_index = ?5, name = ?6, "
	    "labels = ?7, updated_us = ?8 "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	/* no row when the project, or directory ?3 ('' the root), is not
	 * there */
	[SQ_DIR_CHILDREN] =
	    "SELECT (SELECT count(*) FROM entry_names WHERE tenant_id = ?1 "
	    "AND project_id = ?2 AND parent_id = ?3) FROM projects "
	    "WHERE tenant_id = ?1 AND id = ?2 AND (?3 = '' OR EXISTS "
	    "(SELECT 1 FROM directories WHERE tenant_id = ?1 "
	    "AND project_id = ?2 AND id = ?3))",
	[SQ_DIR_TREE_BLOBS] =
	    "WITH RECURSIVE sub(id) AS (SELECT id FROM directories "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3 UNION "
	    "SELECT d.id FROM directories d JOIN sub ON d.parent_id = sub.id "
	    "WHERE d.tenant_id = ?1 AND d.project_id = ?2) "
	    "SELECT blob_id FROM file_versions WHERE tenant_id = ?1 "
	    "AND file_id IN (SELECT id FROM files WHERE tenant_id = ?1 "
	    "AND project_id = ?2 AND directory_id IN sub) ORDER BY blob_id",
	/* the whole subtree in one statement: files cascade from their
	 * directory, and the parent key (no action) is checked at the end */
	[SQ_DIR_DELETE_TREE] =
	    "WITH RECURSIVE sub(id) AS (SELECT id FROM directories "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3 UNION "
	    "SELECT d.id FROM directories d JOIN sub ON d.parent_id = sub.id "
	    "WHERE d.tenant_id = ?1 AND d.project_id = ?2) "
	    "DELETE FROM directories WHERE tenant_id = ?1 AND project_id = ?2 "
	    "AND id IN sub",
	[SQ_FILE_INSERT] =
	    "INSERT INTO files (" FILE_COLS ") "
	    "VALUES (?3, ?1, ?2, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[SQ_FILE_GET] =
	    "SELECT " FILE_COLS " FROM files "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	/* through the sibling-name key; ?3 NULL is the root */
	[SQ_FILE_GET_BY_NAME] =
	    "SELECT " FILE_COLS " FROM files "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND directory_id IS ?3 "
	    "AND name_index = ?4 AND id = (SELECT entry_id FROM entry_names "
	    "WHERE tenant_id = ?1 AND project_id = ?2 "
	    "AND parent_id = COALESCE(?3, '') AND name_index = ?4)",
	[SQ_FILE_LIST] =
	    "SELECT " FILE_COLS " FROM files "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND directory_id IS ?3 "
	    "ORDER BY id",
	[SQ_FILE_LIST_ALL] =
	    "SELECT " FILE_COLS " FROM files "
	    "WHERE tenant_id = ?1 AND project_id = ?2 ORDER BY id",
	[SQ_FILE_UPDATE] =
	    "UPDATE files SET directory_id = ?4, name_index = ?5, name = ?6, "
	    "labels = ?7, kind = ?8, current_version = ?9, updated_us = ?10 "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	[SQ_FILE_BLOBS] =
	    "SELECT blob_id FROM file_versions WHERE tenant_id = ?1 "
	    "AND file_id = (SELECT id FROM files WHERE tenant_id = ?1 "
	    "AND project_id = ?2 AND id = ?3) ORDER BY version",
	/* cascades to versions and task links */
	[SQ_FILE_DELETE] =
	    "DELETE FROM files "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	[SQ_FILE_EXISTS] =
	    "SELECT 1 FROM files WHERE tenant_id = ?1 AND id = ?2",
	[SQ_VERSION_INSERT] =
	    "INSERT INTO file_versions (tenant_id, " VERSION_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_VERSION_GET] =
	    "SELECT " VERSION_COLS " FROM file_versions "
	    "WHERE tenant_id = ?1 AND file_id = ?2 AND version = ?3",
	[SQ_VERSION_LIST] =
	    "SELECT " VERSION_COLS " FROM file_versions "
	    "WHERE tenant_id = ?1 AND file_id = ?2 ORDER BY version DESC",
	/* every version but the newest ?3 */
	[SQ_VERSION_OLD] =
	    "SELECT blob_id, size FROM file_versions "
	    "WHERE tenant_id = ?1 AND file_id = ?2 "
	    "ORDER BY version DESC LIMIT -1 OFFSET ?3",
	[SQ_VERSION_PRUNE] =
	    "DELETE FROM file_versions WHERE tenant_id = ?1 AND file_id = ?2 "
	    "AND version IN (SELECT version FROM file_versions "
	    "WHERE tenant_id = ?1 AND file_id = ?2 "
	    "ORDER BY version DESC LIMIT -1 OFFSET ?3)",
	[SQ_TASK_INSERT] =
	    "INSERT INTO tasks (" TASK_COLS ") "
	    "VALUES (?3, ?1, ?2, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[SQ_TASK_GET] =
	    "SELECT " TASK_COLS " FROM tasks "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	/* ?3 status or NULL; ?4 assignee, '' unassigned, NULL any */
	[SQ_TASK_LIST] =
	    "SELECT " TASK_COLS " FROM tasks "
	    "WHERE tenant_id = ?1 AND project_id = ?2 "
	    "AND (?3 IS NULL OR status = ?3) "
	    "AND (?4 IS NULL OR assignee_id IS nullif(?4, '')) ORDER BY id",
	[SQ_TASK_UPDATE] =
	    "UPDATE tasks SET title = ?4, description = ?5, labels = ?6, "
	    "status = ?7, assignee_id = ?8, due_us = ?9, updated_us = ?10 "
	    "WHERE tenant_id = ?1 AND project_id = ?2 AND id = ?3",
	[SQ_TASK_DELETE] =
	    "DELETE FROM tasks WHERE tenant_id = ?1 AND project_id = ?2 "
	    "AND id = ?3",
	[SQ_TASK_EXISTS] =
	    "SELECT 1 FROM tasks WHERE tenant_id = ?1 AND id = ?2",
	/* the link takes the task's project; the file key refuses a file
	 * of another project */
	[SQ_TASK_LINK] =
	    "INSERT INTO task_files (tenant_id, project_id, task_id, file_id) "
	    "SELECT tenant_id, project_id, id, ?3 FROM tasks "
	    "WHERE tenant_id = ?1 AND id = ?2",
	[SQ_TASK_UNLINK] =
	    "DELETE FROM task_files "
	    "WHERE tenant_id = ?1 AND task_id = ?2 AND file_id = ?3",
	[SQ_TASK_FILES] =
	    "SELECT file_id FROM task_files "
	    "WHERE tenant_id = ?1 AND task_id = ?2 ORDER BY file_id",
	[SQ_LABELS_CLEAR] =
	    "DELETE FROM resource_labels WHERE tenant_id = ?1 "
	    "AND resource_type = ?2 AND resource_id = ?3",
	[SQ_LABELS_ADD] =
	    "INSERT INTO resource_labels (tenant_id, resource_type, "
	    "resource_id, label_index) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT DO NOTHING",
	[SQ_LABELS_FIND] =
	    "SELECT resource_id FROM resource_labels WHERE tenant_id = ?1 "
	    "AND resource_type = ?2 AND label_index = ?3 ORDER BY resource_id",
	/* no row when the tenant does not exist; NULLs when it has no
	 * usage or quota row */
	[SQ_USAGE_GET] =
	    "SELECT u.bytes, u.files, q.max_bytes, q.max_files FROM tenants t "
	    "LEFT JOIN tenant_usage u ON u.tenant_id = t.id "
	    "LEFT JOIN tenant_quotas q ON q.tenant_id = t.id WHERE t.id = ?1",
	[SQ_USAGE_ENSURE] =
	    "INSERT INTO tenant_usage (tenant_id) VALUES (?1) "
	    "ON CONFLICT DO NOTHING",
	/* the quota check and the change in one statement; ?4/?5 are the
	 * defaults.  "delta <= max - used" cannot overflow (both >= 0). */
	[SQ_USAGE_ADD] =
	    "UPDATE tenant_usage SET bytes = max(bytes + ?2, 0), "
	    "files = max(files + ?3, 0) WHERE tenant_id = ?1 "
	    "AND (?2 <= 0 OR ?2 <= COALESCE((SELECT max_bytes "
	    "FROM tenant_quotas WHERE tenant_id = ?1), ?4) - bytes) "
	    "AND (?3 <= 0 OR ?3 <= COALESCE((SELECT max_files "
	    "FROM tenant_quotas WHERE tenant_id = ?1), ?5) - files)",
	[SQ_QUOTA_SET] =
	    "INSERT INTO tenant_quotas (tenant_id, max_bytes, max_files, "
	    "updated_us) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (tenant_id) DO UPDATE SET max_bytes = "
	    "excluded.max_bytes, max_files = excluded.max_files, "
	    "updated_us = excluded.updated_us",
	[SQ_EXPORT_INSERT] =
	    "INSERT INTO exports (" EXPORT_COLS ") "
	    "VALUES (?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SQ_EXPORT_GET] =
	    "SELECT " EXPORT_COLS " FROM exports WHERE tenant_id = ?1 AND id = ?2",
	[SQ_EXPORT_LIST] =
	    "SELECT " EXPORT_COLS " FROM exports WHERE tenant_id = ?1 "
	    "ORDER BY created_us DESC, id DESC",
	[SQ_EXPORT_UPDATE] =
	    "UPDATE exports SET status = ?3, blob_id = ?4, size = ?5, "
	    "ready_us = ?6, expires_us = ?7 WHERE tenant_id = ?1 AND id = ?2",
	[SQ_EXPORT_QUEUED] =
	    "SELECT " EXPORT_COLS " FROM exports WHERE status = 'queued' "
	    "ORDER BY created_us, id",
	[SQ_EXPORT_EXPIRED] =
	    "SELECT " EXPORT_COLS " FROM exports WHERE status = 'ready' "
	    "AND expires_us <= ?1 ORDER BY expires_us, id",
	/* housekeeping (operator scope): does any row own this content file? */
	[SQ_BLOB_REFERENCED] =
	    "SELECT EXISTS (SELECT 1 FROM file_versions WHERE blob_id = ?2 "
	    "AND tenant_id = ?1) OR EXISTS (SELECT 1 FROM exports WHERE "
	    "blob_id = ?2 AND tenant_id = ?1)",
};

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *st[SQ_STMT_COUNT];
	/* synchronous=NORMAL is in force: only ever inside a transaction
	 * begun by sq_begin_lazy; sq_stmt puts FULL back before any
	 * statement runs outside one (see sq_begin_lazy) */
	bool normal;
	/* inside sq_read_begin's snapshot: no statement that writes may
	 * run (it would upgrade the read transaction, and could fail with
	 * SQLITE_BUSY_SNAPSHOT or commit without group durability) */
	bool reading;
	/* sq_read_relax: a statement that writes ends the snapshot first */
	bool relaxed;
	/* wal_notify: told the log's size after each commit */
	void (*notify)(void *arg, int frames);
	void *notify_arg;
};

typedef kura_err (*sq_row_fn)(sqlite3_stmt *st, void *item);
typedef void (*sq_clear_fn)(void *item);

/*
 * Map an SQLite result code (extended codes are on) to a kura_err.
 * Foreign-key violations mean the referenced tenant does not exist;
 * CHECK/NOT NULL violations mean a value the schema refuses.
 */
static kura_err
sq_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return KURA_OK;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return KURA_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return KURA_ENOENT;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_DATATYPE:
		return KURA_EINVAL;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return KURA_EBUSY;
	case SQLITE_NOMEM:
		return KURA_ENOMEM;
	default:
		return KURA_EIO;
	}
}

static kura_err sq_sync_full(struct sq_conn *c);
static kura_err sq_read_end(void *be);

/* Return the connection's cached statement id, preparing it on first use. */
static kura_err
sq_stmt_raw(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret_st)
{
	sqlite3_stmt *st;
	int rc;

	if (c->st[id] == NULL) {
		rc = sqlite3_prepare_v3(c->db, sq_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		}
		c->st[id] = st;
	}
	*ret_st = c->st[id];
	return KURA_OK;
}

/*
 * As sq_stmt_raw, for every statement: a connection left in
 * synchronous=NORMAL outside a transaction (a lazy transaction ended,
 * was rolled back by SQLite itself, or putting FULL back failed) gets
 * FULL back first, so no autocommit write ever skips its fsync.
 */
static kura_err
sq_stmt(struct sq_conn *c, enum sq_stmt id, sqlite3_stmt **ret_st)
{
	kura_err err;

	if (c->normal && sqlite3_get_autocommit(c->db) &&
	    (err = sq_sync_full(c)) != KURA_OK)
		return err;
	if ((err = sq_stmt_raw(c, id, ret_st)) != KURA_OK)
		return err;
	if (c->reading && !sqlite3_stmt_readonly(*ret_st)) {
		if (!c->relaxed)
			return KURA_EINTERNAL;  /* a write inside a read snapshot */
		if ((err = sq_read_end(c)) != KURA_OK)
			return err;             /* relaxed: end it, then write */
	}
	return KURA_OK;
}

/* Make a cached statement ready for its next use. */
static void
sq_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Bind a non-empty blob (store.c refuses empty sealed values). */
static int
sq_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
	return sqlite3_bind_blob64(st, i, p, len, SQLITE_STATIC);
}

static int
sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Bind an optional blob: empty is stored as NULL. */
static int
sq_bind_opt_blob(sqlite3_stmt *st, int i, const struct store_blob *b)
{
	if (b->len == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_blob64(st, i, b->data, b->len, SQLITE_STATIC);
}

/* Bind an optional fixed-size text field: "" is stored as NULL. */
static int
sq_bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	return sq_bind_text(st, i, s[0] != '\0' ? s : NULL);
}

/* Step a statement that returns no rows. */
static kura_err
sq_step_done(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return KURA_OK;
	if (rc == SQLITE_ROW)
		return KURA_EINTERNAL;
	return sq_err(rc);
}

/* Copy a NOT NULL text column into a fixed field; too long is EINVAL. */
static kura_err
sq_col_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *p;
	size_t n = 0;

	p = sqlite3_column_text(st, col);
	if (p == NULL)
		return sqlite3_column_type(st, col) == SQLITE_NULL ?
		    KURA_EIO : KURA_ENOMEM;
	n = (size_t)sqlite3_column_bytes(st, col);
	if (strlen((const char *)p) != n)
		return KURA_EIO;
	if (n >= size)
		return KURA_EINVAL;
	memcpy(dst, p, n + 1);
	return KURA_OK;
}

/* As sq_col_text, but a NULL column gives "". */
static kura_err
sq_col_opt_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		dst[0] = '\0';
		return KURA_OK;
	}
	return sq_col_text(st, col, dst, size);
}

/* Copy a text column into a malloc'd string; NULL stays NULL. */
static kura_err
sq_col_strdup(sqlite3_stmt *st, int col, char **ret_s)
{
	const unsigned char *p;
	char *s;
	size_t n = 0;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		*ret_s = NULL;
		return KURA_OK;
	}
	p = sqlite3_column_text(st, col);
	if (p == NULL)
		return KURA_ENOMEM;
	n = (size_t)sqlite3_column_bytes(st, col);
	if (strlen((const char *)p) != n)
		return KURA_EIO;
	if ((s = kura_strndup((const char *)p, n)) == NULL)
		return KURA_ENOMEM;
	*ret_s = s;
	return KURA_OK;
}

/* Copy a blob column into a malloc'd buffer (NULL data if empty). */
static kura_err
sq_col_blob(sqlite3_stmt *st, int col, struct store_blob *ret_b)
{
	const void *p;
	uint8_t *data = NULL;
	size_t n = 0;

	p = sqlite3_column_blob(st, col);
	n = (size_t)sqlite3_column_bytes(st, col);
	if (n > 0) {
		if (p == NULL)
			return KURA_ENOMEM;
		if ((data = malloc(n)) == NULL)
			return KURA_ENOMEM;
		memcpy(data, p, n);
	}
	ret_b->data = data;
	ret_b->len = n;
	return KURA_OK;
}

static kura_err
sq_col_u32(sqlite3_stmt *st, int col, uint32_t *ret_v)
{
	sqlite3_int64 v = 0;

	v = sqlite3_column_int64(st, col);
	if (v < 0 || v > UINT32_MAX)
		return KURA_EIO;
	*ret_v = (uint32_t)v;
	return KURA_OK;
}

/* Run a statement returning one integer (PRAGMA reads, counts). */
static kura_err
sq_int_query(sqlite3 *db, const char *sql, sqlite3_int64 *ret_v)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
		goto out;
	}
	*ret_v = sqlite3_column_int64(st, 0);
	err = KURA_OK;
out:
	sqlite3_finalize(st);
	return err;
}

/* ---- row readers ---- */

static void
sq_tenant_clear(void *item)
{
	store_tenant_clear(item);
}

static kura_err
sq_tenant_row(sqlite3_stmt *st, void *item)
{
	struct store_tenant *t = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, t->id, sizeof(t->id))) != KURA_OK ||
	    (err = sq_col_text(st, 1, t->contract_id,
	    sizeof(t->contract_id))) != KURA_OK ||
	    (err = sq_col_blob(st, 2, &t->name)) != KURA_OK ||
	    (err = sq_col_u32(st, 3, &t->seats)) != KURA_OK ||
	    (err = sq_col_text(st, 4, t->status, sizeof(t->status))) != KURA_OK ||
	    (err = sq_col_text(st, 5, t->region, sizeof(t->region))) != KURA_OK ||
	    (err = sq_col_text(st, 6, t->timezone,
	    sizeof(t->timezone))) != KURA_OK)
		return err;
	t->created_us = sqlite3_column_int64(st, 7);
	t->updated_us = sqlite3_column_int64(st, 8);
	return KURA_OK;
}

static void
sq_tkey_clear(void *item)
{
	struct store_tenant_key *k = item;

	kura_wipe(k->wrapped.data, k->wrapped.len);
	KURA_FREE(k->wrapped.data);
	k->wrapped.len = 0;
}

static kura_err
sq_tkey_row(sqlite3_stmt *st, void *item)
{
	struct store_tenant_key *k = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, k->tenant_id,
	    sizeof(k->tenant_id))) != KURA_OK ||
	    (err = sq_col_u32(st, 1, &k->version)) != KURA_OK ||
	    (err = sq_col_u32(st, 2, &k->kek_version)) != KURA_OK ||
	    (err = sq_col_blob(st, 3, &k->wrapped)) != KURA_OK)
		return err;
	k->created_us = sqlite3_column_int64(st, 4);
	return KURA_OK;
}

static void
sq_user_clear(void *item)
{
	store_user_clear(item);
}

static kura_err
sq_user_row(sqlite3_stmt *st, void *item)
{
	struct store_user *u = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, u->id, sizeof(u->id))) != KURA_OK ||
	    (err = sq_col_text(st, 1, u->tenant_id,
	    sizeof(u->tenant_id))) != KURA_OK ||
	    (err = sq_col_text(st, 2, u->login_index,
	    sizeof(u->login_index))) != KURA_OK ||
	    (err = sq_col_text(st, 3, u->email_index,
	    sizeof(u->email_index))) != KURA_OK ||
	    (err = sq_col_blob(st, 4, &u->login_id)) != KURA_OK ||
	    (err = sq_col_blob(st, 5, &u->email)) != KURA_OK ||
	    (err = sq_col_blob(st, 6, &u->display_name)) != KURA_OK ||
	    (err = sq_col_strdup(st, 7, &u->password_hash)) != KURA_OK ||
	    (err = sq_col_text(st, 8, u->status, sizeof(u->status))) != KURA_OK ||
	    (err = sq_col_strdup(st, 9, &u->roles)) != KURA_OK ||
	    (err = sq_col_u32(st, 10, &u->must_change_password)) != KURA_OK ||
	    (err = sq_col_u32(st, 13, &u->failed_logins)) != KURA_OK ||
	    (err = sq_col_u32(st, 17, &u->mfa_enabled)) != KURA_OK ||
	    (err = sq_col_blob(st, 18, &u->totp_secret)) != KURA_OK ||
	    (err = sq_col_blob(st, 19, &u->totp_pending)) != KURA_OK ||
	    (err = sq_col_opt_text(st, 21, u->invite_hash,
	    sizeof(u->invite_hash))) != KURA_OK)
		return err;
	if (u->roles == NULL)
		return KURA_EIO;
	u->created_us = sqlite3_column_int64(st, 11);
	u->updated_us = sqlite3_column_int64(st, 12);
	u->locked_until_us = sqlite3_column_int64(st, 14);
	u->last_login_us = sqlite3_column_int64(st, 15);
	u->password_changed_us = sqlite3_column_int64(st, 16);
	u->totp_last_step = sqlite3_column_int64(st, 20);
	u->invite_expires_us = sqlite3_column_int64(st, 22);
	return KURA_OK;
}

static void
sq_session_clear(void *item)
{
	(void)item;
}

static kura_err
sq_session_row(sqlite3_stmt *st, void *item)
{
	struct store_session *ses = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, ses->id, sizeof(ses->id))) != KURA_OK ||
	    (err = sq_col_text(st, 1, ses->tenant_id,
	    sizeof(ses->tenant_id))) != KURA_OK ||
	    (err = sq_col_text(st, 2, ses->user_id,
	    sizeof(ses->user_id))) != KURA_OK ||
	    (err = sq_col_text(st, 3, ses->token_hash,
	    sizeof(ses->token_hash))) != KURA_OK ||
	    (err = sq_col_text(st, 4, ses->csrf_hash,
	    sizeof(ses->csrf_hash))) != KURA_OK ||
	    (err = sq_col_text(st, 5, ses->kind, sizeof(ses->kind))) != KURA_OK ||
	    (err = sq_col_text(st, 6, ses->client_ip,
	    sizeof(ses->client_ip))) != KURA_OK)
		return err;
	ses->created_us = sqlite3_column_int64(st, 7);
	ses->last_seen_us = sqlite3_column_int64(st, 8);
	ses->expires_us = sqlite3_column_int64(st, 9);
	return KURA_OK;
}

static void
sq_role_clear(void *item)
{
	store_role_clear(item);
}

static kura_err
sq_role_row(sqlite3_stmt *st, void *item)
{
	struct store_role *r = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, r->id, sizeof(r->id))) != KURA_OK ||
	    (err = sq_col_text(st, 1, r->tenant_id,
	    sizeof(r->tenant_id))) != KURA_OK ||
	    (err = sq_col_text(st, 2, r->name_index,
	    sizeof(r->name_index))) != KURA_OK ||
	    (err = sq_col_blob(st, 3, &r->name)) != KURA_OK ||
	    (err = sq_col_blob(st, 4, &r->labels)) != KURA_OK ||
	    (err = sq_col_strdup(st, 5, &r->permissions)) != KURA_OK)
		return err;
	if (r->permissions == NULL)
		return KURA_EIO;
	r->created_us = sqlite3_column_int64(st, 6);
	r->updated_us = sqlite3_column_int64(st, 7);
	return KURA_OK;
}

static void
sq_token_clear(void *item)
{
	store_token_clear(item);
}

static kura_err
sq_token_row(sqlite3_stmt *st, void *item)
{
	struct store_token *t = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, t->id, sizeof(t->id))) != KURA_OK ||
	    (err = sq_col_text(st, 1, t->tenant_id,
	    sizeof(t->tenant_id))) != KURA_OK ||
	    (err = sq_col_text(st, 2, t->user_id,
	    sizeof(t->user_id))) != KURA_OK ||
	    (err = sq_col_text(st, 3, t->token_hash,
	    sizeof(t->token_hash))) != KURA_OK ||
	    (err = sq_col_blob(st, 4, &t->name)) != KURA_OK ||
	    (err = sq_col_blob(st, 5, &t->labels)) != KURA_OK ||
	    (err = sq_col_strdup(st, 6, &t->permissions)) != KURA_OK)
		return err;
	if (t->permissions == NULL)
		return KURA_EIO;
	t->expires_us = sqlite3_column_int64(st, 7);
	t->last_used_us = sqlite3_column_int64(st, 8);
	t->created_us = sqlite3_column_int64(st, 9);
	return KURA_OK;
}

/*
 * Step a bound statement expected to return at most one row and read it
 * into a new item of the given size.  KURA_ENOENT if there is no row.
 * The statement is reset either way.
 */
static kura_err
sq_one(sqlite3_stmt *st, size_t size, sq_row_fn rd, sq_clear_fn clr,
    void **ret_item)
{
	void *item = NULL;
	kura_err err;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = KURA_ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = sq_err(rc);
		goto out;
	}
	if ((item = kura_calloc(1, size)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	if ((err = rd(st, item)) != KURA_OK)
		goto out;
	*ret_item = item;
	item = NULL;
out:
	if (item != NULL) {
		clr(item);
		free(item);
	}
	sq_done(st);
	return err;
}

/*
 * Step a bound statement and collect every row into a malloc'd array
 * (never NULL on success, even when empty).  At most STORE_LIST_MAX rows,
 * else KURA_ETOOBIG.  The statement is reset either way.
 */
static kura_err
sq_list(sqlite3_stmt *st, size_t size, sq_row_fn rd, sq_clear_fn clr,
    void **ret_list, size_t *ret_n)
{
	unsigned char *list = NULL, *p;
	size_t n = 0, cap = 0, ncap, i;
	kura_err err;
	int rc;

	if ((list = kura_calloc(1, size)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	cap = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == STORE_LIST_MAX) {
			err = KURA_ETOOBIG;
			goto out;
		}
		if (n == cap) {
			ncap = cap * 2 > STORE_LIST_MAX ? STORE_LIST_MAX :
			    cap * 2;
			p = kura_reallocarray(list, ncap, size);
			if (p == NULL) {
				err = KURA_ENOMEM;
				goto out;
			}
			list = p;
			cap = ncap;
		}
		memset(list + n * size, 0, size);
		n++;
		if ((err = rd(st, list + (n - 1) * size)) != KURA_OK)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		err = sq_err(rc);
		goto out;
	}
	*ret_list = list;
	*ret_n = n;
	list = NULL;
	err = KURA_OK;
out:
	if (list != NULL) {
		for (i = 0; i < n; i++)
			clr(list + i * size);
		free(list);
	}
	sq_done(st);
	return err;
}

/* ---- lifecycle ---- */

/*
 * Create the database file with mode 0600 before SQLite sees it (SQLite
 * then gives -wal and -shm the same mode).  An existing file must be a
 * regular file, not a symlink, with no group or other permissions:
 * KURA_EPERM otherwise.
 */
static kura_err
sq_init(const char *path)
{
	struct stat sb;
	int fd;

	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return KURA_EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0) {
		/* umask may have removed bits we need; set exactly 0600 */
		if (fchmod(fd, 0600) == -1) {
			close(fd);
			return KURA_EIO;
		}
		if (close(fd) == -1)
			return KURA_EIO;
		return KURA_OK;
	}
	if (errno != EEXIST)
		return errno == EACCES ? KURA_EPERM :
		    errno == ENOENT ? KURA_ENOENT : KURA_EIO;
	if (lstat(path, &sb) == -1)
		return KURA_EIO;
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0)
		return KURA_EPERM;
	return KURA_OK;
}

static void
sq_conn_close(void *be)
{
	struct sq_conn *c = be;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SQ_STMT_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* Set a connection's pragmas and check that each one took effect. */
static kura_err
sq_configure(sqlite3 *db)
{
	static const struct {
		const char *set;
		const char *get;
		sqlite3_int64 want;
	} pragmas[] = {
		{ "PRAGMA synchronous = FULL", "PRAGMA synchronous", 2 },
		{ "PRAGMA foreign_keys = ON", "PRAGMA foreign_keys", 1 },
		{ "PRAGMA temp_store = MEMORY", "PRAGMA temp_store", 2 },
		{ "PRAGMA secure_delete = ON", "PRAGMA secure_delete", 1 },
		{ "PRAGMA trusted_schema = OFF", "PRAGMA trusted_schema", 0 },
		{ "PRAGMA cell_size_check = ON", "PRAGMA cell_size_check", 1 },
		/* a log that grew large (a burst, a long reader) is cut back
		 * to this when it starts again (decisions #59) */
		{ "PRAGMA journal_size_limit = 67108864",
		    "PRAGMA journal_size_limit", 67108864 },
	};
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	sqlite3_int64 v = 0;
	kura_err err;
	size_t i;
	int rc;

	if (sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    (int *)NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0,
	    (int *)NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0,
	    (int *)NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
	    (int *)NULL) != SQLITE_OK) {
		err = KURA_EIO;
		goto out;
	}

	/* journal_mode answers with the mode in force, which is not WAL
	 * if the file system cannot do it */
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		err = KURA_EIO;
		goto out;
	}

	for (i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		rc = sqlite3_exec(db, pragmas[i].set, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
			goto out;
		}
		if ((err = sq_int_query(db, pragmas[i].get, &v)) != KURA_OK)
			goto out;
		if (v != pragmas[i].want) {
			err = KURA_EIO;
			goto out;
		}
	}
	err = KURA_OK;
out:
	sqlite3_finalize(st);
	return err;
}

/* Open and configure one connection to the database file at path. */
static kura_err
sq_conn_open(const char *path, void **ret_be)
{
	struct sq_conn *c;
	kura_err err;
	int rc;

	if ((c = kura_calloc(1, sizeof(*c))) == NULL)
		return KURA_ENOMEM;
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
	    SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		err = c->db == NULL ? KURA_ENOMEM :
		    (rc & 0xff) == SQLITE_CANTOPEN ? KURA_EPERM :
		    sq_err(rc);
		goto out;
	}
	if ((err = sq_configure(c->db)) != KURA_OK)
		goto out;
	*ret_be = c;
	c = NULL;
out:
	sq_conn_close(c);
	return err;
}

static kura_err
sq_user_version(struct sq_conn *c, int *ret_v)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 v = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_USER_VERSION, &st)) != KURA_OK)
		return err;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
		goto out;
	}
	v = sqlite3_column_int64(st, 0);
	if (v < 0 || v > INT_MAX) {
		err = KURA_EIO;
		goto out;
	}
	*ret_v = (int)v;
out:
	sq_done(st);
	return err;
}

static kura_err
sq_schema_version(void *be, int *ret_version)
{
	return sq_user_version(be, ret_version);
}

static kura_err
sq_simple(struct sq_conn *c, enum sq_stmt id)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	err = sq_step_done(st);
	sq_done(st);
	return err;
}

static kura_err
sq_begin(void *be)
{
	return sq_simple(be, SQ_BEGIN);
}

/* Run one of the synchronous pragmas (never inside a transaction:
 * SQLite refuses to change the safety level there). */
static kura_err
sq_sync_pragma(struct sq_conn *c, enum sq_stmt id)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt_raw(c, id, &st)) != KURA_OK)
		return err;
	/* a pragma that sets a value returns no row */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	err = rc == SQLITE_DONE ? KURA_OK :
	    sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
	sq_done(st);
	return err;
}

static kura_err
sq_sync_full(struct sq_conn *c)
{
	kura_err err;

	if ((err = sq_sync_pragma(c, SQ_SYNC_FULL)) != KURA_OK)
		return err;
	c->normal = false;
	return KURA_OK;
}

/*
 * BEGIN IMMEDIATE with synchronous=NORMAL for this one transaction: its
 * COMMIT appends to the WAL without an fsync (SQLite still syncs the WAL
 * before and the database after every checkpoint).  The caller must not
 * treat the commit as durable until the WAL has been synced after it
 * (store.c's group barrier).  FULL comes back after COMMIT or ROLLBACK,
 * or at the latest before the next statement outside a transaction.
 */
static kura_err
sq_begin_lazy(void *be)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;

	/* fetched (and FULL restored if needed) before NORMAL is set, so
	 * sq_stmt's check cannot undo it */
	if ((err = sq_stmt(c, SQ_BEGIN, &st)) != KURA_OK)
		return err;
	if ((err = sq_sync_pragma(c, SQ_SYNC_NORMAL)) != KURA_OK)
		return err;
	c->normal = true;
	err = sq_step_done(st);
	sq_done(st);
	if (err != KURA_OK)
		(void)sq_sync_full(c);      /* else sq_stmt retries it */
	return err;
}

static kura_err
sq_commit(void *be)
{
	struct sq_conn *c = be;
	kura_err err;

	err = sq_simple(c, SQ_COMMIT);
	if (c->normal && sqlite3_get_autocommit(c->db))
		(void)sq_sync_full(c);      /* else sq_stmt retries it */
	return err;
}

static int sq_in_tx(void *be);

/* sqlite3_wal_hook: replaces the default hook, which checkpoints in the
 * committing thread once the log holds wal_autocheckpoint pages */
static int
sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq_conn *c = arg;

	(void)db;
	(void)name;
	c->notify(c->notify_arg, frames);
	return SQLITE_OK;
}

static void
sq_wal_notify(void *be, void (*notify)(void *arg, int frames), void *arg)
{
	struct sq_conn *c = be;

	c->notify = notify;
	c->notify_arg = arg;
	(void)sqlite3_wal_hook(c->db, sq_wal_hook, c);
}

/* The busy handler of a RESTART checkpoint: it holds the writers' lock
 * while it waits for readers to leave the log, so it waits briefly (at
 * most 40 x 50 us) and then gives up rather than stall every writer. */
static int
sq_restart_busy(void *arg, int count)
{
	struct timespec ts = { 0, 50 * 1000 };

	(void)arg;
	if (count >= 40)
		return 0;
	(void)nanosleep(&ts, NULL);
	return 1;
}

/*
 * A PASSIVE checkpoint: as much of the log as no reader still needs,
 * without waiting for readers or writers.  SQLITE_BUSY (another
 * checkpoint runs) is not an error: the next one catches up.
 *
 * Under steady load a PASSIVE checkpoint never catches the log up to
 * the moment a writer begins (frames arrive while it copies), so the log
 * would never start again and grow without end (150 MB in 7 s of reads
 * in run 8).  restart: a RESTART checkpoint after it, with the short
 * busy handler above; the normal busy timeout comes back after it.
 */
static kura_err
sq_checkpoint(void *be, bool restart, int *ret_log, int *ret_done)
{
	struct sq_conn *c = be;
	int rc;

	*ret_log = *ret_done = 0;
	rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE,
	    ret_log, ret_done);
	if (rc == SQLITE_OK && restart) {
		(void)sqlite3_busy_handler(c->db, sq_restart_busy, NULL);
		rc = sqlite3_wal_checkpoint_v2(c->db, "main",
		    SQLITE_CHECKPOINT_RESTART, ret_log, ret_done);
		if (sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK)
			return KURA_EIO;
	}
	if (rc == SQLITE_OK || rc == SQLITE_BUSY)
		return KURA_OK;
	return sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
}

/*
 * A read snapshot for several reads (store_read_begin): BEGIN DEFERRED
 * takes the WAL read lock at the first read and keeps it, so the reads
 * that follow share one snapshot, one lock round and one check of the
 * WAL index, instead of one each.
 */
static kura_err
sq_read_begin(void *be)
{
	struct sq_conn *c = be;
	kura_err err;

	if (sq_in_tx(c))
		return KURA_ECONFLICT;
	if ((err = sq_simple(c, SQ_BEGIN_READ)) != KURA_OK)
		return err;
	c->reading = true;
	return KURA_OK;
}

static kura_err
sq_read_end(void *be)
{
	struct sq_conn *c = be;
	kura_err err = KURA_OK;

	if (!c->reading)
		return KURA_ECONFLICT;
	c->reading = false;
	c->relaxed = false;
	if (sq_in_tx(c) && (err = sq_simple(c, SQ_COMMIT)) != KURA_OK &&
	    sq_in_tx(c))
		(void)sq_simple(c, SQ_ROLLBACK);
	return err;
}

static kura_err
sq_read_relax(void *be)
{
	struct sq_conn *c = be;

	if (!c->reading)
		return KURA_ECONFLICT;
	c->relaxed = true;
	return KURA_OK;
}

static kura_err
sq_read_yield(void *be)
{
	struct sq_conn *c = be;

	return c->reading && c->relaxed ? sq_read_end(c) : KURA_OK;
}

static kura_err
sq_rollback(void *be)
{
	struct sq_conn *c = be;
	kura_err err;

	err = sq_simple(c, SQ_ROLLBACK);
	if (c->normal && sqlite3_get_autocommit(c->db))
		(void)sq_sync_full(c);
	return err;
}

static int
sq_in_tx(void *be)
{
	struct sq_conn *c = be;

	return !sqlite3_get_autocommit(c->db);
}

/* ---- schema-edit migrations ---- */

/*
 * Authorizer for the statements of a schema-edit migration: they may read
 * and call functions, and write only the sql column of main's
 * sqlite_schema (SQLite names it sqlite_master internally).  DDL, PRAGMA,
 * ATTACH and writes to any other table are refused at prepare time, so
 * turning DEFENSIVE off for the edit allows nothing beyond the edit.
 */
static int
sq_edit_auth(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	(void)arg;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		if (dbname != NULL && strcmp(dbname, "main") == 0 &&
		    a1 != NULL && strcmp(a1, "sqlite_master") == 0 &&
		    a2 != NULL && strcmp(a2, "sql") == 0)
			return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

/*
 * Run the statements of a schema-edit migration one at a time, each under
 * the rule that makes a silent no-op impossible: a statement that writes
 * must change exactly one row (its WHERE names the text it replaces, so a
 * definition that differs from the expected one changes nothing), and a
 * query is an assertion that must return no row.  KURA_ECONFLICT when a
 * rule is broken (the schema is not what the migration was written for).
 */
static kura_err
sq_edit_run(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *tail = sql;
	sqlite3_int64 before;
	kura_err err = KURA_OK;
	int rc;

	while (*tail != '\0') {
		rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
			goto out;
		}
		if (st == NULL)             /* comments or white space only */
			continue;
		before = sqlite3_total_changes64(db);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			err = KURA_ECONFLICT;
			goto out;
		}
		if (rc != SQLITE_DONE) {
			err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
			goto out;
		}
		if (!sqlite3_stmt_readonly(st) &&
		    sqlite3_total_changes64(db) - before != 1) {
			err = KURA_ECONFLICT;
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
out:
	sqlite3_finalize(st);
	return err;
}

/*
 * Run a schema-edit migration (store_migration.schema_edit): SQL that
 * rewrites definitions in sqlite_schema without changing what any row
 * may hold, by SQLite's procedure for such changes
 * (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
 * Table Schema Changes").  The caller holds the migration's BEGIN
 * IMMEDIATE transaction and rolls it back on any error, which also undoes
 * the cookie bump below and makes this connection re-read the schema.
 *
 * DEFENSIVE (sq_configure) forbids writable_schema and turns PRAGMA
 * schema_version = N into a no-op, so it is off from the start of the
 * edit to the cookie bump; the migration's own statements run under
 * sq_edit_auth and sq_edit_run's rules.  On every path DEFENSIVE comes
 * back on and writable_schema off, and both are read back.  Off is
 * "RESET", which also drops this connection's parsed schema: the cookie
 * here already holds the new value, so nothing else would make it re-read
 * the edited definitions.  The new cookie makes every other connection,
 * in this process or another, re-read the schema before its next
 * statement.  Before the caller commits, the edited schema is parsed with
 * writable_schema off (which, unlike on, refuses a definition that does
 * not parse or names an unknown column) and PRAGMA quick_check runs over
 * every row, evaluating every CHECK constraint again.
 *
 * Errors: KURA_ECONFLICT from sq_edit_run, KURA_EIO when the edited schema
 * does not parse or a row fails quick_check, KURA_EINTERNAL when the
 * flags did not take; else as sq_err.
 */
static kura_err
sq_schema_edit(struct sq_conn *c, const char *sql)
{
	sqlite3 *db = c->db;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 cookie = 0, v = 0;
	const unsigned char *res;
	char bump[64];
	kura_err err;
	int rc, len, on = -1, def = -1;

	if ((err = sq_int_query(db, "PRAGMA schema_version", &cookie)) !=
	    KURA_OK)
		return err;
	if (cookie < 0 || cookie >= INT32_MAX)
		return KURA_EIO;

	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 0,
	    (int *)NULL) != SQLITE_OK) {
		err = KURA_EINTERNAL;
		goto restore;
	}
	rc = sqlite3_exec(db, "PRAGMA writable_schema = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		goto restore;
	}
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, -1,
	    &on) != SQLITE_OK || on != 1) {
		err = KURA_EINTERNAL;
		goto restore;
	}

	if (sqlite3_set_authorizer(db, sq_edit_auth, NULL) != SQLITE_OK) {
		err = KURA_EINTERNAL;
		goto restore;
	}
	err = sq_edit_run(db, sql);
	(void)sqlite3_set_authorizer(db, NULL, NULL);
	if (err != KURA_OK)
		goto restore;

	/* PRAGMA takes no parameters; the value is the cookie just read */
	len = snprintf(bump, sizeof(bump), "PRAGMA schema_version = %lld",
	    (long long)cookie + 1);
	if (len < 0 || (size_t)len >= sizeof(bump)) {
		err = KURA_EINTERNAL;
		goto restore;
	}
	rc = sqlite3_exec(db, bump, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		goto restore;
	}
	if ((err = sq_int_query(db, "PRAGMA schema_version", &v)) != KURA_OK)
		goto restore;
	if (v != cookie + 1)
		err = KURA_EINTERNAL;

restore:
	/* RESET is OFF plus a schema reload; should it fail, OFF alone still
	 * closes the door, and the caller's rollback reloads the schema */
	if (sqlite3_exec(db, "PRAGMA writable_schema = RESET", NULL, NULL,
	    NULL) != SQLITE_OK) {
		(void)sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0,
		    (int *)NULL);
		if (err == KURA_OK)
			err = KURA_EIO;
	}
	(void)sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	on = def = -1;
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, -1,
	    &on) != SQLITE_OK || sqlite3_db_config(db,
	    SQLITE_DBCONFIG_DEFENSIVE, -1, &def) != SQLITE_OK || on != 0 ||
	    def != 1)
		err = KURA_EINTERNAL;
	if (err != KURA_OK)
		return err;

	/* quick_check reads the schema first: a definition that does not
	 * parse fails its prepare with SQLITE_CORRUPT */
	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
		goto out;
	}
	/* one row, "ok"; any other row names a problem */
	res = sqlite3_column_text(st, 0);
	if (res == NULL || strcmp((const char *)res, "ok") != 0 ||
	    sqlite3_step(st) != SQLITE_DONE)
		err = KURA_EIO;
out:
	sqlite3_finalize(st);
	return err;
}

/*
 * Apply migrations m[0..n) newer than PRAGMA user_version, each in its own
 * BEGIN IMMEDIATE transaction together with the user_version bump.  The
 * version is re-read inside the transaction so that two processes
 * migrating at once apply each step once.  A database newer than m[n-1]
 * is refused with KURA_ECONFLICT.  Schema-edit migrations run through
 * sq_schema_edit, the only place DEFENSIVE is ever turned off.
 */
static kura_err
sq_migrate(void *be, const struct store_migration *m, int n)
{
	struct sq_conn *c = be;
	char bump[64];
	int cur = 0, newest, i, rc, len;
	kura_err err;

	newest = n > 0 ? m[n - 1].version : 0;
	for (i = 0; i < n; i++)
		if (m[i].version != i + 1)
			return KURA_EINTERNAL;
	if ((err = sq_user_version(c, &cur)) != KURA_OK)
		return err;
	if (cur > newest)
		return KURA_ECONFLICT;
	for (i = cur; i < n; i++) {
		if ((err = sq_begin(c)) != KURA_OK)
			return err;
		if ((err = sq_user_version(c, &cur)) != KURA_OK)
			goto fail;
		if (cur > newest) {
			err = KURA_ECONFLICT;
			goto fail;
		}
		if (cur >= m[i].version) {
			if ((err = sq_commit(c)) != KURA_OK)
				goto fail;
			continue;
		}
		if (m[i].schema_edit) {
			if ((err = sq_schema_edit(c, m[i].sql)) != KURA_OK)
				goto fail;
		} else {
			rc = sqlite3_exec(c->db, m[i].sql, NULL, NULL, NULL);
			if (rc != SQLITE_OK) {
				err = sq_err(rc) == KURA_OK ? KURA_EIO :
				    sq_err(rc);
				goto fail;
			}
		}
		/* PRAGMA takes no parameters; the value is our own table's
		 * integer, not input */
		len = snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
		    m[i].version);
		if (len < 0 || (size_t)len >= sizeof(bump)) {
			err = KURA_EINTERNAL;
			goto fail;
		}
		rc = sqlite3_exec(c->db, bump, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = sq_err(rc) == KURA_OK ? KURA_EIO : sq_err(rc);
			goto fail;
		}
		if ((err = sq_commit(c)) != KURA_OK)
			goto fail;
	}
	return KURA_OK;
fail:
	if (sq_in_tx(c))
		(void)sq_rollback(c);
	return err;
}

static kura_err
sq_ping(void *be)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_PING, &st)) != KURA_OK)
		return err;
	rc = sqlite3_step(st);
	err = rc == SQLITE_ROW ? KURA_OK :
	    rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
	sq_done(st);
	return err;
}

/*
 * PRAGMA integrity_check and foreign_key_check.  On a failed check,
 * KURA_EIO with *ret_detail naming only counts and table names (never row
 * content or rowids); *ret_detail is NULL when the database is sound.
 */
static kura_err
sq_integrity_check(void *be, char **ret_detail)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	const unsigned char *txt;
	struct kbuf b;
	size_t problems = 0, fk = 0;
	char *detail = NULL;
	kura_err err;
	int rc;

	kbuf_init(&b, SQ_DETAIL_MAX);
	if ((err = sq_stmt(c, SQ_INTEGRITY, &st)) != KURA_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		txt = sqlite3_column_text(st, 0);
		if (txt == NULL || strcmp((const char *)txt, "ok") != 0)
			problems++;
	}
	sq_done(st);
	if (rc != SQLITE_DONE) {
		err = sq_err(rc);
		goto out;
	}
	if (problems > 0)
		(void)kbuf_printf(&b, "integrity_check: %zu problem(s)",
		    problems);

	if ((err = sq_stmt(c, SQ_FK_CHECK, &st)) != KURA_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* columns: table, rowid, parent, fkid; report the schema
		 * names of the first few, never the rowid */
		if (fk++ < 4) {
			const unsigned char *tbl = sqlite3_column_text(st, 0);
			const unsigned char *par = sqlite3_column_text(st, 2);
			(void)kbuf_printf(&b, "%sforeign_key_check: %s -> %s",
			    b.len > 0 ? "; " : "",
			    tbl ? (const char *)tbl : "?",
			    par ? (const char *)par : "?");
		}
	}
	sq_done(st);
	if (rc != SQLITE_DONE) {
		err = sq_err(rc);
		goto out;
	}
	if (fk > 0)
		(void)kbuf_printf(&b, "%sforeign_key_check: %zu row(s)",
		    b.len > 0 ? "; " : "", fk);

	if (problems > 0 || fk > 0) {
		if ((detail = kbuf_steal(&b, NULL)) == NULL) {
			err = KURA_ENOMEM;
			goto out;
		}
		err = KURA_EIO;
	} else
		err = KURA_OK;
	*ret_detail = detail;
out:
	kbuf_free(&b);
	return err;
}

/* ---- tenant registry ---- */

static kura_err
sq_tenant_insert(void *be, const struct store_tenant *t)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TENANT_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, t->id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 2, t->contract_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 3, t->name.data, t->name.len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, t->seats);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 5, t->status);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 6, t->region);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 7, t->timezone);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, t->created_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, t->updated_us);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else
		err = sq_step_done(st);
	sq_done(st);
	return err;
}

static kura_err
sq_tenant_by(struct sq_conn *c, enum sq_stmt id, const char *key,
    struct store_tenant **ret_t)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *item = NULL;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, key)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_tenant), sq_tenant_row,
	    sq_tenant_clear, &item)) != KURA_OK)
		return err;
	*ret_t = item;
	return KURA_OK;
}

static kura_err
sq_tenant_get(void *be, const char *id, struct store_tenant **ret_t)
{
	return sq_tenant_by(be, SQ_TENANT_GET, id, ret_t);
}

static kura_err
sq_tenant_get_by_contract(void *be, const char *contract_id,
    struct store_tenant **ret_t)
{
	return sq_tenant_by(be, SQ_TENANT_GET_BY_CONTRACT, contract_id, ret_t);
}

static kura_err
sq_tenant_list(void *be, struct store_tenant **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *list = NULL;
	size_t n = 0;

	if ((err = sq_stmt(be, SQ_TENANT_LIST, &st)) != KURA_OK)
		return err;
	if ((err = sq_list(st, sizeof(struct store_tenant), sq_tenant_row,
	    sq_tenant_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_tenant_set_status(void *be, const char *id, const char *status,
    int64_t now_us)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_TENANT_SET_STATUS, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 2, status);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, now_us);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else if ((err = sq_step_done(st)) == KURA_OK &&
	    sqlite3_changes(c->db) == 0)
		err = KURA_ENOENT;
	sq_done(st);
	return err;
}

/* ---- tenant keys ---- */

static kura_err
sq_tkey_insert(void *be, const struct store_tenant_key *k)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TKEY_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, k->tenant_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, k->version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, k->kek_version);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 4, k->wrapped.data, k->wrapped.len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, k->created_us);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else
		err = sq_step_done(st);
	sq_done(st);
	return err;
}

static kura_err
sq_tkey_list(void *be, const struct store_tctx *ctx,
    struct store_tenant_key **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *list = NULL;
	size_t n = 0;
	int rc;

	if ((err = sq_stmt(be, SQ_TKEY_LIST, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, ctx->tenant_id)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_tenant_key), sq_tkey_row,
	    sq_tkey_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_tkey_list_all(void *be, struct store_tenant_key **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *list = NULL;
	size_t n = 0;

	if ((err = sq_stmt(be, SQ_TKEY_LIST_ALL, &st)) != KURA_OK)
		return err;
	if ((err = sq_list(st, sizeof(struct store_tenant_key), sq_tkey_row,
	    sq_tkey_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

/* Compare-and-set of a key's wrapping: 0 rows changed is KURA_ECONFLICT. */
static kura_err
sq_tkey_rewrap(void *be, const char *tenant_id, uint32_t version,
    uint32_t old_kek_version, uint32_t new_kek_version, const uint8_t *blob,
    size_t len)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_TKEY_REWRAP, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, tenant_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, old_kek_version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, new_kek_version);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 5, blob, len);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else if ((err = sq_step_done(st)) == KURA_OK &&
	    sqlite3_changes(c->db) == 0)
		err = KURA_ECONFLICT;
	sq_done(st);
	return err;
}

static kura_err
sq_u32_row(sqlite3_stmt *st, void *item)
{
	return sq_col_u32(st, 0, item);
}

static void
sq_u32_clear(void *item)
{
	(void)item;
}

static kura_err
sq_tkey_kek_versions(void *be, uint32_t **ret_versions, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *list = NULL;
	size_t n = 0;

	if ((err = sq_stmt(be, SQ_TKEY_KEK_VERSIONS, &st)) != KURA_OK)
		return err;
	if ((err = sq_list(st, sizeof(uint32_t), sq_u32_row, sq_u32_clear,
	    &list, &n)) != KURA_OK)
		return err;
	*ret_versions = list;
	*ret_n = n;
	return KURA_OK;
}

/* ---- users ---- */

/*
 * Bind the USER_MUT_COLS of u to parameters first.. in that order (the
 * part of a user row that insert and update share).  Empty optional blobs
 * and an empty invite_hash are bound as NULL.
 */
static int
sq_bind_user_mutable(sqlite3_stmt *st, int first, const struct store_user *u)
{
	int rc, i = first;

	rc = sq_bind_text(st, i++, u->email_index);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, i++, u->email.data, u->email.len);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, i++, u->display_name.data,
		    u->display_name.len);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, i++, u->password_hash);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, i++, u->status);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, i++, u->roles != NULL ? u->roles : "");
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->must_change_password);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->updated_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->failed_logins);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->locked_until_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->last_login_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->password_changed_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->mfa_enabled);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_blob(st, i++, &u->totp_secret);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_blob(st, i++, &u->totp_pending);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->totp_last_step);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_text(st, i++, u->invite_hash);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, i++, u->invite_expires_us);
	return rc;
}

/* The row's tenant_id is always bound from ctx (?1), never from u. */
static kura_err
sq_user_insert(void *be, const struct store_tctx *ctx,
    const struct store_user *u)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_USER_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, ctx->tenant_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 2, u->id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 3, u->login_index);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 4, u->login_id.data, u->login_id.len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, u->created_us);
	if (rc == SQLITE_OK)
		rc = sq_bind_user_mutable(st, 6, u);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else
		err = sq_step_done(st);
	sq_done(st);
	return err;
}

static kura_err
sq_user_by(struct sq_conn *c, enum sq_stmt id, const struct store_tctx *ctx,
    const char *key, struct store_user **ret_u)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *item = NULL;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, ctx->tenant_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 2, key);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_user), sq_user_row,
	    sq_user_clear, &item)) != KURA_OK)
		return err;
	*ret_u = item;
	return KURA_OK;
}

static kura_err
sq_user_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_user **ret_u)
{
	return sq_user_by(be, SQ_USER_GET, ctx, id, ret_u);
}

static kura_err
sq_user_get_by_login(void *be, const struct store_tctx *ctx,
    const char *login_index, struct store_user **ret_u)
{
	return sq_user_by(be, SQ_USER_GET_BY_LOGIN, ctx, login_index, ret_u);
}

static kura_err
sq_user_list(void *be, const struct store_tctx *ctx,
    struct store_user **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	void *list = NULL;
	size_t n = 0;
	int rc;

	if ((err = sq_stmt(be, SQ_USER_LIST, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, ctx->tenant_id)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_user), sq_user_row,
	    sq_user_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_user_count_seated(void *be, const struct store_tctx *ctx, uint32_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	uint32_t n = 0;
	int rc;

	if ((err = sq_stmt(be, SQ_USER_COUNT_SEATED, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, ctx->tenant_id)) != SQLITE_OK) {
		err = sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
		goto out;
	}
	if ((err = sq_col_u32(st, 0, &n)) != KURA_OK)
		goto out;
	*ret_n = n;
out:
	sq_done(st);
	return err;
}

/* ---- shared shapes of the statements below ---- */

/* Bind text keys to ?1.. (a NULL key binds SQL NULL). */
static int
sq_bind_keys(sqlite3_stmt *st, const char *k1, const char *k2,
    const char *k3)
{
	int rc;

	rc = sq_bind_text(st, 1, k1);
	if (rc == SQLITE_OK && k2 != NULL)
		rc = sq_bind_text(st, 2, k2);
	if (rc == SQLITE_OK && k3 != NULL)
		rc = sq_bind_text(st, 3, k3);
	return rc;
}

/* One row selected by up to two text keys; KURA_ENOENT if none. */
static kura_err
sq_get_by(struct sq_conn *c, enum sq_stmt id, const char *k1, const char *k2,
    size_t size, sq_row_fn rd, sq_clear_fn clr, void **ret_item)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, k1, k2, NULL)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	return sq_one(st, size, rd, clr, ret_item);
}

/* Every row selected by up to two text keys (see sq_list). */
static kura_err
sq_list_by(struct sq_conn *c, enum sq_stmt id, const char *k1,
    const char *k2, size_t size, sq_row_fn rd, sq_clear_fn clr,
    void **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, k1, k2, NULL)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	return sq_list(st, size, rd, clr, ret_list, ret_n);
}

/*
 * Run a bound write statement and report how many rows it changed
 * directly (cascades not counted).  The statement is reset either way.
 */
static kura_err
sq_write(struct sq_conn *c, sqlite3_stmt *st, int rc, size_t *ret_changes)
{
	kura_err err;
	sqlite3_int64 n;

	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else if ((err = sq_step_done(st)) == KURA_OK) {
		n = sqlite3_changes64(c->db);
		*ret_changes = n > 0 ? (size_t)n : 0;
	}
	sq_done(st);
	return err;
}

/* As sq_write, but no row changed is KURA_ENOENT. */
static kura_err
sq_write_one(struct sq_conn *c, sqlite3_stmt *st, int rc)
{
	size_t n = 0;
	kura_err err;

	if ((err = sq_write(c, st, rc, &n)) != KURA_OK)
		return err;
	return n == 0 ? KURA_ENOENT : KURA_OK;
}

/* A write keyed by up to three text keys; KURA_ENOENT if nothing changed. */
static kura_err
sq_write_keys(struct sq_conn *c, enum sq_stmt id, const char *k1,
    const char *k2, const char *k3)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	return sq_write_one(c, st, sq_bind_keys(st, k1, k2, k3));
}

/* (tenant, id) plus one integer ?3, e.g. a touch; KURA_ENOENT if no row. */
static kura_err
sq_write_keys_i64(struct sq_conn *c, enum sq_stmt id, const char *k1,
    const char *k2, int64_t v)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, k1, k2, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, v);
	return sq_write_one(c, st, rc);
}

/*
 * Atomic groups of statements: the backend's own BEGIN IMMEDIATE when the
 * caller has no transaction open, else a savepoint inside the caller's
 * (so a failure undoes only the group and leaves the caller's work).
 */
static kura_err
sq_group_begin(struct sq_conn *c, int *ret_own)
{
	kura_err err;
	int own;

	own = !sq_in_tx(c);
	if ((err = sq_simple(c, own ? SQ_BEGIN : SQ_SAVEPOINT)) != KURA_OK)
		return err;
	*ret_own = own;
	return KURA_OK;
}

/* Commit the group on err == KURA_OK, else undo it; returns the result. */
static kura_err
sq_group_end(struct sq_conn *c, int own, kura_err err)
{
	if (err == KURA_OK) {
		if ((err = sq_simple(c, own ? SQ_COMMIT : SQ_RELEASE)) ==
		    KURA_OK)
			return KURA_OK;
		/* a failed COMMIT leaves the transaction open */
	}
	if (own) {
		if (sq_in_tx(c))
			(void)sq_simple(c, SQ_ROLLBACK);
	} else if (sq_simple(c, SQ_ROLLBACK_TO) == KURA_OK)
		(void)sq_simple(c, SQ_RELEASE);
	return err;
}

/* KURA_OK if user_id is a user of ctx's tenant, else KURA_ENOENT. */
static kura_err
sq_user_exists(struct sq_conn *c, const struct store_tctx *ctx,
    const char *user_id)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_USER_EXISTS, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, user_id, NULL)) !=
	    SQLITE_OK)
		err = sq_err(rc);
	else {
		rc = sqlite3_step(st);
		err = rc == SQLITE_ROW ? KURA_OK :
		    rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
	}
	sq_done(st);
	return err;
}

/* ---- users: changes ---- */

static kura_err
sq_user_update(void *be, const struct store_tctx *ctx,
    const struct store_user *u)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	/* first without touching the indexes; no row changed means the row
	 * is missing or an indexed value changes: then the full update */
	if ((err = sq_stmt(be, SQ_USER_UPDATE_SAME_INDEXES, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, u->id, NULL);
	if (rc == SQLITE_OK)
		rc = sq_bind_user_mutable(st, 3, u);
	if ((err = sq_write_one(be, st, rc)) != KURA_ENOENT)
		return err;
	if ((err = sq_stmt(be, SQ_USER_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, u->id, NULL);
	if (rc == SQLITE_OK)
		rc = sq_bind_user_mutable(st, 3, u);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_user_delete(void *be, const struct store_tctx *ctx, const char *id)
{
	return sq_write_keys(be, SQ_USER_DELETE, ctx->tenant_id, id, NULL);
}

static kura_err
sq_user_get_by_invite(void *be, const char *invite_hash,
    struct store_user **ret_u)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_USER_GET_BY_INVITE, invite_hash, NULL,
	    sizeof(struct store_user), sq_user_row, sq_user_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_u = item;
	return KURA_OK;
}

/* ---- recovery codes ---- */

/* The statements of store_recovery_replace, inside its group. */
static kura_err
sq_recovery_replace_rows(struct sq_conn *c, const struct store_tctx *ctx,
    const char *user_id, const char (*hashes)[STORE_INDEX_MAX], size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i, changed = 0;
	kura_err err;

	if ((err = sq_user_exists(c, ctx, user_id)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_RECOVERY_DELETE, &st)) != KURA_OK ||
	    (err = sq_write(c, st, sq_bind_keys(st, ctx->tenant_id, user_id,
	    NULL), &changed)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_RECOVERY_INSERT, &st)) != KURA_OK)
		return err;
	for (i = 0; i < n; i++)
		if ((err = sq_write(c, st, sq_bind_keys(st, ctx->tenant_id,
		    user_id, hashes[i]), &changed)) != KURA_OK)
			return err;
	return KURA_OK;
}

static kura_err
sq_recovery_replace(void *be, const struct store_tctx *ctx,
    const char *user_id, const char (*hashes)[STORE_INDEX_MAX], size_t n)
{
	kura_err err;
	int own = 0;

	if ((err = sq_group_begin(be, &own)) != KURA_OK)
		return err;
	err = sq_recovery_replace_rows(be, ctx, user_id, hashes, n);
	return sq_group_end(be, own, err);
}

static kura_err
sq_recovery_use(void *be, const struct store_tctx *ctx, const char *user_id,
    const char *hash, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_RECOVERY_USE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, user_id, hash);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, now_us > 0 ? now_us : 1);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_recovery_count(void *be, const struct store_tctx *ctx, const char *user_id,
    uint32_t *ret_unused)
{
	sqlite3_stmt *st = NULL;
	uint32_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_RECOVERY_COUNT, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, user_id, NULL)) !=
	    SQLITE_OK) {
		err = sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
		goto out;
	}
	if ((err = sq_col_u32(st, 0, &n)) != KURA_OK)
		goto out;
	*ret_unused = n;
out:
	sq_done(st);
	return err;
}

static kura_err
sq_recovery_delete(void *be, const struct store_tctx *ctx,
    const char *user_id)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;

	if ((err = sq_user_exists(be, ctx, user_id)) != KURA_OK)
		return err;
	if ((err = sq_stmt(be, SQ_RECOVERY_DELETE, &st)) != KURA_OK)
		return err;
	return sq_write(be, st, sq_bind_keys(st, ctx->tenant_id, user_id,
	    NULL), &changed);
}

/* ---- sessions ---- */

/* Tenant bound from ctx; the (tenant_id, user_id) foreign key refuses a
 * user of another tenant (KURA_ENOENT). */
static kura_err
sq_session_insert(void *be, const struct store_tctx *ctx,
    const struct store_session *ses)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SESSION_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, ses->id, ses->user_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 4, ses->token_hash);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 5, ses->csrf_hash);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 6, ses->kind);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 7, ses->client_ip);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, ses->created_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, ses->last_seen_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, ses->expires_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_session_get_by_token(void *be, const char *token_hash,
    struct store_session **ret_ses)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_SESSION_GET_BY_TOKEN, token_hash, NULL,
	    sizeof(struct store_session), sq_session_row, sq_session_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_ses = item;
	return KURA_OK;
}

static kura_err
sq_session_touch(void *be, const struct store_tctx *ctx, const char *id,
    int64_t last_seen_us)
{
	return sq_write_keys_i64(be, SQ_SESSION_TOUCH, ctx->tenant_id, id,
	    last_seen_us);
}

static kura_err
sq_session_promote(void *be, const struct store_tctx *ctx, const char *id,
    const char *new_token_hash, const char *new_csrf_hash, int64_t expires_us)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SESSION_PROMOTE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, id, new_token_hash);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 4, new_csrf_hash);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, expires_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_session_delete(void *be, const struct store_tctx *ctx, const char *user_id,
    const char *id)
{
	return sq_write_keys(be, SQ_SESSION_DELETE, ctx->tenant_id, user_id,
	    id);
}

static kura_err
sq_session_delete_user(void *be, const struct store_tctx *ctx,
    const char *user_id, const char *except_id, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SESSION_DELETE_USER, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, user_id, NULL);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 3, except_id);
	return sq_write(be, st, rc, ret_n);
}

static kura_err
sq_session_list_user(void *be, const struct store_tctx *ctx,
    const char *user_id, struct store_session **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, SQ_SESSION_LIST_USER, ctx->tenant_id,
	    user_id, sizeof(struct store_session), sq_session_row,
	    sq_session_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_session_purge(void *be, int64_t now_us, int64_t idle_before_us,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SESSION_PURGE, &st)) != KURA_OK)
		return err;
	rc = sqlite3_bind_int64(st, 1, now_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, idle_before_us);
	return sq_write(be, st, rc, ret_n);
}

/* ---- custom roles ---- */

static kura_err
sq_role_insert(void *be, const struct store_tctx *ctx,
    const struct store_role *r)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_ROLE_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, r->id, r->name_index);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 4, r->name.data, r->name.len);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_blob(st, 5, &r->labels);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 6,
		    r->permissions != NULL ? r->permissions : "");
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, r->created_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, r->updated_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_role_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_role **ret_r)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_ROLE_GET, ctx->tenant_id, id,
	    sizeof(struct store_role), sq_role_row, sq_role_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_r = item;
	return KURA_OK;
}

static kura_err
sq_role_list(void *be, const struct store_tctx *ctx,
    struct store_role **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, SQ_ROLE_LIST, ctx->tenant_id, NULL,
	    sizeof(struct store_role), sq_role_row, sq_role_clear, &list,
	    &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_role_update(void *be, const struct store_tctx *ctx,
    const struct store_role *r)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_ROLE_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, r->id, r->name_index);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 4, r->name.data, r->name.len);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_blob(st, 5, &r->labels);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 6,
		    r->permissions != NULL ? r->permissions : "");
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, r->updated_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_role_delete(void *be, const struct store_tctx *ctx, const char *id)
{
	return sq_write_keys(be, SQ_ROLE_DELETE, ctx->tenant_id, id, NULL);
}

/* ---- API tokens ---- */

/* Tenant bound from ctx; the (tenant_id, user_id) foreign key refuses a
 * user of another tenant (KURA_ENOENT). */
static kura_err
sq_token_insert(void *be, const struct store_tctx *ctx,
    const struct store_token *t)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TOKEN_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, t->id, t->user_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 4, t->token_hash);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 5, t->name.data, t->name.len);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_blob(st, 6, &t->labels);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 7,
		    t->permissions != NULL ? t->permissions : "");
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, t->expires_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 9, t->last_used_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 10, t->created_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_token_by(struct sq_conn *c, enum sq_stmt id, const char *k1,
    const char *k2, struct store_token **ret_t)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(c, id, k1, k2, sizeof(struct store_token),
	    sq_token_row, sq_token_clear, &item)) != KURA_OK)
		return err;
	*ret_t = item;
	return KURA_OK;
}

static kura_err
sq_token_get_by_hash(void *be, const char *token_hash,
    struct store_token **ret_t)
{
	return sq_token_by(be, SQ_TOKEN_GET_BY_HASH, token_hash, NULL, ret_t);
}

static kura_err
sq_token_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_token **ret_t)
{
	return sq_token_by(be, SQ_TOKEN_GET, ctx->tenant_id, id, ret_t);
}

static kura_err
sq_token_list(void *be, const struct store_tctx *ctx, const char *user_id,
    struct store_token **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, user_id != NULL ? SQ_TOKEN_LIST_USER :
	    SQ_TOKEN_LIST, ctx->tenant_id, user_id,
	    sizeof(struct store_token), sq_token_row, sq_token_clear, &list,
	    &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_token_touch(void *be, const struct store_tctx *ctx, const char *id,
    int64_t last_used_us)
{
	return sq_write_keys_i64(be, SQ_TOKEN_TOUCH, ctx->tenant_id, id,
	    last_used_us);
}

static kura_err
sq_token_delete(void *be, const struct store_tctx *ctx, const char *id)
{
	return sq_write_keys(be, SQ_TOKEN_DELETE, ctx->tenant_id, id, NULL);
}

/* ---- tenant settings ---- */

static kura_err
sq_settings_get(void *be, const struct store_tctx *ctx, const char *kind,
    struct store_blob *ret_doc)
{
	struct store_blob doc = { NULL, 0 };
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SETTINGS_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, kind, NULL)) !=
	    SQLITE_OK) {
		err = sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
		goto out;
	}
	if ((err = sq_col_blob(st, 0, &doc)) != KURA_OK)
		goto out;
	if (doc.len == 0) {
		/* NOT NULL and never written empty: not our row */
		err = KURA_EIO;
		goto out;
	}
	*ret_doc = doc;
	doc.data = NULL;
out:
	free(doc.data);
	sq_done(st);
	return err;
}

static kura_err
sq_settings_put(void *be, const struct store_tctx *ctx, const char *kind,
    const uint8_t *doc, size_t len, int64_t updated_us)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_SETTINGS_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, kind, NULL);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 3, doc, len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, updated_us);
	return sq_write(be, st, rc, &changed);
}

/* ---- audit ---- */

static void
sq_audit_clear(void *item)
{
	struct store_audit *r = item;
	free(r->detail);
	r->detail = NULL;
}

static kura_err
sq_audit_row(sqlite3_stmt *st, void *item)
{
	struct store_audit *r = item;
	kura_err err;

	r->seq = sqlite3_column_int64(st, 0);
	if ((err = sq_col_text(st, 1, r->id, sizeof(r->id))) ||
	    (err = sq_col_opt_text(st, 2, r->tenant_id, sizeof(r->tenant_id))))
		return err;
	r->tenant_seq = sqlite3_column_int64(st, 3);
	r->time_us = sqlite3_column_int64(st, 4);
	if ((err = sq_col_text(st, 5, r->actor_type, sizeof(r->actor_type))) ||
	    (err = sq_col_text(st, 6, r->actor_id, sizeof(r->actor_id))) ||
	    (err = sq_col_text(st, 7, r->source_ip, sizeof(r->source_ip))) ||
	    (err = sq_col_text(st, 8, r->request_id, sizeof(r->request_id))) ||
	    (err = sq_col_text(st, 9, r->action, sizeof(r->action))) ||
	    (err = sq_col_text(st, 10, r->resource_type, sizeof(r->resource_type))) ||
	    (err = sq_col_text(st, 11, r->resource_id, sizeof(r->resource_id))) ||
	    (err = sq_col_text(st, 12, r->outcome, sizeof(r->outcome))))
		return err;
	r->status = sqlite3_column_int64(st, 13);
	if ((err = sq_col_strdup(st, 14, &r->detail)) ||
	    (err = sq_col_text(st, 15, r->prev_tenant_hash, sizeof(r->prev_tenant_hash))) ||
	    (err = sq_col_text(st, 16, r->prev_hash, sizeof(r->prev_hash))) ||
	    (err = sq_col_text(st, 17, r->hash, sizeof(r->hash))))
		return err;
	return KURA_OK;
}

static kura_err
sq_mark_row(sqlite3_stmt *st, void *item)
{
	struct store_audit_mark *m = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, m->kind, sizeof(m->kind))) ||
	    (err = sq_col_text(st, 1, m->scope, sizeof(m->scope))))
		return err;
	m->seq = sqlite3_column_int64(st, 2);
	if ((err = sq_col_text(st, 3, m->hash, sizeof(m->hash))))
		return err;
	m->time_us = sqlite3_column_int64(st, 4);
	if ((err = sq_col_text(st, 5, m->key_id, sizeof(m->key_id))) ||
	    (err = sq_col_text(st, 6, m->signature, sizeof(m->signature))))
		return err;
	return KURA_OK;
}

static void
sq_nothing_clear(void *item)
{
	(void)item;
}

static kura_err
sq_audit_head(void *be, const char *tenant_id, int64_t *ret_seq, char *ret_hash)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc = SQLITE_OK;

	if ((err = sq_stmt(be, tenant_id ? SQ_AUDIT_HEAD_TENANT : SQ_AUDIT_HEAD,
	    &st)) != KURA_OK)
		return err;
	if (tenant_id != NULL)
		rc = sq_bind_text(st, 1, tenant_id);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_seq = sqlite3_column_int64(st, 0);
		err = sq_col_text(st, 1, ret_hash, STORE_INDEX_MAX);
	} else {
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
	}
	sq_done(st);
	return err;
}

static kura_err
sq_audit_insert(void *be, const struct store_audit *r)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_INSERT, &st)) != KURA_OK)
		return err;
	rc = sqlite3_bind_int64(st, 1, r->seq);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 2, r->id);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 3, r->tenant_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, r->tenant_seq);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, r->time_us);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 6, r->actor_type);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 7, r->actor_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 8, r->source_ip);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 9, r->request_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 10, r->action);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 11, r->resource_type);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 12, r->resource_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 13, r->outcome);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 14, r->status);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 15, r->detail);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 16, r->prev_tenant_hash);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 17, r->prev_hash);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 18, r->hash);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_audit_scan(void *be, const char *tenant_id, int64_t after, store_audit_cb cb,
    void *arg)
{
	struct store_audit row;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, tenant_id ? SQ_AUDIT_SCAN_TENANT : SQ_AUDIT_SCAN,
	    &st)) != KURA_OK)
		return err;
	if (tenant_id != NULL) {
		rc = sq_bind_text(st, 1, tenant_id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 2, after);
	} else {
		rc = sqlite3_bind_int64(st, 1, after);
	}
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	err = KURA_OK;
	while (err == KURA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		err = sq_audit_row(st, &row);
		if (err == KURA_OK)
			err = cb(arg, &row);
		sq_audit_clear(&row);
	}
	if (err == KURA_OK && rc != SQLITE_DONE)
		err = sq_err(rc);
	sq_done(st);
	return err;
}

static kura_err
sq_audit_query(void *be, const struct store_tctx *ctx,
    const struct store_audit_filter *f, struct store_audit **ret_list,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_QUERY, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, ctx->tenant_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, f->from_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, f->to_us);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, f->actor_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, f->action);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 6, f->resource_type);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 7, f->resource_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 8, f->outcome);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 9, f->source_ip);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, f->before_tenant_seq);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 11, (sqlite3_int64)f->limit);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_audit), sq_audit_row,
	    sq_audit_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_audit_tenant_heads(void *be, int64_t max_seq, struct store_audit_mark **ret_list,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	struct store_audit_mark *list = NULL, *p;
	size_t n = 0, cap = 0;
	kura_err err = KURA_OK;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_TENANT_HEADS, &st)) != KURA_OK)
		return err;
	rc = sqlite3_bind_int64(st, 1, max_seq);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > STORE_LIST_MAX || (p = kura_reallocarray(list, cap,
			    sizeof(*list))) == NULL) {
				err = cap > STORE_LIST_MAX ? KURA_ETOOBIG : KURA_ENOMEM;
				break;
			}
			list = p;
		}
		memset(&list[n], 0, sizeof(list[n]));
		if ((err = sq_col_text(st, 0, list[n].scope, sizeof(list[n].scope))) ||
		    (err = sq_col_text(st, 2, list[n].hash, sizeof(list[n].hash))))
			break;
		list[n].seq = sqlite3_column_int64(st, 1);
		list[n].time_us = sqlite3_column_int64(st, 3);
		n++;
		rc = SQLITE_OK;
	}
	if (err == KURA_OK && rc != SQLITE_DONE && rc != SQLITE_OK)
		err = sq_err(rc);
	sq_done(st);
	if (err) {
		free(list);
		return err;
	}
	if (list == NULL && (list = kura_calloc(1, sizeof(*list))) == NULL)
		return KURA_ENOMEM;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_audit_get(void *be, int64_t seq, struct store_audit *ret_row)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sqlite3_bind_int64(st, 1, seq)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	err = sq_one(st, sizeof(struct store_audit), sq_audit_row, sq_audit_clear,
	    &item);
	if (err)
		return err;
	*ret_row = *(struct store_audit *)item;
	free(item);
	return KURA_OK;
}

static kura_err
sq_audit_mark_put(void *be, const struct store_audit_mark *m)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_MARK_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, m->kind);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 2, m->scope);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, m->seq);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, m->hash);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, m->time_us);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 6, m->key_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 7, m->signature);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_audit_marks(void *be, const char *kind, const char *scope,
    struct store_audit_mark **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, scope ? SQ_AUDIT_MARKS_SCOPE : SQ_AUDIT_MARKS,
	    kind, scope, sizeof(struct store_audit_mark), sq_mark_row,
	    sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_audit_last_mark(void *be, const char *kind, const char *scope,
    struct store_audit_mark *ret_mark)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_LAST_MARK, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, kind, scope, NULL)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	err = sq_one(st, sizeof(struct store_audit_mark), sq_mark_row,
	    sq_nothing_clear, &item);
	if (err)
		return err;
	*ret_mark = *(struct store_audit_mark *)item;
	free(item);
	return KURA_OK;
}

static kura_err
sq_audit_prefix_end(void *be, int64_t before_us, int64_t *ret_seq)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_PREFIX_END, &st)) != KURA_OK)
		return err;
	rc = sqlite3_bind_int64(st, 1, before_us);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_seq = sqlite3_column_int64(st, 0);
		err = KURA_OK;
	} else {
		err = sq_err(rc);
	}
	sq_done(st);
	return err;
}

/* The guard row lets the no-delete trigger pass for this transaction. */
static kura_err
sq_audit_delete_prefix(void *be, int64_t max_seq, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0, n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_AUDIT_GUARD_ON, &st)) != KURA_OK ||
	    (err = sq_write(be, st, SQLITE_OK, &changed)) != KURA_OK)
		return err;
	if ((err = sq_stmt(be, SQ_AUDIT_DELETE_PREFIX, &st)) == KURA_OK) {
		rc = sqlite3_bind_int64(st, 1, max_seq);
		err = sq_write(be, st, rc, &n);
	}
	if ((err == KURA_OK || err) && sq_stmt(be, SQ_AUDIT_GUARD_OFF, &st) == KURA_OK) {
		kura_err e2 = sq_write(be, st, SQLITE_OK, &changed);
		if (err == KURA_OK)
			err = e2;
	}
	if (err == KURA_OK)
		*ret_n = n;
	return err;
}

/* ---- alerts (0004) ---- */

static kura_err
sq_alert_row(sqlite3_stmt *st, void *item)
{
	struct store_alert *a = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, a->id, sizeof(a->id))) ||
	    (err = sq_col_opt_text(st, 1, a->tenant_id, sizeof(a->tenant_id))) ||
	    (err = sq_col_text(st, 2, a->rule, sizeof(a->rule))) ||
	    (err = sq_col_text(st, 3, a->severity, sizeof(a->severity))) ||
	    (err = sq_col_text(st, 4, a->summary, sizeof(a->summary))) ||
	    (err = sq_col_opt_text(st, 6, a->event_id, sizeof(a->event_id))) ||
	    (err = sq_col_opt_text(st, 7, a->actor_id, sizeof(a->actor_id))) ||
	    (err = sq_col_opt_text(st, 8, a->source_ip, sizeof(a->source_ip))) ||
	    (err = sq_col_opt_text(st, 11, a->acked_by, sizeof(a->acked_by))))
		return err;
	a->event_seq = sqlite3_column_int64(st, 5);
	a->created_us = sqlite3_column_int64(st, 9);
	a->acked_us = sqlite3_column_int64(st, 10);
	return KURA_OK;
}

static kura_err
sq_outbox_row(sqlite3_stmt *st, void *item)
{
	struct store_outbox *o = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, o->id, sizeof(o->id))) ||
	    (err = sq_col_opt_text(st, 1, o->tenant_id, sizeof(o->tenant_id))) ||
	    (err = sq_col_text(st, 2, o->channel, sizeof(o->channel))) ||
	    (err = sq_col_text(st, 3, o->alert_id, sizeof(o->alert_id))) ||
	    (err = sq_col_text(st, 4, o->payload, sizeof(o->payload))) ||
	    (err = sq_col_u32(st, 6, &o->attempts)))
		return err;
	o->created_us = sqlite3_column_int64(st, 5);
	o->next_attempt_us = sqlite3_column_int64(st, 7);
	o->delivered_us = sqlite3_column_int64(st, 8);
	return KURA_OK;
}

static kura_err
sq_outbox_insert(struct sq_conn *c, const struct store_outbox *o)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_OUTBOX_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, o->id);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 2, o->tenant_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 3, o->channel);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, o->alert_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, o->payload);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 6, o->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, o->attempts);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, o->next_attempt_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, o->delivered_us);
	return sq_write(c, st, rc, &changed);
}

/* The alert and its outbox rows in one group: all or nothing.  The
 * unique (rule, event, tenant) index makes a repeat KURA_EEXIST. */
static kura_err
sq_alert_insert(void *be, const struct store_alert *a,
    const struct store_outbox *o, size_t n_o)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	size_t changed = 0, i;
	kura_err err;
	int own = 0, rc;

	if ((err = sq_group_begin(c, &own)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_ALERT_INSERT, &st)) != KURA_OK)
		goto out;
	rc = sq_bind_text(st, 1, a->id);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 2, a->tenant_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 3, a->rule);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, a->severity);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, a->summary);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 6, a->event_seq);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 7, a->event_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 8, a->actor_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 9, a->source_ip);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, a->created_us);
	if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
		goto out;
	for (i = 0; i < n_o && err == KURA_OK; i++)
		err = sq_outbox_insert(c, &o[i]);
out:
	return sq_group_end(c, own, err);
}

static kura_err
sq_alert_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_alert *ret_a)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_ALERT_GET, ctx->tenant_id, id,
	    sizeof(struct store_alert), sq_alert_row, sq_nothing_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_a = *(struct store_alert *)item;
	free(item);
	return KURA_OK;
}

/* ctx NULL: the operator listing, filtered by f->tenant_id. */
static kura_err
sq_alert_list(void *be, const struct store_tctx *ctx,
    const struct store_alert_filter *f, struct store_alert **ret_list,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, ctx != NULL ? SQ_ALERT_LIST : SQ_ALERT_LIST_ALL,
	    &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, ctx != NULL ? ctx->tenant_id : f->tenant_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, f->acked);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 3, f->rule);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, f->after_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5,
	    (sqlite3_int64)f->limit);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_alert), sq_alert_row,
	    sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

/* Acknowledge once: a row not changed is either not the tenant's
 * (KURA_ENOENT) or acknowledged already (KURA_ECONFLICT). */
static kura_err
sq_alert_ack(void *be, const struct store_tctx *ctx, const char *id,
    const char *acked_by, int64_t acked_us)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_ALERT_ACK, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, id, NULL);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, acked_us);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, acked_by);
	if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
		return err;
	if (changed > 0)
		return KURA_OK;
	if ((err = sq_stmt(c, SQ_ALERT_EXISTS, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, id, NULL)) != SQLITE_OK)
		err = sq_err(rc);
	else {
		rc = sqlite3_step(st);
		err = rc == SQLITE_ROW ? KURA_ECONFLICT :
		    rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
	}
	sq_done(st);
	return err;
}

static kura_err
sq_outbox_pending(void *be, const char *channel, int64_t now_us, size_t limit,
    struct store_outbox **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_OUTBOX_PENDING, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, channel);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, now_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_outbox), sq_outbox_row,
	    sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_outbox_attempt(void *be, const char *id, int64_t delivered_us,
    int64_t next_attempt_us)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_OUTBOX_ATTEMPT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, delivered_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, next_attempt_us);
	return sq_write_one(be, st, rc);
}

/* Insert-if-absent and count in one group, so two sign-ins at once
 * cannot both see a "first" network. */
static kura_err
sq_network_seen(void *be, const struct store_tctx *ctx, const char *user_id,
    const char *network, int64_t seen_us, enum store_net_seen *ret_seen)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	sqlite3_int64 count = 0;
	kura_err err;
	int own = 0, rc;

	if ((err = sq_group_begin(c, &own)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_NETWORK_INSERT, &st)) != KURA_OK)
		goto out;
	rc = sq_bind_keys(st, ctx->tenant_id, user_id, network);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, seen_us);
	if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
		goto out;
	if (changed == 0) {
		*ret_seen = STORE_NET_KNOWN;
		goto out;
	}
	if ((err = sq_stmt(c, SQ_NETWORK_COUNT, &st)) != KURA_OK)
		goto out;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, user_id, NULL)) !=
	    SQLITE_OK)
		err = sq_err(rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	else
		err = rc == SQLITE_DONE ? KURA_EIO : sq_err(rc);
	sq_done(st);
	if (err == KURA_OK)
		*ret_seen = count <= 1 ? STORE_NET_FIRST : STORE_NET_NEW;
out:
	return sq_group_end(c, own, err);
}

static kura_err
sq_alert_operator_events(void *be, int64_t after, int64_t upto, size_t limit,
    struct store_audit **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_ALERT_OPERATOR_EVENTS, &st)) != KURA_OK)
		return err;
	rc = sqlite3_bind_int64(st, 1, after);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, upto);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_audit), sq_audit_row,
	    sq_audit_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_alert_cursor_get(void *be, const char *name, int64_t *ret_seq)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_ALERT_CURSOR_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, name)) != SQLITE_OK)
		err = sq_err(rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*ret_seq = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*ret_seq = 0;
	else
		err = sq_err(rc);
	sq_done(st);
	return err;
}

static kura_err
sq_alert_cursor_put(void *be, const char *name, int64_t seq)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_ALERT_CURSOR_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, seq);
	return sq_write(be, st, rc, &changed);
}

/* ---- health (0005) ---- */

static kura_err
sq_health_put(void *be, const struct store_health *h)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_HEALTH_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, h->component);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 2, h->status);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 3, h->detail);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, h->checked_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_health_row(sqlite3_stmt *st, void *item)
{
	struct store_health *h = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, h->component, sizeof(h->component))) ||
	    (err = sq_col_text(st, 1, h->status, sizeof(h->status))) ||
	    (err = sq_col_text(st, 2, h->detail, sizeof(h->detail))))
		return err;
	h->checked_us = sqlite3_column_int64(st, 3);
	return KURA_OK;
}

static kura_err
sq_health_latest(void *be, struct store_health **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_stmt(be, SQ_HEALTH_LATEST, &st)) != KURA_OK ||
	    (err = sq_list(st, sizeof(struct store_health), sq_health_row,
	    sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_health_prune(void *be, int64_t before_us, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(be, SQ_HEALTH_PRUNE, &st)) != KURA_OK)
		return err;
	return sq_write(be, st, sqlite3_bind_int64(st, 1, before_us), ret_n);
}

static kura_err
sq_health_probe_put(void *be, const char *value, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_HEALTH_PROBE_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, value);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, now_us);
	if ((err = sq_write(be, st, rc, &changed)) != KURA_OK)
		return err;
	return changed == 1 ? KURA_OK : KURA_EIO;
}

static kura_err
sq_health_probe_get(void *be, char *ret_value)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_HEALTH_PROBE_GET, &st)) != KURA_OK)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = sq_col_text(st, 0, ret_value, STORE_HEALTH_PROBE_MAX);
	else
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
	sq_done(st);
	return err;
}

/* ---- workspace (0006) ---- */

/* A NOT NULL integer column holding a size or byte count (>= 0). */
static kura_err
sq_col_u64(sqlite3_stmt *st, int col, uint64_t *ret_v)
{
	sqlite3_int64 v;

	v = sqlite3_column_int64(st, col);
	if (v < 0)
		return KURA_EIO;
	*ret_v = (uint64_t)v;
	return KURA_OK;
}

/* A uint64_t the caller checked to fit (store.c size_ok). */
static int
sq_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sqlite3_bind_int64(st, i,
	    v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

/* One id (a char[STORE_ID_MAX] item) from column 0. */
static kura_err
sq_id_row(sqlite3_stmt *st, void *item)
{
	return sq_col_text(st, 0, item, STORE_ID_MAX);
}

/* Every id a statement returns; see sq_list (non-NULL when empty). */
static kura_err
sq_id_list(sqlite3_stmt *st, char (**ret_ids)[STORE_ID_MAX], size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list(st, STORE_ID_MAX, sq_id_row, sq_nothing_clear,
	    &list, &n)) != KURA_OK)
		return err;
	*ret_ids = list;
	*ret_n = n;
	return KURA_OK;
}

/* KURA_OK if statement id (bound to the keys) returns a row, else
 * KURA_ENOENT. */
static kura_err
sq_exists(struct sq_conn *c, enum sq_stmt id, const char *k1, const char *k2)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, k1, k2, NULL)) != SQLITE_OK)
		err = sq_err(rc);
	else {
		rc = sqlite3_step(st);
		err = rc == SQLITE_ROW ? KURA_OK :
		    rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
	}
	sq_done(st);
	return err;
}

/*
 * The delete calls that hand back blob ids: in one group, collect the ids
 * statement sel returns, then run statement del (both bound to the same
 * keys); KURA_ENOENT if del removes no row.  *ret_blobs is malloc'd and
 * set only on success.
 */
static kura_err
sq_delete_blobs(struct sq_conn *c, enum sq_stmt sel, enum sq_stmt del,
    const char *k1, const char *k2, const char *k3,
    char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n)
{
	char (*list)[STORE_ID_MAX] = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	kura_err err;
	int own = 0, rc;

	if ((err = sq_group_begin(c, &own)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, sel, &st)) != KURA_OK)
		goto out;
	if ((rc = sq_bind_keys(st, k1, k2, k3)) != SQLITE_OK) {
		sq_done(st);
		err = sq_err(rc);
		goto out;
	}
	if ((err = sq_id_list(st, &list, &n)) != KURA_OK)
		goto out;
	err = sq_write_keys(c, del, k1, k2, k3);
out:
	if ((err = sq_group_end(c, own, err)) != KURA_OK) {
		free(list);
		return err;
	}
	*ret_blobs = list;
	*ret_n = n;
	return KURA_OK;
}

/* projects */

static void
sq_project_clear(void *item)
{
	store_project_clear(item);
}

static kura_err
sq_project_row(sqlite3_stmt *st, void *item)
{
	struct store_project *p = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, p->id, sizeof(p->id))) ||
	    (err = sq_col_text(st, 1, p->tenant_id, sizeof(p->tenant_id))) ||
	    (err = sq_col_text(st, 2, p->name_index, sizeof(p->name_index))) ||
	    (err = sq_col_blob(st, 3, &p->name)) ||
	    (err = sq_col_blob(st, 4, &p->description)) ||
	    (err = sq_col_blob(st, 5, &p->labels)) ||
	    (err = sq_col_opt_text(st, 6, p->created_by,
	    sizeof(p->created_by))))
		return err;
	p->created_us = sqlite3_column_int64(st, 7);
	p->updated_us = sqlite3_column_int64(st, 8);
	return KURA_OK;
}

/* Tenant bound from ctx (?1), never from p. */
static kura_err
sq_project_insert(void *be, const struct store_tctx *ctx,
    const struct store_project *p)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_PROJECT_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, p->id, p->name_index);
	if (rc == SQLITE_OK) rc = sq_bind_blob(st, 4, p->name.data, p->name.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 5, &p->description);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 6, &p->labels);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 7, p->created_by);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, p->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, p->updated_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_project_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_project **ret_p)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_PROJECT_GET, ctx->tenant_id, id,
	    sizeof(struct store_project), sq_project_row, sq_project_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_p = item;
	return KURA_OK;
}

static kura_err
sq_project_list(void *be, const struct store_tctx *ctx, const char *member_id,
    struct store_project **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, member_id != NULL ? SQ_PROJECT_LIST_MEMBER :
	    SQ_PROJECT_LIST, ctx->tenant_id, member_id,
	    sizeof(struct store_project), sq_project_row, sq_project_clear,
	    &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_project_update(void *be, const struct store_tctx *ctx,
    const struct store_project *p)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_PROJECT_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, p->id, p->name_index);
	if (rc == SQLITE_OK) rc = sq_bind_blob(st, 4, p->name.data, p->name.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 5, &p->description);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 6, &p->labels);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, p->updated_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_project_delete(void *be, const struct store_tctx *ctx, const char *id,
    char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n)
{
	return sq_delete_blobs(be, SQ_PROJECT_BLOBS, SQ_PROJECT_DELETE,
	    ctx->tenant_id, id, NULL, ret_blobs, ret_n);
}

/* members */

static kura_err
sq_member_row(sqlite3_stmt *st, void *item)
{
	struct store_member *m = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, m->project_id, sizeof(m->project_id))) ||
	    (err = sq_col_text(st, 1, m->user_id, sizeof(m->user_id))) ||
	    (err = sq_col_text(st, 2, m->role, sizeof(m->role))))
		return err;
	m->added_us = sqlite3_column_int64(st, 3);
	return KURA_OK;
}

/* The (tenant, project) and (tenant, user) keys refuse a project or user
 * of another tenant (KURA_ENOENT). */
static kura_err
sq_member_put(void *be, const struct store_tctx *ctx,
    const struct store_member *m)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_MEMBER_PUT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, m->project_id, m->user_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, m->role);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, m->added_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_member_get(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *user_id, struct store_member *ret_m)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_MEMBER_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, project_id, user_id)) !=
	    SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_member), sq_member_row,
	    sq_nothing_clear, &item)) != KURA_OK)
		return err;
	*ret_m = *(struct store_member *)item;
	free(item);
	return KURA_OK;
}

static kura_err
sq_member_list(void *be, const struct store_tctx *ctx, const char *project_id,
    struct store_member **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, SQ_MEMBER_LIST, ctx->tenant_id, project_id,
	    sizeof(struct store_member), sq_member_row, sq_nothing_clear,
	    &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_member_delete(void *be, const struct store_tctx *ctx,
    const char *project_id, const char *user_id)
{
	return sq_write_keys(be, SQ_MEMBER_DELETE, ctx->tenant_id, project_id,
	    user_id);
}

/* directories */

static void
sq_dir_clear(void *item)
{
	store_dir_clear(item);
}

static kura_err
sq_dir_row(sqlite3_stmt *st, void *item)
{
	struct store_dir *d = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, d->id, sizeof(d->id))) ||
	    (err = sq_col_text(st, 1, d->tenant_id, sizeof(d->tenant_id))) ||
	    (err = sq_col_text(st, 2, d->project_id, sizeof(d->project_id))) ||
	    (err = sq_col_opt_text(st, 3, d->parent_id,
	    sizeof(d->parent_id))) ||
	    (err = sq_col_text(st, 4, d->name_index, sizeof(d->name_index))) ||
	    (err = sq_col_blob(st, 5, &d->name)) ||
	    (err = sq_col_blob(st, 6, &d->labels)))
		return err;
	d->created_us = sqlite3_column_int64(st, 7);
	d->updated_us = sqlite3_column_int64(st, 8);
	return KURA_OK;
}

/* The entry_names trigger makes a taken sibling name KURA_EEXIST; the
 * (tenant, project[, parent]) keys make a foreign parent KURA_ENOENT. */
static kura_err
sq_dir_insert(void *be, const struct store_tctx *ctx,
    const struct store_dir *d)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_DIR_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, d->project_id, d->id);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 4, d->parent_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, d->name_index);
	if (rc == SQLITE_OK) rc = sq_bind_blob(st, 6, d->name.data, d->name.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 7, &d->labels);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, d->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, d->updated_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_dir_get(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *id, struct store_dir **ret_d)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_DIR_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, project_id, id)) !=
	    SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_dir), sq_dir_row,
	    sq_dir_clear, &item)) != KURA_OK)
		return err;
	*ret_d = item;
	return KURA_OK;
}

/* parent_id NULL: every directory of the project; "" the root's. */
static kura_err
sq_dir_list(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *parent_id, struct store_dir **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, parent_id != NULL ? SQ_DIR_LIST :
	    SQ_DIR_LIST_ALL, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, project_id, NULL);
	if (rc == SQLITE_OK && parent_id != NULL)
		rc = sq_bind_opt_text(st, 3, parent_id);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_dir), sq_dir_row,
	    sq_dir_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

/* KURA_ECONFLICT if directory id is parent_id or one of its ancestors. */
static kura_err
sq_dir_cycle(struct sq_conn *c, const struct store_tctx *ctx,
    const char *project_id, const char *parent_id, const char *id)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_DIR_CYCLE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, project_id, parent_id);
	if (rc == SQLITE_OK)
		rc = sq_bind_text(st, 4, id);
	if (rc != SQLITE_OK)
		err = sq_err(rc);
	else {
		rc = sqlite3_step(st);
		err = rc == SQLITE_ROW ? KURA_ECONFLICT :
		    rc == SQLITE_DONE ? KURA_OK : sq_err(rc);
	}
	sq_done(st);
	return err;
}

/* The ancestry check and the UPDATE in one group, so no concurrent move
 * can slip in between and close a cycle. */
static kura_err
sq_dir_update(void *be, const struct store_tctx *ctx,
    const struct store_dir *d)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int own = 0, rc;

	if ((err = sq_group_begin(c, &own)) != KURA_OK)
		return err;
	if (d->parent_id[0] != '\0' && (err = sq_dir_cycle(c, ctx,
	    d->project_id, d->parent_id, d->id)) != KURA_OK)
		goto out;
	if ((err = sq_stmt(c, SQ_DIR_UPDATE, &st)) != KURA_OK)
		goto out;
	rc = sq_bind_keys(st, ctx->tenant_id, d->project_id, d->id);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 4, d->parent_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, d->name_index);
	if (rc == SQLITE_OK) rc = sq_bind_blob(st, 6, d->name.data, d->name.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 7, &d->labels);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, d->updated_us);
	err = sq_write_one(c, st, rc);
out:
	return sq_group_end(c, own, err);
}

static kura_err
sq_dir_children(void *be, const struct store_tctx *ctx,
    const char *project_id, const char *id, uint64_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_DIR_CHILDREN, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, project_id, id)) !=
	    SQLITE_OK) {
		err = sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
		goto out;
	}
	if ((err = sq_col_u64(st, 0, &n)) != KURA_OK)
		goto out;
	*ret_n = n;
out:
	sq_done(st);
	return err;
}

static kura_err
sq_dir_delete_tree(void *be, const struct store_tctx *ctx,
    const char *project_id, const char *id, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n)
{
	return sq_delete_blobs(be, SQ_DIR_TREE_BLOBS, SQ_DIR_DELETE_TREE,
	    ctx->tenant_id, project_id, id, ret_blobs, ret_n);
}

/* files */

static void
sq_file_clear(void *item)
{
	store_file_clear(item);
}

static kura_err
sq_file_row(sqlite3_stmt *st, void *item)
{
	struct store_file *f = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, f->id, sizeof(f->id))) ||
	    (err = sq_col_text(st, 1, f->tenant_id, sizeof(f->tenant_id))) ||
	    (err = sq_col_text(st, 2, f->project_id, sizeof(f->project_id))) ||
	    (err = sq_col_opt_text(st, 3, f->directory_id,
	    sizeof(f->directory_id))) ||
	    (err = sq_col_text(st, 4, f->name_index, sizeof(f->name_index))) ||
	    (err = sq_col_blob(st, 5, &f->name)) ||
	    (err = sq_col_blob(st, 6, &f->labels)) ||
	    (err = sq_col_text(st, 7, f->kind, sizeof(f->kind))) ||
	    (err = sq_col_u32(st, 8, &f->current_version)) ||
	    (err = sq_col_opt_text(st, 9, f->created_by,
	    sizeof(f->created_by))))
		return err;
	f->created_us = sqlite3_column_int64(st, 10);
	f->updated_us = sqlite3_column_int64(st, 11);
	return KURA_OK;
}

/* Bind the columns from ?4 on that insert and update share. */
static int
sq_bind_file_mutable(sqlite3_stmt *st, const struct store_file *f)
{
	int rc;

	rc = sq_bind_opt_text(st, 4, f->directory_id);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 5, f->name_index);
	if (rc == SQLITE_OK) rc = sq_bind_blob(st, 6, f->name.data, f->name.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 7, &f->labels);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 8, f->kind);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, f->current_version);
	return rc;
}

/* As sq_dir_insert. */
static kura_err
sq_file_insert(void *be, const struct store_tctx *ctx,
    const struct store_file *f)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_FILE_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, f->project_id, f->id);
	if (rc == SQLITE_OK) rc = sq_bind_file_mutable(st, f);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 10, f->created_by);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 11, f->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 12, f->updated_us);
	return sq_write(be, st, rc, &changed);
}

/* One file by (tenant, project, ?3[, name_index ?4]): ?3 is the id, or
 * the directory ("" the root, bound as NULL) when name_index is given. */
static kura_err
sq_file_by(struct sq_conn *c, enum sq_stmt id, const struct store_tctx *ctx,
    const char *project_id, const char *k3, const char *name_index,
    struct store_file **ret_f)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, id, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, project_id, NULL);
	if (rc == SQLITE_OK)
		rc = sq_bind_opt_text(st, 3, k3);
	if (rc == SQLITE_OK && name_index != NULL)
		rc = sq_bind_text(st, 4, name_index);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_file), sq_file_row,
	    sq_file_clear, &item)) != KURA_OK)
		return err;
	*ret_f = item;
	return KURA_OK;
}

static kura_err
sq_file_get(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *id, struct store_file **ret_f)
{
	return sq_file_by(be, SQ_FILE_GET, ctx, project_id, id, NULL, ret_f);
}

static kura_err
sq_file_get_by_name(void *be, const struct store_tctx *ctx,
    const char *project_id, const char *directory_id, const char *name_index,
    struct store_file **ret_f)
{
	return sq_file_by(be, SQ_FILE_GET_BY_NAME, ctx, project_id,
	    directory_id, name_index, ret_f);
}

/* directory_id NULL: every file of the project; "" the root's. */
static kura_err
sq_file_list(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *directory_id, struct store_file **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, directory_id != NULL ? SQ_FILE_LIST :
	    SQ_FILE_LIST_ALL, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, project_id, NULL);
	if (rc == SQLITE_OK && directory_id != NULL)
		rc = sq_bind_opt_text(st, 3, directory_id);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_file), sq_file_row,
	    sq_file_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_file_update(void *be, const struct store_tctx *ctx,
    const struct store_file *f)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_FILE_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, f->project_id, f->id);
	if (rc == SQLITE_OK) rc = sq_bind_file_mutable(st, f);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, f->updated_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_file_delete(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *id, char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n)
{
	return sq_delete_blobs(be, SQ_FILE_BLOBS, SQ_FILE_DELETE,
	    ctx->tenant_id, project_id, id, ret_blobs, ret_n);
}

/* file versions */

static void
sq_version_clear(void *item)
{
	store_version_clear(item);
}

static kura_err
sq_version_row(sqlite3_stmt *st, void *item)
{
	struct store_file_version *v = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, v->file_id, sizeof(v->file_id))) ||
	    (err = sq_col_u32(st, 1, &v->version)) ||
	    (err = sq_col_text(st, 2, v->blob_id, sizeof(v->blob_id))) ||
	    (err = sq_col_u64(st, 3, &v->size)) ||
	    (err = sq_col_blob(st, 4, &v->sha256)) ||
	    (err = sq_col_blob(st, 5, &v->content_type)) ||
	    (err = sq_col_opt_text(st, 6, v->uploaded_by,
	    sizeof(v->uploaded_by))))
		return err;
	v->created_us = sqlite3_column_int64(st, 7);
	return KURA_OK;
}

/* The (tenant, file) key refuses a file of another tenant (KURA_ENOENT). */
static kura_err
sq_version_insert(void *be, const struct store_tctx *ctx,
    const struct store_file_version *v)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_VERSION_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, v->file_id, NULL);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, v->version);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, v->blob_id);
	if (rc == SQLITE_OK) rc = sq_bind_u64(st, 5, v->size);
	if (rc == SQLITE_OK)
		rc = sq_bind_blob(st, 6, v->sha256.data, v->sha256.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 7, &v->content_type);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 8, v->uploaded_by);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, v->created_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_version_get(void *be, const struct store_tctx *ctx, const char *file_id,
    uint32_t version, struct store_file_version *ret_v)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_VERSION_GET, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, file_id, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, version);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_file_version),
	    sq_version_row, sq_version_clear, &item)) != KURA_OK)
		return err;
	*ret_v = *(struct store_file_version *)item;
	free(item);
	return KURA_OK;
}

static kura_err
sq_version_list(void *be, const struct store_tctx *ctx, const char *file_id,
    struct store_file_version **ret_list, size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if ((err = sq_list_by(be, SQ_VERSION_LIST, ctx->tenant_id, file_id,
	    sizeof(struct store_file_version), sq_version_row,
	    sq_version_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

/* A version about to be pruned. */
struct sq_old_version {
	char blob_id[STORE_ID_MAX];
	uint64_t size;
};

static kura_err
sq_old_version_row(sqlite3_stmt *st, void *item)
{
	struct sq_old_version *o = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, o->blob_id, sizeof(o->blob_id))) ||
	    (err = sq_col_u64(st, 1, &o->size)))
		return err;
	return KURA_OK;
}

/* The statements of store_version_prune, inside its group. */
static kura_err
sq_version_prune_rows(struct sq_conn *c, const struct store_tctx *ctx,
    const char *file_id, uint32_t keep, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n, uint64_t *ret_bytes)
{
	struct sq_old_version *old = NULL;
	char (*blobs)[STORE_ID_MAX] = NULL;
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	uint64_t bytes = 0;
	size_t n = 0, i, changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_exists(c, SQ_FILE_EXISTS, ctx->tenant_id, file_id)) !=
	    KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_VERSION_OLD, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, file_id, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, keep);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct sq_old_version),
	    sq_old_version_row, sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	old = list;
	if ((blobs = kura_calloc(n > 0 ? n : 1, STORE_ID_MAX)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		memcpy(blobs[i], old[i].blob_id, STORE_ID_MAX);
		bytes += old[i].size;
	}
	if ((err = sq_stmt(c, SQ_VERSION_PRUNE, &st)) != KURA_OK)
		goto out;
	rc = sq_bind_keys(st, ctx->tenant_id, file_id, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, keep);
	if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
		goto out;
	if (changed != n) {
		err = KURA_EINTERNAL;
		goto out;
	}
	*ret_blobs = blobs;
	*ret_n = n;
	*ret_bytes = bytes;
	blobs = NULL;
out:
	free(blobs);
	free(old);
	return err;
}

static kura_err
sq_version_prune(void *be, const struct store_tctx *ctx, const char *file_id,
    uint32_t keep, char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n,
    uint64_t *ret_bytes)
{
	char (*blobs)[STORE_ID_MAX] = NULL;
	uint64_t bytes = 0;
	size_t n = 0;
	kura_err err;
	int own = 0;

	if ((err = sq_group_begin(be, &own)) != KURA_OK)
		return err;
	err = sq_version_prune_rows(be, ctx, file_id, keep, &blobs, &n, &bytes);
	if ((err = sq_group_end(be, own, err)) != KURA_OK) {
		free(blobs);
		return err;
	}
	*ret_blobs = blobs;
	*ret_n = n;
	*ret_bytes = bytes;
	return KURA_OK;
}

/* tasks */

static void
sq_task_clear(void *item)
{
	store_task_clear(item);
}

static kura_err
sq_task_row(sqlite3_stmt *st, void *item)
{
	struct store_task *t = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, t->id, sizeof(t->id))) ||
	    (err = sq_col_text(st, 1, t->tenant_id, sizeof(t->tenant_id))) ||
	    (err = sq_col_text(st, 2, t->project_id, sizeof(t->project_id))) ||
	    (err = sq_col_blob(st, 3, &t->title)) ||
	    (err = sq_col_blob(st, 4, &t->description)) ||
	    (err = sq_col_blob(st, 5, &t->labels)) ||
	    (err = sq_col_text(st, 6, t->status, sizeof(t->status))) ||
	    (err = sq_col_opt_text(st, 7, t->assignee_id,
	    sizeof(t->assignee_id))) ||
	    (err = sq_col_opt_text(st, 9, t->created_by,
	    sizeof(t->created_by))))
		return err;
	t->due_us = sqlite3_column_int64(st, 8);
	t->created_us = sqlite3_column_int64(st, 10);
	t->updated_us = sqlite3_column_int64(st, 11);
	return KURA_OK;
}

/* Bind the columns from ?4 to ?9 that insert and update share. */
static int
sq_bind_task_mutable(sqlite3_stmt *st, const struct store_task *t)
{
	int rc;

	rc = sq_bind_blob(st, 4, t->title.data, t->title.len);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 5, &t->description);
	if (rc == SQLITE_OK) rc = sq_bind_opt_blob(st, 6, &t->labels);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 7, t->status);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 8, t->assignee_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, t->due_us);
	return rc;
}

/* The (tenant, project) and (tenant, assignee) keys refuse rows of
 * another tenant (KURA_ENOENT). */
static kura_err
sq_task_insert(void *be, const struct store_tctx *ctx,
    const struct store_task *t)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TASK_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, t->project_id, t->id);
	if (rc == SQLITE_OK) rc = sq_bind_task_mutable(st, t);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 10, t->created_by);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 11, t->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 12, t->updated_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_task_get(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *id, struct store_task **ret_t)
{
	sqlite3_stmt *st = NULL;
	void *item = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TASK_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, project_id, id)) !=
	    SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_one(st, sizeof(struct store_task), sq_task_row,
	    sq_task_clear, &item)) != KURA_OK)
		return err;
	*ret_t = item;
	return KURA_OK;
}

static kura_err
sq_task_list(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *status, const char *assignee_id, struct store_task **ret_list,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *list = NULL;
	size_t n = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TASK_LIST, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, project_id, NULL);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 3, status);
	if (rc == SQLITE_OK) rc = sq_bind_text(st, 4, assignee_id);
	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_task), sq_task_row,
	    sq_task_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_task_update(void *be, const struct store_tctx *ctx,
    const struct store_task *t)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_TASK_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, t->project_id, t->id);
	if (rc == SQLITE_OK) rc = sq_bind_task_mutable(st, t);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 10, t->updated_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_task_delete(void *be, const struct store_tctx *ctx, const char *project_id,
    const char *id)
{
	return sq_write_keys(be, SQ_TASK_DELETE, ctx->tenant_id, project_id,
	    id);
}

/* No task row in ctx's tenant inserts nothing: KURA_ENOENT. */
static kura_err
sq_task_link(void *be, const struct store_tctx *ctx, const char *task_id,
    const char *file_id)
{
	return sq_write_keys(be, SQ_TASK_LINK, ctx->tenant_id, task_id,
	    file_id);
}

static kura_err
sq_task_unlink(void *be, const struct store_tctx *ctx, const char *task_id,
    const char *file_id)
{
	return sq_write_keys(be, SQ_TASK_UNLINK, ctx->tenant_id, task_id,
	    file_id);
}

static kura_err
sq_task_files(void *be, const struct store_tctx *ctx, const char *task_id,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n)
{
	struct sq_conn *c = be;
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_exists(c, SQ_TASK_EXISTS, ctx->tenant_id, task_id)) !=
	    KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_TASK_FILES, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, task_id, NULL)) !=
	    SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	return sq_id_list(st, ret_ids, ret_n);
}

/* labels */

/* The statements of store_labels_set, inside its group. */
static kura_err
sq_labels_set_rows(struct sq_conn *c, const struct store_tctx *ctx,
    const char *resource_type, const char *resource_id,
    const char (*indexes)[STORE_INDEX_MAX], size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i, changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_LABELS_CLEAR, &st)) != KURA_OK ||
	    (err = sq_write(c, st, sq_bind_keys(st, ctx->tenant_id,
	    resource_type, resource_id), &changed)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_LABELS_ADD, &st)) != KURA_OK)
		return err;
	for (i = 0; i < n; i++) {
		rc = sq_bind_keys(st, ctx->tenant_id, resource_type,
		    resource_id);
		if (rc == SQLITE_OK)
			rc = sq_bind_text(st, 4, indexes[i]);
		if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
			return err;
	}
	return KURA_OK;
}

static kura_err
sq_labels_set(void *be, const struct store_tctx *ctx,
    const char *resource_type, const char *resource_id,
    const char (*indexes)[STORE_INDEX_MAX], size_t n)
{
	kura_err err;
	int own = 0;

	if ((err = sq_group_begin(be, &own)) != KURA_OK)
		return err;
	err = sq_labels_set_rows(be, ctx, resource_type, resource_id, indexes,
	    n);
	return sq_group_end(be, own, err);
}

static kura_err
sq_labels_find(void *be, const struct store_tctx *ctx,
    const char *resource_type, const char *label_index,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_LABELS_FIND, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_keys(st, ctx->tenant_id, resource_type,
	    label_index)) != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	return sq_id_list(st, ret_ids, ret_n);
}

/* usage and quotas */

/* Fills bytes and files; the quota fields only when a quota row exists
 * (store.c put the defaults there). */
static kura_err
sq_usage_get(void *be, const struct store_tctx *ctx, struct store_usage *ret_u)
{
	sqlite3_stmt *st = NULL;
	struct store_usage u = *ret_u;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_USAGE_GET, &st)) != KURA_OK)
		return err;
	if ((rc = sq_bind_text(st, 1, ctx->tenant_id)) != SQLITE_OK) {
		err = sq_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? KURA_ENOENT : sq_err(rc);
		goto out;
	}
	u.bytes = u.files = 0;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    ((err = sq_col_u64(st, 0, &u.bytes)) ||
	    (err = sq_col_u64(st, 1, &u.files))))
		goto out;
	if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    ((err = sq_col_u64(st, 2, &u.max_bytes)) ||
	    (err = sq_col_u64(st, 3, &u.max_files))))
		goto out;
	*ret_u = u;
out:
	sq_done(st);
	return err;
}

/* The statements of store_usage_add, inside its group. */
static kura_err
sq_usage_add_rows(struct sq_conn *c, const struct store_tctx *ctx,
    int64_t delta_bytes, int64_t delta_files, int64_t max_bytes,
    int64_t max_files)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(c, SQ_USAGE_ENSURE, &st)) != KURA_OK ||
	    (err = sq_write(c, st, sq_bind_text(st, 1, ctx->tenant_id),
	    &changed)) != KURA_OK)
		return err;
	if ((err = sq_stmt(c, SQ_USAGE_ADD, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, ctx->tenant_id);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, delta_bytes);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, delta_files);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, max_bytes);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 5, max_files);
	if ((err = sq_write(c, st, rc, &changed)) != KURA_OK)
		return err;
	return changed == 0 ? KURA_ETOOBIG : KURA_OK;
}

static kura_err
sq_usage_add(void *be, const struct store_tctx *ctx, int64_t delta_bytes,
    int64_t delta_files, int64_t max_bytes, int64_t max_files)
{
	kura_err err;
	int own = 0;

	if ((err = sq_group_begin(be, &own)) != KURA_OK)
		return err;
	err = sq_usage_add_rows(be, ctx, delta_bytes, delta_files, max_bytes,
	    max_files);
	return sq_group_end(be, own, err);
}

static kura_err
sq_quota_set(void *be, const char *tenant_id, uint64_t max_bytes,
    uint64_t max_files, int64_t now_us)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_QUOTA_SET, &st)) != KURA_OK)
		return err;
	rc = sq_bind_text(st, 1, tenant_id);
	if (rc == SQLITE_OK) rc = sq_bind_u64(st, 2, max_bytes);
	if (rc == SQLITE_OK) rc = sq_bind_u64(st, 3, max_files);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, now_us);
	return sq_write(be, st, rc, &changed);
}

/* exports */

static kura_err
sq_export_row(sqlite3_stmt *st, void *item)
{
	struct store_export *e = item;
	kura_err err;

	if ((err = sq_col_text(st, 0, e->id, sizeof(e->id))) ||
	    (err = sq_col_text(st, 1, e->tenant_id, sizeof(e->tenant_id))) ||
	    (err = sq_col_text(st, 2, e->status, sizeof(e->status))) ||
	    (err = sq_col_opt_text(st, 3, e->blob_id, sizeof(e->blob_id))) ||
	    (err = sq_col_u64(st, 4, &e->size)) ||
	    (err = sq_col_opt_text(st, 5, e->requested_by,
	    sizeof(e->requested_by))))
		return err;
	e->created_us = sqlite3_column_int64(st, 6);
	e->ready_us = sqlite3_column_int64(st, 7);
	e->expires_us = sqlite3_column_int64(st, 8);
	return KURA_OK;
}

static kura_err
sq_export_insert(void *be, const struct store_tctx *ctx,
    const struct store_export *e)
{
	sqlite3_stmt *st = NULL;
	size_t changed = 0;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_EXPORT_INSERT, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, e->id, e->status);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 4, e->blob_id);
	if (rc == SQLITE_OK) rc = sq_bind_u64(st, 5, e->size);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 6, e->requested_by);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, e->created_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 8, e->ready_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, e->expires_us);
	return sq_write(be, st, rc, &changed);
}

static kura_err
sq_export_get(void *be, const struct store_tctx *ctx, const char *id,
    struct store_export *ret_e)
{
	void *item = NULL;
	kura_err err;

	if ((err = sq_get_by(be, SQ_EXPORT_GET, ctx->tenant_id, id,
	    sizeof(struct store_export), sq_export_row, sq_nothing_clear,
	    &item)) != KURA_OK)
		return err;
	*ret_e = *(struct store_export *)item;
	free(item);
	return KURA_OK;
}

/* Exports a bound statement returns (see sq_list). */
static kura_err
sq_export_rows(sqlite3_stmt *st, int rc, struct store_export **ret_list,
    size_t *ret_n)
{
	void *list = NULL;
	size_t n = 0;
	kura_err err;

	if (rc != SQLITE_OK) {
		sq_done(st);
		return sq_err(rc);
	}
	if ((err = sq_list(st, sizeof(struct store_export), sq_export_row,
	    sq_nothing_clear, &list, &n)) != KURA_OK)
		return err;
	*ret_list = list;
	*ret_n = n;
	return KURA_OK;
}

static kura_err
sq_export_list(void *be, const struct store_tctx *ctx,
    struct store_export **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(be, SQ_EXPORT_LIST, &st)) != KURA_OK)
		return err;
	return sq_export_rows(st, sq_bind_text(st, 1, ctx->tenant_id),
	    ret_list, ret_n);
}

static kura_err
sq_export_update(void *be, const struct store_tctx *ctx,
    const struct store_export *e)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_EXPORT_UPDATE, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, ctx->tenant_id, e->id, e->status);
	if (rc == SQLITE_OK) rc = sq_bind_opt_text(st, 4, e->blob_id);
	if (rc == SQLITE_OK) rc = sq_bind_u64(st, 5, e->size);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 6, e->ready_us);
	if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 7, e->expires_us);
	return sq_write_one(be, st, rc);
}

static kura_err
sq_export_queued(void *be, struct store_export **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(be, SQ_EXPORT_QUEUED, &st)) != KURA_OK)
		return err;
	return sq_export_rows(st, SQLITE_OK, ret_list, ret_n);
}

static kura_err
sq_export_expired(void *be, int64_t now_us, struct store_export **ret_list,
    size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	kura_err err;

	if ((err = sq_stmt(be, SQ_EXPORT_EXPIRED, &st)) != KURA_OK)
		return err;
	return sq_export_rows(st, sqlite3_bind_int64(st, 1, now_us), ret_list,
	    ret_n);
}

static kura_err
sq_blob_referenced(void *be, const char *tenant_id, const char *blob_id,
    bool *ret)
{
	sqlite3_stmt *st = NULL;
	kura_err err;
	int rc;

	if ((err = sq_stmt(be, SQ_BLOB_REFERENCED, &st)) != KURA_OK)
		return err;
	rc = sq_bind_keys(st, tenant_id, blob_id, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int(st, 0) != 0;
		err = KURA_OK;
	} else {
		err = sq_err(rc);
	}
	sq_done(st);
	return err;
}

/* ---- group durability: fsync of the WAL ---- */

struct sq_wal_sync {
	char *path;                 /* "<db>-wal" */
	int fd;                     /* -1 until first opened */
};

static kura_err
sq_wal_sync_open(const char *target, void **ret_h)
{
	struct sq_wal_sync *h;
	size_t n = strlen(target);

	if ((h = kura_calloc(1, sizeof(*h))) == NULL)
		return KURA_ENOMEM;
	if ((h->path = kura_mallocarray(n + sizeof("-wal"), 1)) == NULL) {
		free(h);
		return KURA_ENOMEM;
	}
	memcpy(h->path, target, n);
	memcpy(h->path + n, "-wal", sizeof("-wal"));
	h->fd = -1;
	*ret_h = h;
	return KURA_OK;
}

/*
 * fdatasync the WAL: every frame written before the call is on disk
 * afterwards.  The descriptor is kept open for the life of the process
 * so that a write-back error on the file is reported to it (Linux
 * reports such an error to each descriptor open when it happened).
 * SQLite writes the WAL in place and only deletes it when the last
 * connection closes, after a checkpoint that synced the database; serve
 * keeps connections open, but if the name ever points to another file
 * (a new inode) the descriptor is reopened: the old file's commits were
 * all checkpointed and synced into the database before it was removed.
 * A missing WAL is an error (fail closed).
 */
static kura_err
sq_wal_sync(void *hv)
{
	struct sq_wal_sync *h = hv;
	struct stat st_path, st_fd;

	if (stat(h->path, &st_path) == -1)
		return KURA_EIO;
	if (h->fd != -1 && (fstat(h->fd, &st_fd) == -1 ||
	    st_fd.st_ino != st_path.st_ino || st_fd.st_dev != st_path.st_dev)) {
		(void)close(h->fd);
		h->fd = -1;
	}
	if (h->fd == -1) {
		h->fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (h->fd == -1)
			return KURA_EIO;
	}
	while (fdatasync(h->fd) == -1)
		if (errno != EINTR)
			return KURA_EIO;
	return KURA_OK;
}

static void
sq_wal_sync_close(void *hv)
{
	struct sq_wal_sync *h = hv;

	if (h == NULL)
		return;
	if (h->fd != -1)
		(void)close(h->fd);
	free(h->path);
	free(h);
}

struct sqlite3 *
store_sqlite_db(void *be)
{
	struct sq_conn *c = be;

	return c->db;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.init = sq_init,
	.conn_open = sq_conn_open,
	.conn_close = sq_conn_close,
	.migrate = sq_migrate,
	.schema_version = sq_schema_version,
	.ping = sq_ping,
	.integrity_check = sq_integrity_check,
	.begin = sq_begin,
	.begin_lazy = sq_begin_lazy,
	.sync_open = sq_wal_sync_open,
	.sync = sq_wal_sync,
	.sync_close = sq_wal_sync_close,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_tx = sq_in_tx,
	.read_begin = sq_read_begin,
	.read_end = sq_read_end,
	.read_relax = sq_read_relax,
	.read_yield = sq_read_yield,
	.wal_notify = sq_wal_notify,
	.checkpoint = sq_checkpoint,
	.tenant_insert = sq_tenant_insert,
	.tenant_get = sq_tenant_get,
	.tenant_get_by_contract = sq_tenant_get_by_contract,
	.tenant_list = sq_tenant_list,
	.tenant_set_status = sq_tenant_set_status,
	.tkey_insert = sq_tkey_insert,
	.tkey_list = sq_tkey_list,
	.tkey_list_all = sq_tkey_list_all,
	.tkey_rewrap = sq_tkey_rewrap,
	.tkey_kek_versions = sq_tkey_kek_versions,
	.user_insert = sq_user_insert,
	.user_get = sq_user_get,
	.user_get_by_login = sq_user_get_by_login,
	.user_list = sq_user_list,
	.user_count_seated = sq_user_count_seated,
	.user_update = sq_user_update,
	.user_delete = sq_user_delete,
	.user_get_by_invite = sq_user_get_by_invite,
	.recovery_replace = sq_recovery_replace,
	.recovery_use = sq_recovery_use,
	.recovery_count = sq_recovery_count,
	.recovery_delete = sq_recovery_delete,
	.session_insert = sq_session_insert,
	.session_get_by_token = sq_session_get_by_token,
	.session_touch = sq_session_touch,
	.session_promote = sq_session_promote,
	.session_delete = sq_session_delete,
	.session_delete_user = sq_session_delete_user,
	.session_list_user = sq_session_list_user,
	.session_purge = sq_session_purge,
	.role_insert = sq_role_insert,
	.role_get = sq_role_get,
	.role_list = sq_role_list,
	.role_update = sq_role_update,
	.role_delete = sq_role_delete,
	.token_insert = sq_token_insert,
	.token_get_by_hash = sq_token_get_by_hash,
	.token_get = sq_token_get,
	.token_list = sq_token_list,
	.token_touch = sq_token_touch,
	.token_delete = sq_token_delete,
	.settings_get = sq_settings_get,
	.settings_put = sq_settings_put,
	.audit_head = sq_audit_head,
	.audit_insert = sq_audit_insert,
	.audit_scan = sq_audit_scan,
	.audit_query = sq_audit_query,
	.audit_tenant_heads = sq_audit_tenant_heads,
	.audit_get = sq_audit_get,
	.audit_mark_put = sq_audit_mark_put,
	.audit_marks = sq_audit_marks,
	.audit_last_mark = sq_audit_last_mark,
	.audit_prefix_end = sq_audit_prefix_end,
	.audit_delete_prefix = sq_audit_delete_prefix,
	/* alerts (0004) */
	.alert_insert = sq_alert_insert,
	.alert_get = sq_alert_get,
	.alert_list = sq_alert_list,
	.alert_ack = sq_alert_ack,
	.outbox_pending = sq_outbox_pending,
	.outbox_attempt = sq_outbox_attempt,
	.network_seen = sq_network_seen,
	.alert_operator_events = sq_alert_operator_events,
	.alert_cursor_get = sq_alert_cursor_get,
	.alert_cursor_put = sq_alert_cursor_put,
	/* health (0005) */
	.health_put = sq_health_put,
	.health_latest = sq_health_latest,
	.health_prune = sq_health_prune,
	.health_probe_put = sq_health_probe_put,
	.health_probe_get = sq_health_probe_get,
	/* workspace (0006) */
	.project_insert = sq_project_insert,
	.project_get = sq_project_get,
	.project_list = sq_project_list,
	.project_update = sq_project_update,
	.project_delete = sq_project_delete,
	.member_put = sq_member_put,
	.member_get = sq_member_get,
	.member_list = sq_member_list,
	.member_delete = sq_member_delete,
	.dir_insert = sq_dir_insert,
	.dir_get = sq_dir_get,
	.dir_list = sq_dir_list,
	.dir_update = sq_dir_update,
	.dir_children = sq_dir_children,
	.dir_delete_tree = sq_dir_delete_tree,
	.file_insert = sq_file_insert,
	.file_get = sq_file_get,
	.file_get_by_name = sq_file_get_by_name,
	.file_list = sq_file_list,
	.file_update = sq_file_update,
	.file_delete = sq_file_delete,
	.version_insert = sq_version_insert,
	.version_get = sq_version_get,
	.version_list = sq_version_list,
	.version_prune = sq_version_prune,
	.task_insert = sq_task_insert,
	.task_get = sq_task_get,
	.task_list = sq_task_list,
	.task_update = sq_task_update,
	.task_delete = sq_task_delete,
	.task_link = sq_task_link,
	.task_unlink = sq_task_unlink,
	.task_files = sq_task_files,
	.labels_set = sq_labels_set,
	.labels_find = sq_labels_find,
	.usage_get = sq_usage_get,
	.usage_add = sq_usage_add,
	.quota_set = sq_quota_set,
	.export_insert = sq_export_insert,
	.export_get = sq_export_get,
	.export_list = sq_export_list,
	.export_update = sq_export_update,
	.export_queued = sq_export_queued,
	.export_expired = sq_export_expired,
	.blob_referenced = sq_blob_referenced,
};
