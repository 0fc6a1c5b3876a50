#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void *
kura_calloc(size_t n, size_t size)
{
	size_t total;
	if (!kura_size_mul(n, size, &total))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *
kura_mallocarray(size_t n, size_t size)
{
	size_t total;
	if (!kura_size_mul(n, size, &total))
		return NULL;
	return malloc(total ? total : 1);
}

void *
kura_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (!kura_size_mul(n, size, &total))
		return NULL;
	return realloc(p, total ? total : 1);
}

char *
kura_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *
kura_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

void
kura_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

void
kura_free_secret_str(char *s)
{
	if (s == NULL)
		return;
	kura_wipe(s, strlen(s));
	free(s);
}

bool
kura_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < len; i++)
		d |= (uint8_t)(x[i] ^ y[i]);
	return d == 0;
}
