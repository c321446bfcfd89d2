"""Test rig for the bus system tests: a vendor CA, a terminal state dir with
operators, mamori-terminald, devices made with mamori-devsim init + mamori
vendor issue + dual-control enrolment, and a frame-aware relay proxy that can
capture, replay, corrupt or freeze traffic between a device and the terminal.
Everything lives in a pytest tmp dir; processes stop by themselves
(--max-runtime) and are killed at teardown by the procs fixture.
"""
import json
import os
import select
import socket
import struct
import subprocess
import threading
import time

from conftest import prog

MAINT, MAINT_PW = "maint1", "maint-pw-1"
MGR, MGR_PW = "mgr1", "manager-pw-1"
RUNTIME = "120"


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def wait_ready(p, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            line = p.stdout.readline()
            if b"ready" in line:
                return True
            if not line:
                break
        if p.poll() is not None:
            break
    raise AssertionError("process did not become ready: %r" % (p.args,))


class Rig:
    def __init__(self, tmp, procs, mamori):
        self.tmp, self.procs, self.mamori = tmp, procs, mamori
        self.vendor = tmp / "vendor"
        self.term = tmp / "term"
        self.devs = {}
        self.tproc = None
        r = mamori("vendor", "init", "--dir", self.vendor)
        assert r.returncode == 0, r.stderr
        self.term.mkdir(mode=0o700)
        r = mamori("devices", "trust-ca", "--state", self.term, "--ca-pub", self.vendor / "ca.pub")
        assert r.returncode == 0, r.stderr
        for oid, role, pw in [(MAINT, "maintainer", MAINT_PW), (MGR, "manager", MGR_PW),
                              ("maint2", "maintainer", "maint-pw-2"), ("cash1", "cashier", "cash-pw-1")]:
            r = mamori("operator", "add", "--db", self.term / "operators.db", "--id", oid,
                       "--name", oid, "--role", role, input=pw + "\n")
            assert r.returncode == 0, r.stderr

    # ---- terminal
    def start_terminal(self, bus=None, listen="unix:bus.sock"):
        cfg = {"listen": listen, "heartbeat_ms": "500"}
        cfg.update(bus or {})
        ini = "[bus]\n" + "".join("%s = %s\n" % kv for kv in cfg.items())
        (self.tmp / "terminald.ini").write_text(ini)
        self.tproc = self.procs([prog("mamori-terminald"), "--state", self.term, "--config",
                                 self.tmp / "terminald.ini", "--max-runtime", RUNTIME])
        wait_ready(self.tproc)
        return self.tproc

    @property
    def bus_sock(self):
        return str(self.term / "bus.sock")

    def tctl(self, *words, check=True):
        r = subprocess.run([prog("mamori-devsim"), "ctl", "--ctl", str(self.term / "ctl.sock"),
                            *map(str, words)], capture_output=True, text=True, timeout=30)
        if check:
            assert r.returncode == 0, (words, r.stdout, r.stderr)
        return r.stdout

    def events(self, typ=None, serial=None):
        out = []
        for line in self.tctl("events").splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            if (typ is None or e["type"] == typ) and (serial is None or e["serial"] == serial):
                out.append(e)
        return out

    def audit_count(self, event):
        return int(self.tctl("audit-count", event).strip())

    def attached(self, serial):
        for line in self.tctl("devices").splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            if d["serial"] == serial:
                return d["attached"]
        return False

    # ---- devices
    def make_device(self, name, kind, serial=None, enrol=True, vendor=None, fw=None, state=None):
        st = state or (self.tmp / name)
        r = subprocess.run([prog("mamori-devsim"), "init", "--kind", kind, "--state", str(st),
                            "--serial", serial or name.upper()], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        ident = json.loads(r.stdout)
        args = ["vendor", "issue", "--dir", vendor or self.vendor, "--identity", st / "identity.json",
                "--out", st / "device.cert"]
        if fw:
            args += ["--fw", fw]
        r = self.mamori(*args)
        assert r.returncode == 0, r.stderr
        self.devs[name] = {"state": st, "kind": kind, "serial": ident["serial"], "ident": ident}
        if enrol:
            r = self.enrol(name)
            assert r.returncode == 0, r.stderr
        return self.devs[name]

    def enrol(self, name, maint=MAINT, mpw=MAINT_PW, mgr=MGR, gpw=MGR_PW):
        d = self.devs[name]
        return self.mamori("devices", "enrol", "--state", self.term, "--cert", d["state"] / "device.cert",
                           "--kind", d["kind"], "--maintainer", maint, "--manager", mgr,
                           input="%s\n%s\n" % (mpw, gpw))

    def start_device(self, name, connect=None, hb=500):
        d = self.devs[name]
        p = self.procs([prog("mamori-devsim"), "--kind", d["kind"], "--state", d["state"],
                        "--connect", connect or ("unix:" + self.bus_sock), "--hb-ms", hb,
                        "--max-runtime", RUNTIME])
        wait_ready(p)
        d["proc"] = p
        return p

    def dctl(self, name, *words, check=True):
        r = subprocess.run([prog("mamori-devsim"), "ctl", "--ctl", str(self.devs[name]["state"] / "ctl.sock"),
                            *map(str, words)], capture_output=True, text=True, timeout=30)
        if check:
            assert r.returncode == 0, (words, r.stdout, r.stderr)
        return r.stdout

    def dlog(self, name):
        return [json.loads(x) for x in self.dctl(name, "log").splitlines() if x.strip()]

    def dstatus(self, name):
        return json.loads(self.dctl(name, "status").splitlines()[0])


class Relay:
    """A frame-aware man in the middle on unix sockets (stream framing)."""

    def __init__(self, listen_path, upstream_path):
        self.listen_path, self.upstream = str(listen_path), str(upstream_path)
        self.c2s = bytearray()   # device -> terminal bytes as seen on the wire
        self.s2c = bytearray()
        self.c2s_frames = []     # payloads
        self.flip_next_data = False
        self.frozen = False
        self.server = None
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.listen_path)
        self.ls.listen(4)
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.ls.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.upstream)
            self.server = s
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def _pump(self, src, dst, c2s):
        buf = b""
        while not self.stop:
            try:
                d = src.recv(65536)
            except OSError:
                d = b""
            if not d:
                if not self.frozen:
                    try:
                        dst.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            buf += d
            while len(buf) >= 2:
                n = struct.unpack(">H", buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                frame, buf = buf[:2 + n], buf[2 + n:]
                payload = frame[2:]
                with self.lock:
                    if c2s:
                        self.c2s_frames.append(payload)
                        if self.flip_next_data and payload[0] == 2:
                            self.flip_next_data = False
                            b = bytearray(frame)
                            b[-5] ^= 0x04
                            frame = bytes(b)
                    (self.c2s if c2s else self.s2c).extend(frame)
                if self.frozen:
                    continue
                try:
                    dst.sendall(frame)
                except OSError:
                    return

    def inject_to_server(self, payload):
        self.server.sendall(struct.pack(">H", len(payload)) + payload)

    def data_frames(self):
        with self.lock:
            return [f for f in self.c2s_frames if f[0] == 2]

    def close(self):
        self.stop = True
        self.ls.close()
