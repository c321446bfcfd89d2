"""CLI and daemon behaviour of the bus tools: mamori vendor, mamori devices,
mamori-terminald configuration errors, mamori-devsim usage."""
import json

from conftest import prog
from busrig import Rig, wait_for
import subprocess


def test_vendor_issue_show_verify(tmp_path, mamori):
    v, other = tmp_path / "v", tmp_path / "o"
    assert mamori("vendor", "init", "--dir", v).returncode == 0
    assert mamori("vendor", "init", "--dir", v).returncode == 1          # never overwrites the CA key
    assert oct((v / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert mamori("vendor", "init", "--dir", other).returncode == 0
    args = ["vendor", "issue", "--dir", v, "--model", "M-1", "--serial", "S-1", "--bus-pub", "11" * 32,
            "--log-pub", "22" * 32, "--fw", "33" * 32, "--issued", "1700000000", "--out", tmp_path / "c"]
    assert mamori(*args).returncode == 0
    r = mamori("vendor", "show", tmp_path / "c", "--dir", v, "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["serial"] == "S-1" and d["fw"] == "33" * 32 and d["issued"] == 1700000000
    assert mamori("vendor", "show", tmp_path / "c", "--dir", other).returncode == 3
    bad = list(args)
    bad[bad.index("--bus-pub") + 1] = "11" * 31
    assert mamori(*bad).returncode == 2
    (tmp_path / "junk").write_bytes(b"\x82\x40\x40")
    assert mamori("vendor", "show", tmp_path / "junk").returncode == 1
    assert mamori("vendor", "--help").returncode == 0
    assert mamori("devices", "--help").returncode == 0


def test_terminald_config_error_names_file_and_line(tmp_path):
    st = tmp_path / "st"
    st.mkdir()
    (st / "manufacturer-ca.pub").write_text("00" * 32 + "\n")
    (tmp_path / "t.ini").write_text("[bus]\n\nheartbeat_ms = 99999999\n")
    r = subprocess.run([prog("mamori-terminald"), "--state", st, "--config", tmp_path / "t.ini"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "t.ini:3" in r.stderr and "heartbeat_ms" in r.stderr
    (tmp_path / "t.ini").write_text("[bus]\nthis is not ini\n")
    r = subprocess.run([prog("mamori-terminald"), "--state", st, "--config", tmp_path / "t.ini"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "t.ini:2" in r.stderr
    r = subprocess.run([prog("mamori-terminald"), "--print-config"], capture_output=True, text=True)
    assert "heartbeat_ms = 2000" in r.stdout


def test_devsim_refuses_without_certificate(tmp_path):
    r = subprocess.run([prog("mamori-devsim"), "init", "--kind", "scanner", "--state", tmp_path / "d"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["kind"] == "scanner"
    r = subprocess.run([prog("mamori-devsim"), "--kind", "scanner", "--state", tmp_path / "d",
                        "--connect", "unix:/nonexistent"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "certificate" in r.stderr
    r = subprocess.run([prog("mamori-devsim"), "init", "--kind", "toaster", "--state", tmp_path / "e"],
                       capture_output=True, text=True)
    assert r.returncode == 1


def test_pol8_2_devices_list_shows_enrolment_and_attachment(tmp_path, procs, mamori):
    rig = Rig(tmp_path, procs, mamori)
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    rig.start_device("sc")
    assert wait_for(lambda: rig.attached("SC-1"))
    r = mamori("devices", "list", "--state", rig.term, "--json")
    d = json.loads(r.stdout.splitlines()[0])
    assert d["serial"] == "SC-1" and d["attached"] == "yes" and d["removed"] is False
    assert d["bus_pub"] == rig.devs["sc"]["ident"]["bus_pub"]


def test_dev6_tcp_loopback_transport(tmp_path, procs, mamori):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rig = Rig(tmp_path, procs, mamori)
    rig.start_terminal(listen="tcp:127.0.0.1:%d,unix:bus.sock" % port)
    rig.make_device("sc", "scanner", serial="SC-TCP")
    rig.make_device("ld", "linedisplay", serial="LD-UNIX")
    rig.start_device("sc", connect="tcp:127.0.0.1:%d" % port)
    rig.start_device("ld")
    assert wait_for(lambda: rig.attached("SC-TCP") and rig.attached("LD-UNIX"))
    rig.dctl("sc", "scan", "4901234567894")
    assert wait_for(lambda: rig.events("scanner.data", "SC-TCP"))


def test_pol8_2_unplug_replug_and_tamper_passthrough(tmp_path, procs, mamori):
    rig = Rig(tmp_path, procs, mamori)
    rig.start_terminal()
    rig.make_device("pp", "pinpad", serial="PP-1")
    rig.start_device("pp")
    assert wait_for(lambda: rig.attached("PP-1"))
    rig.dctl("pp", "unplug")
    det = wait_for(lambda: rig.events("detach", "PP-1"))
    assert det and det[0]["body"]["reason"] == "closed"
    assert rig.dstatus("pp")["unplugged"]
    rig.dctl("pp", "replug")
    assert wait_for(lambda: len(rig.events("attach", "PP-1")) == 2)
    assert rig.audit_count("device.detach") == 1 and rig.audit_count("device.attach") == 2
    # "tamper" is the firmware's own physical-world verb: passed through unchanged
    out = rig.dctl("pp", "tamper")
    assert "keys erased" in out
    assert wait_for(lambda: [e for e in rig.events("pinpad.status", "PP-1") if e["body"].get("tampered")])
    assert any(r["event"] == "device.unplugged" for r in rig.dlog("pp"))
