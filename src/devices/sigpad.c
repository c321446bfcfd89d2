/*
 * sigpad.c: firmware of the signature pad (UPOS SignatureCapture, DEV-12).
 *
 * Owns: the capture cycle (sigpad.capture starts it and shows the form; the
 * shopper signs, which is the control interface's "sign [X,Y ...]"; the
 * stroke points go to the terminal as a sigpad.data event) and the capture
 * counter. A "sign" without points draws a fixed test signature. Does not
 * own storage of the signature (the register keeps it with the sale).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define SIGPAD_STATE "sigpad.state"
#define SIGPAD_MAX_X 1023
#define SIGPAD_MAX_Y 255
#define SIGPAD_POINTS_MAX 500 /* points in one signature: 3 CBOR items each, under the bus limit of 2048 */
#define SIGPAD_FORM_MAX 64

struct sigpad {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    bool capturing;
    char form[SIGPAD_FORM_MAX + 1];
    int64_t captures;
};

static int sigpad_encode(const void *state, cbor_item_t *m)
{
    const struct sigpad *s = state;
    return devbody_put_int(m, "captures", s->captures);
}

static int sigpad_decode(void *state, const cbor_item_t *st)
{
    struct sigpad *s = state;
    return devbody_get_int(st, "captures", 0, INT64_MAX, &s->captures);
}

static const struct devstate_file sigpad_file = {SIGPAD_STATE, sigpad_encode, sigpad_decode, NULL};

static int sigpad_save(struct sigpad *s)
{
    return devstate_store(s->dir, &sigpad_file, s);
}

static int sigpad_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct sigpad *s = calloc(1, sizeof(*s));
    int r;
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->io = *io;
    if ((r = devstate_dir(s->dir, state_dir)) || (r = devstate_open(s->dir, &sigpad_file, s))) {
        free(s);
        return r;
    }
    *ret_state = s;
    return 0;
}

static void sigpad_destroy(void *state)
{
    free(state);
}

static int sigpad_request(void *state, const char *type, const cbor_item_t *body,
                          cbor_item_t **ret_reply)
{
    struct sigpad *s = state;
    char form[SIGPAD_FORM_MAX + 1] = "";
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "sigpad.capture") == 0) {
        r = devbody_get_str(body, "form", form, sizeof(form));
        if (r != 0 && r != MAMORI_ERR_NOTFOUND)
            return r;
        if (s->capturing)
            return MAMORI_ERR_BUSY;
        s->capturing = true;
        memcpy(s->form, form, sizeof(form));
        return devbody_empty_reply(ret_reply);
    }
    if (strcmp(type, "sigpad.end") == 0) {
        s->capturing = false;
        return devbody_empty_reply(ret_reply);
    }
    if (strcmp(type, "sigpad.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *m = devbody_new();
    if (devbody_put_bool(m, "capturing", s->capturing) || devbody_put_int(m, "captures", s->captures) ||
        devbody_put_int(m, "max_x", SIGPAD_MAX_X) || devbody_put_int(m, "max_y", SIGPAD_MAX_Y)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int push_point(cbor_item_t *arr, int64_t x, int64_t y)
{
    cbor_item_t *pt = cbor_new_definite_array(2);
    cbor_item_t *cx = devbody_int(x), *cy = devbody_int(y);
    bool ok = pt != NULL && cx != NULL && cy != NULL && cbor_array_push(pt, cx) &&
              cbor_array_push(pt, cy) && cbor_array_push(arr, pt);
    if (cx != NULL)
        cbor_decref(&cx);
    if (cy != NULL)
        cbor_decref(&cy);
    if (pt != NULL)
        cbor_decref(&pt);
    return ok ? 0 : MAMORI_ERR_NOMEM;
}

/* "X,Y" within the pad. */
static int parse_point(const char *s, int64_t *ret_x, int64_t *ret_y)
{
    char x[8], y[8];
    const char *comma = strchr(s, ',');
    if (comma == NULL || (size_t)(comma - s) >= sizeof(x) || strlen(comma + 1) >= sizeof(y))
        return MAMORI_ERR_INVAL;
    memcpy(x, s, (size_t)(comma - s));
    x[comma - s] = '\0';
    strcpy(y, comma + 1);
    return devctl_int(x, 0, SIGPAD_MAX_X, ret_x) || devctl_int(y, 0, SIGPAD_MAX_Y, ret_y)
               ? MAMORI_ERR_INVAL
               : 0;
}

static int sigpad_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct sigpad *s = state;
    int64_t x, y;
    int r;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "sigpad: %s, %lld captures",
                             s->capturing ? "capturing" : "idle", (long long)s->captures);
    if (argc < 1 || strcmp(argv[0], "sign") != 0 || argc - 1 > SIGPAD_POINTS_MAX) {
        devctl_answer(answer, "usage: sign [X,Y ...] | status");
        return MAMORI_ERR_INVAL;
    }
    if (!s->capturing) {
        devctl_answer(answer, "not capturing (no sigpad.capture)");
        return MAMORI_ERR_STATE;
    }
    size_t npts = argc > 1 ? (size_t)argc - 1 : 64;
    cbor_item_t *pts = cbor_new_definite_array(npts);
    if (pts == NULL)
        return MAMORI_ERR_NOMEM;
    r = 0;
    if (argc > 1) {
        for (int i = 1; i < argc && r == 0; i++)
            r = parse_point(argv[i], &x, &y) || push_point(pts, x, y) ? MAMORI_ERR_INVAL : 0;
    } else {
        /* A fixed test signature: a rising zig-zag across the pad. */
        for (size_t i = 0; i < npts && r == 0; i++)
            r = push_point(pts, 100 + (int64_t)i * 12, 60 + (int64_t)((i % 8) < 4 ? i % 4 : 8 - i % 8) * 30);
    }
    if (r != 0) {
        cbor_decref(&pts);
        devctl_answer(answer, "points are X,Y with 0<=X<=%d, 0<=Y<=%d", SIGPAD_MAX_X, SIGPAD_MAX_Y);
        return r;
    }
    cbor_item_t *ev = devbody_new();
    if (devbody_put_item(ev, "points", pts) || devbody_put_int(ev, "max_x", SIGPAD_MAX_X) ||
        devbody_put_int(ev, "max_y", SIGPAD_MAX_Y) || devbody_put_str(ev, "form", s->form)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    s->capturing = false;
    s->captures++;
    (void)sigpad_save(s);
    if ((r = s->io.emit(s->io.ctx, "sigpad.data", ev))) {
        devctl_answer(answer, "signed but not delivered: %s", mamori_strerror(r));
        return r;
    }
    return devctl_answer(answer, "signature captured (%zu points)", npts);
}

const struct device_class device_sigpad = {
    .kind = "sigpad",
    .model = "MAMORI-SIM-SIG1",
    .upos_name = "SignatureCapture",
    .create = sigpad_create,
    .destroy = sigpad_destroy,
    .request = sigpad_request,
    .control = sigpad_control,
};
