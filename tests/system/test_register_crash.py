"""Crash injection through the whole stack (OPS-5 durability, DEV-18b / POL-1
cash exactly once): 500 scripted transactions with mixed tenders (keyed cash,
cash counted and paid out by the change machine, gift certificates, coupons,
points, split tenders, line voids and cancels) run over the register API of a
real mamori-terminald with simulated devices on the secure bus, while
terminald is killed with SIGKILL at random moments (seeded): during
registration, during and between tenders, while the change machine counts a
deposit, and while it dispenses change (the machine held with SIGSTOP so the
command is in flight when terminald dies). After every kill terminald is
restarted and the harness checks that the open transaction was resumed with
everything acknowledged, or that the killed call had finished it durably.
At the end it proves, from the journal, the X and Z reports and the change
machine's own signed device log, that

  - every acknowledged sale is in the journal exactly once, and every
    scripted transaction ended exactly once (one receipt or one cancel);
  - the X and Z totals equal the sums of the journal's receipts and of the
    totals the harness saw;
  - the change machine dispensed each change (and each pay-back of cash
    counted for a cancelled sale) exactly once, and nothing else.

The seed is MAMORI_CRASH_SEED (default SEED) and is printed with the counts.
"""
import collections
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import threading

from conftest import prog
from regfix import MANAGER, PASSWORDS, Register, UnixHTTPConnection, run, wait_for

TXNS = int(os.environ.get("MAMORI_CRASH_TXNS", "500"))  # fewer only while developing
SEED = int(os.environ.get("MAMORI_CRASH_SEED", "20261126"))
KILL_P = 0.02            # chance that an API call gets a SIGKILL at a random moment
MIN_KILLS = 40 * TXNS // 500
TERMINAL = "T1"
ITEMS = ["4901234001077", "4901234001145", "4901234001213", "4901234001282",
         "4598765001357", "4901234001428", "4901234001565", "4598765001708",
         "4901234001770", "2112002515005"]
MEMBER = "9876543210123456"


def coupon(kind, cid, value, expiry="991231"):
    """An in-store coupon barcode (docs/barcodes.md) with its GS1 check digit."""
    body = "29%d%04d%04d%s" % (kind, cid, value, expiry)
    s = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - s % 10) % 10)


COUPONS = [coupon(1, 17, 50), coupon(2, 18, 5)]   # ¥50 off, 5 % off
assert coupon(1, 17, 100, "261231") == "291001701002612314"  # the example in docs/barcodes.md


def paid_up(due, rnd):
    """What a shopper hands over for due yen."""
    way = rnd.random()
    if way < 0.6:
        return (due // 1000 + 1) * 1000
    if way < 0.85:
        return due
    return due + rnd.randint(1, 99)


def notes_for(amount):
    """Notes and coins covering amount (at most a few pieces)."""
    out = []
    for d in (5000, 1000, 500, 100, 50, 10):
        while amount >= d and len(out) < 12:
            out.append(d)
            amount -= d
    if amount > 0:
        out.append(1000)
    return out


class Harness:
    def __init__(self, r, rnd):
        self.r = r
        self.rnd = rnd
        self.conn = None
        self.killed = False
        self.kills = collections.Counter()   # by moment
        self.seen = collections.Counter()    # what the restarts found
        self.cur = None                      # the scripted transaction in progress
        self.s = {"state": "idle"}           # last known register state
        self.txns = []
        self.sock = str(r.state / "pos.sock")

    # ------------------------------------------------------------ plumbing

    def db(self, sql, *args):
        c = sqlite3.connect("file:%s?mode=ro" % (self.r.state / "journal.db"), uri=True,
                            timeout=10)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def dctl(self, kind, line):
        """A control command to a simulated device (its ctl.sock, as mamori-devsim ctl)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(str(self.r.dev[kind] / "ctl.sock"))
            s.sendall(line.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return out.decode()
                out += chunk
        finally:
            s.close()

    def kill(self, moment):
        if self.r.term.poll() is None:
            self.r.term.kill()  # SIGKILL
            self.kills[moment] += 1
            self.killed = True

    def state(self):
        st, j = self.r.api.get("/v1/state")
        assert st == 200, j
        return j["state"]

    def post_once(self, path, body, timeout=30):
        """One request on its own connection: (status, json) or (None, None)."""
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            c.request("POST", path, body=json.dumps(body),
                      headers={"Content-Type": "application/json"})
            resp = c.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        except (OSError, http.client.HTTPException, ValueError):
            return None, None
        finally:
            c.close()

    def call(self, path, body, moment=None):
        """POST on the kept-alive connection. With probability KILL_P terminald
        is killed at a random moment around the call (before the request
        arrives, while it runs, or just after it answered)."""
        timer = None
        if moment is None and self.rnd.random() < KILL_P:
            moment = "random " + path
        if moment is not None:
            delay = self.rnd.choice([self.rnd.uniform(0, 0.002), self.rnd.uniform(0.002, 0.01),
                                     self.rnd.uniform(0.01, 0.04)])
            timer = threading.Timer(delay, self.kill, (moment,))
            timer.start()
        res = (None, None)
        try:
            if self.conn is None:
                self.conn = UnixHTTPConnection(self.sock, timeout=30)
            self.conn.request("POST", path, body=json.dumps(body),
                              headers={"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            res = (resp.status, json.loads(resp.read() or b"null"))
        except (OSError, http.client.HTTPException, ValueError):
            self.conn.close()
            self.conn = None
        if timer is not None:
            timer.join()
        if self.killed:
            self.restart()
        return res

    def restart(self):
        """terminald again after a kill: devices re-attach, the operator signs
        on, interrupted cash commands are re-sent by terminald itself; then
        the open transaction must be back with everything acknowledged."""
        self.killed = False
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.r.term.wait(timeout=10)
        self.r.start()
        st, j = self.r.api.post("/v1/signon", {"id": "kenji", "password": PASSWORDS["kenji"]},
                                ok=False)
        assert st in (200, 409), j
        assert wait_for(lambda: not self.db("SELECT idem FROM cash_cmds WHERE state=0"), 20,
                        0.02), self.db("SELECT idem, kind FROM cash_cmds WHERE state=0")
        self.s = self.state()
        self.check_resumed()

    def check_resumed(self):
        c, s = self.cur, self.s
        if c is None:
            return
        if s["state"] != "idle":
            # Resumed: the same transaction, every acknowledged line and tender in it.
            assert c["txn_no"] in (None, s["txn_no"]), (c, s)
            assert [x["code"] for x in s["lines"][:len(c["codes"])]] == c["codes"], (c, s)
            assert all(s["lines"][k]["voided"] for k, v in enumerate(c["voided"]) if v), (c, s)
            assert [(x["kind"], x["amount"]) for x in s["tenders"][:len(c["tenders"])]] == \
                c["tenders"], (c, s)
            c["txn_no"] = s["txn_no"]
            self.seen["resumed"] += 1
        elif c["txn_no"] is not None:
            # Not open any more: the killed call (or the recovery of its cash
            # command) finished it, durably: one receipt or one cancel.
            done = self.db("SELECT 'sale' FROM receipts WHERE terminal=? AND txn_no=? UNION ALL "
                           "SELECT 'cancel' FROM cancelled WHERE terminal=? AND txn_no=?",
                           TERMINAL, c["txn_no"], TERMINAL, c["txn_no"])
            assert len(done) == 1, (c, done)
            self.seen["finished by the killed call"] += 1
        else:
            self.seen["nothing open yet"] += 1

    def ack(self):
        """Remember what the register acknowledged for the transaction."""
        c, s = self.cur, self.s
        if s["state"] == "idle":
            return
        assert c["txn_no"] in (None, s["txn_no"]), (c, s)
        c["txn_no"] = s["txn_no"]
        c["codes"] = [x["code"] for x in s["lines"]]
        c["voided"] = [x["voided"] for x in s["lines"]]
        c["tenders"] = [(x["kind"], x["amount"]) for x in s["tenders"]]
        c["total"] = s["total"]

    def step(self, path, body, done, moment=None):
        """One register operation, repeated after a crash until it took effect
        once. done(before, after) tells from the state whether a call whose
        answer was lost took effect. Returns (status, json); (None, None) when
        the effect was found after a crash."""
        for _ in range(10):
            before = self.s
            st, j = self.call(path, body, moment)
            moment = None
            if st is not None:
                if isinstance(j, dict) and "state" in j:
                    self.s = j["state"]
                if st == 200:
                    self.ack()
                return st, j
            self.s = self.state()
            if done(before, self.s):
                self.ack()
                self.seen["effect without answer"] += 1
                return None, None
        raise AssertionError("no progress on %s" % path)

    # ------------------------------------------------------------- tenders

    @staticmethod
    def tendered(b, a):
        return a["state"] == "idle" or len(a.get("tenders", [])) > len(b.get("tenders", []))

    def finish(self, st, j):
        """Record the completion answer of a sale."""
        if st == 200 and isinstance(j, dict) and "receipt" in j:
            self.cur["receipt"] = j["receipt"]
            self.cur["change"] = j["change"]

    def cash(self):
        due = self.s["due"]
        st, j = self.step("/v1/tender/cash", {"amount": paid_up(due, self.rnd)}, self.tendered)
        self.finish(st, j)

    def cash_mid_dispense(self):
        """Keyed cash with change while the change machine is held (SIGSTOP):
        terminald has committed the sale and the dispense intent and sent the
        command when it is killed; the machine executes it once released, and
        the restarted terminald re-sends it with the same key (replayed)."""
        due, txn = self.s["due"], self.s["txn_no"]
        box = {}
        pid = self.r.devproc["changer"].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=lambda: box.update(r=self.post_once(
                "/v1/tender/cash", {"amount": (due // 1000 + 1) * 1000})))
            t.start()
            sent = wait_for(lambda: self.db("SELECT idem FROM cash_cmds WHERE txn_no=? AND "
                                            "kind='dispense' AND state=0", txn), 10, 0.005)
            self.kill("mid-dispense")
            t.join(30)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert sent, "the dispense was never sent"
        idem = sent[0][0]
        log = self.r.dev["changer"] / "fw" / "device.log"
        if wait_for(lambda: ("idem=" + idem) in log.read_text(), 2, 0.01):
            self.seen["dispensed before the restart"] += 1
        self.restart()
        assert box["r"][0] is None or box["r"][0] == 200, box
        self.finish(*box["r"])

    def deposit(self, amount=None, kill=False):
        """Cash counted by the change machine: POST /v1/tender/cash {} waits
        while the shopper inserts notes (amount: less than due, the deposit
        ends when the shopper stops). kill: SIGKILL terminald while the deposit
        is open on the machine; the restart ends it with its key and applies
        what was counted."""
        due = self.s["due"]
        notes = notes_for(amount if amount is not None else due)
        box = {}
        t = threading.Thread(target=lambda: box.update(r=self.post_once("/v1/tender/cash", {})))
        t.start()
        ok = wait_for(lambda: self.dctl("changer", "insert " + " ".join(map(str, notes)))
                      .startswith("deposit"), 10, 0.005)
        if kill:
            self.kill("mid-deposit")
        t.join(40)
        assert ok, "the deposit never opened"
        if self.killed:
            self.restart()
            self.seen["deposit recovered"] += 1
            return
        st, j = box["r"]
        assert st == 200, j
        self.s = j["state"]
        self.ack()
        self.finish(st, j)

    # --------------------------------------------------------- transaction

    def transaction(self, i):
        rnd = self.rnd
        c = self.cur = {"i": i, "txn_no": None, "codes": [], "voided": [], "tenders": [],
                        "receipt": None, "change": None, "total": None, "outcome": "sale"}
        self.txns.append(c)
        kind = rnd.choices(["cash", "deposit", "gift", "coupon", "points", "split", "cancel",
                            "depcancel"], [28, 9, 12, 12, 12, 15, 9, 3])[0]
        for _ in range(rnd.randint(1, 4)):
            self.step("/v1/scan", {"code": rnd.choice(ITEMS), "qty": rnd.randint(1, 3)},
                      lambda b, a: len(a.get("lines", [])) > len(b.get("lines", [])))
        subtotal = rnd.random() < 0.5
        if subtotal:
            self.step("/v1/subtotal", {}, lambda b, a: a["state"] == "subtotal")
        live = [x["no"] for x in self.s["lines"] if not x["voided"]]
        if len(live) >= 2 and rnd.random() < 0.12:
            no = rnd.choice(live)
            body = {"line": no, "manager": MANAGER} if subtotal else {"line": no}
            self.step("/v1/void", body, lambda b, a: a["lines"][no - 1]["voided"])
        if kind in ("points", "split") or rnd.random() < 0.3:
            self.step("/v1/member", {"member": MEMBER}, lambda b, a: bool(a.get("member")))
        if kind == "cancel":
            if rnd.random() < 0.5 and self.s["due"] > 500:
                self.step("/v1/tender/gift", {"amount": 500, "cert": "G-%04d" % i}, self.tendered)
            self.cancel()
            return
        if kind == "depcancel":
            if self.s["due"] > 100:
                self.deposit(amount=rnd.choice([10, 50, 100]))
            self.cancel()
            return
        if kind in ("gift", "split") and self.s["due"] > 600:
            face = 1000 if self.s["due"] > 1500 else 500
            self.step("/v1/tender/gift", {"amount": face, "cert": "G-%04d" % i}, self.tendered)
        if kind in ("coupon", "split") and self.s["due"] > 100:
            self.step("/v1/tender/coupon", {"code": rnd.choice(COUPONS)}, self.tendered)
        if kind in ("points", "split") and self.s["due"] > 30:
            st, j = self.step("/v1/tender/points", {"points": rnd.randint(1, 30)}, self.tendered)
            assert st in (200, 422, None), j   # 422: not enough points yet
        if kind == "deposit":
            self.deposit(kill=rnd.random() < 0.35)
        elif kind == "split" and rnd.random() < 0.3:
            self.deposit()
        elif rnd.random() < 0.05:
            self.cash_mid_dispense()
        # Whatever is still due (a deposit cut short by a crash): keyed cash.
        for _ in range(5):
            if self.s["state"] == "idle":
                break
            self.cash()
        assert self.s["state"] == "idle", self.s

    def cancel(self):
        st, j = self.step("/v1/cancel", {"manager": MANAGER}, lambda b, a: a["state"] == "idle")
        assert st in (200, None), j
        self.cur["outcome"] = "cancel"


def changer_serial(r):
    out = run([prog("mamori"), "devices", "list", "--state", r.state, "--json"]).stdout
    for line in out.splitlines():
        d = json.loads(line)
        if d["kind"] == "changer":
            return d["serial"]
    raise AssertionError(out)


def device_log(r, serial):
    """The change machine's signed log as terminald fetched it: verified, then
    listed as (event, details)."""
    v = run([prog("mamori"), "devices", "log", serial, "--state", r.state, "--verify"],
            check=False)
    assert v.returncode == 0 and "OK" in v.stdout, v.stdout + v.stderr
    out = run([prog("mamori"), "devices", "log", serial, "--state", r.state, "--no-sync"]).stdout
    entries = []
    for line in out.splitlines():
        seq, _time, event, details = line.split(None, 3)
        entries.append((int(seq), event, json.loads(details)))
    assert [e[0] for e in entries] == list(range(len(entries)))  # none missing
    return [(e[1], e[2]) for e in entries]


def test_ops5_dev18_crash_injection_500_transactions_through_terminald(tmp_path, procs):
    rnd = random.Random(SEED)
    print("seed", SEED)
    r = Register(tmp_path, procs, max_runtime=900).start()
    h = Harness(r, rnd)
    r.signon()
    r.api.post("/v1/day/open", {"change_fund": 50000})
    for i in range(TXNS):
        if i % 20 == 0:
            assert h.dctl("changer", "refill").startswith("refilled"), "refill"
        h.transaction(i)
    h.cur = None
    kills = sum(h.kills.values())
    print("kills", kills, dict(h.kills))
    print("restarts found", dict(h.seen))
    assert kills >= MIN_KILLS, h.kills
    assert h.kills["mid-dispense"] >= MIN_KILLS // 10 and h.kills["mid-deposit"] >= MIN_KILLS // 10
    assert h.seen["resumed"] >= MIN_KILLS // 4, h.seen

    # -- every scripted transaction ended exactly once; acknowledged sales are in the journal once
    receipts = h.db("SELECT receipt_no, txn_no, total, change, tax10, tax8 FROM receipts "
                    "WHERE terminal=? ORDER BY receipt_no", TERMINAL)
    cancelled = [x[0] for x in h.db("SELECT txn_no FROM cancelled WHERE terminal=?", TERMINAL)]
    by_txn = collections.defaultdict(list)
    for row in receipts:
        by_txn[row[1]].append(row)
    sales = [c for c in h.txns if c["outcome"] == "sale"]
    cancels = [c for c in h.txns if c["outcome"] == "cancel"]
    assert len({c["txn_no"] for c in h.txns}) == TXNS, "one transaction number per script"
    for c in sales:
        rows = by_txn[c["txn_no"]]
        assert len(rows) == 1, (c, rows)
        if c["receipt"] is not None:            # acknowledged: that receipt, that total, that change
            assert rows[0][0] == c["receipt"] and rows[0][3] == c["change"], (c, rows)
        assert rows[0][2] == c["total"], (c, rows)
        assert c["txn_no"] not in cancelled
    for c in cancels:
        assert cancelled.count(c["txn_no"]) == 1 and not by_txn[c["txn_no"]], c
    assert len(receipts) == len(sales) and len(cancelled) == len(cancels)
    acked = [c for c in sales if c["receipt"] is not None]
    print("sales", len(sales), "acknowledged", len(acked), "cancels", len(cancels))
    assert len(acked) >= len(sales) - kills

    # -- the X and Z totals equal the sums of the journal's receipts (and the harness's)
    tenders = {k: (n, a) for k, n, a in h.db(
        "SELECT kind, COUNT(*), SUM(amount) FROM tenders GROUP BY kind")}
    want = {"sales": len(receipts), "sales_amount": sum(x[2] for x in receipts),
            "change_given": sum(x[3] for x in receipts), "cancels": len(cancelled),
            "tax10": sum(x[4] for x in receipts), "tax8": sum(x[5] for x in receipts)}
    assert want["sales_amount"] == sum(c["total"] for c in sales)
    _, x = r.api.post("/v1/report/x")
    _, z = r.api.post("/v1/report/z")
    for rep in (x["report"], z["report"]):
        assert {k: rep[k] for k in want} == want, (rep, want)
        assert {k: (v["count"], v["amount"]) for k, v in rep["tenders"].items()
                if v["count"]} == tenders, (rep["tenders"], tenders)
    assert z["report"]["z_no"] == 1
    assert h.db("SELECT COUNT(*) FROM receipts WHERE z_no IS NOT 1")[0][0] == 0
    _, x2 = r.api.post("/v1/report/x")
    assert x2["report"]["sales"] == 0 and x2["report"]["sales_amount"] == 0

    # -- the change machine paid each change and pay-back exactly once, and nothing else
    assert not h.db("SELECT idem FROM cash_cmds WHERE state<>1")
    cmds = {idem: (kind, amount, result) for idem, kind, amount, result in
            h.db("SELECT idem, kind, amount, result FROM cash_cmds")}
    log = device_log(r, changer_serial(r))
    paid = [(d.get("ref"), d["amount"]) for ev, d in log if ev == "changer.dispense"]
    counted = [(d.get("ref"), d["amount"]) for ev, d in log if ev == "changer.deposit"]
    refs = collections.Counter(ref for ref, _ in paid + counted)
    assert all(n == 1 for n in refs.values()), [k for k, n in refs.items() if n > 1]
    assert None not in refs, "a payout nobody commanded"
    assert dict(paid) == {k: v[1] for k, v in cmds.items() if v[0] == "dispense"}
    assert dict(counted) == {k: v[2] for k, v in cmds.items() if v[0] == "deposit"}
    change = {}
    for ref, amount in paid:
        t, txn, what = ref.split("-")
        assert t == TERMINAL and what.startswith(("change", "back")), ref
        if what.startswith("change"):
            change[int(txn)] = amount
    assert change == {row[1]: row[3] for row in receipts if row[3] > 0}
    # ... and its plain device.log agrees: one line per commanded dispense
    text = (r.dev["changer"] / "fw" / "device.log").read_text().splitlines()
    plain = collections.Counter(line.split("idem=")[1] for line in text
                                if " changer.dispense " in line and "by=command" in line)
    assert plain == collections.Counter(ref for ref, _ in paid), plain
    print("dispenses", len(paid), "deposits", len(counted))
