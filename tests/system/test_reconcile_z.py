"""Cash reconciliation at the Z report (POL-1, POL-8(1)) with a real
mamori-terminald and simulated devices: the journal's cash commands, the
change machine's and drawer's own signed logs (fetched at Z) and the
change machine's cassette counts are compared; a payout forced through the
change machine's control interface, which the application never commanded,
and a drawer opened by hand with the key show on the Z report with their
time window and the operators signed on, and are recorded as
cash.discrepancy audit events."""
import json
import subprocess
import time

from conftest import prog
from regfix import Register

TEA = "4901234001077"      # ¥160 reduced
SASHIMI = "2112002515005"  # ¥1,500 price-embedded


def audit_count(r, event):
    out = subprocess.run([prog("mamori-devsim"), "ctl", "--ctl", str(r.state / "ctl.sock"), "audit-count",
                          event], capture_output=True, text=True, timeout=30)
    return int(out.stdout.strip())


def sale(r, code, paid):
    r.api.post("/v1/scan", {"code": code})
    _, j = r.api.post("/v1/tender/cash", {"amount": paid})
    return j


def day(tmp_path, procs):
    r = Register(tmp_path, procs).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 0})
    return r


def test_pol8_1_reconciliation_hidden_dispense_on_z_report(tmp_path, procs):
    r = day(tmp_path, procs)
    # the first Z of the day fixes the cassette counts the next one starts from
    _, z0 = r.api.post("/v1/report/z")
    rec0 = z0["reconciliation"]
    assert rec0["discrepancies"] == [], rec0
    sale(r, TEA, 1000)                        # change ¥840 from the change machine
    t0 = time.time_ns()
    assert "force-dispensed" in r.ctl("changer", "force-dispense", "1000")   # hidden payout
    t1 = time.time_ns()
    sale(r, SASHIMI, 2000)                    # change ¥500
    _, z = r.api.post("/v1/report/z")
    rec = z["reconciliation"]
    assert rec["counts_checked"] is True
    found = rec["discrepancies"]
    assert len(found) == 1, rec["text"]
    f = found[0]
    assert f["kind"] == "device-not-in-journal"
    assert f["amount"] == -1000 and f["ref"] == ""
    assert f["serial"] and f["seq"] >= 0
    assert f["from_ns"] <= t0 and f["to_ns"] >= t1 and f["to_ns"] > f["from_ns"]   # the window
    assert "kenji" in f["operators"]
    assert rec["matched"] >= 2                # both sales' change payouts reconciled
    assert "device-not-in-journal" in rec["text"] and "kenji" in rec["text"]
    assert audit_count(r, "cash.discrepancy") == 1
    # the cassette counts agree with the logged movements (the payout is in the log)
    assert not any(x["kind"] == "count-mismatch" for x in found)


def test_pol8_1_drawer_opened_by_key_reported_without_application_command(tmp_path, procs):
    r = day(tmp_path, procs)
    r.api.post("/v1/report/z")
    sale(r, TEA, 160)
    r.ctl("drawer", "open-by-key")            # by hand, no application command
    r.ctl("drawer", "close")
    _, z = r.api.post("/v1/report/z")
    found = z["reconciliation"]["discrepancies"]
    assert [x["kind"] for x in found] == ["drawer-uncommanded"], z["reconciliation"]["text"]
    assert "kenji" in found[0]["operators"]
    assert audit_count(r, "cash.discrepancy") == 1


def test_pol8_1_honest_day_reconciles_clean(tmp_path, procs):
    r = day(tmp_path, procs)
    r.api.post("/v1/report/z")
    for code, paid in [(TEA, 1000), (SASHIMI, 2000), (TEA, 160)]:
        sale(r, code, paid)
    _, z = r.api.post("/v1/report/z")
    rec = z["reconciliation"]
    assert rec["discrepancies"] == [], rec["text"]
    assert rec["counts_checked"] is True and rec["matched"] >= 3
    assert audit_count(r, "cash.discrepancy") == 0
