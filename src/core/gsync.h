/*
 * Group durability barrier: many writers commit without syncing, one
 * thread makes their commits durable with one sync for the whole group,
 * and each writer learns the outcome before it answers anybody.
 *
 * The caller supplies sync_fn, which must make durable everything that
 * was written before the call *started* (for SQLite in WAL mode: an
 * fdatasync of the -wal file).  The barrier guarantees only the ordering:
 *
 *   1. a writer commits (its bytes are written, not yet synced),
 *   2. then takes a ticket (gsync_ticket),
 *   3. then waits (gsync_wait, gsync_wait_async).
 *
 * A sync covers every ticket taken before it started: the sync thread
 * reads the newest ticket under the lock and only then calls sync_fn.
 * A ticket taken after that waits for the next sync.
 *
 * A failed sync fails its waiters and every later one: after a failed
 * fsync the kernel may have dropped the dirty pages, so nothing written
 * before it can be proven durable any more (and, for SQLite's WAL, no
 * later frame is recoverable past a lost one).  The failure is sticky
 * until the process restarts; gsync_failed() reports it.
 */
#ifndef KURA_CORE_GSYNC_H
#define KURA_CORE_GSYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct gsync;

/* Make everything written before this call durable.  Runs on the
 * barrier's thread only, never concurrently with itself. */
typedef kura_err (*gsync_sync_fn)(void *arg);
/* A waiter's outcome: KURA_OK once its ticket is durable, else the sync
 * error.  Called on the barrier's thread, without its lock held. */
typedef void (*gsync_done_fn)(void *arg, kura_err err);

/* Start the barrier's thread.  KURA_ENOMEM if it cannot be created. */
kura_err gsync_start(gsync_sync_fn sync_fn, void *sync_arg,
    struct gsync **ret_g);
/* Sync once more for any waiter left, fail nobody, join and free.
 * Waiters must not be added concurrently with or after the call.
 * Accepts NULL. */
void gsync_stop(struct gsync *g);

/* A ticket for a commit that has completed (its writes were issued
 * before this call).  Never 0. */
uint64_t gsync_ticket(struct gsync *g);

/* Call done(arg, err) once ticket is durable or has failed.  Returns
 * KURA_OK if done will be called (always on the barrier's thread);
 * otherwise done is never called: the barrier had already failed
 * (that sync error is returned), is stopping (KURA_EBUSY) or memory ran
 * out (KURA_ENOMEM). */
kura_err gsync_wait_async(struct gsync *g, uint64_t ticket,
    gsync_done_fn done, void *arg);
/* Block until ticket is durable (KURA_OK) or its sync failed. */
kura_err gsync_wait(struct gsync *g, uint64_t ticket);

/* The sticky error of a failed sync, or KURA_OK. */
kura_err gsync_failed(struct gsync *g);

struct gsync_stats {
	uint64_t syncs;          /* sync_fn calls */
	uint64_t waiters;        /* waiters released (ok or failed) */
	uint64_t max_group;      /* most waiters released by one sync */
};
void gsync_stats(struct gsync *g, struct gsync_stats *ret);

#endif
