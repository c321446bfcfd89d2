#!/usr/bin/env python3
"""Scan -> line display through mamori-terminald's register (src/pos/service.c):
POST /v1/scan on the API's unix socket (kept-alive connection) returns after
the code is parsed and looked up, the open transaction is committed to the
journal (WAL, synchronous=FULL) and the line display and customer display
(mamori-devsim over the secure bus, via the UPOS device API) acknowledged
the text. Baseline: the same terminal without display devices (journal only).

usage: bench/bench_terminald_scan.py BUILD_DIR [N] [ROUNDS]

With ROUNDS > 1 the two modes alternate ROUNDS times (on a shared machine the
load changes between runs) and the medians of the rounds are printed last.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "system"))
os.environ["MAMORI_BUILD"] = str(pathlib.Path(sys.argv[1]).resolve())
import regfix  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
CODES = ["4901234001077", "4901234001145", "4901234001213", "4901234001282"]


def run(kinds):
    started = []

    def procs(argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(list(map(str, argv)), **kw)
        started.append(p)
        return p
    try:
        with tempfile.TemporaryDirectory() as d:
            r = regfix.Register(d, procs, kinds=kinds).start()
            r.signon()
            c = regfix.UnixHTTPConnection(str(r.state / "pos.sock"), timeout=30)
            lat = []
            for i in range(N):
                body = json.dumps({"code": CODES[i % len(CODES)]})
                t0 = time.perf_counter()
                c.request("POST", "/v1/scan", body=body,
                          headers={"Content-Type": "application/json"})
                resp = c.getresponse()
                text = resp.read()
                lat.append(time.perf_counter() - t0)
                assert resp.status == 200
                if i % 10 == 9:
                    due = json.loads(text)["state"]["due"]
                    c.request("POST", "/v1/tender/cash", body=json.dumps({"amount": due}),
                              headers={"Content-Type": "application/json"})
                    r2 = c.getresponse()
                    r2.read()
                    assert r2.status == 200
            lat.sort()
            return lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3, lat[-1] * 1e3
    finally:
        for p in started:
            p.kill()


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


bases, fulls = [], []
for _ in range(ROUNDS):
    base = run(["printer", "drawer", "changer"])
    full = run(["printer", "drawer", "changer", "linedisplay", "custdisplay"])
    bases.append(base)
    fulls.append(full)
    print("N=%d  load %.2f" % (N, os.getloadavg()[0]))
    print("baseline (journal, no displays): p50 %.2f ms  p99 %.2f ms  max %.2f ms" % base)
    print("with line display + customer display on the bus: p50 %.2f ms  p99 %.2f ms  max %.2f ms"
          % full)
    print("ratio p50 %.2f  p99 %.2f" % (full[0] / base[0], full[1] / base[1]), flush=True)
if ROUNDS > 1:
    base = tuple(median([b[i] for b in bases]) for i in range(3))
    full = tuple(median([f[i] for f in fulls]) for i in range(3))
    print("median of %d rounds: baseline p50 %.2f ms  p99 %.2f ms;"
          " with displays p50 %.2f ms  p99 %.2f ms; ratio p50 %.2f  p99 %.2f"
          % (ROUNDS, base[0], base[1], full[0], full[1], full[0] / base[0], full[1] / base[1]))
