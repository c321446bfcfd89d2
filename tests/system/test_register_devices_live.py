"""Devices enrolled or re-attached while mamori-terminald runs are used
without a restart (DEV-18b change machine, DEV-8 scanner, DEV-16 printer, POL-1): a change machine enrolled later
takes over the cash (deposit and change through it); a change machine
detached in the middle of a deposit keeps that deposit exactly once when it
comes back; another change machine takes over only once it is enrolled AND
attached, and only while no cash command is waiting on the first one."""
import threading
import time

from regfix import KINDS, Register, wait_for

TEA = "4901234001077"        # ¥160
SASHIMI = "2112002515005"    # ¥1,500


def moves(r, name, event):
    """Cash movements the change machine `name` recorded: [(amount, idem)]."""
    log = r.dev[name] / "fw" / "device.log"
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        if event + " " in line and "by=command" in line:
            out.append((int(line.split("amount=")[1].split()[0]),
                        line.split("idem=")[1].split()[0]))
    return out


def drawer_opens(r):
    log = r.dev["drawer"] / "fw" / "device.log"
    return len([l for l in log.read_text().splitlines() if "drawer.open " in l]) \
        if log.exists() else 0


def start_pay(r):
    """POST /v1/tender/cash {} (through the change machine) in a thread."""
    result = {}

    def pay():
        result["r"] = r.api.post("/v1/tender/cash", {}, ok=False)
    t = threading.Thread(target=pay)
    t.start()
    return t, result


def pay_through_changer(r, name, notes):
    """Pay while the shopper inserts notes into the change machine `name`."""
    t, result = start_pay(r)
    for n in notes:
        assert wait_for(lambda: r.ctl(name, "insert", str(n)).startswith("deposit"), 10)
    t.join(60)
    return result["r"]


def test_dev18b_change_machine_enrolled_while_running_is_used(tmp_path, procs):
    r = Register(tmp_path, procs, kinds=[k for k in KINDS if k != "changer"]).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    assert r.devices().get("changer") is False
    # Without a change machine: the cash is keyed and the drawer opens.
    r.api.post("/v1/scan", {"code": TEA})
    st, j = r.api.post("/v1/tender/cash", {}, ok=False)
    assert st != 200 and "change machine" in j["message"], j
    opens = drawer_opens(r)
    _, j = r.api.post("/v1/tender/cash", {"amount": 1000})
    assert j["change"] == 840
    assert wait_for(lambda: drawer_opens(r) == opens + 1, 5)
    # Enrol a change machine under dual control and attach it: no restart.
    term_pid = r.term.pid
    r.enrol("changer")
    r.start_device("changer")
    assert wait_for(lambda: r.devices().get("changer"), 15), r.devices()
    r.api.post("/v1/scan", {"code": TEA})
    opens = drawer_opens(r)
    st, j = pay_through_changer(r, "changer", [1000])
    assert st == 200, j
    assert j["change"] == 840
    # Deposit and change went through the new machine, each exactly once.
    assert [a for a, _ in moves(r, "changer", "changer.deposit")] == [1000]
    assert wait_for(lambda: [a for a, _ in moves(r, "changer", "changer.dispense")] == [840], 5)
    assert drawer_opens(r) == opens  # the operator gave no change from the drawer
    assert r.term.pid == term_pid and r.term.poll() is None


def test_dev18b_pol1_change_machine_detached_mid_deposit_exactly_once(tmp_path, procs):
    r = Register(tmp_path, procs).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    r.api.post("/v1/scan", {"code": SASHIMI})   # ¥1,500 due
    t, result = start_pay(r)
    # The shopper inserts ¥1,000, then the change machine is detached.
    assert wait_for(lambda: r.ctl("changer", "insert", "1000").startswith("deposit"), 10)
    assert "unplugged" in r.ctl("changer", "unplug")
    t.join(60)
    st, j = result["r"]
    assert st != 200 and "pending" in j["message"], (st, j)
    assert r.api.state()["state"] != "idle"
    # Re-attached: the same deposit (same key) is finished, counted once.
    r.ctl("changer", "replug")
    assert wait_for(lambda: r.devices().get("changer"), 15)
    _, j = r.api.post("/v1/tender/cash", {})
    s = r.api.state()
    assert s.get("due") == 500, s
    # The rest is paid with a new deposit; change once.
    st, j = pay_through_changer(r, "changer", [1000])
    assert st == 200 and j["change"] == 500, j
    deps = moves(r, "changer", "changer.deposit")
    assert sorted(a for a, _ in deps) == [1000, 1000], deps
    assert len({k for _, k in deps}) == 2  # two keys, each deposit recorded once
    assert wait_for(lambda: [a for a, _ in moves(r, "changer", "changer.dispense")] == [500], 5)
    _, x = r.api.post("/v1/report/x")
    assert x["report"]["tenders"]["cash"]["amount"] == 2000


def test_dev18b_other_change_machine_takes_over_only_when_attached(tmp_path, procs):
    r = Register(tmp_path, procs).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    # A second change machine enrolled but not attached: the first one stays.
    r.enrol("changer", "changer2")
    r.api.post("/v1/scan", {"code": TEA})
    st, j = pay_through_changer(r, "changer", [1000])
    assert st == 200 and j["change"] == 840
    assert wait_for(lambda: len(moves(r, "changer", "changer.dispense")) == 1, 5)
    # The first is detached; the second only enrolled: nothing is sent anywhere.
    r.ctl("changer", "unplug")
    assert wait_for(lambda: not r.devices().get("changer"), 10)
    r.api.post("/v1/scan", {"code": TEA})
    st, j = r.api.post("/v1/tender/cash", {}, ok=False)
    assert st != 200, j
    assert moves(r, "changer2", "changer.deposit") == []
    # Now the second is attached: it takes over (the failed deposit was never
    # sent to the first, so nothing is pinned there).
    r.start_device("changer2", kind="changer")
    assert wait_for(lambda: r.devices().get("changer"), 15)
    st, j = pay_through_changer(r, "changer2", [1000])
    assert st == 200 and j["change"] == 840, j
    assert [a for a, _ in moves(r, "changer2", "changer.deposit")] == [1000]
    assert wait_for(lambda: [a for a, _ in moves(r, "changer2", "changer.dispense")] == [840], 5)
    assert len(moves(r, "changer", "changer.dispense")) == 1


def test_dev8_scanner_and_printer_enrolled_while_running_are_used(tmp_path, procs):
    r = Register(tmp_path, procs, kinds=["drawer", "linedisplay"]).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    term_pid = r.term.pid
    for k in ["scanner", "printer"]:
        r.enrol(k)
        r.start_device(k)
    assert wait_for(lambda: r.devices().get("scanner") and r.devices().get("printer"), 15), \
        r.devices()
    r.ctl("scanner", "scan", TEA)
    assert wait_for(lambda: len(r.api.state().get("lines", [])) == 1, 10), r.api.state()
    _, j = r.api.post("/v1/tender/cash", {"amount": 200})
    assert j["change"] == 40
    text = r.decode_receipts(r.printer_out())
    assert "おーいお茶" in text and "No.000000001" in text, text
    assert r.term.pid == term_pid and r.term.poll() is None


def test_dev18b_pol1_pending_dispense_stays_with_its_machine_across_restart(tmp_path, procs):
    r = Register(tmp_path, procs).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    r.enrol("changer", "changer2")
    r.api.post("/v1/scan", {"code": TEA})
    # The change machine pays the change, but every reply is lost: the
    # outcome is unknown to the register, the command stays pending.
    assert "losing" in r.ctl("changer", "lose-replies", "3")
    st, j = r.api.post("/v1/tender/cash", {"amount": 1000}, ok=False)
    assert st != 200 and "pending" in j["message"], (st, j)
    assert [a for a, _ in moves(r, "changer", "changer.dispense")] == [840]
    # It goes away, the register crashes, and another change machine is there
    # when it restarts: the pending dispense must not go to the other one.
    r.ctl("changer", "unplug")
    r.kill9()
    r.start(wait_devices=False)
    r.start_device("changer2", kind="changer")
    assert wait_for(lambda: r.devices().get("drawer"), 15)
    time.sleep(3)  # recovery retries every 500 ms meanwhile
    assert moves(r, "changer2", "changer.dispense") == []
    # The first machine comes back: the retry under the same key is answered
    # from its memory; the change was paid exactly once.
    r.ctl("changer", "replug")

    def recovered():
        _, ev = r.api.get("/v1/events?since=0")
        return any(e["type"] == "recovered" and e["data"].get("cash_commands") == "done"
                   for e in ev["events"])
    assert wait_for(recovered, 30)
    assert [a for a, _ in moves(r, "changer", "changer.dispense")] == [840]
    assert moves(r, "changer2", "changer.dispense") == []
    assert (r.state / "busdev.pins").read_text() == ""
