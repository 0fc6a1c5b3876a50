/*
 * SIEM export of the audit trail (LOG-7).
 *
 * A forwarder is an audit observer with its own thread and a bounded
 * queue.  The observer (siem_enqueue) only copies the record into the
 * queue; the thread formats and delivers it, so a slow or absent receiver
 * never blocks the audit writer or a request.
 *
 *  - mode = syslog: RFC 5424 messages over TCP with octet-counting framing
 *    (RFC 6587 section 3.4.1, "LEN SP MSG"), optionally over TLS (RFC 5425)
 *    with the receiver's certificate verified against [siem] ca_file and
 *    the address of [siem] address.  Reconnects with exponential backoff
 *    (0.5 s doubling to 30 s) and keeps what is queued meanwhile.
 *  - mode = file: one JSON object per line (audit_row_to_json), appended
 *    to [siem] file (mode 0600), fsync'd after every batch; a rotated file
 *    (renamed or removed) is noticed and a new one created.
 *
 * Queue policy: drop-OLDEST.  When the queue is full the oldest queued
 * record is discarded and counted in `dropped` (siem_dropped).  The
 * records stay in the audit log either way (`kura audit export` can fill
 * the gap, and the seq field shows where it is); keeping the newest ones
 * means that after an outage the SIEM first sees what is happening now,
 * which is what its alerting needs.
 *
 * Delivery is at most once per connection: syslog over TCP/TLS has no
 * acknowledgements, so records written to a connection that the receiver
 * then drops are lost.  Records reach the forwarder in the order their
 * commits notified observers; every message carries the global seq so a
 * receiver can restore the exact order.
 */
#ifndef KURA_SIEM_SIEM_H
#define KURA_SIEM_SIEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/error.h"
#include "store/store.h"

#define SIEM_QUEUE_MAX 16384            /* records waiting for delivery */
#define SIEM_BATCH_MAX 256              /* records per write (and fsync) */
#define SIEM_DRAIN_US (5 * 1000000)     /* what siem_serve_stop waits */
#define SIEM_MSGID_MAX 32               /* RFC 5424 MSGID */
#define SIEM_HOSTNAME_MAX 255           /* RFC 5424 HOSTNAME */
#define SIEM_MSG_MAX (64 * 1024)        /* one formatted message */
#define SIEM_FACILITY 13                /* log audit */
#define SIEM_SD_ID "kura@32473"

enum siem_mode { SIEM_OFF, SIEM_SYSLOG, SIEM_FILE };

struct siem_opts {
	enum siem_mode mode;
	const char *address;        /* syslog: numeric host:port */
	bool tls;                   /* syslog: RFC 5425 */
	const char *ca_file;        /* PEM bundle, or "-" for the system store */
	const char *file;           /* file: absolute path of the JSON lines */
	size_t queue_max;           /* 0 = SIEM_QUEUE_MAX */
	const char *hostname;       /* NULL = gethostname() */
};

struct siem_stats {
	size_t depth;               /* records queued now */
	uint64_t enqueued;          /* records handed to the forwarder */
	uint64_t delivered;         /* written to the socket or file */
	uint64_t dropped;           /* siem_dropped: lost to a full queue */
	bool connected;             /* sink open (socket up or file open) */
};

struct siem;
struct store;

/* Options from [siem]; relative ca_file paths are taken from the data
 * directory.  The strings stay owned by cfg. */
kura_err siem_opts_from_config(const struct kura_config *cfg,
    struct siem_opts *ret_opts);

/* A forwarder that queues but has no thread yet.  Checks everything that
 * can be checked without the receiver: the address is numeric, the CA
 * bundle loads, the file can be opened safely (created 0600 in a 0700
 * directory; an existing file accessible by group or others is refused
 * with KURA_EPERM).  On failure *ret_msg (malloc'd) says why. */
kura_err siem_new(const struct siem_opts *o, struct siem **ret_siem,
    char **ret_msg);
/* Copy what the forwarder needs of row into its queue (drop-oldest when
 * full).  Never blocks on I/O; safe from any thread. */
void siem_enqueue(struct siem *s, const struct store_audit *row);
/* Start the delivery thread. */
kura_err siem_run(struct siem *s);
/* Stop accepting records, deliver what is queued for at most drain_us
 * (less when the receiver cannot be reached: one more attempt, then give
 * up), stop the thread and free everything; accepts NULL.  Records still
 * undelivered are logged as a count (they remain in the audit log). */
void siem_free(struct siem *s, int64_t drain_us);
/* Counters of s, or of the serve forwarder when s is NULL (zeros when
 * there is none). */
void siem_stats(struct siem *s, struct siem_stats *ret);

/* For `kura serve`: with [siem] mode off do nothing; otherwise create the
 * forwarder, register it as an audit observer and start its thread.  The
 * observer stays registered for the life of the process and forwards to
 * nothing once siem_serve_stop ran.  Records written by other processes
 * (operator CLI commands) are not seen by the observer: a pump thread
 * reads them from the store after its own persisted cursor, once a
 * second, so the SIEM gets every record. */
kura_err siem_serve_start(const struct kura_config *cfg, struct store *store,
    char **ret_msg);
/* Drain (at most drain_us) and stop the serve forwarder, if any. */
void siem_serve_stop(int64_t drain_us);

/* ---- formatting (pure; unit tested) ---- */

/* Append one framed syslog message for row to out: "LEN SP MSG" where MSG
 * is the RFC 5424 message and LEN its length in octets.  hostname must be
 * sanitised already (siem_hostname). */
kura_err siem_format_syslog(const struct store_audit *row,
    const char *hostname, struct kbuf *out);
/* Append row as one compact JSON line (with its newline) to out. */
kura_err siem_format_jsonl(const struct store_audit *row, struct kbuf *out);
/* RFC 5424 MSGID from an action: printable US-ASCII without space
 * (other bytes become '_'), at most SIEM_MSGID_MAX chars, "-" if empty. */
void siem_msgid(const char *action, char ret[SIEM_MSGID_MAX + 1]);
/* RFC 5424 HOSTNAME from name (NULL = this machine's): as siem_msgid but
 * up to SIEM_HOSTNAME_MAX chars. */
void siem_hostname(const char *name, char ret[SIEM_HOSTNAME_MAX + 1]);
/* Append s as a PARAM-VALUE (RFC 5424 section 6.3.3): '"', '\' and ']'
 * are escaped with a backslash; control characters and invalid UTF-8
 * become '?' (the JSON MSG keeps the exact value). */
kura_err siem_sd_escape(struct kbuf *out, const char *s);
/* UTC RFC 3339 time with microseconds: "2026-11-21T09:00:00.123456Z". */
kura_err siem_timestamp(int64_t time_us, char ret[32]);

#endif
