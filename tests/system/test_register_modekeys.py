"""The touch panel (DEV-10) and the mode key switch (DEV-11) with real
processes: mamori-terminald hosting the register, mamori-devsim devices
enrolled under dual control and paired over the secure bus.

Touch-panel buttons go through the same key mapping as the POS keyboard
(poskeys); the keylock's position, reported only by the enrolled keylock
device, decides which register operations run (src/pos/posmode.h), and a
detached keylock is 施錠 (fail closed).
"""
import subprocess
import time

from conftest import prog
from regfix import MANAGER, Register, wait_for

TEA = "4901234001077"        # おーいお茶 525ml ¥160 reduced

TOUCH_KINDS = ["drawer", "printer", "linedisplay", "touchpanel"]
KEY_KINDS = ["scanner", "drawer", "printer", "keylock"]


def touch_setup(tmp_path, procs):
    r = Register(tmp_path, procs, kinds=TOUCH_KINDS).start()
    r.signon()
    r.api.post("/v1/day/open", {"change_fund": 30000})
    return r


def events(r):
    _, ev = r.api.get("/v1/events?since=0")
    return ev["events"]


def test_dev10_touch_panel_registers_plu_and_pays_cash(tmp_path, procs):
    """Touches on the panel's buttons register PLU items without barcodes
    (a preset PLU button, 3 × a PLU button), subtotal and pay 五千円 cash:
    the same key sequences as the POS keyboard."""
    r = touch_setup(tmp_path, procs)
    # (450, 40) is on the 幕の内弁当 button (PLU 101, ¥598)
    assert "PLU:101" in r.ctl("touchpanel", "touch", "450", "40")
    assert wait_for(lambda: r.api.state().get("total") == 598, 10), r.api.state()
    for b in ("3", "QTY", "PLU:102"):           # 3 × おにぎり 鮭 ¥150
        assert "touched" in r.ctl("touchpanel", "press", b)
    assert wait_for(lambda: r.api.state().get("total") == 1048, 10), r.api.state()
    lines = r.api.state()["lines"]
    assert lines[1]["qty"] == 3 and lines[1]["code"] != lines[0]["code"], lines
    r.ctl("touchpanel", "press", "SUBTOTAL")
    assert wait_for(lambda: r.api.state().get("state") == "subtotal", 10), r.api.state()
    r.ctl("touchpanel", "press", "CASH:5000")
    assert wait_for(lambda: r.api.state().get("last_receipt") == 1, 10), r.api.state()
    assert r.api.state()["last_change"] == 5000 - 1048
    text = r.decode_receipts(r.printer_out())
    assert "幕の内弁当" in text and "おにぎり" in text, text
    assert any(e["type"] == "register" and e["data"].get("input") == "touchpanel"
               for e in events(r))


def test_dev10_touch_outside_button_ignored(tmp_path, procs):
    """Touches outside every button (gaps, off the screen), and buttons that
    need a manager, change nothing; the refusal is clear."""
    r = touch_setup(tmp_path, procs)
    r.ctl("touchpanel", "press", "PLU:1")        # バナナ ¥198
    assert wait_for(lambda: r.api.state().get("total") == 198, 10), r.api.state()
    before = r.api.state()
    for x, y in (("0", "0"), ("100", "40"), ("150", "470")):
        out = r.ctl("touchpanel", "touch", x, y)
        assert "no button" in out, out
    for bad in (("touch", "800", "10"), ("touch", "-5", "10"), ("touch", "1e3", "5"),
                ("press", "NOSUCH"), ("press", "PLU:1;rm")):
        out = r.ctl("touchpanel", *bad)
        assert out.startswith("error") or "usage" in out or "no such" in out or "touch X Y" in out, out
    # CANCEL needs a manager's password: refused from the panel like the key
    r.ctl("touchpanel", "press", "CANCEL")
    assert wait_for(lambda: any(e["type"] == "refused" and e["data"].get("data") == "CANCEL"
                                for e in events(r)), 10), events(r)
    time.sleep(0.3)
    after = r.api.state()
    assert after["lines"] == before["lines"] and after["total"] == 198
    assert not any(e["type"] == "register" and e["data"].get("input") == "touchpanel"
                   and e["data"].get("data") not in ("PLU:1",) for e in events(r))
    st = r.ctl("touchpanel", "status")
    assert "2 touches" in st and "3 missed" in st, st  # PLU:1 and CANCEL


def test_dev10_store_layout_and_unknown_button_refused(tmp_path, procs):
    """A store's own layout.txt on the panel: its buttons work; a button whose
    id the register does not know is refused ("no such button") and changes
    nothing."""
    r = Register(tmp_path, procs, kinds=TOUCH_KINDS)
    fw = r.dev["touchpanel"] / "fw"                     # the firmware's state directory
    fw.mkdir(mode=0o700, exist_ok=True)
    (fw / "layout.txt").write_text(
        "# store 12\n0 0 PLU:900 レジ袋\n1 0 CASH:100 百円\n2 0 LAUNCH 発射\n3 0 SUBTOTAL 小計\n")
    r.start()
    r.signon()
    assert "3 buttons" not in r.ctl("touchpanel", "status")
    assert "layout.txt" in r.ctl("touchpanel", "status")
    r.ctl("touchpanel", "touch", "50", "40")                    # レジ袋 ¥5
    assert wait_for(lambda: r.api.state().get("total") == 5, 10), r.api.state()
    r.ctl("touchpanel", "press", "LAUNCH")
    assert wait_for(lambda: any(e["type"] == "refused" and e["data"].get("data") == "LAUNCH"
                                for e in events(r)), 10), events(r)
    ref = [e for e in events(r) if e["type"] == "refused" and e["data"].get("data") == "LAUNCH"]
    assert "no such button" in ref[-1]["data"]["message"], ref
    assert r.api.state()["total"] == 5 and len(r.api.state()["lines"]) == 1
    assert "no such button" in r.ctl("touchpanel", "press", "PLU:101")  # not on this layout
    r.ctl("touchpanel", "press", "CASH:100")
    assert wait_for(lambda: r.api.state().get("last_receipt") == 1, 10), r.api.state()
    assert r.api.state()["last_change"] == 95


# ------------------------------------------------------------ mode key (DEV-11)

def key_setup(tmp_path, procs):
    return Register(tmp_path, procs, kinds=KEY_KINDS).start()


def mode(r):
    return r.devices().get("mode_key", {}).get("position")


def turn(r, pos):
    out = r.ctl("keylock", "turn", str(pos))
    assert "turned" in out or "already" in out, out
    want = {"lock": 1, "reg": 2, "x": 3, "z": 4, "set": 5, "train": 6}.get(str(pos), pos)
    assert wait_for(lambda: mode(r) == int(want), 10), r.devices()


def audit_count(r, event):
    p = subprocess.run([prog("mamori-devsim"), "ctl", "--ctl", str(r.state / "ctl.sock"),
                        "audit-count", event], capture_output=True, text=True, timeout=30)
    return int(p.stdout.strip())


def test_dev11_keylock_lock_refuses_scan(tmp_path, procs):
    """施錠 refuses every operation (sign-on, scanner input, API scan) with an
    error naming the position needed, audited; the state stays readable."""
    r = key_setup(tmp_path, procs)
    assert wait_for(lambda: mode(r) == 1, 10), r.devices()  # a new switch is locked
    st, j = r.api.post("/v1/signon", {"id": "kenji", "password": "kenji-pw-1"}, ok=False)
    assert st == 403 and "施錠" in j["message"], j
    turn(r, "set")
    r.signon()
    r.api.post("/v1/day/open", {"change_fund": 30000})
    turn(r, "reg")
    r.ctl("scanner", "scan", TEA)
    assert wait_for(lambda: r.api.state().get("total") == 160, 10), r.api.state()
    turn(r, "lock")
    r.ctl("scanner", "scan", TEA)
    assert wait_for(lambda: any(e["type"] == "refused" and e["data"].get("input") == "scanner"
                                for e in events(r)), 10), events(r)
    refused = [e for e in events(r) if e["type"] == "refused" and e["data"].get("input") == "scanner"]
    assert "施錠" in refused[-1]["data"]["message"] and "登録" in refused[-1]["data"]["message"]
    st, j = r.api.post("/v1/scan", {"code": TEA}, ok=False)
    assert st == 403 and "登録" in j["message"], j
    st, j = r.api.post("/v1/tender/cash", {"amount": 1000}, ok=False)
    assert st == 403, j
    assert r.api.state()["total"] == 160 and len(r.api.state()["lines"]) == 1
    assert audit_count(r, "mode.refused") >= 4
    assert audit_count(r, "mode.key") >= 3
    # no other way to the position: the API has no mode endpoint, training is the key's
    st, _ = r.api.post("/v1/mode", {"position": 2}, ok=False)
    assert st == 404
    turn(r, "reg")
    st, j = r.api.post("/v1/training", {"on": True}, ok=False)
    assert st == 403, j
    _, j = r.api.post("/v1/tender/cash", {"amount": 1000})
    assert j["change"] == 840


def test_dev11_z_report_only_in_settle_position(tmp_path, procs):
    """The Z report and day close only in 精算, the X report only in 点検."""
    r = key_setup(tmp_path, procs)
    turn(r, "reg")
    r.signon()
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/tender/cash", {"amount": 200})
    st, j = r.api.post("/v1/report/z", ok=False)
    assert st == 403 and "精算" in j["message"], j
    st, j = r.api.post("/v1/report/x", ok=False)
    assert st == 403 and "点検" in j["message"], j
    turn(r, "x")
    _, j = r.api.post("/v1/report/x")
    assert j["report"]["sales"] == 1
    st, j = r.api.post("/v1/report/z", ok=False)
    assert st == 403, j
    st, j = r.api.post("/v1/scan", {"code": TEA}, ok=False)    # no sales in 点検
    assert st == 403, j
    turn(r, "z")
    st, j = r.api.post("/v1/report/x", ok=False)
    assert st == 403, j
    _, j = r.api.post("/v1/report/z")
    assert j["report"]["sales"] == 1 and "精算" in j["report"]["text"]
    _, j = r.api.post("/v1/day/close")
    assert j["ok"]


def test_dev11_training_position_marks_receipt(tmp_path, procs):
    """訓練 runs the register in training mode: the receipt is marked and the
    sale is not in the real totals; back in 登録, sales are real again."""
    r = key_setup(tmp_path, procs)
    turn(r, "train")
    r.signon()
    _, j = r.api.post("/v1/scan", {"code": TEA})
    assert j["state"]["training"] is True
    _, j = r.api.post("/v1/tender/cash", {"amount": 1000})
    assert "トレーニング" in r.decode_receipts(r.printer_out())
    turn(r, "reg")
    _, j = r.api.post("/v1/scan", {"code": TEA, "qty": 2})
    assert j["state"]["training"] is False
    r.api.post("/v1/tender/cash", {"amount": 1000})
    turn(r, "x")
    _, j = r.api.post("/v1/report/x")
    assert j["report"]["sales"] == 1 and j["report"]["sales_amount"] == 320, j["report"]


def test_dev11_keylock_detached_fails_closed(tmp_path, procs):
    """A keylock that detaches is 施錠 until it is back and has told its
    position; then the register works again."""
    r = key_setup(tmp_path, procs)
    turn(r, "reg")
    r.signon()
    r.api.post("/v1/scan", {"code": TEA})
    p = r.devproc["keylock"]
    p.terminate()
    p.wait(timeout=10)
    assert wait_for(lambda: mode(r) == 1, 15), r.devices()
    assert r.devices()["keylock"] is False
    st, j = r.api.post("/v1/scan", {"code": TEA}, ok=False)
    assert st == 403 and "施錠" in j["message"], j
    assert len(r.api.state()["lines"]) == 1
    r.start_device("keylock")
    assert wait_for(lambda: mode(r) == 2, 15), r.devices()
    _, j = r.api.post("/v1/scan", {"code": TEA})
    assert len(j["state"]["lines"]) == 2
    assert r.api.post("/v1/cancel", {"manager": MANAGER})[1]["ok"]


def test_dev11_dev10_upos_events_through_the_bus(tmp_path, procs, mamori):
    """Through the real bus and terminald's device API: a key turn is a
    StatusUpdateEvent whose Status is the new KeyPosition, the keylock is
    sharable (never claimed), and a touch on a button is a DataEvent."""
    from busrig import Rig
    import json
    rig = Rig(tmp_path, procs, mamori)
    for k in ("keylock", "touchpanel"):
        rig.make_device(k, k)
    rig.start_terminal()
    for k in ("keylock", "touchpanel"):
        rig.start_device(k)
        assert wait_for(lambda: rig.attached(rig.devs[k]["serial"]), 10), k
    assert rig.tctl("watch", "start").strip() == "watching 2"

    def devs():
        return {d["kind"]: d for d in (json.loads(l) for l in rig.tctl("watch").splitlines()[1:]
                                        if l.strip())}
    assert not devs()["keylock"]["claimed"] and devs()["keylock"]["enabled"]
    assert devs()["keylock"]["rc_claim"] == 0
    rig.dctl("keylock", "turn", "x")
    d = wait_for(lambda: (lambda d: d if d["last_type"] == "keylock.status" else None)(devs()["keylock"]), 5)
    assert d and d["last_status"] == 3, devs()            # LOCK_KP_SUPR: 点検
    st = json.loads(rig.tctl("request", rig.devs["keylock"]["serial"], "keylock.status"))
    assert st["position"] == 3 and st["count"] == 6
    out = rig.tctl("request", rig.devs["keylock"]["serial"], "keylock.set",
                   json.dumps({"position": 2}), check=False)
    assert out.startswith("error"), out                   # no request sets the position
    rig.dctl("touchpanel", "press", "PLU:1")
    assert wait_for(lambda: devs()["touchpanel"]["data"] == 1, 5), devs()
    assert wait_for(lambda: rig.events("touchpanel.touch"), 5)[-1]["body"]["button"] == "PLU:1"
