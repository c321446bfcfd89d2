"""Payment system-test fixture (issue 4): mamori-payhost (the SIMULATOR of
the card network, HTTPS on a loopback port, its BDK in its own temp state
dir), the register inside mamori-terminald with the card devices (PIN pad,
MSR, IC reader, signature pad) next to the register devices, and the DUKPT
keys injected by `mamori keys inject` with two custodians. The PIN pad is
connected through a relay (busrig.Relay) that records every byte on the bus.
"""
import json
import os
import re
import subprocess
import threading
import time

from busrig import Relay
from conftest import prog
from regfix import KINDS, PASSWORDS, Register, run, wait_for

BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
PAN = "4111111111111111"
PIN = "73916428"
T1 = "%B4111111111111111^MAMORI/TARO^2812101123456789?"
T2 = ";4111111111111111=28121011234567?"
CHIP = (PAN, "2812")  # the simplified chip record: ";PAN=YYMM=?"
CHIP_IMAGE = ";4111111111111111=2812=?"
PAN_SIG = "4242424242424242"
T2_SIG = ";4242424242424242=28121011234567?"
C1 = "00112233445566778899AABBCCDDEEFF"
C2 = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
CARD_KINDS = ["pinpad", "msr", "icreader", "sigpad"]
CUSTODIAN2, CUSTODIAN2_PW = "maint2", "maint2-pw-1"


def start_host(tmp, procs):
    state = tmp / "host"
    state.mkdir()
    (state / "bdk.keys").write_text(f"12345678 {BDK}\n")
    (state / "issuers.txt").write_text(f"{PAN} {PIN} 500000 active\n")
    p = procs([prog("mamori-payhost"), "--state", state, "--port", "0", "--today", "2026-11",
               "--max-seconds", "280"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("ready port="), line
    return state, int(line.split("=")[1]), p


class PayRegister(Register):
    def __init__(self, tmp, procs, relay_pinpad=True):
        self.host_state, self.host_port, self.host_proc = start_host(tmp, procs)
        extra = ("[pay]\npayhost_url = https://127.0.0.1:%d/v1/authorize\npayhost_cert = %s\n"
                 "input_ms = 20000\n[sandbox]\nro = %s\n"
                 % (self.host_port, self.host_state / "cert.pem", self.host_state / "cert.pem"))
        super().__init__(tmp, procs, kinds=KINDS + CARD_KINDS, config_extra=extra)
        run([prog("mamori"), "operator", "add", "--db", self.state / "operators.db", "--id", CUSTODIAN2,
             "--name", CUSTODIAN2, "--role", "maintainer"], input=CUSTODIAN2_PW + "\n")
        self.keys_ini = self.tmp / "keys.ini"
        self.keys_ini.write_text(f"[keys]\npayhost_state = {self.host_state}\nbdk_id = 12345678\n"
                                 f"payhost_prog = {prog('mamori-payhost')}\n")
        self.relay = None
        self.relay_pinpad = relay_pinpad

    def start_device(self, k):
        if k == "pinpad" and self.relay_pinpad:
            if self.relay is None:
                self.relay = Relay(self.tmp / "relay.sock", self.state / "bus.sock")
            p = self.procs([prog("mamori-devsim"), "--kind", k, "--state", self.dev[k], "--connect",
                            "unix:" + str(self.tmp / "relay.sock"), "--max-runtime", 300])
            line = p.stdout.readline()
            assert b"ready" in line, (k, line)
            self.devproc[k] = p
            return
        super().start_device(k)

    def tctl(self, *words):
        return run([prog("mamori-devsim"), "ctl", "--ctl", self.state / "ctl.sock", *words]).stdout

    def attached(self):
        out = {}
        for line in self.tctl("devices").splitlines():
            if line.strip():
                d = json.loads(line)
                out[d["kind"]] = d["attached"]
        return out

    def start_all(self):
        self.start(wait_devices=False)
        assert wait_for(lambda: all(self.attached().get(k) for k in self.kinds), 20), self.attached()
        assert wait_for(lambda: all(self.devices().get(k) for k in KINDS), 15), self.devices()
        return self

    def serial(self, kind):
        for line in self.tctl("devices").splitlines():
            if line.strip() and json.loads(line)["kind"] == kind:
                return json.loads(line)["serial"]
        raise AssertionError(kind)

    def inject(self, kind, lines=None, device_components=True):
        if device_components:
            assert "KCV" in self.ctl(kind, "kbpk", "1", C1)
            assert "KBPK formed" in self.ctl(kind, "kbpk", "2", C2)
        lines = lines or ["maint", PASSWORDS["maint"], CUSTODIAN2, CUSTODIAN2_PW, C1, C2]
        return subprocess.run([prog("mamori"), "keys", "inject", "--device", self.serial(kind), "--state",
                               str(self.state), "--config", str(self.keys_ini)],
                              input="".join(x + "\n" for x in lines), capture_output=True, text=True, timeout=60)

    def inject_all(self):
        for k in ("pinpad", "msr", "icreader"):
            r = self.inject(k)
            assert r.returncode == 0, (k, r.stdout, r.stderr)

    def pinpad_active(self):
        return "active" in self.ctl("pinpad", "status") and json.loads(
            self.ctl("pinpad", "status").splitlines()[0]).get("active")

    def card_sale_with_pin(self, amount, pin=PIN, t1=T1, t2=T2, body=None, during=None, chip=None):
        """POST /v1/tender/card in a thread; act as the shopper at the PIN pad:
        swipe on its stripe reader, or with chip=(PAN, YYMM) insert the chip
        card into its chip slot (body should then say source "ic")."""
        out = {}

        def call():
            out["r"] = self.api.post("/v1/tender/card", dict({"amount": amount}, **(body or {})), ok=False)
        th = threading.Thread(target=call)
        th.start()
        if wait_for(lambda: self.pin_session(), 10):
            if chip:
                self.shopper_answer = self.ctl("pinpad", "card", "credit", *chip)
            else:
                self.shopper_answer = self.ctl("pinpad", "swipe", t1, t2)
            self.ctl("pinpad", "pin", pin)
            if during:
                during()
            self.enter_answer = self.ctl("pinpad", "enter")
        th.join(60)
        assert "r" in out
        return out["r"]

    def pin_session(self):
        return "waiting for PIN" in self.ctl("pinpad", "status")

    def card_sale_with_signature(self, amount, t2=T2_SIG, body=None, points=("10,20", "30,40", "50,45")):
        self.ctl("msr", "swipe", "-", t2)
        out = {}

        def call():
            out["r"] = self.api.post("/v1/tender/card", dict({"amount": amount, "cvm": "signature"}, **(body or {})),
                                     ok=False)
        th = threading.Thread(target=call)
        th.start()
        assert wait_for(lambda: "sigpad: capturing" in self.ctl("sigpad", "status"), 10), self.ctl("sigpad", "status")
        self.ctl("sigpad", "sign", *points)
        th.join(60)
        return out["r"]


def readable_memory(pid):
    """All readable private/anon mappings of a process (we are root)."""
    out = bytearray()
    with open(f"/proc/{pid}/maps") as m:
        maps = m.read().splitlines()
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
                continue
            try:
                mem.seek(lo)
                out += mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                pass
    return bytes(out)


def files_bytes(root):
    out = bytearray()
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                if os.path.isfile(p):
                    with open(p, "rb") as fh:
                        out += fh.read()
            except OSError:
                pass
    return bytes(out)


def needles(*values):
    """A value as ASCII, UTF-16LE, packed BCD (hex) and raw digit bytes."""
    out = []
    for v in values:
        out.append(v.encode())
        out.append(v.encode("utf-16-le"))
        if len(v) >= 16 and len(v) % 2 == 0 and v.isdigit():
            out.append(bytes.fromhex(v))  # packed BCD of a PAN (8 bytes: no chance hit)
    return out


def find_any(blob, ns):
    return [n for n in ns if n in blob]


def wait_secs(s):
    time.sleep(s)
