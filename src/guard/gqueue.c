/*
 * gqueue.c: fixed ring of records under one mutex. Owns only the ring; the
 * producer never waits on the consumer (a full ring drops and counts).
 */
#include "guard/gqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori/err.h"

struct gqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct gqueue_rec *r;
    size_t cap, head, n;
    uint64_t dropped;
};

int gqueue_new(size_t cap, struct gqueue **ret)
{
    if (cap == 0 || cap > GQUEUE_MAX)
        return MAMORI_ERR_TOOBIG;
    struct gqueue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return MAMORI_ERR_NOMEM;
    q->r = calloc(cap, sizeof(*q->r));
    if (q->r == NULL) {
        free(q);
        return MAMORI_ERR_NOMEM;
    }
    q->cap = cap;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    *ret = q;
    return 0;
}

void gqueue_free(struct gqueue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->r);
    free(q);
}

bool gqueue_push(struct gqueue *q, const struct gqueue_rec *r)
{
    bool ok = false;
    pthread_mutex_lock(&q->mu);
    if (q->n < q->cap) {
        q->r[(q->head + q->n) % q->cap] = *r;
        q->n++;
        ok = true;
        pthread_cond_signal(&q->cv);
    } else {
        q->dropped++;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

bool gqueue_pop(struct gqueue *q, int timeout_ms, struct gqueue_rec *ret)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    while (q->n == 0)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT)
            break;
    bool got = q->n > 0;
    if (got) {
        *ret = q->r[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
    pthread_mutex_unlock(&q->mu);
    return got;
}

uint64_t gqueue_take_dropped(struct gqueue *q)
{
    pthread_mutex_lock(&q->mu);
    uint64_t d = q->dropped;
    q->dropped = 0;
    pthread_mutex_unlock(&q->mu);
    return d;
}
