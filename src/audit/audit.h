/*
 * The audit trail (LOG-1..LOG-5).
 *
 * Every record carries the hash of the previous record of its tenant
 * (per-tenant chain) and of the previous record overall (global chain):
 *
 *   hash = SHA-256( "kura-audit-v1" || for each field: u32be(len) || bytes
 *                   || prev_tenant_hash || prev_hash )
 *
 * over the fields seq, id, tenant_id, tenant_seq, time_us, actor_type,
 * actor_id, source_ip, request_id, action, resource_type, resource_id,
 * outcome, status, detail (integers as decimal text; detail is compact
 * JSON with sorted keys).  Checkpoints sign chain heads with Ed25519
 * (libsodium); retention removes whole prefixes and leaves a signed anchor.
 *
 * Two ways in:
 *  - audit_append_tx(): inside the caller's write transaction, so a state
 *    change and its record commit together;
 *  - audit_submit(): the writer thread batches records into one
 *    transaction per group (one fsync for many) and calls back once the
 *    batch is durable; the HTTP layer holds the response until then.
 * Records never contain secrets or customer content: ids, names of
 * actions, addresses, statuses and small details only.
 */
#ifndef KURA_AUDIT_AUDIT_H
#define KURA_AUDIT_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define AUDIT_HASH_HEX 64
/* the longest detail text stored; a longer one is stored as
 * AUDIT_DETAIL_TRUNCATED (the store refuses more than STORE_TEXT_MAX) */
#define AUDIT_DETAIL_MAX 1024
#define AUDIT_DETAIL_TRUNCATED "{\"truncated\":true}"
_Static_assert(AUDIT_DETAIL_MAX <= STORE_TEXT_MAX,
    "an audit detail the writer keeps must fit the store");

/* A record before it is chained (seq, tenant_seq and hashes are set by
 * the append).  Strings are copied into the fixed fields by audit_rec_*. */
struct audit_rec {
	char tenant_id[STORE_ID_MAX];       /* "" for operator/system events */
	int64_t time_us;
	char actor_type[16];                /* user|token|operator|system|anonymous */
	char actor_id[64];
	char source_ip[48];
	char request_id[40];
	char action[64];                    /* e.g. user.invite */
	char resource_type[32];
	char resource_id[64];
	char outcome[16];                   /* success|failure|denied */
	int status;                         /* HTTP status, or 0 */
	json_t *detail;                     /* small object, owned; may be NULL */
};

/* Fill a record's fixed fields safely (truncation of over-long values is
 * an error, never silent). */
kura_err audit_rec_init(struct audit_rec *r, const char *tenant_id,
    const char *actor_type, const char *actor_id, const char *action);
void audit_rec_clear(struct audit_rec *r);

/* ---- chain arithmetic (pure; unit tested and fuzzed) ---- */
/* Canonical hash of a stored row given its prev hashes (row->hash is not
 * read).  ret_hex gets 64 lowercase hex chars. */
kura_err audit_row_hash(const struct store_audit *row,
    char ret_hex[AUDIT_HASH_HEX + 1]);

/* ---- appending ---- */
struct audit;   /* writer thread + signing key */

/* Inside an open write transaction on the calling thread: chain and insert
 * r.  ret_row (may be NULL) receives the stored row. */
kura_err audit_append_tx(struct store *s, const struct audit_rec *r,
    struct store_audit *ret_row);
/* Append in a transaction of its own (CLI, jobs). */
kura_err audit_append(struct store *s, const struct audit_rec *r);

typedef void (*audit_done_fn)(void *arg, kura_err err);
/* Start the writer thread: group commit of at most batch_max records. */
kura_err audit_start(struct store *s, const char *key_file, size_t batch_max,
    struct audit **ret_audit);
/* Queue r (taking ownership of r->detail); done(arg, err) runs once the
 * record is durable (or failed): on the WAL sync thread under group
 * durability, else on the writer thread.  KURA_EBUSY if the queue is
 * full (done is not called then). */
kura_err audit_submit(struct audit *a, struct audit_rec *r, audit_done_fn done,
    void *arg);
/* Stop after draining the queue and calling back every record; accepts
 * NULL. */
void audit_stop(struct audit *a);
/* Queue depth and last batch size (metrics). */
void audit_stats(struct audit *a, size_t *ret_depth, size_t *ret_last_batch,
    uint64_t *ret_records, uint64_t *ret_batches);

/* ---- signing key and checkpoints (LOG-2) ---- */
/* Create keys/audit-signing.key (Ed25519 seed, mode 0600) if absent. */
kura_err audit_key_create(const char *key_file);
/* For serve and the audit commands: the key must exist once the log has
 * signed marks (a new key would orphan every earlier checkpoint).  A
 * missing key is created only while there are none; otherwise KURA_ENOENT
 * and *ret_msg (malloc'd) says to restore it from backup.  Also checks
 * that the key is the one that signed the newest global mark. */
kura_err audit_key_ensure(struct store *s, const char *key_file, char **ret_msg);
/* Public key, base64 (for tenant admins and offline verification). */
kura_err audit_public_key(const char *key_file, char ret_b64[64]);
/* Sign the heads of the global chain and of every tenant chain that
 * moved since its last checkpoint.  *ret_n = checkpoints written. */
kura_err audit_checkpoint(struct store *s, const char *key_file, size_t *ret_n);

/* ---- verification ---- */
struct audit_verify_result {
	bool ok;
	uint64_t records;                   /* records checked */
	uint64_t checkpoints;               /* signatures checked */
	int64_t bad_seq;                    /* first bad record (global seq), or 0 */
	char bad_id[STORE_ID_MAX];          /* its id, or "" */
	char reason[160];                   /* what is wrong, for people */
};
/* Verify the whole log (tenant_id NULL) or one tenant's chain against the
 * public key; the result names the first bad record. */
kura_err audit_verify_store(struct store *s, const char *tenant_id,
    const char *public_key_b64, struct audit_verify_result *ret);
/* Verify an exported JSON-lines file (one record per line, then
 * checkpoint and anchor lines) offline. */
kura_err audit_verify_file(const char *path, const char *public_key_b64,
    struct audit_verify_result *ret);

/* ---- export format (JSON lines; offline verification reads it) ---- */
/* {"type":"record", every store_audit field...} */
json_t *audit_row_to_json(const struct store_audit *row);
/* {"type":"checkpoint"|"anchor","scope","seq","hash","time_us","key_id",
 *  "signature"} */
json_t *audit_mark_to_json(const struct store_audit_mark *m);

/* Write a verifiable export of the whole log (tenant_id NULL) or of one
 * tenant: a header line {"type":"export","version":1,"scope",
 * "public_key","created_us"}, then the scope's anchors and checkpoints,
 * then its records in chain order, one JSON object per line.  write_fn
 * gets each line (with its newline) and may stop the export by failing. */
typedef kura_err (*audit_write_fn)(void *arg, const char *line, size_t len);
kura_err audit_export(struct store *s, const char *tenant_id,
    const char *public_key_b64, audit_write_fn write_fn, void *arg);

/* ---- observers: called once a record is durable (alerts, SIEM) ---- */
typedef void (*audit_observer_fn)(void *arg, const struct store_audit *row);
/* Register an observer (at most 8, before serving starts).  Observers run
 * on the thread that committed the record and must only enqueue. */
kura_err audit_add_observer(audit_observer_fn fn, void *arg);
/* Tell the observers about a committed row (after audit_append_tx's
 * transaction commits; the writer and audit_append do it themselves). */
void audit_notify(const struct store_audit *row);

/* ---- retention (LOG-3) ---- */
/* Remove records older than before_us as whole prefixes, leaving signed
 * anchors so the rest still verifies. *ret_n = records removed. */
kura_err audit_expire(struct store *s, const char *key_file, int64_t before_us,
    size_t *ret_n);

#endif
