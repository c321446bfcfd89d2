/*
 * config.c: INI configuration through inih. Owns the entry table (section,
 * key, value, origin) and error text; does not know any program's keys.
 */
#include "common/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mamori/err.h"

struct reader;

struct centry {
    char *section, *key, *value;
    char where[128];
};

struct config {
    struct centry *e;
    size_t n, cap;
    const char *cur_name; /* during a parse */
    struct reader *rd;    /* during a parse */
    int fail;             /* error inside a handler */
    char err[CONFIG_ERR_LEN];
};

int config_new(struct config **ret)
{
    struct config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = c;
    return 0;
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    free(c);
}

const char *config_error(const struct config *c)
{
    return c->err;
}

static struct centry *find(const struct config *c, const char *section, const char *key)
{
    for (size_t i = c->n; i-- > 0;)
        if (strcmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0)
            return &c->e[i];
    return NULL;
}

/* inih here is built without INI_HANDLER_LINENO, so the reader counts lines. */
struct reader {
    const char *p;
    int line;
};

static char *read_line(char *str, int num, void *stream)
{
    struct reader *rd = stream;
    int i = 0;
    if (*rd->p == '\0')
        return NULL;
    while (i < num - 1 && *rd->p != '\0') {
        char ch = *rd->p++;
        str[i++] = ch;
        if (ch == '\n')
            break;
    }
    str[i] = '\0';
    rd->line++;
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct config *c = user;
    int lineno = c->rd ? c->rd->line : 0;
    struct centry *e;
    char *v;
    if (name == NULL)
        return 1; /* section start */
    if (strlen(value) > CONFIG_MAX_VALUE) {
        snprintf(c->err, sizeof(c->err), "%s:%d: %s.%s: value too long", c->cur_name, lineno,
                 section, name);
        c->fail = MAMORI_ERR_CONFIG;
        return 0;
    }
    e = find(c, section, name);
    if (e == NULL) {
        if (c->n >= CONFIG_MAX_ENTRIES) {
            snprintf(c->err, sizeof(c->err), "%s:%d: too many entries", c->cur_name, lineno);
            c->fail = MAMORI_ERR_CONFIG;
            return 0;
        }
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 32;
            struct centry *ne = realloc(c->e, nc * sizeof(*ne));
            if (ne == NULL)
                goto nomem;
            c->e = ne;
            c->cap = nc;
        }
        e = &c->e[c->n];
        memset(e, 0, sizeof(*e));
        e->section = strdup(section);
        e->key = strdup(name);
        if (e->section == NULL || e->key == NULL) {
            free(e->section);
            free(e->key);
            goto nomem;
        }
        c->n++;
    }
    v = strdup(value);
    if (v == NULL)
        goto nomem;
    free(e->value);
    e->value = v;
    snprintf(e->where, sizeof(e->where), "%s:%d", c->cur_name, lineno);
    return 1;
nomem:
    c->fail = MAMORI_ERR_NOMEM;
    snprintf(c->err, sizeof(c->err), "%s:%d: out of memory", c->cur_name, lineno);
    return 0;
}

static int finish(struct config *c, int r)
{
    c->cur_name = NULL;
    if (c->fail)
        return c->fail;
    if (r != 0) {
        /* r < 0: inih could not allocate (syntax errors were reported above). */
        if (c->err[0] == '\0')
            snprintf(c->err, sizeof(c->err), "configuration parser failed (%d)", r);
        return MAMORI_ERR_CONFIG;
    }
    return 0;
}

int config_parse_string(struct config *c, const char *name, const char *text)
{
    int r;
    struct reader rd = {.p = text, .line = 0};
    c->cur_name = name;
    c->fail = 0;
    c->rd = &rd;
    r = ini_parse_stream(read_line, &rd, handler, c);
    c->rd = NULL;
    if (r > 0 && !c->fail) {
        snprintf(c->err, sizeof(c->err), "%s:%d: syntax error", name, r);
        c->cur_name = NULL;
        return MAMORI_ERR_CONFIG;
    }
    return finish(c, r);
}

int config_parse_file(struct config *c, const char *path)
{
    FILE *f;
    long sz;
    char *text;
    int r;
    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(c->err, sizeof(c->err), "%s: cannot open: %s", path, strerror(errno));
        return MAMORI_ERR_IO;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        snprintf(c->err, sizeof(c->err), "%s: cannot read", path);
        return MAMORI_ERR_IO;
    }
    if ((unsigned long)sz > CONFIG_MAX_FILE) {
        fclose(f);
        snprintf(c->err, sizeof(c->err), "%s: larger than %u bytes", path, CONFIG_MAX_FILE);
        return MAMORI_ERR_TOOBIG;
    }
    text = malloc((size_t)sz + 1);
    if (text == NULL) {
        fclose(f);
        return MAMORI_ERR_NOMEM;
    }
    if (fread(text, 1, (size_t)sz, f) != (size_t)sz) {
        free(text);
        fclose(f);
        snprintf(c->err, sizeof(c->err), "%s: short read", path);
        return MAMORI_ERR_IO;
    }
    fclose(f);
    text[sz] = '\0';
    if (memchr(text, '\0', (size_t)sz) != NULL) {
        free(text);
        snprintf(c->err, sizeof(c->err), "%s: contains a NUL byte", path);
        return MAMORI_ERR_CONFIG;
    }
    r = config_parse_string(c, path, text);
    free(text);
    return r;
}

const char *config_get_str(const struct config *c, const char *section, const char *key,
                           const char *def)
{
    const struct centry *e = find(c, section, key);
    return e ? e->value : def;
}

const char *config_where(const struct config *c, const char *section, const char *key)
{
    const struct centry *e = find(c, section, key);
    return e ? e->where : NULL;
}

int config_get_int(struct config *c, const char *section, const char *key, int64_t def, int64_t min,
                   int64_t max, int64_t *ret)
{
    const struct centry *e = find(c, section, key);
    char *end;
    long long v;
    if (e == NULL) {
        *ret = def;
        return 0;
    }
    errno = 0;
    v = strtoll(e->value, &end, 10);
    if (errno != 0 || end == e->value || *end != '\0') {
        snprintf(c->err, sizeof(c->err), "%s: %s.%s: '%s' is not an integer", e->where, section,
                 key, e->value);
        return MAMORI_ERR_CONFIG;
    }
    if (v < min || v > max) {
        snprintf(c->err, sizeof(c->err), "%s: %s.%s: %lld out of range [%lld, %lld]", e->where,
                 section, key, v, (long long)min, (long long)max);
        return MAMORI_ERR_CONFIG;
    }
    *ret = v;
    return 0;
}

int config_get_bool(struct config *c, const char *section, const char *key, bool def, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const struct centry *e = find(c, section, key);
    if (e == NULL) {
        *ret = def;
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    snprintf(c->err, sizeof(c->err), "%s: %s.%s: '%s' is not a boolean", e->where, section, key,
             e->value);
    return MAMORI_ERR_CONFIG;
}
