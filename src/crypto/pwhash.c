/*
 * Passwords: Argon2id (libsodium's encoded "$argon2id$..." strings) and
 * generation of random one-time passwords.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/mem.h"
#include "crypto/internal.h"
#include "crypto/kcrypto.h"

#define ARGON2ID_PREFIX "$argon2id$v=19$m="
#define GEN_TRIES 1000

/* Alphabet without look-alikes (no I O l 0 1, no quotes, backslash,
 * space, '|' or backtick), one string per required class. */
static const char *const pw_classes[] = {
	"ABCDEFGHJKLMNPQRSTUVWXYZ",
	"abcdefghijkmnopqrstuvwxyz",
	"23456789",
	"!#$%&*+-=?@^_~",
};
#define PW_NCLASSES (sizeof(pw_classes) / sizeof(pw_classes[0]))

static kura_err
params_ok(const struct kcrypto_pwparams *p)
{
	if (p->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    p->opslimit > KCRYPTO_PW_OPSLIMIT_MAX ||
	    p->memlimit < KCRYPTO_PW_MEMLIMIT_MIN ||
	    p->memlimit > KCRYPTO_PW_MEMLIMIT_MAX)
		return KURA_ERANGE;
	return KURA_OK;
}

/* Password length check shared by hash and verify. */
static kura_err
pw_len(const char *pw, size_t *ret_len)
{
	size_t n;

	if (pw == NULL)
		return KURA_EINVAL;
	n = strnlen(pw, KCRYPTO_PW_MAX + 1);
	if (n > KCRYPTO_PW_MAX)
		return KURA_ETOOBIG;
	*ret_len = n;
	return KURA_OK;
}

/*
 * Hash pw with Argon2id under p (NULL means KCRYPTO_PWPARAMS_DEFAULT).
 * KURA_ERANGE for parameters outside [OPSLIMIT_MIN, KCRYPTO_PW_OPSLIMIT_MAX]
 * x [8 MiB, 1 GiB], KURA_EINVAL for an empty password, KURA_ETOOBIG for
 * one over KCRYPTO_PW_MAX bytes, KURA_ENOMEM if Argon2 cannot get its
 * memory.  ret_hash is written on success only.
 */
kura_err
kcrypto_pw_hash(const struct kcrypto_pwparams *p, const char *pw,
    char ret_hash[KCRYPTO_PWHASH_LEN])
{
	static const struct kcrypto_pwparams def = KCRYPTO_PWPARAMS_DEFAULT;
	char out[crypto_pwhash_STRBYTES];
	size_t n;
	kura_err err;

	if (ret_hash == NULL)
		return KURA_EINVAL;
	if (p == NULL)
		p = &def;
	if ((err = params_ok(p)) != KURA_OK)
		return err;
	if ((err = pw_len(pw, &n)) != KURA_OK)
		return err;
	if (n == 0)
		return KURA_EINVAL;
	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	if (crypto_pwhash_str_alg(out, pw, n, p->opslimit, p->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return KURA_ENOMEM;
	memcpy(ret_hash, out, sizeof(out));
	return KURA_OK;
}

/* Decimal number at *sp up to a non-digit; advances *sp. */
static bool
take_u64(const char **sp, uint64_t *ret)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return false;
	}
	*sp = s;
	*ret = v;
	return true;
}

/*
 * Check that hash is one of our Argon2id strings and that its cost
 * parameters are within the bounds we would hash with, so a tampered
 * stored hash cannot make verification arbitrarily expensive.
 */
static kura_err
hash_check(const char *hash, struct kcrypto_pwparams *ret_p)
{
	const char *s = hash;
	uint64_t m, t, par;

	if (strnlen(hash, KCRYPTO_PWHASH_LEN) >= KCRYPTO_PWHASH_LEN)
		return KURA_EINVAL;
	if (strncmp(s, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0)
		return KURA_EINVAL;
	s += strlen(ARGON2ID_PREFIX);
	if (!take_u64(&s, &m) || strncmp(s, ",t=", 3) != 0)
		return KURA_EINVAL;
	s += 3;
	if (!take_u64(&s, &t) || strncmp(s, ",p=", 3) != 0)
		return KURA_EINVAL;
	s += 3;
	if (!take_u64(&s, &par) || *s != '$' || par != 1)
		return KURA_EINVAL;
	/* m is in KiB. */
	if (m > KCRYPTO_PW_MEMLIMIT_MAX / 1024 ||
	    t < crypto_pwhash_OPSLIMIT_MIN || t > KCRYPTO_PW_OPSLIMIT_MAX)
		return KURA_ERANGE;
	ret_p->opslimit = t;
	ret_p->memlimit = (size_t)m * 1024;
	return KURA_OK;
}

/*
 * KURA_OK if pw matches hash, KURA_EAUTH if not.  KURA_EINVAL for a hash
 * that is not a well-formed Argon2id string, KURA_ERANGE for one whose
 * cost exceeds our bounds, KURA_ETOOBIG for an over-long password.
 */
kura_err
kcrypto_pw_verify(const char *hash, const char *pw)
{
	struct kcrypto_pwparams hp;
	size_t n;
	kura_err err;

	if (hash == NULL)
		return KURA_EINVAL;
	if ((err = pw_len(pw, &n)) != KURA_OK)
		return err;
	if ((err = hash_check(hash, &hp)) != KURA_OK)
		return err;
	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	/* Full decode of the string: -1 means malformed, not a mismatch. */
	if (crypto_pwhash_str_needs_rehash(hash, hp.opslimit, hp.memlimit) < 0)
		return KURA_EINVAL;
	if (crypto_pwhash_str_verify(hash, pw, n) != 0)
		return KURA_EAUTH;
	return KURA_OK;
}

/*
 * *ret_needs is true if hash was made with parameters other than p (NULL:
 * the defaults), i.e. should be recomputed at the next successful login.
 * KURA_EINVAL for a malformed hash.
 */
kura_err
kcrypto_pw_needs_rehash(const char *hash, const struct kcrypto_pwparams *p,
    bool *ret_needs)
{
	static const struct kcrypto_pwparams def = KCRYPTO_PWPARAMS_DEFAULT;
	struct kcrypto_pwparams hp;
	int rc;
	kura_err err;

	if (hash == NULL || ret_needs == NULL)
		return KURA_EINVAL;
	if (p == NULL)
		p = &def;
	if ((err = params_ok(p)) != KURA_OK)
		return err;
	err = hash_check(hash, &hp);
	if (err == KURA_ERANGE) {
		*ret_needs = true;
		return KURA_OK;
	}
	if (err != KURA_OK)
		return err;
	if ((err = kcrypto_init()) != KURA_OK)
		return err;
	rc = crypto_pwhash_str_needs_rehash(hash, p->opslimit, p->memlimit);
	if (rc < 0)
		return KURA_EINVAL;
	*ret_needs = rc != 0;
	return KURA_OK;
}

/* Random bytes handed out one at a time, refilled in blocks. */
struct pool {
	size_t pos;
	uint8_t b[64];
};

/*
 * Uniform index in [0, n), 1 <= n <= 256, by rejection sampling single
 * random bytes: bytes at or above the largest multiple of n are redrawn,
 * so there is no modulo bias.
 */
static kura_err
pick(struct pool *p, size_t n, size_t *ret)
{
	size_t limit = 256 - 256 % n;
	kura_err err;

	for (;;) {
		uint8_t c;

		if (p->pos == sizeof(p->b)) {
			if ((err = kcrypto_random(p->b, sizeof(p->b))) !=
			    KURA_OK)
				return err;
			p->pos = 0;
		}
		c = p->b[p->pos];
		p->b[p->pos++] = 0;
		if (c < limit) {
			*ret = c % n;
			return KURA_OK;
		}
	}
}

/*
 * Random password of len (12..128, else KURA_ERANGE) characters over the
 * look-alike-free alphabet, containing at least one upper, lower, digit
 * and symbol.  Each character is uniform over the alphabet; candidates
 * missing a class are discarded whole, so the result is uniform over all
 * passwords meeting the policy.  Free with kura_free_secret_str.
 */
kura_err
kcrypto_pw_generate(size_t len, char **ret_pw)
{
	char alpha[128];
	struct pool pool;
	size_t alen = 0;
	char *pw = NULL;
	kura_err err = KURA_EINTERNAL;

	if (ret_pw == NULL)
		return KURA_EINVAL;
	if (len < KCRYPTO_PW_GEN_MIN || len > KCRYPTO_PW_GEN_MAX)
		return KURA_ERANGE;
	for (size_t c = 0; c < PW_NCLASSES; c++) {
		size_t n = strlen(pw_classes[c]);

		memcpy(alpha + alen, pw_classes[c], n);
		alen += n;
	}
	pool.pos = sizeof(pool.b);
	if ((pw = malloc(len + 1)) == NULL)
		return KURA_ENOMEM;
	for (int tries = 0; tries < GEN_TRIES; tries++) {
		bool seen[PW_NCLASSES] = { false };
		bool all = true;

		for (size_t i = 0; i < len; i++) {
			size_t k;

			if ((err = pick(&pool, alen, &k)) != KURA_OK)
				goto out;
			pw[i] = alpha[k];
			for (size_t c = 0; c < PW_NCLASSES; c++) {
				if (strchr(pw_classes[c], alpha[k]) != NULL)
					seen[c] = true;
			}
		}
		pw[len] = '\0';
		for (size_t c = 0; c < PW_NCLASSES; c++)
			all = all && seen[c];
		if (all) {
			*ret_pw = pw;
			pw = NULL;
			err = KURA_OK;
			goto out;
		}
	}
	err = KURA_EINTERNAL;
out:
	kura_wipe(&pool, sizeof(pool));
	if (pw != NULL) {
		kura_wipe(pw, len + 1);
		free(pw);
	}
	return err;
}
