#include <string.h>

#include "http/http.h"

size_t
http_json_depth(const json_t *v)
{
	size_t max = 0, d;

	if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_object_foreach((json_t *)v, key, child) {
			d = http_json_depth(child);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child) {
			d = http_json_depth(child);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

/*
 * jansson parses (strict RFC 8259, UTF-8 checked, duplicate keys rejected,
 * its own hard nesting cap of 2048 bounds the recursion here); we then
 * enforce the configured depth on the tree.  NUL bytes inside the body
 * are refused by jansson unless JSON_ALLOW_NUL, which we do not set.
 */
kura_err
http_json_parse(const char *body, size_t len, size_t max_depth,
    json_t **ret_json, const char **ret_code, const char **ret_msg)
{
	json_error_t jerr;
	json_t *v;

	if (len == 0) {
		*ret_code = "invalid_json";
		*ret_msg = "a JSON object body is required";
		return KURA_EINVAL;
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (v == NULL) {
		if (json_error_code(&jerr) == json_error_stack_overflow) {
			*ret_code = "json_too_deep";
			*ret_msg = "JSON nesting is deeper than allowed";
			return KURA_ERANGE;
		}
		*ret_code = "invalid_json";
		*ret_msg = "the body is not valid JSON";
		return KURA_EINVAL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*ret_code = "invalid_json";
		*ret_msg = "the body must be a JSON object";
		return KURA_EINVAL;
	}
	if (http_json_depth(v) > max_depth) {
		json_decref(v);
		*ret_code = "json_too_deep";
		*ret_msg = "JSON nesting is deeper than allowed";
		return KURA_ERANGE;
	}
	*ret_json = v;
	return KURA_OK;
}
