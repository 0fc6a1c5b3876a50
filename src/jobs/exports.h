/*
 * Tenant exports (DAT-4, TEN-5): the export thread of `kura serve`.
 *
 * POST /api/v1/exports queues a row (src/api/exports.c); this thread takes
 * queued exports one at a time, oldest first, and writes each tenant's
 * whole data set as one POSIX tar stream compressed with zstd (libarchive)
 * straight into an encrypted content file (src/blob): no plaintext byte
 * reaches the disk, and memory stays at a few MiB whatever the size (JSON
 * members larger than EXPORTS_SPOOL_MEM are spooled through an encrypted
 * temporary blob).  The layout is documented in docs/export-format.md.
 *
 * States: queued -> running -> ready (blob, size, ready, expires =
 * ready + [exports] expire_hours) or failed; a ready export past its
 * expiry has its archive deleted and becomes expired.  The thread polls
 * every EXPORTS_POLL_S seconds (sooner after exports_kick), removes
 * expired archives each round, and gives up an export that runs longer
 * than EXPORTS_MAX_SECONDS.  An export interrupted by shutdown is queued
 * again; one found running at start (the process died) is failed.
 * The thread is the edge that logs; it also writes system audit records
 * export.ready, export.failed and export.expire.
 */
#ifndef KURA_JOBS_EXPORTS_H
#define KURA_JOBS_EXPORTS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define EXPORTS_FORMAT_VERSION 1
#define EXPORTS_POLL_S 2
#define EXPORTS_MAX_SECONDS (6 * 3600)
#define EXPORTS_MAX_BYTES (1ULL << 40)      /* largest archive (1 TiB) */
#define EXPORTS_KEEP_MAX 3                  /* ready archives per tenant */
#ifndef EXPORTS_SPOOL_MEM                   /* (tests build with a small one) */
#define EXPORTS_SPOOL_MEM (4u << 20)        /* JSON member kept in memory */
#endif

struct app;
struct exports;

/* Start the export thread (from jobs_start); ret is freed by exports_stop. */
kura_err exports_start(struct app *app, struct exports **ret_x);
/* Stop and join; an export in progress is abandoned and queued again.
 * Accepts NULL. */
void exports_stop(struct exports *x);
/* Wake the running export thread (an export was queued); no-op when none
 * runs (CLI commands). */
void exports_kick(void);

/*
 * Build export e's archive: every record of e's tenant and the content of
 * every kept file version, into a new encrypted blob of the tenant.  On
 * success ret_blob is its id and *ret_size the archive's bytes.  Stops
 * with KURA_EBUSY once *stop is set and KURA_ERANGE after deadline_us
 * (monotonic); KURA_ECRYPTO when stored data fails to open or its SHA-256
 * differs from the recorded one.  Nothing is left behind on failure.
 */
kura_err exports_build(struct app *app, const struct store_export *e,
    const atomic_bool *stop, int64_t deadline_us, char ret_blob[STORE_ID_MAX],
    uint64_t *ret_size);

/* Delete the archives of ready exports past expiry (now_us) and mark them
 * expired; *ret_n (may be NULL) = exports expired. */
kura_err exports_expire(struct app *app, int64_t now_us, size_t *ret_n);

#endif
