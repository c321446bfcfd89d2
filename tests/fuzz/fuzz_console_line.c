/*
 * Fuzz target: arbitrary bytes as a register console line
 * (console_tokenize): keyboard and script input is outside bytes. Must
 * never crash, write past its buffer or return more than
 * CONSOLE_TOKENS_MAX tokens; every token it returns is non-empty text
 * inside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[CONSOLE_LINE_MAX + 1], *tok[CONSOLE_TOKENS_MAX];
    size_t n = 0;
    if (console_tokenize((const char *)data, size, buf, sizeof(buf), tok, &n) == 0) {
        if (n > CONSOLE_TOKENS_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (tok[i] < buf || tok[i] >= buf + sizeof(buf) || tok[i][0] == '\0' ||
                strlen(tok[i]) > size)
                abort();
    }
    return 0;
}
