/*
 * A tenant's security settings (IAM-5, 6, 7, 8, 10): one JSON document,
 * sealed with the tenant key (allowlists describe the customer's network).
 * Every field has a default and bounds; password rules can only be made
 * stricter than the built-in policy.
 */
#ifndef KURA_AUTH_SETTINGS_H
#define KURA_AUTH_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cidr.h"
#include "auth/password.h"
#include "core/error.h"

#define AUTH_ALLOW_MAX 64

enum auth_mfa_req { AUTH_MFA_NONE, AUTH_MFA_ADMINS, AUTH_MFA_ALL };
enum auth_allow_kind { AUTH_ALLOW_CONSOLE, AUTH_ALLOW_API, AUTH_ALLOW_ALL,
    AUTH_ALLOW_KINDS };

struct auth_settings {
	struct auth_pw_policy password;
	uint32_t lockout_threshold;    /* failures before lock; 3..20, default 5 */
	uint32_t lockout_minutes;      /* 0 = until an admin unlocks; default 15 */
	uint32_t idle_timeout_s;       /* default 1800 */
	uint32_t absolute_lifetime_s;  /* default 43200 */
	enum auth_mfa_req mfa;
	struct cidr allow[AUTH_ALLOW_KINDS][AUTH_ALLOW_MAX];
	size_t n_allow[AUTH_ALLOW_KINDS];
};

void auth_settings_default(struct auth_settings *s);
/* Build settings from a JSON object, starting from base (so a PUT may carry
 * only some fields).  Unknown fields and out-of-range values are errors:
 * KURA_EINVAL with *ret_field naming the field and *ret_msg a sentence. */
kura_err auth_settings_from_json(const json_t *j, const struct auth_settings *base,
    struct auth_settings *ret, const char **ret_field, const char **ret_msg);
/* Full JSON view (always every field). */
json_t *auth_settings_to_json(const struct auth_settings *s);
/* True if ip (textual) may connect for this kind: the "all" list (if not
 * empty) must contain it, and the kind's list (if not empty) too. */
bool auth_settings_ip_allowed(const struct auth_settings *s,
    enum auth_allow_kind kind, const char *ip);

#endif
