/*
 * libFuzzer harness for the small-string checkers: strict number, host:port
 * and UTF-8 text parsing in core, the API field validators and the
 * password policy, all on the NUL-terminated input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate.h"
#include "auth/password.h"
#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct auth_pw_policy pol = AUTH_PW_POLICY_DEFAULT;
	const char *why = NULL;
	char *s, *host = NULL;
	uint16_t port = 0;
	uint64_t v = 0;
	uint32_t seats = 0;
	size_t len;
	bool b;
	kura_err err;

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);

	if (kura_text_ok(s, 4096) && len > 4096)
		abort();
	(void)kura_text_ok(s, 0);
	if (kura_token_ok(s, 64, "-_.@+/") && (len == 0 || len > 64))
		abort();

	err = kura_parse_u64(s, 0, UINT64_MAX, &v);
	if (err == KURA_OK && (len == 0 || strspn(s, "0123456789") != len))
		abort();
	err = kura_parse_u64(s, 10, 1000, &v);
	if (err == KURA_OK && (v < 10 || v > 1000))
		abort();
	(void)kura_parse_bool(s, &b);

	err = kura_parse_hostport(s, &host, &port);
	if (err == KURA_OK) {
		if (host == NULL || host[0] == '\0' || port == 0)
			abort();
		free(host);
	} else if (host != NULL) {
		abort();
	}

	(void)val_contract_id(s);
	(void)val_login_id(s);
	if (val_email(s) == NULL && (strchr(s, '@') == NULL || len > VAL_EMAIL_MAX))
		abort();
	if (val_display_name(s) == NULL && (len == 0 || len > VAL_NAME_MAX))
		abort();
	(void)val_region(s);
	if (val_timezone(s) == NULL && strstr(s, "..") != NULL)
		abort();
	if (val_seats(s, &seats) == NULL && (seats < 1 || seats > 1000000))
		abort();

	err = auth_password_check(&pol, s, &why);
	if (err == KURA_OK) {
		if (len < AUTH_PW_MIN_LEN || len > AUTH_PW_MAX_LEN ||
		    !kura_text_ok(s, AUTH_PW_MAX_LEN))
			abort();
	} else if (err != KURA_EINVAL || why == NULL) {
		abort();
	}
	free(s);
	return 0;
}
