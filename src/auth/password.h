/* Password policy (IAM-5).  Tenants may only make it stricter. */
#ifndef KURA_AUTH_PASSWORD_H
#define KURA_AUTH_PASSWORD_H

#include <stddef.h>

#include "core/error.h"

#define AUTH_PW_MIN_LEN 8
#define AUTH_PW_MIN_CLASSES 3
#define AUTH_PW_MAX_LEN 1024

struct auth_pw_policy {
	size_t min_len;       /* >= AUTH_PW_MIN_LEN */
	unsigned min_classes; /* of upper, lower, digit, symbol; >= 3 */
};

#define AUTH_PW_POLICY_DEFAULT { AUTH_PW_MIN_LEN, AUTH_PW_MIN_CLASSES }

/* KURA_OK if pw satisfies the policy; otherwise KURA_EINVAL and
 * *ret_reason is a static sentence for the user (never echoing pw). */
kura_err auth_password_check(const struct auth_pw_policy *p, const char *pw,
    const char **ret_reason);

#endif
