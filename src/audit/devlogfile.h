/*
 * devlogfile: the device side of a device log (POL-8(1)): the device's own
 * signed hash-chained entries (devlog.h format) appended to one file in its
 * state directory, each fsynced before devlog_file_append returns, and read
 * back by sequence number for the terminal's fetch (KIND.log_fetch,
 * docs/protocol.md).
 *
 * The file is the exported device-log format (each entry preceded by its u32
 * length), so `mamori devlog verify FILE --pub HEX` checks it directly. On
 * open the chain position (next seq, hash of the last entry) is rebuilt from
 * the file; a torn last entry (crash during an append) is cut off. Reads scan
 * the file from the start (O(size), bounded by DEVLOG_FILE_MAX_BYTES), so an
 * entry removed behind the device's back shows up as a gap at the terminal.
 */
#ifndef MAMORI_DEVLOGFILE_H
#define MAMORI_DEVLOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/devlog.h"

#define DEVLOG_FILE_MAX_BYTES (64u << 20) /* one device's log file */

struct keys;
struct devlog_file;

/* Open or create path for serial, signing with log_key (borrowed; must
 * outlive the file). MAMORI_ERR_INVAL when the file holds another device's
 * entries, MAMORI_ERR_TOOBIG past DEVLOG_FILE_MAX_BYTES. */
int devlog_file_open(const char *path, const char *serial, struct keys *log_key, struct devlog_file **ret);
void devlog_file_close(struct devlog_file *f);
/* Sign and append the next entry; 0 only when it is on disk (fdatasync). */
int devlog_file_append(struct devlog_file *f, const char *event, const uint8_t *details, size_t n,
                       int64_t time_ns);
/* The seq the next append gets. */
uint64_t devlog_file_next_seq(const struct devlog_file *f);

/* Called for each entry read: the unframed entry and its seq. Non-zero stops. */
typedef int (*devlog_file_fn)(void *ctx, uint64_t seq, const uint8_t *entry, size_t n);
/* Entries with seq >= from_seq in file order, at most max entries and
 * budget bytes (at least one entry when any). *ret_next is the seq to ask
 * for next (last returned + 1; from_seq when none). */
int devlog_file_read(struct devlog_file *f, uint64_t from_seq, size_t max, size_t budget, devlog_file_fn fn,
                     void *ctx, uint64_t *ret_next);

#endif
