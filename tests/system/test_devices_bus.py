"""Device classes through the real bus: every one of the 12 simulators,
enrolled with dual control, answers its basic requests through
mamori-terminald; a scan reaches the application (the device API watcher in
terminald) and the line display; a detach makes the device API report the
device offline. Each test names the requirement it proves."""
import json
import time

import cbor2
import pytest

from busrig import Rig, wait_for

KINDS = ["scanner", "msr", "pinpad", "icreader", "scale", "drawer", "changer", "printer",
         "linedisplay", "custdisplay", "keyboard", "sigpad"]


@pytest.fixture
def rig(tmp_path, procs, mamori):
    return Rig(tmp_path, procs, mamori)


def start_all(rig, kinds=KINDS):
    for k in kinds:
        rig.make_device(k, k)
    rig.start_terminal()
    for k in kinds:
        rig.start_device(k)
    for k in kinds:
        assert wait_for(lambda: rig.attached(rig.devs[k]["serial"]), 10), k


def req(rig, name, typ, body=None, check=True):
    args = ["request", rig.devs[name]["serial"], typ]
    if body is not None:
        args.append(json.dumps(body))
    out = rig.tctl(*args, check=check)
    return json.loads(out) if out.strip() and not out.startswith("error") else out


def watch(rig):
    lines = [json.loads(l) for l in rig.tctl("watch").splitlines() if l.strip()]
    return lines[0], {d["kind"]: d for d in lines[1:]}


def test_dev6_every_class_answers_through_the_bus(rig, tmp_path):
    start_all(rig)
    # every class answers its status request over the secure bus
    for k in KINDS:
        st = req(rig, k, k + ".status")
        assert isinstance(st, dict), (k, st)
    # basic behaviour of each class, through terminald
    rig.dctl("scale", "weight", "352", "unstable")
    assert "error" in req(rig, "scale", "scale.read", check=False)        # DEV-13: unstable refused
    rig.dctl("scale", "weight", "352", "stable")
    assert req(rig, "scale", "scale.read") == {"weight_g": 352, "stable": True}
    op = req(rig, "drawer", "drawer.open", {"txn": "T1", "tender": "cash", "idem": "K1"})
    assert op["state"] == "open"
    assert req(rig, "drawer", "drawer.open", {"txn": "T1", "tender": "cash", "idem": "K1"}) == op
    assert req(rig, "drawer", "drawer.status")["opens"] == 1               # POL-1: once
    before = req(rig, "changer", "changer.counts")["total"]
    req(rig, "changer", "changer.deposit_begin")
    rig.dctl("changer", "insert", "1000", "1000", "500")
    dep = req(rig, "changer", "changer.deposit_end", {"idem": "E1", "txn": "T1"})
    assert dep["amount"] == 2500
    d1 = req(rig, "changer", "changer.dispense", {"amount": 1234, "idem": "D1", "txn": "T1"})
    d2 = req(rig, "changer", "changer.dispense", {"amount": 1234, "idem": "D1", "txn": "T1"})
    assert d1 == d2
    assert req(rig, "changer", "changer.counts")["total"] == before + 2500 - 1234
    rig.dctl("changer", "force-dispense", "100")                          # hidden payout
    assert req(rig, "changer", "changer.counts")["total"] == before + 2500 - 1234 - 100
    receipt = bytes.fromhex("1b401c4301") + "合計　￥1,410".encode("cp932") + b"\n\x1dVA\x03"
    out = rig.tctl("request", rig.devs["printer"]["serial"], "printer.print",
                   json.dumps({"data": "hex:" + receipt.hex()}), check=False)
    if out.startswith("error"):
        pytest.fail("printer.print via the control socket: %s" % out)
    assert (rig.devs["printer"]["state"] / "fw" / "printer.out").read_bytes() == receipt
    req(rig, "linedisplay", "linedisplay.text", {"lines": ["緑茶 500ml", "¥150"]})
    assert rig.dctl("linedisplay", "show").strip() == "linedisplay: 緑茶 500ml | ¥150"
    cid = req(rig, "custdisplay", "custdisplay.confirm", {"prompt": "20歳以上ですか？"})["cid"]
    rig.dctl("custdisplay", "yes")
    ans = wait_for(lambda: rig.events("custdisplay.answer"), 5)
    assert ans and ans[-1]["body"] == {"cid": cid, "answer": True}
    rig.dctl("keyboard", "key", "SUBTOTAL")
    assert wait_for(lambda: rig.events("keyboard.key"), 5)[-1]["body"]["key"] == "SUBTOTAL"
    req(rig, "sigpad", "sigpad.capture", {"form": "credit"})
    rig.dctl("sigpad", "sign", "10,20", "30,40")
    assert wait_for(lambda: rig.events("sigpad.data"), 5)[-1]["body"]["points"] == [[10, 20], [30, 40]]
    rig.dctl("icreader", "card", "emoney", "0123456789012345", "3000")
    pay = req(rig, "icreader", "icreader.emoney_pay", {"amount": 1280, "idem": "P1"})
    assert pay["balance_after"] == 1720
    assert req(rig, "icreader", "icreader.emoney_pay", {"amount": 1280, "idem": "P1"}) == pay
    # POL-2: without an injected key the card devices read nothing
    assert "error" in req(rig, "pinpad", "pinpad.begin", {"amount": 5400}, check=False)
    r = rig.dctl("msr", "swipe", "%B4111111111111111^MAMORI/TARO^2812101123456789?",
                 ";4111111111111111=28121011234567?", check=False)
    assert "no key" in r
    errs = wait_for(lambda: rig.events("msr.error"), 5)
    assert errs and errs[-1]["body"]["reason"] == "no key"
    assert not rig.events("msr.data")
    assert "411111111111" not in rig.tctl("events")


def test_dev8_scan_reaches_application_and_line_display(rig):
    start_all(rig, ["scanner", "linedisplay", "drawer"])
    assert rig.tctl("watch", "start").strip() == "watching 3"
    top, devs = watch(rig)
    assert devs["scanner"]["claimed"] and devs["scanner"]["enabled"]
    assert devs["scanner"]["power"] == 2001                                 # PS_ONLINE
    rig.dctl("scanner", "scan", "4901234567894")
    top = wait_for(lambda: (lambda t: t if t["nscans"] == 1 and t["display_rc"] == 0 else None)(watch(rig)[0]), 5)
    assert top, watch(rig)
    assert top["scans"] == [{"data": "4901234567894", "symbology": 104}]
    assert wait_for(lambda: "4901234567894" in rig.dctl("linedisplay", "show"), 5)
    assert rig.dctl("linedisplay", "show").strip() == "linedisplay: 4901234567894 | SCAN #1"
    # the watcher holds the scanner's claim (exclusive, UPOS) and the drawer unclaimed (sharable)
    assert watch(rig)[1]["scanner"]["rc_claim"] == 0 and watch(rig)[1]["scanner"]["claimed"]
    assert not watch(rig)[1]["drawer"]["claimed"] and watch(rig)[1]["drawer"]["enabled"]


def test_dev6_detach_makes_device_api_report_offline(rig):
    start_all(rig, ["scanner", "linedisplay"])
    rig.tctl("watch", "start")
    assert watch(rig)[1]["scanner"]["power"] == 2001
    rig.dctl("scanner", "unplug")
    dev = wait_for(lambda: (lambda d: d if d["power"] == 2004 else None)(watch(rig)[1]["scanner"]), 5)
    assert dev, watch(rig)
    assert dev["last_status"] == 2004                                       # SUE_POWER_OFF_OFFLINE
    assert rig.events("detach", rig.devs["scanner"]["serial"])
    rig.dctl("scanner", "replug")
    dev = wait_for(lambda: (lambda d: d if d["power"] == 2001 else None)(watch(rig)[1]["scanner"]), 10)
    assert dev, watch(rig)
    assert dev["last_status"] == 2001 and dev["enabled"]                    # re-enabled on attach
    rig.dctl("scanner", "scan", "4912345678904")
    assert wait_for(lambda: watch(rig)[0]["nscans"] == 1, 5)
