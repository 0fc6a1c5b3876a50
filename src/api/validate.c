#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api/validate.h"
#include "core/parse.h"

const char *
val_contract_id(const char *v)
{
	if (!kura_token_ok(v, 64, "-_."))
		return "contract id: 1 to 64 characters of A-Z a-z 0-9 - _ .";
	return NULL;
}

const char *
val_login_id(const char *v)
{
	if (!kura_token_ok(v, VAL_LOGIN_MAX, "-_.@+"))
		return "login id: 1 to 128 characters of A-Z a-z 0-9 - _ . @ +";
	return NULL;
}

const char *
val_email(const char *v)
{
	const char *at;

	if (v == NULL || !kura_text_ok(v, VAL_EMAIL_MAX) || strchr(v, ' ') != NULL)
		return "e-mail: at most 254 printable characters without spaces";
	at = strchr(v, '@');
	if (at == NULL || at == v || strchr(at + 1, '@') != NULL ||
	    at[1] == '\0' || strchr(at + 1, '.') == NULL ||
	    at[strlen(at) - 1] == '.')
		return "e-mail: must look like name@example.com";
	return NULL;
}

const char *
val_display_name(const char *v)
{
	if (v == NULL || *v == '\0' || !kura_text_ok(v, VAL_NAME_MAX))
		return "name: 1 to 200 bytes of text without control characters";
	return NULL;
}

const char *
val_region(const char *v)
{
	if (!kura_token_ok(v, 31, "-") || strpbrk(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		return "region: 1 to 31 characters of a-z 0-9 -";
	return NULL;
}

/* An IANA zone name that the system's zoneinfo database knows. */
const char *
val_timezone(const char *v)
{
	char path[160];
	struct stat st;

	if (v != NULL && strcmp(v, "UTC") == 0)
		return NULL;
	if (!kura_token_ok(v, 64, "/_-+") || strstr(v, "..") != NULL ||
	    v[0] == '/' || v[0] == '-')
		return "time zone: an IANA name such as Asia/Tokyo or UTC";
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", v);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return "time zone: unknown; use an IANA name such as Asia/Tokyo or UTC";
	return NULL;
}

const char *
val_seats(const char *v, uint32_t *ret_seats)
{
	uint64_t n;

	if (kura_parse_u64(v, 1, 1000000, &n) != KURA_OK)
		return "seats: a whole number from 1 to 1000000";
	*ret_seats = (uint32_t)n;
	return NULL;
}

const char *
val_resource_name(const char *v)
{
	size_t chars = 0;

	/* 64 characters of up to 4 UTF-8 bytes each */
	if (v == NULL || *v == '\0' || !kura_text_ok(v, 4 * VAL_RESOURCE_NAME_MAX))
		return "name: 1 to 64 characters of text without control characters";
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	if (chars > VAL_RESOURCE_NAME_MAX)
		return "name: 1 to 64 characters of text without control characters";
	return NULL;
}
