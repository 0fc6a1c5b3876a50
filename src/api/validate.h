/*
 * Validators for identifiers and small fields, shared by the API and the
 * operator CLI.  Each returns NULL if value is acceptable, else a static
 * sentence for the error message (which never echoes the value).
 */
#ifndef KURA_API_VALIDATE_H
#define KURA_API_VALIDATE_H

#include <stdint.h>

#define VAL_NAME_MAX 200
#define VAL_LOGIN_MAX 128
#define VAL_EMAIL_MAX 254
#define VAL_RESOURCE_NAME_MAX 64   /* characters */

const char *val_contract_id(const char *v);
const char *val_login_id(const char *v);
const char *val_email(const char *v);
const char *val_display_name(const char *v);
const char *val_region(const char *v);
const char *val_timezone(const char *v);
const char *val_seats(const char *v, uint32_t *ret_seats);
/* Name of a role, token or other customer-named resource (DAT-1):
 * 1 to 64 characters of text without control characters. */
const char *val_resource_name(const char *v);

#endif
