"""Register system-test fixture: a real mamori-terminald with simulated
devices (mamori-devsim) enrolled through the CLI under dual control, the item
master imported from data/items.csv, operators in the terminal's
operators.db, and an HTTP client for the register API on its unix socket.

Only unix sockets in a temp dir; every process has --max-runtime and is
killed at teardown by the `procs` fixture.
"""
import http.client
import json
import os
import pathlib
import socket
import subprocess
import time

from conftest import ROOT, prog

KINDS = ["scanner", "scale", "drawer", "changer", "printer", "linedisplay", "custdisplay",
         "keyboard"]
PASSWORDS = {"maint": "maint-pw-1", "boss": "boss-pw-1", "kenji": "kenji-pw-1",
             "yumi": "yumi-pw-1", "taro": "taro-pw-1"}
ROLES = {"maint": "maintainer", "boss": "manager", "kenji": "cashier", "yumi": "checker",
         "taro": "cashier"}
MANAGER = {"id": "boss", "password": PASSWORDS["boss"]}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Api:
    def __init__(self, sock):
        self.sock = str(sock)

    def call(self, method, path, body=None, raw=None, timeout=60):
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return r.status, json.loads(text) if text else None

    def post(self, path, body=None, ok=True, **kw):
        st, j = self.call("POST", path, body if body is not None else {}, **kw)
        if ok:
            assert st == 200, (path, st, j)
        return st, j

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def state(self):
        st, j = self.get("/v1/state")
        assert st == 200
        return j["state"]


def run(argv, input=None, check=True, timeout=60):
    r = subprocess.run(list(map(str, argv)), input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return r


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Register:
    """A terminal with devices, built in tmp."""

    def __init__(self, tmp, procs, kinds=KINDS, config_extra="", max_runtime=300):
        self.tmp = pathlib.Path(tmp)
        self.max_runtime = max_runtime  # seconds every started process may live
        self.procs = procs
        self.state = self.tmp / "term"
        self.vendor = self.tmp / "vendor"
        self.kinds = list(kinds)
        self.dev = {}
        self.devproc = {}
        self.term = None
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(mode=0o700)
        self.config = self.tmp / "terminal.ini"
        self.config.write_text("[pos]\nconfirm_ms = 8000\ndeposit_idle_ms = 700\n"
                               "request_ms = 3000\n" + config_extra)
        mamori = prog("mamori")
        run([mamori, "vendor", "init", "--dir", self.vendor])
        run([mamori, "devices", "trust-ca", "--state", self.state, "--ca-pub",
             self.vendor / "ca.pub"])
        ops = self.state / "operators.db"
        for op, role in ROLES.items():
            run([mamori, "operator", "add", "--db", ops, "--id", op, "--name", op, "--role", role],
                input=PASSWORDS[op] + "\n")
        run([mamori, "items", "import", ROOT / "data" / "items.csv", "--db",
             self.state / "items.db"])
        for k in self.kinds:
            self.enrol(k)
        self.api = Api(self.state / "pos.sock")

    def enrol(self, k, name=None):
        """A new simulated device of kind k enrolled under dual control (also
        while mamori-terminald runs); name: its key in self.dev (default k)."""
        name = name or k
        d = self.tmp / ("dev-" + name)
        run([prog("mamori-devsim"), "init", "--kind", k, "--state", d])
        run([prog("mamori"), "vendor", "issue", "--dir", self.vendor, "--identity",
             d / "identity.json", "--out", d / "device.cert"])
        run([prog("mamori"), "devices", "enrol", "--state", self.state, "--cert",
             d / "device.cert", "--kind", k, "--maintainer", "maint", "--manager", "boss"],
            input=PASSWORDS["maint"] + "\n" + PASSWORDS["boss"] + "\n")
        self.dev[name] = d
        return d

    def start(self, wait_devices=True):
        self.term = self.procs([prog("mamori-terminald"), "--state", self.state, "--config",
                                self.config, "--max-runtime", self.max_runtime])
        line = self.term.stdout.readline()
        assert b"ready" in line, line
        for k in self.kinds:
            if k not in self.devproc or self.devproc[k].poll() is not None:
                self.start_device(k)
        if wait_devices:
            assert wait_for(lambda: all(self.devices().get(k) for k in self.kinds), 15), \
                self.devices()
        return self

    def start_device(self, k, kind=None):
        p = self.procs([prog("mamori-devsim"), "--kind", kind or k, "--state", self.dev[k], "--connect",
                        "unix:" + str(self.state / "bus.sock"), "--max-runtime", self.max_runtime])
        line = p.stdout.readline()
        assert b"ready" in line, (k, line)
        self.devproc[k] = p

    def kill9(self):
        self.term.kill()
        self.term.wait(timeout=10)

    def devices(self):
        try:
            st, j = self.api.get("/v1/state?devices=1")
        except OSError:
            return {}
        return j.get("devices", {}) if st == 200 else {}

    def ctl(self, kind, *words):
        r = run([prog("mamori-devsim"), "ctl", "--ctl", self.dev[kind] / "ctl.sock", *words],
                check=False)
        return r.stdout.strip() + r.stderr.strip()

    def printer_out(self):
        p = self.dev["printer"] / "fw" / "printer.out"
        return p.read_bytes() if p.exists() else b""

    def decode_receipts(self, data):
        f = self.tmp / "roll.bin"
        f.write_bytes(data)
        return run([prog("mamori"), "receipt", "decode", f]).stdout

    def signon(self, op="kenji"):
        return self.api.post("/v1/signon", {"id": op, "password": PASSWORDS[op]})
