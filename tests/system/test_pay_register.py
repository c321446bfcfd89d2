"""The register's card and e-money tenders through the real bus and the
payment host SIMULATOR (issue 4: DEV-7, DEV-12, DEV-14, DEV-15, POL-1,
POL-2, POL-3, POL-8(3)): the controller only forwards ciphertext and keeps
the approval code, the host's token, the last 4 digits and the payment
method."""
import json
import sqlite3
import ssl
import urllib.request

import pytest

from payfix import (PAN, PAN_SIG, PIN, T1, T2, PayRegister, files_bytes, find_any, needles,
                    readable_memory)
from regfix import MANAGER

TEA = "4901234001077"  # ¥160


@pytest.fixture
def reg(tmp_path, procs):
    r = PayRegister(tmp_path, procs).start_all()
    r.inject_all()
    r.signon()
    r.api.post("/v1/day/open", {"change_fund": 30000})
    return r


def pay_rows(r):
    db = sqlite3.connect(str(r.state / "pay.db"))
    try:
        db.row_factory = sqlite3.Row
        return [dict(x) for x in db.execute("SELECT * FROM payments ORDER BY id")]
    finally:
        db.close()


def test_dev14_pol2_credit_sale_with_pin_receipt_last4_approval_method(reg):
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320, body={"method": "installments", "count": 3})
    assert st == 200, j
    assert j["receipt"] >= 1
    rows = pay_rows(reg)
    assert rows[-1]["kind"] == "card" and rows[-1]["amount"] == 320 and rows[-1]["last4"] == "1111"
    assert rows[-1]["masked_pan"] == "411111******1111" and len(rows[-1]["token"]) == 64
    assert rows[-1]["method"] == "installments" and rows[-1]["installments"] == 3
    assert len(rows[-1]["approval"]) == 6 and rows[-1]["cvm"] == "pin"
    text = reg.decode_receipts(reg.printer_out())
    assert "1111" in text and rows[-1]["approval"] in text and "分割" in text, text
    assert PAN not in text and "411111" not in text


def test_dev12_credit_sale_with_signature_points_stored(reg):
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.card_sale_with_signature(160)
    assert st == 200, j
    row = pay_rows(reg)[-1]
    assert row["cvm"] == "signature" and row["last4"] == "4242" and row["method"] == "lump"
    pts = json.loads(row["extra"])["signature"]
    assert pts == [[10, 20], [30, 40], [50, 45]]
    text = reg.decode_receipts(reg.printer_out())
    assert "4242" in text and "一括" in text and PAN_SIG not in text


def test_dev15_emoney_sale_deducted_in_card_record_stored(reg):
    reg.ctl("icreader", "card", "emoney", "0012345678", "5000")
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.api.post("/v1/tender/emoney", {"amount": 160}, ok=False)
    assert st == 200, j
    row = pay_rows(reg)[-1]
    extra = json.loads(row["extra"])
    assert row["kind"] == "emoney" and extra["balance_after"] == 4840 and extra["record"]["amount"] == 160
    assert "4840" in reg.ctl("icreader", "status") or extra["record"]["balance_after"] == 4840
    # not enough value in the card: declined, nothing deducted
    reg.api.post("/v1/scan", {"code": TEA})
    reg.ctl("icreader", "card", "emoney", "0099999999", "100")
    st, j = reg.api.post("/v1/tender/emoney", {"amount": 160}, ok=False)
    assert st != 200, j


def test_pol3_refund_by_token_no_card_data(reg):
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320)
    assert st == 200, j
    sold = j["receipt"]
    sale = pay_rows(reg)[-1]
    reg.api.post("/v1/return", {"receipt": sold, "manager": MANAGER})
    reg.api.post("/v1/return/line", {"line": 1, "qty": 2})
    st, j = reg.api.post("/v1/refund/external", {"kind": "card"}, ok=False)
    assert st == 200, j
    ref = pay_rows(reg)[-1]
    assert ref["kind"] == "refund" and ref["amount"] == -320 and ref["last4"] == "1111"
    # the host found the sale by its token: its refund row carries the same token
    db = sqlite3.connect(str(reg.host_state / "payhost.db"))
    types = [r[0] for r in db.execute("SELECT type FROM txns WHERE token = ?", (sale["token"],))]
    db.close()
    assert "sale" in types and "refund" in types


def scan_controller(reg):
    """Every byte terminald holds or wrote, and every byte of the PIN pad's bus link."""
    mem = readable_memory(reg.term.pid)
    files = files_bytes(reg.state)
    bus = bytes(reg.relay.c2s) + bytes(reg.relay.s2c)
    return {"memory": mem, "files": files, "bus": bus}


SECRETS = [PAN, "MAMORI/TARO", T2[1:-1], T1[1:-1], "=28121011234567"]


def test_pol2_no_card_data_on_controller(reg):
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    during = {}

    def mid():  # the PIN is keyed and the card read: terminald's memory now
        during.update(scan_controller(reg))
    st, j = reg.card_sale_with_pin(320, during=mid)
    assert st == 200, j
    after = scan_controller(reg)
    assert len(during["memory"]) > 1_000_000 and len(after["memory"]) > 1_000_000
    assert after["bus"] and after["files"]
    ns = needles(*SECRETS) + [PIN.encode(), PIN.encode("utf-16-le")]
    for when, scans in (("during", during), ("after", after)):
        for where, blob in scans.items():
            assert not find_any(blob, ns), (when, where, find_any(blob, ns))
    # the controller did handle this sale: masked PAN and last 4 are there
    assert b"411111******1111" in after["memory"] + after["files"]
    # the same search finds the PAN at the payment host (the test can find it)
    host_mem = readable_memory(reg.host_proc.pid)
    assert PAN.encode() in host_mem


def host_post(reg, body):
    ctx = ssl.create_default_context(cafile=str(reg.host_state / "cert.pem"))
    req = urllib.request.Request("https://127.0.0.1:%d/v1/authorize" % reg.host_port,
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}")


def test_pol2_replayed_pin_block_and_card_record_declined(reg):
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320)
    assert st == 200, j
    # what the register forwarded (the PIN pad's event as terminald saw it): replay it
    ev = [json.loads(x) for x in reg.tctl("events").splitlines() if x.strip()]
    data = [e for e in ev if e["type"] == "pinpad.data"][-1]["body"]
    h = lambda v: v.removeprefix("hex:")
    card = {"ksn": h(data["card"]["ksn"]), "ct": h(data["card"]["ct"]), "mac": h(data["card"]["mac"])}
    pin = {"ksn": h(data["ksn"]), "block": h(data["block"])}
    r = host_post(reg, {"type": "sale", "amount": 320, "card": card, "pin": pin, "terminal": "T1"})
    assert r["result"] == "declined" and r["reason"] == "replay", r
    # a fresh sale through the register still works end to end (new KSNs)...
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320, pin="0000")  # a fresh PIN session works...
    assert st != 200 and "wrong_pin" in json.dumps(j), j  # ...but the wrong PIN is declined by the host
    r = host_post(reg, {"type": "sale", "amount": 320, "card": card, "signature": True, "terminal": "T1"})
    assert r["result"] == "declined" and r["reason"] == "replay", r


def test_pol8_3_tampered_pinpad_refuses_until_reinjection(reg):
    out = reg.ctl("pinpad", "tamper")
    assert "keys erased" in out
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.api.post("/v1/tender/card", {"amount": 160}, ok=False)
    assert st != 200 and "pinpad_tampered" in json.dumps(j), j
    # recorded: by the register's audit and in the device's own log
    assert int(reg.tctl("audit-count", "pay.pinpad.tamper").strip()) >= 1
    assert int(reg.tctl("audit-count", "pay.card.refused").strip()) >= 1
    # re-injection by two custodians brings the PIN pad back
    r = reg.inject("pinpad")
    assert r.returncode == 0, (r.stdout, r.stderr)
    st, j = reg.card_sale_with_pin(160)
    assert st == 200, j


def test_pol8_3_injection_one_custodian_or_same_twice_refused(reg):
    from regfix import PASSWORDS
    r = reg.inject("msr", lines=["maint", PASSWORDS["maint"]], device_components=False)
    assert r.returncode == 4, r.stderr
    r = reg.inject("msr", lines=["maint", PASSWORDS["maint"], "maint", PASSWORDS["maint"], "AA" * 16, "BB" * 16],
                   device_components=False)
    assert r.returncode == 4, r.stderr


def test_pol1_point_card_read_through_ic_reader(reg):
    member = "9876543210123456"
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.api.post("/v1/member/ic", {}, ok=False)
    assert st != 200 and "no_point_card" in json.dumps(j), j  # no card in the reader
    assert "point card inserted" in reg.ctl("icreader", "card", "point", member)
    st, j = reg.api.post("/v1/member/ic", {}, ok=False)
    assert st == 200, j
    shown = json.dumps(reg.api.get("/v1/state")[1], ensure_ascii=False)
    assert "3456" in shown and member not in shown, shown  # masked in the register's state
    st, j = reg.api.post("/v1/tender/cash", {"amount": 200}, ok=False)
    assert st == 200, j
    # the member number (HIGH) is kept only encrypted / as a keyed tag: not in any file of the terminal
    assert member.encode() not in files_bytes(reg.state)
    text = reg.decode_receipts(reg.printer_out())
    assert member not in text and "3456" in text, text
