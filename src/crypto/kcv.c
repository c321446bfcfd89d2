/* kcv.c: owns key check value computation (see kcv.h). Owns no keys. */
#include "crypto/kcv.h"

#include <string.h>

#include "common/secmem.h"
#include "mamori/err.h"

int kcv_compute(enum symm_alg alg, const uint8_t *key, size_t key_len, uint8_t *ret_kcv, size_t n)
{
    uint8_t zero[16] = {0}, out[16];
    int r;
    if (key == NULL || ret_kcv == NULL || n == 0 || n > symm_block(alg) || !symm_key_ok(alg, key_len))
        return MAMORI_ERR_INVAL;
    if (alg == SYMM_AES)
        r = symm_cmac(SYMM_AES, key, key_len, zero, 16, out);
    else
        r = symm_crypt(SYMM_TDES, 1, key, key_len, NULL, zero, out, 8);
    if (r == 0)
        memcpy(ret_kcv, out, n);
    secmem_wipe(out, sizeof(out));
    return r;
}

int kcv_hex(enum symm_alg alg, const uint8_t *key, size_t key_len, size_t n, char *ret_hex, size_t hex_size)
{
    static const char dig[] = "0123456789ABCDEF";
    uint8_t k[KCV_MAX_LEN];
    int r;
    if (ret_hex == NULL || n > KCV_MAX_LEN || hex_size < 2 * n + 1)
        return MAMORI_ERR_INVAL;
    if ((r = kcv_compute(alg, key, key_len, k, n)) != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        ret_hex[2 * i] = dig[k[i] >> 4];
        ret_hex[2 * i + 1] = dig[k[i] & 15];
    }
    ret_hex[2 * n] = '\0';
    return 0;
}
