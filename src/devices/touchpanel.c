/*
 * touchpanel.c: firmware of the POS touch panel (DEV-10).
 *
 * Owns: choosing its layout (the store's layout.txt in the state directory,
 * else the default; parsing and hit-testing are touchlayout.c's), and
 * turning the control interface's "touch X Y" / "press ID" into
 * touchpanel.touch events {button, x, y}, one per touch on a button. A
 * touch outside every button (the gaps, or off the screen) is refused here
 * and sends nothing. Does not own what a button does: a button id names a
 * POS keyboard key, optionally with preset digits ("PLU:102" = 1 0 2 PLU,
 * "CASH:1000" = 1 0 0 0 CASH), and the register maps it through the same key
 * sequences as the keyboard (src/pos/poskeys.h, poskeys_button).
 *
 * UnifiedPOS has no touch-panel category; the panel's buttons are POS
 * keyboard keys drawn on a screen, so it reports as a POSKeyboard.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "devices/touchlayout.h"
#include "mamori/err.h"

#define TOUCHPANEL_STATE "touchpanel.state"

static const char *const touchpanel_keys[] = {"touches", "missed"};
static const int64_t touchpanel_zero[] = {0, 0};

struct touchpanel {
    struct devstate_ints s; /* v[0] touches delivered, v[1] touches outside every button */
    struct touchlayout layout;
    bool custom;            /* from layout.txt in the state directory */
};

/* The store's layout.txt if there is one, else the default. A layout file
 * that does not parse stops the panel (fail closed: it would show buttons
 * the store did not mean); the bad line is noted in the device's log. */
static int touchpanel_layout_load(struct touchpanel *p)
{
    char path[DEVSTATE_PATH_MAX + sizeof(TOUCHLAYOUT_FILE) + 1], why[64];
    size_t line = 0;
    int r;
    if (snprintf(path, sizeof(path), "%s/%s", p->s.dir, TOUCHLAYOUT_FILE) >= (int)sizeof(path))
        return MAMORI_ERR_TOOBIG;
    r = touchlayout_load(path, &p->layout, &line);
    if (r == MAMORI_ERR_NOTFOUND)
        return touchlayout_parse((const uint8_t *)touchlayout_default, strlen(touchlayout_default),
                                 &p->layout, NULL);
    if (r != 0) {
        snprintf(why, sizeof(why), "line %zu: %s", line, mamori_strerror(r));
        (void)devstate_note(p->s.dir, "touchpanel.layout_refused", why);
        return r;
    }
    p->custom = true;
    return 0;
}

static int touchpanel_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct touchpanel *p = calloc(1, sizeof(*p));
    int r;
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    r = devstate_ints_open(&p->s, state_dir, io, TOUCHPANEL_STATE, touchpanel_keys, touchpanel_zero, 2);
    if (r == 0)
        r = touchpanel_layout_load(p);
    if (r != 0) {
        free(p);
        return r;
    }
    *ret_state = p;
    return 0;
}

static void touchpanel_destroy(void *state)
{
    free(state);
}

static cbor_item_t *layout_array(const struct touchlayout *l)
{
    cbor_item_t *a = cbor_new_definite_array(l->n);
    for (size_t i = 0; a != NULL && i < l->n; i++) {
        cbor_item_t *m = devbody_new();
        int x, y, w, h;
        touchlayout_rect(&l->b[i], &x, &y, &w, &h);
        if (m == NULL || devbody_put_str(m, "id", l->b[i].id) ||
            devbody_put_str(m, "label", l->b[i].label) || devbody_put_int(m, "x", x) ||
            devbody_put_int(m, "y", y) || devbody_put_int(m, "w", w) || devbody_put_int(m, "h", h) ||
            !cbor_array_push(a, m)) {
            if (m != NULL)
                cbor_decref(&m);
            cbor_decref(&a);
            return NULL;
        }
        cbor_decref(&m);
    }
    return a;
}

static int touchpanel_request(void *state, const char *type, const cbor_item_t *body,
                              cbor_item_t **ret_reply)
{
    struct touchpanel *p = state;
    cbor_item_t *m;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "touchpanel.status") != 0 && strcmp(type, "touchpanel.layout") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    m = devbody_new();
    if (m == NULL || devbody_put_int(m, "width", TOUCHLAYOUT_WIDTH) ||
        devbody_put_int(m, "height", TOUCHLAYOUT_HEIGHT) ||
        devbody_put_int(m, "buttons", (int64_t)p->layout.n) ||
        devbody_put_str(m, "source", p->custom ? TOUCHLAYOUT_FILE : "default") || devbody_put_int(m, "touches", p->s.v[0]) ||
        devbody_put_int(m, "missed", p->s.v[1]) ||
        (strcmp(type, "touchpanel.layout") == 0 && devbody_put_item(m, "layout", layout_array(&p->layout)))) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

/* A touch at (x, y): delivered when it is on a button. */
static int touch(struct touchpanel *p, int64_t x, int64_t y, struct buf *answer)
{
    const struct touchlayout_button *b = touchlayout_hit(&p->layout, x, y);
    cbor_item_t *ev;
    int r;
    if (b == NULL) {
        p->s.v[1]++;
        (void)devstate_ints_store(&p->s);
        devctl_answer(answer, "no button at %lld,%lld: nothing sent", (long long)x, (long long)y);
        return MAMORI_ERR_NOTFOUND;
    }
    ev = devbody_new();
    if (ev == NULL || devbody_put_str(ev, "button", b->id) || devbody_put_int(ev, "x", x) ||
        devbody_put_int(ev, "y", y)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    r = p->s.io.emit(p->s.io.ctx, "touchpanel.touch", ev);
    if (r == 0)
        p->s.v[0]++;
    (void)devstate_ints_store(&p->s);
    if (r != 0) {
        devctl_answer(answer, "touched %s but not delivered: %s", b->id, mamori_strerror(r));
        return r;
    }
    return devctl_answer(answer, "touched %s (%s)", b->id, b->label);
}

static int touchpanel_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct touchpanel *p = state;
    int64_t x, y;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "touchpanel: %lld touches, %lld missed, %zu buttons (%s)",
                             (long long)p->s.v[0], (long long)p->s.v[1], p->layout.n,
                             p->custom ? TOUCHLAYOUT_FILE : "default layout");
    if (argc == 1 && strcmp(argv[0], "layout") == 0) {
        char line[1000];
        size_t n = 0;
        for (size_t i = 0; i < p->layout.n && n + TOUCHLAYOUT_ID_MAX + 2 < sizeof(line); i++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "",
                                  p->layout.b[i].id);
        return devctl_answer(answer, "%s", line);
    }
    if (argc == 3 && strcmp(argv[0], "touch") == 0) {
        if (devctl_int(argv[1], 0, TOUCHLAYOUT_WIDTH - 1, &x) ||
            devctl_int(argv[2], 0, TOUCHLAYOUT_HEIGHT - 1, &y)) {
            devctl_answer(answer, "touch X Y: 0 <= X < %d, 0 <= Y < %d", TOUCHLAYOUT_WIDTH,
                          TOUCHLAYOUT_HEIGHT);
            return MAMORI_ERR_INVAL;
        }
        return touch(p, x, y, answer);
    }
    if (argc == 2 && strcmp(argv[0], "press") == 0) {
        const struct touchlayout_button *b =
            devctl_printable(argv[1], TOUCHLAYOUT_ID_MAX) ? touchlayout_find(&p->layout, argv[1]) : NULL;
        int bx, by, bw, bh;
        if (b == NULL) {
            devctl_answer(answer, "no such button: %.32s", devctl_printable(argv[1], 32) ? argv[1] : "?");
            return MAMORI_ERR_INVAL;
        }
        touchlayout_rect(b, &bx, &by, &bw, &bh);
        return touch(p, bx + bw / 2, by + bh / 2, answer);
    }
    devctl_answer(answer, "usage: touch X Y | press BUTTON | layout | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_touchpanel = {
    .kind = "touchpanel",
    .model = "MAMORI-SIM-TP1",
    .upos_name = "POSKeyboard",
    .create = touchpanel_create,
    .destroy = touchpanel_destroy,
    .request = touchpanel_request,
    .control = touchpanel_control,
};
