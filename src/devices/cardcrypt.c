/*
 * cardcrypt.c: the device-side key state before DUKPT exists (issue 2).
 *
 * No key can be injected yet (TR-31 and AES DUKPT arrive with issue 4, which
 * replaces this file behind cardcrypt.h), so a device never has a key and
 * every encryption refuses with MAMORI_ERR_STATE. That refusal is the
 * required behaviour of this stage, not a placeholder success: the card
 * devices check it first and read nothing in clear without a key.
 */
#include "devices/cardcrypt.h"

#include <stdlib.h>

#include "mamori/err.h"

struct cardcrypt {
    bool has_key; /* never true before issue 4 */
};

int cardcrypt_open(const char *state_dir, struct cardcrypt **ret)
{
    struct cardcrypt *c = calloc(1, sizeof(*c));
    (void)state_dir;
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = c;
    return 0;
}

void cardcrypt_free(struct cardcrypt *c)
{
    free(c);
}

bool cardcrypt_has_key(const struct cardcrypt *c)
{
    return c != NULL && c->has_key;
}

int cardcrypt_inject(struct cardcrypt *c, const uint8_t *block, size_t n)
{
    (void)c;
    (void)block;
    (void)n;
    return MAMORI_ERR_UNSUPPORTED;
}

void cardcrypt_erase(struct cardcrypt *c)
{
    if (c != NULL)
        c->has_key = false;
}

int cardcrypt_encrypt_data(struct cardcrypt *c, const uint8_t *clear, size_t n,
                           uint8_t ksn[static CARDCRYPT_KSN_MAX], size_t *ret_ksn_len,
                           struct buf *ct)
{
    (void)clear;
    (void)n;
    (void)ksn;
    (void)ret_ksn_len;
    (void)ct;
    return cardcrypt_has_key(c) ? MAMORI_ERR_UNSUPPORTED : MAMORI_ERR_STATE;
}

int cardcrypt_encrypt_pin(struct cardcrypt *c, const char *pin, const char *pan,
                          uint8_t ksn[static CARDCRYPT_KSN_MAX], size_t *ret_ksn_len,
                          uint8_t block[static CARDCRYPT_BLOCK_MAX])
{
    (void)pin;
    (void)pan;
    (void)ksn;
    (void)ret_ksn_len;
    (void)block;
    return cardcrypt_has_key(c) ? MAMORI_ERR_UNSUPPORTED : MAMORI_ERR_STATE;
}
