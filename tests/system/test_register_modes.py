"""Register modes and day operations inside mamori-terminald with simulated
devices (OPS-1 returns and approvals, OPS-3 two-person / suspend-resume /
training, OPS-5 X and Z reports, durability: kill -9 mid-transaction)."""
import json
import subprocess

from conftest import prog
from regfix import MANAGER, PASSWORDS, Register, wait_for

TEA = "4901234001077"      # ¥160 reduced
GREEN = "4901234001145"    # ¥160 reduced
SASHIMI = "2112002515005"  # ¥1,500 price-embedded
SASHIMI_KEY = "2112002500001"  # its lookup key (price digits zero)


def station(tmp_path, procs, op="kenji"):
    r = Register(tmp_path, procs).start()
    if op:
        r.signon(op)
        r.api.post("/v1/day/open", {"change_fund": 30000})
    return r


def test_ops1_return_needs_manager_and_cannot_exceed_sold(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA, "qty": 2})
    r.api.post("/v1/scan", {"code": SASHIMI})
    _, j = r.api.post("/v1/tender/cash", {"amount": 2000})
    sold = j["receipt"]
    # Without a manager, or with a wrong password: refused, nothing started.
    st, j = r.api.post("/v1/return", {"receipt": sold}, ok=False)
    assert st in (401, 403), j
    st, j = r.api.post("/v1/return", {"receipt": sold,
                                      "manager": {"id": "boss", "password": "nope"}}, ok=False)
    assert st == 401, j
    assert r.api.state()["state"] == "idle"
    # A cashier cannot approve.
    st, j = r.api.post("/v1/return", {"receipt": sold, "manager": {
        "id": "taro", "password": PASSWORDS["taro"]}}, ok=False)
    assert st == 403, j
    # With the manager: the return starts, more than sold is refused.
    r.api.post("/v1/return", {"receipt": sold, "manager": MANAGER})
    st, j = r.api.post("/v1/return/line", {"line": 1, "qty": 3}, ok=False)
    assert st in (400, 422), j
    _, j = r.api.post("/v1/return/line", {"line": 1, "qty": 2})
    assert j["state"]["total"] == -320
    _, j = r.api.post("/v1/refund/cash")
    refund_receipt = j["receipt"]
    assert refund_receipt == sold + 1
    # The same lines cannot be refunded twice.
    r.api.post("/v1/return", {"receipt": sold, "manager": MANAGER})
    st, j = r.api.post("/v1/return/line", {"line": 1, "qty": 1}, ok=False)
    assert st in (400, 409, 422), j
    # Line 2 (not yet returned) still can be.
    r.api.post("/v1/return/line", {"line": 2, "qty": 1})
    r.api.post("/v1/refund/cash")
    st, j = r.api.get("/v1/journal/%d" % refund_receipt)
    assert st == 200
    text = json.dumps(j["receipt"], ensure_ascii=False)
    assert "boss" in text  # the approval names the manager


def test_ops3_two_person_attribution(tmp_path, procs):
    r = station(tmp_path, procs, op=None)
    r.api.post("/v1/signon/pair", {"checker": "yumi", "checker_password": PASSWORDS["yumi"],
                                   "cashier": "kenji", "cashier_password": PASSWORDS["kenji"]})
    r.api.post("/v1/day/open", {"change_fund": 0})
    r.api.post("/v1/scan", {"code": TEA})
    _, j = r.api.post("/v1/scan", {"code": GREEN})
    assert all(l["checker"] == "yumi" for l in j["state"]["lines"])
    _, j = r.api.post("/v1/tender/gift", {"amount": 100})
    assert j["state"]["tenders"][0]["cashier"] == "kenji"
    _, j = r.api.post("/v1/tender/cash", {"amount": 500})
    st, j = r.api.get("/v1/journal/%d" % j["receipt"])
    rec = json.dumps(j["receipt"], ensure_ascii=False)
    assert "yumi" in rec and "kenji" in rec
    # A checker alone cannot run a register.
    r.api.post("/v1/signoff")
    st, j = r.api.post("/v1/signon", {"id": "yumi", "password": PASSWORDS["yumi"]}, ok=False)
    assert st == 403, j


def test_ops3_suspend_and_resume_by_slip(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/scan", {"code": SASHIMI})
    _, j = r.api.post("/v1/suspend")
    slip = j["slip"]
    assert len(slip) == 20 and j["state"]["state"] == "idle"
    # Another operator at the station resumes it by the slip barcode.
    r.api.post("/v1/signoff")
    r.signon("taro")
    st, j = r.api.post("/v1/resume", {"slip": "1" * 20}, ok=False)
    assert st in (400, 404), j
    _, j = r.api.post("/v1/resume", {"slip": slip})
    assert j["state"]["total"] == 1660 and len(j["state"]["lines"]) == 2
    _, j = r.api.post("/v1/tender/cash", {"amount": 2000})
    assert j["change"] == 340
    # A slip resumes once.
    st, j = r.api.post("/v1/resume", {"slip": slip}, ok=False)
    assert st in (400, 404, 409)


def test_ops3_training_mode_not_in_totals(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/tender/cash", {"amount": 200})
    r.api.post("/v1/training", {"on": True})
    r.api.post("/v1/scan", {"code": SASHIMI})
    _, j = r.api.post("/v1/tender/cash", {"amount": 5000})
    assert j["state"]["training"] is True
    text = r.decode_receipts(r.printer_out())
    assert "トレーニング" in text or "TRAINING" in text.upper()
    r.api.post("/v1/training", {"on": False})
    _, j = r.api.post("/v1/report/x")
    rep = j["report"]
    assert rep["sales"] == 1 and rep["sales_amount"] == 160, rep


def test_ops5_x_and_z_reports(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/tender/cash", {"amount": 1000})
    r.api.post("/v1/scan", {"code": SASHIMI})
    r.api.post("/v1/tender/gift", {"amount": 2000})
    st, j = r.api.post("/v1/cash/paid-in", {"amount": 500}, ok=False)
    assert st in (401, 403), j   # paid-in needs a manager
    r.api.post("/v1/cash/paid-in", {"amount": 500, "note": "釣銭補充", "manager": MANAGER})
    r.api.post("/v1/cash/pickup", {"amount": 10000, "manager": MANAGER})
    _, j = r.api.post("/v1/report/x")
    x = j["report"]
    assert x["sales"] == 2 and x["sales_amount"] == 1660
    assert x["tenders"]["gift"]["amount"] == 1500  # a certificate gives no change
    assert x["paid_in"] == 500 and x["pickups"] == 10000
    assert "点検" in x["text"]
    # X reads, does not reset.
    _, j = r.api.post("/v1/report/x")
    assert j["report"]["sales"] == 2
    # Declaration by denomination: over/short.
    _, j = r.api.post("/v1/declare", {"counts": {"10000": 2, "1000": 1}})
    assert j["report"]["declared"] is True and "over_short" in j["report"]
    # Z is refused with a transaction open, then resets and counts.
    r.api.post("/v1/scan", {"code": TEA})
    st, j = r.api.post("/v1/report/z", ok=False)
    assert st == 409
    r.api.post("/v1/tender/cash", {"amount": 160})
    _, j = r.api.post("/v1/report/z")
    z = j["report"]
    assert z["sales"] == 3 and "精算" in z["text"]
    _, j = r.api.post("/v1/report/x")
    assert j["report"]["sales"] == 0 and j["report"]["z_no"] == z["z_no"] + 1


def test_durability_kill9_mid_transaction_resumes_completed_intact(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    _, j = r.api.post("/v1/tender/cash", {"amount": 1000})
    first = j["receipt"]
    r.api.post("/v1/scan", {"code": SASHIMI})
    r.api.post("/v1/scan", {"code": GREEN, "qty": 2})
    r.kill9()
    r.start()
    st = r.api.state()
    # The open transaction resumed with every acknowledged line.
    assert st["state"] in ("registering", "subtotal"), st
    assert [l["code"] for l in st["lines"]] == [SASHIMI_KEY, GREEN] and st["total"] == 1820
    # The completed sale is intact and not duplicated.
    s, j = r.api.get("/v1/journal?limit=10")
    assert [x["receipt"] for x in j["receipts"]] == [first]
    r.signon()  # sign-on is not persisted across a restart
    _, j = r.api.post("/v1/tender/cash", {"amount": 2000})
    assert j["receipt"] == first + 1 and j["change"] == 180


def test_ops1_console_script_on_terminald(tmp_path, procs):
    """`mamori register --socket` runs a script against the register in
    terminald; '!' lines must be refused; passwords from the script."""
    r = station(tmp_path, procs, op=None)
    script = tmp_path / "day.txt"
    script.write_text("\n".join([
        "signon kenji", PASSWORDS["kenji"],
        "open 30000",
        "qty 2",
        TEA,
        "scan " + SASHIMI,
        "!scan 4901234001078",
        "!qty 0",
        "subtotal",
        "gift 1000",
        "!cash 10",
        "cash 2000",
        "return 1 @boss", PASSWORDS["boss"],
        "retline 1 1",
        "refund",
        "xreport",
        "zreport",
        "search " + TEA,
        "",
    ]))
    p = subprocess.run([prog("mamori"), "register", "--socket", r.state / "pos.sock", "--script",
                        script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "receipt No.1" in out and "receipt No.2" in out
    assert "精算" in out and "点検" in out
    assert PASSWORDS["kenji"] not in out and PASSWORDS["boss"] not in out
    # An expected refusal that is accepted fails the script.
    bad = tmp_path / "bad.txt"
    bad.write_text("signon kenji\n%s\n!scan %s\n" % (PASSWORDS["kenji"], TEA))
    p = subprocess.run([prog("mamori"), "register", "--socket", r.state / "pos.sock", "--script",
                        bad], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "expected a refusal" in p.stdout


def changer_log(r, what):
    log = r.dev["changer"] / "fw" / "device.log"
    return [l for l in log.read_text().splitlines() if what in l] if log.exists() else []


def test_pol1_kill9_during_deposit_cash_exactly_once(tmp_path, procs):
    """kill -9 while the change machine holds the shopper's cash: after the
    restart the deposit is ended with its original key and counted once, and
    the change is dispensed exactly once."""
    import threading
    import time
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    def pay():
        try:
            r.api.call("POST", "/v1/tender/cash", {}, timeout=30)
        except OSError:
            pass   # the daemon is killed under it
    threading.Thread(target=pay, daemon=True).start()
    assert wait_for(lambda: r.ctl("changer", "insert", "100").startswith("deposit"), 5)
    r.kill9()   # the shopper inserted 100 yen; the deposit is still open on the device
    time.sleep(0.3)
    r.start()
    # Recovery ends the deposit (same key) once the change machine is back.
    assert wait_for(lambda: r.api.state().get("paid") == 100, 15), r.api.state()
    assert len(changer_log(r, "changer.deposit")) == 1
    r.signon()
    _, j = r.api.post("/v1/tender/cash", {"amount": 100})
    assert j["change"] == 40
    disp = changer_log(r, "changer.dispense")
    assert len(disp) == 1 and "amount=40" in disp[0], disp
    # A second restart re-sends nothing: still one deposit, one dispense.
    r.kill9()
    r.start()
    time.sleep(1.0)
    assert len(changer_log(r, "changer.deposit")) == 1
    assert len(changer_log(r, "changer.dispense")) == 1
    _, j = r.api.get("/v1/journal?limit=10")
    assert [x["receipt"] for x in j["receipts"]] == [1]


def test_ops1_register_config_and_loopback_tcp(tmp_path, procs):
    """[pos] config: a bad value stops terminald with file:line; the API can
    also listen on loopback TCP; without an item master the register is off
    (enabled = auto)."""
    import http.client
    import socket
    r = Register(tmp_path, procs, config_extra="regno = X123\n")
    p = subprocess.run([prog("mamori-terminald"), "--state", r.state, "--config", r.config,
                        "--max-runtime", "5"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "terminal.ini:" in p.stderr and "regno" in p.stderr, p.stderr
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r.config.write_text(r.config.read_text().replace("regno = X123\n", "") +
                        "api_tcp_port = %d\n" % port)
    r.start()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/v1/state")
    resp = c.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["state"]["terminal"] == "T1"
    r.kill9()
    (r.state / "items.db").unlink()
    r.start(wait_devices=False)
    try:
        r.api.get("/v1/state")
        assert False, "the register must not run without an item master"
    except OSError:
        pass   # the stale socket of the killed daemon refuses connections


def test_ops3_suspend_at_one_terminal_resume_at_another(tmp_path, procs):
    """Two mamori-terminald (T1, T2) sharing one journal (the in-store form of
    the payment station): a transaction suspended at T1 is resumed by its
    slip at T2 and paid there, once."""
    r1 = Register(tmp_path / "a", procs)
    r2 = Register(tmp_path / "b", procs, kinds=["printer", "drawer"])
    shared = r1.state / "journal.db"
    # The stations share the journal and the store's data key (records are sealed).
    r2.config.write_text("[terminal]\nid = T2\n[pos]\njournal = %s\nterminal_no = 2\n"
                         "data_key = %s\n" % (shared, r1.state / "pos-data.key"))
    r1.start()
    r2.start()
    r1.signon("kenji")
    r2.signon("taro")
    r1.api.post("/v1/scan", {"code": TEA})
    r1.api.post("/v1/scan", {"code": SASHIMI})
    _, j = r1.api.post("/v1/suspend")
    slip = j["slip"]
    _, j = r2.api.post("/v1/resume", {"slip": slip})
    assert j["state"]["terminal"] == "T2" and j["state"]["total"] == 1660
    _, j = r2.api.post("/v1/tender/cash", {"amount": 2000})
    assert j["change"] == 340
    # Resumed once: neither station can take the slip again.
    for r in (r1, r2):
        st, j = r.api.post("/v1/resume", {"slip": slip}, ok=False)
        assert st in (400, 404, 409), j
    assert "1,660" in r2.decode_receipts(r2.printer_out())


def test_ops1_console_tty_password_not_echoed(tmp_path, procs):
    """On a terminal the console asks for passwords without echo."""
    import os
    import pty
    import select
    import time
    r = station(tmp_path, procs, op=None)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(prog("mamori"), ["mamori", "register", "--socket", str(r.state / "pos.sock")])
    out = b""

    def read_until(token, timeout=10):
        nonlocal out
        end = time.time() + timeout
        while token not in out and time.time() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return token in out
    try:
        assert read_until(b"register> ")
        os.write(fd, b"signon kenji\n")
        assert read_until(b"password for kenji: ")
        os.write(fd, PASSWORDS["kenji"].encode() + b"\n")
        assert read_until(b"[idle] kenji")
        os.write(fd, b"quit\n")
        read_until(b"\x00", timeout=1)
    finally:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        os.waitpid(pid, 0)
    assert b"signon kenji" in out          # the terminal echoes what is typed ...
    assert PASSWORDS["kenji"].encode() not in out, out   # ... but not the password
    assert r.api.state()["operator"] == "kenji"
