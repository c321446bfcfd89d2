#!/usr/bin/python3
"""Bench (issue 3): scan -> line display updated, end to end through the bus
with the durable journal write.

One register station (`mamori register --state --api`) hosts the terminal's
bus; a line display and a customer display (mamori-devsim, enrolled, Noise KK
sessions) are attached. Each sample is one `scan CODE` posted to the
register's API over a kept-alive unix-socket connection; the answer comes back
only after the engine validated the code (barcode + item master), committed
the open transaction to the journal (WAL, synchronous=FULL: fsync) and both
displays acknowledged `*.text` over the bus. Baseline: the same with the
in-process simulated devices (no bus).

    bench/bench_scan_display.py [BUILD_DIR] [N]
"""
import http.client
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build").resolve()
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
CMD = BUILD / "src" / "cmd"
CODES = ["4901234001077", "4901234001145", "4901234001213", "4901234001282"]


def run(*a, inp=None):
    r = subprocess.run([str(x) for x in a], input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed: %r\n%s%s" % (a, r.stdout, r.stderr))
    return r.stdout


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.upath = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.upath)


def post(c, line):
    c.request("POST", "/v1/command", body=json.dumps({"line": line}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    o = json.loads(r.read())
    if not o["ok"]:
        raise SystemExit("refused: %s: %s" % (line, o["error"]))
    return o


def wait_line(p, word):
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("register exited")
        if word in line:
            return


def measure(sock, n):
    c = UnixHTTP(str(sock))
    post(c, "signon csh pw-cashier-1")
    lat = []
    for i in range(n):
        if i and i % 10 == 0:
            post(c, "cancel mgr pw-manager-1")  # keep transactions at a realistic size
        t0 = time.perf_counter()
        post(c, "scan " + CODES[i % len(CODES)])
        lat.append((time.perf_counter() - t0) * 1e6)
    post(c, "cancel mgr pw-manager-1")
    post(c, "signoff")
    c.close()
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mamori-bench-scan-"))
    m = CMD / "mamori"
    try:
        run(m, "items", "import", ROOT / "data" / "items.csv", "--db", tmp / "items.db")
        term = tmp / "term"
        run(m, "vendor", "init", "--dir", tmp / "v")
        term.mkdir(mode=0o700)
        run(m, "devices", "trust-ca", "--state", term, "--ca-pub", tmp / "v" / "ca.pub")
        for oid, role, pw in [("m1", "maintainer", "pw-maint-1"), ("mgr", "manager", "pw-manager-1"),
                              ("csh", "cashier", "pw-cashier-1")]:
            run(m, "operator", "add", "--db", term / "operators.db", "--id", oid, "--name", oid,
                "--role", role, inp=pw + "\n")
        devs = []
        for k in ["linedisplay", "custdisplay"]:
            st = tmp / k
            run(CMD / "mamori-devsim", "init", "--kind", k, "--state", st, "--serial", k.upper())
            run(m, "vendor", "issue", "--dir", tmp / "v", "--identity", st / "identity.json",
                "--out", st / "device.cert")
            run(m, "devices", "enrol", "--state", term, "--cert", st / "device.cert", "--kind", k,
                "--maintainer", "m1", "--manager", "mgr", inp="pw-maint-1\npw-manager-1\n")
            devs.append((k, st))
        (tmp / "t.ini").write_text("[bus]\nlisten = unix:bus.sock\n")
        results = {}
        for mode in ["sim", "bus"]:
            sock = tmp / ("api-%s.sock" % mode)
            argv = [str(m), "register", "--dir", str(tmp / ("reg-" + mode)), "--items", str(tmp / "items.db"),
                    "--operators", str(term / "operators.db"), "--api", str(sock), "--max-runtime", "600"]
            if mode == "bus":
                argv += ["--state", str(term), "--config", str(tmp / "t.ini")]
            reg = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            wait_line(reg, "ready")
            procs = []
            if mode == "bus":
                procs = [subprocess.Popen([str(CMD / "mamori-devsim"), "--kind", k, "--state", str(st),
                                           "--connect", "unix:%s" % (term / "bus.sock"),
                                           "--max-runtime", "600"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for k, st in devs]
                c = UnixHTTP(str(sock))
                post(c, "wait-devices 2 20")
                c.close()
            measure(sock, 100)  # warm-up
            results[mode] = measure(sock, N)
            reg.terminate()
            reg.wait()
            for p in procs:
                p.kill()
                p.wait()
        for mode, label in [("sim", "baseline: simulated devices in-process"),
                            ("bus", "through the bus (2 displays, Noise KK)")]:
            p50, p99, mx = results[mode]
            print("%-42s p50 %7.0f us  p99 %7.0f us  max %7.0f us" % (label, p50, p99, mx))
        print("ratio p99 bus / baseline: %.2f" % (results["bus"][1] / results["sim"][1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
