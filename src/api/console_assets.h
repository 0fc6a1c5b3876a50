/*
 * The console's static files, embedded at build time from web/ by
 * scripts/embed_web.py (decisions.md: the console is part of the binary).
 */
#ifndef KURA_API_CONSOLE_ASSETS_H
#define KURA_API_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *path;          /* relative to web/, e.g. "js/app.js" */
	const char *type;          /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct console_asset console_assets[];
extern const size_t console_n_assets;

#endif
