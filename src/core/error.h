/*
 * kura project-wide error codes.  Every fallible function in the tree returns
 * a kura_err; KURA_OK is zero so "if (err)" reads naturally.  The HTTP edge
 * maps these to statuses; library code never logs.
 */
#ifndef KURA_CORE_ERROR_H
#define KURA_CORE_ERROR_H

typedef enum kura_err {
	KURA_OK = 0,
	KURA_ENOMEM,     /* allocation failed */
	KURA_EINVAL,     /* bad argument or malformed input */
	KURA_ENOENT,     /* no such object (or not visible to this tenant) */
	KURA_EPERM,      /* not allowed, including unsafe file permissions */
	KURA_EEXIST,     /* object already exists / uniqueness conflict */
	KURA_ERANGE,     /* number or size out of its allowed range */
	KURA_ETOOBIG,    /* input over a configured limit */
	KURA_EIO,        /* file or database I/O failed */
	KURA_ECRYPTO,    /* authentication of ciphertext failed, bad key */
	KURA_EBUSY,      /* resource busy, try again */
	KURA_ECONFLICT,  /* state does not allow the operation */
	KURA_EAUTH,      /* authentication failed */
	KURA_EINTERNAL,  /* invariant broken: a bug */
	KURA_ERR_MAX_
} kura_err;

/* Returns a static, human-readable description (never NULL). */
const char *kura_strerror(kura_err err);

#endif
