/* hex.c: hex encoding and strict decoding. */
#include "common/hex.h"

#include <stdio.h>
#include <string.h>

#include "mamori/err.h"

#define HEX_FILE_LINE_MAX 258 /* a key file line: 128 bytes in hex + newline */

int hex_encode(char *out, size_t outlen, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 1) / 2 || outlen < 2 * n + 1)
        return MAMORI_ERR_TOOBIG;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(uint8_t *out, size_t outlen, const char *hex, size_t *ret_n)
{
    size_t len = strlen(hex);
    if (len % 2 != 0)
        return MAMORI_ERR_INVAL;
    if (len / 2 > outlen)
        return MAMORI_ERR_TOOBIG;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return MAMORI_ERR_INVAL;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *ret_n = len / 2;
    return 0;
}

int hex_read_file(const char *path, uint8_t *out, size_t n)
{
    char line[HEX_FILE_LINE_MAX];
    size_t got = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return MAMORI_ERR_IO;
    if (fgets(line, sizeof(line), f) == NULL) {
        fclose(f);
        return MAMORI_ERR_INVAL;
    }
    fclose(f);
    line[strcspn(line, "\r\n \t")] = '\0';
    return hex_decode(out, n, line, &got) == 0 && got == n ? 0 : MAMORI_ERR_INVAL;
}
