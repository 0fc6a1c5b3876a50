/*
 * The store interface.  Everything above src/store speaks only this header;
 * backends (sqlite.c now, pg.c later) implement struct store_ops.
 *
 * Threads: a struct store may be shared by many threads.  Each thread gets
 * its own backend connection, opened lazily on first use and closed when
 * the thread exits or the store is closed.  Transactions are per thread.
 *
 * Tenancy: every call that touches tenant-owned rows takes a
 * const struct store_tctx *, and the backend puts its tenant_id in every
 * WHERE clause; there is no tenant-owned call without one.  The tenant
 * registry itself (tenants, tenant key wrapping for KEK rotation) is the
 * operator's and takes no context.
 *
 * Rows: blobs (ciphertexts) are malloc'd and owned by the row; free rows
 * with the matching *_free function (accepts NULL).  Customer content only
 * ever reaches the store already sealed (kcrypto_seal).
 */
#ifndef KURA_STORE_STORE_H
#define KURA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gsync.h"

#define STORE_ID_MAX 40        /* same as KCRYPTO_ID_MAX */
#define STORE_CONTRACT_MAX 64
#define STORE_STATUS_MAX 16
#define STORE_REGION_MAX 32
#define STORE_TZ_MAX 64
#define STORE_INDEX_MAX 65     /* 64 hex + NUL */
#define STORE_BLOB_MAX (64 * 1024)  /* sealed column values; over: ETOOBIG */
#define STORE_TEXT_MAX 1024    /* password_hash, roles (bytes, no NUL) */
#define STORE_LIST_MAX 1000000 /* rows returned by one list call */

struct store;

/* Authenticated tenant context: only ever built from a verified session,
 * token or operator CLI argument, never from request bodies. */
struct store_tctx {
	char tenant_id[STORE_ID_MAX];
};

struct store_blob {
	uint8_t *data;
	size_t len;
};

struct store_tenant {
	char id[STORE_ID_MAX];
	char contract_id[STORE_CONTRACT_MAX + 1];
	struct store_blob name;             /* sealed */
	uint32_t seats;
	char status[STORE_STATUS_MAX];      /* active|suspended|terminated|purged */
	char region[STORE_REGION_MAX];
	char timezone[STORE_TZ_MAX];
	int64_t created_us;
	int64_t updated_us;
};

struct store_tenant_key {
	char tenant_id[STORE_ID_MAX];
	uint32_t version;
	uint32_t kek_version;
	struct store_blob wrapped;
	int64_t created_us;
};

struct store_user {
	char id[STORE_ID_MAX];
	char tenant_id[STORE_ID_MAX];
	char login_index[STORE_INDEX_MAX];  /* blind index of login id */
	char email_index[STORE_INDEX_MAX];  /* blind index of lower-cased email */
	struct store_blob login_id;         /* sealed */
	struct store_blob email;            /* sealed */
	struct store_blob display_name;     /* sealed */
	char *password_hash;                /* Argon2id string or NULL (invited) */
	char status[STORE_STATUS_MAX];      /* invited|active|disabled */
	char *roles;                        /* comma-separated role names */
	uint32_t must_change_password;      /* 1 after a one-time password */
	int64_t created_us;
	int64_t updated_us;
	/* sign-in state (0002) */
	uint32_t failed_logins;             /* consecutive failures */
	int64_t locked_until_us;            /* 0 not locked; INT64_MAX until unlocked */
	int64_t last_login_us;              /* 0 never */
	int64_t password_changed_us;
	/* TOTP (0002): sealed base32 secrets; empty blobs when absent */
	uint32_t mfa_enabled;
	struct store_blob totp_secret;      /* confirmed secret */
	struct store_blob totp_pending;     /* enrolment not yet confirmed */
	int64_t totp_last_step;             /* last accepted RFC 6238 step (replay) */
	/* invitation (0002): SHA-256 hex of the one-time token, or "" */
	char invite_hash[STORE_INDEX_MAX];
	int64_t invite_expires_us;
};

/* Browser session (0002).  The cookie carries a random token; only its
 * SHA-256 is stored, and likewise for the CSRF token. */
struct store_session {
	char id[STORE_ID_MAX];              /* ses_..., shown to the user */
	char tenant_id[STORE_ID_MAX];
	char user_id[STORE_ID_MAX];
	char token_hash[STORE_INDEX_MAX];
	char csrf_hash[STORE_INDEX_MAX];
	char kind[STORE_STATUS_MAX];        /* preauth (MFA pending) | full */
	char client_ip[48];
	int64_t created_us;
	int64_t last_seen_us;
	int64_t expires_us;                 /* absolute lifetime end */
};

/* Custom role (0002).  Built-in roles (tenant_admin, member) are not rows. */
struct store_role {
	char id[STORE_ID_MAX];              /* rol_... */
	char tenant_id[STORE_ID_MAX];
	char name_index[STORE_INDEX_MAX];   /* blind index of the lower-cased name */
	struct store_blob name;             /* sealed */
	struct store_blob labels;           /* sealed JSON array */
	char *permissions;                  /* comma-separated permission names */
	int64_t created_us;
	int64_t updated_us;
};

/* API token (0002): personal (user_id set) with a permission subset. */
struct store_token {
	char id[STORE_ID_MAX];              /* tok_... */
	char tenant_id[STORE_ID_MAX];
	char user_id[STORE_ID_MAX];
	char token_hash[STORE_INDEX_MAX];
	struct store_blob name;             /* sealed */
	struct store_blob labels;           /* sealed JSON array */
	char *permissions;                  /* comma-separated */
	int64_t expires_us;
	int64_t last_used_us;               /* 0 never */
	int64_t created_us;
};

/* ---- lifecycle ---- */

/* Open (creating if needed) the SQLite database at path, WAL mode,
 * foreign keys on, temp_store=MEMORY, secure_delete on.  Does not migrate.
 * A new file is created mode 0600; an existing one that is not a regular
 * file or has any group/other permission bit is refused (KURA_EPERM).
 * ":memory:" and "file:" URIs are refused (KURA_EINVAL): every thread has
 * its own connection and must see the same database. */
kura_err store_open_sqlite(const char *path, struct store **ret_store);
void store_close(struct store *s);
/* Apply every migration newer than the database's schema version, each in
 * its own transaction.  Forward only. */
kura_err store_migrate(struct store *s);
/* Current schema version and the newest this binary knows. */
kura_err store_schema_version(struct store *s, int *ret_current, int *ret_newest);
/* Cheap liveness query on the calling thread's connection (readyz). */
kura_err store_ping(struct store *s);
/* Full integrity check (PRAGMA integrity_check / foreign_key_check).
 * KURA_OK with *ret_detail = NULL when sound.  When a check fails,
 * KURA_EIO and *ret_detail (malloc'd) says what, no customer data (counts
 * and table names only).  On other errors *ret_detail is NULL. */
kura_err store_integrity_check(struct store *s, char **ret_detail);
/* Release the calling thread's connection (call before a worker exits;
 * a thread that exits without it has its connection closed by a
 * pthread key destructor).  store_close closes every thread's connection
 * and must not run concurrently with any other use of the store, including
 * exits of threads that used it. */
void store_thread_done(struct store *s);

/* ---- transactions (calling thread's connection; not nestable) ---- */
/* KURA_ECONFLICT if a transaction is already open (begin) or none is open
 * (commit); KURA_EBUSY if the write lock is not obtained within 5 s.  If
 * commit fails otherwise, the transaction stays open: roll it back. */
kura_err store_begin(struct store *s);     /* BEGIN IMMEDIATE */
/*
 * A read snapshot: every store read on this thread until store_read_end
 * sees the same committed state, and they share one lock round instead
 * of one each (the request gate's seven reads).  No write may run in
 * between: it fails with KURA_EINTERNAL.  KURA_ECONFLICT if a
 * transaction is open already (begin) or no snapshot is (end).
 */
kura_err store_read_begin(struct store *s);
/*
 * Relax the open snapshot: reads go on in it, and the first write (a
 * statement, or store_begin) ends it first and then runs as it would
 * without one.  For a read-only request's handler, whose reads then see
 * the state the gate checked (api_gate), while a rare write in it (e.g.
 * noting a session's use) still works.  KURA_ECONFLICT if no snapshot
 * is open.  store_read_end ends a relaxed snapshot that is still open
 * (KURA_ECONFLICT if a write ended it already).
 */
kura_err store_read_relax(struct store *s);
kura_err store_read_end(struct store *s);
/* Durable when it returns KURA_OK.  With group durability on, a failed
 * sync after a successful COMMIT returns its error (KURA_EIO): the
 * change is in the database but may not survive a power loss, and the
 * caller must not report success. */
kura_err store_commit(struct store *s);
/*
 * Commit without waiting for durability.  *ret_ticket is 0 if the commit
 * is durable already (group durability off), else a ticket: the caller
 * must not let anybody rely on the change (answer a request, send it
 * elsewhere) before store_durable_wait_async reported KURA_OK for it.
 * Errors as store_commit.
 */
kura_err store_commit_grouped(struct store *s, uint64_t *ret_ticket);
/* Call done(arg, err) on the barrier's thread once ticket is durable
 * (KURA_OK) or its WAL sync failed (KURA_EIO, and every later ticket
 * fails too until restart).  If this returns an error, done is never
 * called. */
kura_err store_durable_wait_async(struct store *s, uint64_t ticket,
    gsync_done_fn done, void *arg);
/* Block until ticket is durable; KURA_OK at once for ticket 0. */
kura_err store_durable_wait(struct store *s, uint64_t ticket);
/*
 * Group durability (serve only, before other threads use the store):
 * from now on every transaction commits with synchronous=NORMAL and one
 * thread fsyncs the WAL once per group of commits (decisions #47).
 * store_close stops it.  KURA_OK without effect on a backend that has no
 * such mode.
 */
kura_err store_group_start(struct store *s);
void store_group_stats(struct store *s, struct gsync_stats *ret);
/* Checkpoints run by the checkpoint thread that store_group_start also
 * starts (commits then only signal it once the log holds 1000 pages,
 * instead of checkpointing in the committing thread); 0 without.
 * *ret_restarts (may be NULL): how many of them also tried to start the
 * log again because it had reached 4096 pages (decisions #59). */
uint64_t store_checkpoints(struct store *s, uint64_t *ret_restarts);
kura_err store_rollback(struct store *s);  /* safe to call with no tx */

/* ---- tenant registry (operator scope) ---- */
/* Common errors: KURA_EINVAL for a missing, empty, over-long or malformed
 * argument (strings must fit their field including the NUL, sealed blobs
 * must be non-empty), KURA_ETOOBIG for a blob over STORE_BLOB_MAX,
 * KURA_ENOENT for no such row, KURA_EBUSY when the database stays locked,
 * KURA_EIO for other database failures.  created_us/updated_us of 0 on
 * insert mean "now". */
/* KURA_EEXIST if id or contract_id is taken. */
kura_err store_tenant_insert(struct store *s, const struct store_tenant *t);
kura_err store_tenant_get(struct store *s, const char *id,
    struct store_tenant **ret_t);
kura_err store_tenant_get_by_contract(struct store *s, const char *contract_id,
    struct store_tenant **ret_t);
/* All tenants ordered by contract id; ret_list is an array of *ret_n rows
 * (non-NULL even when empty); free with store_tenant_list_free.  List calls
 * return at most STORE_LIST_MAX rows, else KURA_ETOOBIG. */
kura_err store_tenant_list(struct store *s, struct store_tenant **ret_list,
    size_t *ret_n);
kura_err store_tenant_set_status(struct store *s, const char *id,
    const char *status);
void store_tenant_clear(struct store_tenant *t);   /* frees blobs only */
void store_tenant_free(struct store_tenant *t);
void store_tenant_list_free(struct store_tenant *list, size_t n);

/* ---- tenant keys ---- */
/* Insert one wrapped key version.  KURA_EEXIST if (tenant, version) exists,
 * KURA_ENOENT if the tenant does not. */
kura_err store_tkey_insert(struct store *s, const struct store_tenant_key *k);
/* Every key version of the context's tenant, ascending by version. */
kura_err store_tkey_list(struct store *s, const struct store_tctx *ctx,
    struct store_tenant_key **ret_list, size_t *ret_n);
/* Every key version of every tenant (KEK rotation, operator scope). */
kura_err store_tkey_list_all(struct store *s, struct store_tenant_key **ret_list,
    size_t *ret_n);
/* Replace the wrapping of (tenant, version) only if it is still wrapped
 * under old_kek_version; KURA_ECONFLICT if someone else changed it. */
kura_err store_tkey_rewrap(struct store *s, const char *tenant_id,
    uint32_t version, uint32_t old_kek_version, uint32_t new_kek_version,
    const uint8_t *blob, size_t len);
/* Distinct KEK versions still referenced, ascending. ret is malloc'd. */
kura_err store_tkey_kek_versions(struct store *s, uint32_t **ret_versions,
    size_t *ret_n);
void store_tkey_list_free(struct store_tenant_key *list, size_t n);

/* ---- users (tenant scope) ---- */
/* KURA_EEXIST if the id or the login index is taken, KURA_ENOENT if the
 * context's tenant does not exist.  The row's tenant is ctx's; a non-empty
 * u->tenant_id that differs is KURA_EINVAL.  roles NULL is stored as "". */
kura_err store_user_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_user *u);
kura_err store_user_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_user **ret_u);
kura_err store_user_get_by_login(struct store *s, const struct store_tctx *ctx,
    const char *login_index, struct store_user **ret_u);
/* Users of the tenant, ordered by id; array freed with store_user_list_free. */
kura_err store_user_list(struct store *s, const struct store_tctx *ctx,
    struct store_user **ret_list, size_t *ret_n);
/* Number of users whose status is active or invited (seat usage). */
kura_err store_user_count_seated(struct store *s, const struct store_tctx *ctx,
    uint32_t *ret_n);
void store_user_clear(struct store_user *u);
void store_user_free(struct store_user *u);
void store_user_list_free(struct store_user *list, size_t n);

/* ---- users: changes (tenant scope) ---- */
/* Write every mutable column of u (matched by ctx tenant and u->id):
 * email, email_index, display_name, password_hash, status, roles,
 * must_change_password, sign-in state, TOTP fields, invitation, updated_us.
 * Callers read, modify and write inside store_begin/commit.
 * KURA_ENOENT if no such user in this tenant. */
kura_err store_user_update(struct store *s, const struct store_tctx *ctx,
    const struct store_user *u);
/* Delete the user and, by cascade, its sessions, tokens and recovery codes. */
kura_err store_user_delete(struct store *s, const struct store_tctx *ctx,
    const char *id);
/* Authentication lookup by invitation token hash (the token is the
 * credential, so no tenant context); fills ret_u including tenant_id. */
kura_err store_user_get_by_invite(struct store *s, const char *invite_hash,
    struct store_user **ret_u);

/* ---- recovery codes (tenant scope), stored as SHA-256 hex ---- */
/* Every call here is KURA_ENOENT when user_id is not a user of ctx's
 * tenant. */
/* Replace the user's codes with hashes[0..n) atomically (at most 100,
 * else KURA_ETOOBIG; a repeated hash is KURA_EEXIST and changes nothing). */
kura_err store_recovery_replace(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char (*hashes)[STORE_INDEX_MAX], size_t n);
/* Consume one unused code: KURA_OK and it is marked used, or KURA_ENOENT. */
kura_err store_recovery_use(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *hash);
kura_err store_recovery_count(struct store *s, const struct store_tctx *ctx,
    const char *user_id, uint32_t *ret_unused);
kura_err store_recovery_delete(struct store *s, const struct store_tctx *ctx,
    const char *user_id);

/* ---- sessions ---- */
/* KURA_ENOENT if ses->user_id is not a user of ctx's tenant; KURA_EEXIST
 * if the id or token hash is taken.  expires_us must be set; created_us 0
 * means now, last_seen_us 0 means created_us; client_ip may be "". */
kura_err store_session_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_session *ses);
/* Authentication lookup by token hash (no tenant context: the token is
 * the credential).  KURA_ENOENT if unknown. */
kura_err store_session_get_by_token(struct store *s, const char *token_hash,
    struct store_session **ret_ses);
/* last_seen_us never moves backwards. */
kura_err store_session_touch(struct store *s, const struct store_tctx *ctx,
    const char *id, int64_t last_seen_us);
/* Promote a preauth session to full (after MFA), with a new token and CSRF
 * hash so the pre-auth cookie cannot be replayed.  Only a preauth session
 * is promoted, once: KURA_ENOENT if unknown in ctx's tenant or already
 * full. */
kura_err store_session_promote(struct store *s, const struct store_tctx *ctx,
    const char *id, const char *new_token_hash, const char *new_csrf_hash,
    int64_t expires_us);
/* Delete one session of user_id (KURA_ENOENT if it is not theirs). */
kura_err store_session_delete(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *id);
/* Delete every session of user_id except except_id (may be NULL);
 * *ret_n (may be NULL) receives how many. */
kura_err store_session_delete_user(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *except_id, size_t *ret_n);
/* Sessions of one user, newest first. */
kura_err store_session_list_user(struct store *s, const struct store_tctx *ctx,
    const char *user_id, struct store_session **ret_list, size_t *ret_n);
/* Delete sessions (any tenant) whose absolute lifetime ended before now_us
 * or that were not seen since idle_before_us (housekeeping). */
kura_err store_session_purge(struct store *s, int64_t now_us,
    int64_t idle_before_us, size_t *ret_n);
void store_session_free(struct store_session *ses);
void store_session_list_free(struct store_session *list, size_t n);

/* ---- custom roles (tenant scope) ---- */
/* KURA_EEXIST if name_index is taken in this tenant. */
kura_err store_role_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_role *r);
kura_err store_role_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_role **ret_r);
kura_err store_role_list(struct store *s, const struct store_tctx *ctx,
    struct store_role **ret_list, size_t *ret_n);
/* Write name, name_index, labels, permissions, updated_us. */
kura_err store_role_update(struct store *s, const struct store_tctx *ctx,
    const struct store_role *r);
kura_err store_role_delete(struct store *s, const struct store_tctx *ctx,
    const char *id);
void store_role_free(struct store_role *r);
void store_role_list_free(struct store_role *list, size_t n);

/* ---- API tokens ---- */
/* KURA_ENOENT if t->user_id is not a user of ctx's tenant; KURA_EEXIST if
 * the id or token hash is taken.  expires_us must be set (> 0). */
kura_err store_token_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_token *t);
/* Authentication lookup by token hash (no tenant context). */
kura_err store_token_get_by_hash(struct store *s, const char *token_hash,
    struct store_token **ret_t);
kura_err store_token_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_token **ret_t);
/* Tokens of one user (user_id non-NULL) or of the whole tenant (NULL),
 * ordered by id. */
kura_err store_token_list(struct store *s, const struct store_tctx *ctx,
    const char *user_id, struct store_token **ret_list, size_t *ret_n);
/* last_used_us never moves backwards. */
kura_err store_token_touch(struct store *s, const struct store_tctx *ctx,
    const char *id, int64_t last_used_us);
kura_err store_token_delete(struct store *s, const struct store_tctx *ctx,
    const char *id);
void store_token_free(struct store_token *t);
void store_token_list_free(struct store_token *list, size_t n);

/* ---- tenant settings (tenant scope): one sealed JSON document per kind ---- */
/* kind: 1-63 bytes of [A-Za-z0-9_.-].  get: KURA_ENOENT if the tenant has
 * none of this kind (callers use defaults); ret_doc->data is malloc'd.
 * put: insert or replace; updated_us 0 means now. */
kura_err store_settings_get(struct store *s, const struct store_tctx *ctx,
    const char *kind, struct store_blob *ret_doc);
kura_err store_settings_put(struct store *s, const struct store_tctx *ctx,
    const char *kind, const uint8_t *doc, size_t len, int64_t updated_us);

/* ---- audit trail (see src/audit/audit.h for the chain) ---- */
struct json_t;
struct store_audit {
	int64_t seq;                        /* global order */
	char id[STORE_ID_MAX];              /* evt_... */
	char tenant_id[STORE_ID_MAX];       /* "" for operator/system events */
	int64_t tenant_seq;                 /* 0 when tenant_id is "" */
	int64_t time_us;
	char actor_type[16];
	char actor_id[64];
	char source_ip[48];
	char request_id[40];
	char action[64];
	char resource_type[32];
	char resource_id[64];
	char outcome[16];
	int64_t status;
	char *detail;                       /* compact JSON, malloc'd */
	char prev_tenant_hash[STORE_INDEX_MAX];
	char prev_hash[STORE_INDEX_MAX];
	char hash[STORE_INDEX_MAX];
	/* not stored: while observers are told of the record (audit_notify)
	 * by the audit writer or api_commit, the object detail was written
	 * from, so that they need not parse it again; NULL otherwise.
	 * Read-only for observers; whoever set it releases it
	 * (store_audit_clear does not). */
	const struct json_t *detail_json;
};

/* Tenant view filters; NULL / 0 means "any". */
struct store_audit_filter {
	int64_t from_us;                    /* time_us >= from_us */
	int64_t to_us;                      /* time_us < to_us */
	const char *actor_id;
	const char *action;                 /* exact, or "prefix.*" */
	const char *resource_type;
	const char *resource_id;
	const char *outcome;
	const char *source_ip;
	int64_t before_tenant_seq;          /* keyset: older than this */
	size_t limit;                       /* 1..1000 */
};

/* A signed chain head: kind "checkpoint" or "anchor"; scope "global" or
 * a tenant id. */
struct store_audit_mark {
	char kind[16];
	char scope[STORE_ID_MAX];
	int64_t seq;                        /* global seq or tenant_seq */
	char hash[STORE_INDEX_MAX];
	int64_t time_us;
	char key_id[24];
	char signature[96];                 /* base64 Ed25519 */
};

/* Head of the global chain (tenant_id NULL) or of a tenant's chain:
 * KURA_ENOENT when it has no records. Call inside the write transaction
 * that appends. */
kura_err store_audit_head(struct store *s, const char *tenant_id,
    int64_t *ret_seq, char ret_hash[STORE_INDEX_MAX]);
/* Insert a fully chained row (inside a write transaction). */
kura_err store_audit_insert(struct store *s, const struct store_audit *row);
/* Call cb for every record of the log (tenant_id NULL, ascending seq) or
 * of one tenant (ascending tenant_seq), after the given position.  A
 * non-OK return from cb stops the scan and is returned. */
typedef kura_err (*store_audit_cb)(void *arg, const struct store_audit *row);
kura_err store_audit_scan(struct store *s, const char *tenant_id, int64_t after,
    store_audit_cb cb, void *arg);
/* The tenant view: newest first, filtered, at most f->limit rows. */
kura_err store_audit_query(struct store *s, const struct store_tctx *ctx,
    const struct store_audit_filter *f, struct store_audit **ret_list,
    size_t *ret_n);
/* For each tenant with records at or before max_seq (0: all), its last
 * such record as a mark (kind "", scope = tenant id, seq = tenant_seq). */
kura_err store_audit_tenant_heads(struct store *s, int64_t max_seq,
    struct store_audit_mark **ret_list, size_t *ret_n);
/* The row at a global seq (KURA_ENOENT if none). */
kura_err store_audit_get(struct store *s, int64_t seq, struct store_audit *ret_row);
kura_err store_audit_mark_put(struct store *s, const struct store_audit_mark *m);
/* Marks of one kind, of one scope or (scope NULL) all, ascending seq. */
kura_err store_audit_marks(struct store *s, const char *kind, const char *scope,
    struct store_audit_mark **ret_list, size_t *ret_n);
/* The newest mark of a kind and scope; KURA_ENOENT if none. */
kura_err store_audit_last_mark(struct store *s, const char *kind,
    const char *scope, struct store_audit_mark *ret_mark);
/* Largest seq such that every record up to it is older than before_us
 * (0 when none is). */
kura_err store_audit_prefix_end(struct store *s, int64_t before_us,
    int64_t *ret_seq);
/* Remove records with seq <= max_seq (retention; inside a transaction). */
kura_err store_audit_delete_prefix(struct store *s, int64_t max_seq,
    size_t *ret_n);
void store_audit_clear(struct store_audit *row);
void store_audit_list_free(struct store_audit *list, size_t n);

/* ---- alerts and notification outbox (0004) ---- */
/* Alerts are written by the alerts engine (system scope: the row names
 * its tenant, "" for operator-wide); tenants list and acknowledge their
 * own with a context; operators list across tenants without one.
 * Summaries and payloads hold ids, counts and rule names only. */
#define STORE_ALERT_RULE_MAX 40
#define STORE_ALERT_SUMMARY_MAX 256
#define STORE_OUTBOX_PAYLOAD_MAX 2048
#define STORE_ALERT_PAGE_MAX 1000          /* rows per list call */

struct store_alert {
	char id[STORE_ID_MAX];              /* alr_... */
	char tenant_id[STORE_ID_MAX];       /* "" operator-wide */
	char rule[STORE_ALERT_RULE_MAX];
	char severity[STORE_STATUS_MAX];    /* info|warning|critical */
	char summary[STORE_ALERT_SUMMARY_MAX];
	int64_t event_seq;                  /* audit record that raised it */
	char event_id[STORE_ID_MAX];        /* its evt_... id */
	char actor_id[64];                  /* who or which account, or "" */
	char source_ip[48];                 /* or "" */
	int64_t created_us;
	int64_t acked_us;                   /* 0: not acknowledged */
	char acked_by[64];                  /* user id, or "" */
};

/* A notification waiting in the outbox (one per alert and channel). */
struct store_outbox {
	char id[STORE_ID_MAX];              /* ntf_... */
	char tenant_id[STORE_ID_MAX];       /* "" operator-wide */
	char channel[16];                   /* console|email|webhook */
	char alert_id[STORE_ID_MAX];
	char payload[STORE_OUTBOX_PAYLOAD_MAX];  /* JSON, no customer content */
	int64_t created_us;
	uint32_t attempts;
	int64_t next_attempt_us;
	int64_t delivered_us;               /* 0: pending */
};

/* Listing filters; newest first (created_us, id), keyset pagination. */
struct store_alert_filter {
	int acked;                          /* -1 any, 0 pending, 1 acknowledged */
	const char *rule;                   /* exact rule name, or NULL */
	const char *after_id;               /* cursor: rows older than this alert */
	/* operator listing only: NULL any tenant, "" operator-wide only */
	const char *tenant_id;
	size_t limit;                       /* 1..STORE_ALERT_PAGE_MAX */
};

/* What store_network_seen found. */
enum store_net_seen {
	STORE_NET_KNOWN,                    /* the user has used it before */
	STORE_NET_FIRST,                    /* the user's first network */
	STORE_NET_NEW,                      /* new, other networks are known */
};

/* Insert an alert and its outbox rows (o[0..n_o), n_o <= 4) atomically
 * (inside the caller's transaction if one is open).  created_us 0 means
 * now.  KURA_EEXIST if an alert of the same rule for the same audit
 * record and tenant exists already (nothing is written then),
 * KURA_ENOENT if the tenant does not exist. */
kura_err store_alert_insert(struct store *s, const struct store_alert *a,
    const struct store_outbox *o, size_t n_o);
kura_err store_alert_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_alert *ret_a);
/* The tenant's alerts (f->tenant_id is ignored).  ret_list is malloc'd
 * (non-NULL even when empty); free with free(). */
kura_err store_alert_list(struct store *s, const struct store_tctx *ctx,
    const struct store_alert_filter *f, struct store_alert **ret_list,
    size_t *ret_n);
/* Operator scope: alerts of every tenant and operator-wide ones. */
kura_err store_alert_list_all(struct store *s,
    const struct store_alert_filter *f, struct store_alert **ret_list,
    size_t *ret_n);
/* Acknowledge: KURA_ENOENT if the alert is not ctx's tenant's,
 * KURA_ECONFLICT if it is acknowledged already.  acked_us 0 means now. */
kura_err store_alert_ack(struct store *s, const struct store_tctx *ctx,
    const char *id, const char *acked_by, int64_t acked_us);
/* Outbox rows still to deliver whose next attempt is due at now_us,
 * oldest first, at most limit (1..STORE_ALERT_PAGE_MAX); operator scope
 * (the delivery worker).  ret_list is malloc'd; free with free(). */
kura_err store_outbox_pending(struct store *s, const char *channel,
    int64_t now_us, size_t limit, struct store_outbox **ret_list,
    size_t *ret_n);
/* Record a delivery attempt: delivered_us > 0 marks it delivered, else
 * attempts grows by one and the next attempt is at next_attempt_us. */
kura_err store_outbox_attempt(struct store *s, const char *id,
    int64_t delivered_us, int64_t next_attempt_us);
/* Note that user_id signed in from network (text, e.g. "192.0.2.0/24")
 * and say whether it is known, the user's first, or new.  KURA_ENOENT if
 * user_id is not a user of ctx's tenant.  seen_us 0 means now. */
kura_err store_network_seen(struct store *s, const struct store_tctx *ctx,
    const char *user_id, const char *network, int64_t seen_us,
    enum store_net_seen *ret_seen);
/* Audit records written by operators (actor_type "operator": CLI
 * commands run in other processes) with after < seq <= upto, ascending, at most
 * limit (1..STORE_ALERT_PAGE_MAX); free with store_audit_list_free. */
kura_err store_alert_operator_events(struct store *s, int64_t after,
    int64_t upto, size_t limit, struct store_audit **ret_list, size_t *ret_n);
/* A named position of the alerts engine (0 if never set); put never
 * moves it backwards. */
kura_err store_alert_cursor_get(struct store *s, const char *name,
    int64_t *ret_seq);
kura_err store_alert_cursor_put(struct store *s, const char *name,
    int64_t seq);


/* ---- health checks (0005) ---- */
/* Operator data (no tenant): one row per component and round (MON-1). */
#define STORE_HEALTH_COMPONENT_MAX 32
#define STORE_HEALTH_DETAIL_MAX 256
#define STORE_HEALTH_PROBE_MAX 64

struct store_health {
	char component[STORE_HEALTH_COMPONENT_MAX];  /* database, disk, ... */
	char status[STORE_STATUS_MAX];               /* ok|degraded|failing */
	char detail[STORE_HEALTH_DETAIL_MAX];        /* no secrets */
	int64_t checked_us;
};

kura_err store_health_put(struct store *s, const struct store_health *h);
/* The newest result of every component, by component name. */
kura_err store_health_latest(struct store *s, struct store_health **ret_list,
    size_t *ret_n);
/* Remove results checked before before_us; *ret_n = rows removed. */
kura_err store_health_prune(struct store *s, int64_t before_us, size_t *ret_n);
/* Write value to the probe row and read it back: KURA_EIO if what comes
 * back differs (a write/read round trip through the database). */
kura_err store_health_probe(struct store *s, const char *value, int64_t now_us);

/* ---- workspace (0006): projects, directories, files, tasks, labels,
 * usage and quotas, exports.  Names, descriptions, labels, titles,
 * content types and plaintext hashes arrive sealed (BLOB); *_index
 * fields are blind indexes for uniqueness and label filtering. ---- */

#define STORE_ROOT_DIR ""              /* directory_id / parent_id of a root */

struct store_project {
	char id[STORE_ID_MAX];              /* prj_... */
	char tenant_id[STORE_ID_MAX];
	char name_index[STORE_INDEX_MAX];   /* unique per tenant */
	struct store_blob name;
	struct store_blob description;      /* may be empty */
	struct store_blob labels;           /* sealed JSON array, may be empty */
	char created_by[STORE_ID_MAX];
	int64_t created_us;
	int64_t updated_us;
};

struct store_member {
	char project_id[STORE_ID_MAX];
	char user_id[STORE_ID_MAX];
	char role[STORE_STATUS_MAX];        /* owner|editor|viewer */
	int64_t added_us;
};

struct store_dir {
	char id[STORE_ID_MAX];              /* dir_... */
	char tenant_id[STORE_ID_MAX];
	char project_id[STORE_ID_MAX];
	char parent_id[STORE_ID_MAX];       /* "" at the project's root */
	char name_index[STORE_INDEX_MAX];   /* unique among siblings (dirs and files) */
	struct store_blob name;
	struct store_blob labels;
	int64_t created_us;
	int64_t updated_us;
};

struct store_file {
	char id[STORE_ID_MAX];              /* fil_... */
	char tenant_id[STORE_ID_MAX];
	char project_id[STORE_ID_MAX];
	char directory_id[STORE_ID_MAX];    /* "" at the root */
	char name_index[STORE_INDEX_MAX];
	struct store_blob name;
	struct store_blob labels;
	char kind[STORE_STATUS_MAX];        /* user|generated (DAT-3) */
	uint32_t current_version;           /* 0 while none is committed */
	char created_by[STORE_ID_MAX];
	int64_t created_us;
	int64_t updated_us;
};

struct store_file_version {
	char file_id[STORE_ID_MAX];
	uint32_t version;                   /* 1, 2, ... */
	char blob_id[STORE_ID_MAX];         /* blb_... (src/blob) */
	uint64_t size;                      /* plaintext bytes */
	struct store_blob sha256;           /* sealed hex of the plaintext */
	struct store_blob content_type;     /* sealed, may be empty */
	char uploaded_by[STORE_ID_MAX];
	int64_t created_us;
};

struct store_task {
	char id[STORE_ID_MAX];              /* tsk_... */
	char tenant_id[STORE_ID_MAX];
	char project_id[STORE_ID_MAX];
	struct store_blob title;
	struct store_blob description;      /* may be empty */
	struct store_blob labels;
	char status[STORE_STATUS_MAX];      /* open|in_progress|done */
	char assignee_id[STORE_ID_MAX];     /* "" for none */
	int64_t due_us;                     /* 0 for none */
	char created_by[STORE_ID_MAX];
	int64_t created_us;
	int64_t updated_us;
};

struct store_usage {
	uint64_t bytes;                     /* plaintext bytes of every kept version */
	uint64_t files;                     /* files (not versions) */
	uint64_t max_bytes;                 /* quota; operator-set */
	uint64_t max_files;
};

struct store_export {
	char id[STORE_ID_MAX];              /* exp_... */
	char tenant_id[STORE_ID_MAX];
	char status[STORE_STATUS_MAX];      /* queued|running|ready|failed|expired */
	char blob_id[STORE_ID_MAX];         /* "" until ready */
	uint64_t size;
	char requested_by[STORE_ID_MAX];
	int64_t created_us;
	int64_t ready_us;
	int64_t expires_us;
};

/* projects (tenant scope).  KURA_EEXIST for a taken name_index. */
kura_err store_project_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_project *p);
kura_err store_project_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_project **ret_p);
/* Every project of the tenant (member_id NULL) or those member_id belongs
 * to, ordered by id. */
kura_err store_project_list(struct store *s, const struct store_tctx *ctx,
    const char *member_id, struct store_project **ret_list, size_t *ret_n);
/* Writes name, name_index, description, labels, updated_us. */
kura_err store_project_update(struct store *s, const struct store_tctx *ctx,
    const struct store_project *p);
/* Deletes the project with its members, directories, files (their version
 * rows), tasks and label rows.  The caller removes the content files of
 * the blob ids returned (malloc'd array of STORE_ID_MAX strings). */
kura_err store_project_delete(struct store *s, const struct store_tctx *ctx,
    const char *id, char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n);
void store_project_free(struct store_project *p);
void store_project_list_free(struct store_project *list, size_t n);

/* members: put inserts or changes the role; KURA_ENOENT from get when the
 * user is not a member. */
kura_err store_member_put(struct store *s, const struct store_tctx *ctx,
    const struct store_member *m);
kura_err store_member_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *user_id, struct store_member *ret_m);
kura_err store_member_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, struct store_member **ret_list, size_t *ret_n);
kura_err store_member_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *user_id);

/* directories.  KURA_EEXIST when a sibling directory or file has the same
 * name_index; KURA_ENOENT when parent_id is not a directory of the project. */
kura_err store_dir_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_dir *d);
kura_err store_dir_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_dir **ret_d);
/* Children directories of parent_id ("" for the root), ordered by id. */
kura_err store_dir_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *parent_id, struct store_dir **ret_list,
    size_t *ret_n);
/* Rename / move: writes parent_id, name_index, name, labels, updated_us;
 * KURA_ECONFLICT if the move would put a directory inside itself. */
kura_err store_dir_update(struct store *s, const struct store_tctx *ctx,
    const struct store_dir *d);
/* Number of directories and files directly inside. */
kura_err store_dir_children(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, uint64_t *ret_n);
/* Delete the directory and everything under it; blob ids as for projects. */
kura_err store_dir_delete_tree(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n);
void store_dir_free(struct store_dir *d);
void store_dir_list_free(struct store_dir *list, size_t n);

/* files.  KURA_EEXIST when a sibling has the same name_index. */
kura_err store_file_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_file *f);
kura_err store_file_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_file **ret_f);
kura_err store_file_get_by_name(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *directory_id, const char *name_index,
    struct store_file **ret_f);
kura_err store_file_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *directory_id,
    struct store_file **ret_list, size_t *ret_n);
/* Writes directory_id, name_index, name, labels, kind, current_version,
 * updated_us. */
kura_err store_file_update(struct store *s, const struct store_tctx *ctx,
    const struct store_file *f);
/* Delete with its versions and links; blob ids as for projects. */
kura_err store_file_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n);
void store_file_free(struct store_file *f);
void store_file_list_free(struct store_file *list, size_t n);

kura_err store_version_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_file_version *v);
kura_err store_version_get(struct store *s, const struct store_tctx *ctx,
    const char *file_id, uint32_t version, struct store_file_version *ret_v);
/* Newest first. */
kura_err store_version_list(struct store *s, const struct store_tctx *ctx,
    const char *file_id, struct store_file_version **ret_list, size_t *ret_n);
/* Delete all but the newest keep versions; returns their blob ids and
 * the bytes they held. */
kura_err store_version_prune(struct store *s, const struct store_tctx *ctx,
    const char *file_id, uint32_t keep, char (**ret_blobs)[STORE_ID_MAX],
    size_t *ret_n, uint64_t *ret_bytes);
void store_version_clear(struct store_file_version *v);
void store_version_list_free(struct store_file_version *list, size_t n);

/* tasks; list filters by status and assignee when given (NULL = any). */
kura_err store_task_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_task *t);
kura_err store_task_get(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id, struct store_task **ret_t);
kura_err store_task_list(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *status, const char *assignee_id,
    struct store_task **ret_list, size_t *ret_n);
/* Writes title, description, labels, status, assignee_id, due_us, updated_us. */
kura_err store_task_update(struct store *s, const struct store_tctx *ctx,
    const struct store_task *t);
kura_err store_task_delete(struct store *s, const struct store_tctx *ctx,
    const char *project_id, const char *id);
/* Links between a task and files of the same project. */
kura_err store_task_link(struct store *s, const struct store_tctx *ctx,
    const char *task_id, const char *file_id);
kura_err store_task_unlink(struct store *s, const struct store_tctx *ctx,
    const char *task_id, const char *file_id);
/* File ids linked to the task, as a malloc'd array. */
kura_err store_task_files(struct store *s, const struct store_tctx *ctx,
    const char *task_id, char (**ret_ids)[STORE_ID_MAX], size_t *ret_n);
void store_task_free(struct store_task *t);
void store_task_list_free(struct store_task *list, size_t n);

/* labels (DAT-1): blind indexes of a resource's labels, for filtering.
 * resource_type is one of project|directory|file|task|role|token. */
kura_err store_labels_set(struct store *s, const struct store_tctx *ctx,
    const char *resource_type, const char *resource_id,
    const char (*indexes)[STORE_INDEX_MAX], size_t n);
/* Ids of the tenant's resources of a type carrying the label. */
kura_err store_labels_find(struct store *s, const struct store_tctx *ctx,
    const char *resource_type, const char *label_index,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n);

/* usage and quotas (tenant scope; quotas are set by operators).  A
 * tenant without a quota row has the defaults passed in by the caller. */
kura_err store_usage_get(struct store *s, const struct store_tctx *ctx,
    uint64_t default_max_bytes, uint64_t default_max_files,
    struct store_usage *ret_u);
/* Add (or with negative deltas, remove) usage inside the caller's
 * transaction; KURA_ETOOBIG if a positive delta would exceed the quota. */
kura_err store_usage_add(struct store *s, const struct store_tctx *ctx,
    int64_t delta_bytes, int64_t delta_files, uint64_t default_max_bytes,
    uint64_t default_max_files);
kura_err store_quota_set(struct store *s, const char *tenant_id,
    uint64_t max_bytes, uint64_t max_files);

/* exports (DAT-4) */
kura_err store_export_insert(struct store *s, const struct store_tctx *ctx,
    const struct store_export *e);
kura_err store_export_get(struct store *s, const struct store_tctx *ctx,
    const char *id, struct store_export *ret_e);
kura_err store_export_list(struct store *s, const struct store_tctx *ctx,
    struct store_export **ret_list, size_t *ret_n);
/* Writes status, blob_id, size, ready_us, expires_us. */
kura_err store_export_update(struct store *s, const struct store_tctx *ctx,
    const struct store_export *e);
/* Queued exports of any tenant, oldest first (the export job). */
kura_err store_export_queued(struct store *s, struct store_export **ret_list,
    size_t *ret_n);
/* Housekeeping (operator scope): whether a file version or an export of
 * the tenant owns the content file blob_id. */
kura_err store_blob_referenced(struct store *s, const char *tenant_id,
    const char *blob_id, bool *ret);
/* Ready exports past expires_us (any tenant), for removal. */
kura_err store_export_expired(struct store *s, int64_t now_us,
    struct store_export **ret_list, size_t *ret_n);

#endif
