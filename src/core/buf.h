/*
 * Bounded growable byte buffer.  Every buffer has a hard maximum fixed at
 * init; appends past it fail with KURA_ETOOBIG and leave the buffer as it was.
 * The data is always NUL-terminated (the terminator is not counted in len).
 */
#ifndef KURA_CORE_BUF_H
#define KURA_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/error.h"

struct kbuf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;     /* hard limit on len */
	int secret;     /* wipe on growth and free */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void kbuf_init(struct kbuf *b, size_t max);
/* As kbuf_init, but contents are wiped whenever memory is released. */
void kbuf_init_secret(struct kbuf *b, size_t max);
/* Make room for need more bytes plus the terminator (ETOOBIG past max). */
kura_err kbuf_reserve(struct kbuf *b, size_t need);
kura_err kbuf_append(struct kbuf *b, const void *p, size_t n);
kura_err kbuf_puts(struct kbuf *b, const char *s);
kura_err kbuf_printf(struct kbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
kura_err kbuf_vprintf(struct kbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* A new malloc'd string from fmt, at most max bytes; NULL if it does not
 * fit or memory runs out.  For messages, not for secrets. */
char *kbuf_strdupf(size_t max, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory. */
void kbuf_reset(struct kbuf *b);
/* Hand the data to the caller (who frees it) and reset the buffer. */
char *kbuf_steal(struct kbuf *b, size_t *ret_len);
/* Release memory; accepts a zeroed or already-freed buffer. */
void kbuf_free(struct kbuf *b);

#endif
