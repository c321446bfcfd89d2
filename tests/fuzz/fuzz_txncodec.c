/*
 * Fuzz target: arbitrary bytes as a journal record (txncodec_decode). The
 * journal's JSON is read back after crashes and from copied files, so it is
 * outside bytes: decoding must never crash or read out of bounds, and
 * whatever it accepts must re-encode and decode to the same record.
 * Seeds: tests/fuzz/corpus/txncodec/ (records written by the engine).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/txncodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct txn_rec *r = malloc(sizeof(*r)), *back = malloc(sizeof(*back));
    char *text = NULL;
    if (r == NULL || back == NULL)
        abort();
    if (txncodec_decode((const char *)data, size, r) == 0) {
        if (txncodec_encode(r, &text) != 0 || txncodec_decode(text, strlen(text), back) != 0)
            abort();
        if (back->n_lines != r->n_lines || back->n_tenders != r->n_tenders ||
            back->txn_no != r->txn_no)
            abort();
        free(text);
    }
    free(r);
    free(back);
    return 0;
}
