/*
 * devinject: the device side of the key injection ceremony (POL-8(3),
 * issue 4) for the card devices (MSR, PIN pad, IC card reader).
 *
 * Split knowledge at the device too: each of two custodians keys one
 * component of the key-block protection key (KBPK) into the device itself
 * (control interface "kbpk 1 HEX", "kbpk 2 HEX"; each answers with the
 * component's KCV to compare with the paper form). The device forms
 * KBPK = component 1 XOR component 2, keeps only the KBPK (kbpk.state, mode
 * 0600) and wipes the components. The DUKPT initial key then arrives over
 * the bus as a TR-31 key block (KIND.key_inject {block, ikid}), wrapped by
 * the terminal-side ceremony (src/keys/ceremony.h) under the same KBPK; the
 * device unwraps it (MAC checked first), accepts only usage "B1" (initial
 * DUKPT key) with algorithm AES, loads it into its DUKPT registers
 * (devkey_install) and answers the initial key's KCV, never the key.
 * Tamper erases the KBPK together with the DUKPT state.
 */
#ifndef MAMORI_DEVINJECT_H
#define MAMORI_DEVINJECT_H

#include <stdbool.h>

#include <cbor.h>

#include "common/buf.h"
#include "devices/devkey.h"

#define DEVINJECT_FILE "kbpk.state"
#define DEVINJECT_KB_MAX 512 /* characters of one TR-31 key block */

struct devinject;

/* The injection state of the device at state_dir (a KBPK, if formed). */
int devinject_open(const char *state_dir, struct devinject **ret);
void devinject_free(struct devinject *j);
/* true once both components formed a KBPK. */
bool devinject_ready(const struct devinject *j);
/* Control "kbpk N HEX": MAMORI_ERR_UNSUPPORTED when argv is not that verb
 * (the caller tries its own), else 0 or an error, answer written. The
 * component argument is wiped in place. */
int devinject_control(struct devinject *j, int argc, char **argv, struct buf *answer);
/* Request KIND.key_inject {block: tstr TR-31, ikid: bstr 8}: reply {kcv}.
 * MAMORI_ERR_STATE without a KBPK, AUTH when the block's MAC fails, INVAL
 * for a malformed block or one that is not an AES initial DUKPT key. */
int devinject_request(struct devinject *j, struct devkey *key, const char *state_dir,
                      const cbor_item_t *body, cbor_item_t **ret_reply);
/* Tamper: erase the KBPK and any component, in memory and on disk. */
void devinject_erase(struct devinject *j);

#endif
