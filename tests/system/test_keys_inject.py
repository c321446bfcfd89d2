"""`mamori keys inject` / `mamori keys status` (POL-8(3), issue 4): the key
injection ceremony with two custodians over the real bus. The DUKPT initial
key is derived from the BDK by the payment host's key injection facility
(`mamori-payhost issue-ik`) and reaches the device only as a TR-31 key block
under the KBPK the custodians formed; the terminal never holds the BDK or the
clear initial key. Refusals: one custodian, the same person twice, a wrong
role."""
import json
import sqlite3
import subprocess

import pytest

from busrig import MAINT, MAINT_PW, MGR, MGR_PW, Rig, wait_for
from conftest import prog

BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
C1 = "00112233445566778899AABBCCDDEEFF"
C2 = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
T1 = "%B4111111111111111^MAMORI/TARO^2812101123456789?"
T2 = ";4111111111111111=28121011234567?"


@pytest.fixture
def rig(tmp_path, procs, mamori):
    return Rig(tmp_path, procs, mamori)


def setup_keys(rig, tmp_path, days=365):
    host = tmp_path / "host"
    host.mkdir(exist_ok=True)
    (host / "bdk.keys").write_text(f"12345678 {BDK}\n")
    ini = tmp_path / "keys.ini"
    ini.write_text(f"[keys]\npayhost_state = {host}\nbdk_id = 12345678\nreinject_days = {days}\n"
                   f"payhost_prog = {prog('mamori-payhost')}\n")
    return ini


def inject(rig, ini, serial, lines):
    return subprocess.run([prog("mamori"), "keys", "inject", "--device", serial, "--state", str(rig.term),
                           "--config", str(ini)], input="".join(x + "\n" for x in lines),
                          capture_output=True, text=True, timeout=60)


def custodians_at_device(rig, name):
    assert "KCV" in rig.dctl(name, "kbpk", "1", C1)
    assert "KBPK formed" in rig.dctl(name, "kbpk", "2", C2)


def audit_rows(rig, event):
    db = sqlite3.connect(str(rig.term / "audit.db"))
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = []
        for t in tables:
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})")]
            if "event" in cols:
                out += [str(r) for r in db.execute(f"SELECT * FROM {t} WHERE event = ?", (event,))]
        return out
    finally:
        db.close()


def test_pol8_3_inject_two_custodians_device_reads_with_new_key(rig, tmp_path):
    ini = setup_keys(rig, tmp_path)
    rig.make_device("msr", "msr")
    rig.start_terminal()
    rig.start_device("msr")
    serial = rig.devs["msr"]["serial"]
    assert wait_for(lambda: rig.attached(serial), 10)
    custodians_at_device(rig, "msr")
    r = inject(rig, ini, serial, [MAINT, MAINT_PW, "maint2", "maint-pw-2", C1, C2])
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "component 1 KCV" in r.stdout and "component 2 KCV" in r.stdout and "kbpk KCV" in r.stdout
    ikid = r.stdout.split("ikid ")[1].split()[0]
    assert ikid.upper().startswith("12345678")
    # the device now encrypts under a key from the host's BDK: its KSN carries the new ikid
    rig.dctl("msr", "swipe", T1, T2)
    ev = wait_for(lambda: rig.events("msr.data", serial), 5)
    assert ev and ev[-1]["body"]["ksn"].removeprefix("hex:").upper().startswith(ikid.upper())
    # audit: the ceremony, both custodians and the KCVs; never a component, the KBPK or the BDK
    done = audit_rows(rig, "keys.inject.done")
    assert done and MAINT in done[-1] and "maint2" in done[-1] and serial in done[-1]
    blob = (rig.term / "audit.db").read_bytes() + (rig.term / "keys.db").read_bytes()
    for secret in (C1, C2, BDK):
        assert secret.encode() not in blob and secret.lower().encode() not in blob
    # status: injected just now, not overdue
    st = subprocess.run([prog("mamori"), "keys", "status", "--state", str(rig.term), "--config", str(ini),
                         "--json"], capture_output=True, text=True, timeout=30)
    assert st.returncode == 0, st.stderr
    rows = {json.loads(x)["serial"]: json.loads(x) for x in st.stdout.splitlines()}
    assert rows[serial]["overdue"] is False and rows[serial]["last_at"] > 0


def test_pol8_3_inject_refused_one_custodian_same_twice_wrong_role(rig, tmp_path):
    ini = setup_keys(rig, tmp_path)
    rig.make_device("pp", "pinpad")
    rig.start_terminal()
    rig.start_device("pp")
    serial = rig.devs["pp"]["serial"]
    assert wait_for(lambda: rig.attached(serial), 10)
    custodians_at_device(rig, "pp")
    # one custodian alone
    r = inject(rig, ini, serial, [MAINT, MAINT_PW])
    assert r.returncode == 4, (r.stdout, r.stderr)
    # the same person twice
    r = inject(rig, ini, serial, [MAINT, MAINT_PW, MAINT, MAINT_PW, C1, C2])
    assert r.returncode == 4, (r.stdout, r.stderr)
    # a manager is not a key custodian
    r = inject(rig, ini, serial, [MAINT, MAINT_PW, MGR, MGR_PW, C1, C2])
    assert r.returncode == 4, (r.stdout, r.stderr)
    # a wrong password
    r = inject(rig, ini, serial, [MAINT, MAINT_PW, "maint2", "wrong-password", C1, C2])
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert not audit_rows(rig, "keys.inject.done")
    assert len(audit_rows(rig, "dual_control.refused")) >= 4
    # nothing reached the device: the PIN pad still has no key
    assert "key.injected" not in json.dumps(rig.dlog("pp"))


def test_pol8_3_wrong_component_device_refuses_block(rig, tmp_path):
    ini = setup_keys(rig, tmp_path)
    rig.make_device("ic", "icreader")
    rig.start_terminal()
    rig.start_device("ic")
    serial = rig.devs["ic"]["serial"]
    assert wait_for(lambda: rig.attached(serial), 10)
    custodians_at_device(rig, "ic")
    wrong = "FF" * 16
    r = inject(rig, ini, serial, [MAINT, MAINT_PW, "maint2", "maint-pw-2", C1, wrong])
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert not audit_rows(rig, "keys.inject.done")
    assert audit_rows(rig, "keys.inject.failed")


def test_pol8_3_status_reports_overdue(rig, tmp_path):
    ini = setup_keys(rig, tmp_path, days=30)
    rig.make_device("msr", "msr")
    rig.make_device("pp", "pinpad")
    rig.start_terminal()
    rig.start_device("msr")
    rig.start_device("pp")
    s_msr, s_pp = rig.devs["msr"]["serial"], rig.devs["pp"]["serial"]
    assert wait_for(lambda: rig.attached(s_msr) and rig.attached(s_pp), 10)
    custodians_at_device(rig, "msr")
    r = inject(rig, ini, s_msr, [MAINT, MAINT_PW, "maint2", "maint-pw-2", C1, C2])
    assert r.returncode == 0, r.stderr

    def status(now=None):
        args = [prog("mamori"), "keys", "status", "--state", str(rig.term), "--config", str(ini), "--json"]
        if now:
            args += ["--now", str(now)]
        st = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert st.returncode == 0, st.stderr
        return {json.loads(x)["serial"]: json.loads(x) for x in st.stdout.splitlines()}
    rows = status()
    assert rows[s_msr]["overdue"] is False
    assert rows[s_pp]["overdue"] is True and rows[s_pp]["last_at"] == 0  # never injected
    later = rows[s_msr]["last_at"] + 31 * 86400
    rows = status(later)
    assert rows[s_msr]["overdue"] is True
    assert any(s_msr in x for x in audit_rows(rig, "keys.overdue"))
