/*
 * printer.c: firmware of the receipt printer (UPOS POSPrinter, DEV-16).
 *
 * Owns: receiving ESC/POS byte streams (printer.print) and keeping them,
 * exactly as received, appended to printer.out in the state directory (the
 * "paper": tests decode it), the paper sensor (control paper-out/paper-in)
 * and the job counter. Does not interpret ESC/POS: a printer prints what it
 * is sent; receipt layout belongs to the register.
 *
 * A job may carry an idempotency key ("idem", devidem.h): a retry with the
 * same key and the same bytes gets the first reply and prints nothing more
 * (a Z report printed once although its reply was lost). The key is saved
 * after the bytes are on paper: a crash in between prints the job again on
 * the retry rather than losing it.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devidem.h"
#include "devices/devstate.h"
#include "devices/printer.h"
#include "mamori/err.h"

#define PRINTER_STATE "printer.state"
#define PRINTER_OUT "printer.out"
#define PRINTER_OUT_MAX (64u * 1024 * 1024)  /* the roll: printer.out stops here */

struct printer {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    bool paper;
    int64_t jobs;
    int64_t bytes;
    struct devidem idem;
};

static int printer_encode(const void *state, cbor_item_t *m)
{
    const struct printer *p = state;
    return devbody_put_bool(m, "paper", p->paper) || devbody_put_int(m, "jobs", p->jobs) ||
           devbody_put_int(m, "bytes", p->bytes) ||
           devbody_put_item(m, "idem", devidem_to_cbor(&p->idem));
}

static int printer_decode(void *state, const cbor_item_t *st)
{
    struct printer *p = state;
    return devbody_get_bool(st, "paper", &p->paper) ||
           devbody_get_int(st, "jobs", 0, INT64_MAX, &p->jobs) ||
           devbody_get_int(st, "bytes", 0, INT64_MAX, &p->bytes) ||
           (devbody_find(st, "idem") != NULL &&
            devidem_from_cbor(&p->idem, devbody_find(st, "idem")));
}

static void printer_new(void *state)
{
    struct printer *p = state;
    p->paper = true;
}

static const struct devstate_file printer_file = {PRINTER_STATE, printer_encode, printer_decode,
                                                  printer_new};

static int printer_save(struct printer *p)
{
    return devstate_store(p->dir, &printer_file, p);
}

static void printer_destroy(void *state)
{
    struct printer *p = state;
    if (p == NULL)
        return;
    devidem_clear(&p->idem);
    free(p);
}

static int printer_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct printer *p = calloc(1, sizeof(*p));
    int r;
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    devidem_init(&p->idem);
    p->io = *io;
    if ((r = devstate_dir(p->dir, state_dir)) || (r = devstate_open(p->dir, &printer_file, p))) {
        printer_destroy(p);
        return r;
    }
    *ret_state = p;
    return 0;
}

static int printer_request(void *state, const char *type, const cbor_item_t *body,
                           cbor_item_t **ret_reply)
{
    struct printer *p = state;
    const uint8_t *data;
    size_t n;
    cbor_item_t *m;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "printer.print") == 0) {
        char idem[DEVIDEM_KEY_MAX + 1] = "", fp[DEVIDEM_FP_MAX + 1];
        if ((r = devbody_get_bytes(body, "data", PRINTER_JOB_MAX, &data, &n)))
            return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
        if ((r = devbody_get_str(body, "idem", idem, sizeof(idem))) && r != MAMORI_ERR_NOTFOUND)
            return r;
        if (idem[0] != '\0') {
            uint8_t h[16];
            crypto_generichash(h, sizeof(h), data, n, NULL, 0);
            sodium_bin2hex(fp, sizeof(fp), h, sizeof(h));
            r = devidem_lookup(&p->idem, idem, fp, ret_reply);
            if (r == 0)
                return 0; /* a retry: the first reply, nothing printed again */
            if (r != MAMORI_ERR_NOTFOUND)
                return r;
        }
        if (!p->paper)
            return MAMORI_ERR_STATE; /* UPOS EPTR_REC_EMPTY */
        if ((r = devstate_append(p->dir, PRINTER_OUT, data, n, PRINTER_OUT_MAX)))
            return r;
        p->jobs++;
        p->bytes += (int64_t)n;
        m = devbody_new();
        if (devbody_put_int(m, "job", p->jobs) || devbody_put_int(m, "bytes", (int64_t)n))
            goto nomem;
        if (idem[0] != '\0' && (r = devidem_put(&p->idem, idem, fp, m))) {
            cbor_decref(&m);
            return r;
        }
        if ((r = printer_save(p))) {
            if (idem[0] != '\0')
                devidem_forget(&p->idem, idem);
            cbor_decref(&m);
            return r;
        }
    } else if (strcmp(type, "printer.status") == 0) {
        m = devbody_new();
        if (devbody_put_str(m, "paper", p->paper ? "ok" : "empty") ||
            devbody_put_int(m, "jobs", p->jobs) || devbody_put_int(m, "bytes", p->bytes))
            goto nomem;
    } else {
        return MAMORI_ERR_UNSUPPORTED;
    }
    *ret_reply = m;
    return 0;
nomem:
    if (m != NULL)
        cbor_decref(&m);
    return MAMORI_ERR_NOMEM;
}

static int printer_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct printer *p = state;
    int r;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "printer: paper %s, %lld jobs, %lld bytes",
                             p->paper ? "ok" : "empty", (long long)p->jobs, (long long)p->bytes);
    if (argc == 1 && (strcmp(argv[0], "paper-out") == 0 || strcmp(argv[0], "paper-in") == 0)) {
        bool was = p->paper;
        p->paper = strcmp(argv[0], "paper-in") == 0;
        if ((r = printer_save(p))) {
            p->paper = was;
            return r;
        }
        if (was != p->paper) {
            /* UPOS PTR_SUE_REC_EMPTY=24, PTR_SUE_REC_PAPEROK=26 */
            cbor_item_t *ev = devbody_new();
            if (devbody_put_str(ev, "paper", p->paper ? "ok" : "empty") ||
                devbody_put_int(ev, "status", p->paper ? 26 : 24)) {
                if (ev != NULL)
                    cbor_decref(&ev);
                return MAMORI_ERR_NOMEM;
            }
            (void)p->io.emit(p->io.ctx, "printer.status", ev);
        }
        return devctl_answer(answer, "paper %s", p->paper ? "ok" : "empty");
    }
    devctl_answer(answer, "usage: paper-out | paper-in | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_printer = {
    .kind = "printer",
    .model = "MAMORI-SIM-PRT1",
    .upos_name = "POSPrinter",
    .create = printer_create,
    .destroy = printer_destroy,
    .request = printer_request,
    .control = printer_control,
};
