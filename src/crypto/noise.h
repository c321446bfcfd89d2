/*
 * noise: the Noise Protocol Framework handshakes the device bus uses
 * (https://noiseprotocol.org/noise.html, revision 34):
 *
 *   Noise_XX_25519_ChaChaPoly_BLAKE2b   enrolment (the terminal learns the device key)
 *   Noise_KK_25519_ChaChaPoly_BLAKE2b   every later session (both static keys pinned)
 *
 * Primitives come from libsodium (X25519, ChaCha20-Poly1305 IETF, BLAKE2b);
 * the state machine is ours and must pass ../shared/testvectors/noise.json.
 * Local static-key DH goes through keys_dh() (src/keys/keys.h), so the
 * static private key never has to be in this module's memory.
 *
 * Use:
 *   noise_hs_new(NOISE_KK, NOISE_INITIATOR, my_keys, peer_pub, prologue, n, &hs);
 *   noise_hs_write(hs, payload, plen, out, outcap, &outlen);   // -> e, es, ss
 *   noise_hs_read(hs, msg, mlen, payload_out, cap, &plen);     // <- e, ee, se
 *   noise_hs_split(hs, &tx, &rx);                              // transport
 *   noise_cs_encrypt(tx, ad, adlen, pt, ptlen, out, cap, &outlen);
 *
 * Every function returns 0 or a negative MAMORI_ERR_*; ret_* untouched on failure.
 * After any failure the handshake state is dead (MAMORI_ERR_STATE afterwards),
 * including misuse such as writing when it is the peer's turn.
 * Threads: one state is used by one thread at a time; the two cipher states
 * of one Split may live in different threads.
 */
#ifndef MAMORI_NOISE_H
#define MAMORI_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "keys/keys.h"

#define NOISE_DHLEN 32
#define NOISE_HASHLEN 64
#define NOISE_TAGLEN 16
#define NOISE_MAX_MSG 65535            /* a Noise message, ciphertext included */
#define NOISE_MAX_PAYLOAD (NOISE_MAX_MSG - NOISE_TAGLEN)
#define NOISE_REKEY_MESSAGES (1u << 20) /* ARCHITECTURE §3: rekey after 2^20 messages */

enum noise_pattern { NOISE_XX, NOISE_KK };
enum noise_role { NOISE_INITIATOR, NOISE_RESPONDER };

struct noise_hs; /* handshake state */
struct noise_cs; /* one direction's transport cipher state */

/*
 * New handshake. local: our static keys (borrowed; must outlive hs).
 * remote_static: the peer's static public key, required for KK, NULL for XX.
 * prologue: bound into the handshake hash (the bus binds protocol version and
 * transport kind here).
 */
int noise_hs_new(enum noise_pattern pattern, enum noise_role role, struct keys *local,
                 const uint8_t *remote_static, const uint8_t *prologue, size_t prologue_len,
                 struct noise_hs **ret);

/* Tests only: fix the ephemeral private key instead of a random one. */
int noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t priv[static NOISE_DHLEN]);

/* Write our next handshake message carrying payload into out. */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t out_cap, size_t *ret_len);
/* Read the peer's next handshake message; its payload goes to payload_out. */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t msg_len, uint8_t *payload_out,
                  size_t payload_cap, size_t *ret_payload_len);

/* 1 when the handshake is complete, 0 while messages remain; who writes next. */
int noise_hs_done(const struct noise_hs *hs);
int noise_hs_my_turn(const struct noise_hs *hs);

/* After a read that carried it: the peer's static public key (XX learns it). */
int noise_hs_remote_static(const struct noise_hs *hs, uint8_t ret_pub[static NOISE_DHLEN]);
/* The handshake hash h (channel binding), valid once done. */
int noise_hs_hash(const struct noise_hs *hs, uint8_t ret_h[static NOISE_HASHLEN]);

/* Split a finished handshake into (send, receive) cipher states for our role. */
int noise_hs_split(struct noise_hs *hs, struct noise_cs **ret_tx, struct noise_cs **ret_rx);
void noise_hs_free(struct noise_hs *hs);

/* Transport: AEAD with the internal 64-bit nonce counter; out must hold len + NOISE_TAGLEN. */
int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *out, size_t out_cap, size_t *ret_len);
/* Decrypt; MAMORI_ERR_AUTH on a bad tag (the nonce does not advance then). */
__attribute__((warn_unused_result)) int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *ad,
                                                         size_t ad_len, const uint8_t *ct,
                                                         size_t ct_len, uint8_t *out,
                                                         size_t out_cap, size_t *ret_len);
/* Rekey() of the Noise spec §11.3: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
int noise_cs_rekey(struct noise_cs *cs);
/* The Noise nonce n: messages processed by this cipher state. Rekey() does
 * not reset it (spec §11.3), so a third-party peer following the spec stays
 * in step; the rekey policy uses noise_cs_since_rekey(). */
uint64_t noise_cs_nonce(const struct noise_cs *cs);
/* Messages processed since the last noise_cs_rekey() (or since Split). */
uint64_t noise_cs_since_rekey(const struct noise_cs *cs);
/* Tests: set the nonce (e.g. to exercise exhaustion). */
void noise_cs_set_nonce(struct noise_cs *cs, uint64_t n);
void noise_cs_free(struct noise_cs *cs);

#endif
