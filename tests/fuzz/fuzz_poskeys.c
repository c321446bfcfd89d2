/* libFuzzer target: POS keyboard keys and touch-panel button ids as they
 * arrive from devices on the bus (poskeys_press, poskeys_button; DEV-9,
 * DEV-10). Input: lines; a line starting with 'B' is a button id (the rest
 * of the line), anything else a key name. Checks the entry bounds and that
 * every completed request holds NUL-terminated text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/poskeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINE_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct poskeys k;
    struct api_req q;
    char line[FUZZ_LINE_MAX + 1];
    size_t i = 0;
    poskeys_init(&k);
    while (i < size) {
        size_t n = 0;
        while (i < size && data[i] != '\n' && n < FUZZ_LINE_MAX)
            line[n++] = (char)data[i++];
        while (i < size && data[i] != '\n')
            i++; /* the rest of an over-long line is dropped */
        i++;
        line[n] = '\0';
        int r = n > 0 && line[0] == 'B' ? poskeys_button(&k, NULL, line + 1, &q)
                                        : poskeys_press(&k, NULL, line, &q);
        if (k.n > POSKEYS_ENTRY_MAX || strlen(k.entry) != k.n || k.qty < 0 || k.qty > TXN_QTY_MAX)
            abort();
        if (r < 0 && (k.n != 0 || k.qty != 0))
            abort(); /* a refusal leaves no entry behind */
        if (r == 1 && (strnlen(q.code, sizeof(q.code)) == sizeof(q.code) ||
                       strnlen(q.plu, sizeof(q.plu)) == sizeof(q.plu) ||
                       strnlen(q.slip, sizeof(q.slip)) == sizeof(q.slip) ||
                       q.op <= API_OP_NONE || q.op >= API_OP_COUNT || q.amount < 0 || q.price < 0))
            abort();
    }
    return 0;
}
