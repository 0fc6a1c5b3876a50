#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
