#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

void
kbuf_init(struct kbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
kbuf_init_secret(struct kbuf *b, size_t max)
{
	kbuf_init(b, max);
	b->secret = 1;
}

kura_err
kbuf_reserve(struct kbuf *b, size_t need)
{
	size_t want, ncap;
	char *p;

	if (!kura_size_add(b->len, need, &want) || want > b->max)
		return KURA_ETOOBIG;
	if (!kura_size_add(want, 1, &want))
		return KURA_ETOOBIG;
	if (want <= b->cap)
		return KURA_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want) {
		if (!kura_size_mul(ncap, 2, &ncap))
			return KURA_ETOOBIG;
	}
	/* never allocate past the hard limit (max + 1 for the NUL; a max of
	 * SIZE_MAX has no room for that and is simply not capped) */
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		p = malloc(ncap);
		if (p == NULL)
			return KURA_ENOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len + 1);
			kura_wipe(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, ncap);
		if (p == NULL)
			return KURA_ENOMEM;
	}
	b->data = p;
	b->cap = ncap;
	return KURA_OK;
}

kura_err
kbuf_append(struct kbuf *b, const void *p, size_t n)
{
	kura_err err = kbuf_reserve(b, n);
	if (err)
		return err;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return KURA_OK;
}

kura_err
kbuf_puts(struct kbuf *b, const char *s)
{
	return kbuf_append(b, s, strlen(s));
}

kura_err
kbuf_vprintf(struct kbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	kura_err err;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return KURA_EINVAL;
	err = kbuf_reserve(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return KURA_OK;
}

kura_err
kbuf_printf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;
	kura_err err;

	va_start(ap, fmt);
	err = kbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

char *
kbuf_strdupf(size_t max, const char *fmt, ...)
{
	struct kbuf b;
	va_list ap;
	kura_err err;

	kbuf_init(&b, max);
	va_start(ap, fmt);
	err = kbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (err) {
		kbuf_free(&b);
		return NULL;
	}
	return kbuf_steal(&b, NULL);
}

void
kbuf_reset(struct kbuf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			kura_wipe(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
}

char *
kbuf_steal(struct kbuf *b, size_t *ret_len)
{
	char *p = b->data;
	if (p == NULL)
		p = calloc(1, 1);
	if (ret_len != NULL)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
kbuf_free(struct kbuf *b)
{
	if (b->data != NULL && b->secret)
		kura_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
