#include <string.h>

#include "auth/password.h"
#include "core/parse.h"

kura_err
auth_password_check(const struct auth_pw_policy *p, const char *pw,
    const char **ret_reason)
{
	unsigned classes = 0, upper = 0, lower = 0, digit = 0, other = 0;
	size_t len, chars = 0;

	if (pw == NULL || !kura_text_ok(pw, AUTH_PW_MAX_LEN)) {
		*ret_reason = "the password must be printable text of at most 1024 bytes";
		return KURA_EINVAL;
	}
	len = strlen(pw);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];
		if ((c & 0xc0) != 0x80)
			chars++;   /* count characters, not UTF-8 bytes */
		if (c >= 'A' && c <= 'Z')
			upper = 1;
		else if (c >= 'a' && c <= 'z')
			lower = 1;
		else if (c >= '0' && c <= '9')
			digit = 1;
		else
			other = 1;
	}
	classes = upper + lower + digit + other;
	if (chars < (p->min_len > AUTH_PW_MIN_LEN ? p->min_len : AUTH_PW_MIN_LEN)) {
		*ret_reason = "the password is too short";
		return KURA_EINVAL;
	}
	if (classes < (p->min_classes > AUTH_PW_MIN_CLASSES ? p->min_classes :
	    AUTH_PW_MIN_CLASSES)) {
		*ret_reason = "the password needs more kinds of characters "
		    "(upper case, lower case, digits, symbols)";
		return KURA_EINVAL;
	}
	return KURA_OK;
}
