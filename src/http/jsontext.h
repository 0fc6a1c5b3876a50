/*
 * JSON text of a jansson value, byte for byte as json_dumps writes it with
 * JSON_COMPACT | JSON_ENSURE_ASCII (and JSON_SORT_KEYS if sort_keys), at a
 * fraction of its cost: jansson's encoder checks for reference loops by
 * formatting every container's address with snprintf into a hash table,
 * and calls back for every token.  Only the text is written here; values
 * are still built, parsed and validated by jansson.
 */
#ifndef KURA_HTTP_JSONTEXT_H
#define KURA_HTTP_JSONTEXT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/error.h"

/* Deeper values are refused (jansson's own parser stops at 2048). */
#define JSON_TEXT_DEPTH_MAX 2048

/*
 * Append the text of v to out.  KURA_EINVAL if v is NULL, deeper than
 * JSON_TEXT_DEPTH_MAX, or holds a string that is not UTF-8 (possible only
 * through jansson's *_nocheck constructors; json_dumps fails on it too);
 * KURA_ETOOBIG past out's maximum; KURA_ENOMEM.  On error out may hold a
 * partial text: callers discard it.
 */
kura_err json_text(const json_t *v, bool sort_keys, struct kbuf *out);

#endif
