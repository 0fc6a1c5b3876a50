#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "http/http.h"

enum http_method
http_method_parse(const char *s)
{
	static const struct { const char *name; enum http_method m; } tab[] = {
		{ "GET", HTTP_GET }, { "POST", HTTP_POST }, { "PUT", HTTP_PUT },
		{ "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE },
		{ "HEAD", HTTP_HEAD },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].name) == 0)
			return tab[i].m;
	return 0;
}

void
http_methods_str(unsigned bits, char *buf, size_t len)
{
	static const char *const names[] = { "GET", "POST", "PUT", "PATCH",
	    "DELETE", "HEAD" };
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;
		if (!(bits & (1u << i)))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", names[i]);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

void
http_params_free(struct http_param *params, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(params[i].value);
		params[i].value = NULL;
		params[i].name = NULL;
	}
}

/*
 * Match one pattern against path segment by segment.  A {name} segment
 * matches any non-empty segment; values are copied into params.  Returns
 * true on a match (params filled, *n set), false otherwise (params clean).
 */
static bool
pattern_match(const char *pattern, const char *path, struct http_param *params,
    size_t *n)
{
	const char *p = pattern, *s = path;
	size_t np = 0;

	while (*p != '\0' && *s != '\0') {
		const char *pe, *se;
		if (*p != '/' || *s != '/')
			goto fail;
		p++;
		s++;
		pe = strchr(p, '/');
		se = strchr(s, '/');
		if (pe == NULL)
			pe = p + strlen(p);
		if (se == NULL)
			se = s + strlen(s);
		if (*p == '{') {
			if (se == s || np == HTTP_MAX_PARAMS || pe[-1] != '}')
				goto fail;
			params[np].name = NULL;  /* name is in the pattern; see below */
			params[np].value = kura_strndup(s, (size_t)(se - s));
			if (params[np].value == NULL)
				goto fail;
			np++;
		} else if ((size_t)(pe - p) != (size_t)(se - s) ||
		    memcmp(p, s, (size_t)(pe - p)) != 0) {
			goto fail;
		}
		p = pe;
		s = se;
	}
	if (*p != '\0' || *s != '\0')
		goto fail;
	*n = np;
	return true;
fail:
	http_params_free(params, np);
	return false;
}

kura_err
http_route_match(const struct http_route *routes, size_t n,
    enum http_method method, const char *path, const struct http_route **ret_route,
    struct http_param *params, size_t *ret_n_params, unsigned *ret_allowed)
{
	unsigned allowed = 0;
	size_t np;

	if (path == NULL || path[0] != '/')
		return KURA_ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(routes[i].pattern, path, params, &np))
			continue;
		if (routes[i].method == method ||
		    (method == HTTP_HEAD && routes[i].method == HTTP_GET)) {
			/* name the params from the pattern's {name} segments */
			const char *q = routes[i].pattern;
			for (size_t k = 0; k < np; k++) {
				q = strchr(q, '{');
				params[k].name = q + 1;
				q++;
			}
			*ret_route = &routes[i];
			*ret_n_params = np;
			return KURA_OK;
		}
		http_params_free(params, np);
		allowed |= routes[i].method;
	}
	if (allowed) {
		*ret_allowed = allowed;
		return KURA_ECONFLICT;
	}
	return KURA_ENOENT;
}
