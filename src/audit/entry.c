/*
 * entry.c: canonical encoding of audit entries, checkpoint and tail messages
 * (see entry.h). Owns the byte layout and its limits; owns no storage and no
 * keys.
 */
#include "audit/entry.h"

#include <string.h>

#include "mamori/err.h"

#define ENTRY_MAGIC "MAE1"
#define CKPT_LABEL "mamori-audit-checkpoint-v1\n"
#define TAIL_LABEL "mamori-audit-tail-v1\n"
#define OSTR_ABSENT 0xFFFFu

struct audit_str audit_str_of(const char *s)
{
    return s ? (struct audit_str){.p = s, .n = strlen(s), .present = true} : (struct audit_str){0};
}

static bool has_nul(const struct audit_str *s)
{
    return s->present && s->n > 0 && memchr(s->p, '\0', s->n) != NULL;
}

static int put_ostr(struct buf *b, const struct audit_str *s)
{
    int r;
    if (!s->present)
        return buf_put_u16(b, OSTR_ABSENT);
    if ((r = buf_put_u16(b, (uint16_t)s->n)) != 0)
        return r;
    return buf_put_bytes(b, s->p, s->n);
}

int audit_entry_encode(const struct audit_entry *e, struct buf *out)
{
    int r;
    const struct audit_str *actors[3] = {&e->op, &e->role, &e->process};
    for (int i = 0; i < 3; i++)
        if (actors[i]->n > AUDIT_ACTOR_MAX || has_nul(actors[i]))
            return MAMORI_ERR_INVAL;
    if (!e->event.present || e->event.n == 0 || e->event.n > AUDIT_EVENT_MAX || has_nul(&e->event) ||
        !e->details.present || e->details.n > AUDIT_DETAILS_MAX || has_nul(&e->details))
        return MAMORI_ERR_INVAL;
    if ((r = buf_put_bytes(out, ENTRY_MAGIC, 4)) || (r = buf_put_u64(out, e->seq)) ||
        (r = buf_put_u64(out, (uint64_t)e->time_ns)) || (r = put_ostr(out, &e->op)) ||
        (r = put_ostr(out, &e->role)) || (r = put_ostr(out, &e->process)) ||
        (r = buf_put_u16(out, (uint16_t)e->event.n)) || (r = buf_put_bytes(out, e->event.p, e->event.n)) ||
        (r = buf_put_u32(out, (uint32_t)e->details.n)) || (r = buf_put_bytes(out, e->details.p, e->details.n)))
        return r;
    return 0;
}

static int get_str(struct buf *b, size_t len, size_t max, struct audit_str *ret)
{
    const uint8_t *p;
    int r;
    if (len > max)
        return MAMORI_ERR_INVAL;
    if ((r = buf_get_ptr(b, len, &p)) != 0)
        return r;
    if (len > 0 && memchr(p, '\0', len) != NULL)
        return MAMORI_ERR_INVAL;
    *ret = (struct audit_str){.p = (const char *)p, .n = len, .present = true};
    return 0;
}

static int get_ostr(struct buf *b, struct audit_str *ret)
{
    uint16_t n;
    int r;
    if ((r = buf_get_u16(b, &n)) != 0)
        return r;
    if (n == OSTR_ABSENT) {
        *ret = (struct audit_str){0};
        return 0;
    }
    return get_str(b, n, AUDIT_ACTOR_MAX, ret);
}

int audit_entry_decode(const uint8_t *p, size_t n, struct audit_entry *ret)
{
    struct buf b;
    struct audit_entry e;
    const uint8_t *magic;
    uint64_t t;
    uint16_t evn;
    uint32_t dn;
    int r;
    if (n > AUDIT_ENTRY_MAX)
        return MAMORI_ERR_TOOBIG;
    buf_view(&b, p, n);
    if ((r = buf_get_ptr(&b, 4, &magic)) != 0)
        return r;
    if (memcmp(magic, ENTRY_MAGIC, 4) != 0)
        return MAMORI_ERR_INVAL;
    if ((r = buf_get_u64(&b, &e.seq)) || (r = buf_get_u64(&b, &t)) || (r = get_ostr(&b, &e.op)) ||
        (r = get_ostr(&b, &e.role)) || (r = get_ostr(&b, &e.process)) || (r = buf_get_u16(&b, &evn)) ||
        (r = get_str(&b, evn, AUDIT_EVENT_MAX, &e.event)) || (r = buf_get_u32(&b, &dn)) ||
        (r = get_str(&b, dn, AUDIT_DETAILS_MAX, &e.details)) || (r = buf_end(&b)))
        return r;
    if (e.event.n == 0)
        return MAMORI_ERR_INVAL;
    e.time_ns = (int64_t)t;
    *ret = e;
    return 0;
}

static void put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void audit_checkpoint_message(const struct audit_checkpoint *c, uint8_t out[static AUDIT_CKPT_MSG_LEN])
{
    memcpy(out, CKPT_LABEL, 27);
    put_be64(out + 27, c->size);
    memcpy(out + 35, c->root, AUDIT_ROOT_LEN);
    put_be64(out + 35 + AUDIT_ROOT_LEN, (uint64_t)c->time_ns);
}

void audit_tail_message(uint64_t count, const uint8_t root[static AUDIT_ROOT_LEN],
                        uint8_t out[static AUDIT_TAIL_MSG_LEN])
{
    memcpy(out, TAIL_LABEL, 21);
    put_be64(out + 21, count);
    memcpy(out + 29, root, AUDIT_ROOT_LEN);
}
