/*
 * issuer.c: owns the simulated issuer's card records (file format in
 * issuer.h). The records hold clear test PANs and PINs: they are the
 * issuer's own data and stay in the host's state directory; the records
 * live in guarded memory.
 */
#include "payhost/issuer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/secmem.h"
#include "mamori/err.h"

struct issuer {
    size_t n;
    struct issuer_card *cards; /* secmem, ISSUER_CARDS_MAX entries */
};

static bool all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int parse_line(char *line, struct issuer_card *c)
{
    char *save = NULL, *pan, *pin, *limit, *status, *extra;
    pan = strtok_r(line, " \t", &save);
    if (pan == NULL)
        return 1; /* blank */
    pin = strtok_r(NULL, " \t", &save);
    limit = strtok_r(NULL, " \t", &save);
    status = strtok_r(NULL, " \t", &save);
    extra = strtok_r(NULL, " \t", &save);
    if (pin == NULL || limit == NULL || status == NULL || extra != NULL)
        return MAMORI_ERR_INVAL;
    if (!all_digits(pan, TRACK_PAN_MIN, TRACK_PAN_MAX) || !track_luhn_ok(pan))
        return MAMORI_ERR_INVAL;
    if (strcmp(pin, "-") != 0 && !all_digits(pin, PINBLOCK_PIN_MIN, PINBLOCK_PIN_MAX))
        return MAMORI_ERR_INVAL;
    if (!all_digits(limit, 1, 10))
        return MAMORI_ERR_INVAL;
    memset(c, 0, sizeof(*c));
    memcpy(c->pan, pan, strlen(pan) + 1);
    if (strcmp(pin, "-") != 0)
        memcpy(c->pin, pin, strlen(pin) + 1);
    c->limit = strtoll(limit, NULL, 10);
    if (strcmp(status, "active") == 0)
        c->status = ISSUER_ACTIVE;
    else if (strcmp(status, "blocked") == 0)
        c->status = ISSUER_BLOCKED;
    else if (strcmp(status, "lost") == 0)
        c->status = ISSUER_LOST;
    else
        return MAMORI_ERR_INVAL;
    return 0;
}

int issuer_load(const char *path, struct issuer **ret, int *ret_line)
{
    struct issuer *is;
    char *text = NULL;
    int r = 0, fd = -1, lineno = 0;
    if (path == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((is = calloc(1, sizeof(*is))) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((is->cards = secmem_new(ISSUER_CARDS_MAX * sizeof(struct issuer_card))) == NULL ||
        (text = secmem_new(ISSUER_FILE_MAX + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = errno == ENOENT ? 0 : MAMORI_ERR_IO;
        goto done;
    }
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, text + len, ISSUER_FILE_MAX + 1 - len);
        if (k < 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len > ISSUER_FILE_MAX) {
            r = MAMORI_ERR_TOOBIG;
            goto out;
        }
    }
    text[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        if (is->n >= ISSUER_CARDS_MAX) {
            r = MAMORI_ERR_TOOBIG;
            goto out;
        }
        int pr = parse_line(line, &is->cards[is->n]);
        if (pr < 0) {
            r = pr;
            goto out;
        }
        if (pr == 0)
            is->n++;
    }
done:
    *ret = is;
    is = NULL;
out:
    if (fd >= 0)
        close(fd);
    secmem_free(text);
    if (r != 0 && ret_line != NULL)
        *ret_line = lineno;
    issuer_free(is);
    return r;
}

void issuer_free(struct issuer *is)
{
    if (is == NULL)
        return;
    secmem_free(is->cards);
    free(is);
}

const struct issuer_card *issuer_find(const struct issuer *is, const char *pan)
{
    if (is == NULL || pan == NULL)
        return NULL;
    for (size_t i = 0; i < is->n; i++)
        if (strcmp(is->cards[i].pan, pan) == 0)
            return &is->cards[i];
    return NULL;
}

enum issuer_range issuer_range_rule(const char *pan)
{
    if (pan == NULL)
        return ISSUER_RANGE_NONE;
    if (strncmp(pan, "400000", 6) == 0)
        return ISSUER_RANGE_DECLINE;
    if (strncmp(pan, "400001", 6) == 0)
        return ISSUER_RANGE_NSF;
    if (strncmp(pan, "424242", 6) == 0)
        return ISSUER_RANGE_APPROVE;
    return ISSUER_RANGE_NONE;
}
