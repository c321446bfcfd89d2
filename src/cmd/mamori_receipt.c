/*
 * mamori receipt: decode ESC/POS receipt bytes to text (tests, system tests,
 * demo), and print a sample receipt (the NTA 問58 example) as ESC/POS.
 * Owns argument handling and file I/O only (src/pos/receipt.c, escpos_decode.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "common/buf.h"
#include "mamori/err.h"
#include "pos/escpos_decode.h"
#include "pos/receipt.h"
#include "pos/tax.h"

static const char USAGE[] =
    "usage: mamori receipt decode FILE [--json]   ESC/POS bytes -> text lines and [COMMANDS]\n"
    "       mamori receipt sample [--training] [--reprint] [--out FILE]\n"
    "                                           the NTA Q&A 問58 receipt as ESC/POS bytes\n"
    "FILE '-' = stdin/stdout. exit: 0 ok, 1 failure (undecodable bytes), 2 usage\n";

static int read_all(const char *path, struct buf *out)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    int r = 0;
    if (fd < 0)
        return MAMORI_ERR_IO;
    for (;;) {
        uint8_t tmp[4096];
        ssize_t k = read(fd, tmp, sizeof(tmp));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = MAMORI_ERR_IO;
            break;
        }
        if (k == 0)
            break;
        if ((r = buf_put_bytes(out, tmp, (size_t)k)))
            break;
    }
    if (fd != 0)
        close(fd);
    return r;
}

static int decode(const char *path, bool json)
{
    struct buf in, txt;
    struct escpos_doc *d = NULL;
    int r, rc = 1;
    buf_init(&in, ESCPOS_DECODE_MAX_BYTES);
    buf_init(&txt, 0);
    if ((r = read_all(path, &in))) {
        rc = cmd_fail("receipt", path, r);
        goto out;
    }
    if ((r = escpos_decode(buf_ptr(&in), buf_remaining(&in), &d))) {
        rc = cmd_fail("receipt", "decode", r);
        goto out;
    }
    if (json) {
        json_t *o = json_object(), *lines = json_array(), *cmds = json_array();
        for (size_t i = 0; i < d->n_lines; i++)
            json_array_append_new(lines, json_string(d->lines[i]));
        for (size_t i = 0; i < d->n_cmds; i++) {
            json_t *c = json_pack("{s:i, s:i, s:I}", "kind", (int)d->cmds[i].kind, "arg", d->cmds[i].arg,
                                  "line", (json_int_t)d->cmds[i].line);
            if (c && d->cmds[i].data)
                json_object_set_new(c, "data", json_string(d->cmds[i].data));
            json_array_append_new(cmds, c);
        }
        json_object_set_new(o, "lines", lines);
        json_object_set_new(o, "commands", cmds);
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        if ((r = escpos_doc_text(d, &txt))) {
            rc = cmd_fail("receipt", "text", r);
            goto out;
        }
        fwrite(buf_ptr(&txt), 1, buf_remaining(&txt), stdout);
    }
    rc = 0;
out:
    escpos_doc_free(d);
    buf_free(&in);
    buf_free(&txt);
    return rc;
}

static int sample(const char *out_path, bool training, bool reprint)
{
    static const struct tax_line tl[] = {
        {108, TAX_CLASS_REDUCED, true, 1},
        {972, TAX_CLASS_REDUCED, true, 1},
        {330, TAX_CLASS_STANDARD, true, 1},
    };
    static const struct receipt_line rl[] = {
        {.name = "コーラ", .unit_price = 108, .qty = 1, .amount = 108, .reduced = true, .inclusive = true},
        {.name = "ギュウニク", .unit_price = 648, .qty = 1, .weight_g = 150, .amount = 972,
         .reduced = true, .inclusive = true},
        {.name = "ハミガキコ", .unit_price = 330, .qty = 1, .amount = 330, .inclusive = true},
    };
    static const struct receipt_tender cash[] = {{.kind = RECEIPT_TENDER_CASH, .amount = 1500}};
    struct tax_input in = {.lines = tl, .n_lines = 3};
    struct tax_result t;
    struct buf o;
    int r, rc = 1;
    buf_init(&o, RECEIPT_BYTES_MAX);
    if ((r = tax_compute(&in, &t)))
        return cmd_fail("receipt", "tax", r);
    struct receipt_model m = {
        .issuer_name = "スーパー○○", .issuer_address = "東京都千代田区○○1-2-3",
        .registration_no = "T1234567890123", .when = 1793491200, .utc_offset_min = 540,
        .store = 1, .terminal = 1, .receipt_no = 1, .operator_name = "山田", .operator_id = 1,
        .lines = rl, .n_lines = 3, .tax = &t, .tenders = cash, .n_tenders = 1,
        .change = 1500 - t.total, .training = training, .reprint = reprint,
    };
    if ((r = receipt_render(&m, &o))) {
        rc = cmd_fail("receipt", "render", r);
        goto out;
    }
    FILE *f = out_path && strcmp(out_path, "-") != 0 ? fopen(out_path, "wbx") : stdout;
    if (f == NULL) {
        rc = cmd_fail("receipt", out_path, MAMORI_ERR_IO);
        goto out;
    }
    size_t w = fwrite(buf_ptr(&o), 1, buf_remaining(&o), f);
    if ((f != stdout && fclose(f) != 0) || w != buf_remaining(&o)) {
        rc = cmd_fail("receipt", "write", MAMORI_ERR_IO);
        goto out;
    }
    rc = 0;
out:
    buf_free(&o);
    return rc;
}

int cmd_receipt(int argc, char **argv)
{
    const char *sub = NULL, *file = NULL, *out = NULL;
    bool json = false, training = false, reprint = false;
    if (cmd_wants_help(argc, argv, USAGE))
        return 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--training") == 0)
            training = true;
        else if (strcmp(argv[i], "--reprint") == 0)
            reprint = true;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            goto usage;
        else if (sub == NULL)
            sub = argv[i];
        else if (file == NULL)
            file = argv[i];
        else
            goto usage;
    }
    if (sub && strcmp(sub, "decode") == 0 && file)
        return decode(file, json);
    if (sub && strcmp(sub, "sample") == 0 && file == NULL)
        return sample(out, training, reprint);
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
