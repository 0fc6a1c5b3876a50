/*
 * JSON text of a jansson value; see jsontext.h.  The rules are jansson
 * 2.14's (dump.c): strings escape '"', '\\', \b \f \n \r \t by name, other
 * controls and every code point above 0x7F as \u and four upper-case hex
 * digits (a surrogate pair above 0xFFFF); DEL and '/' are written as they
 * are.
 * Integers in decimal; reals through jansson itself (its %.17g rules).
 * Objects in insertion order, or sorted by key bytes (shorter first on a
 * common prefix).  tests/unit/test_http.c and tests/fuzz/fuzz_jsontext.c
 * compare the output with json_dumps.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/parse.h"
#include "http/jsontext.h"

static const char hexd[] = "0123456789ABCDEF";

/*
 * Bytes are written straight into out's memory: room() makes space for n
 * more (and the terminator, which json_text writes at the end), put()
 * copies without checks.  kbuf_append per token cost as much as the rest.
 */
static inline kura_err
room(struct kbuf *b, size_t n)
{
	return b->cap - b->len > n ? KURA_OK : kbuf_reserve(b, n);
}

static inline void
put(struct kbuf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline kura_err
put_lit(struct kbuf *b, const char *p, size_t n)
{
	kura_err err = room(b, n);

	if (err == KURA_OK)
		put(b, p, n);
	return err;
}

/* \u and cp as four hex digits; the caller made room for them */
static void
put_u(struct kbuf *b, unsigned cp)
{
	char e[6] = { '\\', 'u', hexd[(cp >> 12) & 15], hexd[(cp >> 8) & 15],
	    hexd[(cp >> 4) & 15], hexd[cp & 15] };

	put(b, e, sizeof(e));
}

static kura_err
put_string(struct kbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, k;
	uint32_t cp;
	kura_err err;

	/* most strings need no escape: room for all of it at once */
	if ((err = room(b, n + 2)) != KURA_OK)
		return err;
	put(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		const char *esc = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		/* an escape is at most 12 bytes for at least 1 of input */
		if ((err = room(b, (i - run) + 12 + (n - i) + 1)) != KURA_OK)
			return err;
		put(b, s + run, i - run);
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (esc != NULL) {
			put(b, esc, 2);
			i++;
		} else if (c < 0x20) {
			put_u(b, c);
			i++;
		} else {
			if ((k = kura_utf8_next(s + i, n - i, &cp)) == 0)
				return KURA_EINVAL;
			if (cp <= 0xFFFF) {
				put_u(b, cp);
			} else {
				cp -= 0x10000;
				put_u(b, 0xD800 | (cp >> 10));
				put_u(b, 0xDC00 | (cp & 0x3FF));
			}
			i += k;
		}
		run = i;
	}
	if ((err = room(b, (i - run) + 1)) != KURA_OK)
		return err;
	put(b, s + run, i - run);
	put(b, "\"", 1);
	return KURA_OK;
}

static kura_err
put_integer(struct kbuf *b, json_int_t v)
{
	char num[KURA_I64_TEXT_MAX];

	return put_lit(b, num, kura_i64_text((int64_t)v, num));
}

/* jansson's own text of a real (its precision and exponent rules). */
static kura_err
put_real(struct kbuf *b, const json_t *v)
{
	char num[64];
	size_t n = json_dumpb(v, num, sizeof(num), JSON_ENCODE_ANY | JSON_COMPACT);

	if (n == 0 || n > sizeof(num))
		return KURA_EINVAL;
	return put_lit(b, num, n);
}

struct key {
	const char *s;
	size_t len;
	json_t *value;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t min = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, min);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static kura_err put_value(struct kbuf *b, const json_t *v, bool sort,
    size_t depth);

static kura_err
put_member(struct kbuf *b, bool first, const char *key, size_t len,
    const json_t *value, bool sort, size_t depth)
{
	kura_err err;

	if ((!first && (err = put_lit(b, ",", 1)) != KURA_OK) ||
	    (err = put_string(b, key, len)) != KURA_OK ||
	    (err = put_lit(b, ":", 1)) != KURA_OK)
		return err;
	return put_value(b, value, sort, depth + 1);
}

static kura_err
put_object(struct kbuf *b, const json_t *v, bool sort, size_t depth)
{
	size_t n = json_object_size(v), i = 0;
	struct key stack[32], *keys = stack;
	void *it;
	kura_err err = KURA_OK;

	if ((err = put_lit(b, "{", 1)) != KURA_OK)
		return err;
	if (!sort || n < 2) {
		for (it = json_object_iter((json_t *)v); it != NULL;
		    it = json_object_iter_next((json_t *)v, it), i++) {
			err = put_member(b, i == 0, json_object_iter_key(it),
			    json_object_iter_key_len(it), json_object_iter_value(it),
			    sort, depth);
			if (err != KURA_OK)
				return err;
		}
		return put_lit(b, "}", 1);
	}
	if (n > sizeof(stack) / sizeof(stack[0]) &&
	    (keys = kura_mallocarray(n, sizeof(*keys))) == NULL)
		return KURA_ENOMEM;
	for (it = json_object_iter((json_t *)v); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)v, it), i++) {
		keys[i].s = json_object_iter_key(it);
		keys[i].len = json_object_iter_key_len(it);
		keys[i].value = json_object_iter_value(it);
	}
	qsort(keys, i, sizeof(*keys), key_cmp);
	for (size_t j = 0; j < i && err == KURA_OK; j++)
		err = put_member(b, j == 0, keys[j].s, keys[j].len, keys[j].value,
		    sort, depth);
	if (keys != stack)
		free(keys);
	return err != KURA_OK ? err : put_lit(b, "}", 1);
}

static kura_err
put_value(struct kbuf *b, const json_t *v, bool sort, size_t depth)
{
	kura_err err;

	if (v == NULL || depth > JSON_TEXT_DEPTH_MAX)
		return KURA_EINVAL;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return put_lit(b, "null", 4);
	case JSON_TRUE:
		return put_lit(b, "true", 4);
	case JSON_FALSE:
		return put_lit(b, "false", 5);
	case JSON_INTEGER:
		return put_integer(b, json_integer_value(v));
	case JSON_REAL:
		return put_real(b, v);
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		if ((err = put_lit(b, "[", 1)) != KURA_OK)
			return err;
		for (size_t i = 0; i < json_array_size(v); i++) {
			if ((i > 0 && (err = put_lit(b, ",", 1)) != KURA_OK) ||
			    (err = put_value(b, json_array_get(v, i), sort,
			    depth + 1)) != KURA_OK)
				return err;
		}
		return put_lit(b, "]", 1);
	case JSON_OBJECT:
		return put_object(b, v, sort, depth);
	}
	return KURA_EINVAL;
}

kura_err
json_text(const json_t *v, bool sort_keys, struct kbuf *out)
{
	kura_err err;

	if (out == NULL)
		return KURA_EINVAL;
	if ((err = room(out, 0)) != KURA_OK)
		return err;
	err = put_value(out, v, sort_keys, 0);
	out->data[out->len] = '\0';        /* room() always leaves space */
	return err;
}
