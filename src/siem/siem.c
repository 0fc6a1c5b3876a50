/*
 * SIEM forwarder (LOG-7): bounded queue filled by the audit observer, one
 * delivery thread, syslog over TCP/TLS or a JSON-lines file.  See siem.h
 * for the queue policy and delivery guarantees.
 *
 * The delivery thread is an edge in the DESIGN.md sense: it logs its own
 * failures (once per attempt, and attempts back off to one per 30 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"
#include "siem/siem.h"

/*
 * Client side of the server's policy (src/http/tls.c): TLS 1.2 and 1.3,
 * ECDHE, AEAD ciphers only, SHA-2/EdDSA signatures.
 */
static const char siem_tls_priorities[] =
    "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
    "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
    "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "-SIGN-ALL:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512:"
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:"
    "+SIGN-ECDSA-SECP521R1-SHA512:+SIGN-EDDSA-ED25519:"
    "+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:"
    "+SIGN-RSA-PSS-RSAE-SHA512:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:"
    "+SIGN-RSA-SHA512:-COMP-ALL:+COMP-NULL";

#define BACKOFF_MIN_US 500000
#define BACKOFF_MAX_US (30 * 1000000)
#define CONNECT_TIMEOUT_US (5 * 1000000)
#define HANDSHAKE_TIMEOUT_US (10 * 1000000)
#define STALL_TIMEOUT_US (10 * 1000000)   /* no write progress: reconnect */
#define TLS_CHUNK 16384
#define WHY_MAX 512
#define MSG_MAX 8192                      /* messages and joined paths */

struct siem {
	enum siem_mode mode;
	char hostname[SIEM_HOSTNAME_MAX + 1];

	/* syslog */
	char *address;                      /* as configured, for messages */
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char *peer;                         /* numeric host, for verification */
	bool tls;
	gnutls_certificate_credentials_t cred;
	int fd;
	gnutls_session_t sess;

	/* file */
	char *path;
	dev_t dev;
	ino_t ino;

	/* queue: ring of owned copies, guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store_audit **q;
	size_t qmax, qhead, qlen;
	bool stopping;
	int64_t deadline;                   /* monotonic, once stopping */
	uint64_t enqueued, delivered, dropped;
	bool connected;

	/* delivery thread state (thread-owned) */
	bool running;
	pthread_t thread;
	struct store_audit **batch;         /* SIEM_BATCH_MAX */
	struct kbuf out;                    /* formatted batch */
	size_t out_off;                     /* bytes of out already written */
	size_t ends[SIEM_BATCH_MAX];        /* end offset of each record in out */
	size_t n_out;
	int64_t backoff_us;
	bool open_failed;                   /* the last attempt could not open */
	uint64_t dropped_seen;
};

static pthread_mutex_t serve_lock = PTHREAD_MUTEX_INITIALIZER;
static struct siem *serve_siem;
static bool serve_registered;

/* the pump of records written by other processes (see siem.h) */
#define PUMP_CURSOR "siem_operator_events"
#define PUMP_PAGE 100
static pthread_t pump_thread;
static pthread_cond_t pump_cond = PTHREAD_COND_INITIALIZER;
static bool pump_running, pump_stop;
static struct store *pump_store;

/* ---- formatting ---- */

/* Copy name into ret keeping printable US-ASCII without space (33..126),
 * others as '_', at most max chars; "-" for an empty result. */
static void
printusascii(const char *name, char *ret, size_t max)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)(name ? name : "");
	    *p != '\0' && n < max; p++)
		ret[n++] = (*p >= 33 && *p <= 126) ? (char)*p : '_';
	if (n == 0)
		ret[n++] = '-';
	ret[n] = '\0';
}

void
siem_msgid(const char *action, char ret[SIEM_MSGID_MAX + 1])
{
	printusascii(action, ret, SIEM_MSGID_MAX);
}

void
siem_hostname(const char *name, char ret[SIEM_HOSTNAME_MAX + 1])
{
	char buf[SIEM_HOSTNAME_MAX + 2];

	if (name == NULL) {
		if (gethostname(buf, sizeof(buf)) != 0)
			buf[0] = '\0';
		buf[sizeof(buf) - 1] = '\0';
		name = buf;
	}
	printusascii(name, ret, SIEM_HOSTNAME_MAX);
}

kura_err
siem_sd_escape(struct kbuf *out, const char *s)
{
	bool text = kura_text_ok(s, SIEM_MSG_MAX);
	kura_err err = KURA_OK;

	for (const unsigned char *p = (const unsigned char *)s;
	    err == KURA_OK && *p != '\0'; p++) {
		char c = (char)*p;

		if (!text && (*p < 0x20 || *p >= 0x7f))
			c = '?';
		if (c == '"' || c == '\\' || c == ']')
			err = kbuf_append(out, "\\", 1);
		if (err == KURA_OK)
			err = kbuf_append(out, &c, 1);
	}
	return err;
}

kura_err
siem_timestamp(int64_t time_us, char ret[32])
{
	int64_t secs = time_us / 1000000, frac = time_us % 1000000;
	time_t t;
	struct tm tm;
	char date[24];

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		return KURA_ERANGE;
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return KURA_ERANGE;
	snprintf(ret, 32, "%s.%06dZ", date, (int)frac);
	return KURA_OK;
}

/* Compact JSON of row, the same bytes as a `kura audit export` line
 * without its newline; malloc'd, NULL on failure. */
static char *
row_json(const struct store_audit *row)
{
	json_t *o = audit_row_to_json(row);
	char *s;

	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

/* Append one SD-PARAM ` name="value"`. */
static kura_err
sd_param(struct kbuf *b, const char *name, const char *value)
{
	kura_err err = kbuf_printf(b, " %s=\"", name);

	if (err == KURA_OK)
		err = siem_sd_escape(b, value);
	if (err == KURA_OK)
		err = kbuf_append(b, "\"", 1);
	return err;
}

kura_err
siem_format_syslog(const struct store_audit *row, const char *hostname,
    struct kbuf *out)
{
	char ts[32], msgid[SIEM_MSGID_MAX + 1], seq[24], status[24];
	struct kbuf m;
	char *json = NULL;
	int severity;
	kura_err err;

	kbuf_init(&m, SIEM_MSG_MAX);
	err = siem_timestamp(row->time_us, ts);
	if (err)
		goto out;
	json = row_json(row);
	if (json == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	siem_msgid(row->action, msgid);
	/* notice for success, warning for failure and denied */
	severity = strcmp(row->outcome, "success") == 0 ? 5 : 4;
	snprintf(seq, sizeof(seq), "%lld", (long long)row->seq);
	snprintf(status, sizeof(status), "%lld", (long long)row->status);
	err = kbuf_printf(&m, "<%d>1 %s %s kura - %s [" SIEM_SD_ID,
	    SIEM_FACILITY * 8 + severity, ts, hostname, msgid);
	if (err == KURA_OK)
		err = sd_param(&m, "seq", seq);
	if (err == KURA_OK)
		err = sd_param(&m, "id", row->id);
	if (err == KURA_OK)
		err = sd_param(&m, "tenant", row->tenant_id);
	if (err == KURA_OK)
		err = sd_param(&m, "actor_type", row->actor_type);
	if (err == KURA_OK)
		err = sd_param(&m, "actor", row->actor_id);
	if (err == KURA_OK)
		err = sd_param(&m, "src", row->source_ip);
	if (err == KURA_OK)
		err = sd_param(&m, "req", row->request_id);
	if (err == KURA_OK)
		err = sd_param(&m, "resource_type", row->resource_type);
	if (err == KURA_OK)
		err = sd_param(&m, "resource", row->resource_id);
	if (err == KURA_OK)
		err = sd_param(&m, "outcome", row->outcome);
	if (err == KURA_OK)
		err = sd_param(&m, "status", status);
	if (err == KURA_OK)
		err = kbuf_printf(&m, "] %s", json);
	/* RFC 6587 3.4.1: MSG-LEN is the octet count of the message */
	if (err == KURA_OK)
		err = kbuf_printf(out, "%zu ", m.len);
	if (err == KURA_OK)
		err = kbuf_append(out, m.data, m.len);
out:
	free(json);
	kbuf_free(&m);
	return err;
}

kura_err
siem_format_jsonl(const struct store_audit *row, struct kbuf *out)
{
	char *json = row_json(row);
	kura_err err;

	if (json == NULL)
		return KURA_ENOMEM;
	err = kbuf_puts(out, json);
	if (err == KURA_OK)
		err = kbuf_append(out, "\n", 1);
	free(json);
	return err;
}

/* ---- options ---- */

kura_err
siem_opts_from_config(const struct kura_config *cfg, struct siem_opts *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (strcmp(cfg->siem_mode, "syslog") == 0)
		ret->mode = SIEM_SYSLOG;
	else if (strcmp(cfg->siem_mode, "file") == 0)
		ret->mode = SIEM_FILE;
	else if (strcmp(cfg->siem_mode, "off") == 0)
		ret->mode = SIEM_OFF;
	else
		return KURA_EINVAL;
	ret->address = cfg->siem_address;
	ret->tls = strcmp(cfg->siem_tls, "on") == 0;
	ret->ca_file = cfg->siem_ca_file;
	ret->file = cfg->siem_file;
	return KURA_OK;
}

/* ---- queue ---- */

static void
rec_free(struct store_audit *r)
{
	if (r == NULL)
		return;
	free(r->detail);
	free(r);
}

void
siem_enqueue(struct siem *s, const struct store_audit *row)
{
	struct store_audit *r, *old = NULL;

	r = kura_calloc(1, sizeof(*r));
	if (r != NULL) {
		memcpy(r, row, sizeof(*r));
		r->detail = NULL;
		if (row->detail != NULL &&
		    (r->detail = kura_strdup(row->detail)) == NULL)
			KURA_FREE(r);
	}
	pthread_mutex_lock(&s->lock);
	s->enqueued++;
	if (r == NULL || s->stopping) {
		s->dropped++;
		old = r;
	} else {
		if (s->qlen == s->qmax) {
			/* drop-oldest: see siem.h */
			old = s->q[s->qhead];
			s->qhead = (s->qhead + 1) % s->qmax;
			s->qlen--;
			s->dropped++;
		}
		s->q[(s->qhead + s->qlen) % s->qmax] = r;
		s->qlen++;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	rec_free(old);
}

void
siem_stats(struct siem *s, struct siem_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (s == NULL) {
		pthread_mutex_lock(&serve_lock);
		if (serve_siem != NULL)
			siem_stats(serve_siem, ret);
		pthread_mutex_unlock(&serve_lock);
		return;
	}
	pthread_mutex_lock(&s->lock);
	ret->depth = s->qlen;
	ret->enqueued = s->enqueued;
	ret->delivered = s->delivered;
	ret->dropped = s->dropped;
	ret->connected = s->connected;
	pthread_mutex_unlock(&s->lock);
}

/* ---- sinks ---- */

static void
set_connected(struct siem *s, bool up)
{
	pthread_mutex_lock(&s->lock);
	s->connected = up;
	pthread_mutex_unlock(&s->lock);
}

static void
sink_close(struct siem *s)
{
	if (s->sess != NULL) {
		/* best effort; the socket is non-blocking */
		(void)gnutls_bye(s->sess, GNUTLS_SHUT_WR);
		gnutls_deinit(s->sess);
		s->sess = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	set_connected(s, false);
}

/* Milliseconds to wait: until min(now + cap_us, deadline when stopping),
 * at least 0. */
static int
wait_ms(struct siem *s, int64_t start_us, int64_t cap_us)
{
	int64_t until = start_us + cap_us, now = kura_mono_us(), deadline;
	bool stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	deadline = s->deadline;
	pthread_mutex_unlock(&s->lock);
	if (stopping && deadline < until)
		until = deadline;
	if (until <= now)
		return 0;
	return (int)((until - now + 999) / 1000);
}

/* Wait for fd to become ready for events; KURA_EBUSY on timeout. */
static kura_err
wait_fd(struct siem *s, short events, int64_t start_us, int64_t cap_us)
{
	struct pollfd pfd = { .fd = s->fd, .events = events };
	int ms, r;

	do {
		ms = wait_ms(s, start_us, cap_us);
		if (ms == 0)
			return KURA_EBUSY;
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return KURA_EIO;
	return r == 0 ? KURA_EBUSY : KURA_OK;
}

/* Connect to the receiver (and complete the TLS handshake, verifying its
 * certificate against the CA bundle and its address).  On failure *why
 * says what went wrong. */
static kura_err
syslog_open(struct siem *s, char *why, size_t why_len)
{
	int64_t start = kura_mono_us();
	socklen_t elen = sizeof(int);
	int e = 0, r;
	kura_err err = KURA_EIO;

	s->fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(s->fd, (struct sockaddr *)&s->sa, s->sa_len) != 0) {
		if (errno != EINPROGRESS) {
			snprintf(why, why_len, "connect: %s", strerror(errno));
			goto out;
		}
		if (wait_fd(s, POLLOUT, start, CONNECT_TIMEOUT_US) != KURA_OK) {
			snprintf(why, why_len, "connect: timed out");
			goto out;
		}
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e != 0) {
			snprintf(why, why_len, "connect: %s", strerror(e ? e : errno));
			goto out;
		}
	}
	if (!s->tls) {
		err = KURA_OK;
		goto out;
	}
	r = gnutls_init(&s->sess, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r >= 0)
		r = gnutls_priority_set_direct(s->sess, siem_tls_priorities, NULL);
	if (r >= 0)
		r = gnutls_credentials_set(s->sess, GNUTLS_CRD_CERTIFICATE, s->cred);
	if (r < 0) {
		snprintf(why, why_len, "TLS setup: %s", gnutls_strerror(r));
		goto out;
	}
	/* verification during the handshake: chain to the CA bundle, and the
	 * certificate must name the address we connected to (an IP SAN, as
	 * the address is numeric; no SNI for addresses, RFC 6066) */
	gnutls_session_set_verify_cert(s->sess, s->peer, 0);
	gnutls_transport_set_int(s->sess, s->fd);
	start = kura_mono_us();
	do {
		r = gnutls_handshake(s->sess);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			short ev = gnutls_record_get_direction(s->sess) ?
			    POLLOUT : POLLIN;
			if (wait_fd(s, ev, start, HANDSHAKE_TIMEOUT_US) != KURA_OK) {
				snprintf(why, why_len, "TLS handshake: timed out");
				goto out;
			}
		} else if (r < 0 && gnutls_error_is_fatal(r) == 0) {
			r = GNUTLS_E_AGAIN;
		}
	} while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t d = { NULL, 0 };
		unsigned status = gnutls_session_get_verify_cert_status(s->sess);

		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &d, 0) >= 0 && d.data != NULL) {
			size_t n = strlen((const char *)d.data);
			while (n > 0 && (d.data[n - 1] == ' ' || d.data[n - 1] == '.'))
				d.data[--n] = '\0';
			snprintf(why, why_len, "certificate verification failed: %s",
			    (const char *)d.data);
			gnutls_free(d.data);
		} else {
			snprintf(why, why_len, "certificate verification failed");
		}
		goto out;
	}
	if (r < 0) {
		snprintf(why, why_len, "TLS handshake: %s", gnutls_strerror(r));
		goto out;
	}
	err = KURA_OK;
out:
	if (err)
		sink_close(s);
	return err;
}

/* False if the receiver closed the connection (or broke TLS).  Receivers
 * send nothing in syslog over TCP; anything they do send is discarded. */
static bool
syslog_alive(struct siem *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		if (poll(&pfd, 1, 0) <= 0 || pfd.revents == 0)
			return true;
		if (s->sess != NULL) {
			n = gnutls_record_recv(s->sess, buf, sizeof(buf));
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return true;
		} else {
			n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return true;
		}
		if (n <= 0)
			return false;
	}
	return true;
}

/* Create the file's directory (0700) if it is missing, open the file for
 * appending (0600, no symlinks) and refuse it if it is not a regular file
 * of ours or is accessible by group or others. */
static kura_err
file_open(struct siem *s, char *why, size_t why_len)
{
	char *dir = NULL, *slash;
	struct stat st;
	kura_err err = KURA_EIO;

	dir = kura_strdup(s->path);
	if (dir == NULL)
		return KURA_ENOMEM;
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(why, why_len, "cannot create %s: %s", dir,
			    strerror(errno));
			goto out;
		}
	}
	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (s->fd < 0) {
		snprintf(why, why_len, "cannot open %s: %s", s->path, strerror(errno));
		err = errno == ELOOP ? KURA_EPERM : KURA_EIO;
		goto out;
	}
	if (fstat(s->fd, &st) != 0) {
		snprintf(why, why_len, "cannot stat %s: %s", s->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(why, why_len, "%s must be a regular file of ours with no "
		    "group or other access (it has mode %04o); chmod 600 it",
		    s->path, (unsigned)(st.st_mode & 07777));
		err = KURA_EPERM;
		goto out;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	err = KURA_OK;
out:
	if (err && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	free(dir);
	return err;
}

/* True if the path no longer names the open file (rotated or removed). */
static bool
file_rotated(struct siem *s)
{
	struct stat st;

	return stat(s->path, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino;
}

/* Wait until the socket takes more data; KURA_EIO (and *why) when the
 * receiver made no progress for STALL_TIMEOUT_US since last_us (or the
 * drain deadline passed). */
static kura_err
wait_writable(struct siem *s, int64_t last_us, char *why, size_t why_len)
{
	if (wait_fd(s, POLLOUT, last_us, STALL_TIMEOUT_US) == KURA_OK)
		return KURA_OK;
	snprintf(why, why_len, "send: receiver stalled");
	return KURA_EIO;
}

/* Write out[out_off..) to the sink.  Progress is kept in out_off even on
 * failure. */
static kura_err
sink_write(struct siem *s, char *why, size_t why_len)
{
	int64_t last = kura_mono_us();

	while (s->out_off < s->out.len) {
		const char *p = s->out.data + s->out_off;
		size_t left = s->out.len - s->out_off;
		ssize_t n;

		if (s->mode == SIEM_FILE) {
			n = write(s->fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				snprintf(why, why_len, "write %s: %s", s->path,
				    n < 0 ? strerror(errno) : "no progress");
				return KURA_EIO;
			}
		} else if (s->sess != NULL) {
			n = gnutls_record_send(s->sess, p,
			    left < TLS_CHUNK ? left : TLS_CHUNK);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				if (wait_writable(s, last, why, why_len))
					return KURA_EIO;
				continue;
			}
			if (n < 0) {
				snprintf(why, why_len, "TLS send: %s",
				    gnutls_strerror((int)n));
				return KURA_EIO;
			}
		} else {
			n = send(s->fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (wait_writable(s, last, why, why_len))
					return KURA_EIO;
				continue;
			}
			if (n <= 0) {
				snprintf(why, why_len, "send: %s",
				    n < 0 ? strerror(errno) : "no progress");
				return KURA_EIO;
			}
		}
		s->out_off += (size_t)n;
		last = kura_mono_us();
	}
	return KURA_OK;
}

/* Records of the current batch fully written. */
static size_t
written_records(const struct siem *s)
{
	size_t i = 0;

	while (i < s->n_out && s->ends[i] <= s->out_off)
		i++;
	return i;
}

/* ---- delivery thread ---- */

/* Format popped records into out; a record that cannot be formatted is
 * counted as dropped.  Frees the records. */
static void
format_batch(struct siem *s, size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		size_t before = s->out.len;
		kura_err err = s->mode == SIEM_SYSLOG ?
		    siem_format_syslog(s->batch[i], s->hostname, &s->out) :
		    siem_format_jsonl(s->batch[i], &s->out);

		if (err) {
			log_warn("siem: record %lld not forwarded: %s",
			    (long long)s->batch[i]->seq, kura_strerror(err));
			s->out.len = before;
			if (s->out.data != NULL)
				s->out.data[before] = '\0';
			bad++;
		} else {
			s->ends[s->n_out++] = s->out.len;
		}
		rec_free(s->batch[i]);
		s->batch[i] = NULL;
	}
	if (bad > 0) {
		pthread_mutex_lock(&s->lock);
		s->dropped += bad;
		pthread_mutex_unlock(&s->lock);
	}
}

/* Open the sink if needed and write the formatted batch.  On failure the
 * unwritten part stays for the next attempt (from the start of a partly
 * sent syslog frame, since a new connection needs whole frames). */
static kura_err
deliver(struct siem *s)
{
	char why[WHY_MAX] = "";
	kura_err err;

	if (s->fd >= 0 && s->mode == SIEM_SYSLOG && !syslog_alive(s)) {
		log_info("siem: %s closed the connection; reconnecting", s->address);
		sink_close(s);
	}
	if (s->fd >= 0 && s->mode == SIEM_FILE && s->out_off == 0 &&
	    file_rotated(s)) {
		log_info("siem: %s was rotated; opening a new file", s->path);
		sink_close(s);
	}
	s->open_failed = false;
	if (s->fd < 0) {
		err = s->mode == SIEM_SYSLOG ? syslog_open(s, why, sizeof(why)) :
		    file_open(s, why, sizeof(why));
		s->open_failed = err != KURA_OK;
		if (err) {
			log_warn("siem: cannot reach %s: %s; retrying in %.1f s",
			    s->mode == SIEM_SYSLOG ? s->address : s->path, why,
			    (double)s->backoff_us / 1e6);
			return err;
		}
		set_connected(s, true);
		if (s->mode == SIEM_SYSLOG)
			log_info("siem: connected to %s%s", s->address,
			    s->tls ? " (TLS)" : "");
		s->backoff_us = BACKOFF_MIN_US;
	}
	err = sink_write(s, why, sizeof(why));
	if (err) {
		log_warn("siem: %s; retrying in %.1f s", why,
		    (double)s->backoff_us / 1e6);
		if (s->mode == SIEM_SYSLOG) {
			size_t done = written_records(s);
			s->out_off = done > 0 ? s->ends[done - 1] : 0;
			sink_close(s);
		}
		return err;
	}
	if (s->mode == SIEM_FILE && fdatasync(s->fd) != 0)
		log_warn("siem: fsync %s: %s", s->path, strerror(errno));
	pthread_mutex_lock(&s->lock);
	s->delivered += s->n_out;
	pthread_mutex_unlock(&s->lock);
	kbuf_reset(&s->out);
	s->out_off = 0;
	s->n_out = 0;
	return KURA_OK;
}

static void
abs_mono(int64_t us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(us / 1000000);
	ts->tv_nsec = (long)(us % 1000000) * 1000;
}

/* Sleep for the current backoff (cut short by a stop request, and never
 * past the drain deadline), then double it up to the cap. */
static void
backoff_wait(struct siem *s)
{
	int64_t until = kura_mono_us() + s->backoff_us;
	struct timespec ts;
	bool was_stopping;

	pthread_mutex_lock(&s->lock);
	was_stopping = s->stopping;
	for (;;) {
		int64_t end = until;
		if (s->stopping && s->deadline < end)
			end = s->deadline;
		if (kura_mono_us() >= end || s->stopping != was_stopping)
			break;
		abs_mono(end, &ts);
		(void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	s->backoff_us = s->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US :
	    s->backoff_us * 2;
}

/* Thread body: pop a batch, format it, deliver it (retrying with backoff),
 * until stopped and drained or past the drain deadline. */
static void *
siem_main(void *arg)
{
	struct siem *s = arg;

	for (;;) {
		bool have_out = s->n_out > 0, giveup;
		uint64_t dropped;
		size_t n = 0;

		pthread_mutex_lock(&s->lock);
		while (!s->stopping && s->qlen == 0 && !have_out)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stopping && ((s->qlen == 0 && !have_out) ||
		    kura_mono_us() >= s->deadline)) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (!have_out) {
			while (n < SIEM_BATCH_MAX && s->qlen > 0) {
				s->batch[n++] = s->q[s->qhead];
				s->q[s->qhead] = NULL;
				s->qhead = (s->qhead + 1) % s->qmax;
				s->qlen--;
			}
		}
		dropped = s->dropped;
		pthread_mutex_unlock(&s->lock);
		if (dropped != s->dropped_seen) {
			log_warn("siem: %llu record(s) dropped so far (queue full or "
			    "unformattable); they remain in the audit log",
			    (unsigned long long)dropped);
			s->dropped_seen = dropped;
		}
		if (n > 0)
			format_batch(s, n);
		if (s->n_out == 0)
			continue;
		if (deliver(s) == KURA_OK)
			continue;
		/* draining into a sink that cannot be opened: the receiver is
		 * down and waiting for it only delays the stop */
		pthread_mutex_lock(&s->lock);
		giveup = s->stopping && s->open_failed;
		pthread_mutex_unlock(&s->lock);
		if (giveup)
			break;
		backoff_wait(s);
	}
	return NULL;
}

/* ---- lifecycle ---- */

static kura_err
parse_address(struct siem *s, const char *address, char **ret_msg)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&s->sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->sa;
	uint16_t port;
	kura_err err;

	err = kura_parse_hostport(address, &s->peer, &port);
	if (err) {
		*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] address %s: expected "
		    "host:port or [v6]:port", address);
		return err;
	}
	memset(&s->sa, 0, sizeof(s->sa));
	if (inet_pton(AF_INET, s->peer, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		s->sa_len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, s->peer, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		s->sa_len = sizeof(*in6);
	} else {
		*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] address %s: the host "
		    "must be a numeric IPv4 or IPv6 address", address);
		return KURA_EINVAL;
	}
	return KURA_OK;
}

static kura_err
load_ca(struct siem *s, const char *ca_file, char **ret_msg)
{
	int r;

	r = gnutls_certificate_allocate_credentials(&s->cred);
	if (r < 0) {
		*ret_msg = kbuf_strdupf(MSG_MAX, "TLS credentials: %s",
		    gnutls_strerror(r));
		return KURA_ENOMEM;
	}
	if (ca_file == NULL || strcmp(ca_file, "-") == 0) {
		r = gnutls_certificate_set_x509_system_trust(s->cred);
		if (r <= 0) {
			*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] ca_file -: no "
			    "system trust store (%s)",
			    r < 0 ? gnutls_strerror(r) : "no certificates");
			return KURA_EINVAL;
		}
	} else {
		r = gnutls_certificate_set_x509_trust_file(s->cred, ca_file,
		    GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] ca_file %s: %s",
			    ca_file, r < 0 ? gnutls_strerror(r) :
			    "no certificates in the file");
			return KURA_EINVAL;
		}
	}
	return KURA_OK;
}

kura_err
siem_new(const struct siem_opts *o, struct siem **ret_siem, char **ret_msg)
{
	pthread_condattr_t ca;
	struct siem *s;
	char why[WHY_MAX] = "";
	kura_err err = KURA_ENOMEM;

	*ret_msg = NULL;
	if (o->mode != SIEM_SYSLOG && o->mode != SIEM_FILE) {
		*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] mode is off");
		return KURA_EINVAL;
	}
	s = kura_calloc(1, sizeof(*s));
	if (s == NULL)
		return KURA_ENOMEM;
	s->fd = -1;
	s->mode = o->mode;
	s->qmax = o->queue_max ? o->queue_max : SIEM_QUEUE_MAX;
	s->backoff_us = BACKOFF_MIN_US;
	kbuf_init(&s->out, (size_t)SIEM_BATCH_MAX * (SIEM_MSG_MAX + 16));
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->q = kura_calloc(s->qmax, sizeof(*s->q));
	s->batch = kura_calloc(SIEM_BATCH_MAX, sizeof(*s->batch));
	if (s->q == NULL || s->batch == NULL)
		goto out;
	siem_hostname(o->hostname, s->hostname);
	if (s->mode == SIEM_SYSLOG) {
		s->address = kura_strdup(o->address);
		if (s->address == NULL)
			goto out;
		err = parse_address(s, o->address, ret_msg);
		if (err == KURA_OK && o->tls) {
			s->tls = true;
			err = load_ca(s, o->ca_file, ret_msg);
		}
		if (err)
			goto out;
	} else {
		if (o->file == NULL || o->file[0] != '/') {
			*ret_msg = kbuf_strdupf(MSG_MAX,
			    "[siem] file must be an absolute path");
			err = KURA_EINVAL;
			goto out;
		}
		s->path = kura_strdup(o->file);
		if (s->path == NULL)
			goto out;
		/* open now so an unsafe file stops the start, not the thread */
		err = file_open(s, why, sizeof(why));
		if (err) {
			*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] file: %s", why);
			goto out;
		}
		s->connected = true;
	}
	*ret_siem = s;
	s = NULL;
	err = KURA_OK;
out:
	siem_free(s, 0);
	return err;
}

kura_err
siem_run(struct siem *s)
{
	if (s->running)
		return KURA_ECONFLICT;
	if (pthread_create(&s->thread, NULL, siem_main, s) != 0)
		return KURA_ENOMEM;
	(void)pthread_setname_np(s->thread, "kura-siem");
	s->running = true;
	return KURA_OK;
}

void
siem_free(struct siem *s, int64_t drain_us)
{
	size_t left;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	s->deadline = kura_mono_us() + (drain_us > 0 ? drain_us : 0);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->running)
		pthread_join(s->thread, NULL);
	left = s->qlen + (s->n_out - written_records(s));
	if (left > 0 && s->running)
		log_warn("siem: stopping with %zu record(s) not forwarded to %s; "
		    "they remain in the audit log", left,
		    s->mode == SIEM_SYSLOG ? s->address : s->path);
	sink_close(s);
	for (size_t i = 0; s->q != NULL && i < s->qlen; i++)
		rec_free(s->q[(s->qhead + i) % s->qmax]);
	free(s->q);
	free(s->batch);
	kbuf_free(&s->out);
	if (s->cred != NULL)
		gnutls_certificate_free_credentials(s->cred);
	free(s->address);
	free(s->peer);
	free(s->path);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- kura serve ---- */

/*
 * One pump round: operator records after the cursor, up to the log's head,
 * queued in order; the cursor moves past what was queued.  The first round
 * ever starts at the head (records from before forwarding was enabled are
 * not sent, as for the serve process's own records).
 */
static void
pump_round(struct store *s)
{
	struct store_audit *list = NULL;
	char hash[STORE_INDEX_MAX];
	int64_t cursor = 0, head = 0, done;
	size_t n = 0;
	kura_err err;

	err = store_audit_head(s, NULL, &head, hash);
	if (err == KURA_ENOENT)
		head = 0;
	else if (err)
		return;
	if (store_alert_cursor_get(s, PUMP_CURSOR, &cursor) != KURA_OK)
		return;
	if (cursor == 0) {
		if (head > 0)
			(void)store_alert_cursor_put(s, PUMP_CURSOR, head);
		return;
	}
	done = cursor;
	while (done < head && store_alert_operator_events(s, done, head, PUMP_PAGE,
	    &list, &n) == KURA_OK) {
		for (size_t i = 0; i < n; i++) {
			pthread_mutex_lock(&serve_lock);
			if (serve_siem != NULL)
				siem_enqueue(serve_siem, &list[i]);
			pthread_mutex_unlock(&serve_lock);
		}
		/* a short page: no operator record is left up to head */
		done = n < PUMP_PAGE ? head : list[n - 1].seq;
		store_audit_list_free(list, n);
		list = NULL;
	}
	if (done > cursor)
		(void)store_alert_cursor_put(s, PUMP_CURSOR, done);
}

static void *
pump_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&serve_lock);
	while (!pump_stop) {
		struct timespec until;
		pthread_mutex_unlock(&serve_lock);
		pump_round(pump_store);
		pthread_mutex_lock(&serve_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!pump_stop &&
		    pthread_cond_timedwait(&pump_cond, &serve_lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&serve_lock);
	store_thread_done(pump_store);
	return NULL;
}

/* The audit observer: forwards to the serve forwarder while there is one.
 * Runs on the committing thread; only copies and queues. */
static void
serve_observer(void *arg, const struct store_audit *row)
{
	(void)arg;
	pthread_mutex_lock(&serve_lock);
	if (serve_siem != NULL)
		siem_enqueue(serve_siem, row);
	pthread_mutex_unlock(&serve_lock);
}

kura_err
siem_serve_start(const struct kura_config *cfg, struct store *store,
    char **ret_msg)
{
	struct siem_opts o;
	struct siem *s = NULL;
	char *ca = NULL;
	kura_err err;

	*ret_msg = NULL;
	err = siem_opts_from_config(cfg, &o);
	if (err) {
		*ret_msg = kbuf_strdupf(MSG_MAX, "[siem] mode %s: expected off, "
		    "syslog or file", cfg->siem_mode);
		return err;
	}
	if (o.mode == SIEM_OFF)
		return KURA_OK;
	/* a relative ca_file is taken from the data directory, like every
	 * other path in kura.ini */
	if (o.ca_file != NULL && strcmp(o.ca_file, "-") != 0 && o.ca_file[0] != '/') {
		ca = kbuf_strdupf(MSG_MAX, "%s/%s", cfg->data_dir, o.ca_file);
		if (ca == NULL)
			return KURA_ENOMEM;
		o.ca_file = ca;
	}
	err = siem_new(&o, &s, ret_msg);
	if (err)
		goto out;
	pthread_mutex_lock(&serve_lock);
	if (serve_siem != NULL) {
		err = KURA_ECONFLICT;
	} else if (!serve_registered) {
		err = audit_add_observer(serve_observer, NULL);
		serve_registered = err == KURA_OK;
	}
	if (err == KURA_OK)
		err = siem_run(s);
	if (err == KURA_OK) {
		serve_siem = s;
		s = NULL;
		if (store != NULL && !pump_running) {
			pump_store = store;
			pump_stop = false;
			pump_running = pthread_create(&pump_thread, NULL, pump_main,
			    NULL) == 0;
			if (!pump_running)
				log_warn("SIEM: records of operator commands will not be "
				    "forwarded (no pump thread)");
		}
	}
	pthread_mutex_unlock(&serve_lock);
	if (err) {
		*ret_msg = kbuf_strdupf(MSG_MAX, "SIEM forwarder: %s",
		    kura_strerror(err));
		goto out;
	}
out:
	siem_free(s, 0);
	free(ca);
	return err;
}

void
siem_serve_stop(int64_t drain_us)
{
	struct siem *s;

	pthread_mutex_lock(&serve_lock);
	pump_stop = true;
	pthread_cond_signal(&pump_cond);
	pthread_mutex_unlock(&serve_lock);
	if (pump_running) {
		pthread_join(pump_thread, NULL);
		pump_running = false;
	}
	pthread_mutex_lock(&serve_lock);
	s = serve_siem;
	serve_siem = NULL;
	pthread_mutex_unlock(&serve_lock);
	siem_free(s, drain_us);
}
