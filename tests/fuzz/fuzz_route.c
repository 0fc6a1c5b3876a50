/*
 * libFuzzer harness for http_route_match against the real API route table.
 * The first byte picks the method (any bit pattern, including invalid ones);
 * the rest, NUL-terminated, is the path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *route = NULL;
	size_t np = 0;
	unsigned allowed = 0;
	enum http_method method;
	char *path;
	kura_err err;

	if (size < 1)
		return 0;
	method = (enum http_method)data[0];
	path = malloc(size);
	if (path == NULL)
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	memset(params, 0, sizeof(params));

	err = http_route_match(api_routes, api_n_routes, method, path, &route,
	    params, &np, &allowed);
	if (err == KURA_OK) {
		if (route == NULL || route < api_routes ||
		    route >= api_routes + api_n_routes || np > HTTP_MAX_PARAMS)
			abort();
		if (route->method != method &&
		    !(method == HTTP_HEAD && route->method == HTTP_GET))
			abort();
		for (size_t i = 0; i < np; i++) {
			/* a param is one non-empty segment, named from the pattern */
			if (params[i].name == NULL || params[i].value == NULL ||
			    params[i].value[0] == '\0' ||
			    strchr(params[i].value, '/') != NULL ||
			    strchr(params[i].name, '}') == NULL)
				abort();
		}
		http_params_free(params, np);
	} else if (err == KURA_ECONFLICT) {
		if (allowed == 0)
			abort();
	} else if (err != KURA_ENOENT) {
		abort();
	}
	/* nothing may be left allocated in params on any outcome */
	for (size_t i = 0; i < HTTP_MAX_PARAMS; i++)
		if (params[i].value != NULL)
			abort();
	free(path);
	return 0;
}
