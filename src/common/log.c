/*
 * log.c: one-line text records "TIME LEVEL program event k=v ...". Owns the
 * process-wide destination and level; owns no decision about what a value may
 * show (that is field.c).
 */
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mamori/err.h"

static struct {
    int fd;
    enum log_level level;
    char program[32];
} log_cfg = {2, LOG_INFO, "mamori"};

void log_setup(int fd, enum log_level level, const char *program)
{
    log_cfg.fd = fd;
    log_cfg.level = level;
    if (program != NULL)
        snprintf(log_cfg.program, sizeof(log_cfg.program), "%s", program);
}

static const char *level_name(enum log_level l)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    return (unsigned)l < 4 ? names[l] : "?";
}

static int needs_quote(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] == '"' || p[i] == '=' || p[i] == '\\')
            return 1;
    return 0;
}

int log_emit(enum log_level level, const char *event, const struct field *fields)
{
    if (level < log_cfg.level)
        return 0;
    struct buf line, val;
    int ret = 0;
    char head[128];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int hn = snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, ts.tv_nsec / 1000000, level_name(level), log_cfg.program);
    buf_init(&line, 16 * 1024);
    buf_init(&val, 8 * 1024);
    buf_put_bytes(&line, head, (size_t)hn);
    buf_put_bytes(&line, event, strlen(event));
    for (const struct field *f = fields; f != NULL && f->kind != FIELD_END; f++) {
        buf_reset(&val);
        int r = field_render(f, &val);
        if (r == MAMORI_ERR_PERM)
            ret = r;
        buf_put_u8(&line, ' ');
        buf_put_bytes(&line, f->name, strlen(f->name));
        buf_put_u8(&line, '=');
        if (needs_quote(buf_ptr(&val), buf_remaining(&val))) {
            buf_put_u8(&line, '"');
            for (size_t i = 0; i < buf_remaining(&val); i++) {
                uint8_t c = buf_ptr(&val)[i];
                if (c == '"' || c == '\\')
                    buf_put_u8(&line, '\\');
                buf_put_u8(&line, c < ' ' ? '?' : c);
            }
            buf_put_u8(&line, '"');
        } else {
            buf_put_bytes(&line, buf_ptr(&val), buf_remaining(&val));
        }
    }
    buf_put_u8(&line, '\n');
    /* One write per record so lines from several processes do not interleave. */
    ssize_t w = write(log_cfg.fd, buf_ptr(&line), buf_remaining(&line));
    (void)w;
    buf_free(&line);
    buf_free(&val);
    return ret;
}
