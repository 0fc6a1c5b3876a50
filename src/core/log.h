/*
 * Process log: one line per event on stderr, "time level message".
 * Only edges (HTTP handlers, CLI, jobs) log; library code returns errors.
 * Never pass secrets or customer content to these functions.
 */
#ifndef KURA_CORE_LOG_H
#define KURA_CORE_LOG_H

#include <stdint.h>

enum kura_log_level { KURA_LOG_DEBUG, KURA_LOG_INFO, KURA_LOG_WARN, KURA_LOG_ERROR };

void kura_log_set_level(enum kura_log_level level);
void kura_log(enum kura_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) kura_log(KURA_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) kura_log(KURA_LOG_INFO, __VA_ARGS__)
#define log_warn(...) kura_log(KURA_LOG_WARN, __VA_ARGS__)
#define log_error(...) kura_log(KURA_LOG_ERROR, __VA_ARGS__)

/* Current UTC time in microseconds since the epoch. */
int64_t kura_now_us(void);
/* Monotonic clock in microseconds. */
int64_t kura_mono_us(void);

#endif
