"""mamori audit: provisioning export, offline verification naming the tampered
entry, export/prove/show (POL-7, PRE-1)."""
import json
import sqlite3


def _provision(mamori, tmp_path):
    db, keys = tmp_path / "audit.db", tmp_path / "verifier.json"
    r = mamori("audit", "keys", "--export", keys, "--db", db)
    assert r.returncode == 0, r.stderr
    assert keys.stat().st_mode & 0o777 == 0o600
    return db, keys


def test_pol7_audit_cli_verify_export_prove_show(mamori, tmp_path):
    db, keys = _provision(mamori, tmp_path)
    r = mamori("audit", "verify", "--db", db, "--keys", keys)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "audit log OK" in r.stdout
    bundle = tmp_path / "log.bundle"
    r = mamori("audit", "export", "--db", db, "--out", bundle)
    assert r.returncode == 0 and "tail sealed" in r.stdout
    r = mamori("audit", "verify", "--bundle", bundle, "--keys", keys, "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["ok"] is True
    r = mamori("audit", "prove", "0", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    proof = json.loads(r.stdout)
    assert proof["seq"] == 0 and len(proof["leaf_hash"]) == 64
    r = mamori("audit", "prove", "--from", "1", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    con = json.loads(r.stdout)
    assert con["size1"] == 1 and con["size2"] == 2 and len(con["proof"]) == 1
    assert mamori("audit", "prove", "--from", "3", "--db", db).returncode == 1
    r = mamori("audit", "show", "--db", db, "--json", "--event", "audit")
    assert r.returncode == 0
    events = [e["event"] for e in json.loads(r.stdout)]
    assert events == ["audit.start", "audit.stop"]
    # the export of key_0 happened once: no second copy on the terminal
    r = mamori("audit", "keys", "--export", tmp_path / "again.json", "--db", db)
    assert r.returncode != 0


def test_pre1_audit_cli_tampered_database_names_entry(mamori, tmp_path):
    db, keys = _provision(mamori, tmp_path)
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit SET details = '{\"pid\":1}' WHERE seq = 1")
    con.commit()
    con.close()
    r = mamori("audit", "verify", "--db", db, "--keys", keys)
    assert r.returncode == 3
    assert "entry 1" in r.stdout and "seal MAC" in r.stdout


def test_pre1_audit_cli_flipped_bundle_byte_detected(mamori, tmp_path):
    db, keys = _provision(mamori, tmp_path)
    bundle = tmp_path / "log.bundle"
    assert mamori("audit", "export", "--db", db, "--out", bundle).returncode == 0
    data = bytearray(bundle.read_bytes())
    for pos in (30, len(data) // 2, len(data) - 5):
        bad = bytearray(data)
        bad[pos] ^= 0x04
        p = tmp_path / f"bad{pos}.bundle"
        p.write_bytes(bytes(bad))
        r = mamori("audit", "verify", "--bundle", p, "--keys", keys)
        assert r.returncode == 3, (pos, r.stdout)
        assert "FAILED" in r.stdout


def test_pol7_audit_cli_usage(mamori, tmp_path):
    assert mamori("audit", "--help").returncode == 0
    assert mamori("audit").returncode == 2
    assert mamori("audit", "verify", "--db", tmp_path / "x.db").returncode == 2  # --keys missing
    assert mamori("devlog", "verify", "nofile").returncode == 2


def test_pol8_1_reconcile_cli_names_hidden_dispense(mamori, tmp_path):
    from conftest import ROOT
    day = ROOT / "data" / "demo" / "cash-day.json"
    db, keys = _provision(mamori, tmp_path)
    r = mamori("audit", "reconcile", "--day", day, "--record", "--db", db)
    assert r.returncode == 3, r.stderr
    assert "device-not-in-journal" in r.stdout and "-2000 yen" in r.stdout
    assert "13:50:02 .. 2026-11-26 14:20:00" in r.stdout and "op-B" in r.stdout
    r = mamori("audit", "show", "--db", db, "--event", "cash.discrepancy", "--json")
    found = json.loads(r.stdout)
    assert len(found) == 1 and found[0]["details"]["amount"] == -2000
    # the log with the recorded discrepancy still verifies
    assert mamori("audit", "verify", "--db", db, "--keys", keys).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"journal": [{"time": 1, "dir": "sideways", "denoms": {}}]}')
    assert mamori("audit", "reconcile", "--day", bad).returncode == 1


def test_pre1_demo_audit_script_detects_tampering(tmp_path):
    import os
    import subprocess
    from conftest import BUILD, ROOT
    r = subprocess.run(["sh", str(ROOT / "scripts" / "demo_audit.sh"), str(BUILD)], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "audit log OK" in r.stdout
    assert "audit log FAILED at entry" in r.stdout
    assert "device-not-in-journal" in r.stdout


def test_pol8_1_devlog_cli_verifies_and_names_attacks(mamori, tmp_path):
    """An exported drawer log (5 signed entries, fixture) checked with only the
    device public key; a dropped entry and an edited byte are named."""
    from conftest import ROOT
    data = ROOT / "tests" / "system" / "data"
    log = (data / "devlog-drw-0001.bin").read_bytes()
    pub = (data / "devlog-drw-0001.pub").read_text().strip()
    r = mamori("devlog", "verify", data / "devlog-drw-0001.bin", "--pub", pub, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["entries"] == 5
    # split into framed entries
    entries, off = [], 0
    while off < len(log):
        n = int.from_bytes(log[off:off + 4], "big")
        entries.append(log[off:off + 4 + n])
        off += 4 + n
    assert len(entries) == 5
    gap = tmp_path / "gap.bin"
    gap.write_bytes(b"".join(entries[:2] + entries[3:]))
    r = mamori("devlog", "verify", gap, "--pub", pub)
    assert r.returncode == 3 and "gap" in r.stdout
    edited = bytearray(log)
    edited[len(entries[0]) + 40] ^= 0x01
    p = tmp_path / "edited.bin"
    p.write_bytes(bytes(edited))
    r = mamori("devlog", "verify", p, "--pub", pub)
    assert r.returncode == 3 and "entry 1" in r.stdout
    replay = tmp_path / "replay.bin"
    replay.write_bytes(log + entries[1])
    r = mamori("devlog", "verify", replay, "--pub", pub)
    assert r.returncode == 3 and "replay" in r.stdout
    other = "00" * 32
    assert mamori("devlog", "verify", data / "devlog-drw-0001.bin", "--pub", other).returncode == 3
