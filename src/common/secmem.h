/*
 * secmem: guarded memory for secrets (libsodium sodium_malloc underneath:
 * guard pages, canary, mlock, wiped on free).
 *
 * A secret is allocated with secmem_new(), kept PROT_NONE while idle with
 * secmem_lock(), opened for use with secmem_read()/secmem_write(), and
 * released with secmem_free(), which wipes it. Compare secrets only with
 * secmem_eq() (constant time).
 */
#ifndef MAMORI_SECMEM_H
#define MAMORI_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Initialise libsodium once per process; 0 or MAMORI_ERR_CRYPTO. */
int secmem_init(void);

/* n bytes of zeroed guarded memory, or NULL. */
void *secmem_new(size_t n);
/* Wipe and release; NULL-safe. */
void secmem_free(void *p);
/* Make p inaccessible until the next secmem_read/secmem_write. */
void secmem_lock(void *p);
void secmem_read(void *p);
void secmem_write(void *p);

/* Wipe n bytes of ordinary memory (not optimised away). */
void secmem_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte regions. */
__attribute__((warn_unused_result)) bool secmem_eq(const void *a, const void *b, size_t n);

#endif
