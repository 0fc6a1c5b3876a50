/*
 * libFuzzer harness for the TZif reader (src/core/tz.c): arbitrary bytes
 * as a zone image.  A parsed zone must answer an offset for any instant,
 * within the range the parser promises; the footer rule alone is also
 * exercised as a POSIX TZ string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = { INT64_MIN, -2147483648LL, -1, 0, 1,
	    1700000000, 2147483647LL, 2208988800LL, 4102444800LL, INT64_MAX };
	struct tz_zone *z = NULL;
	int32_t off;
	char *s;

	if (tz_parse_image(data, size, &z) == KURA_OK) {
		if (z == NULL)
			abort();
		for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
			if (tz_zone_offset(z, instants[i], &off) != KURA_OK)
				abort();
			/* 25:59:59 (TZif types) or 24:59:59 + 1 h (POSIX rules) */
			if (off < -26 * 3600 || off > 26 * 3600)
				abort();
		}
		tz_zone_free(z);
	} else if (z != NULL) {
		abort();
	}
	/* the same bytes as a POSIX rule string */
	if (size < 300) {
		s = malloc(size + 1);
		if (s == NULL)
			return 0;
		memcpy(s, data, size);
		s[size] = '\0';
		for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++)
			if (tz_posix_offset(s, instants[i], &off) == KURA_OK &&
			    (off < -26 * 3600 || off > 26 * 3600))
				abort();
		free(s);
	}
	return 0;
}
