/*
 * kura.ini: one table (config.c) lists every setting with its type, default,
 * bounds and documentation.  The same table loads the file, validates it,
 * and writes the documented default file for `kura init`.
 */
#ifndef KURA_CONFIG_CONFIG_H
#define KURA_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_FILE_NAME "kura.ini"

struct kura_config {
	char *data_dir;            /* absolute */
	char *config_path;         /* absolute */

	/* [server] */
	char *listen[CONFIG_MAX_LISTEN];
	size_t n_listen;
	uint64_t threads;          /* request threads per listener; 0 = CPUs */
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	uint64_t connection_timeout_s;
	uint64_t shutdown_grace_s;
	char *trusted_proxies;     /* CIDRs whose X-Forwarded-For is believed */

	/* [tls] */
	char *tls_cert;            /* absolute after load */
	char *tls_key;
	uint64_t hsts_max_age_s;

	/* [limits] */
	uint64_t max_header_bytes;
	uint64_t max_body_bytes;
	uint64_t max_json_depth;
	uint64_t max_upload_bytes;         /* bound of any streamed upload */

	/* [files] */
	uint64_t keep_versions;            /* versions kept per file */

	/* [exports] */
	uint64_t export_expire_hours;      /* tenant exports are removed after */

	/* [keys] */
	char *kek_file;

	/* [store] */
	char *database;

	/* [audit] */
	char *audit_key;           /* Ed25519 signing key for checkpoints */
	uint64_t audit_retention_days;
	uint64_t audit_checkpoint_s;
	uint64_t audit_batch_max;

	/* [alerts] */
	uint64_t alert_failed_logins;      /* failures per account in the window */
	uint64_t alert_failed_by_ip;       /* failures per source address */
	uint64_t alert_window_s;
	uint64_t alert_bulk_reads;         /* bulk download: reads per user in window */

	/* [metrics] */
	char *metrics_allow;               /* CIDRs that may GET /metrics */
	char *metrics_token_file;          /* operator token file, or "-" */

	/* [health] */
	uint64_t health_interval_s;
	uint64_t health_min_free_mb;

	/* [ratelimit] */
	uint64_t rl_ip_rate;               /* requests per second per address */
	uint64_t rl_ip_burst;
	uint64_t rl_user_rate;
	uint64_t rl_user_burst;
	uint64_t rl_tenant_rate;
	uint64_t rl_tenant_burst;
	uint64_t rl_block_after;           /* refusals in a window before a block */
	uint64_t rl_block_s;

	/* [siem] */
	char *siem_mode;                   /* off | syslog | file */
	char *siem_address;                /* host:port for syslog over TCP */
	char *siem_tls;                    /* on | off */
	char *siem_ca_file;                /* CA bundle for syslog over TLS, or "-" */
	char *siem_file;                   /* JSON-lines file for mode = file */

	/* [passwords] */
	uint64_t argon2_memory_kib;
	uint64_t argon2_iterations;

	/* [log] */
	char *log_level;
};

/* Load DATA_DIR/kura.ini: defaults first, then the file.  Unknown sections
 * or keys, malformed or out-of-range values are errors; *ret_msg (malloc'd)
 * then names the line and setting.  KURA_EPERM if the file is not owned by
 * the effective uid or is accessible by group or others. */
kura_err config_load(const char *data_dir, struct kura_config **ret_cfg,
    char **ret_msg);
/* Defaults only, for a data dir that has no file yet. */
kura_err config_defaults(const char *data_dir, struct kura_config **ret_cfg);
/* Set one setting by "section.key" (used for --listen overrides and
 * tests); same validation as the file.  For list settings, replaces. */
kura_err config_set(struct kura_config *cfg, const char *section,
    const char *key, const char *value, char **ret_msg);
void config_free(struct kura_config *cfg);
/* Write the documented default kura.ini to path (mode 0600, O_EXCL). */
kura_err config_write_default(const char *path);
/* Check that path is a regular file owned by us with no group/other bits
 * (for the config file, the KEK file and the TLS key).  On failure
 * *ret_msg says why in words. */
kura_err config_check_private_file(const char *path, char **ret_msg);

#endif
