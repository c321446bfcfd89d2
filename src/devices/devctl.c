/*
 * devctl.c: control-interface helpers for device firmware (devctl.h).
 * Owns answer formatting and strict argument parsing only.
 */
#include "devices/devctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"

#define DEVCTL_ANSWER_MAX 1024

int devctl_answer(struct buf *answer, const char *fmt, ...)
{
    char line[DEVCTL_ANSWER_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return MAMORI_ERR_INTERNAL;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1; /* an answer is for humans: cut, do not fail */
    if (answer == NULL)
        return 0;
    buf_reset(answer);
    return buf_put_bytes(answer, line, (size_t)n);
}

int devctl_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    char *end = NULL;
    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return MAMORI_ERR_INVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return MAMORI_ERR_INVAL;
    *ret = v;
    return 0;
}

bool devctl_printable(const char *s, size_t max)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++)
        if (n >= max || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0;
}
