#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/tenants.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "core/tz.h"

void
api_bad_field(struct http_req *req, const char *field, const char *why)
{
	struct kbuf b;

	kbuf_init(&b, 512);
	(void)kbuf_printf(&b, "%s: %s", field, why);
	http_reply_error(req, 400, "invalid_field", b.data ? b.data : "invalid field");
	kbuf_free(&b);
}

bool
api_only_fields(struct http_req *req, const char *const *allowed)
{
	const char *key;
	json_t *v;

	if (req->json == NULL)
		return true;
	json_object_foreach(req->json, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			http_reply_error(req, 400, "unknown_field",
			    "the body has a field this resource does not take");
			return false;
		}
	}
	return true;
}

bool
api_str(struct http_req *req, const char *field, bool required, const char **ret)
{
	json_t *v = req->json ? json_object_get(req->json, field) : NULL;

	*ret = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			api_bad_field(req, field, "is required");
			return false;
		}
		return true;
	}
	if (!json_is_string(v)) {
		api_bad_field(req, field, "must be a string");
		return false;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		api_bad_field(req, field, "must not contain NUL characters");
		return false;
	}
	*ret = json_string_value(v);
	return true;
}

bool
api_check(struct http_req *req, const char *field, const char *why)
{
	if (why == NULL)
		return true;
	/* validators' sentences start with the field's name already */
	http_reply_error(req, 400, "invalid_field", why);
	(void)field;
	return false;
}

bool
api_str_array(struct http_req *req, const char *field, bool required,
    size_t max, json_t **ret)
{
	json_t *v = req->json ? json_object_get(req->json, field) : NULL;
	json_t *item;
	size_t i;

	*ret = NULL;
	if (v == NULL) {
		if (required) {
			api_bad_field(req, field, "is required");
			return false;
		}
		return true;
	}
	if (!json_is_array(v) || json_array_size(v) > max) {
		api_bad_field(req, field, "must be an array of strings (limited length)");
		return false;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || !kura_text_ok(json_string_value(item), 256) ||
		    strlen(json_string_value(item)) != json_string_length(item)) {
			api_bad_field(req, field, "must be an array of short strings");
			return false;
		}
	}
	*ret = v;
	return true;
}

bool
api_int(struct http_req *req, const char *field, bool required, int64_t min,
    int64_t max, int64_t *ret, bool *ret_present)
{
	json_t *v = req->json ? json_object_get(req->json, field) : NULL;

	if (ret_present != NULL)
		*ret_present = v != NULL;
	if (v == NULL) {
		if (required) {
			api_bad_field(req, field, "is required");
			return false;
		}
		return true;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		api_bad_field(req, field, "must be a whole number in the allowed range");
		return false;
	}
	*ret = json_integer_value(v);
	return true;
}

bool
api_labels(struct http_req *req, json_t **ret)
{
	json_t *v = req->json ? json_object_get(req->json, "labels") : NULL;
	json_t *item;
	size_t i;

	*ret = NULL;
	if (v == NULL)
		return true;
	if (!json_is_array(v) || json_array_size(v) > 32) {
		api_bad_field(req, "labels", "must be an array of at most 32 strings");
		return false;
	}
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);
		if (s == NULL || *s == '\0' || !kura_text_ok(s, 64) ||
		    strlen(s) != json_string_length(item)) {
			api_bad_field(req, "labels",
			    "each label is 1 to 64 bytes of text without control characters");
			return false;
		}
	}
	*ret = v;
	return true;
}

bool
api_perms_field(struct http_req *req, const char *field, bool required,
    rbac_perms *ret, bool *ret_present)
{
	json_t *arr = NULL, *item;
	rbac_perms bits = 0;
	size_t i;

	if (ret_present != NULL)
		*ret_present = false;
	/* each name at most once, so the catalogue's size bounds the array */
	if (!api_str_array(req, field, required, rbac_catalogue_len, &arr))
		return false;
	if (arr == NULL) {
		*ret = 0;
		return true;
	}
	json_array_foreach(arr, i, item) {
		rbac_perms bit = rbac_perm_bit(json_string_value(item));
		if (bit == 0 || (bits & bit) != 0) {
			api_bad_field(req, field,
			    "each must be a permission name from GET /api/v1/permissions, once");
			return false;
		}
		bits |= bit;
	}
	if (ret_present != NULL)
		*ret_present = true;
	*ret = bits;
	return true;
}

bool
api_label_query(struct http_req *req, const char **ret)
{
	const char *v = http_query(req, "label");

	*ret = NULL;
	if (v == NULL)
		return true;
	if (*v == '\0' || !kura_text_ok(v, 64)) {
		api_bad_field(req, "label",
		    "1 to 64 bytes of text without control characters");
		return false;
	}
	*ret = v;
	return true;
}

kura_err
api_seal_str(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const char *s, struct store_blob *ret)
{
	return kcrypto_seal(keys, table, column, row, s, strlen(s), &ret->data,
	    &ret->len);
}

json_t *
api_open_json(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const struct store_blob *b)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *j;

	if (b->data == NULL || kcrypto_open(keys, table, column, row, b->data,
	    b->len, &pt, &len) != KURA_OK)
		return NULL;
	j = json_stringn((const char *)pt, len);
	kura_wipe(pt, len);
	free(pt);
	return j;
}

kura_err
api_seal_json(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const json_t *v, struct store_blob *ret)
{
	char *s = json_dumps(v, JSON_COMPACT);
	kura_err err;

	if (s == NULL)
		return KURA_ENOMEM;
	err = kcrypto_seal(keys, table, column, row, s, strlen(s), &ret->data,
	    &ret->len);
	kura_free_secret_str(s);
	return err;
}

json_t *
api_open_json_value(const struct kcrypto_tkeys *keys, const char *table,
    const char *column, const char *row, const struct store_blob *b)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *j;

	if (b->data == NULL || b->len == 0)
		return json_array();
	if (kcrypto_open(keys, table, column, row, b->data, b->len, &pt, &len) != KURA_OK)
		return NULL;
	j = json_loadb((const char *)pt, len, 0, NULL);
	kura_wipe(pt, len);
	free(pt);
	return j;
}

kura_err
api_blind(const struct kcrypto_tkeys *keys, const char *purpose, const char *v,
    char ret[STORE_INDEX_MAX])
{
	char *folded = tenant_fold(v);
	kura_err err;

	if (folded == NULL)
		return KURA_ENOMEM;
	err = kcrypto_blind_index(keys, purpose, folded, strlen(folded), ret);
	kura_free_secret_str(folded);
	return err;
}

kura_err
api_settings_load(struct app *app, const struct store_tctx *ctx,
    const struct kcrypto_tkeys *keys, struct auth_settings *ret)
{
	struct auth_settings def;
	struct store_blob doc = { NULL, 0 };
	json_t *j = NULL;
	const char *field, *msg;
	kura_err err;

	auth_settings_default(&def);
	err = store_settings_get(app->store, ctx, "security", &doc);
	if (err == KURA_ENOENT) {
		*ret = def;
		return KURA_OK;
	}
	if (err)
		return err;
	j = api_open_json_value(keys, "tenant_settings", "security", ctx->tenant_id,
	    &doc);
	free(doc.data);
	if (j == NULL)
		return KURA_ECRYPTO;
	err = auth_settings_from_json(j, &def, ret, &field, &msg);
	json_decref(j);
	return err;
}

kura_err
api_settings_save(struct app *app, const struct store_tctx *ctx,
    const struct kcrypto_tkeys *keys, const struct auth_settings *s)
{
	struct store_blob doc = { NULL, 0 };
	json_t *j = auth_settings_to_json(s);
	kura_err err;

	if (j == NULL)
		return KURA_ENOMEM;
	err = api_seal_json(keys, "tenant_settings", "security", ctx->tenant_id, j,
	    &doc);
	json_decref(j);
	if (err == KURA_OK)
		err = store_settings_put(app->store, ctx, "security", doc.data,
		    doc.len, kura_now_us());
	free(doc.data);
	return err;
}

kura_err
api_user_perms(struct app *app, const struct store_tctx *ctx, const char *roles,
    rbac_perms *ret_perms, bool *ret_admin)
{
	rbac_perms all = 0;
	bool admin = false;
	const char *s = roles;

	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char name[STORE_ID_MAX + 8];
		rbac_perms p = 0;

		if (len >= sizeof(name))
			return KURA_EINVAL;
		memcpy(name, s, len);
		name[len] = '\0';
		if (rbac_builtin(name, &p)) {
			if (strcmp(name, RBAC_ROLE_ADMIN) == 0)
				admin = true;
		} else {
			struct store_role *r = NULL;
			kura_err err = store_role_get(app->store, ctx, name, &r);
			if (err == KURA_OK)
				err = rbac_parse(r->permissions, &p);
			store_role_free(r);
			if (err == KURA_ENOENT)
				p = 0;     /* a deleted role grants nothing */
			else if (err)
				return err;
		}
		all |= p;
		s = comma ? comma + 1 : NULL;
	}
	*ret_perms = all;
	*ret_admin = admin;
	return KURA_OK;
}

bool
api_mfa_required(const struct auth_settings *s, bool is_admin)
{
	return s->mfa == AUTH_MFA_ALL || (s->mfa == AUTH_MFA_ADMINS && is_admin);
}

/*
 * RFC 3339 with microseconds in the tenant's zone (LOG-4): "Z" for UTC,
 * "+09:00" style otherwise.  Stored times stay UTC; only the rendering
 * moves.  An unknown zone, or an offset with seconds (local mean time
 * before 1900) that RFC 3339 cannot write, falls back to UTC so the
 * instant is always right.  Never touches the process's TZ.
 */
json_t *
api_time(const struct api_auth *a, int64_t us)
{
	const char *zone = "UTC";
	char buf[80], stamp[32], suffix[16] = "Z";
	int64_t secs;
	int32_t off = 0;
	time_t local;
	struct tm tm;

	if (us <= 0)
		return json_null();
	if (a != NULL && a->tenant != NULL && a->tenant->timezone[0] != '\0')
		zone = a->tenant->timezone;
	secs = us / 1000000;
	if (strcmp(zone, "UTC") != 0 && tz_offset(zone, secs, &off) == KURA_OK &&
	    off % 60 == 0) {
		int32_t m = off < 0 ? -off / 60 : off / 60;
		snprintf(suffix, sizeof(suffix), "%c%02d:%02d", off < 0 ? '-' : '+',
		    (int)(m / 60), (int)(m % 60));
	} else {
		off = 0;
	}
	local = (time_t)(secs + off);
	if (gmtime_r(&local, &tm) == NULL)
		return json_null();
	if (tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999) {
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, sizeof(buf), "%s.%06lld%s", stamp,
		    (long long)(us % 1000000), suffix);
		return json_string(buf);
	}
	/* the common years without strftime and snprintf (two of these per
	 * user in every reply): YYYY-MM-DDTHH:MM:SS.uuuuuu and the suffix */
	{
		unsigned f = (unsigned)(us % 1000000);
		unsigned v[6] = { (unsigned)(tm.tm_year + 1900), (unsigned)tm.tm_mon + 1,
		    (unsigned)tm.tm_mday, (unsigned)tm.tm_hour, (unsigned)tm.tm_min,
		    (unsigned)tm.tm_sec };
		char *p = buf;
		size_t n = strlen(suffix);

		p[0] = (char)('0' + v[0] / 1000);
		p[1] = (char)('0' + v[0] / 100 % 10);
		p[2] = (char)('0' + v[0] / 10 % 10);
		p[3] = (char)('0' + v[0] % 10);
		p += 4;
		for (int i = 1; i < 6; i++) {
			*p++ = i == 3 ? 'T' : i < 3 ? '-' : ':';
			*p++ = (char)('0' + v[i] / 10);
			*p++ = (char)('0' + v[i] % 10);
		}
		*p++ = '.';
		for (int i = 5; i >= 0; i--, f /= 10)
			p[i] = (char)('0' + f % 10);
		p += 6;
		memcpy(p, suffix, n + 1);
	}
	return json_string(buf);
}

/*
 * Append one CSV field to b (RFC 4180): always quoted, inner quotes
 * doubled.  A value a spreadsheet would run as a formula (starting with
 * = + - @, TAB or CR) gets a leading ' so it stays text.
 */
kura_err
api_csv_field(struct kbuf *b, const char *s, bool first)
{
	kura_err err = KURA_OK;

	if (!first)
		err = kbuf_puts(b, ",");
	if (err == KURA_OK)
		err = kbuf_puts(b, "\"");
	if (err == KURA_OK && s != NULL && s[0] != '\0' &&
	    strchr("=+-@\t\r", s[0]) != NULL)
		err = kbuf_puts(b, "'");
	for (const char *p = s; err == KURA_OK && p != NULL && *p != '\0'; p++)
		err = *p == '"' ? kbuf_puts(b, "\"\"") : kbuf_append(b, p, 1);
	if (err == KURA_OK)
		err = kbuf_puts(b, "\"");
	return err;
}

json_t *
api_csv_array(const char *csv)
{
	json_t *arr = json_array();
	const char *s = csv;

	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		json_array_append_new(arr, json_stringn(s, len));
		s = comma ? comma + 1 : NULL;
	}
	return arr;
}

bool
api_csv_has(const char *csv, const char *item)
{
	size_t len = strlen(item);
	const char *s = csv;

	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == len && memcmp(s, item, len) == 0)
			return true;
		s = comma ? comma + 1 : NULL;
	}
	return false;
}

bool
api_labels_match(const json_t *labels, const char *label)
{
	const json_t *item;
	size_t i;

	if (label == NULL)
		return true;
	json_array_foreach(labels, i, item)
		if (json_is_string(item) && strcmp(json_string_value(item), label) == 0)
			return true;
	return false;
}

json_t *
api_user_json(struct http_req *req, const struct store_user *u)
{
	struct api_auth *a = api_auth(req);
	const struct kcrypto_tkeys *keys = a->keys;

	return json_pack("{s:s,s:o*,s:o*,s:o*,s:s,s:o,s:b,s:b,s:b,s:o,s:o}",
	    "id", u->id,
	    "login_id", api_open_json(keys, "users", "login_id", u->id, &u->login_id),
	    "email", api_open_json(keys, "users", "email", u->id, &u->email),
	    "display_name", api_open_json(keys, "users", "display_name", u->id,
	    &u->display_name),
	    "status", u->status,
	    "roles", api_csv_array(u->roles),
	    "mfa_enabled", (int)u->mfa_enabled,
	    "must_change_password", (int)u->must_change_password,
	    "locked", u->locked_until_us > kura_now_us(),
	    "last_login", api_time(a, u->last_login_us),
	    "created", api_time(a, u->created_us));
}
