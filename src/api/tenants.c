#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/tenants.h"
#include "api/workspace.h"
#include "api/validate.h"
#include "auth/password.h"
#include "core/log.h"
#include "core/mem.h"

char *
tenant_fold(const char *s)
{
	char *r = kura_strdup(s);
	if (r == NULL)
		return NULL;
	for (char *p = r; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static const char *
validate_new(const struct tenant_new *in)
{
	const char *why;

	if ((why = val_contract_id(in->contract_id)) != NULL ||
	    (why = val_display_name(in->name)) != NULL ||
	    (why = val_region(in->region)) != NULL ||
	    (why = val_timezone(in->timezone)) != NULL ||
	    (why = val_login_id(in->admin_login)) != NULL ||
	    (why = val_email(in->admin_email)) != NULL)
		return why;
	if (in->seats < 1 || in->seats > 1000000)
		return "seats: a whole number from 1 to 1000000";
	return NULL;
}

kura_err
tenant_create(struct app *app, const struct tenant_new *in,
    const struct audit_rec *rec, char ret_id[STORE_ID_MAX], char **ret_onetime,
    const char **ret_reason)
{
	struct store_audit arow;
	const struct auth_pw_policy policy = AUTH_PW_POLICY_DEFAULT;
	struct store_tenant t;
	struct store_tenant_key tk;
	struct store_user u;
	struct kcrypto_tkey *key = NULL, *key_for_set = NULL;
	struct kcrypto_tkeys *keys = NULL;
	char *onetime = NULL;
	char hash[KCRYPTO_PWHASH_LEN];
	const char *pw;
	bool in_tx = false;
	kura_err err;

	memset(&t, 0, sizeof(t));
	memset(&arow, 0, sizeof(arow));
	memset(&tk, 0, sizeof(tk));
	memset(&u, 0, sizeof(u));
	*ret_reason = validate_new(in);
	if (*ret_reason != NULL)
		return KURA_EINVAL;
	if (in->admin_password != NULL) {
		err = auth_password_check(&policy, in->admin_password, ret_reason);
		if (err)
			return err;
		pw = in->admin_password;
	} else {
		err = kcrypto_pw_generate(16, &onetime);
		if (err)
			return err;
		pw = onetime;
	}
	err = kcrypto_pw_hash(&app->pw, pw, hash);
	if (err)
		goto out;

	if ((err = kcrypto_id_new("ten", t.id)) != KURA_OK ||
	    (err = kcrypto_id_new("usr", u.id)) != KURA_OK ||
	    (err = kcrypto_tkey_generate(&key)) != KURA_OK ||
	    (err = kcrypto_tkeys_new(t.id, &keys)) != KURA_OK)
		goto out;
	pthread_rwlock_rdlock(&app->kr_lock);
	err = kcrypto_tkey_wrap(app->keyring, t.id, key, &tk.kek_version,
	    &tk.wrapped.data, &tk.wrapped.len);
	pthread_rwlock_unlock(&app->kr_lock);
	if (err)
		goto out;
	tk.version = kcrypto_tkey_version(key);
	key_for_set = key;
	key = NULL;
	err = kcrypto_tkeys_add(keys, key_for_set);  /* takes ownership */
	if (err)
		goto out;

	snprintf(t.contract_id, sizeof(t.contract_id), "%s", in->contract_id);
	t.seats = in->seats;
	snprintf(t.status, sizeof(t.status), "active");
	snprintf(t.region, sizeof(t.region), "%s", in->region);
	snprintf(t.timezone, sizeof(t.timezone), "%s", in->timezone);
	t.created_us = t.updated_us = kura_now_us();
	snprintf(tk.tenant_id, sizeof(tk.tenant_id), "%s", t.id);
	tk.created_us = t.created_us;

	snprintf(u.tenant_id, sizeof(u.tenant_id), "%s", t.id);
	snprintf(u.status, sizeof(u.status), "active");
	u.password_hash = hash;
	u.roles = (char *)"tenant_admin";
	u.must_change_password = onetime != NULL;
	u.created_us = u.updated_us = t.created_us;
	if ((err = api_seal_str(keys, "tenants", "name", t.id, in->name, &t.name)) ||
	    (err = api_seal_str(keys, "users", "login_id", u.id, in->admin_login,
	    &u.login_id)) ||
	    (err = api_seal_str(keys, "users", "email", u.id, in->admin_email,
	    &u.email)) ||
	    (err = api_seal_str(keys, "users", "display_name", u.id, in->admin_login,
	    &u.display_name)) ||
	    (err = api_blind(keys, "login", in->admin_login, u.login_index)) ||
	    (err = api_blind(keys, "email", in->admin_email, u.email_index)))
		goto out;

	err = store_begin(app->store);
	if (err)
		goto out;
	in_tx = true;
	{
		struct store_tctx ctx;
		snprintf(ctx.tenant_id, sizeof(ctx.tenant_id), "%s", t.id);
		if ((err = store_tenant_insert(app->store, &t)) ||
		    (err = store_tkey_insert(app->store, &tk)) ||
		    (err = store_user_insert(app->store, &ctx, &u)))
			goto out;
	}
	if (rec != NULL) {
		struct audit_rec r = *rec;
		snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", t.id);
		snprintf(r.resource_id, sizeof(r.resource_id), "%s", t.id);
		err = audit_append_tx(app->store, &r, &arow);
		if (err)
			goto out;
	}
	err = store_commit(app->store);
	if (err)
		goto out;
	in_tx = false;
	if (rec != NULL)
		audit_notify(&arow);
	snprintf(ret_id, STORE_ID_MAX, "%s", t.id);
	*ret_onetime = onetime;
	onetime = NULL;
out:
	if (in_tx)
		(void)store_rollback(app->store);
	if (err == KURA_EEXIST)
		*ret_reason = "contract id: already in use";
	kura_wipe(hash, sizeof(hash));
	store_audit_clear(&arow);
	kura_free_secret_str(onetime);
	kcrypto_tkey_free(key);
	kcrypto_tkeys_free(keys);
	free(t.name.data);
	free(tk.wrapped.data);
	free(u.login_id.data);
	free(u.email.data);
	free(u.display_name.data);
	return err;
}

kura_err
tenant_find(struct app *app, const char *id_or_contract,
    struct store_tenant **ret_t)
{
	if (strncmp(id_or_contract, "ten_", 4) == 0)
		return store_tenant_get(app->store, id_or_contract, ret_t);
	return store_tenant_get_by_contract(app->store, id_or_contract, ret_t);
}

kura_err
tenant_to_json(struct app *app, const struct store_tenant *t, int users,
    json_t **ret_json)
{
	struct kcrypto_tkeys *keys = NULL;
	struct store_user *list = NULL;
	struct store_tctx ctx;
	size_t n = 0;
	json_t *j = NULL, *arr;
	kura_err err;

	snprintf(ctx.tenant_id, sizeof(ctx.tenant_id), "%s", t->id);
	err = app_tenant_keys(app, &ctx, &keys);
	if (err)
		return err;
	j = json_pack("{s:s,s:s,s:o*,s:i,s:s,s:s,s:s,s:I,s:I}",
	    "id", t->id, "contract_id", t->contract_id,
	    "name", api_open_json(keys, "tenants", "name", t->id, &t->name),
	    "seats", (json_int_t)t->seats, "status", t->status,
	    "region", t->region, "timezone", t->timezone,
	    "created_us", (json_int_t)t->created_us,
	    "updated_us", (json_int_t)t->updated_us);
	if (j == NULL || json_object_get(j, "name") == NULL) {
		err = j == NULL ? KURA_ENOMEM : KURA_ECRYPTO;
		goto out;
	}
	{
		/* storage use against the operator-set quota (DAT-2) */
		struct store_usage use;
		uint64_t qb, qf;
		ws_quota_defaults(&qb, &qf);
		if (store_usage_get(app->store, &ctx, qb, qf, &use) == KURA_OK)
			json_object_set_new(j, "usage", json_pack("{s:I,s:I,s:I,s:I}",
			    "bytes", (json_int_t)use.bytes, "files", (json_int_t)use.files,
			    "max_bytes", (json_int_t)(use.max_bytes > INT64_MAX ?
			    INT64_MAX : use.max_bytes), "max_files",
			    (json_int_t)(use.max_files > INT64_MAX ? INT64_MAX :
			    use.max_files)));
	}
	if (users) {
		err = store_user_list(app->store, &ctx, &list, &n);
		if (err)
			goto out;
		arr = json_array();
		json_object_set_new(j, "users", arr);
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(arr, json_pack("{s:s,s:o*,s:o*,s:s,s:s}",
			    "id", list[i].id,
			    "login_id", api_open_json(keys, "users", "login_id",
			    list[i].id, &list[i].login_id),
			    "email", api_open_json(keys, "users", "email", list[i].id,
			    &list[i].email),
			    "status", list[i].status, "roles", list[i].roles));
		}
	}
out:
	store_user_list_free(list, n);
	kcrypto_tkeys_free(keys);
	if (err) {
		json_decref(j);
		return err;
	}
	*ret_json = j;
	return KURA_OK;
}
