#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <pwd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/mem.h"

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("kura: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_open(const char *data_dir, struct kura_config **ret_cfg, struct app *ret_app)
{
	struct kura_config *cfg = NULL;
	char *msg = NULL;
	kura_err err;

	err = config_load(data_dir, &cfg, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		free(msg);
		return CLI_FAIL;
	}
	err = app_init(ret_app, cfg, true, &msg);
	if (err) {
		cli_err("%s", msg ? msg : kura_strerror(err));
		free(msg);
		config_free(cfg);
		return CLI_FAIL;
	}
	*ret_cfg = cfg;
	return CLI_OK;
}

void
cli_close(struct kura_config *cfg, struct app *app)
{
	app_fini(app);
	config_free(cfg);
}

int
cli_keylock(const struct kura_config *cfg, int how)
{
	struct kbuf path;
	int fd;

	kbuf_init(&path, 4200);
	if (kbuf_printf(&path, "%s.rotation-lock", cfg->kek_file) != KURA_OK) {
		kbuf_free(&path);
		return -1;
	}
	fd = open(path.data, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, how) != 0) {
		cli_err("%s: cannot lock: %s", path.data, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	kbuf_free(&path);
	return fd;
}

char *
cli_read_secret_file(const char *path, size_t max)
{
	struct kbuf b;
	char chunk[256];
	FILE *f;
	size_t n;
	char *nl;

	f = fopen(path, "re");
	if (f == NULL) {
		cli_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	kbuf_init_secret(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (kbuf_append(&b, chunk, n) != KURA_OK) {
			cli_err("%s: longer than %zu bytes", path, max);
			kura_wipe(chunk, sizeof(chunk));
			kbuf_free(&b);
			fclose(f);
			return NULL;
		}
	}
	kura_wipe(chunk, sizeof(chunk));
	fclose(f);
	if (b.data == NULL)
		(void)kbuf_append(&b, "", 0);
	nl = b.data ? strpbrk(b.data, "\r\n") : NULL;
	if (nl != NULL) {
		kura_wipe(nl, b.len - (size_t)(nl - b.data));
		*nl = '\0';
	}
	return kbuf_steal(&b, NULL);
}

void
cli_audit_rec(struct audit_rec *rec, const char *action, const char *tenant_id,
    const char *resource_id)
{
	struct passwd *pw = getpwuid(geteuid());
	char who[64];

	snprintf(who, sizeof(who), "%s", pw != NULL ? pw->pw_name : "unknown");
	if (audit_rec_init(rec, tenant_id ? tenant_id : "", "operator", who,
	    action) != KURA_OK)
		(void)audit_rec_init(rec, "", "operator", "unknown", action);
	snprintf(rec->source_ip, sizeof(rec->source_ip), "local");
	{
		const char *dot = strchr(action, '.');
		snprintf(rec->resource_type, sizeof(rec->resource_type), "%.*s",
		    dot ? (int)(dot - action) : (int)strlen(action), action);
	}
	if (resource_id != NULL && strlen(resource_id) < sizeof(rec->resource_id))
		snprintf(rec->resource_id, sizeof(rec->resource_id), "%s", resource_id);
	rec->detail = json_pack("{s:s}", "via", "cli");
}

kura_err
cli_audit(struct app *app, const char *action, const char *tenant_id,
    const char *resource_id, const char *outcome)
{
	struct audit_rec rec;
	kura_err err;

	cli_audit_rec(&rec, action, tenant_id, resource_id);
	snprintf(rec.outcome, sizeof(rec.outcome), "%s", outcome);
	err = audit_append(app->store, &rec);
	audit_rec_clear(&rec);
	if (err)
		cli_err("cannot write the audit record for %s: %s", action,
		    kura_strerror(err));
	return err;
}
