/*
 * Encrypted content files (CRY-1, DAT-2): one file per stored version, made
 * of fixed-size chunks, each sealed with the tenant's data key
 * (AES-256-GCM).  The associated data of every chunk binds the tenant, the
 * blob id, the chunk number, whether it is the last chunk, the chunk size
 * and the key version, so chunks cannot be reordered, dropped, truncated,
 * or moved to another file or tenant without failing authentication.
 *
 * Layout: ROOT/<tenant id>/<2 hex>/<blob id>; a 32-byte header ("KURABLB1",
 * format, chunk size, key version) then chunks of nonce || ct || tag.
 * Writing goes to a temporary file that becomes visible only on commit;
 * no plaintext byte ever reaches the disk.  Memory per writer or reader is
 * about two chunks.
 */
#ifndef KURA_BLOB_BLOB_H
#define KURA_BLOB_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/kcrypto.h"

#define BLOB_CHUNK (1024 * 1024)
#define BLOB_CHUNK_OVERHEAD (KCRYPTO_NONCE_LEN + KCRYPTO_TAG_LEN)
#define BLOB_HEADER 32
#define BLOB_SHA256_HEX 64

struct blob_writer;
struct blob_reader;

/* Start a new blob of the key set's tenant under root.  max_size bounds
 * the plaintext (KURA_ETOOBIG from blob_write past it). */
kura_err blob_writer_new(const char *root, const struct kcrypto_tkeys *keys,
    uint64_t max_size, struct blob_writer **ret_w);
kura_err blob_write(struct blob_writer *w, const void *data, size_t len);
/* Plaintext bytes accepted so far. */
uint64_t blob_written(const struct blob_writer *w);
/* Seal the last chunk, fsync, and move the file into place.  ret_id is
 * the new blob's id ("blb_..."), ret_sha256 the SHA-256 of the plaintext. */
kura_err blob_commit(struct blob_writer *w, char ret_id[KCRYPTO_ID_MAX],
    uint64_t *ret_size, char ret_sha256[BLOB_SHA256_HEX + 1]);
/* Free; an uncommitted blob's temporary file is removed. Accepts NULL. */
void blob_writer_free(struct blob_writer *w);

/* Open a blob for reading; KURA_ENOENT if it does not exist, KURA_ECRYPTO
 * if its header or length is not consistent. */
kura_err blob_open(const char *root, const struct kcrypto_tkeys *keys,
    const char *blob_id, struct blob_reader **ret_r);
uint64_t blob_size(const struct blob_reader *r);
/* Read plaintext at offset into buf (up to len bytes, fewer at the end).
 * Every chunk is authenticated before any of its bytes are returned;
 * KURA_ECRYPTO if one does not (never wrong data). */
kura_err blob_read(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
    size_t *ret_n);
void blob_close(struct blob_reader *r);

/* Remove a blob (its data becomes unrecoverable once the file is gone and,
 * for good, once the tenant's keys are destroyed). */
kura_err blob_delete(const char *root, const char *tenant_id, const char *blob_id);
/* Whether a committed content file is still owned by some row. */
typedef bool (*blob_owned_fn)(void *arg, const char *tenant_id,
    const char *blob_id);
/* Remove files older than older_than_s seconds that nothing will finish
 * or read: temporary files of uploads that never committed, and (when
 * owned is given) committed files that owned() says no row references
 * (a crash between writing a file and committing its row, or a removal
 * that failed).  *ret_n = files removed. */
kura_err blob_sweep(const char *root, int64_t older_than_s, blob_owned_fn owned,
    void *arg, size_t *ret_n);

#endif
