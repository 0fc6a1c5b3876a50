/*
 * GET /metrics in the Prometheus text format 0.0.4 (MON-2), and the
 * request counters behind it.
 *
 * Counting is lock-free: http_app.completed adds to process-wide atomic
 * counters indexed by the request's row in the route table (the table is
 * fixed at build time), so the request path never takes a lock for
 * metrics.  Each route has a small set of (method, status) slots claimed
 * by compare-and-swap; a route answering more distinct pairs than that
 * counts the rest under status "other".
 *
 * Access: the route is public to the router and the handler decides.  A
 * client in [metrics] allow, or one presenting the operator token from
 * [metrics] token_file as a Bearer token, gets the metrics; anyone else
 * a plain 403 that names nothing.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/build_info.h"
#include "alerts/alerts.h"
#include "audit/audit.h"
#include "core/cidr.h"
#include "core/log.h"
#include "core/mem.h"
#include "siem/siem.h"

#define M_MAX_ROUTES 256                /* rows of the route table counted */
#define M_SLOTS 24                      /* (method, status) pairs per route,
                                           the last one for all others */
#define M_OUT_MAX (4 * 1024 * 1024)     /* bytes of one answer */
#define M_TOKEN_MAX 512                 /* bytes of the operator token file */
#define M_TOKEN_MIN 16

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t m_bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
#define M_BUCKETS (sizeof(m_bounds_us) / sizeof(m_bounds_us[0]))
static const char *const m_bounds_txt[M_BUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "5",
};

struct m_slot {
	atomic_uint_fast32_t key;           /* method bit << 16 | status; 0 free */
	atomic_uint_fast64_t n;
};

struct m_route {
	struct m_slot slot[M_SLOTS];
	atomic_uint_fast64_t bucket[M_BUCKETS];  /* not cumulative */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
};

/* [M_MAX_ROUTES] is "unmatched" (404s, early refusals). */
static struct m_route m_routes[M_MAX_ROUTES + 1];
static atomic_uint_fast64_t m_signin_failures;

/* ---- counting ---- */

static size_t
route_index(const struct http_req *req)
{
	const struct http_route *r = req->route;

	if (r == NULL || r < api_routes || r >= api_routes + api_n_routes ||
	    (size_t)(r - api_routes) >= M_MAX_ROUTES)
		return M_MAX_ROUTES;
	return (size_t)(r - api_routes);
}

static void
count_status(struct m_route *mr, unsigned method, unsigned status)
{
	uint_fast32_t key = (uint_fast32_t)(method & 0xff) << 16 | (status & 0xffff);

	for (size_t i = 0; i < M_SLOTS - 1; i++) {
		struct m_slot *s = &mr->slot[i];
		uint_fast32_t cur = atomic_load_explicit(&s->key, memory_order_acquire);

		if (cur == 0) {
			uint_fast32_t expect = 0;
			if (atomic_compare_exchange_strong(&s->key, &expect, key))
				cur = key;
			else
				cur = expect;   /* another thread claimed it */
		}
		if (cur == key) {
			atomic_fetch_add_explicit(&s->n, 1, memory_order_relaxed);
			return;
		}
	}
	/* every slot taken by other pairs: the last one (never claimed)
	 * counts the rest as "other" */
	atomic_fetch_add_explicit(&mr->slot[M_SLOTS - 1].n, 1, memory_order_relaxed);
}

void
api_metrics_completed(struct http_req *req)
{
	struct m_route *mr;
	int64_t us;
	size_t b;

	if (req->status == 0)
		return;                         /* never answered */
	mr = &m_routes[route_index(req)];
	count_status(mr, (unsigned)req->method, req->status);
	us = kura_mono_us() - req->start_us;
	if (us < 0)
		us = 0;
	for (b = 0; b < M_BUCKETS && us > m_bounds_us[b]; b++)
		;
	if (b < M_BUCKETS)
		atomic_fetch_add_explicit(&mr->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&mr->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&mr->sum_us, (uint_fast64_t)us, memory_order_relaxed);
	if (req->route != NULL && req->route->audit_action != NULL &&
	    (req->status == 401 || req->status == 403) &&
	    (strcmp(req->route->audit_action, "auth.login") == 0 ||
	    strcmp(req->route->audit_action, "auth.mfa") == 0))
		atomic_fetch_add_explicit(&m_signin_failures, 1, memory_order_relaxed);
}

/* ---- access ---- */

static bool
addr_allowed(const struct kura_config *cfg, const char *ip)
{
	char *copy, *save = NULL, *tok;
	uint8_t a[16];
	bool ok = false;

	if (cfg->metrics_allow == NULL || strcmp(cfg->metrics_allow, "-") == 0 ||
	    cidr_addr(ip, a) != KURA_OK)
		return false;
	if ((copy = kura_strdup(cfg->metrics_allow)) == NULL)
		return false;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && !ok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		struct cidr c;
		if (cidr_parse(tok, &c) == KURA_OK && cidr_contains(&c, a))
			ok = true;
	}
	free(copy);
	return ok;
}

/*
 * Read the operator token (first line, surrounding white space dropped)
 * into buf.  The file must be private (config_check_private_file).  It is
 * read on each use so a new token takes effect without a restart.
 */
static kura_err
read_token(const char *path, char *buf, size_t len, char **ret_msg)
{
	ssize_t n;
	size_t start = 0, end;
	kura_err err;
	int fd;

	err = config_check_private_file(path, ret_msg);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return KURA_EIO;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return KURA_EIO;
	end = (size_t)n;
	buf[end] = '\0';
	end = strcspn(buf, "\r\n");
	while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
		start++;
	while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
		end--;
	memmove(buf, buf + start, end - start);
	buf[end - start] = '\0';
	if (end - start < M_TOKEN_MIN) {
		kura_wipe(buf, len);
		return KURA_EINVAL;
	}
	return KURA_OK;
}

kura_err
api_metrics_check(const struct kura_config *cfg, char **ret_msg)
{
	char tok[M_TOKEN_MAX];
	struct kbuf b;
	char *why = NULL;
	kura_err err;

	if (cfg->metrics_token_file == NULL || strcmp(cfg->metrics_token_file, "-") == 0)
		return KURA_OK;
	err = read_token(cfg->metrics_token_file, tok, sizeof(tok), &why);
	kura_wipe(tok, sizeof(tok));
	if (err == KURA_OK)
		return KURA_OK;
	kbuf_init(&b, 1024);
	(void)kbuf_printf(&b, "[metrics] token_file %s: %s",
	    cfg->metrics_token_file, why != NULL ? why :
	    err == KURA_EINVAL ? "the token must be at least 16 characters" :
	    kura_strerror(err));
	free(why);
	*ret_msg = kbuf_steal(&b, NULL);
	return err;
}

static bool
token_allowed(struct http_req *req, const struct kura_config *cfg)
{
	const char *authz = http_header(req, "Authorization");
	char tok[M_TOKEN_MAX];
	char *why = NULL;
	size_t n;
	bool ok;

	if (authz == NULL || strncmp(authz, "Bearer ", 7) != 0 ||
	    cfg->metrics_token_file == NULL ||
	    strcmp(cfg->metrics_token_file, "-") == 0)
		return false;
	if (read_token(cfg->metrics_token_file, tok, sizeof(tok), &why) != KURA_OK) {
		log_warn("request %s: /metrics token file unusable: %s",
		    req->request_id, why ? why : "unreadable or too short");
		free(why);
		return false;
	}
	n = strlen(tok);
	ok = strlen(authz + 7) == n && kura_ct_equal(authz + 7, tok, n);
	kura_wipe(tok, sizeof(tok));
	return ok;
}

/* ---- output ---- */

static void
head(struct kbuf *b, const char *name, const char *type, const char *help)
{
	(void)kbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \\, " and newline escaped. */
static void
label(struct kbuf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			(void)kbuf_puts(b, "\\\\");
		else if (*v == '"')
			(void)kbuf_puts(b, "\\\"");
		else if (*v == '\n')
			(void)kbuf_puts(b, "\\n");
		else
			(void)kbuf_append(b, v, 1);
	}
}

static const char *
method_label(unsigned m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	case HTTP_HEAD: return "HEAD";
	default: return "OTHER";
	}
}

static const char *
route_label(size_t i)
{
	return i < api_n_routes && i < M_MAX_ROUTES ? api_routes[i].pattern :
	    "unmatched";
}

static void
put_requests(struct kbuf *b)
{
	head(b, "kura_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern, method and status.");
	for (size_t i = 0; i <= M_MAX_ROUTES; i++) {
		struct m_route *mr = &m_routes[i];
		for (size_t k = 0; k < M_SLOTS; k++) {
			uint_fast32_t key = atomic_load(&mr->slot[k].key);
			uint_fast64_t n = atomic_load(&mr->slot[k].n);
			char status[8];

			if (n == 0)
				continue;
			if (k == M_SLOTS - 1)
				snprintf(status, sizeof(status), "other");
			else
				snprintf(status, sizeof(status), "%u",
				    (unsigned)(key & 0xffff));
			(void)kbuf_puts(b, "kura_http_requests_total{route=\"");
			label(b, route_label(i));
			(void)kbuf_printf(b, "\",method=\"%s\",status=\"%s\"} %llu\n",
			    method_label((unsigned)(key >> 16)), status,
			    (unsigned long long)n);
		}
	}
	head(b, "kura_http_request_duration_seconds", "histogram",
	    "Time from the request's headers to the end of its answer, by route.");
	for (size_t i = 0; i <= M_MAX_ROUTES; i++) {
		struct m_route *mr = &m_routes[i];
		uint_fast64_t count = atomic_load(&mr->count), cum = 0;

		if (count == 0)
			continue;
		for (size_t k = 0; k < M_BUCKETS; k++) {
			cum += atomic_load(&mr->bucket[k]);
			(void)kbuf_puts(b, "kura_http_request_duration_seconds_bucket{route=\"");
			label(b, route_label(i));
			(void)kbuf_printf(b, "\",le=\"%s\"} %llu\n", m_bounds_txt[k],
			    (unsigned long long)cum);
		}
		(void)kbuf_puts(b, "kura_http_request_duration_seconds_bucket{route=\"");
		label(b, route_label(i));
		(void)kbuf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		(void)kbuf_puts(b, "kura_http_request_duration_seconds_sum{route=\"");
		label(b, route_label(i));
		(void)kbuf_printf(b, "\"} %.6f\n",
		    (double)atomic_load(&mr->sum_us) / 1e6);
		(void)kbuf_puts(b, "kura_http_request_duration_seconds_count{route=\"");
		label(b, route_label(i));
		(void)kbuf_printf(b, "\"} %llu\n", (unsigned long long)count);
	}
}

/* Resident set size from /proc/self/statm (pages). */
static bool
rss_bytes(uint64_t *ret)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (f == NULL)
		return false;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return false;
	*ret = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
	return true;
}

static bool
open_fds(uint64_t *ret)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	uint64_t n = 0;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	*ret = n > 0 ? n - 1 : 0;           /* not the directory's own fd */
	return true;
}

static void
put_process(struct kbuf *b, const struct kura_config *cfg)
{
	struct rusage ru;
	struct statvfs vfs;
	uint64_t v;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		head(b, "process_cpu_seconds_total", "counter",
		    "User and system CPU time of the process in seconds.");
		(void)kbuf_printf(b, "process_cpu_seconds_total %.6f\n",
		    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	}
	if (rss_bytes(&v)) {
		head(b, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.");
		(void)kbuf_printf(b, "process_resident_memory_bytes %llu\n",
		    (unsigned long long)v);
	}
	if (open_fds(&v)) {
		head(b, "process_open_fds", "gauge", "Open file descriptors.");
		(void)kbuf_printf(b, "process_open_fds %llu\n", (unsigned long long)v);
	}
	if (statvfs(cfg->data_dir, &vfs) == 0) {
		head(b, "kura_data_dir_free_bytes", "gauge",
		    "Bytes available to kura in the data directory's file system.");
		(void)kbuf_printf(b, "kura_data_dir_free_bytes %llu\n",
		    (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize);
	}
}

static void
put_audit(struct kbuf *b, struct app *app)
{
	size_t depth = 0, last = 0;
	uint64_t records = 0, batches = 0;

	if (app->audit != NULL)
		audit_stats(app->audit, &depth, &last, &records, &batches);
	head(b, "kura_audit_queue_depth", "gauge",
	    "Audit records waiting for the group-commit writer.");
	(void)kbuf_printf(b, "kura_audit_queue_depth %zu\n", depth);
	head(b, "kura_audit_last_batch_size", "gauge",
	    "Records in the writer's last commit.");
	(void)kbuf_printf(b, "kura_audit_last_batch_size %zu\n", last);
	head(b, "kura_audit_records_total", "counter",
	    "Audit records committed by the group-commit writer.");
	(void)kbuf_printf(b, "kura_audit_records_total %llu\n",
	    (unsigned long long)records);
	head(b, "kura_audit_batches_total", "counter",
	    "Commits of the group-commit writer (one WAL fsync may cover several).");
	(void)kbuf_printf(b, "kura_audit_batches_total %llu\n",
	    (unsigned long long)batches);
}

/* The observers of the audit stream: SIEM forwarding (LOG-7) and the
 * alerts engine (LOG-6).  A growing drop count means records did not
 * reach them (they remain in the audit log). */
static void
put_observers(struct kbuf *b)
{
	struct siem_stats ss;
	struct alerts_stats as;

	siem_stats(NULL, &ss);
	alerts_serve_stats(&as);
	head(b, "kura_siem_queue_depth", "gauge", "Audit records waiting for the SIEM.");
	(void)kbuf_printf(b, "kura_siem_queue_depth %zu\n", ss.depth);
	head(b, "kura_siem_delivered_total", "counter", "Audit records delivered to the SIEM.");
	(void)kbuf_printf(b, "kura_siem_delivered_total %llu\n",
	    (unsigned long long)ss.delivered);
	head(b, "kura_siem_dropped_total", "counter",
	    "Audit records dropped because the SIEM queue was full.");
	(void)kbuf_printf(b, "kura_siem_dropped_total %llu\n",
	    (unsigned long long)ss.dropped);
	head(b, "kura_siem_connected", "gauge", "1 while the SIEM sink is open.");
	(void)kbuf_printf(b, "kura_siem_connected %d\n", ss.connected ? 1 : 0);
	head(b, "kura_alerts_raised_total", "counter", "Alerts stored.");
	(void)kbuf_printf(b, "kura_alerts_raised_total %llu\n",
	    (unsigned long long)as.raised);
	head(b, "kura_alerts_queue_depth", "gauge", "Audit records waiting for the alert rules.");
	(void)kbuf_printf(b, "kura_alerts_queue_depth %zu\n", as.queued);
	head(b, "kura_alerts_dropped_total", "counter",
	    "Audit records the alert rules never saw (queue full).");
	(void)kbuf_printf(b, "kura_alerts_dropped_total %llu\n",
	    (unsigned long long)as.dropped);
}

static void
put_limits(struct kbuf *b, struct http_req *req)
{
	struct http_rl_stats st;

	http_server_rl_stats(req->srv, &st);
	head(b, "kura_ratelimit_refusals_total", "counter",
	    "Requests refused with 429, by scope (address, user, tenant, blocked).");
	for (size_t i = 0; i < HTTP_RL_NSCOPES; i++)
		(void)kbuf_printf(b, "kura_ratelimit_refusals_total{scope=\"%s\"} %llu\n",
		    http_rl_scope_name((enum http_rl_scope)i),
		    (unsigned long long)st.refusals[i]);
	head(b, "kura_ratelimit_blocked_addresses", "gauge",
	    "Source addresses blocked right now.");
	(void)kbuf_printf(b, "kura_ratelimit_blocked_addresses %zu\n",
	    st.blocked_addresses);
}

/* 1 ok, 0 degraded or failing, from the health checker's last round. */
static void
put_health(struct kbuf *b, struct app *app)
{
	struct store_health *h = NULL;
	size_t n = 0;

	if (store_health_latest(app->store, &h, &n) != KURA_OK)
		return;
	head(b, "kura_health_status", "gauge",
	    "Last health check of each component: 1 ok, 0 degraded or failing.");
	for (size_t i = 0; i < n; i++) {
		(void)kbuf_puts(b, "kura_health_status{component=\"");
		label(b, h[i].component);
		(void)kbuf_printf(b, "\"} %d\n", strcmp(h[i].status, "ok") == 0);
	}
	head(b, "kura_health_checked_seconds", "gauge",
	    "Unix time of each component's last health check.");
	for (size_t i = 0; i < n; i++) {
		(void)kbuf_puts(b, "kura_health_checked_seconds{component=\"");
		label(b, h[i].component);
		(void)kbuf_printf(b, "\"} %lld\n", (long long)(h[i].checked_us / 1000000));
	}
	free(h);
}

void
api_metrics(struct http_req *req)
{
	struct app *app = req->app;
	const struct kura_config *cfg = app->cfg;
	struct kbuf b;

	if (!addr_allowed(cfg, req->client_ip) && !token_allowed(req, cfg)) {
		http_reply_error(req, 403, "forbidden", "not permitted");
		return;
	}
	kbuf_init(&b, M_OUT_MAX);
	put_requests(&b);
	head(&b, "kura_signin_failures_total", "counter",
	    "Failed sign-in steps (password or second factor).");
	(void)kbuf_printf(&b, "kura_signin_failures_total %llu\n",
	    (unsigned long long)atomic_load(&m_signin_failures));
	put_limits(&b, req);
	put_audit(&b, app);
	put_observers(&b);
	put_process(&b, cfg);
	put_health(&b, app);
	head(&b, "kura_build_info", "gauge", "The running kura version.");
	(void)kbuf_printf(&b, "kura_build_info{version=\"%s\"} 1\n",
	    KURA_BUILD_VERSION);
	http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	kbuf_free(&b);
}
