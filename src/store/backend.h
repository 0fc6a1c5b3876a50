/*
 * Private to src/store: what a storage backend implements, and the
 * internals of struct store shared by store.c and the backends.
 *
 * store.c owns everything backend-neutral: argument validation (lengths,
 * enumerations, tenant context), the per-thread connection registry and
 * the dispatch.  A backend (sqlite.c, later pg.c) only talks to its
 * database and may assume its arguments were validated.
 */
#ifndef KURA_STORE_BACKEND_H
#define KURA_STORE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/gsync.h"
#include "store/migrations.h"
#include "store/store.h"

/*
 * Backend operations.  "be" is the backend's per-thread connection as
 * returned by conn_open; a connection is used by one thread at a time.
 * Row outputs follow store.h ownership rules.
 */
struct store_ops {
	const char *name;
	/* Prepare the target before the first connection (e.g. create the
	 * database file with safe permissions).  May be NULL. */
	kura_err (*init)(const char *target);
	kura_err (*conn_open)(const char *target, void **ret_be);
	void (*conn_close)(void *be);

	kura_err (*migrate)(void *be, const struct store_migration *m, int n);
	kura_err (*schema_version)(void *be, int *ret_version);
	kura_err (*ping)(void *be);
	kura_err (*integrity_check)(void *be, char **ret_detail);

	kura_err (*begin)(void *be);
	/* Begin a transaction whose commit need not be durable when commit
	 * returns; store.c makes it durable with sync() before anybody
	 * relies on it.  NULL if the backend has no such mode. */
	kura_err (*begin_lazy)(void *be);
	kura_err (*commit)(void *be);
	kura_err (*rollback)(void *be);
	int (*in_tx)(void *be);
	/* A read-only snapshot (store_read_begin/end); a statement that
	 * writes fails with KURA_EINTERNAL until read_end, or, once
	 * read_relax was called, ends the snapshot and runs outside it.
	 * read_yield ends a relaxed snapshot (before a transaction) and
	 * does nothing otherwise. */
	kura_err (*read_begin)(void *be);
	kura_err (*read_end)(void *be);
	kura_err (*read_relax)(void *be);
	kura_err (*read_yield)(void *be);
	/* Checkpoints off the commit path (store_group_start): after every
	 * commit on this connection call notify(arg, frames in the log)
	 * instead of checkpointing in the committing thread; checkpoint()
	 * copies what it can of the log into the database without blocking
	 * anybody, and says how many frames the log has and how many of
	 * them are now in the database.  With restart, it also holds off
	 * writers for a moment (a bounded wait, about 2 ms at most) to copy
	 * the rest and let the log start again from its beginning; if
	 * readers are still inside, it gives up (KURA_OK) and the log goes
	 * on.  NULL if the backend has no log. */
	void (*wal_notify)(void *be, void (*notify)(void *arg, int frames),
	    void *arg);
	kura_err (*checkpoint)(void *be, bool restart, int *ret_log,
	    int *ret_done);
	/* Group durability (store_group_start): a handle on the log of the
	 * database at target, and sync(), which makes durable every commit
	 * (lazy or not) that returned before sync() was called.  sync() runs
	 * on one thread at a time.  NULL if begin_lazy is NULL. */
	kura_err (*sync_open)(const char *target, void **ret_h);
	kura_err (*sync)(void *h);
	void (*sync_close)(void *h);

	kura_err (*tenant_insert)(void *be, const struct store_tenant *t);
	kura_err (*tenant_get)(void *be, const char *id,
	    struct store_tenant **ret_t);
	kura_err (*tenant_get_by_contract)(void *be, const char *contract_id,
	    struct store_tenant **ret_t);
	kura_err (*tenant_list)(void *be, struct store_tenant **ret_list,
	    size_t *ret_n);
	kura_err (*tenant_set_status)(void *be, const char *id,
	    const char *status, int64_t now_us);

	kura_err (*tkey_insert)(void *be, const struct store_tenant_key *k);
	kura_err (*tkey_list)(void *be, const struct store_tctx *ctx,
	    struct store_tenant_key **ret_list, size_t *ret_n);
	kura_err (*tkey_list_all)(void *be, struct store_tenant_key **ret_list,
	    size_t *ret_n);
	kura_err (*tkey_rewrap)(void *be, const char *tenant_id,
	    uint32_t version, uint32_t old_kek_version,
	    uint32_t new_kek_version, const uint8_t *blob, size_t len);
	kura_err (*tkey_kek_versions)(void *be, uint32_t **ret_versions,
	    size_t *ret_n);

	kura_err (*user_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_user *u);
	kura_err (*user_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_user **ret_u);
	kura_err (*user_get_by_login)(void *be, const struct store_tctx *ctx,
	    const char *login_index, struct store_user **ret_u);
	kura_err (*user_list)(void *be, const struct store_tctx *ctx,
	    struct store_user **ret_list, size_t *ret_n);
	kura_err (*user_count_seated)(void *be, const struct store_tctx *ctx,
	    uint32_t *ret_n);
	kura_err (*user_update)(void *be, const struct store_tctx *ctx,
	    const struct store_user *u);
	kura_err (*user_delete)(void *be, const struct store_tctx *ctx,
	    const char *id);
	kura_err (*user_get_by_invite)(void *be, const char *invite_hash,
	    struct store_user **ret_u);

	kura_err (*recovery_replace)(void *be, const struct store_tctx *ctx,
	    const char *user_id, const char (*hashes)[STORE_INDEX_MAX],
	    size_t n);
	kura_err (*recovery_use)(void *be, const struct store_tctx *ctx,
	    const char *user_id, const char *hash, int64_t now_us);
	kura_err (*recovery_count)(void *be, const struct store_tctx *ctx,
	    const char *user_id, uint32_t *ret_unused);
	kura_err (*recovery_delete)(void *be, const struct store_tctx *ctx,
	    const char *user_id);

	kura_err (*session_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_session *ses);
	kura_err (*session_get_by_token)(void *be, const char *token_hash,
	    struct store_session **ret_ses);
	kura_err (*session_touch)(void *be, const struct store_tctx *ctx,
	    const char *id, int64_t last_seen_us);
	kura_err (*session_promote)(void *be, const struct store_tctx *ctx,
	    const char *id, const char *new_token_hash,
	    const char *new_csrf_hash, int64_t expires_us);
	kura_err (*session_delete)(void *be, const struct store_tctx *ctx,
	    const char *user_id, const char *id);
	kura_err (*session_delete_user)(void *be, const struct store_tctx *ctx,
	    const char *user_id, const char *except_id, size_t *ret_n);
	kura_err (*session_list_user)(void *be, const struct store_tctx *ctx,
	    const char *user_id, struct store_session **ret_list,
	    size_t *ret_n);
	kura_err (*session_purge)(void *be, int64_t now_us,
	    int64_t idle_before_us, size_t *ret_n);

	kura_err (*role_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_role *r);
	kura_err (*role_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_role **ret_r);
	kura_err (*role_list)(void *be, const struct store_tctx *ctx,
	    struct store_role **ret_list, size_t *ret_n);
	kura_err (*role_update)(void *be, const struct store_tctx *ctx,
	    const struct store_role *r);
	kura_err (*role_delete)(void *be, const struct store_tctx *ctx,
	    const char *id);

	kura_err (*token_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_token *t);
	kura_err (*token_get_by_hash)(void *be, const char *token_hash,
	    struct store_token **ret_t);
	kura_err (*token_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_token **ret_t);
	kura_err (*token_list)(void *be, const struct store_tctx *ctx,
	    const char *user_id, struct store_token **ret_list,
	    size_t *ret_n);
	kura_err (*token_touch)(void *be, const struct store_tctx *ctx,
	    const char *id, int64_t last_used_us);
	kura_err (*token_delete)(void *be, const struct store_tctx *ctx,
	    const char *id);

	kura_err (*settings_get)(void *be, const struct store_tctx *ctx,
	    const char *kind, struct store_blob *ret_doc);
	kura_err (*settings_put)(void *be, const struct store_tctx *ctx,
	    const char *kind, const uint8_t *doc, size_t len,
	    int64_t updated_us);
	kura_err (*audit_head)(void *be, const char *tenant_id, int64_t *ret_seq,
	    char *ret_hash);
	kura_err (*audit_insert)(void *be, const struct store_audit *row);
	kura_err (*audit_scan)(void *be, const char *tenant_id, int64_t after,
	    store_audit_cb cb, void *arg);
	kura_err (*audit_query)(void *be, const struct store_tctx *ctx,
	    const struct store_audit_filter *f, struct store_audit **ret_list,
	    size_t *ret_n);
	kura_err (*audit_tenant_heads)(void *be, int64_t max_seq,
	    struct store_audit_mark **ret_list, size_t *ret_n);
	kura_err (*audit_get)(void *be, int64_t seq, struct store_audit *ret_row);
	kura_err (*audit_mark_put)(void *be, const struct store_audit_mark *m);
	kura_err (*audit_marks)(void *be, const char *kind, const char *scope,
	    struct store_audit_mark **ret_list, size_t *ret_n);
	kura_err (*audit_last_mark)(void *be, const char *kind, const char *scope,
	    struct store_audit_mark *ret_mark);
	kura_err (*audit_prefix_end)(void *be, int64_t before_us, int64_t *ret_seq);
	kura_err (*audit_delete_prefix)(void *be, int64_t max_seq, size_t *ret_n);
	/* alerts (0004) */
	kura_err (*alert_insert)(void *be, const struct store_alert *a,
	    const struct store_outbox *o, size_t n_o);
	kura_err (*alert_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_alert *ret_a);
	/* ctx NULL: operator listing (f->tenant_id applies) */
	kura_err (*alert_list)(void *be, const struct store_tctx *ctx,
	    const struct store_alert_filter *f, struct store_alert **ret_list,
	    size_t *ret_n);
	kura_err (*alert_ack)(void *be, const struct store_tctx *ctx,
	    const char *id, const char *acked_by, int64_t acked_us);
	kura_err (*outbox_pending)(void *be, const char *channel, int64_t now_us,
	    size_t limit, struct store_outbox **ret_list, size_t *ret_n);
	kura_err (*outbox_attempt)(void *be, const char *id, int64_t delivered_us,
	    int64_t next_attempt_us);
	kura_err (*network_seen)(void *be, const struct store_tctx *ctx,
	    const char *user_id, const char *network, int64_t seen_us,
	    enum store_net_seen *ret_seen);
	kura_err (*alert_operator_events)(void *be, int64_t after, int64_t upto,
	    size_t limit, struct store_audit **ret_list, size_t *ret_n);
	kura_err (*alert_cursor_get)(void *be, const char *name, int64_t *ret_seq);
	kura_err (*alert_cursor_put)(void *be, const char *name, int64_t seq);
	/* health (0005) */
	kura_err (*health_put)(void *be, const struct store_health *h);
	kura_err (*health_latest)(void *be, struct store_health **ret_list,
	    size_t *ret_n);
	kura_err (*health_prune)(void *be, int64_t before_us, size_t *ret_n);
	kura_err (*health_probe_put)(void *be, const char *value, int64_t now_us);
	/* ret_value has STORE_HEALTH_PROBE_MAX bytes */
	kura_err (*health_probe_get)(void *be, char *ret_value);
	/* workspace (0006) */
	kura_err (*project_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_project *p);
	kura_err (*project_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_project **ret_p);
	/* member_id NULL: every project of the tenant */
	kura_err (*project_list)(void *be, const struct store_tctx *ctx,
	    const char *member_id, struct store_project **ret_list,
	    size_t *ret_n);
	kura_err (*project_update)(void *be, const struct store_tctx *ctx,
	    const struct store_project *p);
	kura_err (*project_delete)(void *be, const struct store_tctx *ctx,
	    const char *id, char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n);
	kura_err (*member_put)(void *be, const struct store_tctx *ctx,
	    const struct store_member *m);
	kura_err (*member_get)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *user_id,
	    struct store_member *ret_m);
	kura_err (*member_list)(void *be, const struct store_tctx *ctx,
	    const char *project_id, struct store_member **ret_list,
	    size_t *ret_n);
	kura_err (*member_delete)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *user_id);
	kura_err (*dir_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_dir *d);
	kura_err (*dir_get)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id, struct store_dir **ret_d);
	/* parent_id "" is the root */
	kura_err (*dir_list)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *parent_id,
	    struct store_dir **ret_list, size_t *ret_n);
	kura_err (*dir_update)(void *be, const struct store_tctx *ctx,
	    const struct store_dir *d);
	/* id "" counts the root's entries */
	kura_err (*dir_children)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id, uint64_t *ret_n);
	kura_err (*dir_delete_tree)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id,
	    char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n);
	kura_err (*file_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_file *f);
	kura_err (*file_get)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id, struct store_file **ret_f);
	kura_err (*file_get_by_name)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *directory_id,
	    const char *name_index, struct store_file **ret_f);
	kura_err (*file_list)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *directory_id,
	    struct store_file **ret_list, size_t *ret_n);
	kura_err (*file_update)(void *be, const struct store_tctx *ctx,
	    const struct store_file *f);
	kura_err (*file_delete)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id,
	    char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n);
	kura_err (*version_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_file_version *v);
	kura_err (*version_get)(void *be, const struct store_tctx *ctx,
	    const char *file_id, uint32_t version,
	    struct store_file_version *ret_v);
	kura_err (*version_list)(void *be, const struct store_tctx *ctx,
	    const char *file_id, struct store_file_version **ret_list,
	    size_t *ret_n);
	kura_err (*version_prune)(void *be, const struct store_tctx *ctx,
	    const char *file_id, uint32_t keep,
	    char (**ret_blobs)[STORE_ID_MAX], size_t *ret_n,
	    uint64_t *ret_bytes);
	kura_err (*task_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_task *t);
	kura_err (*task_get)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id, struct store_task **ret_t);
	kura_err (*task_list)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *status,
	    const char *assignee_id, struct store_task **ret_list,
	    size_t *ret_n);
	kura_err (*task_update)(void *be, const struct store_tctx *ctx,
	    const struct store_task *t);
	kura_err (*task_delete)(void *be, const struct store_tctx *ctx,
	    const char *project_id, const char *id);
	kura_err (*task_link)(void *be, const struct store_tctx *ctx,
	    const char *task_id, const char *file_id);
	kura_err (*task_unlink)(void *be, const struct store_tctx *ctx,
	    const char *task_id, const char *file_id);
	kura_err (*task_files)(void *be, const struct store_tctx *ctx,
	    const char *task_id, char (**ret_ids)[STORE_ID_MAX],
	    size_t *ret_n);
	kura_err (*labels_set)(void *be, const struct store_tctx *ctx,
	    const char *resource_type, const char *resource_id,
	    const char (*indexes)[STORE_INDEX_MAX], size_t n);
	kura_err (*labels_find)(void *be, const struct store_tctx *ctx,
	    const char *resource_type, const char *label_index,
	    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n);
	/* usage_get: quota fields are left as given when the tenant has no
	 * quota row */
	kura_err (*usage_get)(void *be, const struct store_tctx *ctx,
	    struct store_usage *ret_u);
	/* max_*: the defaults, at most INT64_MAX */
	kura_err (*usage_add)(void *be, const struct store_tctx *ctx,
	    int64_t delta_bytes, int64_t delta_files, int64_t max_bytes,
	    int64_t max_files);
	kura_err (*quota_set)(void *be, const char *tenant_id,
	    uint64_t max_bytes, uint64_t max_files, int64_t now_us);
	kura_err (*export_insert)(void *be, const struct store_tctx *ctx,
	    const struct store_export *e);
	kura_err (*export_get)(void *be, const struct store_tctx *ctx,
	    const char *id, struct store_export *ret_e);
	kura_err (*export_list)(void *be, const struct store_tctx *ctx,
	    struct store_export **ret_list, size_t *ret_n);
	kura_err (*export_update)(void *be, const struct store_tctx *ctx,
	    const struct store_export *e);
	kura_err (*export_queued)(void *be, struct store_export **ret_list,
	    size_t *ret_n);
	kura_err (*export_expired)(void *be, int64_t now_us,
	    struct store_export **ret_list, size_t *ret_n);
	kura_err (*blob_referenced)(void *be, const char *tenant_id,
	    const char *blob_id, bool *ret);
};

/* Free a row's owned members and zero them (the row itself is not
 * freed); for backends' error paths.  Accept NULL. */
void store_role_clear(struct store_role *r);
void store_token_clear(struct store_token *t);
/* workspace (0006) */
void store_project_clear(struct store_project *p);
void store_dir_clear(struct store_dir *d);
void store_file_clear(struct store_file *f);
void store_task_clear(struct store_task *t);

/* One thread's connection, linked into its store's registry. */
struct store_conn {
	struct store *store;
	struct store_conn *prev;
	struct store_conn *next;
	void *be;
	bool lazy;                      /* the open transaction is lazy */
};

struct store {
	const struct store_ops *ops;
	char *target;                   /* database path or conninfo */
	pthread_key_t key;              /* -> this thread's struct store_conn */
	pthread_mutex_t lock;           /* protects conns */
	struct store_conn *conns;       /* every open connection */
	/* group durability (store_group_start); NULL in CLI commands */
	struct gsync *group;
	void *sync_h;                   /* ops->sync_open's handle */
	struct store_ckpt *ckpt;        /* the checkpoint thread, with group */
};

extern const struct store_ops store_sqlite_ops;
/* The SQLite handle of a connection opened by store_sqlite_ops.conn_open,
 * for tests that check what the backend set on it. */
struct sqlite3 *store_sqlite_db(void *be);

#endif
