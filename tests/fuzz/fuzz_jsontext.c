/*
 * libFuzzer harness for json_text (src/http/jsontext.c), the encoder of
 * every JSON reply: whatever jansson parses, json_text must write exactly
 * what json_dumps writes, in both key orders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/jsontext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	if (v == NULL)
		return 0;
	for (int sort = 0; sort < 2; sort++) {
		char *want = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
		    JSON_ENCODE_ANY | (sort ? JSON_SORT_KEYS : 0));
		struct kbuf b;
		kura_err err;

		kbuf_init(&b, 1 << 26);
		err = json_text(v, sort, &b);
		if (want == NULL ? err == KURA_OK :
		    err != KURA_OK || b.len != strlen(want) ||
		    memcmp(b.data, want, b.len) != 0)
			abort();
		free(want);
		kbuf_free(&b);
	}
	json_decref(v);
	return 0;
}
