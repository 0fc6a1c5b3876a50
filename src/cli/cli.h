/* Subcommands of the kura binary and what they share. */
#ifndef KURA_CLI_CLI_H
#define KURA_CLI_CLI_H

#include <stdio.h>

#include "api/app.h"
#include "audit/audit.h"
#include "config/config.h"

/* Exit codes: 0 ok, 1 failure, 2 usage. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_tenant(int argc, char **argv);
int cli_key(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_audit_cmd(int argc, char **argv);
int cli_alerts(int argc, char **argv);

/* Print "kura: " + message to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Load the config of data_dir (permission-checked) and open the app
 * (keyring + migrated store).  Prints the reason on failure. */
int cli_open(const char *data_dir, struct kura_config **ret_cfg,
    struct app *ret_app);
void cli_close(struct kura_config *cfg, struct app *app);
/* Hold the key-management lock (LOCK_SH to create tenant keys, LOCK_EX to
 * rotate the KEK) so a rotation never retires a KEK version that a
 * concurrent command is about to use.  Returns an fd to close, or -1. */
int cli_keylock(const struct kura_config *cfg, int how);
/* Record an operator action (LOG-1): actor "operator" (the OS user),
 * source "local".  tenant_id may be NULL.  Failures are reported on
 * stderr and returned. */
kura_err cli_audit(struct app *app, const char *action, const char *tenant_id,
    const char *resource_id, const char *outcome);
/* Fill rec for an operator action (for actions audited in a transaction). */
void cli_audit_rec(struct audit_rec *rec, const char *action,
    const char *tenant_id, const char *resource_id);
/* Read a secret from a file (first line, at most max bytes).  Returns a
 * string to free with kura_free_secret_str, or NULL (reason printed). */
char *cli_read_secret_file(const char *path, size_t max);

#endif
