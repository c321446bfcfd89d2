"""The register's card and e-money tenders through the real bus and the
payment host SIMULATOR (issue 4: DEV-7, DEV-12, DEV-14, DEV-15, POL-1,
POL-2, POL-3, POL-8(3)): the controller only forwards ciphertext and keeps
the approval code, the host's token, the last 4 digits and the payment
method."""
import base64
import json
import sqlite3
import ssl
import urllib.request

import pytest

import subprocess

from conftest import prog
from payfix import (CHIP, CHIP_IMAGE, PAN, PAN_SIG, PIN, T1, T2, PayRegister, files_bytes, find_any, needles,
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
    assert "読取方法 磁気" in text and "読取方法 IC" not in text, text  # swiped at the PIN pad's stripe reader
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


def emoney_sale(reg, card="0012345678", balance="5000", amount=160):
    """An e-money sale of one tea; the stored row and its extra JSON."""
    reg.ctl("icreader", "card", "emoney", card, balance)
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.api.post("/v1/tender/emoney", {"amount": amount}, ok=False)
    assert st == 200, j
    row = pay_rows(reg)[-1]
    return row, json.loads(row["extra"])


def test_dev15_emoney_sale_deducted_in_card_record_stored(reg):
    row, extra = emoney_sale(reg)
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


def no_card_data_on_controller(reg, chip=None):
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    during = {}

    def mid():  # the PIN is keyed and the card read: terminald's memory now
        during.update(scan_controller(reg))
    st, j = reg.card_sale_with_pin(320, during=mid, chip=chip,
                                   body={"cvm": "pin", "source": "ic"} if chip else None)
    assert st == 200, j
    after = scan_controller(reg)
    assert len(during["memory"]) > 1_000_000 and len(after["memory"]) > 1_000_000
    assert after["bus"] and after["files"]
    ns = needles(*SECRETS) + [PIN.encode(), PIN.encode("utf-16-le")]
    if chip:
        ns += needles(CHIP_IMAGE[1:-1], CHIP_IMAGE)
    for when, scans in (("during", during), ("after", after)):
        for where, blob in scans.items():
            assert not find_any(blob, ns), (when, where, find_any(blob, ns))
    # the controller did handle this sale: masked PAN and last 4 are there
    assert b"411111******1111" in after["memory"] + after["files"]
    # the same search finds the PAN at the payment host (the test can find it)
    host_mem = readable_memory(reg.host_proc.pid)
    assert PAN.encode() in host_mem
    return pay_rows(reg)[-1]


def test_pol2_no_card_data_on_controller(reg):
    row = no_card_data_on_controller(reg)
    assert json.loads(row["extra"])["entry"] == "swipe"


def test_pol2_no_card_data_on_controller_chip_with_pin(reg):
    """The same scan for an IC credit sale with PIN: the chip is read by the
    PIN pad's own chip slot, so the chip record, the PAN and the PIN never
    reach terminald, its files or the bus in clear."""
    row = no_card_data_on_controller(reg, chip=CHIP)
    assert row["cvm"] == "pin" and json.loads(row["extra"])["entry"] == "chip"


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


def test_dev14_dev15_ic_credit_sale_with_pin_chip_read_by_pinpad(reg):
    """IC credit sale WITH PIN: the PIN pad (a PIN entry device with its own
    contact chip slot) reads the chip and builds the format-4 PIN block from
    the same PAN; the host learns the entry mode from inside the MAC'd
    envelope; a wrong PIN is declined by the host."""
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320, chip=CHIP, body={"cvm": "pin", "source": "ic"})
    assert st == 200, j
    assert "card read 411111******1111" in reg.shopper_answer, reg.shopper_answer
    row = pay_rows(reg)[-1]
    assert row["kind"] == "card" and row["cvm"] == "pin" and row["last4"] == "1111"
    assert row["masked_pan"] == "411111******1111" and json.loads(row["extra"])["entry"] == "chip"
    db = sqlite3.connect(str(reg.host_state / "payhost.db"))
    assert db.execute("SELECT status FROM txns WHERE id = ?", (row["host_txn"],)).fetchone()[0] == "approved"
    db.close()
    text = reg.decode_receipts(reg.printer_out())
    assert row["approval"] in text and PAN not in text
    assert "読取方法 IC" in text, text  # the receipt shows the entry mode
    # a wrong PIN on the chip card: declined by the host, nothing paid
    before = len(pay_rows(reg))
    reg.api.post("/v1/scan", {"code": TEA})
    st, j = reg.card_sale_with_pin(160, pin="0000", chip=CHIP, body={"cvm": "pin", "source": "ic"})
    assert st != 200 and "wrong_pin" in json.dumps(j), j
    assert len(pay_rows(reg)) == before
    # a chip payment does not take a swipe (no silent fallback to the stripe)
    st, j = reg.card_sale_with_pin(160, chip=None, body={"cvm": "pin", "source": "ic"},
                                   during=lambda: reg.ctl("pinpad", "cancel"))
    assert "reads the chip" in reg.shopper_answer, reg.shopper_answer
    assert st != 200 and "pin_cancelled" in json.dumps(j), j
    assert len(pay_rows(reg)) == before


def test_pol2_replayed_pin_block_via_register_declined(reg):
    """A replay through the register path: SIMULATOR FAULT INJECTION makes the
    PIN pad re-send the previous sale's card record and PIN block (same
    KSNs), standing for a compromised device path or controller. The host
    declines it as a replay, nothing is recorded as paid, the decline is
    audited, and the sale can still be paid afterwards."""
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320)
    assert st == 200, j
    paid = len(pay_rows(reg))
    refused = int(reg.tctl("audit-count", "pay.card.refused").strip())
    assert "FAULT armed" in reg.ctl("pinpad", "fault", "replay-last")
    reg.api.post("/v1/scan", {"code": TEA, "qty": 2})
    st, j = reg.card_sale_with_pin(320)
    assert "FAULT: previous PIN block and card record re-sent" in reg.enter_answer, reg.enter_answer
    assert st != 200 and "replay" in json.dumps(j), j
    assert len(pay_rows(reg)) == paid  # nothing recorded as paid
    assert int(reg.tctl("audit-count", "pay.card.refused").strip()) == refused + 1
    db = sqlite3.connect(str(reg.host_state / "payhost.db"))
    reasons = [r[0] for r in db.execute("SELECT reason FROM declines")]
    db.close()
    assert "replay" in reasons, reasons
    # the fault was one-shot: the same sale is then paid with fresh KSNs
    st, j = reg.card_sale_with_pin(320)
    assert st == 200, j
    assert len(pay_rows(reg)) == paid + 1


def mamori_pay_verify(reg):
    return subprocess.run([prog("mamori"), "pay", "verify", "--state", str(reg.state)], capture_output=True,
                          text=True, timeout=30)


def test_dev15_emoney_record_device_signed_and_reverified(reg):
    """The IC reader signs the record of the deduction with its own key; the
    register verifies it against the key pinned at enrolment before it
    accepts the tender, stores it, and `mamori pay verify` re-checks it
    offline; a tampered stored record fails."""
    row, extra = emoney_sale(reg)
    assert extra["device"] == reg.serial("icreader") and extra["signed"]
    rec = extra["record"]
    assert (rec["amount"], rec["balance_before"], rec["balance_after"]) == (160, 5000, 4840)
    assert row["host_txn"] == "E%d" % rec["seq"] and rec["card"].endswith("5678") and "0012345678" not in row["extra"]
    r = mamori_pay_verify(reg)
    assert r.returncode == 0 and "1 e-money record(s) verified, 0 failed" in r.stdout, (r.stdout, r.stderr)
    # the stored row altered (amount), or the signed record altered: verification fails (exit 3)
    db = sqlite3.connect(str(reg.state / "pay.db"))
    db.execute("UPDATE payments SET amount = 16 WHERE id = ?", (row["id"],))
    db.commit()
    r = mamori_pay_verify(reg)
    assert r.returncode == 3 and "FAILED" in r.stdout, (r.stdout, r.stderr)
    db.execute("UPDATE payments SET amount = 160 WHERE id = ?", (row["id"],))
    raw = bytearray(base64.b64decode(extra["signed"]))
    raw[-70] ^= 1  # the time field: still parses, the signature no longer matches
    extra["signed"] = base64.b64encode(bytes(raw)).decode()
    db.execute("UPDATE payments SET extra = ? WHERE id = ?", (json.dumps(extra), row["id"]))
    db.commit()
    db.close()
    r = mamori_pay_verify(reg)
    assert r.returncode == 3 and "FAILED" in r.stdout, (r.stdout, r.stderr)


def test_dev15_emoney_record_not_signed_by_pinned_key_refused(reg):
    """A record signed by a key other than the one pinned at enrolment (here:
    the registry's pin for the IC reader changed to another key, i.e. the
    reader is not the enrolled device) is refused and audited
    pay.emoney.bad_signature; nothing is recorded as paid."""
    serial = reg.serial("icreader")
    db = sqlite3.connect(str(reg.state / "registry.db"), timeout=10)
    db.execute("UPDATE devices SET log_pub = ? WHERE serial = ?", (bytes(range(32)), serial))
    db.commit()
    db.close()
    reg.ctl("icreader", "card", "emoney", "0012345679", "5000")
    reg.api.post("/v1/scan", {"code": TEA})
    before = len(pay_rows(reg))
    st, j = reg.api.post("/v1/tender/emoney", {"amount": 160}, ok=False)
    assert st != 200 and "bad_signature" in json.dumps(j), j
    assert len(pay_rows(reg)) == before
    assert int(reg.tctl("audit-count", "pay.emoney.bad_signature").strip()) == 1
