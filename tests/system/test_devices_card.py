"""Card devices through the real bus (POL-2, DEV-7, DEV-14): with a DUKPT
key in the MSR, a swipe reaches mamori-terminald only as masked PAN, KSN,
ciphertext and MAC; without one the MSR refuses to read. The key is
provisioned with mamori-payhost-testclient (standing for the injection
facility) in the device's own state directory."""
import json
import os
import subprocess

import pytest

from busrig import Rig, wait_for
from conftest import prog

BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
IKID = "1234567890123456"
T1 = "%B4111111111111111^MAMORI/TARO^2812101123456789?"
T2 = ";4111111111111111=28121011234567?"
PAN_MID = "11111111"


@pytest.fixture
def rig(tmp_path, procs, mamori):
    return Rig(tmp_path, procs, mamori)


def provision_key(state):
    """Load the test initial key into the device's DUKPT state file (fw/dukpt.state)."""
    ik = subprocess.run([prog("mamori-payhost-testclient"), "derive-ik", "--bdk", BDK, "--ikid", IKID],
                        capture_output=True, text=True, timeout=30)
    assert ik.returncode == 0, ik.stderr
    fw = state / "fw"
    fw.mkdir(exist_ok=True, mode=0o700)
    r = subprocess.run([prog("mamori-payhost-testclient"), "sale", "--device", str(fw / "dukpt.state"),
                        "--ik", ik.stdout.strip(), "--ikid", IKID, "--track2", T2, "--amount", "1",
                        "--terminal", "T1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["card"]["ksn"]


def all_bytes(path):
    out = b""
    for root, _, files in os.walk(path):
        for f in files:
            try:
                with open(os.path.join(root, f), "rb") as fh:
                    out += fh.read()
            except OSError:
                pass
    return out


def test_pol2_msr_over_bus_sends_only_ciphertext(rig):
    rig.make_device("msr", "msr")
    rig.make_device("msr2", "msr")
    first_ksn = provision_key(rig.devs["msr"]["state"])
    rig.start_terminal()
    rig.start_device("msr")
    rig.start_device("msr2")
    for n in ("msr", "msr2"):
        assert wait_for(lambda: rig.attached(rig.devs[n]["serial"]), 10)
    out = rig.dctl("msr", "swipe", T1, T2)
    assert "411111******1111" in out
    ev = wait_for(lambda: rig.events("msr.data", rig.devs["msr"]["serial"]), 5)
    assert ev, rig.events()
    body = ev[-1]["body"]
    assert body["masked_pan"] == "411111******1111" and body["expiry"] == "2812"
    assert body["tracks"] == 3
    ksn = body["ksn"].removeprefix("hex:")
    assert len(ksn) == 24 and ksn[:16].upper() == IKID.upper()
    # the device continued its own counter: a new KSN, never the provisioning one
    assert int(ksn[16:], 16) > int(first_ksn[16:], 16)
    assert body["ct"].startswith("hex:") and len(body["mac"]) == len("hex:") + 32
    # the MSR without a key read nothing and said so
    assert "no key" in rig.dctl("msr2", "swipe", T1, T2, check=False)
    assert not rig.events("msr.data", rig.devs["msr2"]["serial"])
    # nothing of the card in clear anywhere the terminal keeps or shows
    assert PAN_MID not in rig.tctl("events")
    assert PAN_MID.encode() not in all_bytes(rig.term)
    assert b"TARO" not in all_bytes(rig.term)
