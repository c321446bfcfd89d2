"""System tests for mamori-payhost, the payment host SIMULATOR (issue 4).

The host runs on a loopback port in a temp dir; mamori-payhost-testclient
stands for the MSR / PIN pad firmware (DUKPT device state, P2PE envelopes).
The client pins the host's self-signed certificate.
"""
import json
import sqlite3
import ssl
import subprocess
import urllib.request

import pytest

from conftest import prog

BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
IKID = "1234567890123456"
PAN = "4111111111111111"
TRACK2 = ";4111111111111111=28121011234567890?"


@pytest.fixture
def host(tmp_path, procs):
    state = tmp_path / "host"
    state.mkdir()
    (state / "bdk.keys").write_text(f"12345678 {BDK}\n")
    (state / "issuers.txt").write_text(
        f"{PAN} 1234 50000 active\n"
        "5555555555554444 9999 50000 blocked\n")
    p = procs([prog("mamori-payhost"), "--state", state, "--port", "0", "--today", "2026-11",
               "--max-seconds", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("ready port="), line
    port = int(line.split("=")[1])
    ik = subprocess.run([prog("mamori-payhost-testclient"), "derive-ik", "--bdk", BDK, "--ikid", IKID],
                        capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    ctx = ssl.create_default_context(cafile=str(state / "cert.pem"))

    class H:
        pass
    h = H()
    h.state, h.port, h.ik, h.proc, h.dev = state, port, ik, p, tmp_path / "device.state"

    def post(body):
        req = urllib.request.Request(f"https://127.0.0.1:{port}/v1/authorize",
                                     data=body.encode() if isinstance(body, str) else body,
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def sale(*extra, track2=TRACK2, amount=1000):
        out = subprocess.run([prog("mamori-payhost-testclient"), "sale", "--device", h.dev, "--ik", ik,
                              "--ikid", IKID, "--track2", track2, "--amount", str(amount),
                              "--terminal", "T1", *extra],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        return out.strip()
    h.post, h.sale = post, sale
    return h


def test_dev17_sale_with_pin_approved_and_db_has_token_not_pan(host):
    st, r = host.post(host.sale("--pin", "1234", "--pan", PAN, "--method", "installments", "--count", "3"))
    assert st == 200 and r["result"] == "approved", r
    assert r["last4"] == "1111" and len(r["approval_code"]) == 6
    assert r["method"] == "installments" and r["installments"] == 3
    db = (host.state / "payhost.db").read_bytes()
    wal = host.state / "payhost.db-wal"
    blob = db + (wal.read_bytes() if wal.exists() else b"")
    assert PAN.encode() not in blob          # no clear PAN at rest
    assert b"4111111111" not in blob
    assert r["token"].encode() in blob      # but the token is there
    con = sqlite3.connect(host.state / "payhost.db")
    rows = con.execute("SELECT token, last4 FROM txns WHERE id = ?", (r["txn_id"],)).fetchall()
    assert rows == [(r["token"], "1111")]


def test_pol2_replayed_ksn_declined(host):
    body = host.sale("--pin", "1234", "--pan", PAN)
    st, r = host.post(body)
    assert r["result"] == "approved", r
    st, r = host.post(body)                 # the same envelope again: same KSN
    assert st == 200 and r == {"result": "declined", "reason": "replay"}
    con = sqlite3.connect(host.state / "payhost.db")
    assert con.execute("SELECT count(*) FROM declines WHERE reason = 'replay'").fetchone()[0] == 1
    # the decline is logged at the host (stderr), without card data
    host.proc.terminate()
    _, err = host.proc.communicate(timeout=30)
    assert host.proc.returncode == 0
    assert "payhost.declined reason=replay" in err
    assert PAN not in err and "4111111111" not in err


def test_pol2_wrong_pin_garbage_and_wrong_ksn_declined(host):
    st, r = host.post(host.sale("--pin", "9999", "--pan", PAN))
    assert r == {"result": "declined", "reason": "wrong_pin"}
    body = json.loads(host.sale("--signature"))
    body["card"]["ct"] = "00" * (len(body["card"]["ct"]) // 2)      # garbage ciphertext
    assert host.post(json.dumps(body))[1] == {"result": "declined", "reason": "bad_mac"}
    body = json.loads(host.sale("--signature"))
    ksn = body["card"]["ksn"]
    body["card"]["ksn"] = ksn[:-1] + ("2" if ksn[-1] != "2" else "4")  # another (valid) counter
    assert host.post(json.dumps(body))[1]["reason"] in ("bad_mac", "replay")
    body["card"]["ksn"] = "99999999" + ksn[8:]                       # unknown BDK
    assert host.post(json.dumps(body))[1] == {"result": "declined", "reason": "unknown_bdk"}
    st, r = host.post(b"{not json")
    assert st == 400 and r["reason"] == "bad_request"


def test_dev17_issuer_rules_by_card(host):
    assert host.post(host.sale("--signature", amount=60000))[1]["reason"] == "insufficient_funds"
    t2 = ";5555555555554444=28121010000000000?"
    assert host.post(host.sale("--signature", track2=t2))[1]["reason"] == "card_blocked"
    t2 = ";4000000000000002=28121010000000000?"
    assert host.post(host.sale("--signature", track2=t2))[1]["reason"] == "do_not_honor"
    t2 = ";4000010000000001=28121010000000000?"
    assert host.post(host.sale("--signature", track2=t2))[1]["reason"] == "insufficient_funds"
    t2 = ";4242424242424242=28121010000000000?"
    r = host.post(host.sale("--signature", "--method", "bonus", track2=t2))[1]
    assert r["result"] == "approved" and r["method"] == "bonus"
    t2 = ";4111111111111111=25121010000000000?"
    assert host.post(host.sale("--signature", track2=t2))[1]["reason"] == "expired_card"
    assert host.post(host.sale())[1]["reason"] == "no_cardholder_verification"


def test_dev17_refund_by_token_and_void(host):
    st, sale = host.post(host.sale("--signature", "--method", "revolving", amount=3000))
    assert sale["result"] == "approved"
    refund = {"type": "refund", "amount": 1000, "token": sale["token"],
              "original_txn": sale["txn_id"], "terminal": "T1"}
    st, r = host.post(json.dumps(refund))
    assert r["result"] == "approved" and r["last4"] == "1111", r
    refund["amount"] = 2001
    assert host.post(json.dumps(refund))[1]["reason"] == "refund_exceeds_sale"
    refund["amount"] = 10
    refund["token"] = "0" * 64
    assert host.post(json.dumps(refund))[1]["reason"] == "token_mismatch"
    st, sale2 = host.post(host.sale("--signature"))
    void = {"type": "void", "original_txn": sale2["txn_id"], "terminal": "T1"}
    assert host.post(json.dumps(void))[1]["result"] == "approved"
    assert host.post(json.dumps(void))[1]["reason"] == "original_not_voidable"


def test_dev17_tls_pinned_and_loopback_only(host):
    # a client that does not pin the simulator's certificate refuses it
    req = urllib.request.Request(f"https://127.0.0.1:{host.port}/v1/authorize", data=b"{}", method="POST")
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(req, context=ssl.create_default_context(), timeout=30)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    # the listener is bound to 127.0.0.1 only
    port_hex = "%04X" % host.port
    listening = [l.split()[1] for l in open("/proc/net/tcp").read().splitlines()[1:]
                 if l.split()[1].endswith(":" + port_hex) and l.split()[3] == "0A"]
    assert listening == ["0100007F:" + port_hex]
    assert (host.state / "key.pem").stat().st_mode & 0o777 == 0o600
    assert (host.state / "token.key").stat().st_mode & 0o777 == 0o600
