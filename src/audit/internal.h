/* Private to src/audit: the signing key and signed statements. */
#ifndef KURA_AUDIT_INTERNAL_H
#define KURA_AUDIT_INTERNAL_H

#include <sodium.h>

#include "audit/audit.h"

struct audit_key {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char key_id[24];          /* first 16 hex of SHA-256(pk) */
};

/* Load the Ed25519 key (file must be private); key in sodium_malloc'd
 * memory, freed with audit_key_free. */
kura_err audit_key_load(const char *key_file, struct audit_key **ret_key);
void audit_key_free(struct audit_key *k);
/* The statement a checkpoint or anchor signs. */
kura_err audit_mark_message(const struct store_audit_mark *m, char *buf,
    size_t len);
kura_err audit_mark_sign(const struct audit_key *k, struct store_audit_mark *m);
/* true if m's signature verifies under pk (32 raw bytes). */
bool audit_mark_verify(const unsigned char *pk, const struct store_audit_mark *m);
/* Appends within one write transaction that remember the chain heads
 * (the writer's batches); free the heads with free() after the commit or
 * rollback. */
struct audit_heads;
struct audit_heads *audit_heads_new(void);
kura_err audit_append_batch(struct store *s, struct audit_heads *h,
    const struct audit_rec *r, struct store_audit *ret_row);
/* Key id of a public key: the first 16 hex chars of its SHA-256. */
void audit_key_id(const unsigned char *pk, char ret[24]);
/* Decode a base64 public key into 32 bytes. */
kura_err audit_pk_decode(const char *b64, unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

#endif
