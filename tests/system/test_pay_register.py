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
