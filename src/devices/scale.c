/*
 * scale.c: firmware of the weighing scale (UPOS Scale, DEV-13).
 *
 * Owns: the weight on the platter (set by the control interface: "weight
 * GRAMS stable|unstable") and answering scale.read. Only a stable weight in
 * range is ever reported as a reading (a sale weight must come from a stable
 * readWeight, DOMAIN.md §1.6); unstable, overweight and under-zero are errors,
 * so the register cannot register a swinging weight.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define SCALE_MAX_G 30000  /* capacity: heavier is overweight (ESCAL_OVERWEIGHT) */
#define SCALE_MIN_G -30000 /* the control interface may simulate a tare error down to here */
#define SCALE_STATE "scale.state"

struct scale {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    int64_t grams;
    bool stable;
    int64_t reads;
};

static int scale_encode(const void *state, cbor_item_t *m)
{
    const struct scale *s = state;
    return devbody_put_int(m, "weight_g", s->grams) || devbody_put_bool(m, "stable", s->stable) ||
           devbody_put_int(m, "reads", s->reads);
}

static int scale_decode(void *state, const cbor_item_t *st)
{
    struct scale *s = state;
    return devbody_get_int(st, "weight_g", SCALE_MIN_G, SCALE_MAX_G * 10, &s->grams) ||
           devbody_get_bool(st, "stable", &s->stable) ||
           devbody_get_int(st, "reads", 0, INT64_MAX, &s->reads);
}

static const struct devstate_file scale_file = {SCALE_STATE, scale_encode, scale_decode, NULL};

static int scale_save(struct scale *s)
{
    return devstate_store(s->dir, &scale_file, s);
}

static int scale_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct scale *s = calloc(1, sizeof(*s));
    int r;
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->io = *io;
    if ((r = devstate_dir(s->dir, state_dir)) || (r = devstate_open(s->dir, &scale_file, s))) {
        free(s);
        return r;
    }
    *ret_state = s;
    return 0;
}

static void scale_destroy(void *state)
{
    free(state);
}

static int scale_request(void *state, const char *type, const cbor_item_t *body,
                         cbor_item_t **ret_reply)
{
    struct scale *s = state;
    cbor_item_t *m = NULL;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "scale.read") == 0) {
        /* Refuse anything but a stable, in-range weight (DEV-13). */
        if (!s->stable)
            return MAMORI_ERR_AGAIN;
        if (s->grams > SCALE_MAX_G)
            return MAMORI_ERR_TOOBIG;
        if (s->grams < 0)
            return MAMORI_ERR_STATE;
        s->reads++;
        if ((r = scale_save(s)))
            return r;
        m = devbody_new();
        if (devbody_put_int(m, "weight_g", s->grams) || devbody_put_bool(m, "stable", true))
            goto nomem;
    } else if (strcmp(type, "scale.status") == 0) {
        m = devbody_new();
        if (devbody_put_int(m, "weight_g", s->grams) || devbody_put_bool(m, "stable", s->stable) ||
            devbody_put_int(m, "max_g", SCALE_MAX_G) || devbody_put_int(m, "reads", s->reads))
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

static int scale_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct scale *s = state;
    int64_t g;
    int r;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "scale: %lld g %s, %lld reads", (long long)s->grams,
                             s->stable ? "stable" : "unstable", (long long)s->reads);
    if (argc != 3 || strcmp(argv[0], "weight") != 0 ||
        devctl_int(argv[1], SCALE_MIN_G, SCALE_MAX_G * 10, &g) ||
        (strcmp(argv[2], "stable") != 0 && strcmp(argv[2], "unstable") != 0)) {
        devctl_answer(answer, "usage: weight GRAMS stable|unstable | status");
        return MAMORI_ERR_INVAL;
    }
    bool was_stable = s->stable;
    int64_t was = s->grams;
    s->grams = g;
    s->stable = strcmp(argv[2], "stable") == 0;
    if ((r = scale_save(s)))
        return r;
    if (was_stable != s->stable || was != s->grams) {
        /* UPOS StatusUpdate: SCAL_SUE_STABLE_WEIGHT=11, WEIGHT_UNSTABLE=12,
         * WEIGHT_ZERO=13, WEIGHT_OVERWEIGHT=14, WEIGHT_UNDER_ZERO=16. */
        int sue = !s->stable ? 12 : g == 0 ? 13 : g > SCALE_MAX_G ? 14 : g < 0 ? 16 : 11;
        cbor_item_t *ev = devbody_new();
        if (devbody_put_int(ev, "status", sue) || devbody_put_int(ev, "weight_g", g) ||
            devbody_put_bool(ev, "stable", s->stable)) {
            if (ev != NULL)
                cbor_decref(&ev);
            return MAMORI_ERR_NOMEM;
        }
        (void)s->io.emit(s->io.ctx, "scale.status", ev); /* best effort: read is authoritative */
    }
    return devctl_answer(answer, "weight %lld g %s", (long long)g, argv[2]);
}

const struct device_class device_scale = {
    .kind = "scale",
    .model = "MAMORI-SIM-SCL1",
    .upos_name = "Scale",
    .create = scale_create,
    .destroy = scale_destroy,
    .request = scale_request,
    .control = scale_control,
};
