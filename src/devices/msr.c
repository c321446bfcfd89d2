/*
 * msr.c: firmware of the magnetic stripe reader (UPOS MSR, DEV-7).
 *
 * Owns: reading a swiped card (control "swipe TRACK1 TRACK2", "-" for a
 * track that is absent), and the rule that card data leaves the device only
 * encrypted (POL-2): msr.data carries {masked_pan, expiry, ksn, ct}, never a
 * track. Without a DUKPT key (devkey.h) the reader refuses to read at all
 * and reports msr.error {reason: "no key"}: the key is checked before a
 * single byte of the track is parsed, and the swiped strings are wiped in
 * place. With a key, card_msr_read() (cardcrypt.h) parses, masks and
 * encrypts; the advanced DUKPT counter is on disk before the event leaves.
 * Does not own the cryptography (cardcrypt.c, crypto/dukpt.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common/field.h"
#include "common/secmem.h"
#include "devices/cardcrypt.h"
#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devinject.h"
#include "devices/devkey.h"
#include "devices/devstate.h"
#include "devices/track.h"
#include "mamori/err.h"

#define MSR_STATE "msr.state"
#define MSR_EMSR_LRC 204 /* UPOS extended error for an unreadable track */

struct msr {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct devkey *key;
    struct devinject *inj; /* KBPK and TR-31 injection (issue 4 ceremony, device side) */
    int64_t reads, refused;
};

static int msr_encode(const void *state, cbor_item_t *s)
{
    const struct msr *m = state;
    return devbody_put_int(s, "reads", m->reads) || devbody_put_int(s, "refused", m->refused);
}

static int msr_decode(void *state, const cbor_item_t *st)
{
    struct msr *m = state;
    return devbody_get_int(st, "reads", 0, INT64_MAX, &m->reads) ||
           devbody_get_int(st, "refused", 0, INT64_MAX, &m->refused);
}

static const struct devstate_file msr_file = {MSR_STATE, msr_encode, msr_decode, NULL};

static int msr_save(struct msr *m)
{
    return devstate_store(m->dir, &msr_file, m);
}

static void msr_destroy(void *state)
{
    struct msr *m = state;
    if (m == NULL)
        return;
    devkey_free(m->key);
    devinject_free(m->inj);
    free(m);
}

static int msr_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct msr *m = calloc(1, sizeof(*m));
    int r;
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    m->io = *io;
    if ((r = devstate_dir(m->dir, state_dir)) || (r = devkey_open(state_dir, &m->key)) ||
        (r = devinject_open(state_dir, &m->inj)) || (r = devstate_open(m->dir, &msr_file, m))) {
        msr_destroy(m);
        return r;
    }
    *ret_state = m;
    return 0;
}

static int msr_emit_error(struct msr *m, int err, const char *reason, int ext)
{
    cbor_item_t *ev = devbody_new();
    if (devbody_put_int(ev, "error", err) || devbody_put_str(ev, "reason", reason) ||
        devbody_put_int(ev, "ext", ext)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    return m->io.emit(m->io.ctx, "msr.error", ev);
}

/* Read, encrypt and emit msr.data; t1/t2 NULL when absent. */
static int msr_read(struct msr *m, const char *t1, const char *t2, struct buf *answer)
{
    struct cardcrypt_read rd;
    cbor_item_t *ev = NULL;
    size_t n1 = t1 != NULL ? strlen(t1) : 0, n2 = t2 != NULL ? strlen(t2) : 0;
    int r;
    memset(&rd, 0, sizeof(rd));
    r = card_msr_read(devkey_dukpt(m->key), (const uint8_t *)t1, n1, (const uint8_t *)t2, n2, &rd);
    if (r != 0) {
        /* A bad swipe spends no KSN and says nothing about the card. */
        (void)msr_emit_error(m, r, r == MAMORI_ERR_CHECKSUM ? "bad card number" : "unreadable track",
                             MSR_EMSR_LRC);
        devctl_answer(answer, "unreadable card");
        goto out;
    }
    if ((r = devkey_commit(m->key)) != 0) {
        devctl_answer(answer, "read refused: key state not saved");
        goto out;
    }
    ev = devbody_new();
    if (devbody_put_str(ev, "masked_pan", rd.masked_pan) || devbody_put_str(ev, "expiry", rd.expiry) ||
        devbody_put_bytes(ev, "ksn", rd.rec.ksn, sizeof(rd.rec.ksn)) ||
        devbody_put_bytes(ev, "ct", rd.rec.ct, rd.rec.ct_len) ||
        devbody_put_bytes(ev, "mac", rd.rec.mac, sizeof(rd.rec.mac)) ||
        devbody_put_int(ev, "tracks", (n1 > 0 ? 1 : 0) | (n2 > 0 ? 2 : 0))) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    r = m->io.emit(m->io.ctx, "msr.data", ev);
    ev = NULL;
    m->reads++;
    (void)msr_save(m);
    (void)devstate_note(m->dir, "msr.read", rd.masked_pan);
    (void)device_record_str(&m->io, "msr.read", "masked_pan", rd.masked_pan);
    if (r != 0)
        devctl_answer(answer, "read %s but not delivered: %s", rd.masked_pan, mamori_strerror(r));
    else
        devctl_answer(answer, "read %s", rd.masked_pan);
out:
    if (ev != NULL)
        cbor_decref(&ev);
    secmem_wipe(&rd, sizeof(rd));
    return r;
}

static int msr_swipe(struct msr *m, const char *t1, const char *t2, struct buf *answer)
{
    /* Fail closed first: no key, no read (POL-2). */
    if (!devkey_present(m->key)) {
        m->refused++;
        (void)msr_save(m);
        (void)devstate_note(m->dir, "msr.refused", "reason=no_key");
        (void)msr_emit_error(m, MAMORI_ERR_STATE, "no key", 0);
        devctl_answer(answer, "refused: no key (no data key injected; nothing read)");
        return MAMORI_ERR_STATE;
    }
    if (t1 == NULL && t2 == NULL) {
        devctl_answer(answer, "no track");
        return MAMORI_ERR_INVAL;
    }
    return msr_read(m, t1, t2, answer);
}

static int msr_request(void *state, const char *type, const cbor_item_t *body,
                       cbor_item_t **ret_reply)
{
    struct msr *m = state;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "msr.key_inject") == 0) {
        char kcv[32];
        if (body == NULL)
            return MAMORI_ERR_INVAL;
        if ((r = devinject_request(m->inj, m->key, m->dir, body, ret_reply)) == 0 &&
            devbody_get_str(*ret_reply, "kcv", kcv, sizeof(kcv)) == 0)
            (void)device_record_str(&m->io, "key.injected", "kcv", kcv);
        return r;
    }
    if (strcmp(type, "msr.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *s = devbody_new();
    if (devbody_put_bool(s, "key", devkey_present(m->key)) ||
        devbody_put_int(s, "reads", m->reads) || devbody_put_int(s, "refused", m->refused)) {
        if (s != NULL)
            cbor_decref(&s);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = s;
    return 0;
}

static int msr_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct msr *m = state;
    int r;
    int ri = devinject_control(m->inj, argc, argv, answer);
    if (ri != MAMORI_ERR_UNSUPPORTED)
        return ri; /* "kbpk N HEX": a custodian at the device */
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "msr: key %s, %lld reads, %lld refused",
                             devkey_present(m->key) ? "present" : "absent", (long long)m->reads,
                             (long long)m->refused);
    if (argc == 3 && strcmp(argv[0], "swipe") == 0) {
        char *t1 = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
        char *t2 = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
        r = msr_swipe(m, t1, t2, answer);
        /* The swiped tracks are the runner's buffers: wipe them here, the
         * last place that saw them in clear. */
        secmem_wipe(argv[1], strlen(argv[1]));
        secmem_wipe(argv[2], strlen(argv[2]));
        return r;
    }
    devctl_answer(answer, "usage: swipe TRACK1|- TRACK2|- | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_msr = {
    .kind = "msr",
    .model = "MAMORI-SIM-MSR1",
    .upos_name = "MSR",
    .create = msr_create,
    .destroy = msr_destroy,
    .request = msr_request,
    .control = msr_control,
};
