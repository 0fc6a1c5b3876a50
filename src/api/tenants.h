/* Tenant service: creation and display, shared by the operator CLI and
 * (later) the operator API. */
#ifndef KURA_API_TENANTS_H
#define KURA_API_TENANTS_H

#include <jansson.h>

#include "api/app.h"
#include "audit/audit.h"

struct tenant_new {
	const char *contract_id;
	const char *name;
	uint32_t seats;
	const char *region;
	const char *timezone;
	const char *admin_login;
	const char *admin_email;
	const char *admin_password;   /* NULL: generate a one-time password */
};

/*
 * Validate in, create the tenant, its first data key (wrapped with the
 * current KEK) and its first tenant admin, all in one transaction.  The
 * name, login id and e-mail are sealed with the new tenant key.  On success
 * ret_id holds the tenant id and, if no password was given, *ret_onetime
 * a generated one (free with kura_free_secret_str) that must be changed at
 * first sign-in.  On KURA_EINVAL *ret_reason says which field is wrong;
 * KURA_EEXIST means the contract id is taken.  The caller holds the key
 * lock (cli_keylock LOCK_SH).  rec (may be NULL) is the operator's audit
 * record; it is written in the same transaction, for the new tenant.
 */
kura_err tenant_create(struct app *app, const struct tenant_new *in,
    const struct audit_rec *rec, char ret_id[STORE_ID_MAX], char **ret_onetime,
    const char **ret_reason);

/* Find a tenant by id ("ten_...") or contract id. */
kura_err tenant_find(struct app *app, const char *id_or_contract,
    struct store_tenant **ret_t);

/* JSON view of a tenant for operators: fields, decrypted name, and with
 * users != 0 its users (login id, e-mail, status, roles). */
kura_err tenant_to_json(struct app *app, const struct store_tenant *t,
    int users, json_t **ret_json);

/* Lower-case copy of s (ASCII only) for blind indexes; caller frees. */
char *tenant_fold(const char *s);

#endif
