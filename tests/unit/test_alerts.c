/*
 * Unit tests for src/alerts (LOG-6) and the alerts part of src/store:
 * each rule on synthetic audit events against a temporary store (fires
 * exactly when it should, windows slide, memory stays bounded), the
 * queue, the engine thread and the catch-up over operator records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "crypto/kcrypto.h"
#include "store/store.h"

#define TEN_A "ten_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TEN_B "ten_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define USR_1 "usr_11111111111111111111111111111111"
#define USR_2 "usr_22222222222222222222222222222222"
#define T0 1800000000000000LL           /* a fixed "now" for events */
#define SEC 1000000LL

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
	struct alerts *a;
	int64_t seq;
};

static uint8_t sealed[] = { 0x01, 0x02, 0x03, 0x04, 0xfe, 0x00, 0xff };

static void
set_str(char *dst, size_t size, const char *src)
{
	assert_true(strlen(src) < size);
	memcpy(dst, src, strlen(src) + 1);
}

static void
add_tenant(struct store *s, const char *id, const char *contract)
{
	struct store_tenant t;

	memset(&t, 0, sizeof(t));
	set_str(t.id, sizeof(t.id), id);
	set_str(t.contract_id, sizeof(t.contract_id), contract);
	t.name.data = sealed;
	t.name.len = sizeof(sealed);
	t.seats = 10;
	set_str(t.status, sizeof(t.status), "active");
	set_str(t.region, sizeof(t.region), "jp");
	set_str(t.timezone, sizeof(t.timezone), "UTC");
	assert_int_equal(store_tenant_insert(s, &t), KURA_OK);
}

static struct store_tctx
tctx(const char *tenant_id)
{
	struct store_tctx c;

	memset(&c, 0, sizeof(c));
	set_str(c.tenant_id, sizeof(c.tenant_id), tenant_id);
	return c;
}

static void
add_user(struct store *s, const char *tenant, const char *id,
    const char *login_index)
{
	struct store_tctx c = tctx(tenant);
	struct store_user u;

	memset(&u, 0, sizeof(u));
	set_str(u.id, sizeof(u.id), id);
	set_str(u.login_index, sizeof(u.login_index), login_index);
	set_str(u.email_index, sizeof(u.email_index), login_index);
	u.login_id.data = sealed;
	u.login_id.len = sizeof(sealed);
	u.email.data = sealed;
	u.email.len = 3;
	u.display_name.data = sealed;
	u.display_name.len = 5;
	set_str(u.status, sizeof(u.status), "active");
	u.roles = "member";
	assert_int_equal(store_user_insert(s, &c, &u), KURA_OK);
}

static struct alerts_config
test_config(void)
{
	struct alerts_config c;

	memset(&c, 0, sizeof(c));
	c.failed_logins = 5;
	c.failed_by_ip = 8;
	c.window_s = 10;
	c.bulk_reads = 10;
	c.queue_max = 16;
	return c;
}

static int
setup(void **state)
{
	struct alerts_config c = test_config();
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || kcrypto_init() != KURA_OK)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kura_test_alerts_XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/kura.db", f->dir);
	if (store_open_sqlite(f->path, &f->s) != KURA_OK ||
	    store_migrate(f->s) != KURA_OK ||
	    alerts_new(f->s, &c, &f->a) != KURA_OK)
		return -1;
	add_tenant(f->s, TEN_A, "c-a");
	add_tenant(f->s, TEN_B, "c-b");
	add_user(f->s, TEN_A, USR_1, "i1");
	add_user(f->s, TEN_A, USR_2, "i2");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct fixture *f = *state;
	char p[224];

	alerts_free(f->a);
	store_close(f->s);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/kura.db%s", f->dir, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A synthetic event; the next seq of the fixture. */
static struct alerts_event
event(struct fixture *f, const char *tenant, const char *action,
    const char *outcome, int status, const char *actor_type,
    const char *actor_id, const char *resource_id, const char *ip,
    int64_t t, const char *detail)
{
	struct alerts_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = ++f->seq;
	snprintf(ev.id, sizeof(ev.id), "evt_%032llx", (unsigned long long)ev.seq);
	set_str(ev.tenant_id, sizeof(ev.tenant_id), tenant);
	set_str(ev.action, sizeof(ev.action), action);
	set_str(ev.outcome, sizeof(ev.outcome), outcome);
	ev.status = status;
	set_str(ev.actor_type, sizeof(ev.actor_type), actor_type);
	set_str(ev.actor_id, sizeof(ev.actor_id), actor_id);
	set_str(ev.resource_id, sizeof(ev.resource_id), resource_id);
	set_str(ev.source_ip, sizeof(ev.source_ip), ip);
	ev.time_us = t;
	set_str(ev.detail, sizeof(ev.detail), detail);
	return ev;
}

/* Evaluate and return how many alerts it raised. */
static size_t
eval(struct fixture *f, struct alerts_event ev)
{
	size_t raised = 99;

	assert_int_equal(alerts_eval(f->a, &ev, &raised), KURA_OK);
	return raised;
}

static size_t
failed_login(struct fixture *f, const char *user, const char *ip, int64_t t)
{
	return eval(f, event(f, TEN_A, "auth.login", "denied", 401, "anonymous",
	    "", user, ip, t, "{\"failed_count\":1,\"method\":\"POST\"}"));
}

/* Alerts of a rule in every scope (operator listing). */
static size_t
count_rule(struct fixture *f, const char *tenant, const char *rule)
{
	struct store_alert_filter flt;
	struct store_alert *list = NULL;
	size_t n = 0;

	memset(&flt, 0, sizeof(flt));
	flt.acked = -1;
	flt.rule = rule;
	flt.tenant_id = tenant;
	flt.limit = STORE_ALERT_PAGE_MAX;
	assert_int_equal(store_alert_list_all(f->s, &flt, &list, &n), KURA_OK);
	free(list);
	return n;
}

/* ---- store ---- */

static void
make_alert(struct store_alert *al, struct store_outbox *o, const char *tenant,
    int64_t seq, int64_t created)
{
	memset(al, 0, sizeof(*al));
	memset(o, 0, sizeof(*o));
	assert_int_equal(kcrypto_id_new("alr", al->id), KURA_OK);
	set_str(al->tenant_id, sizeof(al->tenant_id), tenant);
	set_str(al->rule, sizeof(al->rule), "token_created");
	set_str(al->severity, sizeof(al->severity), "info");
	set_str(al->summary, sizeof(al->summary), "token_created: x");
	al->event_seq = seq;
	set_str(al->event_id, sizeof(al->event_id), "evt_1");
	set_str(al->actor_id, sizeof(al->actor_id), USR_1);
	set_str(al->source_ip, sizeof(al->source_ip), "192.0.2.1");
	al->created_us = created;
	assert_int_equal(kcrypto_id_new("ntf", o->id), KURA_OK);
	set_str(o->tenant_id, sizeof(o->tenant_id), tenant);
	set_str(o->channel, sizeof(o->channel), "email");
	set_str(o->alert_id, sizeof(o->alert_id), al->id);
	set_str(o->payload, sizeof(o->payload), "{\"v\":1}");
}

static void
test_store_alerts(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx(TEN_A), b = tctx(TEN_B);
	struct store_alert al[5], got, *list = NULL;
	struct store_outbox o[5], *ob = NULL;
	struct store_alert_filter flt;
	size_t n = 0, i;

	for (i = 0; i < 5; i++) {
		make_alert(&al[i], &o[i], i == 4 ? "" : TEN_A, (int64_t)i + 1,
		    T0 + (int64_t)i);
		assert_int_equal(store_alert_insert(f->s, &al[i], &o[i], 1),
		    KURA_OK);
	}
	/* the same rule for the same record and tenant is stored once */
	make_alert(&got, &o[0], TEN_A, 1, T0);
	assert_int_equal(store_alert_insert(f->s, &got, &o[0], 1), KURA_EEXIST);
	/* a summary that is not text, an unknown severity */
	make_alert(&got, &o[0], TEN_A, 9, T0);
	set_str(got.severity, sizeof(got.severity), "bad");
	assert_int_equal(store_alert_insert(f->s, &got, &o[0], 1), KURA_EINVAL);

	/* the tenant sees its own, newest first, page by page */
	memset(&flt, 0, sizeof(flt));
	flt.acked = -1;
	flt.limit = 2;
	assert_int_equal(store_alert_list(f->s, &a, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, al[3].id);
	assert_string_equal(list[1].id, al[2].id);
	assert_string_equal(list[0].summary, "token_created: x");
	flt.after_id = al[2].id;
	free(list);
	assert_int_equal(store_alert_list(f->s, &a, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].id, al[0].id);
	free(list);
	/* another tenant sees none, and a cursor of A's gives B nothing */
	flt.after_id = NULL;
	assert_int_equal(store_alert_list(f->s, &b, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(store_alert_get(f->s, &b, al[0].id, &got), KURA_ENOENT);
	assert_int_equal(store_alert_ack(f->s, &b, al[0].id, USR_1, 0),
	    KURA_ENOENT);

	/* acknowledge once */
	assert_int_equal(store_alert_ack(f->s, &a, al[0].id, USR_1, T0), KURA_OK);
	assert_int_equal(store_alert_ack(f->s, &a, al[0].id, USR_1, T0),
	    KURA_ECONFLICT);
	assert_int_equal(store_alert_get(f->s, &a, al[0].id, &got), KURA_OK);
	assert_true(got.acked_us == T0);
	assert_string_equal(got.acked_by, USR_1);
	flt.limit = 100;
	flt.acked = 0;
	assert_int_equal(store_alert_list(f->s, &a, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 3);
	free(list);
	flt.acked = 1;
	assert_int_equal(store_alert_list(f->s, &a, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 1);
	free(list);

	/* operators: everything, one tenant, or operator-wide only */
	assert_int_equal(count_rule(f, NULL, NULL), 5);
	assert_int_equal(count_rule(f, TEN_A, NULL), 4);
	assert_int_equal(count_rule(f, TEN_B, NULL), 0);
	assert_int_equal(count_rule(f, "", NULL), 1);

	/* the outbox: pending until delivered */
	assert_int_equal(store_outbox_pending(f->s, "email", T0 + SEC, 100, &ob,
	    &n), KURA_OK);
	assert_int_equal(n, 5);
	assert_string_equal(ob[0].alert_id, al[0].id);
	assert_int_equal(ob[0].attempts, 0);
	assert_int_equal(store_outbox_attempt(f->s, ob[0].id, 0, T0 + 60 * SEC),
	    KURA_OK);
	assert_int_equal(store_outbox_attempt(f->s, ob[1].id, T0, 0), KURA_OK);
	assert_int_equal(store_outbox_attempt(f->s, ob[1].id, T0, 0),
	    KURA_ENOENT);
	free(ob);
	assert_int_equal(store_outbox_pending(f->s, "email", T0 + SEC, 100, &ob,
	    &n), KURA_OK);
	assert_int_equal(n, 3);   /* one delivered, one retried later */
	free(ob);
	assert_int_equal(store_outbox_pending(f->s, "webhook", T0, 100, &ob,
	    &n), KURA_OK);
	assert_int_equal(n, 0);
	free(ob);
}

static void
test_store_networks(void **state)
{
	struct fixture *f = *state;
	struct store_tctx a = tctx(TEN_A), b = tctx(TEN_B);
	enum store_net_seen seen;

	assert_int_equal(store_network_seen(f->s, &a, USR_1, "192.0.2.0/24", 0,
	    &seen), KURA_OK);
	assert_int_equal(seen, STORE_NET_FIRST);
	assert_int_equal(store_network_seen(f->s, &a, USR_1, "192.0.2.0/24", 0,
	    &seen), KURA_OK);
	assert_int_equal(seen, STORE_NET_KNOWN);
	assert_int_equal(store_network_seen(f->s, &a, USR_1, "198.51.100.0/24", 0,
	    &seen), KURA_OK);
	assert_int_equal(seen, STORE_NET_NEW);
	/* users are separate; another tenant's user is no user of B */
	assert_int_equal(store_network_seen(f->s, &a, USR_2, "198.51.100.0/24", 0,
	    &seen), KURA_OK);
	assert_int_equal(seen, STORE_NET_FIRST);
	assert_int_equal(store_network_seen(f->s, &b, USR_1, "192.0.2.0/24", 0,
	    &seen), KURA_ENOENT);
}

/* ---- rules ---- */

static void
test_failed_account(void **state)
{
	struct fixture *f = *state;
	int i;

	/* four failures: below the threshold of five */
	for (i = 0; i < 4; i++)
		assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + i * SEC), 0);
	/* another account's failures do not add up with USR_1's */
	assert_int_equal(failed_login(f, USR_2, "198.51.100.7", T0), 0);
	/* the fifth within the window fires once */
	assert_int_equal(failed_login(f, USR_1, "192.0.2.2", T0 + 4 * SEC), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_FAILED_ACCOUNT), 1);
	/* more within the same window: no second alert */
	for (i = 5; i < 9; i++)
		assert_int_equal(failed_login(f, USR_1, "192.0.2.3", T0 + i * SEC), 0);
	/* a new burst after the window alerts again */
	for (i = 0; i < 4; i++)
		assert_int_equal(failed_login(f, USR_1, "203.0.113.1",
		    T0 + 30 * SEC + i * SEC), 0);
	assert_int_equal(failed_login(f, USR_1, "203.0.113.2", T0 + 34 * SEC), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_FAILED_ACCOUNT), 2);
	/* a malformed sign-in (400) and a success are not failures */
	for (i = 0; i < 6; i++)
		assert_int_equal(eval(f, event(f, TEN_A, "auth.login", "failure",
		    400, "anonymous", "", USR_2, "203.0.113.9", T0 + 100 * SEC,
		    "{}")), 0);
}

static void
test_window_slides(void **state)
{
	struct fixture *f = *state;
	int i;

	/* four failures, then the fifth after they left the window */
	for (i = 0; i < 4; i++)
		assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + i * SEC), 0);
	assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + 14 * SEC), 0);
	/* four more within the window of the fifth: the last of them alerts */
	assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + 15 * SEC), 0);
	assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + 16 * SEC), 0);
	assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + 17 * SEC), 0);
	assert_int_equal(failed_login(f, USR_1, "192.0.2.1", T0 + 18 * SEC), 1);
	assert_int_equal(count_rule(f, NULL, ALERT_RULE_FAILED_ACCOUNT), 1);
}

static void
test_failed_address(void **state)
{
	struct fixture *f = *state;
	char user[40];
	int i;

	/* eight failures from one address against different accounts */
	for (i = 0; i < 8; i++) {
		snprintf(user, sizeof(user), "usr_%032d", i);
		assert_int_equal(failed_login(f, user, "192.0.2.50",
		    T0 + i * 100000), i == 7 ? 1 : 0);
	}
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_FAILED_ADDRESS), 1);
	assert_int_equal(count_rule(f, NULL, ALERT_RULE_FAILED_ACCOUNT), 0);
	/* unknown contract: no tenant, an operator-wide alert */
	for (i = 0; i < 8; i++)
		(void)eval(f, event(f, "", "auth.login", "denied", 401,
		    "anonymous", "", "", "198.51.100.9", T0 + i * SEC, "{}"));
	assert_int_equal(count_rule(f, "", ALERT_RULE_FAILED_ADDRESS), 1);
}

static void
test_single_rules(void **state)
{
	struct fixture *f = *state;
	struct store_alert_filter flt;
	struct store_alert *list = NULL;
	size_t n = 0, i;

	assert_int_equal(eval(f, event(f, TEN_A, "auth.login", "denied", 401,
	    "anonymous", "", USR_1, "192.0.2.1", T0,
	    "{\"failed_count\":5,\"locked\":true}")), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_LOCKED), 1);
	assert_int_equal(eval(f, event(f, TEN_A, "user.update", "success", 200,
	    "user", USR_1, USR_2, "192.0.2.1", T0, "{\"granted_admin\":true}")), 1);
	assert_int_equal(eval(f, event(f, TEN_A, "user.update", "success", 200,
	    "user", USR_1, USR_2, "192.0.2.1", T0, "{\"method\":\"PATCH\"}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "token.create", "success", 201,
	    "user", USR_1, "tok_1", "192.0.2.1", T0, "{}")), 1);
	assert_int_equal(eval(f, event(f, TEN_A, "token.create", "denied", 403,
	    "user", USR_1, "", "192.0.2.1", T0, "{}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "settings.security_update",
	    "success", 200, "user", USR_1, "security", "192.0.2.1", T0,
	    "{\"allowlist_changed\":true}")), 1);
	assert_int_equal(eval(f, event(f, TEN_A, "settings.security_update",
	    "success", 200, "user", USR_1, "security", "192.0.2.1", T0, "{}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "audit.export", "success", 200,
	    "user", USR_1, "", "192.0.2.1", T0,
	    "{\"bulk\":true,\"method\":\"GET\"}")), 1);
	/* audit verification failure: operator-wide plus the tenant's */
	assert_int_equal(eval(f, event(f, TEN_A, "audit.verify", "failure", 0,
	    "operator", "root", TEN_A, "local", T0, "{\"via\":\"cli\"}")), 2);
	assert_int_equal(eval(f, event(f, "", "audit.verify", "failure", 0,
	    "operator", "root", "", "local", T0, "{\"via\":\"cli\"}")), 1);
	assert_int_equal(eval(f, event(f, "", "audit.verify", "success", 0,
	    "operator", "root", "", "local", T0, "{\"via\":\"cli\"}")), 0);
	/* the tenant's own check through the API */
	assert_int_equal(eval(f, event(f, TEN_A, "audit.verify", "success", 200,
	    "user", USR_1, "", "192.0.2.1", T0,
	    "{\"method\":\"GET\",\"verified\":false}")), 2);
	assert_int_equal(eval(f, event(f, TEN_A, "audit.verify", "success", 200,
	    "user", USR_1, "", "192.0.2.1", T0,
	    "{\"method\":\"GET\",\"verified\":true}")), 0);
	assert_int_equal(count_rule(f, "", ALERT_RULE_VERIFY), 3);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_VERIFY), 2);

	/* severities, and summaries of ids, counts and rule names only */
	memset(&flt, 0, sizeof(flt));
	flt.acked = -1;
	flt.limit = 100;
	assert_int_equal(store_alert_list_all(f->s, &flt, &list, &n), KURA_OK);
	assert_int_equal(n, 10);
	for (i = 0; i < n; i++) {
		assert_non_null(strstr(list[i].summary, list[i].rule));
		assert_null(strstr(list[i].summary, "192.0.2"));
		if (strcmp(list[i].rule, ALERT_RULE_VERIFY) == 0) {
			assert_string_equal(list[i].severity, "critical");
			assert_string_equal(list[i].actor_id, "");
		}
	}
	free(list);
}

static void
test_new_network(void **state)
{
	struct fixture *f = *state;

#define SIGNIN(ip) eval(f, event(f, TEN_A, "auth.login", "success", 200, \
	    "user", USR_1, USR_1, ip, T0, "{\"method\":\"POST\"}"))
	assert_int_equal(SIGNIN("192.0.2.10"), 0);        /* first: remembered */
	assert_int_equal(SIGNIN("192.0.2.200"), 0);       /* same /24 */
	assert_int_equal(SIGNIN("198.51.100.1"), 1);      /* new /24 */
	assert_int_equal(SIGNIN("198.51.100.2"), 0);      /* now known */
	assert_int_equal(SIGNIN("2001:db8:1:2::1"), 1);   /* IPv6 /48 */
	assert_int_equal(SIGNIN("2001:db8:1:ffff::9"), 0);
	assert_int_equal(SIGNIN("::1"), 1);
	assert_int_equal(SIGNIN("127.0.0.1"), 1);
#undef SIGNIN
	/* a failed sign-in from a new network remembers nothing */
	assert_int_equal(eval(f, event(f, TEN_A, "auth.login", "denied", 401,
	    "anonymous", "", USR_1, "203.0.113.5", T0, "{}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "auth.login", "success", 200,
	    "user", USR_1, USR_1, "203.0.113.5", T0, "{}")), 1);
	/* MFA completion from the network of the password step: known */
	assert_int_equal(eval(f, event(f, TEN_A, "auth.mfa", "success", 200,
	    "user", USR_1, USR_1, "203.0.113.5", T0, "{}")), 0);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_NEW_NETWORK), 5);
}

static void
test_bulk_reads(void **state)
{
	struct fixture *f = *state;
	int i;

	/* ten reads are fine, the eleventh in the window alerts */
	for (i = 0; i < 10; i++)
		assert_int_equal(eval(f, event(f, TEN_A, "user.list", "success", 200,
		    "user", USR_1, "", "192.0.2.1", T0 + i * 1000,
		    "{\"method\":\"GET\"}")), 0);
	/* writes and refused reads do not count */
	assert_int_equal(eval(f, event(f, TEN_A, "user.update", "success", 200,
	    "user", USR_1, USR_2, "192.0.2.1", T0, "{\"method\":\"PATCH\"}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "user.list", "denied", 403,
	    "user", USR_1, "", "192.0.2.1", T0, "{\"method\":\"GET\"}")), 0);
	assert_int_equal(eval(f, event(f, TEN_A, "user.list", "success", 200,
	    "user", USR_1, "", "192.0.2.1", T0 + SEC, "{\"method\":\"GET\"}")), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_BULK_READS), 1);
}

/* An event made from a row the audit writer hands over with its detail
 * object: the rules read the object, with the same outcome as parsing
 * the detail text, and a detail too long for an event has no flags. */
static struct alerts_event
event_of_row(struct fixture *f, const char *action, const char *detail,
    const json_t *obj)
{
	struct store_audit row;
	struct alerts_event ev;

	memset(&row, 0, sizeof(row));
	row.seq = ++f->seq;
	snprintf(row.id, sizeof(row.id), "evt_%032llx", (unsigned long long)row.seq);
	set_str(row.tenant_id, sizeof(row.tenant_id), TEN_A);
	row.time_us = T0;
	set_str(row.actor_type, sizeof(row.actor_type), "user");
	set_str(row.actor_id, sizeof(row.actor_id), USR_1);
	set_str(row.source_ip, sizeof(row.source_ip), "192.0.2.1");
	set_str(row.action, sizeof(row.action), action);
	set_str(row.resource_id, sizeof(row.resource_id), USR_2);
	set_str(row.outcome, sizeof(row.outcome), "success");
	row.status = 200;
	row.detail = (char *)detail;
	row.detail_json = obj;
	alerts_event_from_row(&row, &ev);
	return ev;
}

static void
test_detail_object(void **state)
{
	struct fixture *f = *state;
	const char *admin = "{\"granted_admin\":true,\"method\":\"PATCH\"}";
	json_t *obj = json_loads(admin, 0, NULL), *big;
	struct alerts_event ev;
	char *long_detail;
	int i;

	assert_non_null(obj);
	ev = event_of_row(f, "user.update", admin, obj);
	assert_true(ev.have_flags);
	assert_string_equal(ev.detail, "");             /* not copied */
	assert_true(ev.flags.granted_admin);
	assert_int_equal(eval(f, ev), 1);
	/* the text path gives the same */
	ev = event_of_row(f, "user.update", admin, NULL);
	assert_false(ev.have_flags);
	assert_string_equal(ev.detail, admin);
	assert_int_equal(eval(f, ev), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_ADMIN), 2);
	json_decref(obj);

	/* too long for an event: no flags either way */
	big = json_pack("{s:b,s:s}", "granted_admin", 1, "pad", "");
	assert_non_null(big);
	long_detail = calloc(1, ALERTS_DETAIL_MAX + 64);
	assert_non_null(long_detail);
	memset(long_detail, 'x', ALERTS_DETAIL_MAX + 8);
	assert_int_equal(json_object_set_new(big, "pad", json_string(long_detail)), 0);
	free(long_detail);
	long_detail = json_dumps(big, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(long_detail);
	ev = event_of_row(f, "user.update", long_detail, big);
	assert_false(ev.flags.granted_admin);
	assert_int_equal(eval(f, ev), 0);
	ev = event_of_row(f, "user.update", long_detail, NULL);
	assert_int_equal(eval(f, ev), 0);
	free(long_detail);
	json_decref(big);

	/* reads counted from the object: the eleventh alerts */
	obj = json_pack("{s:s}", "method", "GET");
	assert_non_null(obj);
	for (i = 0; i < 10; i++)
		assert_int_equal(eval(f, event_of_row(f, "user.list",
		    "{\"method\":\"GET\"}", obj)), 0);
	assert_int_equal(eval(f, event_of_row(f, "user.list",
	    "{\"method\":\"GET\"}", obj)), 1);
	json_decref(obj);
}

/* Many distinct keys: the tables do not grow, and a key under attack
 * still alerts. */
static void
test_bounded(void **state)
{
	struct fixture *f = *state;
	struct alerts_stats st;
	char ip[48];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", (i >> 8) & 255, i & 255);
		(void)failed_login(f, "", ip, T0 + i);
	}
	alerts_stats(f->a, &st);
	assert_true(st.evicted > 0);
	for (i = 0; i < 5; i++)
		(void)failed_login(f, USR_1, "192.0.2.1", T0 + 20000 + i);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_FAILED_ACCOUNT), 1);
}

static void
test_queue_drops(void **state)
{
	struct fixture *f = *state;
	struct store_audit row;
	struct alerts_stats st;
	int i;

	memset(&row, 0, sizeof(row));
	row.seq = 1;
	set_str(row.id, sizeof(row.id), "evt_1");
	set_str(row.actor_type, sizeof(row.actor_type), "user");
	set_str(row.action, sizeof(row.action), "user.list");
	set_str(row.outcome, sizeof(row.outcome), "success");
	for (i = 0; i < 20; i++)
		alerts_observe(f->a, &row);
	/* operator records are left to the catch-up */
	set_str(row.actor_type, sizeof(row.actor_type), "operator");
	alerts_observe(f->a, &row);
	alerts_stats(f->a, &st);
	assert_int_equal(st.queued, 16);
	assert_int_equal(st.received, 16);
	assert_int_equal(st.dropped, 4);
}

static void
append(struct store *s, const char *tenant, const char *actor_type,
    const char *actor_id, const char *action, const char *outcome,
    const char *resource_id, const char *ip, const char *detail)
{
	struct audit_rec r;

	assert_int_equal(audit_rec_init(&r, tenant, actor_type, actor_id, action),
	    KURA_OK);
	set_str(r.outcome, sizeof(r.outcome), outcome);
	set_str(r.source_ip, sizeof(r.source_ip), ip);
	set_str(r.resource_id, sizeof(r.resource_id), resource_id);
	set_str(r.resource_type, sizeof(r.resource_type), "x");
	r.status = strcmp(outcome, "success") == 0 ? 200 : 401;
	r.detail = json_loads(detail, 0, NULL);
	assert_int_equal(audit_append(s, &r), KURA_OK);
	audit_rec_clear(&r);
}

/* The running engine: records reach it through the audit observer;
 * operator records through the catch-up, once. */
static void
test_engine(void **state)
{
	struct fixture *f = *state;
	struct alerts_config c = test_config();
	struct alerts *e = NULL, *e2 = NULL;
	struct alerts_stats st;
	size_t raised = 0;
	int i;

	assert_int_equal(alerts_start(f->s, &c, &e), KURA_OK);
	assert_int_equal(alerts_start(f->s, &c, &e2), KURA_EBUSY);
	append(f->s, TEN_A, "user", USR_1, "token.create", "success", "tok_x",
	    "192.0.2.1", "{}");
	for (i = 0; i < 5; i++)
		append(f->s, TEN_A, "anonymous", "", "auth.login", "denied", USR_2,
		    "192.0.2.1", "{}");
	append(f->s, TEN_A, "operator", "root", "audit.verify", "failure", TEN_A,
	    "local", "{\"via\":\"cli\"}");
	assert_int_equal(alerts_flush(e, 5000), KURA_OK);
	alerts_stats(e, &st);
	assert_int_equal(st.received, 6);
	assert_int_equal(st.dropped, 0);
	alerts_stop(e);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_TOKEN), 1);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_FAILED_ACCOUNT), 1);
	/* the engine's catch-up may or may not have run yet: run it (again) */
	assert_int_equal(alerts_catch_up(f->s, &raised), KURA_OK);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_VERIFY), 1);
	assert_int_equal(count_rule(f, "", ALERT_RULE_VERIFY), 1);
	assert_int_equal(alerts_catch_up(f->s, &raised), KURA_OK);
	assert_int_equal(raised, 0);
	/* a stopped engine hears nothing; a new one can start */
	append(f->s, TEN_A, "user", USR_1, "token.create", "success", "tok_y",
	    "192.0.2.1", "{}");
	assert_int_equal(alerts_start(f->s, &c, &e2), KURA_OK);
	alerts_stop(e2);
	assert_int_equal(count_rule(f, TEN_A, ALERT_RULE_TOKEN), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_networks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_account, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_window_slides, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_address, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_single_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detail_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
