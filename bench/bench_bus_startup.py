#!/usr/bin/python3
"""Bench: time from mamori-terminald start until 12 enrolled devices (one of
each kind) are attached, and resident memory of terminald with 12 devices and
of one devsim. Runs real processes in a temp dir (unix sockets only).

    bench/bench_bus_startup.py [BUILD_DIR] [ROUNDS]
"""
import json
import shutil
import os
import pathlib
import subprocess
import sys
import tempfile
import time

BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
CMD = BUILD / "src" / "cmd"
KINDS = ["scanner", "msr", "pinpad", "icreader", "scale", "drawer", "changer", "printer",
         "linedisplay", "custdisplay", "keyboard", "sigpad"]


def run(*a, inp=None):
    r = subprocess.run([str(x) for x in a], input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed: %r\n%s%s" % (a, r.stdout, r.stderr))
    return r.stdout


def ctl(sock, *w):
    r = subprocess.run([str(CMD / "mamori-devsim"), "ctl", "--ctl", str(sock), *w],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def attached(term):
    out = ctl(term / "ctl.sock", "status")
    return json.loads(out)["attached"] if out else -1


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def start_term(term):
    p = subprocess.Popen([str(CMD / "mamori-terminald"), "--state", str(term), "--max-runtime", "300"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mamori-bench-"))
    m = CMD / "mamori"
    term = tmp / "term"
    run(m, "vendor", "init", "--dir", tmp / "v")
    term.mkdir(mode=0o700)
    run(m, "devices", "trust-ca", "--state", term, "--ca-pub", tmp / "v" / "ca.pub")
    run(m, "operator", "add", "--db", term / "operators.db", "--id", "m1", "--name", "m",
        "--role", "maintainer", inp="pw-maint-1\n")
    run(m, "operator", "add", "--db", term / "operators.db", "--id", "g1", "--name", "g",
        "--role", "manager", inp="pw-manager-1\n")
    devs = []
    for k in KINDS:
        st = tmp / k
        run(CMD / "mamori-devsim", "init", "--kind", k, "--state", st, "--serial", k.upper() + "-1")
        run(m, "vendor", "issue", "--dir", tmp / "v", "--identity", st / "identity.json", "--out", st / "device.cert")
        run(m, "devices", "enrol", "--state", term, "--cert", st / "device.cert", "--kind", k,
            "--maintainer", "m1", "--manager", "g1", inp="pw-maint-1\npw-manager-1\n")
        devs.append(st)
    t = start_term(term)
    t.stdout.readline()
    procs = [subprocess.Popen([str(CMD / "mamori-devsim"), "--kind", k, "--state", str(st), "--connect",
                               "unix:%s" % (term / "bus.sock"), "--max-runtime", "300"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for k, st in zip(KINDS, devs)]
    t0 = time.monotonic()
    while attached(term) < 12:
        if time.monotonic() - t0 > 20:
            raise SystemExit("devices did not attach")
        time.sleep(0.005)
    print("first start (XX pairing, devices started after terminald): %.0f ms" % ((time.monotonic() - t0) * 1000))
    time.sleep(1.0)
    print("RSS terminald with 12 devices: %.1f MiB" % (rss_kib(t.pid) / 1024))
    print("RSS one devsim (scanner): %.1f MiB" % (rss_kib(procs[0].pid) / 1024))
    print("RSS largest devsim: %.1f MiB" % (max(rss_kib(p.pid) for p in procs) / 1024))
    ctl(term / "ctl.sock", "stop")
    t.wait()
    times = []
    for _ in range(ROUNDS):
        time.sleep(0.5)  # devices are retrying their connect
        t0 = time.monotonic()
        t = start_term(term)
        t.stdout.readline()
        while attached(term) < 12:
            if time.monotonic() - t0 > 20:
                raise SystemExit("devices did not reattach")
            time.sleep(0.002)
        times.append((time.monotonic() - t0) * 1000)
        ctl(term / "ctl.sock", "stop")
        t.wait()
    times.sort()
    print("terminald start -> 12 enrolled devices attached (KK, devices waiting): "
          "median %.0f ms, max %.0f ms over %d rounds" % (times[len(times) // 2], times[-1], ROUNDS))
    for p in procs:
        p.kill()
        p.wait()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
