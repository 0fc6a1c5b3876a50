/*
 * Unit tests for the socket-free pieces of src/http: JSON body parsing and
 * depth limits, the router, the Allow header text, and the API route table
 * invariants (IAM-3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/app.h"
#include "auth/rbac.h"
#include "core/tz.h"
#include "http/http.h"
#include "http/jsontext.h"

/* ---- http_json_parse ---- */

static json_t *
parse_ok(const char *body, size_t max_depth)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	kura_err err = http_json_parse(body, strlen(body), max_depth, &j, &code,
	    &msg);

	if (err != KURA_OK)
		fail_msg("'%.60s' rejected: %s (%s)", body, code ? code : "?",
		    msg ? msg : "?");
	assert_non_null(j);
	assert_true(json_is_object(j));
	return j;
}

static void
parse_fails(const char *body, size_t len, size_t max_depth, kura_err want,
    const char *want_code)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	kura_err err = http_json_parse(body, len, max_depth, &j, &code, &msg);

	if (err != want)
		fail_msg("'%.60s': got %s, want %s", body, kura_strerror(err),
		    kura_strerror(want));
	assert_null(j);
	assert_non_null(code);
	assert_string_equal(code, want_code);
	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
}

static void
json_parse_accepts_valid_object(void **state)
{
	json_t *j;

	(void)state;
	j = parse_ok("{\"name\":\"Acme\",\"seats\":10,\"on\":true,\"x\":null,"
	    "\"list\":[1,2,{\"a\":\"b\"}],\"u\":\"\\u6771\\u4eac caf\xc3\xa9\"}", 16);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "Acme");
	assert_int_equal(json_integer_value(json_object_get(j, "seats")), 10);
	json_decref(j);
	j = parse_ok("{}", 16);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	j = parse_ok(" \r\n\t{ \"a\" : 1 } \n", 16);
	json_decref(j);
}

static void
json_parse_rejects_empty_malformed_and_trailing_garbage(void **state)
{
	static const char *const bad[] = {
		" ", "\n", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
		"{'a':1}", "{\"a\":01}", "{\"a\":NaN}", "{\"a\":Infinity}",
		"{\"a\":tru}", "{\"a\":\"unterminated}", "{\"a\":\"\\x41\"}",
		"{\"a\":1} x", "{\"a\":1}{}", "{}}", "{} []", "{\"a\":1}\x01",
		"/* c */ {}", "{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}",
		"\xef\xbb\xbf{}",
	};

	(void)state;
	parse_fails("", 0, 16, KURA_EINVAL, "invalid_json");
	parse_fails("{}", 0, 16, KURA_EINVAL, "invalid_json");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_fails(bad[i], strlen(bad[i]), 16, KURA_EINVAL, "invalid_json");
}

static void
json_parse_rejects_non_object_top_level(void **state)
{
	static const char *const bad[] = {
		"[]", "[{}]", "1", "-1.5", "\"str\"", "true", "false", "null",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_fails(bad[i], strlen(bad[i]), 16, KURA_EINVAL, "invalid_json");
}

/* "{"a":" repeated objects deep, closed, as one object of that depth. */
static char *
nested_objects(size_t depth)
{
	size_t n = depth * 6 + 8;
	char *s = malloc(n), *p = s;

	assert_non_null(s);
	for (size_t i = 0; i < depth; i++) {
		if (i + 1 < depth) {
			memcpy(p, "{\"a\":", 5);
			p += 5;
		} else {
			*p++ = '{';
		}
	}
	for (size_t i = 0; i < depth; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

/* An object holding depth-1 nested arrays: {"a":[[[...]]]}. */
static char *
nested_arrays_in_object(size_t depth)
{
	size_t n = depth * 2 + 16;
	char *s = malloc(n), *p = s;

	assert_non_null(s);
	memcpy(p, "{\"a\":", 5);
	p += 5;
	for (size_t i = 1; i < depth; i++)
		*p++ = '[';
	for (size_t i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return s;
}

static void
json_parse_depth_exactly_max_ok_and_max_plus_1_too_deep(void **state)
{
	static const size_t maxes[] = { 2, 3, 16, 64 };
	char *s;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		size_t m = maxes[i];

		s = nested_objects(m);
		j = parse_ok(s, m);
		assert_int_equal(http_json_depth(j), m);
		json_decref(j);
		free(s);
		s = nested_objects(m + 1);
		parse_fails(s, strlen(s), m, KURA_ERANGE, "json_too_deep");
		free(s);

		s = nested_arrays_in_object(m);
		j = parse_ok(s, m);
		assert_int_equal(http_json_depth(j), m);
		json_decref(j);
		free(s);
		s = nested_arrays_in_object(m + 1);
		parse_fails(s, strlen(s), m, KURA_ERANGE, "json_too_deep");
		free(s);
	}
}

static void
json_parse_survives_100000_deep_nesting(void **state)
{
	const size_t depth = 100000;
	char *s = malloc(depth * 2 + 2);
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	kura_err err;

	(void)state;
	assert_non_null(s);
	/* unclosed, and closed, arrays inside an object */
	s[0] = '{';
	memset(s + 1, '[', depth);
	s[depth + 1] = '\0';
	err = http_json_parse(s, strlen(s), 16, &j, &code, &msg);
	assert_int_not_equal(err, KURA_OK);
	assert_null(j);
	free(s);

	s = nested_arrays_in_object(depth);
	err = http_json_parse(s, strlen(s), 16, &j, &code, &msg);
	assert_int_not_equal(err, KURA_OK);
	assert_null(j);
	assert_non_null(code);
	free(s);

	s = nested_objects(depth);
	err = http_json_parse(s, strlen(s), 16, &j, &code, &msg);
	assert_int_not_equal(err, KURA_OK);
	assert_null(j);
	free(s);
}

static void
json_parse_rejects_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"{\"a\":\"\xff\"}",
		"{\"a\":\"\xc3\"}",
		"{\"a\":\"\xc0\xaf\"}",            /* overlong '/' */
		"{\"a\":\"\xe0\x80\xaf\"}",        /* overlong '/' */
		"{\"a\":\"\xed\xa0\x80\"}",        /* raw surrogate */
		"{\"a\":\"\xf4\x90\x80\x80\"}",    /* > U+10FFFF */
		"{\"\x80\":1}",                    /* in a key */
		"{\"a\":\"\\ud800\"}",             /* lone escaped surrogate */
		"{\"a\":\"\\udc00x\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_fails(bad[i], strlen(bad[i]), 16, KURA_EINVAL, "invalid_json");
	/* a valid escaped pair is fine */
	json_decref(parse_ok("{\"a\":\"\\ud83d\\ude00\"}", 16));
}

#define DUP1 "{\"a\":1,\"a\":2}"
#define DUP2 "{\"a\":1,\"b\":{\"c\":1,\"c\":1}}"
#define DUP3 "{\"a\":1,\"\\u0061\":2}"
#define NUL1 "{\"a\":\"x\\u0000y\"}"
#define NUL2 "{\"\\u0000\":1}"

static void
json_parse_rejects_duplicate_keys(void **state)
{
	(void)state;
	parse_fails(DUP1, strlen(DUP1), 16, KURA_EINVAL, "invalid_json");
	parse_fails(DUP2, strlen(DUP2), 16, KURA_EINVAL,
	    "invalid_json");
	/* the same key written differently is still the same key */
	parse_fails(DUP3, strlen(DUP3), 16, KURA_EINVAL,
	    "invalid_json");
}

static void
json_parse_rejects_embedded_nul(void **state)
{
	static const char raw_in_string[] = "{\"a\":\"x\0y\"}";
	static const char raw_after[] = "{\"a\":1}\0";
	static const char raw_in_key[] = "{\"a\0b\":1}";

	(void)state;
	parse_fails(NUL1, strlen(NUL1), 16, KURA_EINVAL, "invalid_json");
	parse_fails(NUL2, strlen(NUL2), 16, KURA_EINVAL, "invalid_json");
	parse_fails(raw_in_string, sizeof(raw_in_string) - 1, 16, KURA_EINVAL,
	    "invalid_json");
	parse_fails(raw_after, sizeof(raw_after) - 1, 16, KURA_EINVAL,
	    "invalid_json");
	parse_fails(raw_in_key, sizeof(raw_in_key) - 1, 16, KURA_EINVAL,
	    "invalid_json");
}

static void
json_parse_reads_only_len_bytes(void **state)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	/* the length cuts off trailing garbage: only "{}" is parsed */
	static const char body[] = "{}garbage";

	(void)state;
	assert_int_equal(http_json_parse(body, 2, 16, &j, &code, &msg), KURA_OK);
	assert_non_null(j);
	json_decref(j);
	/* and cuts a valid body short: invalid */
	j = NULL;
	assert_int_equal(http_json_parse("{\"a\":1}", 6, 16, &j, &code, &msg),
	    KURA_EINVAL);
	assert_null(j);
}

static void
json_depth_counts_containers(void **state)
{
	json_t *v;
	json_error_t e;

	(void)state;
	v = json_integer(1);
	assert_int_equal(http_json_depth(v), 0);
	json_decref(v);
	v = json_string("x");
	assert_int_equal(http_json_depth(v), 0);
	json_decref(v);
	v = json_null();
	assert_int_equal(http_json_depth(v), 0);
	v = json_object();
	assert_int_equal(http_json_depth(v), 1);
	json_decref(v);
	v = json_array();
	assert_int_equal(http_json_depth(v), 1);
	json_decref(v);
	v = json_loads("[[]]", 0, &e);
	assert_int_equal(http_json_depth(v), 2);
	json_decref(v);
	v = json_loads("{\"a\":1,\"b\":[{\"c\":[]}],\"d\":{}}", 0, &e);
	assert_int_equal(http_json_depth(v), 4);
	json_decref(v);
	v = json_loads("[1,[2,[3]],[[[[]]]]]", 0, &e);
	assert_int_equal(http_json_depth(v), 5);
	json_decref(v);
	assert_int_equal(http_json_depth(NULL), 0);
}

/* ---- router ---- */

static void h_dummy(struct http_req *req) { (void)req; }

static const struct http_route test_routes[] = {
	{ HTTP_GET, "/healthz", h_dummy, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
	{ HTTP_GET, "/api/v1/users", h_dummy, "user.read", "user.list", 0, 0 },
	{ HTTP_POST, "/api/v1/users", h_dummy, "user.write", "user.create", 4096,
	  HTTP_ROUTE_JSON },
	{ HTTP_GET, "/api/v1/users/{id}", h_dummy, "user.read", "user.read", 0, 0 },
	{ HTTP_DELETE, "/api/v1/users/{id}", h_dummy, "user.write", "user.delete",
	  0, 0 },
	{ HTTP_PUT, "/api/v1/tenants/{tid}/users/{uid}/roles/{role}", h_dummy,
	  "role.write", "role.assign", 1024, HTTP_ROUTE_JSON },
	{ HTTP_GET, "/", h_dummy, "public", NULL, 0, HTTP_ROUTE_PUBLIC },
};
#define N_TEST_ROUTES (sizeof(test_routes) / sizeof(test_routes[0]))

/* The router names a param by pointing into the pattern just after '{';
 * the name runs to the '}'. */
static void
assert_param(const struct http_param *p, const char *name, const char *value)
{
	size_t n = strlen(name);

	assert_non_null(p->name);
	if (strncmp(p->name, name, n) != 0 || p->name[n] != '}')
		fail_msg("param named '%s', want '%s'", p->name, name);
	assert_non_null(p->value);
	assert_string_equal(p->value, value);
}

static kura_err
match(enum http_method m, const char *path, const struct http_route **r,
    struct http_param *params, size_t *np, unsigned *allowed)
{
	*r = NULL;
	*np = 99;
	*allowed = 0;
	memset(params, 0, sizeof(*params) * HTTP_MAX_PARAMS);
	return http_route_match(test_routes, N_TEST_ROUTES, m, path, r, params,
	    np, allowed);
}

static void
router_matches_literal_paths(void **state)
{
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	assert_int_equal(match(HTTP_GET, "/healthz", &r, params, &np, &allowed),
	    KURA_OK);
	assert_ptr_equal(r, &test_routes[0]);
	assert_int_equal(np, 0);
	assert_int_equal(match(HTTP_POST, "/api/v1/users", &r, params, &np,
	    &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[2]);
	assert_int_equal(match(HTTP_GET, "/api/v1/users", &r, params, &np,
	    &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[1]);
	assert_int_equal(match(HTTP_GET, "/", &r, params, &np, &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[6]);
}

static void
router_captures_and_names_params(void **state)
{
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	assert_int_equal(match(HTTP_GET, "/api/v1/users/usr_abc123", &r, params,
	    &np, &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[3]);
	assert_int_equal(np, 1);
	assert_param(&params[0], "id", "usr_abc123");
	http_params_free(params, np);
	assert_null(params[0].value);

	assert_int_equal(match(HTTP_DELETE, "/api/v1/users/x", &r, params, &np,
	    &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[4]);
	assert_param(&params[0], "id", "x");
	http_params_free(params, np);

	assert_int_equal(match(HTTP_PUT,
	    "/api/v1/tenants/ten_1/users/usr_2/roles/admin", &r, params, &np,
	    &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[5]);
	assert_int_equal(np, 3);
	assert_param(&params[0], "tid", "ten_1");
	assert_param(&params[1], "uid", "usr_2");
	assert_param(&params[2], "role", "admin");
	http_params_free(params, np);
}

static void
router_param_does_not_match_empty_or_multiple_segments(void **state)
{
	static const char *const paths[] = {
		"/api/v1/users/",
		"/api/v1/users/a/b",
		"/api/v1/tenants/t/users//roles/r",
		"/api/v1/tenants/t/users/u/roles/",
	};
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		kura_err err = match(HTTP_GET, paths[i], &r, params, &np, &allowed);
		if (err != KURA_ENOENT)
			fail_msg("'%s': got %s, want not found", paths[i],
			    kura_strerror(err));
		for (size_t k = 0; k < HTTP_MAX_PARAMS; k++)
			assert_null(params[k].value);
	}
}

static void
router_no_match_is_enoent(void **state)
{
	static const char *const paths[] = {
		"/nope", "/healthzz", "/health", "/api/v1", "/api/v1/user",
		"/API/v1/users", "", "healthz", "/healthz?x=1", "/healthz#f",
		"/api/v1/users/x/y/z",
	};
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (match(HTTP_GET, paths[i], &r, params, &np, &allowed) !=
		    KURA_ENOENT)
			fail_msg("'%s' matched", paths[i]);
		assert_null(r);
	}
	assert_int_equal(http_route_match(test_routes, N_TEST_ROUTES, HTTP_GET,
	    NULL, &r, params, &np, &allowed), KURA_ENOENT);
	assert_int_equal(http_route_match(test_routes, 0, HTTP_GET, "/healthz",
	    &r, params, &np, &allowed), KURA_ENOENT);
}

static void
router_trailing_and_double_slash_do_not_match(void **state)
{
	static const char *const paths[] = {
		"/healthz/", "//healthz", "/healthz//", "/api/v1/users/",
		"/api//v1/users", "/api/v1//users", "//api/v1/users",
		"/api/v1/users//x", "/api/v1/users/x/", "//", "/./healthz",
		"/api/v1/../v1/users",
	};
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		kura_err err = match(HTTP_GET, paths[i], &r, params, &np, &allowed);
		if (err != KURA_ENOENT)
			fail_msg("'%s' matched (%s)", paths[i], kura_strerror(err));
	}
}

static void
router_method_mismatch_is_econflict_with_allowed_bits(void **state)
{
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;
	char buf[64];

	(void)state;
	assert_int_equal(match(HTTP_DELETE, "/api/v1/users", &r, params, &np,
	    &allowed), KURA_ECONFLICT);
	assert_int_equal(allowed, HTTP_GET | HTTP_POST);
	assert_null(r);
	http_methods_str(allowed, buf, sizeof(buf));
	assert_string_equal(buf, "GET, POST");

	assert_int_equal(match(HTTP_PATCH, "/api/v1/users/u1", &r, params, &np,
	    &allowed), KURA_ECONFLICT);
	assert_int_equal(allowed, HTTP_GET | HTTP_DELETE);
	/* params captured while trying routes were freed (ASan checks) */
	for (size_t k = 0; k < HTTP_MAX_PARAMS; k++)
		assert_null(params[k].value);

	assert_int_equal(match(HTTP_POST, "/healthz", &r, params, &np, &allowed),
	    KURA_ECONFLICT);
	assert_int_equal(allowed, HTTP_GET);
	assert_int_equal(match(HTTP_GET, "/api/v1/tenants/a/users/b/roles/c", &r,
	    params, &np, &allowed), KURA_ECONFLICT);
	assert_int_equal(allowed, HTTP_PUT);
	/* an unknown method (0) matches nothing */
	assert_int_equal(match((enum http_method)0, "/healthz", &r, params, &np,
	    &allowed), KURA_ECONFLICT);
}

static void
router_head_matches_get(void **state)
{
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r;
	size_t np;
	unsigned allowed;

	(void)state;
	assert_int_equal(match(HTTP_HEAD, "/healthz", &r, params, &np, &allowed),
	    KURA_OK);
	assert_ptr_equal(r, &test_routes[0]);
	assert_int_equal(match(HTTP_HEAD, "/api/v1/users/u9", &r, params, &np,
	    &allowed), KURA_OK);
	assert_ptr_equal(r, &test_routes[3]);
	assert_param(&params[0], "id", "u9");
	http_params_free(params, np);
	/* HEAD does not match a POST-only or PUT-only route */
	assert_int_equal(match(HTTP_HEAD, "/api/v1/tenants/a/users/b/roles/c", &r,
	    params, &np, &allowed), KURA_ECONFLICT);
}

static void
router_too_many_params_in_pattern_never_overflows(void **state)
{
	static const struct http_route many[] = {
		{ HTTP_GET, "/{a}/{b}/{c}/{d}/{e}", h_dummy, "x", "x", 0, 0 },
		{ HTTP_GET, "/{a}/{b}/{c}/{d}", h_dummy, "x", "x", 0, 0 },
	};
	struct http_param params[HTTP_MAX_PARAMS];
	const struct http_route *r = NULL;
	size_t np = 0;
	unsigned allowed = 0;

	(void)state;
	memset(params, 0, sizeof(params));
	assert_int_equal(http_route_match(many, 2, HTTP_GET, "/1/2/3/4/5", &r,
	    params, &np, &allowed), KURA_ENOENT);
	assert_int_equal(http_route_match(many, 2, HTTP_GET, "/1/2/3/4", &r,
	    params, &np, &allowed), KURA_OK);
	assert_ptr_equal(r, &many[1]);
	assert_int_equal(np, 4);
	assert_param(&params[3], "d", "4");
	http_params_free(params, np);
}

static void
method_parse_and_methods_str(void **state)
{
	char buf[64], small[6];

	(void)state;
	assert_int_equal(http_method_parse("GET"), HTTP_GET);
	assert_int_equal(http_method_parse("POST"), HTTP_POST);
	assert_int_equal(http_method_parse("PUT"), HTTP_PUT);
	assert_int_equal(http_method_parse("PATCH"), HTTP_PATCH);
	assert_int_equal(http_method_parse("DELETE"), HTTP_DELETE);
	assert_int_equal(http_method_parse("HEAD"), HTTP_HEAD);
	assert_int_equal(http_method_parse("get"), 0);
	assert_int_equal(http_method_parse("OPTIONS"), 0);
	assert_int_equal(http_method_parse("TRACE"), 0);
	assert_int_equal(http_method_parse(""), 0);

	http_methods_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	http_methods_str(HTTP_GET, buf, sizeof(buf));
	assert_string_equal(buf, "GET");
	http_methods_str(HTTP_GET | HTTP_HEAD, buf, sizeof(buf));
	assert_string_equal(buf, "GET, HEAD");
	http_methods_str(HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH |
	    HTTP_DELETE | HTTP_HEAD, buf, sizeof(buf));
	assert_string_equal(buf, "GET, POST, PUT, PATCH, DELETE, HEAD");
	http_methods_str(HTTP_DELETE | HTTP_PATCH, buf, sizeof(buf));
	assert_string_equal(buf, "PATCH, DELETE");
	/* a short buffer is truncated to whole names, still terminated */
	memset(small, 'x', sizeof(small));
	http_methods_str(HTTP_GET | HTTP_POST, small, sizeof(small));
	assert_true(memchr(small, '\0', sizeof(small)) != NULL);
	assert_true(strncmp(small, "GET", 3) == 0);
	http_methods_str(HTTP_GET, small, 0);
}

/* ---- the API route table ---- */

static bool
is_probe(const struct http_route *r)
{
	return (r->flags & HTTP_ROUTE_PUBLIC) && r->pattern != NULL &&
	    strncmp(r->pattern, "/api/", 5) != 0 && strcmp(r->pattern, "/api") != 0;
}

/*
 * Evidence: IAM-3 (every route names its permission and audit action)
 */
static void
api_routes_name_permission_and_audit_action(void **state)
{
	static const unsigned methods = HTTP_GET | HTTP_POST | HTTP_PUT |
	    HTTP_PATCH | HTTP_DELETE | HTTP_HEAD;
	char m[64];

	(void)state;
	assert_true(api_n_routes > 0);
	for (size_t i = 0; i < api_n_routes; i++) {
		const struct http_route *r = &api_routes[i];

		http_methods_str(r->method, m, sizeof(m));
		if (r->pattern == NULL || r->pattern[0] != '/')
			fail_msg("route %zu: pattern '%s' does not start with '/'", i,
			    r->pattern ? r->pattern : "(null)");
		if ((r->method & ~methods) != 0 || r->method == 0 ||
		    (r->method & (r->method - 1)) != 0)
			fail_msg("route %zu %s: method must be exactly one known method",
			    i, r->pattern);
		if (r->handler == NULL)
			fail_msg("route %zu %s %s: no handler", i, m, r->pattern);
		if (r->permission == NULL || r->permission[0] == '\0')
			fail_msg("route %zu %s %s: no permission", i, m, r->pattern);
		/* a misspelt permission would silently refuse everyone */
		if (!rbac_route_perm_known(r->permission))
			fail_msg("route %zu %s %s: permission '%s' is not in the catalogue",
			    i, m, r->pattern, r->permission);
		/* account-security routes are for browser sessions only */
		if ((r->flags & HTTP_ROUTE_SESSION) &&
		    strcmp(r->permission, "self") != 0)
			fail_msg("route %zu %s %s: session-only flag on a non-self route",
			    i, m, r->pattern);
		if ((r->flags & HTTP_ROUTE_PUBLIC) &&
		    strcmp(r->permission, "public") != 0)
			fail_msg("route %zu %s %s: HTTP_ROUTE_PUBLIC but names "
			    "permission '%s' that would never be checked", i, m,
			    r->pattern, r->permission);
		if (!is_probe(r) &&
		    (r->audit_action == NULL || r->audit_action[0] == '\0'))
			fail_msg("route %zu %s %s: no audit action", i, m, r->pattern);
		if ((r->flags & HTTP_ROUTE_JSON) && r->max_body == 0 &&
		    (r->method & (HTTP_POST | HTTP_PUT | HTTP_PATCH)))
			fail_msg("route %zu %s %s: JSON body route with max_body 0",
			    i, m, r->pattern);
		for (size_t k = 0; k < i; k++) {
			if (api_routes[k].method == r->method &&
			    strcmp(api_routes[k].pattern, r->pattern) == 0)
				fail_msg("routes %zu and %zu: both %s %s", k, i, m,
				    r->pattern);
		}
	}
}

/* Every pattern's {params} are well formed and within HTTP_MAX_PARAMS, and
 * each route is reachable: its own pattern (params filled in) matches it. */
static void
api_routes_are_well_formed_and_reachable(void **state)
{
	(void)state;
	for (size_t i = 0; i < api_n_routes; i++) {
		const struct http_route *r = &api_routes[i];
		struct http_param params[HTTP_MAX_PARAMS];
		const struct http_route *got = NULL;
		char path[512];
		size_t np = 0, nparam = 0, o = 0;
		unsigned allowed = 0;
		const char *p;

		for (p = r->pattern; *p != '\0'; p++) {
			if (*p == '{') {
				const char *e = strchr(p, '}');
				if (e == NULL || e == p + 1 || p[-1] != '/' ||
				    (e[1] != '\0' && e[1] != '/'))
					fail_msg("route %zu: bad param in '%s'", i,
					    r->pattern);
				nparam++;
				o += (size_t)snprintf(path + o, sizeof(path) - o, "v%zu",
				    nparam);
				p = e;
			} else {
				assert_true(o + 1 < sizeof(path));
				path[o++] = *p;
				path[o] = '\0';
			}
		}
		path[o] = '\0';
		if (nparam > HTTP_MAX_PARAMS)
			fail_msg("route %zu: more than %d params", i, HTTP_MAX_PARAMS);
		if (strstr(r->pattern, "//") != NULL)
			fail_msg("route %zu: empty segment in '%s'", i, r->pattern);
		/* a trailing '/' only on a directory index (/console/), whose
		 * name without it is a route too (it redirects there) */
		if (strlen(r->pattern) > 1 &&
		    r->pattern[strlen(r->pattern) - 1] == '/') {
			size_t n = strlen(r->pattern) - 1;
			bool twin = false;
			for (size_t k = 0; k < api_n_routes; k++)
				twin = twin || (strlen(api_routes[k].pattern) == n &&
				    strncmp(api_routes[k].pattern, r->pattern, n) == 0);
			if (!twin)
				fail_msg("route %zu: trailing '/' in '%s' without the "
				    "route without it", i, r->pattern);
		}
		memset(params, 0, sizeof(params));
		assert_int_equal(http_route_match(api_routes, api_n_routes, r->method,
		    path, &got, params, &np, &allowed), KURA_OK);
		if (got != r)
			fail_msg("route %zu (%s) is shadowed by '%s'", i, r->pattern,
			    got->pattern);
		assert_int_equal(np, nparam);
		http_params_free(params, np);
	}
}

/* ---- json_text: byte for byte what json_dumps writes ---- */

/* jansson's text, or NULL where it refuses */
static char *
jansson_text(const json_t *v, bool sort)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY |
	    (sort ? JSON_SORT_KEYS : 0));
}

static void
same_text(const json_t *v)
{
	for (int sort = 0; sort < 2; sort++) {
		struct kbuf b;
		char *want = jansson_text(v, sort);
		kura_err err;

		kbuf_init(&b, 1 << 24);
		err = json_text(v, sort, &b);
		if (want == NULL) {
			assert_int_equal(err, KURA_EINVAL);
		} else {
			assert_int_equal(err, KURA_OK);
			assert_int_equal(b.len, strlen(want));
			assert_memory_equal(b.data, want, b.len);
		}
		free(want);
		kbuf_free(&b);
	}
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Random bytes of valid UTF-8 (with NULs, controls, quotes, '/', DEL and
 * 2-, 3- and 4-byte characters), at most cap - 1 bytes. */
static size_t
random_text(char *buf, size_t cap)
{
	static const char *const pieces[] = {
		"a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t",
		"\x01", "\x1f", "\x7f", "\xc2\x80", "\xc3\xa9", "\xdf\xbf",
		"\xe0\xa0\x80", "\xe3\x81\x82", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf", "key", "long text with spaces",
	};
	size_t n = 0, want = rng() % 24;

	for (size_t i = 0; i < want; i++) {
		const char *p;
		size_t len;
		if (rng() % 11 == 0) {          /* a NUL byte */
			p = "";
			len = 1;
		} else {
			p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
			len = strlen(p);
		}
		if (n + len >= cap)
			break;
		memcpy(buf + n, p, len);
		n += len;
	}
	buf[n] = '\0';
	return n;
}

static json_t *
random_value(int depth)
{
	static const json_int_t ints[] = { 0, 1, -1, 42, 1800, INT64_MAX,
	    INT64_MIN, -9007199254740993LL };
	static const double reals[] = { 0.0, -0.0, 0.1, 1.5, -3.0, 1e300,
	    -2.5e-300, 123456789.125, 1e21, 5e-324 };
	char text[256];
	size_t n;
	json_t *v;

	switch (rng() % (depth < 4 ? 9 : 6)) {
	case 0: return json_null();
	case 1: return json_boolean(rng() & 1);
	case 2: return json_integer(rng() % 3 ? (json_int_t)rng() - (1 << 30) :
	    ints[rng() % (sizeof(ints) / sizeof(ints[0]))]);
	case 3: return json_real(reals[rng() % (sizeof(reals) / sizeof(reals[0]))]);
	case 4:
	case 5:
		n = random_text(text, sizeof(text));
		return json_stringn(text, n);
	case 6:
		v = json_array();
		for (uint32_t i = 0, k = rng() % 6; i < k; i++)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	default:
		v = json_object();
		for (uint32_t i = 0, k = rng() % 7; i < k; i++) {
			n = random_text(text, 24);
			json_object_setn_new(v, text, n, random_value(depth + 1));
		}
		return v;
	}
}

static void
json_text_matches_jansson(void **state)
{
	json_t *v;
	struct kbuf b;

	(void)state;
	/* fixed cases */
	v = json_pack("{s:s,s:[s,s],s:{},s:[],s:i,s:b,s:n,s:f}", "id", "usr_1",
	    "roles", "tenant_admin", "x", "tenant", "a", "n", 7, "t", 1,
	    "nul", "r", 0.25);
	assert_non_null(v);
	same_text(v);
	json_decref(v);
	v = json_stringn("a\0b\"c\\d/e\x7f\xc3\xa9\xf0\x9f\x98\x80\x1f", 17);
	same_text(v);
	json_decref(v);
	/* sorted keys: bytes, shorter first on a common prefix */
	v = json_pack("{s:i,s:i,s:i,s:i,s:i}", "b", 1, "ab", 2, "a", 3, "B", 4,
	    "\xc3\xa9", 5);
	same_text(v);
	json_decref(v);
	/* a string that is not UTF-8: refused, as by json_dumps */
	v = json_pack("[o]", json_stringn_nocheck("\xc3(", 2));
	same_text(v);
	json_decref(v);
	/* too deep */
	v = json_array();
	for (int i = 0; i < JSON_TEXT_DEPTH_MAX + 1; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, v);
		v = outer;
	}
	kbuf_init(&b, 1 << 24);
	assert_int_equal(json_text(v, false, &b), KURA_EINVAL);
	kbuf_free(&b);
	json_decref(v);
	/* the buffer's limit */
	v = json_pack("{s:s}", "k", "0123456789");
	kbuf_init(&b, 10);
	assert_int_equal(json_text(v, false, &b), KURA_ETOOBIG);
	kbuf_free(&b);
	json_decref(v);
	/* random values, both key orders */
	for (int i = 0; i < 20000; i++) {
		v = random_value(0);
		same_text(v);
		json_decref(v);
	}
}

/* ---- api_time: RFC 3339 in the tenant's zone ---- */

/* The text api_time wrote with strftime and snprintf (its oracle). */
static void
time_oracle(const char *zone, int64_t us, char *buf, size_t len)
{
	char stamp[32], suffix[16] = "Z";
	int64_t secs = us / 1000000;
	int32_t off = 0;
	time_t local;
	struct tm tm;

	if (strcmp(zone, "UTC") != 0 && tz_offset(zone, secs, &off) == KURA_OK &&
	    off % 60 == 0) {
		int32_t m = off < 0 ? -off / 60 : off / 60;
		snprintf(suffix, sizeof(suffix), "%c%02d:%02d", off < 0 ? '-' : '+',
		    (int)(m / 60), (int)(m % 60));
	} else {
		off = 0;
	}
	local = (time_t)(secs + off);
	assert_non_null(gmtime_r(&local, &tm));
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lld%s", stamp, (long long)(us % 1000000), suffix);
}

static void
api_time_matches_strftime(void **state)
{
	static const char *const zones[] = { "UTC", "Asia/Tokyo",
	    "America/New_York", "Asia/Kolkata", "Pacific/Chatham" };
	static const int64_t fixed[] = { 1, 999999, 1000000, 946684799999999LL,
	    1767225600000000LL, 253402300799999999LL, 253402300800000000LL,
	    INT64_MAX / 4 };
	struct store_tenant t;
	struct api_auth a;
	uint64_t x = 0x2545F4914F6CDD1DULL;
	char want[80];

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&a, 0, sizeof(a));
	a.tenant = &t;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		snprintf(t.timezone, sizeof(t.timezone), "%s", zones[z]);
		for (int i = 0; i < 3000; i++) {
			int64_t us;
			json_t *got;
			if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
				us = fixed[i];
			} else {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				/* 1970 .. about 2300, and now and then far beyond */
				us = (int64_t)(x % (i % 50 ? 10000000000000000ULL :
				    200000000000000000ULL)) + 1;
			}
			time_oracle(zones[z], us, want, sizeof(want));
			got = api_time(&a, us);
			assert_non_null(got);
			assert_string_equal(json_string_value(got), want);
			json_decref(got);
		}
	}
	assert_true(json_is_null(api_time(&a, 0)));
}

int
main(void)
{
	static const struct CMUnitTest http_tests[] = {
		cmocka_unit_test(json_parse_accepts_valid_object),
		cmocka_unit_test(json_parse_rejects_empty_malformed_and_trailing_garbage),
		cmocka_unit_test(json_parse_rejects_non_object_top_level),
		cmocka_unit_test(json_parse_depth_exactly_max_ok_and_max_plus_1_too_deep),
		cmocka_unit_test(json_parse_survives_100000_deep_nesting),
		cmocka_unit_test(json_parse_rejects_invalid_utf8),
		cmocka_unit_test(json_parse_rejects_duplicate_keys),
		cmocka_unit_test(json_parse_rejects_embedded_nul),
		cmocka_unit_test(json_parse_reads_only_len_bytes),
		cmocka_unit_test(json_depth_counts_containers),
		cmocka_unit_test(router_matches_literal_paths),
		cmocka_unit_test(router_captures_and_names_params),
		cmocka_unit_test(router_param_does_not_match_empty_or_multiple_segments),
		cmocka_unit_test(router_no_match_is_enoent),
		cmocka_unit_test(router_trailing_and_double_slash_do_not_match),
		cmocka_unit_test(router_method_mismatch_is_econflict_with_allowed_bits),
		cmocka_unit_test(router_head_matches_get),
		cmocka_unit_test(router_too_many_params_in_pattern_never_overflows),
		cmocka_unit_test(method_parse_and_methods_str),
		cmocka_unit_test(api_routes_name_permission_and_audit_action),
		cmocka_unit_test(api_routes_are_well_formed_and_reachable),
		cmocka_unit_test(json_text_matches_jansson),
		cmocka_unit_test(api_time_matches_strftime),
	};

	return cmocka_run_group_tests_name("http", http_tests, NULL, NULL);
}
