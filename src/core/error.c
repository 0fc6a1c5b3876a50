#include <stddef.h>

#include "core/error.h"

static const char *const kura_err_text[KURA_ERR_MAX_] = {
	[KURA_OK] = "success",
	[KURA_ENOMEM] = "out of memory",
	[KURA_EINVAL] = "invalid argument",
	[KURA_ENOENT] = "not found",
	[KURA_EPERM] = "not permitted",
	[KURA_EEXIST] = "already exists",
	[KURA_ERANGE] = "out of range",
	[KURA_ETOOBIG] = "over limit",
	[KURA_EIO] = "input/output error",
	[KURA_ECRYPTO] = "cryptographic check failed",
	[KURA_EBUSY] = "busy",
	[KURA_ECONFLICT] = "conflicting state",
	[KURA_EAUTH] = "authentication failed",
	[KURA_EINTERNAL] = "internal error",
};

const char *
kura_strerror(kura_err err)
{
	if ((unsigned)err >= KURA_ERR_MAX_ || kura_err_text[err] == NULL)
		return "unknown error";
	return kura_err_text[err];
}
