/* secmem.c: thin wrapper over libsodium guarded memory. Owns nothing else. */
#include "common/secmem.h"

#include <sodium.h>
#include <string.h>

#include "mamori/err.h"

int secmem_init(void)
{
    return sodium_init() < 0 ? MAMORI_ERR_CRYPTO : 0;
}

void *secmem_new(size_t n)
{
    if (sodium_init() < 0)
        return NULL;
    void *p = sodium_malloc(n ? n : 1);
    if (p != NULL)
        memset(p, 0, n ? n : 1);
    return p;
}

void secmem_free(void *p)
{
    if (p != NULL)
        sodium_free(p); /* wipes before unmapping */
}

void secmem_lock(void *p)
{
    if (p != NULL)
        sodium_mprotect_noaccess(p);
}

void secmem_read(void *p)
{
    if (p != NULL)
        sodium_mprotect_readonly(p);
}

void secmem_write(void *p)
{
    if (p != NULL)
        sodium_mprotect_readwrite(p);
}

void secmem_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

bool secmem_eq(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}
