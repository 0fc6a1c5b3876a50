#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/cidr.h"
#include "core/mem.h"
#include "core/parse.h"

/* CFG_OPTPATH: a path, or "-" for none (kept as "-"). */
enum cfg_type { CFG_U64, CFG_STR, CFG_PATH, CFG_OPTPATH, CFG_LIST, CFG_ENUM,
    CFG_CIDRS };

struct cfg_entry {
	const char *section;
	const char *key;
	enum cfg_type type;
	size_t offset;
	const char *def;
	uint64_t min, max;         /* CFG_U64 bounds; CFG_STR max length */
	const char *choices;       /* CFG_ENUM: "a|b|c" */
	const char *doc;
};

#define OFF(f) offsetof(struct kura_config, f)

/* The one table of settings.  Order is the order of the written file. */
static const struct cfg_entry cfg_table[] = {
	{ "server", "listen", CFG_LIST, OFF(listen), "127.0.0.1:8443,[::1]:8443",
	  0, 0, NULL, "HTTPS listen addresses, comma separated: host:port or [v6]:port. There is no plaintext listener." },
	{ "server", "threads", CFG_U64, OFF(threads), "0", 0, 256, NULL,
	  "Request threads per listen address; 0 means one per CPU the process may run on." },
	{ "server", "max_connections", CFG_U64, OFF(max_connections), "4096", 1, 1000000, NULL,
	  "Open connections accepted per listen address; more are refused." },
	{ "server", "max_connections_per_ip", CFG_U64, OFF(max_connections_per_ip), "256", 1, 1000000, NULL,
	  "Open connections from one client address." },
	{ "server", "connection_timeout_s", CFG_U64, OFF(connection_timeout_s), "30", 1, 3600, NULL,
	  "Seconds a connection may stay idle (also between bytes of a request) before it is closed." },
	{ "server", "shutdown_grace_s", CFG_U64, OFF(shutdown_grace_s), "30", 1, 3600, NULL,
	  "On SIGTERM, seconds to let in-flight requests finish before exiting." },
	{ "server", "trusted_proxies", CFG_CIDRS, OFF(trusted_proxies), "-", 0, 4096, NULL,
	  "Comma-separated CIDRs of reverse proxies; only from these is X-Forwarded-For used for the client address. '-' for none." },
	{ "tls", "certificate", CFG_PATH, OFF(tls_cert), "tls/cert.pem", 0, 4096, NULL,
	  "PEM certificate chain (relative paths are under the data directory). SIGHUP reloads it." },
	{ "tls", "private_key", CFG_PATH, OFF(tls_key), "tls/key.pem", 0, 4096, NULL,
	  "PEM private key; must be mode 0600 and owned by the kura user." },
	{ "tls", "hsts_max_age_s", CFG_U64, OFF(hsts_max_age_s), "31536000", 86400, 63072000, NULL,
	  "Strict-Transport-Security max-age in seconds." },
	{ "limits", "max_header_bytes", CFG_U64, OFF(max_header_bytes), "16384", 1024, 65536, NULL,
	  "Total bytes of request header names and values; more answers 431." },
	{ "limits", "max_body_bytes", CFG_U64, OFF(max_body_bytes), "1048576", 1024, 67108864, NULL,
	  "Largest JSON request body; a route may set a smaller limit. More answers 413." },
	{ "limits", "max_json_depth", CFG_U64, OFF(max_json_depth), "16", 2, 64, NULL,
	  "Deepest nesting of arrays/objects in a JSON body; deeper answers 400." },
	{ "limits", "max_upload_bytes", CFG_U64, OFF(max_upload_bytes), "5368709120", 1024, 1099511627776ULL, NULL,
	  "Largest file upload (streamed, encrypted as it arrives); tenants' own limits and quotas apply too." },
	{ "files", "keep_versions", CFG_U64, OFF(keep_versions), "10", 1, 1000, NULL,
	  "Versions kept per file; uploading another removes the oldest beyond this." },
	{ "exports", "expire_hours", CFG_U64, OFF(export_expire_hours), "72", 1, 720, NULL,
	  "Hours a finished tenant export (DAT-4) stays downloadable; then its archive is deleted." },
	{ "keys", "kek_file", CFG_PATH, OFF(kek_file), "keys/kek.keys", 0, 4096, NULL,
	  "Key-encryption keyring; must be mode 0600. Rotate with 'kura key rotate-kek'." },
	{ "store", "database", CFG_PATH, OFF(database), "kura.db", 0, 4096, NULL,
	  "SQLite database file (WAL mode)." },
	{ "audit", "signing_key", CFG_PATH, OFF(audit_key), "keys/audit-signing.key", 0, 4096, NULL,
	  "Ed25519 key that signs audit checkpoints and retention anchors; mode 0600." },
	{ "audit", "retention_days", CFG_U64, OFF(audit_retention_days), "365", 14, 3650, NULL,
	  "Days audit records are kept; older ones are removed as whole prefixes, leaving a signed anchor." },
	{ "audit", "checkpoint_interval_s", CFG_U64, OFF(audit_checkpoint_s), "60", 1, 86400, NULL,
	  "Seconds between signed checkpoints of the audit chain heads." },
	{ "audit", "writer_batch_max", CFG_U64, OFF(audit_batch_max), "256", 1, 4096, NULL,
	  "Most audit records the writer commits in one transaction." },
	{ "alerts", "failed_logins_per_account", CFG_U64, OFF(alert_failed_logins), "5", 2, 1000, NULL,
	  "Failed sign-ins for one account within the window that raise an alert." },
	{ "alerts", "failed_logins_per_address", CFG_U64, OFF(alert_failed_by_ip), "20", 2, 100000, NULL,
	  "Failed sign-ins from one source address within the window that raise an alert." },
	{ "alerts", "window_s", CFG_U64, OFF(alert_window_s), "300", 10, 86400, NULL,
	  "Sliding window, in seconds, of the burst rules." },
	{ "alerts", "bulk_reads_per_user", CFG_U64, OFF(alert_bulk_reads), "500", 10, 1000000, NULL,
	  "Reads by one user within the window that count as a bulk download." },
	{ "metrics", "allow", CFG_CIDRS, OFF(metrics_allow), "127.0.0.1/32,::1/128", 0, 4096, NULL,
	  "Networks that may read /metrics without a token ('-' for none)." },
	{ "metrics", "token_file", CFG_OPTPATH, OFF(metrics_token_file), "-", 0, 4096, NULL,
	  "File (mode 0600) holding the operator token for /metrics from other networks; '-' for none." },
	{ "health", "interval_s", CFG_U64, OFF(health_interval_s), "300", 5, 86400, NULL,
	  "Seconds between health checks of every component (results kept for the status page)." },
	{ "health", "min_free_disk_mb", CFG_U64, OFF(health_min_free_mb), "1024", 1, 10000000, NULL,
	  "Free space of the data directory below which disk health is failing." },
	{ "ratelimit", "per_address_rate", CFG_U64, OFF(rl_ip_rate), "200", 1, 1000000, NULL,
	  "Requests per second one source address may sustain (token bucket)." },
	{ "ratelimit", "per_address_burst", CFG_U64, OFF(rl_ip_burst), "1000", 1, 1000000, NULL,
	  "Burst size of the per-address bucket." },
	{ "ratelimit", "per_user_rate", CFG_U64, OFF(rl_user_rate), "20", 1, 1000000, NULL,
	  "Requests per second one user or token may sustain." },
	{ "ratelimit", "per_user_burst", CFG_U64, OFF(rl_user_burst), "200", 1, 1000000, NULL,
	  "Burst size of the per-user bucket." },
	{ "ratelimit", "per_tenant_rate", CFG_U64, OFF(rl_tenant_rate), "500", 1, 1000000, NULL,
	  "Requests per second one tenant may sustain." },
	{ "ratelimit", "per_tenant_burst", CFG_U64, OFF(rl_tenant_burst), "2000", 1, 1000000, NULL,
	  "Burst size of the per-tenant bucket." },
	{ "ratelimit", "block_after", CFG_U64, OFF(rl_block_after), "100", 1, 1000000, NULL,
	  "Refused (429) requests from one address within a minute after which it is blocked." },
	{ "ratelimit", "block_s", CFG_U64, OFF(rl_block_s), "600", 1, 86400, NULL,
	  "Seconds an abusive address stays blocked." },
	{ "siem", "mode", CFG_ENUM, OFF(siem_mode), "off", 0, 0, "off|syslog|file",
	  "Forward audit records: syslog (RFC 5424 over TCP) or a JSON-lines file." },
	{ "siem", "address", CFG_STR, OFF(siem_address), "127.0.0.1:6514", 0, 256, NULL,
	  "host:port of the syslog receiver (numeric address)." },
	{ "siem", "tls", CFG_ENUM, OFF(siem_tls), "off", 0, 0, "on|off",
	  "Syslog over TLS (RFC 5425), verifying the receiver's certificate." },
	{ "siem", "ca_file", CFG_STR, OFF(siem_ca_file), "-", 0, 4096, NULL,
	  "CA certificates (PEM) that sign the syslog receiver's certificate; '-' for the system's." },
	{ "siem", "file", CFG_PATH, OFF(siem_file), "siem/audit.jsonl", 0, 4096, NULL,
	  "JSON-lines file for mode = file (mode 0600, appended)." },
	{ "passwords", "argon2_memory_kib", CFG_U64, OFF(argon2_memory_kib), "19456", 8192, 1048576, NULL,
	  "Argon2id memory cost in KiB (OWASP minimum 19456)." },
	{ "passwords", "argon2_iterations", CFG_U64, OFF(argon2_iterations), "2", 1, 16, NULL,
	  "Argon2id time cost (iterations)." },
	{ "log", "level", CFG_ENUM, OFF(log_level), "info", 0, 0, "debug|info|warn|error",
	  "Process log level (stderr). Logs never hold secrets or customer content." },
};

#define CFG_N (sizeof(cfg_table) / sizeof(cfg_table[0]))

/* Messages name the file, line and setting; they never hold secrets. */
#define msgf(...) kbuf_strdupf(1024, __VA_ARGS__)

static const struct cfg_entry *
cfg_find(const char *section, const char *key)
{
	for (size_t i = 0; i < CFG_N; i++)
		if (strcmp(cfg_table[i].section, section) == 0 &&
		    strcmp(cfg_table[i].key, key) == 0)
			return &cfg_table[i];
	return NULL;
}

static void
list_clear(struct kura_config *cfg)
{
	for (size_t i = 0; i < cfg->n_listen; i++)
		KURA_FREE(cfg->listen[i]);
	cfg->n_listen = 0;
}

/* Parse a comma-separated list of host:port into cfg->listen. */
static kura_err
list_set(struct kura_config *cfg, const char *value, char **ret_msg)
{
	char *copy, *save = NULL, *tok;
	kura_err err = KURA_OK;

	copy = kura_strdup(value);
	if (copy == NULL)
		return KURA_ENOMEM;
	list_clear(cfg);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		char *host = NULL;
		uint16_t port;

		if (cfg->n_listen == CONFIG_MAX_LISTEN) {
			*ret_msg = msgf("at most %d addresses", CONFIG_MAX_LISTEN);
			err = KURA_ERANGE;
			goto out;
		}
		err = kura_parse_hostport(tok, &host, &port);
		free(host);
		if (err) {
			*ret_msg = msgf("'%s' is not host:port or [v6]:port", tok);
			goto out;
		}
		cfg->listen[cfg->n_listen] = kura_strdup(tok);
		if (cfg->listen[cfg->n_listen] == NULL) {
			err = KURA_ENOMEM;
			goto out;
		}
		cfg->n_listen++;
	}
	if (cfg->n_listen == 0) {
		*ret_msg = msgf("at least one address is needed");
		err = KURA_EINVAL;
	}
out:
	free(copy);
	return err;
}

/* Store value into the field e describes, validating it.  On error,
 * *ret_msg (malloc'd) explains. */
static kura_err
entry_set(struct kura_config *cfg, const struct cfg_entry *e, const char *value,
    char **ret_msg)
{
	char *field = (char *)cfg + e->offset;
	char *s;
	kura_err err;

	switch (e->type) {
	case CFG_U64: {
		uint64_t v;
		err = kura_parse_u64(value, e->min, e->max, &v);
		if (err) {
			*ret_msg = msgf("must be a whole number from %llu to %llu",
			    (unsigned long long)e->min, (unsigned long long)e->max);
			return err;
		}
		memcpy(field, &v, sizeof(v));
		return KURA_OK;
	}
	case CFG_LIST:
		return list_set(cfg, value, ret_msg);
	case CFG_ENUM: {
		size_t n = strlen(value);
		const char *c = e->choices;
		bool ok = false;
		while (c != NULL && *c != '\0') {
			const char *bar = strchr(c, '|');
			size_t len = bar ? (size_t)(bar - c) : strlen(c);
			if (len == n && n > 0 && strncmp(c, value, n) == 0)
				ok = true;
			c = bar ? bar + 1 : NULL;
		}
		if (!ok) {
			*ret_msg = msgf("must be one of %s", e->choices);
			return KURA_EINVAL;
		}
		break;
	}
	case CFG_CIDRS:
		if (strcmp(value, "-") != 0) {
			char *copy = kura_strdup(value), *save = NULL, *tok;
			if (copy == NULL)
				return KURA_ENOMEM;
			for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
			    tok = strtok_r(NULL, ", \t", &save)) {
				struct cidr c;
				if (cidr_parse(tok, &c) != KURA_OK) {
					*ret_msg = msgf("'%s' is not an IPv4 or IPv6 CIDR", tok);
					free(copy);
					return KURA_EINVAL;
				}
			}
			free(copy);
		}
		break;
	case CFG_STR:
	case CFG_PATH:
	case CFG_OPTPATH:
		if (*value == '\0' || strlen(value) > e->max ||
		    !kura_text_ok(value, e->max)) {
			*ret_msg = msgf("must be non-empty printable text of at most %llu bytes",
			    (unsigned long long)e->max);
			return KURA_EINVAL;
		}
		break;
	}
	/* relative paths are under the data directory; "-" (none) stays as it
	 * is, but only for an optional path: a required path is never "-" */
	if ((e->type == CFG_PATH || (e->type == CFG_OPTPATH &&
	    strcmp(value, "-") != 0)) && value[0] != '/') {
		s = msgf("%s/%s", cfg->data_dir, value);
	} else {
		s = kura_strdup(value);
	}
	if (s == NULL)
		return KURA_ENOMEM;
	free(*(char **)field);
	*(char **)field = s;
	return KURA_OK;
}

kura_err
config_set(struct kura_config *cfg, const char *section, const char *key,
    const char *value, char **ret_msg)
{
	const struct cfg_entry *e = cfg_find(section, key);
	char *why = NULL;
	kura_err err;

	if (e == NULL) {
		*ret_msg = msgf("unknown setting [%s] %s", section, key);
		return KURA_EINVAL;
	}
	err = entry_set(cfg, e, value, &why);
	if (err) {
		*ret_msg = msgf("[%s] %s: %s", section, key,
		    why ? why : kura_strerror(err));
		free(why);
	}
	return err;
}

kura_err
config_defaults(const char *data_dir, struct kura_config **ret_cfg)
{
	struct kura_config *cfg;
	char *msg = NULL;
	kura_err err = KURA_OK;

	cfg = kura_calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return KURA_ENOMEM;
	cfg->data_dir = realpath(data_dir, NULL);
	if (cfg->data_dir == NULL) {
		err = errno == ENOMEM ? KURA_ENOMEM : KURA_ENOENT;
		goto out;
	}
	cfg->config_path = msgf("%s/%s", cfg->data_dir, CONFIG_FILE_NAME);
	if (cfg->config_path == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < CFG_N; i++) {
		err = entry_set(cfg, &cfg_table[i], cfg_table[i].def, &msg);
		free(msg);
		msg = NULL;
		if (err)
			goto out;  /* a bad default is a bug; the unit test catches it */
	}
out:
	if (err) {
		config_free(cfg);
		return err;
	}
	*ret_cfg = cfg;
	return KURA_OK;
}

struct load_state {
	struct kura_config *cfg;
	char *msg;
	kura_err err;
	uint64_t seen[(CFG_N + 63) / 64];
};

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	const struct cfg_entry *e;
	size_t idx;

	if (st->err)
		return 0;
	e = cfg_find(section, name);
	if (e == NULL) {
		st->msg = msgf("unknown setting [%s] %s", section, name);
		st->err = KURA_EINVAL;
		return 0;
	}
	idx = (size_t)(e - cfg_table);
	if (st->seen[idx / 64] & (1ULL << (idx % 64))) {
		st->msg = msgf("[%s] %s is set twice", section, name);
		st->err = KURA_EINVAL;
		return 0;
	}
	st->seen[idx / 64] |= 1ULL << (idx % 64);
	st->err = config_set(st->cfg, section, name, value, &st->msg);
	return st->err == KURA_OK;
}

/* The data directory holds keys and customer data: ours alone. */
static kura_err
check_private_dir(const char *dir, char **ret_msg)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		*ret_msg = msgf("%s: not a directory", dir);
		return KURA_ENOENT;
	}
	if (st.st_uid != geteuid()) {
		*ret_msg = msgf("%s: owned by uid %u, not by the user running kura (uid %u)",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return KURA_EPERM;
	}
	if (st.st_mode & 077) {
		*ret_msg = msgf("%s: mode %04o lets group or others access the data "
		    "directory; run: chmod 700 %s", dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return KURA_EPERM;
	}
	return KURA_OK;
}

kura_err
config_check_private_file(const char *path, char **ret_msg)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*ret_msg = msgf("%s: %s", path, strerror(errno));
		return errno == ENOENT ? KURA_ENOENT : KURA_EPERM;
	}
	if (fstat(fd, &st) != 0) {
		*ret_msg = msgf("%s: %s", path, strerror(errno));
		close(fd);
		return KURA_EIO;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		*ret_msg = msgf("%s: not a regular file", path);
		return KURA_EPERM;
	}
	if (st.st_uid != geteuid()) {
		*ret_msg = msgf("%s: owned by uid %u, not by the user running kura (uid %u)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return KURA_EPERM;
	}
	if (st.st_mode & 077) {
		*ret_msg = msgf("%s: mode %04o lets group or others access it; "
		    "run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		return KURA_EPERM;
	}
	return KURA_OK;
}

/* The longest line inih (Debian's build) reads whole; a longer one would
 * be split, so it is refused here with a clear message. */
#define INI_LINE_MAX 199

/*
 * What inih cannot report: section headers with no keys (an unknown
 * "[sectoin]" would pass silently) and over-long lines.  Only looks at
 * line lengths and "[name]" headers; inih does the real parsing.
 */
static kura_err
prescan(FILE *f, const char *path, char **ret_msg)
{
	char line[1024];
	int lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		char *p = line, *end;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > INI_LINE_MAX) {
			*ret_msg = msgf("%s:%d: line longer than %d bytes", path, lineno,
			    INI_LINE_MAX);
			return KURA_EINVAL;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[')
			continue;
		end = strchr(p, ']');
		if (end == NULL)
			continue;   /* inih reports the syntax error */
		*end = '\0';
		{
			bool known = false;
			for (size_t i = 0; i < CFG_N; i++)
				if (strcmp(cfg_table[i].section, p + 1) == 0)
					known = true;
			if (!known) {
				*ret_msg = msgf("%s:%d: unknown section [%s]", path, lineno,
				    p + 1);
				return KURA_EINVAL;
			}
		}
	}
	return KURA_OK;
}

kura_err
config_load(const char *data_dir, struct kura_config **ret_cfg, char **ret_msg)
{
	struct load_state st;
	struct kura_config *cfg = NULL;
	FILE *f = NULL;
	int line;
	kura_err err;

	memset(&st, 0, sizeof(st));
	err = config_defaults(data_dir, &cfg);
	if (err) {
		*ret_msg = msgf("%s: %s", data_dir, err == KURA_ENOENT ?
		    "data directory does not exist" : kura_strerror(err));
		return err;
	}
	err = check_private_dir(cfg->data_dir, ret_msg);
	if (err)
		goto out;
	err = config_check_private_file(cfg->config_path, ret_msg);
	if (err)
		goto out;
	f = fopen(cfg->config_path, "re");
	if (f == NULL) {
		*ret_msg = msgf("%s: %s", cfg->config_path, strerror(errno));
		err = KURA_EIO;
		goto out;
	}
	err = prescan(f, cfg->config_path, ret_msg);
	if (err)
		goto out;
	rewind(f);
	st.cfg = cfg;
	line = ini_parse_file(f, ini_cb, &st);
	if (line != 0 || st.err) {
		err = st.err ? st.err : KURA_EINVAL;
		*ret_msg = msgf("%s:%d: %s", cfg->config_path, line,
		    st.msg ? st.msg : "syntax error");
		goto out;
	}
out:
	if (f != NULL)
		fclose(f);
	free(st.msg);
	if (err) {
		config_free(cfg);
		return err;
	}
	*ret_cfg = cfg;
	return KURA_OK;
}

void
config_free(struct kura_config *cfg)
{
	if (cfg == NULL)
		return;
	list_clear(cfg);
	for (size_t i = 0; i < CFG_N; i++) {
		if (cfg_table[i].type == CFG_U64 || cfg_table[i].type == CFG_LIST)
			continue;
		free(*(char **)((char *)cfg + cfg_table[i].offset));
	}
	free(cfg->data_dir);
	free(cfg->config_path);
	free(cfg);
}

kura_err
config_write_default(const char *path)
{
	const char *section = "";
	struct kbuf b;
	kura_err err = KURA_OK;
	int fd = -1;

	kbuf_init(&b, 64 * 1024);
	err = kbuf_puts(&b,
	    "; kura configuration.  Every setting is shown with its default;\n"
	    "; uncomment a line to change it.  Relative paths are under the data\n"
	    "; directory.  This file must stay mode 0600 (kura refuses to start\n"
	    "; otherwise).  See docs/operator.md for details.\n");
	for (size_t i = 0; i < CFG_N && !err; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		if (strcmp(section, e->section) != 0) {
			section = e->section;
			err = kbuf_printf(&b, "\n[%s]\n", section);
		}
		if (!err && e->type == CFG_U64)
			err = kbuf_printf(&b, "; %s (%llu..%llu)\n", e->doc,
			    (unsigned long long)e->min, (unsigned long long)e->max);
		else if (!err && e->type == CFG_ENUM)
			err = kbuf_printf(&b, "; %s (%s)\n", e->doc, e->choices);
		else if (!err)
			err = kbuf_printf(&b, "; %s\n", e->doc);
		if (!err)
			err = kbuf_printf(&b, ";%s = %s\n", e->key, e->def);
	}
	if (err)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno == EEXIST ? KURA_EEXIST : KURA_EIO;
		goto out;
	}
	if (write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) != 0)
		err = KURA_EIO;
out:
	if (fd >= 0)
		close(fd);
	if (err == KURA_EIO)
		(void)unlink(path);
	kbuf_free(&b);
	return err;
}
