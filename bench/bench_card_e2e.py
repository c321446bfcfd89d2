#!/usr/bin/python3
"""Bench (issue 4): end-to-end card authorisation latency through the bus
and the payment host.

A terminal (mamori-terminald with the register) with the card devices and a
printer on the secure bus, mamori-payhost (the SIMULATOR) on a loopback HTTPS
port, DUKPT keys injected by `mamori keys inject` with two custodians. Each
sample is one credit sale with PIN: the register asks the PIN pad to begin,
the shopper swipes and keys the PIN (the PIN pad's control socket); the clock
starts when the shopper presses "enter" and stops when the register's API
answers: PIN pad builds and encrypts the PIN block and the card record
(DUKPT) -> Noise bus -> terminald -> HTTPS (libcurl, pinned) -> host derives
the keys, decrypts, verifies MAC, PIN, issuer rules -> approval -> payment
store + journal (fsync) -> receipt to the printer over the bus -> API answer.
Baseline: the same sale paid in cash keyed by the operator (journal, printer,
drawer; no card, no host), timed from the request.

    bench/bench_card_e2e.py [BUILD_DIR] [N]
"""
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build").resolve()
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
os.environ["MAMORI_BUILD"] = str(BUILD)
sys.path.insert(0, str(ROOT / "tests" / "system"))

from payfix import PIN, T1, T2, PayRegister  # noqa: E402

TEA = "4901234001077"


def ctl(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(path))
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    started = []

    def procs(argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen([str(a) for a in argv], **kw)
        started.append(p)
        return p

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mamori-bench-card-"))
    try:
        r = PayRegister(tmp, procs, relay_pinpad=False)
        r.start_all()
        r.inject_all()
        r.signon()
        r.api.post("/v1/day/open", {"change_fund": 3000000})
        pp = r.dev["pinpad"] / "ctl.sock"
        card, cash = [], []
        for i in range(N + 5):
            r.api.post("/v1/scan", {"code": TEA})
            out = {}

            def call():
                out["r"] = r.api.post("/v1/tender/card", {"amount": 160}, ok=False)
                out["t"] = time.perf_counter()
            th = threading.Thread(target=call)
            th.start()
            while "waiting for PIN" not in ctl(pp, "status"):
                time.sleep(0.001)
            ctl(pp, "swipe %s %s" % (T1, T2))
            ctl(pp, "pin %s" % PIN)
            t0 = time.perf_counter()
            ctl(pp, "enter")
            th.join(60)
            assert out["r"][0] == 200, out
            if i >= 5:
                card.append(out["t"] - t0)
            r.api.post("/v1/scan", {"code": TEA})
            t0 = time.perf_counter()
            st, j = r.api.post("/v1/tender/cash", {"amount": 160}, ok=False)
            assert st == 200, j
            if i >= 5:
                cash.append(time.perf_counter() - t0)
        c50, c99 = pct(card, 50) * 1e3, pct(card, 99) * 1e3
        b50, b99 = pct(cash, 50) * 1e3, pct(cash, 99) * 1e3
        print("card sale with PIN, enter -> approved and printed: p50 %.2f ms  p99 %.2f ms  (n=%d)" % (c50, c99, N))
        print("baseline cash sale (journal + printer + drawer):     p50 %.2f ms  p99 %.2f ms" % (b50, b99))
        print("ratio card/cash: p50 %.2fx  p99 %.2fx" % (c50 / b50, c99 / b99))
    finally:
        for p in started:
            p.kill()
            p.wait()
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
