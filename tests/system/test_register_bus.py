"""The register over the real device bus (OPS-1, OPS-2, OPS-6, DEV-18 application
side, POL-1 cash commands): `mamori register --state` hosts the terminal's bus,
simulated devices (mamori-devsim) attach with their enrolled keys, and a script
sells through them: scanner and POS keyboard input, scale, customer-display age confirmation,
change machine deposit and dispense, printer. The receipt is checked by decoding the bytes
the printer device received; the change machine's own log must show each
payout exactly once.
"""
import threading
import time

from busrig import Rig, wait_for, wait_ready
from conftest import ROOT, prog

SCRIPT = """\
wait-devices 8 30
signon cash1 cash-pw-1
scan 4901234001077
weigh 0200105000008
scan 4901234002968
!cash 10000
age
subtotal
cash 5000
signoff
signon cash1 cash-pw-1
wait-input 3 30
deposit
!scan 4901234001078
"""


def test_ops2_register_over_bus_cash_exactly_once(tmp_path, procs, mamori):
    rig = Rig(tmp_path, procs, mamori)
    devs = [("scl", "scale"), ("prn", "printer"), ("ld", "linedisplay"), ("cd", "custdisplay"),
            ("drw", "drawer"), ("chg", "changer"), ("scn", "scanner"),
            ("kbd", "keyboard")]
    for name, kind in devs:
        rig.make_device(name, kind)
    r = mamori("items", "import", ROOT / "data" / "items.csv", "--db", tmp_path / "items.db")
    assert r.returncode == 0, r.stderr
    (tmp_path / "script.txt").write_text(SCRIPT)
    (tmp_path / "t.ini").write_text("[bus]\nlisten = unix:bus.sock\nheartbeat_ms = 500\n")
    reg = procs([prog("mamori"), "register", "--state", rig.term, "--config", tmp_path / "t.ini",
                 "--dir", tmp_path / "reg", "--items", tmp_path / "items.db",
                 "--operators", rig.term / "operators.db", "--script", tmp_path / "script.txt",
                 "--echo"])
    wait_ready(reg)
    rig.start_device("scl")
    rig.dctl("scl", "weight", "350", "stable")
    for name, _ in devs[1:]:
        rig.start_device(name)

    def shopper():
        # answer the age question, then insert 1000 yen into the change machine
        assert wait_for(lambda: "asking" in rig.dctl("cd", "status", check=False), timeout=30)
        rig.dctl("cd", "yes")
        # sale 2: one item read by the scanner, one keyed in on the POS
        # keyboard (digits + ENTER), then SUBTOTAL on the keyboard
        rig.dctl("scn", "scan", "4901234001213")
        rig.dctl("kbd", "type", "4901234001213")
        rig.dctl("kbd", "key", "ENTER")
        rig.dctl("kbd", "key", "SUBTOTAL")
        assert wait_for(lambda: "depositing" in rig.dctl("chg", "status", check=False), timeout=30)
        rig.dctl("chg", "insert", "1000")
    th = threading.Thread(target=shopper, daemon=True)
    th.start()
    out, _ = reg.communicate(timeout=90)
    out = out.decode()
    assert reg.returncode == 0, out
    assert "receipt 1 complete, change ¥2354" in out, out
    assert "receipt 2 complete, change ¥660" in out, out
    assert "REFUSED (expected) cash: age confirmation required" in out
    # the change machine paid each change exactly once
    log = (rig.devs["chg"]["state"] / "fw" / "device.log").read_text().splitlines()
    pays = [dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
            for line in log if line.split()[1] == "changer.dispense"]
    assert sorted(int(p["amount"]) for p in pays) == [660, 2354], log
    assert len({p["idem"] for p in pays}) == 2, log
    deps = [line for line in log if line.split()[1] == "changer.deposit"]
    assert len(deps) == 1 and "amount=1000" in deps[0], log
    # the printer received both receipts: decode its bytes
    out_file = rig.devs["prn"]["state"] / "fw" / "printer.out"
    r = mamori("receipt", "decode", out_file)
    assert r.returncode == 0, r.stderr
    assert "お釣" in r.stdout and "T1234567890123" in r.stdout
    assert "2,354" in r.stdout and "660" in r.stdout
