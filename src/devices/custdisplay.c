/*
 * custdisplay.c: firmware of the customer display (DEV-5): a larger screen
 * facing the shopper (8 rows of 40 columns) that can also ask the shopper a
 * yes/no question (custdisplay.confirm, e.g. the age check for alcohol and
 * tobacco). The shopper's touch is the control interface's "yes"/"no"; the
 * answer goes to the terminal as a custdisplay.answer event.
 *
 * Owns: the lines shown, the one pending question and its id. Does not own
 * what the answer means (the register decides). The question is state (a
 * question asked must not be forgotten or its id reused: synced, devstate);
 * the lines shown are volatile, as on a real display: held in memory (a text
 * update costs no file work), kept across an orderly restart only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devlines.h"
#include "devices/devstate.h"
#include "mamori/err.h"

/* the question (synced) and the text kept at an orderly stop (volatile) */
#define CUSTDISPLAY_STATE "custdisplay.state"
#define CUSTDISPLAY_TEXT "custdisplay.text"
#define CUSTDISPLAY_ROWS 8
#define CUSTDISPLAY_COLS 40
#define CUSTDISPLAY_PROMPT_MAX 256 /* bytes of a question */

struct custdisplay {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct devlines lines;
    int64_t next_cid;
    int64_t pending; /* cid of the open question, 0 = none */
    char prompt[CUSTDISPLAY_PROMPT_MAX + 1];
};

static int custdisplay_encode(const void *state, cbor_item_t *m)
{
    const struct custdisplay *d = state;
    return devbody_put_int(m, "next_cid", d->next_cid) ||
           devbody_put_int(m, "pending", d->pending) || devbody_put_str(m, "prompt", d->prompt);
}

static int custdisplay_decode(void *state, const cbor_item_t *st)
{
    struct custdisplay *d = state;
    return devbody_get_int(st, "next_cid", 1, INT64_MAX, &d->next_cid) ||
           devbody_get_int(st, "pending", 0, INT64_MAX, &d->pending) ||
           devbody_get_str(st, "prompt", d->prompt, sizeof(d->prompt));
}

static void custdisplay_new(void *state)
{
    struct custdisplay *d = state;
    d->next_cid = 1;
}

static const struct devstate_file custdisplay_file = {CUSTDISPLAY_STATE, custdisplay_encode,
                                                      custdisplay_decode, custdisplay_new};

static int custdisplay_save(struct custdisplay *d)
{
    return devstate_store(d->dir, &custdisplay_file, d);
}

static int custdisplay_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct custdisplay *d = calloc(1, sizeof(*d));
    int r;
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    d->io = *io;
    devlines_init(&d->lines, CUSTDISPLAY_ROWS, CUSTDISPLAY_COLS);
    if ((r = devstate_dir(d->dir, state_dir)) ||
        (r = devstate_open(d->dir, &custdisplay_file, d))) {
        free(d); /* not custdisplay_destroy: it would keep this device's (blank) text */
        return r;
    }
    devlines_restore(&d->lines, state_dir, CUSTDISPLAY_TEXT);
    *ret_state = d;
    return 0;
}

static void custdisplay_destroy(void *state)
{
    struct custdisplay *d = state;
    /* An orderly stop keeps the text for the next start (best effort). */
    if (d != NULL)
        (void)devlines_keep(&d->lines, d->dir, CUSTDISPLAY_TEXT);
    free(d);
}

static int custdisplay_confirm(struct custdisplay *d, const cbor_item_t *body,
                               cbor_item_t **ret_reply)
{
    char prompt[CUSTDISPLAY_PROMPT_MAX + 1];
    int r;
    if ((r = devbody_get_str(body, "prompt", prompt, sizeof(prompt))))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    if (prompt[0] == '\0' || !devlines_utf8_ok((const unsigned char *)prompt, strlen(prompt)))
        return MAMORI_ERR_INVAL;
    if (d->pending != 0)
        return MAMORI_ERR_BUSY; /* one question at a time: the shopper sees one */
    d->pending = d->next_cid++;
    memcpy(d->prompt, prompt, sizeof(prompt));
    if ((r = custdisplay_save(d))) {
        d->next_cid--;
        d->pending = 0;
        d->prompt[0] = '\0';
        return r;
    }
    cbor_item_t *m = devbody_new();
    if (devbody_put_int(m, "cid", d->pending)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int custdisplay_request(void *state, const char *type, const cbor_item_t *body,
                               cbor_item_t **ret_reply)
{
    struct custdisplay *d = state;
    cbor_item_t *m;
    bool cut = false;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "custdisplay.confirm") == 0)
        return custdisplay_confirm(d, body, ret_reply);
    if (strcmp(type, "custdisplay.cancel") == 0) {
        int64_t pending = d->pending;
        d->pending = 0;
        d->prompt[0] = '\0';
        if ((r = custdisplay_save(d))) {
            d->pending = pending;
            return r;
        }
        return devbody_empty_reply(ret_reply);
    }
    if (strcmp(type, "custdisplay.text") == 0) {
        if ((r = devlines_set(&d->lines, devbody_find(body, "lines"), &cut)))
            return r;
    } else if (strcmp(type, "custdisplay.clear") == 0) {
        devlines_clear(&d->lines);
    } else if (strcmp(type, "custdisplay.status") != 0) {
        return MAMORI_ERR_UNSUPPORTED;
    }
    m = devbody_new();
    if (devbody_put_item(m, "lines", devlines_to_cbor(&d->lines)) ||
        devbody_put_int(m, "rows", CUSTDISPLAY_ROWS) ||
        devbody_put_int(m, "columns", CUSTDISPLAY_COLS) || devbody_put_bool(m, "cut", cut) ||
        devbody_put_int(m, "pending", d->pending)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int custdisplay_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct custdisplay *d = state;
    int r;
    if (argc == 1 && (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "status") == 0)) {
        if (d->pending == 0)
            return devlines_show(&d->lines, "custdisplay", answer);
        char who[CUSTDISPLAY_PROMPT_MAX + 64];
        snprintf(who, sizeof(who), "custdisplay [asking #%lld: %s]", (long long)d->pending,
                 d->prompt);
        return devlines_show(&d->lines, who, answer);
    }
    if (argc == 1 && (strcmp(argv[0], "yes") == 0 || strcmp(argv[0], "no") == 0)) {
        if (d->pending == 0) {
            devctl_answer(answer, "no question is being asked");
            return MAMORI_ERR_STATE;
        }
        int64_t cid = d->pending;
        char prompt[sizeof(d->prompt)];
        memcpy(prompt, d->prompt, sizeof(prompt));
        d->pending = 0;
        d->prompt[0] = '\0';
        if ((r = custdisplay_save(d))) {
            d->pending = cid;
            memcpy(d->prompt, prompt, sizeof(prompt));
            return r;
        }
        bool yes = strcmp(argv[0], "yes") == 0;
        cbor_item_t *ev = devbody_new();
        if (devbody_put_int(ev, "cid", cid) || devbody_put_bool(ev, "answer", yes)) {
            if (ev != NULL)
                cbor_decref(&ev);
            return MAMORI_ERR_NOMEM;
        }
        if ((r = d->io.emit(d->io.ctx, "custdisplay.answer", ev))) {
            devctl_answer(answer, "answered but not delivered: %s", mamori_strerror(r));
            return r;
        }
        return devctl_answer(answer, "answered %s to #%lld", argv[0], (long long)cid);
    }
    devctl_answer(answer, "usage: show | yes | no | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_custdisplay = {
    .kind = "custdisplay",
    .model = "MAMORI-SIM-CDP1",
    .upos_name = "LineDisplay",
    .create = custdisplay_create,
    .destroy = custdisplay_destroy,
    .request = custdisplay_request,
    .control = custdisplay_control,
};
