/* hex: hexadecimal encoding of byte strings (for keys in config, test vectors, CLI). */
#ifndef MAMORI_HEX_H
#define MAMORI_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write 2*n lowercase hex digits and a NUL to out (outlen >= 2*n+1). 0 or MAMORI_ERR_TOOBIG. */
int hex_encode(char *out, size_t outlen, const uint8_t *in, size_t n);
/* Decode exactly strlen(hex)/2 bytes into out (either case); MAMORI_ERR_INVAL on a
 * bad digit or odd length, MAMORI_ERR_TOOBIG if out is too small. *ret_n = bytes. */
int hex_decode(uint8_t *out, size_t outlen, const char *hex, size_t *ret_n);

/* Read a key file: its first line is exactly n bytes in hex (surrounding
 * CR/LF, spaces or tabs ignored), e.g. a CA public key. 0 and out, or
 * MAMORI_ERR_IO (cannot open) / MAMORI_ERR_INVAL (not n bytes of hex). */
int hex_read_file(const char *path, uint8_t *out, size_t n);

#endif
