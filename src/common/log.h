/*
 * log: the program logger. Takes an event name and typed fields (field.h);
 * HIGH values are refused (rendered as "[refused:high]" and the call returns
 * MAMORI_ERR_PERM), MEDIUM values are masked. Library code logs at debug only
 * (STYLE rule 10); programs log once, where they decide.
 */
#ifndef MAMORI_LOG_H
#define MAMORI_LOG_H

#include "common/field.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Write records to fd (default 2) at or above level. */
void log_setup(int fd, enum log_level level, const char *program);

/* Emit one record. fields ends with F_END (may be NULL). */
int log_emit(enum log_level level, const char *event, const struct field *fields);

#define LOG_FIELDS_(...) ((const struct field[]){__VA_ARGS__, F_END})
#define log_debug(ev, ...) log_emit(LOG_DEBUG, (ev), LOG_FIELDS_(__VA_ARGS__))
#define log_info(ev, ...) log_emit(LOG_INFO, (ev), LOG_FIELDS_(__VA_ARGS__))
#define log_warn(ev, ...) log_emit(LOG_WARN, (ev), LOG_FIELDS_(__VA_ARGS__))
#define log_error(ev, ...) log_emit(LOG_ERROR, (ev), LOG_FIELDS_(__VA_ARGS__))

#endif
