/*
 * The web console (issue 6): static files under /console/, answered from
 * the table embedded at build time (console_assets.h).  Nothing here reads
 * the file system, so no path can escape web/: a name not in the table is
 * a JSON 404.  The console itself is a client of the same /api/v1 routes
 * as everyone else, under the server's strict CSP (no inline script or
 * style, nothing from another origin).
 */
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/console_assets.h"

static const struct console_asset *
asset_find(const char *path)
{
	for (size_t i = 0; i < console_n_assets; i++)
		if (strcmp(console_assets[i].path, path) == 0)
			return &console_assets[i];
	return NULL;
}

static void
reply_asset(struct http_req *req, const char *path)
{
	const struct console_asset *a = asset_find(path);

	if (a == NULL) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	http_reply_raw(req, 200, a->type, a->data, a->len);
}

/* GET / and GET /console: to the console's start page. */
void
api_console_redirect(struct http_req *req)
{
	static const char body[] = "{\"location\":\"/console/\"}";

	http_reply_raw(req, 302, "application/json", body, sizeof(body) - 1);
	(void)http_add_header(req, "Location", "/console/");
}

/* GET /console/: the single page. */
void
api_console_index(struct http_req *req)
{
	reply_asset(req, "index.html");
}

/* GET /console/{f} and /console/{d}/{f}: a file of the console. */
void
api_console_file(struct http_req *req)
{
	const char *d = http_param(req, "d"), *f = http_param(req, "f");
	char path[256];
	int n;

	if (f == NULL) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	n = d != NULL ? snprintf(path, sizeof(path), "%s/%s", d, f) :
	    snprintf(path, sizeof(path), "%s", f);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	reply_asset(req, path);
}
