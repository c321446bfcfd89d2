/*
 * devstate: a simulated device's persistent state in its own state directory.
 *
 * State files are one CBOR item each, replaced atomically (write a temporary
 * file, fsync, rename, fsync the directory), so a device killed at any point
 * restarts with either the old or the new state, never a torn one. The
 * firmware saves before it answers a request that changed state, so an
 * acknowledged cash command is never forgotten. Volatile state (what a
 * display shows) is replaced the same way without the syncs.
 *
 * Output files (the printer's received bytes) and the device's plain event
 * notes are appended, each with a hard size limit.
 */
#ifndef MAMORI_DEVSTATE_H
#define MAMORI_DEVSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "devices/device.h"

#define DEVSTATE_MAX (1u << 20)        /* largest state file read back */
#define DEVSTATE_NOTES_MAX (4u << 20)  /* device.log stops growing here */
#define DEVSTATE_PATH_MAX 4096

/* Load dir/name into a new item. MAMORI_ERR_NOTFOUND when absent,
 * MAMORI_ERR_TOOBIG past DEVSTATE_MAX, MAMORI_ERR_INVAL when not one CBOR item. */
int devstate_load(const char *dir, const char *name, cbor_item_t **ret);
/* Replace dir/name atomically with item (mode 0600). */
int devstate_save(const char *dir, const char *name, const cbor_item_t *item);
/* Replace dir/name with item (mode 0600) without syncing: for state that a
 * power cut may lose, as the real device would (a display's text). The
 * rename keeps it whole across a process crash; after a power cut the file
 * may be old, empty or missing, so its reader treats any load error as "no
 * state" (never as a failure to start). */
int devstate_save_volatile(const char *dir, const char *name, const cbor_item_t *item);
/* Remove dir/name; absent is fine. */
int devstate_remove(const char *dir, const char *name);
/* Append n bytes to dir/name unless the file would pass max bytes
 * (MAMORI_ERR_TOOBIG, nothing written). fsyncs before returning. */
int devstate_append(const char *dir, const char *name, const void *p, size_t n, size_t max);
/* Append one line "UNIXTIME EVENT DETAIL" to dir/device.log (the device's own
 * record of what happened to it; signed hash-chained logs replace this with
 * issue 5). event and detail must not contain newlines (they are cut there). */
int devstate_note(const char *dir, const char *event, const char *detail);

/* A device class's state file: its name and how the class's state (a struct
 * of the class, passed as state) goes into and comes out of the file's map.
 * encode adds the fields to m (non-zero when a put failed: the store is then
 * MAMORI_ERR_NOMEM); decode reads them back (non-zero: the file is corrupt,
 * MAMORI_ERR_INVAL); defaults, when not NULL, sets the state of a new device
 * (the fields the calloc'd struct does not already hold). */
struct devstate_file {
    const char *name;
    int (*encode)(const void *state, cbor_item_t *m);
    int (*decode)(void *state, const cbor_item_t *st);
    void (*defaults)(void *state);
};

/* Replace dir/f->name with f->encode(state) (devstate_save: atomic, synced). */
int devstate_store(const char *dir, const struct devstate_file *f, const void *state);
/* Load the class state from dir/f->name into state, or, when the file does
 * not exist, apply f->defaults and create it (devstate_store). Fails closed:
 * a file that does not load or decode is MAMORI_ERR_INVAL (or the load's
 * error), never replaced by defaults. */
int devstate_open(const char *dir, const struct devstate_file *f, void *state);
/* Copy a device's state directory into out (MAMORI_ERR_TOOBIG when longer). */
int devstate_dir(char out[DEVSTATE_PATH_MAX], const char *dir);

#define DEVSTATE_INTS_MAX 16 /* integers in one devstate_ints file */

/* The state of a simple device (the touch panel's counters, the keylock's
 * position): its directory, its io, and up to DEVSTATE_INTS_MAX named
 * integers (each 0..INT64_MAX) kept in one state file. */
struct devstate_ints {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    const char *name;        /* state file name, static */
    const char *const *keys; /* n key names, static */
    size_t n;
    int64_t v[DEVSTATE_INTS_MAX];
};

/* Fill s for the device at dir: v starts as defaults, then is read from
 * dir/name when it exists (MAMORI_ERR_INVAL when a key is missing or out of
 * range), and the file is created when it does not. */
int devstate_ints_open(struct devstate_ints *s, const char *dir, const struct device_io *io,
                       const char *name, const char *const *keys, const int64_t *defaults,
                       size_t n);
/* Replace the state file with s->v (devstate_save: atomic). */
int devstate_ints_store(const struct devstate_ints *s);

#endif
