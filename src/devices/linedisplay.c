/*
 * linedisplay.c: firmware of the line display (UPOS LineDisplay, DEV-19):
 * 2 rows of 20 columns facing the shopper. Owns the lines shown and nothing
 * else. The text is volatile, as on a real display: held in memory (no file
 * work and no disk sync on a scan's path), kept across an orderly restart
 * (devlines_keep), lost by a crash or power cut.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devlines.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define LINEDISPLAY_TEXT "linedisplay.text" /* text at an orderly stop (devlines_keep) */
#define LINEDISPLAY_ROWS 2
#define LINEDISPLAY_COLS 20

struct linedisplay {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct devlines lines;
};

static int linedisplay_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct linedisplay *d = calloc(1, sizeof(*d));
    int r;
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = devstate_dir(d->dir, state_dir))) {
        free(d);
        return r;
    }
    d->io = *io;
    devlines_init(&d->lines, LINEDISPLAY_ROWS, LINEDISPLAY_COLS);
    devlines_restore(&d->lines, state_dir, LINEDISPLAY_TEXT);
    *ret_state = d;
    return 0;
}

static void linedisplay_destroy(void *state)
{
    struct linedisplay *d = state;
    /* An orderly stop keeps the text for the next start (best effort). */
    if (d != NULL)
        (void)devlines_keep(&d->lines, d->dir, LINEDISPLAY_TEXT);
    free(d);
}

static int linedisplay_request(void *state, const char *type, const cbor_item_t *body,
                               cbor_item_t **ret_reply)
{
    struct linedisplay *d = state;
    cbor_item_t *m;
    bool cut = false;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "linedisplay.text") == 0) {
        if ((r = devlines_set(&d->lines, devbody_find(body, "lines"), &cut)))
            return r;
    } else if (strcmp(type, "linedisplay.clear") == 0) {
        devlines_clear(&d->lines);
    } else if (strcmp(type, "linedisplay.status") != 0) {
        return MAMORI_ERR_UNSUPPORTED;
    }
    m = devbody_new();
    if (devbody_put_item(m, "lines", devlines_to_cbor(&d->lines)) ||
        devbody_put_int(m, "rows", LINEDISPLAY_ROWS) || devbody_put_int(m, "columns", LINEDISPLAY_COLS) ||
        devbody_put_bool(m, "cut", cut)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int linedisplay_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct linedisplay *d = state;
    if (argc == 1 && (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "status") == 0))
        return devlines_show(&d->lines, "linedisplay", answer);
    devctl_answer(answer, "usage: show | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_linedisplay = {
    .kind = "linedisplay",
    .model = "MAMORI-SIM-LDP1",
    .upos_name = "LineDisplay",
    .create = linedisplay_create,
    .destroy = linedisplay_destroy,
    .request = linedisplay_request,
    .control = linedisplay_control,
};
