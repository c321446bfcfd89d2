/*
 * scanner.c: firmware of the barcode scanner (UPOS Scanner, DEV-8).
 *
 * Owns: turning a control-interface "scan CODE [SYMBOLOGY]" into a
 * scanner.data event {data, symbology} with UPOS ScanDataType numbers, and
 * its scan counter. Does not own decoding or check digits (the register
 * validates codes; a scanner reports what it read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devices/devbody.h"
#include "devices/classes.h"
#include "devices/devctl.h"
#include "devices/device.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define SCANNER_DATA_MAX 256 /* bytes of one label */
#define SCANNER_STATE "scanner.state"

/* UPOS SCAN_SDT_* values (DOMAIN.md §1.6). */
static const struct {
    const char *name;
    int code;
} scanner_symbologies[] = {
    {"upca", 101},    {"upce", 102},  {"ean8", 103},     {"jan8", 103},   {"ean13", 104},
    {"jan13", 104},   {"tf", 105},    {"itf", 106},      {"codabar", 107}, {"code39", 108},
    {"code93", 109},  {"code128", 110}, {"ean128", 120}, {"gs1-128", 120}, {"databar", 131},
    {"pdf417", 201},  {"datamatrix", 203}, {"qr", 204},  {"qrcode", 204}, {"other", 501},
};

struct scanner {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    int64_t scans;
};

static int scanner_encode(const void *state, cbor_item_t *m)
{
    const struct scanner *s = state;
    return devbody_put_int(m, "scans", s->scans);
}

static int scanner_decode(void *state, const cbor_item_t *st)
{
    struct scanner *s = state;
    return devbody_get_int(st, "scans", 0, INT64_MAX, &s->scans);
}

static const struct devstate_file scanner_file = {SCANNER_STATE, scanner_encode, scanner_decode,
                                                  NULL};

static int scanner_save(struct scanner *s)
{
    return devstate_store(s->dir, &scanner_file, s);
}

static int scanner_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct scanner *s = calloc(1, sizeof(*s));
    int r;
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->io = *io;
    if ((r = devstate_dir(s->dir, state_dir)) || (r = devstate_open(s->dir, &scanner_file, s))) {
        free(s);
        return r;
    }
    *ret_state = s;
    return 0;
}

static void scanner_destroy(void *state)
{
    free(state);
}

/* The symbology for a label: named, numeric, or inferred from a digit count. */
static int scanner_symbology(const char *data, const char *arg, int *ret)
{
    if (arg != NULL) {
        for (size_t i = 0; i < sizeof(scanner_symbologies) / sizeof(scanner_symbologies[0]); i++)
            if (strcasecmp(arg, scanner_symbologies[i].name) == 0) {
                *ret = scanner_symbologies[i].code;
                return 0;
            }
        int64_t v;
        if (devctl_int(arg, 0, 999, &v))
            return MAMORI_ERR_INVAL;
        *ret = (int)v;
        return 0;
    }
    size_t n = strlen(data);
    bool digits = strspn(data, "0123456789") == n;
    *ret = !digits ? 110 : n == 13 ? 104 : n == 8 ? 103 : n == 12 ? 101 : 0;
    return 0;
}

static int scanner_request(void *state, const char *type, const cbor_item_t *body,
                           cbor_item_t **ret_reply)
{
    struct scanner *s = state;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "scanner.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *m = devbody_new();
    if ((r = devbody_put_int(m, "scans", s->scans))) {
        if (m != NULL)
            cbor_decref(&m);
        return r;
    }
    *ret_reply = m;
    return 0;
}

static int scanner_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct scanner *s = state;
    int sym, r;
    if (argc >= 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "scanner: %lld scans", (long long)s->scans);
    if (argc < 2 || argc > 3 || strcmp(argv[0], "scan") != 0) {
        devctl_answer(answer, "usage: scan CODE [SYMBOLOGY] | status");
        return MAMORI_ERR_INVAL;
    }
    if (!devctl_printable(argv[1], SCANNER_DATA_MAX) ||
        scanner_symbology(argv[1], argc == 3 ? argv[2] : NULL, &sym)) {
        devctl_answer(answer, "unreadable label");
        return MAMORI_ERR_INVAL;
    }
    cbor_item_t *ev = devbody_new();
    if ((r = devbody_put_str(ev, "data", argv[1])) || (r = devbody_put_int(ev, "symbology", sym))) {
        if (ev != NULL)
            cbor_decref(&ev);
        return r;
    }
    s->scans++;
    if ((r = scanner_save(s)))
        return r;
    r = s->io.emit(s->io.ctx, "scanner.data", ev);
    if (r != 0) {
        devctl_answer(answer, "scanned but not delivered: %s", mamori_strerror(r));
        return r;
    }
    return devctl_answer(answer, "scanned %s (symbology %d)", argv[1], sym);
}

const struct device_class device_scanner = {
    .kind = "scanner",
    .model = "MAMORI-SIM-SCN1",
    .upos_name = "Scanner",
    .create = scanner_create,
    .destroy = scanner_destroy,
    .request = scanner_request,
    .control = scanner_control,
};
