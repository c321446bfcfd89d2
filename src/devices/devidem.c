/*
 * devidem.c: the idempotency-key memory of cash devices (devidem.h). Owns
 * the ring of remembered keys and its serialised form; does not own what a
 * command does (the class does, and saves state before it answers).
 */
#include "devices/devidem.h"

#include <string.h>

#include "mamori/err.h"

void devidem_init(struct devidem *d)
{
    memset(d, 0, sizeof(*d));
}

void devidem_clear(struct devidem *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < DEVIDEM_MAX; i++)
        if (d->e[i].reply != NULL)
            cbor_decref(&d->e[i].reply);
    devidem_init(d);
}

int devidem_lookup(const struct devidem *d, const char *key, const char *fp,
                   cbor_item_t **ret_reply)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct devidem_entry *e = &d->e[i];
        if (e->key[0] == '\0' || strcmp(e->key, key) != 0)
            continue;
        if (strcmp(e->fp, fp) != 0)
            return MAMORI_ERR_EXISTS;
        *ret_reply = cbor_incref(e->reply);
        return 0;
    }
    return MAMORI_ERR_NOTFOUND;
}

int devidem_put(struct devidem *d, const char *key, const char *fp, cbor_item_t *reply)
{
    if (strlen(key) == 0 || strlen(key) > DEVIDEM_KEY_MAX || strlen(fp) > DEVIDEM_FP_MAX ||
        reply == NULL)
        return MAMORI_ERR_INVAL;
    struct devidem_entry *e = &d->e[d->next];
    if (e->reply != NULL)
        cbor_decref(&e->reply);
    memcpy(e->key, key, strlen(key) + 1);
    memcpy(e->fp, fp, strlen(fp) + 1);
    e->reply = cbor_incref(reply);
    d->next = (d->next + 1) % DEVIDEM_MAX;
    if (d->n < DEVIDEM_MAX)
        d->n++;
    return 0;
}

void devidem_forget(struct devidem *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++) {
        struct devidem_entry *e = &d->e[i];
        if (e->key[0] != '\0' && strcmp(e->key, key) == 0) {
            e->key[0] = '\0'; /* an empty key never matches: lookups need one */
            e->fp[0] = '\0';
        }
    }
}

cbor_item_t *devidem_to_cbor(const struct devidem *d)
{
    cbor_item_t *arr = cbor_new_definite_array(d->n);
    if (arr == NULL)
        return NULL;
    /* Oldest first: once the ring is full the oldest sits at next. */
    size_t start = d->n < DEVIDEM_MAX ? 0 : d->next;
    for (size_t i = 0; i < d->n; i++) {
        const struct devidem_entry *e = &d->e[(start + i) % DEVIDEM_MAX];
        if (e->key[0] == '\0')
            continue;
        cbor_item_t *t = cbor_new_definite_array(3);
        cbor_item_t *k = cbor_build_string(e->key);
        cbor_item_t *f = cbor_build_string(e->fp);
        bool ok = t != NULL && k != NULL && f != NULL && cbor_array_push(t, k) &&
                  cbor_array_push(t, f) && cbor_array_push(t, e->reply) && cbor_array_push(arr, t);
        if (k != NULL)
            cbor_decref(&k);
        if (f != NULL)
            cbor_decref(&f);
        if (t != NULL)
            cbor_decref(&t);
        if (!ok) {
            cbor_decref(&arr);
            return NULL;
        }
    }
    return arr;
}

static int str_of(const cbor_item_t *s, char *out, size_t cap)
{
    if (!cbor_isa_string(s) || !cbor_string_is_definite(s))
        return MAMORI_ERR_INVAL;
    size_t n = cbor_string_length(s);
    if (n >= cap || (n > 0 && memchr(cbor_string_handle(s), 0, n) != NULL))
        return MAMORI_ERR_INVAL;
    memcpy(out, cbor_string_handle(s), n);
    out[n] = '\0';
    return 0;
}

int devidem_from_cbor(struct devidem *d, const cbor_item_t *arr)
{
    char key[DEVIDEM_KEY_MAX + 1], fp[DEVIDEM_FP_MAX + 1];
    int r;
    if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) || cbor_array_size(arr) > DEVIDEM_MAX)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < cbor_array_size(arr); i++) {
        const cbor_item_t *t = cbor_array_handle(arr)[i];
        if (!cbor_isa_array(t) || cbor_array_size(t) != 3)
            return MAMORI_ERR_INVAL;
        cbor_item_t **v = cbor_array_handle(t);
        if ((r = str_of(v[0], key, sizeof(key))) || (r = str_of(v[1], fp, sizeof(fp))) ||
            (r = devidem_put(d, key, fp, v[2])))
            return r;
    }
    return 0;
}
