"""An independent Python implementation of the mamori bus protocol, written
from docs/protocol.md (Noise XX/KK over X25519, ChaCha20-Poly1305, BLAKE2b;
stream and COBS framing; the CBOR envelope). The system tests use it as a
rogue controller, a rogue device and a third-party device: if these speak to
the C implementation, the published specification is sufficient (PRE-3), and
knowing it still does not let anyone in.
"""
import hashlib
import hmac
import os
import socket
import struct

import cbor2
from nacl.bindings import (crypto_aead_chacha20poly1305_ietf_decrypt,
                           crypto_aead_chacha20poly1305_ietf_encrypt,
                           crypto_scalarmult, crypto_scalarmult_base)

PROTO = b"mamori-bus/1"
FT_HS, FT_DATA, FT_REFUSE = 1, 2, 3
XX, KK = 0, 1


def prologue(transport):
    return PROTO + b"\x00" + transport.encode()


# ---------------------------------------------------------------- Noise

def _h(d):
    return hashlib.blake2b(d).digest()


def _hmac(k, d):
    return hmac.new(k, d, hashlib.blake2b).digest()


def _hkdf(ck, ikm, n):
    tk = _hmac(ck, ikm)
    o1 = _hmac(tk, b"\x01")
    o2 = _hmac(tk, o1 + b"\x02")
    if n == 2:
        return o1, o2
    return o1, o2, _hmac(tk, o2 + b"\x03")


def _nonce(n):
    return b"\x00" * 4 + struct.pack("<Q", n)


class Cipher:
    def __init__(self, k=None):
        self.k = k
        self.n = 0

    def enc(self, ad, pt):
        if self.k is None:
            return pt
        ct = crypto_aead_chacha20poly1305_ietf_encrypt(pt, ad, _nonce(self.n), self.k)
        self.n += 1
        return ct

    def dec(self, ad, ct):
        if self.k is None:
            return ct
        pt = crypto_aead_chacha20poly1305_ietf_decrypt(ct, ad, _nonce(self.n), self.k)
        self.n += 1
        return pt

    def rekey(self):
        self.k = crypto_aead_chacha20poly1305_ietf_encrypt(
            b"\x00" * 32, b"", _nonce(2**64 - 1), self.k)[:32]


class KeyPair:
    def __init__(self, priv=None):
        self.priv = priv or os.urandom(32)
        self.pub = crypto_scalarmult_base(self.priv)


def dh(kp, pub):
    return crypto_scalarmult(kp.priv, pub)


class Handshake:
    """Noise_XX / Noise_KK _25519_ChaChaPoly_BLAKE2b."""

    def __init__(self, pattern, initiator, s, rs=None, prologue_bytes=b""):
        name = b"Noise_%s_25519_ChaChaPoly_BLAKE2b" % (b"XX" if pattern == XX else b"KK")
        self.h = name.ljust(64, b"\x00") if len(name) <= 64 else _h(name)
        self.ck = self.h
        self.c = Cipher()
        self.pattern, self.init, self.s, self.rs = pattern, initiator, s, rs
        self.e = None
        self.re = None
        self._mix_hash(prologue_bytes)
        if pattern == KK:
            ipub = s.pub if initiator else rs
            rpub = rs if initiator else s.pub
            self._mix_hash(ipub)
            self._mix_hash(rpub)
        if pattern == XX:
            self.msgs = [("e",), ("e", "ee", "s", "es"), ("s", "se")]
        else:
            self.msgs = [("e", "es", "ss"), ("e", "ee", "se")]
        self.i = 0

    def _mix_hash(self, d):
        self.h = _h(self.h + d)

    def _mix_key(self, ikm):
        self.ck, tk = _hkdf(self.ck, ikm, 2)
        self.c = Cipher(tk[:32])

    def _enc_hash(self, pt):
        ct = self.c.enc(self.h, pt)
        self._mix_hash(ct)
        return ct

    def _dec_hash(self, ct):
        pt = self.c.dec(self.h, ct)
        self._mix_hash(ct)
        return pt

    def _dh_token(self, t):
        i = self.init
        if t == "ee":
            return dh(self.e, self.re)
        if t == "es":
            return dh(self.e, self.rs) if i else dh(self.s, self.re)
        if t == "se":
            return dh(self.s, self.re) if i else dh(self.e, self.rs)
        if t == "ss":
            return dh(self.s, self.rs)
        raise ValueError(t)

    def write(self, payload=b""):
        out = b""
        for t in self.msgs[self.i]:
            if t == "e":
                self.e = KeyPair()
                out += self.e.pub
                self._mix_hash(self.e.pub)
            elif t == "s":
                out += self._enc_hash(self.s.pub)
            else:
                self._mix_key(self._dh_token(t))
        out += self._enc_hash(payload)
        self.i += 1
        return out

    def read(self, msg):
        for t in self.msgs[self.i]:
            if t == "e":
                self.re, msg = msg[:32], msg[32:]
                self._mix_hash(self.re)
            elif t == "s":
                n = 48 if self.c.k is not None else 32
                self.rs = self._dec_hash(msg[:n])
                msg = msg[n:]
            else:
                self._mix_key(self._dh_token(t))
        self.i += 1
        return self._dec_hash(msg)

    def done(self):
        return self.i == len(self.msgs)

    def split(self):
        k1, k2 = _hkdf(self.ck, b"", 2)
        c1, c2 = Cipher(k1[:32]), Cipher(k2[:32])
        return (c1, c2) if self.init else (c2, c1)


# ---------------------------------------------------------------- framing

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def cobs_encode(data):
    out = bytearray([0])
    code_at, code = 0, 1
    for b in data:
        if b == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at = len(out)
                out.append(0)
                code = 1
    out[code_at] = code
    return bytes(out)


def frame_stream(payload):
    return struct.pack(">H", len(payload)) + payload


def frame_serial(payload):
    return cobs_encode(payload + struct.pack(">I", crc32c(payload))) + b"\x00"


class StreamReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def frame(self, timeout=5.0):
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack(">H", self.buf[:2])[0]
                if len(self.buf) >= 2 + n:
                    f, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                    return f
            d = self.sock.recv(65536)
            if not d:
                return None
            self.buf += d


def split_stream_frames(data):
    """All complete stream frames in data, with their offsets."""
    out, off = [], 0
    while off + 2 <= len(data):
        n = struct.unpack(">H", data[off:off + 2])[0]
        if off + 2 + n > len(data):
            break
        out.append((off, data[off + 2:off + 2 + n]))
        off += 2 + n
    return out


# ---------------------------------------------------------------- envelope

def envelope(t, mid, body=None, ref=None):
    m = {"t": t, "id": mid}
    if ref is not None:
        m["ref"] = ref
    if body is not None:
        m["b"] = body
    return cbor2.dumps(m)


class Transport:
    """Post-handshake DATA frames (epoch u32, nonce u64, AEAD with the header as AD)."""

    def __init__(self, tx, rx):
        self.tx, self.rx = tx, rx
        self.epoch = 0
        self.next_id = 1

    def seal(self, t, body=None, ref=None):
        pt = envelope(t, self.next_id, body, ref)
        self.next_id += 1
        hdr = struct.pack(">BIQ", FT_DATA, self.epoch, self.tx.n)
        return hdr + self.tx.enc(hdr, pt)

    def open(self, frame):
        ft, epoch, nonce = struct.unpack(">BIQ", frame[:13])
        assert ft == FT_DATA
        self.rx.n = nonce
        return cbor2.loads(self.rx.dec(frame[:13], frame[13:]))


def hs_frame(pattern, step, msg, hint=None):
    return bytes([FT_HS, pattern, step]) + (hint or b"") + msg


def connect_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
