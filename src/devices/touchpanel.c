/*
 * touchpanel.c: firmware of the POS touch panel (DEV-10).
 *
 * Owns: the screen layout (buttons with an id, a Japanese label and a
 * rectangle on an 800 x 480 screen), hit-testing a touch against it, and
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define TOUCHPANEL_STATE "touchpanel.state"
#define TOUCHPANEL_WIDTH 800  /* pixels */
#define TOUCHPANEL_HEIGHT 480
#define TOUCHPANEL_CELL_W 100 /* the layout is a grid of 8 x 6 cells */
#define TOUCHPANEL_CELL_H 80
#define TOUCHPANEL_GAP 5      /* untouchable margin around each button */

struct touchpanel_button {
    const char *id;    /* key name, or KEY:DIGITS */
    const char *label; /* what the screen shows */
    int col, row;
};

/* The layout: PLU presets for items without a barcode (data/items.csv),
 * a numeric pad, function keys, and preset cash amounts. */
static const struct touchpanel_button touchpanel_layout[] = {
    {"PLU:1", "バナナ", 0, 0},        {"PLU:2", "りんご", 1, 0},      {"PLU:3", "キャベツ", 2, 0},
    {"PLU:5", "トマト", 3, 0},        {"PLU:101", "幕の内弁当", 4, 0}, {"PLU:102", "おにぎり鮭", 5, 0},
    {"PLU:900", "レジ袋", 6, 0},      {"DEPT", "部門", 7, 0},
    {"7", "7", 0, 1},                 {"8", "8", 1, 1},               {"9", "9", 2, 1},
    {"QTY", "×", 3, 1},               {"EATIN", "店内", 4, 1},        {"TAKEOUT", "持帰", 5, 1},
    {"VOID", "取消", 6, 1},           {"CLEAR", "クリア", 7, 1},
    {"4", "4", 0, 2},                 {"5", "5", 1, 2},               {"6", "6", 2, 2},
    {"00", "00", 3, 2},               {"DISCOUNT", "値引", 4, 2},     {"CANCEL", "中止", 5, 2},
    {"SUSPEND", "保留", 6, 2},        {"RESUME", "呼出", 7, 2},
    {"1", "1", 0, 3},                 {"2", "2", 1, 3},               {"3", "3", 2, 3},
    {"0", "0", 3, 3},                 {"GIFT", "商品券", 4, 3},       {"COUPON", "クーポン", 5, 3},
    {"POINTS", "ポイント", 6, 3},     {"PLU", "PLU", 7, 3},
    {"ENTER", "入力", 0, 4},          {"CASH:1000", "千円", 4, 4},    {"CASH:5000", "五千円", 5, 4},
    {"CASH:10000", "一万円", 6, 4},   {"SUBTOTAL", "小計", 7, 4},
    {"CASH", "預り/現計", 7, 5},
};
#define TOUCHPANEL_NBUTTONS (sizeof(touchpanel_layout) / sizeof(touchpanel_layout[0]))

static const char *const touchpanel_keys[] = {"touches", "missed"};
static const int64_t touchpanel_zero[] = {0, 0};

struct touchpanel {
    struct devstate_ints s; /* v[0] touches delivered, v[1] touches outside every button */
};

static void button_rect(const struct touchpanel_button *b, int *x, int *y, int *w, int *h)
{
    *x = b->col * TOUCHPANEL_CELL_W + TOUCHPANEL_GAP;
    *y = b->row * TOUCHPANEL_CELL_H + TOUCHPANEL_GAP;
    *w = TOUCHPANEL_CELL_W - 2 * TOUCHPANEL_GAP;
    *h = TOUCHPANEL_CELL_H - 2 * TOUCHPANEL_GAP;
}

/* The button under (x, y), or NULL (a gap, or off the screen). */
static const struct touchpanel_button *hit(int64_t x, int64_t y)
{
    for (size_t i = 0; i < TOUCHPANEL_NBUTTONS; i++) {
        int bx, by, bw, bh;
        button_rect(&touchpanel_layout[i], &bx, &by, &bw, &bh);
        if (x >= bx && x < bx + bw && y >= by && y < by + bh)
            return &touchpanel_layout[i];
    }
    return NULL;
}

static const struct touchpanel_button *by_id(const char *id)
{
    for (size_t i = 0; i < TOUCHPANEL_NBUTTONS; i++)
        if (strcmp(touchpanel_layout[i].id, id) == 0)
            return &touchpanel_layout[i];
    return NULL;
}

static int touchpanel_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct touchpanel *p = calloc(1, sizeof(*p));
    int r;
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    r = devstate_ints_open(&p->s, state_dir, io, TOUCHPANEL_STATE, touchpanel_keys, touchpanel_zero, 2);
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

static cbor_item_t *layout_array(void)
{
    cbor_item_t *a = cbor_new_definite_array(TOUCHPANEL_NBUTTONS);
    for (size_t i = 0; a != NULL && i < TOUCHPANEL_NBUTTONS; i++) {
        cbor_item_t *m = devbody_new();
        int x, y, w, h;
        button_rect(&touchpanel_layout[i], &x, &y, &w, &h);
        if (m == NULL || devbody_put_str(m, "id", touchpanel_layout[i].id) ||
            devbody_put_str(m, "label", touchpanel_layout[i].label) || devbody_put_int(m, "x", x) ||
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
    if (m == NULL || devbody_put_int(m, "width", TOUCHPANEL_WIDTH) ||
        devbody_put_int(m, "height", TOUCHPANEL_HEIGHT) ||
        devbody_put_int(m, "buttons", TOUCHPANEL_NBUTTONS) || devbody_put_int(m, "touches", p->s.v[0]) ||
        devbody_put_int(m, "missed", p->s.v[1]) ||
        (strcmp(type, "touchpanel.layout") == 0 && devbody_put_item(m, "layout", layout_array()))) {
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
    const struct touchpanel_button *b = hit(x, y);
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
        return devctl_answer(answer, "touchpanel: %lld touches, %lld missed, %zu buttons",
                             (long long)p->s.v[0], (long long)p->s.v[1], TOUCHPANEL_NBUTTONS);
    if (argc == 1 && strcmp(argv[0], "layout") == 0) {
        char line[1000];
        size_t n = 0;
        for (size_t i = 0; i < TOUCHPANEL_NBUTTONS && n + 16 < sizeof(line); i++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "",
                                  touchpanel_layout[i].id);
        return devctl_answer(answer, "%s", line);
    }
    if (argc == 3 && strcmp(argv[0], "touch") == 0) {
        if (devctl_int(argv[1], 0, TOUCHPANEL_WIDTH - 1, &x) ||
            devctl_int(argv[2], 0, TOUCHPANEL_HEIGHT - 1, &y)) {
            devctl_answer(answer, "touch X Y: 0 <= X < %d, 0 <= Y < %d", TOUCHPANEL_WIDTH,
                          TOUCHPANEL_HEIGHT);
            return MAMORI_ERR_INVAL;
        }
        return touch(p, x, y, answer);
    }
    if (argc == 2 && strcmp(argv[0], "press") == 0) {
        const struct touchpanel_button *b = devctl_printable(argv[1], 32) ? by_id(argv[1]) : NULL;
        int bx, by, bw, bh;
        if (b == NULL) {
            devctl_answer(answer, "no such button: %.32s", devctl_printable(argv[1], 32) ? argv[1] : "?");
            return MAMORI_ERR_INVAL;
        }
        button_rect(b, &bx, &by, &bw, &bh);
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
