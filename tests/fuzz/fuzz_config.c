/*
 * libFuzzer harness for config_load: the input becomes DATA_DIR/kura.ini
 * (mode 0600) in a private data directory made once per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char data_dir[64];
static char ini_path[128];

static void
cleanup(void)
{
	unlink(ini_path);
	rmdir(data_dir);
}

static int
init_dir(void)
{
	if (data_dir[0] != '\0')
		return 0;
	snprintf(data_dir, sizeof(data_dir), "/tmp/kura_fuzz_config_XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		return -1;
	snprintf(ini_path, sizeof(ini_path), "%s/%s", data_dir, CONFIG_FILE_NAME);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kura_config *cfg = NULL;
	char *msg = NULL;
	kura_err err;
	int fd;

	if (init_dir() != 0)
		abort();
	unlink(ini_path);
	fd = open(ini_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	err = config_load(data_dir, &cfg, &msg);
	if (err == KURA_OK) {
		if (cfg == NULL || msg != NULL || cfg->n_listen < 1 ||
		    cfg->n_listen > CONFIG_MAX_LISTEN ||
		    cfg->max_json_depth < 2 || cfg->max_json_depth > 64)
			abort();
		for (size_t i = 0; i < cfg->n_listen; i++)
			if (cfg->listen[i] == NULL)
				abort();
		if (cfg->database == NULL || cfg->database[0] != '/' ||
		    cfg->kek_file == NULL || cfg->kek_file[0] != '/' ||
		    cfg->tls_cert == NULL || cfg->tls_key == NULL ||
		    cfg->log_level == NULL)
			abort();
		config_free(cfg);
	} else {
		if (cfg != NULL || msg == NULL)
			abort();
		free(msg);
	}
	return 0;
}
