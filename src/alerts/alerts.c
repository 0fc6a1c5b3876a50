/*
 * The alerts engine (LOG-6): see alerts.h for the rules and the model.
 */
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "core/cidr.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/kcrypto.h"

/* Records evaluated per wake-up before the queue lock is taken again. */
#define ALERTS_BATCH 64
/* Operator records read per store call, and calls per catch-up. */
#define CATCH_UP_PAGE 100
#define CATCH_UP_PAGES 20
#define CATCH_UP_CURSOR "operator_events"
/* How often the engine looks for operator records. */
#define CATCH_UP_PERIOD_US (1000 * 1000)

/* One key's sliding window: counts[k % SLOTS] holds the events of slot
 * k for head - SLOTS < k <= head. */
struct win_entry {
	char key[ALERTS_KEY_MAX];
	bool used;
	bool fired;                         /* fired_us is set */
	int64_t fired_us;                   /* time of this key's last alert */
	int64_t last_us;                    /* newest event (eviction) */
	int64_t head;                       /* newest slot index */
	uint32_t counts[ALERTS_WIN_SLOTS];
};

struct win {
	struct win_entry e[ALERTS_WIN_BUCKETS * ALERTS_WIN_WAYS];
};

struct alerts {
	struct store *store;
	struct alerts_config cfg;
	int64_t window_us;
	int64_t slot_us;
	uint64_t hash_seed;                 /* keys are chosen by clients */
	uint64_t evicted;                   /* evaluating thread only */
	struct win *by_account;
	struct win *by_address;
	struct win *by_reader;

	pthread_mutex_t lock;               /* protects everything below */
	pthread_cond_t wake;                /* work queued or stop */
	pthread_cond_t idle;                /* queue empty and evaluated */
	struct alerts_event *q;             /* ring of cfg.queue_max */
	size_t q_head;
	size_t q_len;
	bool busy;                          /* a batch is being evaluated */
	bool stop;
	bool running;
	pthread_t thread;
	struct alerts_stats st;
	struct alerts_event batch[ALERTS_BATCH];  /* engine thread only */
};

/* The engine the process's observer feeds (at most one runs). */
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct alerts *current;
static bool observer_registered;

/* ---- small helpers ---- */

static void
copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size);

	if (n >= size)
		n = 0;          /* never a silently cut id */
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
alerts_config_from(const struct kura_config *cfg, struct alerts_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->failed_logins = cfg->alert_failed_logins;
	ret->failed_by_ip = cfg->alert_failed_by_ip;
	ret->window_s = cfg->alert_window_s;
	ret->bulk_reads = cfg->alert_bulk_reads;
	ret->queue_max = ALERTS_QUEUE_DEFAULT;
}

static void flags_of(const json_t *j, struct alerts_flags *f);

void
alerts_event_from_row(const struct store_audit *row, struct alerts_event *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->seq = row->seq;
	copy_field(ret->id, sizeof(ret->id), row->id);
	copy_field(ret->tenant_id, sizeof(ret->tenant_id), row->tenant_id);
	ret->time_us = row->time_us;
	copy_field(ret->actor_type, sizeof(ret->actor_type), row->actor_type);
	copy_field(ret->actor_id, sizeof(ret->actor_id), row->actor_id);
	copy_field(ret->source_ip, sizeof(ret->source_ip), row->source_ip);
	copy_field(ret->action, sizeof(ret->action), row->action);
	copy_field(ret->resource_id, sizeof(ret->resource_id), row->resource_id);
	copy_field(ret->outcome, sizeof(ret->outcome), row->outcome);
	ret->status = row->status;
	if (row->detail == NULL)
		return;
	/* from the audit writer: the object the detail was written from
	 * (no parse); a detail too long for the event carries no flags */
	if (row->detail_json != NULL) {
		if (strnlen(row->detail, sizeof(ret->detail)) < sizeof(ret->detail))
			flags_of((const json_t *)row->detail_json, &ret->flags);
		ret->have_flags = true;
		return;
	}
	copy_field(ret->detail, sizeof(ret->detail), row->detail);
}

/* ---- sliding windows ---- */

static uint64_t
key_hash(uint64_t seed, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ seed;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

/*
 * Count one event of key at time t; true when the key's count within the
 * window reaches threshold and the key has not alerted within the last
 * window (the count is then reset and returned in *ret_count).  Events
 * older than the key's window are ignored.
 */
static bool
win_hit(struct alerts *a, struct win *w, const char *key, int64_t t,
    uint64_t threshold, uint64_t *ret_count)
{
	struct win_entry *set, *e = NULL;
	int64_t slot = t / a->slot_us, d, k;
	uint64_t sum = 0;
	size_t i;

	set = &w->e[(key_hash(a->hash_seed, key) % ALERTS_WIN_BUCKETS) *
	    ALERTS_WIN_WAYS];
	for (i = 0; i < ALERTS_WIN_WAYS && e == NULL; i++)
		if (set[i].used && strcmp(set[i].key, key) == 0)
			e = &set[i];
	if (e == NULL) {
		/* a free way, else the least recently seen key */
		for (i = 0; i < ALERTS_WIN_WAYS && e == NULL; i++)
			if (!set[i].used)
				e = &set[i];
		if (e == NULL) {
			e = &set[0];
			for (i = 1; i < ALERTS_WIN_WAYS; i++)
				if (set[i].last_us < e->last_us)
					e = &set[i];
			if (e->last_us > t - a->window_us)
				a->evicted++;
		}
		memset(e, 0, sizeof(*e));
		e->used = true;
		copy_field(e->key, sizeof(e->key), key);
		e->head = slot;
		e->last_us = t;
	}
	if (slot > e->head) {
		d = slot - e->head;
		if (d >= ALERTS_WIN_SLOTS)
			memset(e->counts, 0, sizeof(e->counts));
		else
			for (k = 1; k <= d; k++)
				e->counts[(e->head + k) % ALERTS_WIN_SLOTS] = 0;
		e->head = slot;
	} else if (slot <= e->head - ALERTS_WIN_SLOTS) {
		return false;
	}
	if (e->counts[slot % ALERTS_WIN_SLOTS] < UINT32_MAX)
		e->counts[slot % ALERTS_WIN_SLOTS]++;
	if (t > e->last_us)
		e->last_us = t;
	for (i = 0; i < ALERTS_WIN_SLOTS; i++)
		sum += e->counts[i];
	if (sum < threshold || (e->fired && t - e->fired_us < a->window_us))
		return false;
	e->fired = true;
	e->fired_us = t;
	memset(e->counts, 0, sizeof(e->counts));
	*ret_count = sum;
	return true;
}

/* "tenant/id" into buf; false if it does not fit or id is empty. */
static bool
make_key(char *buf, size_t len, const char *tenant_id, const char *id)
{
	int n;

	if (id[0] == '\0')
		return false;
	n = snprintf(buf, len, "%s/%s", tenant_id, id);
	return n > 0 && (size_t)n < len;
}

/* ---- storing alerts ---- */

/* The e-mail notification of an alert: ids and names only. */
static kura_err
outbox_row(const struct store_alert *al, struct store_outbox *ret)
{
	json_t *j;
	char *s = NULL;
	kura_err err;

	memset(ret, 0, sizeof(*ret));
	if ((err = kcrypto_id_new("ntf", ret->id)) != KURA_OK)
		return err;
	copy_field(ret->tenant_id, sizeof(ret->tenant_id), al->tenant_id);
	copy_field(ret->channel, sizeof(ret->channel), "email");
	copy_field(ret->alert_id, sizeof(ret->alert_id), al->id);
	j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:I}",
	    "version", 1, "alert_id", al->id, "rule", al->rule,
	    "severity", al->severity, "summary", al->summary,
	    "recipients", al->tenant_id[0] != '\0' ? "tenant_admins" :
	    "operators", "tenant_id", al->tenant_id[0] != '\0' ?
	    al->tenant_id : NULL, "event_id", al->event_id,
	    "created_us", (json_int_t)al->created_us);
	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL)
		return KURA_ENOMEM;
	if (strlen(s) >= sizeof(ret->payload))
		err = KURA_ETOOBIG;
	else
		copy_field(ret->payload, sizeof(ret->payload), s);
	free(s);
	return err;
}

/*
 * Store one alert for tenant_id ("" operator-wide) with its outbox row.
 * An alert of this rule for this record and tenant that exists already
 * is not an error (and not counted).
 */
static kura_err
raise_alert(struct store *s, const struct alerts_event *ev,
    const char *tenant_id, const char *rule, const char *severity,
    const char *actor_id, const char *source_ip, const char *summary,
    size_t *raised)
{
	struct store_outbox o;
	struct store_alert al;
	kura_err err;

	memset(&al, 0, sizeof(al));
	if ((err = kcrypto_id_new("alr", al.id)) != KURA_OK)
		return err;
	copy_field(al.tenant_id, sizeof(al.tenant_id), tenant_id);
	copy_field(al.rule, sizeof(al.rule), rule);
	copy_field(al.severity, sizeof(al.severity), severity);
	copy_field(al.summary, sizeof(al.summary), summary);
	al.event_seq = ev->seq;
	copy_field(al.event_id, sizeof(al.event_id), ev->id);
	copy_field(al.actor_id, sizeof(al.actor_id), actor_id);
	copy_field(al.source_ip, sizeof(al.source_ip), source_ip);
	al.created_us = kura_now_us();
	if ((err = outbox_row(&al, &o)) != KURA_OK)
		return err;
	err = store_alert_insert(s, &al, &o, 1);
	if (err == KURA_EEXIST)
		return KURA_OK;
	if (err == KURA_OK)
		(*raised)++;
	return err;
}

/* ---- rules ---- */

static void
flags_of(const json_t *j, struct alerts_flags *f)
{
	const json_t *v;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(j))
		return;
	f->locked = json_is_true(json_object_get(j, "locked"));
	f->granted_admin = json_is_true(json_object_get(j, "granted_admin"));
	f->allowlist_changed = json_is_true(json_object_get(j,
	    "allowlist_changed"));
	f->bulk = json_is_true(json_object_get(j, "bulk"));
	f->unverified = json_is_false(json_object_get(j, "verified"));
	v = json_object_get(j, "method");
	f->get = json_is_string(v) && strcmp(json_string_value(v), "GET") == 0;
	v = json_object_get(j, "failed_count");
	if (json_is_integer(v))
		f->failed_count = json_integer_value(v);
}

static void
parse_flags(const char *detail, struct alerts_flags *f)
{
	json_t *j;

	memset(f, 0, sizeof(*f));
	if (detail[0] == '\0')
		return;
	j = json_loads(detail, JSON_REJECT_DUPLICATES, NULL);
	flags_of(j, f);
	json_decref(j);
}

static bool
is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* A refused sign-in attempt (wrong credentials, locked, refused address
 * or too many attempts), not a malformed request. */
static bool
signin_refused(const struct alerts_event *ev)
{
	return (is(ev->action, "auth.login") || is(ev->action, "auth.mfa")) &&
	    !is(ev->outcome, "success") &&
	    (ev->status == 401 || ev->status == 403 || ev->status == 429);
}

/* The network of a textual address: IPv4 /24 or IPv6 /48. */
static bool
network_of(const char *ip, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	struct cidr c;
	unsigned i;

	memset(&c, 0, sizeof(c));
	if (ip[0] == '\0' || cidr_addr(ip, c.addr) != KURA_OK)
		return false;
	c.prefix = memcmp(c.addr, mapped, sizeof(mapped)) == 0 ? 96 + 24 : 48;
	for (i = c.prefix / 8; i < sizeof(c.addr); i++)
		c.addr[i] = 0;
	cidr_format(&c, buf, len);
	return true;
}

/* new_network: remember the network; alert unless known or the first. */
static kura_err
rule_new_network(struct store *s, const struct alerts_event *ev,
    size_t *raised)
{
	const char *user = ev->resource_id[0] != '\0' ? ev->resource_id :
	    ev->actor_id;
	enum store_net_seen seen = STORE_NET_KNOWN;
	struct store_tctx ctx;
	char net[64], summary[STORE_ALERT_SUMMARY_MAX];
	kura_err err;

	if (ev->tenant_id[0] == '\0' || user[0] == '\0' ||
	    !network_of(ev->source_ip, net, sizeof(net)))
		return KURA_OK;
	memset(&ctx, 0, sizeof(ctx));
	copy_field(ctx.tenant_id, sizeof(ctx.tenant_id), ev->tenant_id);
	err = store_network_seen(s, &ctx, user, net, ev->time_us, &seen);
	if (err == KURA_ENOENT)         /* the user is gone meanwhile */
		return KURA_OK;
	if (err != KURA_OK || seen != STORE_NET_NEW)
		return err;
	snprintf(summary, sizeof(summary),
	    "new_network: sign-in of %s from a network not used before", user);
	return raise_alert(s, ev, ev->tenant_id, ALERT_RULE_NEW_NETWORK,
	    "warning", user, ev->source_ip, summary, raised);
}

/*
 * The rules that need no window: each record is judged on its own (and
 * the known networks in the store).  Used by the engine and by the
 * catch-up over operator records.
 */
static kura_err
eval_single(struct store *s, const struct alerts_event *ev,
    const struct alerts_flags *f, size_t *raised)
{
	char summary[STORE_ALERT_SUMMARY_MAX];
	bool ok = is(ev->outcome, "success");
	kura_err err = KURA_OK;

	/* the CLI records a failed check as outcome failure, the API as a
	 * successful request with "verified": false */
	if (is(ev->action, "audit.verify") && (is(ev->outcome, "failure") ||
	    f->unverified)) {
		if (ev->tenant_id[0] != '\0')
			snprintf(summary, sizeof(summary), "audit_verify_failed: "
			    "the audit log of tenant %s failed verification",
			    ev->tenant_id);
		else
			snprintf(summary, sizeof(summary), "audit_verify_failed: "
			    "the audit log failed verification");
		err = raise_alert(s, ev, "", ALERT_RULE_VERIFY, "critical", "", "",
		    summary, raised);
		if (err == KURA_OK && ev->tenant_id[0] != '\0')
			err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_VERIFY,
			    "critical", "", "", summary, raised);
		return err;
	}
	if (is(ev->actor_type, "operator"))
		return KURA_OK;
	if (f->locked && (is(ev->action, "auth.login") ||
	    is(ev->action, "auth.mfa"))) {
		snprintf(summary, sizeof(summary), "account_locked: account %s "
		    "locked after %lld failed sign-ins", ev->resource_id[0] ?
		    ev->resource_id : "?", (long long)f->failed_count);
		err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_LOCKED, "warning",
		    ev->resource_id, ev->source_ip, summary, raised);
	}
	if (err == KURA_OK && ok && (is(ev->action, "auth.login") ||
	    is(ev->action, "auth.mfa")))
		err = rule_new_network(s, ev, raised);
	if (err == KURA_OK && ok && f->granted_admin) {
		snprintf(summary, sizeof(summary), "admin_granted: tenant_admin "
		    "granted to %s by %s", ev->resource_id[0] ? ev->resource_id :
		    "a new user", ev->actor_id[0] ? ev->actor_id : "?");
		err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_ADMIN, "warning",
		    ev->actor_id, ev->source_ip, summary, raised);
	}
	if (err == KURA_OK && ok && is(ev->action, "token.create")) {
		snprintf(summary, sizeof(summary), "token_created: API token %s "
		    "created by %s", ev->resource_id[0] ? ev->resource_id : "?",
		    ev->actor_id[0] ? ev->actor_id : "?");
		err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_TOKEN, "info",
		    ev->actor_id, ev->source_ip, summary, raised);
	}
	if (err == KURA_OK && ok && f->allowlist_changed) {
		snprintf(summary, sizeof(summary), "allowlist_changed: IP "
		    "allowlists changed by %s", ev->actor_id[0] ? ev->actor_id : "?");
		err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_ALLOWLIST,
		    "warning", ev->actor_id, ev->source_ip, summary, raised);
	}
	if (err == KURA_OK && ok && f->bulk) {
		snprintf(summary, sizeof(summary), "bulk_export: %s by %s",
		    ev->action, ev->actor_id[0] ? ev->actor_id : "?");
		err = raise_alert(s, ev, ev->tenant_id, ALERT_RULE_BULK_EXPORT,
		    "warning", ev->actor_id, ev->source_ip, summary, raised);
	}
	return err;
}

/* The windowed rules: bursts of refused sign-ins and of reads. */
static kura_err
eval_windows(struct alerts *a, const struct alerts_event *ev,
    const struct alerts_flags *f, size_t *raised)
{
	char key[ALERTS_KEY_MAX], summary[STORE_ALERT_SUMMARY_MAX];
	unsigned long long win_s = (unsigned long long)a->cfg.window_s;
	uint64_t count = 0;
	kura_err err = KURA_OK;

	if (signin_refused(ev)) {
		if (ev->tenant_id[0] != '\0' &&
		    make_key(key, sizeof(key), ev->tenant_id, ev->resource_id) &&
		    win_hit(a, a->by_account, key, ev->time_us,
		    a->cfg.failed_logins, &count)) {
			snprintf(summary, sizeof(summary), "failed_login_account: "
			    "%llu refused sign-ins of account %s within %llu s",
			    (unsigned long long)count, ev->resource_id, win_s);
			err = raise_alert(a->store, ev, ev->tenant_id,
			    ALERT_RULE_FAILED_ACCOUNT, "warning", ev->resource_id,
			    ev->source_ip, summary, raised);
		}
		if (err == KURA_OK &&
		    make_key(key, sizeof(key), ev->tenant_id, ev->source_ip) &&
		    win_hit(a, a->by_address, key, ev->time_us,
		    a->cfg.failed_by_ip, &count)) {
			snprintf(summary, sizeof(summary), "failed_login_address: "
			    "%llu refused sign-ins from one address within %llu s",
			    (unsigned long long)count, win_s);
			err = raise_alert(a->store, ev, ev->tenant_id,
			    ALERT_RULE_FAILED_ADDRESS, "warning", "", ev->source_ip,
			    summary, raised);
		}
	}
	if (err == KURA_OK && f->get && is(ev->outcome, "success") &&
	    ev->tenant_id[0] != '\0' &&
	    (is(ev->actor_type, "user") || is(ev->actor_type, "token")) &&
	    make_key(key, sizeof(key), ev->tenant_id, ev->actor_id) &&
	    win_hit(a, a->by_reader, key, ev->time_us, a->cfg.bulk_reads + 1,
	    &count)) {
		snprintf(summary, sizeof(summary), "bulk_reads: %llu reads by %s "
		    "within %llu s", (unsigned long long)count, ev->actor_id, win_s);
		err = raise_alert(a->store, ev, ev->tenant_id, ALERT_RULE_BULK_READS,
		    "warning", ev->actor_id, ev->source_ip, summary, raised);
	}
	return err;
}

kura_err
alerts_eval(struct alerts *a, const struct alerts_event *ev,
    size_t *ret_raised)
{
	struct alerts_flags f;
	size_t raised = 0;
	kura_err err, e2 = KURA_OK;

	if (a == NULL || ev == NULL)
		return KURA_EINVAL;
	if (ev->have_flags)
		f = ev->flags;
	else
		parse_flags(ev->detail, &f);
	err = eval_single(a->store, ev, &f, &raised);
	if (!is(ev->actor_type, "operator"))
		e2 = eval_windows(a, ev, &f, &raised);
	if (ret_raised != NULL)
		*ret_raised = raised;
	return err != KURA_OK ? err : e2;
}

/* ---- operator records from other processes ---- */

kura_err
alerts_catch_up(struct store *s, size_t *ret_raised)
{
	struct store_audit *list = NULL;
	struct alerts_event ev;
	struct alerts_flags f;
	char hash[STORE_INDEX_MAX];
	int64_t cursor = 0, head = 0, done;
	size_t n = 0, i, page, raised = 0;
	kura_err err;

	err = store_audit_head(s, NULL, &head, hash);
	if (err == KURA_ENOENT)
		err = KURA_OK;
	if (err == KURA_OK)
		err = store_alert_cursor_get(s, CATCH_UP_CURSOR, &cursor);
	if (err != KURA_OK || cursor >= head)
		goto out;
	done = cursor;
	for (page = 0; page < CATCH_UP_PAGES && err == KURA_OK; page++) {
		err = store_alert_operator_events(s, done, head, CATCH_UP_PAGE,
		    &list, &n);
		if (err != KURA_OK)
			break;
		for (i = 0; i < n && err == KURA_OK; i++) {
			alerts_event_from_row(&list[i], &ev);
			parse_flags(ev.detail, &f);
			if ((err = eval_single(s, &ev, &f, &raised)) == KURA_OK)
				done = list[i].seq;
		}
		store_audit_list_free(list, n);
		list = NULL;
		if (err == KURA_OK && n < CATCH_UP_PAGE) {
			done = head;    /* no operator record left up to head */
			break;
		}
	}
	if (done > cursor) {
		kura_err e2 = store_alert_cursor_put(s, CATCH_UP_CURSOR, done);
		if (err == KURA_OK)
			err = e2;
	}
out:
	if (ret_raised != NULL)
		*ret_raised = raised;
	return err;
}

/* ---- lifecycle ---- */

kura_err
alerts_new(struct store *s, const struct alerts_config *cfg,
    struct alerts **ret_alerts)
{
	struct alerts *a = NULL;
	size_t qmax;
	kura_err err;

	if (s == NULL || cfg == NULL || ret_alerts == NULL ||
	    cfg->failed_logins == 0 || cfg->failed_by_ip == 0 ||
	    cfg->window_s == 0 || cfg->window_s > 7 * 86400 ||
	    cfg->bulk_reads == 0 || cfg->bulk_reads >= UINT32_MAX ||
	    cfg->queue_max > ALERTS_QUEUE_MAX)
		return KURA_EINVAL;
	qmax = cfg->queue_max != 0 ? cfg->queue_max : ALERTS_QUEUE_DEFAULT;
	if ((a = kura_calloc(1, sizeof(*a))) == NULL)
		return KURA_ENOMEM;
	a->store = s;
	a->cfg = *cfg;
	a->cfg.queue_max = qmax;
	a->window_us = (int64_t)cfg->window_s * 1000000;
	/* whole slots within the window: a counted event is never older */
	a->slot_us = a->window_us / ALERTS_WIN_SLOTS;
	if ((err = kcrypto_random(&a->hash_seed, sizeof(a->hash_seed))) !=
	    KURA_OK)
		goto fail;
	if ((a->by_account = kura_calloc(1, sizeof(struct win))) == NULL ||
	    (a->by_address = kura_calloc(1, sizeof(struct win))) == NULL ||
	    (a->by_reader = kura_calloc(1, sizeof(struct win))) == NULL ||
	    (a->q = kura_calloc(qmax, sizeof(*a->q))) == NULL) {
		err = KURA_ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->idle, NULL);
	*ret_alerts = a;
	return KURA_OK;
fail:
	free(a->by_account);
	free(a->by_address);
	free(a->by_reader);
	free(a->q);
	free(a);
	return err;
}

void
alerts_free(struct alerts *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->idle);
	free(a->by_account);
	free(a->by_address);
	free(a->by_reader);
	free(a->q);
	free(a);
}

void
alerts_observe(void *arg, const struct store_audit *row)
{
	struct alerts *a = arg;
	size_t tail;

	if (a == NULL || row == NULL || strcmp(row->actor_type, "operator") == 0)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->q_len == a->cfg.queue_max) {
		a->st.dropped++;
	} else {
		tail = (a->q_head + a->q_len) % a->cfg.queue_max;
		alerts_event_from_row(row, &a->q[tail]);
		a->q_len++;
		a->st.received++;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
}

/* The observer registered with the audit trail: feeds the running engine
 * (none between alerts_stop and the next alerts_start). */
static void
observe_current(void *arg, const struct store_audit *row)
{
	(void)arg;
	pthread_mutex_lock(&current_lock);
	if (current != NULL)
		alerts_observe(current, row);
	pthread_mutex_unlock(&current_lock);
}

/* Evaluate queued events until stopped with an empty queue; look for
 * operator records every CATCH_UP_PERIOD_US. */
static void *
alerts_main(void *arg)
{
	struct alerts *a = arg;
	int64_t next_scan = 0;
	size_t n, i, raised, total, fails;
	struct timespec until;
	struct sched_param sp = { .sched_priority = 0 };
	bool stop;
	kura_err err;

	/* SCHED_BATCH: a record's arrival does not preempt the audit writer
	 * or a request thread, so the engine takes records in batches under
	 * load instead of waking for each one.  Best effort. */
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	pthread_mutex_lock(&a->lock);
	for (;;) {
		if (a->q_len == 0 && !a->stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 250 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&a->wake, &a->lock, &until);
		}
		for (n = 0; n < ALERTS_BATCH && a->q_len > 0; n++) {
			a->batch[n] = a->q[a->q_head];
			a->q_head = (a->q_head + 1) % a->cfg.queue_max;
			a->q_len--;
		}
		stop = a->stop;
		a->busy = true;
		pthread_mutex_unlock(&a->lock);

		total = fails = 0;
		for (i = 0; i < n; i++) {
			raised = 0;
			if ((err = alerts_eval(a, &a->batch[i], &raised)) != KURA_OK) {
				fails++;
				log_warn("alerts: record %lld not evaluated: %s",
				    (long long)a->batch[i].seq, kura_strerror(err));
			}
			total += raised;
		}
		if (kura_mono_us() >= next_scan) {
			raised = 0;
			if ((err = alerts_catch_up(a->store, &raised)) != KURA_OK)
				log_warn("alerts: operator records not evaluated: %s",
				    kura_strerror(err));
			total += raised;
			next_scan = kura_mono_us() + CATCH_UP_PERIOD_US;
		}

		pthread_mutex_lock(&a->lock);
		a->st.raised += total;
		a->st.errors += fails;
		a->st.evicted = a->evicted;
		a->busy = false;
		if (a->q_len == 0)
			pthread_cond_broadcast(&a->idle);
		if (stop && n == 0 && a->q_len == 0)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	store_thread_done(a->store);
	return NULL;
}

kura_err
alerts_start(struct store *s, const struct alerts_config *cfg,
    struct alerts **ret_alerts)
{
	struct alerts *a = NULL;
	kura_err err;

	if (ret_alerts == NULL)
		return KURA_EINVAL;
	if ((err = alerts_new(s, cfg, &a)) != KURA_OK)
		return err;
	pthread_mutex_lock(&current_lock);
	if (current != NULL) {
		err = KURA_EBUSY;
		goto out;
	}
	if (!observer_registered) {
		if ((err = audit_add_observer(observe_current, NULL)) != KURA_OK)
			goto out;
		observer_registered = true;
	}
	if (pthread_create(&a->thread, NULL, alerts_main, a) != 0) {
		err = KURA_ENOMEM;
		goto out;
	}
	(void)pthread_setname_np(a->thread, "kura-alerts");
	a->running = true;
	current = a;
	*ret_alerts = a;
	a = NULL;
out:
	pthread_mutex_unlock(&current_lock);
	alerts_free(a);
	return err;
}

void
alerts_stop(struct alerts *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&current_lock);
	if (current == a)
		current = NULL;
	pthread_mutex_unlock(&current_lock);
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		a->running = false;
	}
	if (a->st.dropped > 0)
		log_warn("alerts: %llu audit record(s) were not evaluated "
		    "(queue full)", (unsigned long long)a->st.dropped);
	alerts_free(a);
}

kura_err
alerts_flush(struct alerts *a, unsigned timeout_ms)
{
	struct timespec until;
	kura_err err = KURA_OK;
	int64_t ns;

	if (a == NULL || !a->running)
		return KURA_EINVAL;
	clock_gettime(CLOCK_REALTIME, &until);
	ns = (int64_t)until.tv_nsec + (int64_t)(timeout_ms % 1000) * 1000000;
	until.tv_sec += (time_t)(timeout_ms / 1000) + (time_t)(ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	pthread_mutex_lock(&a->lock);
	pthread_cond_signal(&a->wake);
	while (err == KURA_OK && (a->q_len > 0 || a->busy))
		if (pthread_cond_timedwait(&a->idle, &a->lock, &until) != 0)
			err = KURA_EBUSY;
	pthread_mutex_unlock(&a->lock);
	return err;
}

void
alerts_stats(struct alerts *a, struct alerts_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	*ret = a->st;
	ret->queued = a->q_len;
	if (!a->running)
		ret->evicted = a->evicted;
	pthread_mutex_unlock(&a->lock);
}

kura_err
alerts_serve_start(struct store *s, const struct kura_config *cfg)
{
	struct alerts_config ac;
	struct alerts *a = NULL;

	if (cfg == NULL)
		return KURA_EINVAL;
	alerts_config_from(cfg, &ac);
	return alerts_start(s, &ac, &a);
}

void
alerts_serve_stop(void)
{
	struct alerts *a;

	pthread_mutex_lock(&current_lock);
	a = current;
	pthread_mutex_unlock(&current_lock);
	alerts_stop(a);
}

void
alerts_serve_stats(struct alerts_stats *ret)
{
	pthread_mutex_lock(&current_lock);
	alerts_stats(current, ret);
	pthread_mutex_unlock(&current_lock);
}
