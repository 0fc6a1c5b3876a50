/*
 * Checked allocation and size arithmetic.  All n*size and a+b computations on
 * sizes that come from outside go through these helpers.
 */
#ifndef KURA_CORE_MEM_H
#define KURA_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Overflow-checked arithmetic: return false (and leave *ret alone) on overflow. */
static inline bool
kura_size_add(size_t a, size_t b, size_t *ret)
{
	size_t r;
	if (__builtin_add_overflow(a, b, &r))
		return false;
	*ret = r;
	return true;
}

static inline bool
kura_size_mul(size_t a, size_t b, size_t *ret)
{
	size_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return false;
	*ret = r;
	return true;
}

/* calloc(n, size) that returns NULL on overflow or failure. */
void *kura_calloc(size_t n, size_t size);
/* malloc(n * size), NULL on overflow or failure. */
void *kura_mallocarray(size_t n, size_t size);
/* realloc(p, n * size), NULL (p untouched) on overflow or failure. */
void *kura_reallocarray(void *p, size_t n, size_t size);
/* strdup / strndup returning NULL on failure; NULL in gives NULL out. */
char *kura_strdup(const char *s);
char *kura_strndup(const char *s, size_t n);
/* Wipe len bytes at p in a way the compiler cannot elide. */
void kura_wipe(void *p, size_t len);
/* Wipe a NUL-terminated string and free it; accepts NULL. */
void kura_free_secret_str(char *s);
/* Constant-time comparison of two equal-length buffers: true if equal. */
bool kura_ct_equal(const void *a, const void *b, size_t len);

/* Free *p and set it to NULL (for cleanup paths). */
#define KURA_FREE(p) do { free(p); (p) = NULL; } while (0)

#endif
