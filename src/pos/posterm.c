/*
 * posterm.c: owns the assembly of one register station from its files and
 * ports, the data key file, and the host commands that pump the bus
 * (wait-devices, wait-input) and feed scanner and keyboard input to the engine only when
 * it is idle. It must not own register rules (txn, tender), the bus (bus.c)
 * or the process (signals, arguments: the program's main).
 */
#include "pos/posterm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/journal.h"
#include "pos/posapi.h"
#include "pos/posbus.h"
#include "pos/posdev.h"
#include "pos/poskeys.h"
#include "pos/poswire.h"

#define POSTERM_PATH_MAX 1024

struct posterm {
    struct posterm_config cfg;
    struct audit *a;
    struct journal *j;
    struct items *items;
    struct operators *ops;
    struct posdev_sim *sim;
    struct posbus *pb;
    struct pos_devices dev;
    struct poswire_catalog pc;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct txn *t;
    struct console *con;
    struct posapi *api;
    struct poskeys keys;
    bool resumed;
};

/* Load DIR/datakey or create it (O_EXCL, 0600, no symlinks). The keyholder
 * will hold this key wrapped; until then the file is the custody. */
static int data_key(const char *dir, uint8_t key[static TXN_DATA_KEY_BYTES])
{
    char path[POSTERM_PATH_MAX];
    int fd;
    ssize_t n;
    snprintf(path, sizeof(path), "%s/datakey", dir);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(key, TXN_DATA_KEY_BYTES);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return MAMORI_ERR_IO;
        n = write(fd, key, TXN_DATA_KEY_BYTES);
        if (fsync(fd) != 0)
            n = -1;
        close(fd);
        return n == TXN_DATA_KEY_BYTES ? 0 : MAMORI_ERR_IO;
    }
    if (fd < 0)
        return MAMORI_ERR_IO;
    n = read(fd, key, TXN_DATA_KEY_BYTES);
    close(fd);
    return n == TXN_DATA_KEY_BYTES ? 0 : MAMORI_ERR_IO;
}

/* The next console line from device input: a scanned code (letters and
 * digits only) or a key sequence the keyboard completed. */
static int next_scan_line(void *ctx, char *line, size_t cap)
{
    struct posterm *p = ctx;
    char text[POSBUS_SCAN_LEN], kind, out[POSKEYS_LINE_MAX];
    while (p->pb != NULL && posbus_next_input(p->pb, &kind, text) == 0) {
        if (kind == 'k') {
            int r = poskeys_press(&p->keys, p->t, text, out);
            if (r < 0)
                fprintf(p->cfg.out, "ERROR keyboard %s: %s\n", text, mamori_strerror(r));
            if (r != 1)
                continue;
            snprintf(line, cap, "%s", out);
            return 0;
        }
        bool ok = text[0] != '\0';
        for (const char *c = text; *c; c++)
            ok &= (*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
        if (!ok)
            continue; /* not a code: dropped, the engine never sees it */
        snprintf(line, cap, "scan %s", text);
        return 0;
    }
    return MAMORI_ERR_NOTFOUND;
}

static int hook_args(char **tok, size_t n, long max, long *ret_want, long *ret_secs)
{
    long want = n > 1 ? strtol(tok[1], NULL, 10) : 1;
    long secs = n > 2 ? strtol(tok[2], NULL, 10) : 20;
    if (want < 0 || want > max || secs < 0 || secs > 600)
        return MAMORI_ERR_INVAL;
    *ret_want = want;
    *ret_secs = secs;
    return 0;
}

/* wait-input N [SECONDS]: run the bus and perform N operations read from the
 * scanner and keyboard devices. */
static int wait_scans(void *ctx, char **tok, size_t n)
{
    struct posterm *p = ctx;
    char line[CONSOLE_LINE_MAX + 1];
    long want, secs, done = 0;
    int64_t deadline;
    int rc = hook_args(tok, n, 1000, &want, &secs);
    if (rc)
        return rc;
    deadline = evloop_now_ms() + secs * 1000;
    while (done < want && evloop_now_ms() < deadline) {
        if (next_scan_line(p, line, sizeof(line)) == 0) {
            (void)console_line(p->con, line); /* prints OK/ERROR like a keyed scan */
            done++;
            continue;
        }
        if (evloop_run_once(p->cfg.loop, 100) < 0)
            return MAMORI_ERR_SYS;
    }
    return done >= want ? 0 : MAMORI_ERR_TIMEOUT;
}

/* wait-devices N [SECONDS]: run the bus until N devices are attached. */
static int wait_devices(void *ctx, char **tok, size_t n)
{
    struct posterm *p = ctx;
    long want, secs;
    int64_t deadline;
    int rc = hook_args(tok, n, 256, &want, &secs);
    if (rc)
        return rc;
    deadline = evloop_now_ms() + secs * 1000;
    while ((long)bus_attached_count(p->cfg.bus) < want && evloop_now_ms() < deadline)
        if (evloop_run_once(p->cfg.loop, 100) < 0)
            return MAMORI_ERR_SYS;
    return (long)bus_attached_count(p->cfg.bus) >= want ? 0 : MAMORI_ERR_TIMEOUT;
}

int posterm_open(const struct posterm_config *cfg, struct posterm **ret, const char **ret_what)
{
    struct posterm *p;
    struct txn_config *tc = NULL;
    char path[POSTERM_PATH_MAX];
    const char *what = "config";
    int rc = MAMORI_ERR_INVAL;
    if (cfg == NULL || cfg->dir == NULL || cfg->items_db == NULL || cfg->terminal == NULL ||
        cfg->issuer == NULL || cfg->regno == NULL || strlen(cfg->terminal) >= TXN_ID_MAX ||
        strlen(cfg->issuer) >= TXN_NAME_MAX || strlen(cfg->regno) >= 16 ||
        cfg->store_no > 9999 || cfg->terminal_no > 9999 ||
        (cfg->bus != NULL && cfg->loop == NULL) || strlen(cfg->dir) > POSTERM_PATH_MAX - 32)
        goto fail0;
    rc = MAMORI_ERR_NOMEM;
    if ((p = calloc(1, sizeof(*p))) == NULL || (tc = calloc(1, sizeof(*tc))) == NULL) {
        free(p);
        goto fail0;
    }
    p->cfg = *cfg;
    if (p->cfg.out == NULL)
        p->cfg.out = stdout;
    what = "libsodium";
    if ((rc = secmem_init()))
        goto fail;
    what = cfg->dir;
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        rc = MAMORI_ERR_IO;
        goto fail;
    }
    snprintf(tc->terminal, sizeof(tc->terminal), "%s", cfg->terminal);
    snprintf(tc->issuer_name, sizeof(tc->issuer_name), "%s", cfg->issuer);
    snprintf(tc->regno, sizeof(tc->regno), "%s", cfg->regno);
    tc->store_no = cfg->store_no;
    tc->terminal_no = cfg->terminal_no;
    tc->discount_limit_yen = 500;
    tc->discount_limit_pct = 10;
    tc->points_per_100yen = 1;
    tc->gift_gives_change = cfg->gift_change;
    what = "data key";
    if ((rc = data_key(cfg->dir, tc->data_key)))
        goto fail;
    what = "audit.db";
    snprintf(path, sizeof(path), "%s/audit.db", cfg->dir);
    if ((rc = audit_open(path, &p->a)))
        goto fail;
    what = "journal.db";
    snprintf(path, sizeof(path), "%s/journal.db", cfg->dir);
    if ((rc = journal_open(path, &p->j)))
        goto fail;
    what = cfg->items_db;
    if ((rc = items_open(cfg->items_db, &p->items)))
        goto fail;
    what = "operators";
    if (cfg->operators_db == NULL)
        snprintf(path, sizeof(path), "%s/operators.db", cfg->dir);
    else
        snprintf(path, sizeof(path), "%s", cfg->operators_db);
    if ((rc = operators_open(path, p->a, &p->ops)))
        goto fail;
    what = "devices";
    if (cfg->bus != NULL) {
        if ((rc = posbus_new(cfg->bus, cfg->loop, NULL, &p->pb)))
            goto fail;
        posbus_port(p->pb, &p->dev);
    } else {
        snprintf(path, sizeof(path), "%s/devices.state", cfg->dir);
        if ((rc = posdev_sim_new(path, cfg->sim_changer, &p->sim)))
            goto fail;
        posdev_sim_port(p->sim, &p->dev);
    }
    poskeys_init(&p->keys);
    p->pc.items = p->items;
    poswire_catalog(&p->pc, &p->cat);
    poswire_auth(p->ops, &p->auth);
    what = "station";
    if ((rc = txn_new(tc, p->j, &p->dev, &p->cat, &p->auth, p->a, &p->t)))
        goto fail;
    what = "recovery";
    if ((rc = txn_recover(p->t, &p->resumed)))
        goto fail;
    what = "console";
    if ((rc = console_new(p->t, p->sim, p->cfg.out, &p->con)))
        goto fail;
    if (cfg->bus != NULL && ((rc = console_set_hook(p->con, "wait-devices", wait_devices, p)) ||
                             (rc = console_set_hook(p->con, "wait-input", wait_scans, p))))
        goto fail;
    sodium_memzero(tc, sizeof(*tc));
    free(tc);
    *ret = p;
    return 0;
fail:
    posterm_close(p);
fail0:
    if (tc)
        sodium_memzero(tc, sizeof(*tc));
    free(tc);
    if (ret_what)
        *ret_what = what;
    return rc;
}

void posterm_close(struct posterm *p)
{
    if (p == NULL)
        return;
    posapi_stop(p->api);
    console_free(p->con);
    txn_free(p->t);
    posdev_sim_free(p->sim);
    posbus_free(p->pb);
    operators_free(p->ops);
    items_free(p->items);
    journal_close(p->j);
    audit_close(p->a);
    free(p);
}

bool posterm_resumed(const struct posterm *p)
{
    return p->resumed;
}

struct txn *posterm_txn(struct posterm *p)
{
    return p->t;
}

struct console *posterm_console(struct posterm *p)
{
    return p->con;
}

void posterm_event(void *ctx, const char *serial, const char *type, const cbor_item_t *body)
{
    struct posterm *p = ctx;
    if (p != NULL && p->pb != NULL)
        posbus_event(p->pb, serial, type, body);
}

int posterm_api_start(struct posterm *p, const char *socket_path)
{
    int rc;
    if (p->cfg.loop == NULL || p->api != NULL)
        return MAMORI_ERR_STATE;
    if ((rc = posapi_start(p->t, p->sim, p->cfg.loop, socket_path, &p->api)))
        return rc;
    if (p->cfg.bus != NULL) {
        (void)console_set_hook(posapi_console(p->api), "wait-devices", wait_devices, p);
        posapi_set_source(p->api, next_scan_line, p); /* scanner device input */
    }
    return 0;
}

void posterm_api_stop(struct posterm *p)
{
    if (p == NULL)
        return;
    posapi_stop(p->api);
    p->api = NULL;
}
