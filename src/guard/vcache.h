/*
 * vcache: the guard's verdict cache (POL-5; ARCHITECTURE §7).
 *
 * Remembers what the guard learned about a file version so a warm exec costs
 * an fstat and a lookup, not a hash. A version is (device, inode, mtime,
 * ctime, size): any write moves mtime/ctime, so a changed file misses and is
 * re-hashed. Because timestamps are only as fine as the kernel's clock tick,
 * the guard also drops entries on FAN_MODIFY / FAN_CLOSE_WRITE
 * (vcache_invalidate) and everything on manifest reload (vcache_clear).
 *
 * Fixed capacity (VCACHE_WAYS-way sets, oldest way replaced): memory is
 * bounded whatever an attacker creates. Not thread-safe: one owner thread.
 */
#ifndef MAMORI_VCACHE_H
#define MAMORI_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VCACHE_WAYS 4
#define VCACHE_MAX_ENTRIES (1u << 20)

struct vcache;

struct vcache_key {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
};

/* What is known about one file version. */
enum {
    VCACHE_ELF_KNOWN = 1u << 0,
    VCACHE_IS_ELF = 1u << 1,
    VCACHE_LISTED_KNOWN = 1u << 2,
    VCACHE_LISTED = 1u << 3,
};

/* A cache of at least entries slots (rounded up to a power of two; at most
 * VCACHE_MAX_ENTRIES). */
int vcache_new(size_t entries, struct vcache **ret);
void vcache_free(struct vcache *c);

/* Flags known for k, or 0 (nothing known). */
unsigned vcache_get(const struct vcache *c, const struct vcache_key *k);
/* Merge flags into the entry for k (creating it, evicting the oldest way). */
void vcache_put(struct vcache *c, const struct vcache_key *k, unsigned flags);
/* Drop every version of (dev, ino). */
void vcache_invalidate(struct vcache *c, uint64_t dev, uint64_t ino);
/* Drop everything. */
void vcache_clear(struct vcache *c);

#endif
