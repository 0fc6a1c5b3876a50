/*
 * libFuzzer harness for http_json_parse, the parser every JSON request body
 * goes through.  The configured default depth limit (16) applies; a
 * success must be an object no deeper than that.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "http/http.h"

#define FUZZ_MAX_DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;
	kura_err err;

	err = http_json_parse((const char *)data, size, FUZZ_MAX_DEPTH, &j,
	    &code, &msg);
	if (err == KURA_OK) {
		if (j == NULL || !json_is_object(j) ||
		    http_json_depth(j) > FUZZ_MAX_DEPTH)
			abort();
		json_decref(j);
	} else {
		if (j != NULL || code == NULL || msg == NULL ||
		    (err != KURA_EINVAL && err != KURA_ERANGE))
			abort();
	}
	return 0;
}
