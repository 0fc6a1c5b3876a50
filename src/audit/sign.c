/*
 * The audit signing key (Ed25519, libsodium), checkpoints that seal chain
 * heads, and retention with signed anchors (LOG-2, LOG-3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/internal.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/kcrypto.h"

#define SEED_B64_MAX 64

kura_err
audit_key_create(const char *key_file)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	char b64[SEED_B64_MAX];
	kura_err err = KURA_OK;
	int fd;

	if (access(key_file, F_OK) == 0)
		return KURA_OK;
	if ((err = kcrypto_init()) != KURA_OK ||
	    (err = kcrypto_random(seed, sizeof(seed))) != KURA_OK)
		return err;
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(seed, sizeof(seed));
	fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno == EEXIST ? KURA_OK : KURA_EIO;
		goto out;
	}
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64) ||
	    write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		err = KURA_EIO;
	close(fd);
	if (err)
		unlink(key_file);
out:
	sodium_memzero(b64, sizeof(b64));
	return err;
}

void
audit_key_id(const unsigned char *pk, char ret[24])
{
	char hex[KCRYPTO_INDEX_HEX_LEN + 1];

	if (kcrypto_sha256_hex(pk, crypto_sign_PUBLICKEYBYTES, hex) != KURA_OK)
		hex[0] = '\0';
	snprintf(ret, 24, "%.16s", hex);
}

kura_err
audit_key_load(const char *key_file, struct audit_key **ret_key)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	char buf[SEED_B64_MAX + 2], *msg = NULL;
	struct audit_key *k = NULL;
	size_t n = 0;
	ssize_t got;
	kura_err err;
	int fd;

	err = config_check_private_file(key_file, &msg);
	free(msg);
	if (err)
		return err;
	fd = open(key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return KURA_EIO;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0) {
		err = KURA_EIO;
		goto out;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (sodium_base642bin(seed, sizeof(seed), buf, strlen(buf), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(seed)) {
		err = KURA_EINVAL;
		goto out;
	}
	k = sodium_malloc(sizeof(*k));
	if (k == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	audit_key_id(k->pk, k->key_id);
	*ret_key = k;
	err = KURA_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
	return err;
}

void
audit_key_free(struct audit_key *k)
{
	if (k != NULL)
		sodium_free(k);
}

kura_err
audit_public_key(const char *key_file, char ret_b64[64])
{
	struct audit_key *k = NULL;
	kura_err err = audit_key_load(key_file, &k);

	if (err)
		return err;
	sodium_bin2base64(ret_b64, 64, k->pk, sizeof(k->pk),
	    sodium_base64_VARIANT_ORIGINAL);
	audit_key_free(k);
	return KURA_OK;
}

kura_err
audit_pk_decode(const char *b64, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	size_t n = 0;

	if (b64 == NULL || sodium_base642bin(pk, crypto_sign_PUBLICKEYBYTES, b64,
	    strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != crypto_sign_PUBLICKEYBYTES)
		return KURA_EINVAL;
	return KURA_OK;
}

kura_err
audit_mark_message(const struct store_audit_mark *m, char *buf, size_t len)
{
	int n = snprintf(buf, len, "kura-audit-%s-v1\n%s\n%lld\n%s\n%lld\n",
	    m->kind, m->scope, (long long)m->seq, m->hash, (long long)m->time_us);

	return n < 0 || (size_t)n >= len ? KURA_ETOOBIG : KURA_OK;
}

kura_err
audit_mark_sign(const struct audit_key *k, struct store_audit_mark *m)
{
	unsigned char sig[crypto_sign_BYTES];
	char msg[512];
	kura_err err;

	snprintf(m->key_id, sizeof(m->key_id), "%s", k->key_id);
	if ((err = audit_mark_message(m, msg, sizeof(msg))) != KURA_OK)
		return err;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), k->sk);
	sodium_bin2base64(m->signature, sizeof(m->signature), sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	return KURA_OK;
}

bool
audit_mark_verify(const unsigned char *pk, const struct store_audit_mark *m)
{
	unsigned char sig[crypto_sign_BYTES];
	char msg[512];
	size_t n = 0;

	if (audit_mark_message(m, msg, sizeof(msg)) != KURA_OK ||
	    sodium_base642bin(sig, sizeof(sig), m->signature, strlen(m->signature),
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(sig))
		return false;
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg,
	    strlen(msg), pk) == 0;
}

/* Sign and store a mark if it moves past the scope's last one. */
static kura_err
seal(struct store *s, const struct audit_key *k, const char *kind,
    const char *scope, int64_t seq, const char *hash, int64_t now, size_t *count)
{
	struct store_audit_mark last, m;
	kura_err err;

	err = store_audit_last_mark(s, kind, scope, &last);
	if (err == KURA_OK && last.seq >= seq)
		return KURA_OK;
	if (err && err != KURA_ENOENT)
		return err;
	memset(&m, 0, sizeof(m));
	snprintf(m.kind, sizeof(m.kind), "%s", kind);
	snprintf(m.scope, sizeof(m.scope), "%s", scope);
	m.seq = seq;
	snprintf(m.hash, sizeof(m.hash), "%s", hash);
	m.time_us = now;
	if ((err = audit_mark_sign(k, &m)) != KURA_OK ||
	    (err = store_audit_mark_put(s, &m)) != KURA_OK)
		return err;
	(*count)++;
	return KURA_OK;
}

kura_err
audit_checkpoint(struct store *s, const char *key_file, size_t *ret_n)
{
	struct store_audit_mark *heads = NULL;
	struct audit_key *k = NULL;
	char hash[STORE_INDEX_MAX];
	size_t n = 0, count = 0;
	int64_t seq = 0, now = kura_now_us();
	kura_err err;

	if ((err = audit_key_load(key_file, &k)) != KURA_OK)
		return err;
	if ((err = store_begin(s)) != KURA_OK)
		goto out;
	err = store_audit_head(s, NULL, &seq, hash);
	if (err == KURA_OK)
		err = seal(s, k, "checkpoint", "global", seq, hash, now, &count);
	else if (err == KURA_ENOENT)
		err = KURA_OK;
	if (err == KURA_OK)
		err = store_audit_tenant_heads(s, 0, &heads, &n);
	for (size_t i = 0; err == KURA_OK && i < n; i++)
		err = seal(s, k, "checkpoint", heads[i].scope, heads[i].seq,
		    heads[i].hash, now, &count);
	if (err == KURA_OK)
		err = store_commit(s);
	if (err)
		(void)store_rollback(s);
out:
	free(heads);
	audit_key_free(k);
	if (err == KURA_OK && ret_n != NULL)
		*ret_n = count;
	return err;
}

kura_err
audit_expire(struct store *s, const char *key_file, int64_t before_us,
    size_t *ret_n)
{
	struct store_audit_mark *heads = NULL, anchor;
	struct store_audit last;
	struct audit_key *k = NULL;
	size_t n = 0, removed = 0, count = 0;
	int64_t end = 0, now = kura_now_us();
	kura_err err;

	memset(&last, 0, sizeof(last));
	if ((err = audit_key_load(key_file, &k)) != KURA_OK)
		return err;
	if ((err = store_begin(s)) != KURA_OK)
		goto out;
	err = store_audit_prefix_end(s, before_us, &end);
	if (err == KURA_OK && end > 0) {
		err = store_audit_last_mark(s, "anchor", "global", &anchor);
		if (err == KURA_OK && anchor.seq >= end)
			end = 0;            /* nothing new to remove */
		else if (err == KURA_ENOENT || err == KURA_OK)
			err = KURA_OK;
	}
	if (err == KURA_OK && end > 0) {
		/* anchors first: the last removed record of the log and of
		 * every tenant chain it cuts */
		err = store_audit_get(s, end, &last);
		if (err == KURA_OK)
			err = seal(s, k, "anchor", "global", last.seq, last.hash,
			    now, &count);
		if (err == KURA_OK)
			err = store_audit_tenant_heads(s, end, &heads, &n);
		for (size_t i = 0; err == KURA_OK && i < n; i++)
			err = seal(s, k, "anchor", heads[i].scope, heads[i].seq,
			    heads[i].hash, now, &count);
		if (err == KURA_OK)
			err = store_audit_delete_prefix(s, end, &removed);
	}
	if (err == KURA_OK)
		err = store_commit(s);
	if (err)
		(void)store_rollback(s);
out:
	store_audit_clear(&last);
	free(heads);
	audit_key_free(k);
	if (err == KURA_OK && ret_n != NULL)
		*ret_n = removed;
	return err;
}

kura_err
audit_key_ensure(struct store *s, const char *key_file, char **ret_msg)
{
	struct store_audit_mark m;
	struct audit_key *k = NULL;
	bool have_marks;
	kura_err err;

	err = store_audit_last_mark(s, "checkpoint", "global", &m);
	if (err == KURA_ENOENT)
		err = store_audit_last_mark(s, "anchor", "global", &m);
	if (err && err != KURA_ENOENT)
		return err;
	have_marks = err == KURA_OK;
	if (access(key_file, F_OK) != 0) {
		if (have_marks) {
			*ret_msg = kbuf_strdupf(8192, "%s is missing but the audit log "
			    "has checkpoints signed with it: restore it from the key "
			    "backup (a new key would make every earlier checkpoint "
			    "unverifiable)", key_file);
			return KURA_ENOENT;
		}
		if ((err = audit_key_create(key_file)) != KURA_OK)
			return err;
	}
	if ((err = audit_key_load(key_file, &k)) != KURA_OK) {
		*ret_msg = kbuf_strdupf(8192, "%s: cannot load the audit signing key: %s",
		    key_file, kura_strerror(err));
		return err;
	}
	if (have_marks && strcmp(m.key_id, k->key_id) != 0) {
		*ret_msg = kbuf_strdupf(8192, "%s is key %s, but the newest checkpoint "
		    "was signed by key %s: restore the right key from backup",
		    key_file, k->key_id, m.key_id);
		err = KURA_ECRYPTO;
	}
	audit_key_free(k);
	return err;
}
