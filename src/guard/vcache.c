/*
 * vcache.c: fixed-size set-associative verdict cache. Owns the table only;
 * what the flags mean and when to invalidate is the enforcer's business.
 */
#include "guard/vcache.h"

#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"

struct slot {
    struct vcache_key k;
    unsigned flags; /* 0 = empty */
    uint32_t age;
};

struct vcache {
    struct slot *s;
    size_t sets; /* power of two */
    uint32_t clock;
};

int vcache_new(size_t entries, struct vcache **ret)
{
    if (entries > VCACHE_MAX_ENTRIES)
        return MAMORI_ERR_TOOBIG;
    size_t sets = 1;
    while (sets * VCACHE_WAYS < entries)
        sets *= 2;
    struct vcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    c->s = calloc(sets * VCACHE_WAYS, sizeof(*c->s));
    if (c->s == NULL) {
        free(c);
        return MAMORI_ERR_NOMEM;
    }
    c->sets = sets;
    *ret = c;
    return 0;
}

void vcache_free(struct vcache *c)
{
    if (c == NULL)
        return;
    free(c->s);
    free(c);
}

static size_t set_of(const struct vcache *c, uint64_t dev, uint64_t ino)
{
    uint64_t h = (ino * 0x9e3779b97f4a7c15ull) ^ (dev * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 29;
    return (size_t)(h & (c->sets - 1)) * VCACHE_WAYS;
}

static bool same(const struct vcache_key *a, const struct vcache_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
           a->ctime_ns == b->ctime_ns;
}

unsigned vcache_get(const struct vcache *c, const struct vcache_key *k)
{
    const struct slot *s = &c->s[set_of(c, k->dev, k->ino)];
    for (int i = 0; i < VCACHE_WAYS; i++)
        if (s[i].flags != 0 && same(&s[i].k, k))
            return s[i].flags;
    return 0;
}

void vcache_put(struct vcache *c, const struct vcache_key *k, unsigned flags)
{
    if (flags == 0)
        return;
    struct slot *s = &c->s[set_of(c, k->dev, k->ino)];
    struct slot *victim = NULL;
    for (int i = 0; i < VCACHE_WAYS; i++)
        if (s[i].flags != 0 && same(&s[i].k, k)) {
            s[i].flags |= flags;
            return;
        }
    /* Replace, in order: an older version of the same inode (it can never hit
     * again), an empty way, the least recently inserted way. */
    for (int i = 0; i < VCACHE_WAYS && victim == NULL; i++)
        if (s[i].flags != 0 && s[i].k.dev == k->dev && s[i].k.ino == k->ino)
            victim = &s[i];
    for (int i = 0; i < VCACHE_WAYS && victim == NULL; i++)
        if (s[i].flags == 0)
            victim = &s[i];
    if (victim == NULL) {
        victim = &s[0];
        for (int i = 1; i < VCACHE_WAYS; i++)
            if ((int32_t)(s[i].age - victim->age) < 0)
                victim = &s[i];
    }
    victim->k = *k;
    victim->flags = flags;
    victim->age = ++c->clock;
}

void vcache_invalidate(struct vcache *c, uint64_t dev, uint64_t ino)
{
    struct slot *s = &c->s[set_of(c, dev, ino)];
    for (int i = 0; i < VCACHE_WAYS; i++)
        if (s[i].k.dev == dev && s[i].k.ino == ino)
            s[i].flags = 0;
}

void vcache_clear(struct vcache *c)
{
    memset(c->s, 0, c->sets * VCACHE_WAYS * sizeof(*c->s));
}
