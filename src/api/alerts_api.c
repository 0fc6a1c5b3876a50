/*
 * Alerts of the caller's tenant (LOG-6): GET /api/v1/alerts and
 * POST /api/v1/alerts/{id}/ack.  The alerts engine (src/alerts) raises
 * them from the audit stream; here tenant admins (permission audit.read)
 * see and acknowledge their own tenant's, never another's: the store
 * binds the tenant from the authenticated context, so another tenant's
 * alert id answers 404 like one that does not exist (TEN-1).
 */
#include <string.h>

#include "api/api.h"
#include "core/log.h"
#include "core/parse.h"

#define ALERTS_PAGE_DEFAULT 50
#define ALERTS_PAGE_MAX 200

static json_t *
alert_json(const struct api_auth *a, const struct store_alert *al)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:o,s:b,s:o,s:s?}",
	    "id", al->id, "rule", al->rule, "severity", al->severity,
	    "summary", al->summary,
	    "event_id", al->event_id[0] ? al->event_id : NULL,
	    "actor_id", al->actor_id[0] ? al->actor_id : NULL,
	    "source_ip", al->source_ip[0] ? al->source_ip : NULL,
	    "created", api_time(a, al->created_us),
	    "acked", al->acked_us != 0,
	    "acked_at", api_time(a, al->acked_us),
	    "acked_by", al->acked_by[0] ? al->acked_by : NULL);
}

/*
 * GET /api/v1/alerts?acked=true|false&rule=R&cursor=ID&limit=N: newest
 * first; next_cursor is the last id shown when more remain, else null.
 */
void
api_alerts_list(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *acked = http_query(req, "acked");
	const char *rule = http_query(req, "rule");
	const char *cursor = http_query(req, "cursor");
	const char *lim = http_query(req, "limit");
	struct store_alert_filter f;
	struct store_alert *list = NULL;
	uint64_t limit = ALERTS_PAGE_DEFAULT;
	json_t *items = NULL, *next = NULL, *item;
	size_t n = 0, i;
	kura_err err;

	memset(&f, 0, sizeof(f));
	f.acked = -1;
	if (acked != NULL) {
		if (strcmp(acked, "true") == 0)
			f.acked = 1;
		else if (strcmp(acked, "false") == 0)
			f.acked = 0;
		else {
			api_bad_field(req, "acked", "true or false");
			return;
		}
	}
	if (lim != NULL &&
	    kura_parse_u64(lim, 1, ALERTS_PAGE_MAX, &limit) != KURA_OK) {
		api_bad_field(req, "limit", "a whole number from 1 to 200");
		return;
	}
	if (rule != NULL && (strlen(rule) >= STORE_ALERT_RULE_MAX ||
	    !kura_token_ok(rule, STORE_ALERT_RULE_MAX - 1, "_"))) {
		api_bad_field(req, "rule", "a rule name");
		return;
	}
	if (cursor != NULL && !kcrypto_id_valid(cursor, "alr")) {
		api_bad_field(req, "cursor", "a next_cursor value");
		return;
	}
	f.rule = rule;
	f.after_id = cursor;
	f.limit = (size_t)limit + 1;    /* one more says whether more remain */
	err = store_alert_list(app->store, &a->ctx, &f, &list, &n);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	items = json_array();
	for (i = 0; items != NULL && i < n && i < limit; i++) {
		if ((item = alert_json(a, &list[i])) == NULL ||
		    json_array_append_new(items, item) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	if (items == NULL) {
		free(list);
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	next = n > limit ? json_string(list[limit - 1].id) : json_null();
	free(list);
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "items", items,
	    "next_cursor", next));
}

/*
 * POST /api/v1/alerts/{id}/ack: acknowledge once, recording who did.
 * 404 for an id that is not the caller's tenant's; 409
 * already_acknowledged the second time.
 */
void
api_alert_ack(struct http_req *req)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *id = http_param(req, "id");
	struct store_alert al;
	kura_err err;

	if (id == NULL || !kcrypto_id_valid(id, "alr")) {
		http_reply_kura_err(req, KURA_ENOENT);
		return;
	}
	err = store_begin(app->store);
	if (err) {
		http_reply_kura_err(req, err);
		return;
	}
	err = store_alert_ack(app->store, &a->ctx, id, a->user->id, 0);
	if (err == KURA_OK)
		err = api_commit(req, 200, id);
	if (err) {
		(void)store_rollback(app->store);
		if (err == KURA_ECONFLICT)
			http_reply_error(req, 409, "already_acknowledged",
			    "the alert was acknowledged already");
		else
			http_reply_kura_err(req, err);
		return;
	}
	memset(&al, 0, sizeof(al));
	err = store_alert_get(app->store, &a->ctx, id, &al);
	if (err) {
		log_error("request %s: alert %s acknowledged but not read back: %s",
		    req->request_id, id, kura_strerror(err));
		http_reply_kura_err(req, err);
		return;
	}
	http_reply_json(req, 200, alert_json(a, &al));
}
