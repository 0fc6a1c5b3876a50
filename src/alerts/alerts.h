/*
 * Alerts on suspicious operations (LOG-6), evaluated on the audit stream.
 *
 * The engine is an audit observer: the observer copies what the rules need
 * of each durable record into a bounded queue (dropping, with a counter,
 * when it is full) and returns; the engine's own thread evaluates the
 * rules, stores each alert for its tenant (operator-wide ones with no
 * tenant) and queues an e-mail notification in the outbox, both in one
 * transaction.
 *
 * Rules:
 *   failed_login_account  >= failed_logins refused sign-ins (auth.login,
 *                         auth.mfa) of one account within the window
 *   failed_login_address  >= failed_by_ip refused sign-ins from one source
 *                         address (per tenant) within the window
 *   account_locked        a sign-in failure that locked the account
 *   new_network           a successful sign-in from a network (IPv4 /24,
 *                         IPv6 /48) the user has not used before; the
 *                         user's very first network does not alert
 *   admin_granted         tenant_admin granted (user.invite, user.update)
 *   token_created         an API token was created
 *   allowlist_changed     the tenant's IP allowlists changed
 *   bulk_export           a request flagged "bulk" (audit log export)
 *   bulk_reads            more than bulk_reads successful reads by one
 *                         actor within the window
 *   audit_verify_failed   `kura audit verify` (outcome failure) or the
 *                         API ("verified": false) found the log altered:
 *                         critical, operator-wide and, when the check was
 *                         of one tenant, for that tenant
 *
 * Windows are sliding, in ALERTS_WIN_SLOTS slots per window: an event
 * counts while its slot lies within the window, so counts never include
 * events older than the window (events in the oldest slot may already
 * have left it).  A key alerts at most once per window.  Keys live in a
 * fixed set-associative table per rule (ALERTS_WIN_BUCKETS x
 * ALERTS_WIN_WAYS); when a set is full the least recently seen key is
 * evicted, so memory is bounded whatever the traffic.
 *
 * Records of operator CLI commands are written by other processes and
 * never reach this process's observers: alerts_catch_up() reads them from
 * the store (from a persistent cursor) instead; the engine calls it every
 * second and `kura alerts` before listing.  An alert of one rule for one
 * audit record and tenant is stored once, whoever raises it.
 *
 * Alert summaries and outbox payloads hold ids, counts and rule names
 * only; never names, e-mail addresses, secrets or customer content.
 */
#ifndef KURA_ALERTS_ALERTS_H
#define KURA_ALERTS_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/error.h"
#include "store/store.h"

#define ALERTS_QUEUE_DEFAULT 4096
#define ALERTS_QUEUE_MAX 65536
#define ALERTS_WIN_SLOTS 32
#define ALERTS_WIN_BUCKETS 256
#define ALERTS_WIN_WAYS 8
#define ALERTS_DETAIL_MAX 512           /* longer details carry no flags */
#define ALERTS_KEY_MAX 112              /* tenant id "/" account or address */

#define ALERT_RULE_FAILED_ACCOUNT "failed_login_account"
#define ALERT_RULE_FAILED_ADDRESS "failed_login_address"
#define ALERT_RULE_LOCKED "account_locked"
#define ALERT_RULE_NEW_NETWORK "new_network"
#define ALERT_RULE_ADMIN "admin_granted"
#define ALERT_RULE_TOKEN "token_created"
#define ALERT_RULE_ALLOWLIST "allowlist_changed"
#define ALERT_RULE_BULK_EXPORT "bulk_export"
#define ALERT_RULE_BULK_READS "bulk_reads"
#define ALERT_RULE_VERIFY "audit_verify_failed"

struct alerts_config {
	uint64_t failed_logins;             /* per account, in the window */
	uint64_t failed_by_ip;              /* per source address */
	uint64_t window_s;                  /* >= 1 */
	uint64_t bulk_reads;                /* alert above this many reads */
	size_t queue_max;                   /* 0: ALERTS_QUEUE_DEFAULT */
};

/* What the engine keeps of one audit record. */
/* The fields of a record's detail that the rules read. */
struct alerts_flags {
	bool locked;
	bool granted_admin;
	bool allowlist_changed;
	bool bulk;
	bool unverified;                    /* "verified":false */
	bool get;                           /* "method":"GET" */
	int64_t failed_count;
};

struct alerts_event {
	int64_t seq;
	char id[STORE_ID_MAX];
	char tenant_id[STORE_ID_MAX];
	int64_t time_us;
	char actor_type[16];
	char actor_id[64];
	char source_ip[48];
	char action[64];
	char resource_id[64];
	char outcome[16];
	int64_t status;
	char detail[ALERTS_DETAIL_MAX];     /* compact JSON, or "" */
	/* set when the flags were read from the detail object already
	 * (detail is "" then); else alerts_eval parses detail */
	bool have_flags;
	struct alerts_flags flags;
};

struct alerts_stats {
	size_t queued;                      /* waiting now */
	uint64_t received;                  /* records enqueued */
	uint64_t dropped;                   /* records lost: queue full */
	uint64_t raised;                    /* alerts stored */
	uint64_t errors;                    /* alerts that could not be stored */
	uint64_t evicted;                   /* live window keys pushed out */
};

struct alerts;

/* The [alerts] settings of the config file. */
void alerts_config_from(const struct kura_config *cfg,
    struct alerts_config *ret);

/* An engine without a thread (unit tests evaluate with alerts_eval).
 * KURA_EINVAL for a zero threshold or window or an over-large queue. */
kura_err alerts_new(struct store *s, const struct alerts_config *cfg,
    struct alerts **ret_alerts);
/* Free an engine made by alerts_new (not a started one); accepts NULL. */
void alerts_free(struct alerts *a);

/* Copy a record into an event (a detail too long is left out). */
void alerts_event_from_row(const struct store_audit *row,
    struct alerts_event *ret_ev);
/* Evaluate every rule on one event, in the calling thread, storing the
 * alerts it raises; *ret_raised (may be NULL) counts them.  Not
 * thread-safe: one thread per engine. */
kura_err alerts_eval(struct alerts *a, const struct alerts_event *ev,
    size_t *ret_raised);

/* The audit observer: copy the record into the queue (records of
 * operators are left to alerts_catch_up).  Never blocks on I/O. */
void alerts_observe(void *arg, const struct store_audit *row);

/* Evaluate operator records newer than the stored cursor (at most a
 * bounded number per call) and move the cursor.  *ret_raised (may be
 * NULL) counts new alerts. */
kura_err alerts_catch_up(struct store *s, size_t *ret_raised);

/* Start the engine's thread and make it the process's audit observer
 * (call before serving).  One running engine per process: KURA_EBUSY if
 * one is. */
kura_err alerts_start(struct store *s, const struct alerts_config *cfg,
    struct alerts **ret_alerts);
/* Stop observing, evaluate what is queued, join and free; accepts NULL.
 * Call after the audit writer has stopped so no record is lost. */
void alerts_stop(struct alerts *a);
/* Wait until the queue is empty and evaluated (tests), at most
 * timeout_ms; KURA_EBUSY on timeout. */
kura_err alerts_flush(struct alerts *a, unsigned timeout_ms);
void alerts_stats(struct alerts *a, struct alerts_stats *ret);

/* `kura serve`: start the process's engine with the [alerts] settings
 * (before the server starts), and stop it (after the audit writer has
 * stopped; does nothing if none runs).  Stats of the running one (zeros
 * if none), for metrics. */
kura_err alerts_serve_start(struct store *s, const struct kura_config *cfg);
void alerts_serve_stop(void);
void alerts_serve_stats(struct alerts_stats *ret);

#endif
