/*
 * inject.c: owns the terminal-side injection flow (see inject.h): the order
 * of the ceremony steps, the child process of the host's key injection
 * facility, the key_inject request through terminald's control socket, and
 * keys.db (injection times for the re-injection schedule). The KBPK is only
 * ever inside the ceremony's guarded memory and the pipe to the facility.
 */
#include "keys/inject.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "bus/ctl.h"
#include "common/buf.h"
#include "common/evloop.h"
#include "common/hex.h"
#include "common/secmem.h"
#include "crypto/tr31.h"
#include "mamori/err.h"

bool inject_kind_card(const char *kind)
{
    return kind != NULL && (strcmp(kind, "msr") == 0 || strcmp(kind, "pinpad") == 0 || strcmp(kind, "icreader") == 0);
}

/* ---- terminald ---- */

static int device_kind(const char *ctl_path, const char *serial, char kind[static INJECT_KIND_MAX])
{
    struct buf out;
    int r;
    buf_init(&out, CTL_ANSWER_MAX);
    if ((r = ctl_call(ctl_path, "devices", &out, INJECT_TIMEOUT_MS)) != 0)
        goto out;
    r = MAMORI_ERR_NOTFOUND;
    char *save = NULL;
    for (char *line = strtok_r((char *)out.d, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *s = json_string_value(json_object_get(j, "serial"));
        const char *k = json_string_value(json_object_get(j, "kind"));
        if (s != NULL && k != NULL && strcmp(s, serial) == 0 && strlen(k) < INJECT_KIND_MAX) {
            strcpy(kind, k);
            r = 0;
        }
        json_decref(j);
        if (r == 0)
            break;
    }
out:
    buf_free(&out);
    return r;
}

/* ---- the host's key injection facility, a child process ---- */

struct issue_ctx {
    const struct inject_params *p;
    const char *ikid;
    char *block; /* malloc'd */
    char kcv[CEREMONY_KCV_HEX];
};

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return MAMORI_ERR_IO;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int issue_cb(void *vctx, const uint8_t *kbpk, size_t len)
{
    struct issue_ctx *x = vctx;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, r = MAMORI_ERR_IO, status;
    char *hexk = secmem_new(2 * CEREMONY_KEY_MAX + 2), answer[INJECT_ANSWER_MAX];
    size_t got = 0;
    pid_t pid = -1;
    if (hexk == NULL)
        return MAMORI_ERR_NOMEM;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        goto out;
    if ((pid = fork()) < 0)
        goto out;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(x->p->payhost_prog, x->p->payhost_prog, "issue-ik", "--state", x->p->payhost_state, "--ikid", x->ikid,
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    in[0] = out[1] = -1;
    if (hex_encode(hexk, 2 * CEREMONY_KEY_MAX + 1, kbpk, len) != 0)
        goto out;
    strcat(hexk, "\n");
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    r = write_all(in[1], hexk, strlen(hexk));
    signal(SIGPIPE, old);
    close(in[1]);
    in[1] = -1;
    if (r != 0)
        goto out;
    int64_t deadline = evloop_now_ms() + INJECT_TIMEOUT_MS;
    for (;;) {
        struct pollfd pf = {.fd = out[0], .events = POLLIN};
        int64_t left = deadline - evloop_now_ms();
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            r = MAMORI_ERR_TIMEOUT;
            goto out;
        }
        ssize_t k = read(out[0], answer + got, sizeof(answer) - 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof(answer) - 1)
            break;
    }
    answer[got] = '\0';
    json_t *j = json_loads(answer, 0, NULL);
    const char *b = json_string_value(json_object_get(j, "block"));
    const char *kcv = json_string_value(json_object_get(j, "ik_kcv"));
    r = MAMORI_ERR_PROTO;
    if (b != NULL && kcv != NULL && strlen(kcv) < sizeof(x->kcv) && strspn(b, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(b) && strlen(b) <= TR31_MAX_LEN) {
        if ((x->block = strdup(b)) == NULL)
            r = MAMORI_ERR_NOMEM;
        else {
            strcpy(x->kcv, kcv);
            r = 0;
        }
    }
    json_decref(j);
out:
    if (pid > 0) {
        if (r != 0)
            kill(pid, SIGKILL);
        if (waitpid(pid, &status, 0) == pid && r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            r = MAMORI_ERR_PROTO;
        if (r != 0) {
            free(x->block);
            x->block = NULL;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    secmem_free(hexk);
    return r;
}

/* ---- keys.db ---- */

static int db_open(const char *path, sqlite3 **ret)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS injections(serial TEXT NOT NULL, kind TEXT NOT NULL,"
                     " at INTEGER NOT NULL, ikid TEXT NOT NULL, ik_kcv TEXT NOT NULL,"
                     " custodian1 TEXT NOT NULL, custodian2 TEXT NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return MAMORI_ERR_DB;
    }
    *ret = db;
    return 0;
}

static int db_record(const char *path, const char *serial, const struct inject_result *res, const char *c1,
                     const char *c2)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int r = db_open(path, &db);
    if (r != 0)
        return r;
    r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(db, "INSERT INTO injections VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, res->kind, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(st, 3, res->at) == SQLITE_OK &&
        sqlite3_bind_text(st, 4, res->ikid, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 5, res->ik_kcv, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 6, c1, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 7, c2, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

/* ---- the ceremony ---- */

static int request_inject(const char *ctl_path, const char *serial, const char *kind, const char *block,
                          const char *ikid, char kcv[static CEREMONY_KCV_HEX])
{
    struct buf out;
    size_t n = strlen(block) + strlen(serial) + strlen(kind) + 128;
    char *line = malloc(n);
    int r;
    if (line == NULL)
        return MAMORI_ERR_NOMEM;
    snprintf(line, n, "request %s %s.key_inject \"{\\\"block\\\":\\\"%s\\\",\\\"ikid\\\":\\\"hex:%s\\\"}\" %d", serial,
             kind, block, ikid, INJECT_TIMEOUT_MS);
    buf_init(&out, CTL_ANSWER_MAX);
    r = ctl_call(ctl_path, line, &out, INJECT_TIMEOUT_MS + 2000);
    free(line);
    if (r == 0) {
        json_t *j = json_loads((const char *)out.d, JSON_DISABLE_EOF_CHECK, NULL);
        const char *k = json_string_value(json_object_get(j, "kcv"));
        r = MAMORI_ERR_PROTO;
        if (k != NULL && strlen(k) < CEREMONY_KCV_HEX) {
            strcpy(kcv, k);
            r = 0;
        } else if (out.len > 0 && strstr((const char *)out.d, "error") != NULL)
            r = MAMORI_ERR_REFUSED;
        json_decref(j);
    }
    buf_free(&out);
    return r;
}

int inject_run(struct operators *ops, struct audit *audit, const struct inject_params *p, const char *id1,
               const char *pw1, const char *id2, const char *pw2, inject_component_fn comp, inject_show_fn show,
               void *ctx, struct inject_result *ret)
{
    struct ceremony *c = NULL;
    struct inject_result res;
    struct issue_ctx x = {0};
    char kcv1[CEREMONY_KCV_HEX], kcv2[CEREMONY_KCV_HEX], kbpk_kcv[CEREMONY_KCV_HEX], dev_kcv[CEREMONY_KCV_HEX];
    uint8_t *buf = NULL, ikid[8];
    size_t n, bn;
    int r;
    if (ops == NULL || audit == NULL || p == NULL || comp == NULL || show == NULL || ret == NULL ||
        p->device == NULL || p->ctl_path == NULL || p->payhost_prog == NULL || p->payhost_state == NULL ||
        p->bdk_id == NULL || p->db_path == NULL || strlen(p->device) > INJECT_SERIAL_MAX ||
        hex_decode(ikid, 4, p->bdk_id, &bn) != 0 || bn != 4)
        return MAMORI_ERR_INVAL;
    memset(&res, 0, sizeof(res));
    if ((r = ceremony_begin(ops, audit, p->device, p->kbpk_len, &c)) != 0)
        return r;
    if ((r = ceremony_authorize(c, id1, pw1, id2, pw2)) != 0)
        goto out; /* refused before any key material is asked for */
    if ((r = device_kind(p->ctl_path, p->device, res.kind)) != 0)
        goto out;
    if (!inject_kind_card(res.kind)) {
        r = MAMORI_ERR_UNSUPPORTED;
        goto out;
    }
    if ((buf = secmem_new(CEREMONY_KEY_MAX)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    for (int i = 1; i <= 2; i++) {
        char *kcv = i == 1 ? kcv1 : kcv2;
        if ((r = comp(ctx, i, buf, CEREMONY_KEY_MAX, &n)) != 0)
            goto out;
        r = ceremony_add_component(c, i, buf, n, kcv);
        secmem_wipe(buf, CEREMONY_KEY_MAX);
        if (r != 0)
            goto out;
        show(ctx, i == 1 ? "component 1" : "component 2", kcv);
    }
    if ((r = ceremony_combine(c, kbpk_kcv)) != 0)
        goto out;
    show(ctx, "kbpk", kbpk_kcv);
    /* initial key ID: BDK ID + 4 random bytes (a fresh derivation ID per injection) */
    randombytes_buf(ikid + 4, 4);
    if (hex_encode(res.ikid, sizeof(res.ikid), ikid, 8) != 0) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    x.p = p;
    x.ikid = res.ikid;
    if ((r = ceremony_with_kbpk(c, issue_cb, &x)) != 0)
        goto out;
    show(ctx, "initial key", x.kcv);
    if ((r = request_inject(p->ctl_path, p->device, res.kind, x.block, res.ikid, dev_kcv)) != 0)
        goto out;
    if (strcasecmp(dev_kcv, x.kcv) != 0) {
        r = MAMORI_ERR_CRYPTO;
        goto out;
    }
    strcpy(res.ik_kcv, x.kcv);
    res.at = (int64_t)time(NULL);
    if ((r = db_record(p->db_path, p->device, &res, id1, id2)) != 0)
        goto out;
    struct audit_actor a = {.operator_id = id1, .role = "maintainer", .process = "keys.inject"};
    if ((r = audit_event(audit, &a, "keys.inject.done", F_STR("device", p->device), F_STR("kind", res.kind),
                         F_STR("custodian1", id1), F_STR("custodian2", id2), F_STR("component1_kcv", kcv1),
                         F_STR("component2_kcv", kcv2), F_STR("kbpk_kcv", kbpk_kcv), F_STR("ik_kcv", res.ik_kcv),
                         F_STR("ikid", res.ikid))) != 0)
        goto out;
    *ret = res;
out:
    if (r != 0 && r != MAMORI_ERR_PERM && r != MAMORI_ERR_AUTH && r != MAMORI_ERR_LOCKED) {
        struct audit_actor fa = {.operator_id = id1, .role = "maintainer", .process = "keys.inject"};
        (void)audit_event(audit, &fa, "keys.inject.failed", F_STR("device", p->device),
                          F_STR("reason", mamori_strerror(r)));
    }
    free(x.block);
    secmem_free(buf);
    ceremony_free(c);
    return r;
}

/* ---- schedule ---- */

int inject_status_list(const char *db_path, int64_t now, int64_t reinject_days, const char *const *extra,
                       size_t n_extra, struct inject_status **ret, size_t *ret_n)
{
    struct inject_status *v;
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    int r;
    if (db_path == NULL || ret == NULL || ret_n == NULL || reinject_days < 1 || (n_extra > 0 && extra == NULL))
        return MAMORI_ERR_INVAL;
    if ((v = calloc(INJECT_STATUS_MAX, sizeof(*v))) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = db_open(db_path, &db)) != 0) {
        free(v);
        return r;
    }
    r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(db,
                           "SELECT serial, kind, at, ik_kcv FROM injections i WHERE at ="
                           " (SELECT MAX(at) FROM injections j WHERE j.serial = i.serial)"
                           " GROUP BY serial ORDER BY serial",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *serial = (const char *)sqlite3_column_text(st, 0), *kind = (const char *)sqlite3_column_text(st, 1);
        const char *kcv = (const char *)sqlite3_column_text(st, 3);
        if (n >= INJECT_STATUS_MAX) {
            r = MAMORI_ERR_TOOBIG;
            goto out;
        }
        snprintf(v[n].serial, sizeof(v[n].serial), "%s", serial ? serial : "");
        snprintf(v[n].kind, sizeof(v[n].kind), "%s", kind ? kind : "");
        snprintf(v[n].ik_kcv, sizeof(v[n].ik_kcv), "%s", kcv ? kcv : "");
        v[n].last_at = sqlite3_column_int64(st, 2);
        n++;
    }
    if (s != SQLITE_DONE)
        goto out;
    for (size_t e = 0; e < 2 * n_extra; e += 2) {
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(v[i].serial, extra[e]) == 0;
        if (seen)
            continue;
        if (n >= INJECT_STATUS_MAX) {
            r = MAMORI_ERR_TOOBIG;
            goto out;
        }
        snprintf(v[n].serial, sizeof(v[n].serial), "%s", extra[e]);
        snprintf(v[n].kind, sizeof(v[n].kind), "%s", extra[e + 1]);
        n++;
    }
    for (size_t i = 0; i < n; i++)
        v[i].overdue = v[i].last_at == 0 || now - v[i].last_at > reinject_days * 86400;
    *ret = v;
    *ret_n = n;
    v = NULL;
    r = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(v);
    return r;
}
