"""Attack tests of issue 2 against the real daemons (mamori-terminald,
mamori-devsim) in a temp dir. Each test names the requirement it proves.
"""
import json
import os
import socket
import struct
import threading
import time

import cbor2
import pytest

import busproto as bp
from busrig import MAINT, MAINT_PW, MGR, MGR_PW, Relay, Rig, wait_for


@pytest.fixture
def rig(tmp_path, procs, mamori):
    return Rig(tmp_path, procs, mamori)


def refused(rig, reason):
    return [e for e in rig.tctl("events").splitlines()] and rig.audit_count("device.refused")


# ---------------------------------------------------------------- POL-4: confidentiality/integrity

def test_pol4_passive_capture_has_no_payload(rig, tmp_path):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    rig.make_device("ld", "linedisplay", serial="LD-1")
    relay_sc = Relay(tmp_path / "r1.sock", rig.bus_sock)
    relay_ld = Relay(tmp_path / "r2.sock", rig.bus_sock)
    rig.start_device("sc", connect="unix:%s" % (tmp_path / "r1.sock"))
    rig.start_device("ld", connect="unix:%s" % (tmp_path / "r2.sock"))
    assert wait_for(lambda: rig.attached("SC-1") and rig.attached("LD-1"))
    code = "4901234567894"
    text = "TOTAL 1234 YEN"
    rig.dctl("sc", "scan", code)
    # it reached the application...
    assert wait_for(lambda: [e for e in rig.events("scanner.data") if e["body"]["data"] == code])
    # ...and the display text reached the display
    rig.tctl("request", "LD-1", "linedisplay.text", json.dumps({"lines": [text, "ARIGATO"]}))
    assert text in rig.dctl("ld", "show")
    time.sleep(0.3)
    for relay in (relay_sc, relay_ld):
        wire = bytes(relay.c2s) + bytes(relay.s2c)
        assert len(wire) > 200  # there was traffic
        for needle in (code.encode(), text.encode(), b"ARIGATO", b"4901234", b"scanner.data",
                       b"linedisplay.text", cbor2.dumps(code)):
            assert needle not in wire, needle
    relay_sc.close()
    relay_ld.close()


def test_pol4_replayed_frame_rejected_and_recorded(rig, tmp_path):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    relay = Relay(tmp_path / "r.sock", rig.bus_sock)
    rig.start_device("sc", connect="unix:%s" % (tmp_path / "r.sock"))
    assert wait_for(lambda: rig.attached("SC-1"))
    before = len(relay.data_frames())
    rig.dctl("sc", "scan", "4900000000001")
    assert wait_for(lambda: len(rig.events("scanner.data")) == 1)
    frames = relay.data_frames()[before:]
    assert frames
    rejected0 = rig.audit_count("bus.frame_rejected")
    for f in frames:  # replay every data frame the device sent for the scan
        relay.inject_to_server(f)
    assert wait_for(lambda: rig.audit_count("bus.frame_rejected") >= rejected0 + len(frames))
    time.sleep(0.3)
    assert len(rig.events("scanner.data")) == 1   # not accepted a second time
    assert rig.attached("SC-1")                     # the genuine session continues
    rig.dctl("sc", "scan", "4900000000002")
    assert wait_for(lambda: len(rig.events("scanner.data")) == 2)
    relay.close()


def test_pol4_flipped_bit_drops_session_and_recorded(rig, tmp_path):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    relay = Relay(tmp_path / "r.sock", rig.bus_sock)
    rig.start_device("sc", connect="unix:%s" % (tmp_path / "r.sock"))
    assert wait_for(lambda: rig.attached("SC-1"))
    relay.flip_next_data = True
    rig.dctl("sc", "scan", "4900000000003")
    det = wait_for(lambda: rig.events("detach", "SC-1"))
    assert det and "auth" in det[0]["body"]["reason"]
    assert rig.audit_count("device.detach") >= 1
    assert not [e for e in rig.events("scanner.data") if e["body"]["data"] == "4900000000003"]
    relay.close()


# ---------------------------------------------------------------- THR-4 / PRE-4: identity

def test_thr4_unknown_key_refused_and_recorded(rig):
    rig.start_terminal()
    rig.make_device("rogue", "scanner", serial="SC-ROGUE", enrol=False)
    rig.start_device("rogue")
    assert wait_for(lambda: rig.audit_count("device.refused") >= 1)
    assert not rig.events("attach")
    assert "SC-ROGUE" not in rig.tctl("devices")
    assert wait_for(lambda: any("refused" in r["reason"] for r in rig.dlog("rogue")))


def test_thr4_known_serial_new_key_refused(rig, tmp_path):
    rig.start_terminal()
    rig.make_device("dr", "drawer", serial="DR-1")
    rig.start_device("dr")
    assert wait_for(lambda: rig.attached("DR-1"))
    # a swapped/cloned drawer: same serial, its own keys, genuine CA certificate
    rig.make_device("clone", "drawer", serial="DR-1", enrol=False)
    assert rig.enrol("clone").returncode == 4  # cannot be enrolled over the original either
    n0 = rig.audit_count("device.refused")
    rig.start_device("clone")
    assert wait_for(lambda: rig.audit_count("device.refused") > n0)
    assert len(rig.events("attach", "DR-1")) == 1  # only the original ever attached
    assert wait_for(lambda: any("key_mismatch" in r["reason"] for r in rig.dlog("clone")))


def test_thr4_changed_firmware_measurement_refused(rig):
    rig.start_terminal()
    d = rig.make_device("sc", "scanner", serial="SC-1")
    rig.start_device("sc")
    assert wait_for(lambda: rig.attached("SC-1"))
    rig.dctl("sc", "unplug")
    assert wait_for(lambda: not rig.attached("SC-1"))
    # new firmware: the vendor issues a certificate with another measurement
    r = rig.mamori("vendor", "issue", "--dir", rig.vendor, "--identity", d["state"] / "identity.json",
                   "--fw", "ab" * 32, "--out", d["state"] / "device.cert")
    assert r.returncode == 0
    d["proc"].kill()
    d["proc"].wait()
    n0 = rig.audit_count("device.refused")
    rig.start_device("sc")
    assert wait_for(lambda: rig.audit_count("device.refused") > n0)
    assert wait_for(lambda: any("firmware_changed" in r["reason"] for r in rig.dlog("sc")))
    assert not rig.attached("SC-1")


def test_pre4_certificate_not_from_manufacturer_ca_refused(rig, tmp_path, mamori):
    rig.start_terminal()
    other = tmp_path / "othervendor"
    assert mamori("vendor", "init", "--dir", other).returncode == 0
    rig.make_device("fake", "drawer", serial="DR-FAKE", enrol=False, vendor=other)
    # enrolment of such a certificate fails verification (exit 3)...
    assert rig.enrol("fake").returncode == 3
    # ...and even a device presenting it to the bus is refused
    rig.start_device("fake")
    assert wait_for(lambda: rig.audit_count("device.refused") >= 1)
    assert wait_for(lambda: any("bad_certificate" in r["reason"] for r in rig.dlog("fake")))
    assert not rig.events("attach")


def test_thr4_removed_device_kk_refused(rig, mamori):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    rig.start_device("sc")
    assert wait_for(lambda: rig.attached("SC-1"))
    assert wait_for(lambda: rig.dstatus("sc")["paired"])
    r = mamori("devices", "remove", "--state", rig.term, "--serial", "SC-1", "--maintainer", MAINT,
               "--manager", MGR, input="%s\n%s\n" % (MAINT_PW, MGR_PW))
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: rig.events("detach", "SC-1"))
    # the paired device keeps retrying with KK and is refused every time
    n0 = rig.audit_count("device.refused")
    assert wait_for(lambda: rig.audit_count("device.refused") > n0, timeout=10)
    # the device is told only "refused" (no probing which keys are enrolled);
    # the terminal's audit record names the reason
    assert wait_for(lambda: any("handshake refused" in r["reason"] for r in rig.dlog("sc")))
    assert not any("removed" in r["reason"] for r in rig.dlog("sc"))
    r = mamori("audit", "show", "--db", rig.term / "audit.db", "--event", "device.refused", "--json")
    assert any(e["details"]["reason"] == "removed" for e in json.loads(r.stdout)), r.stdout
    assert len(rig.events("attach", "SC-1")) == 1
    assert rig.audit_count("device.remove") == 1


# ---------------------------------------------------------------- POL-4: mutual pairing

class RogueController:
    """A laptop on the device's port: its own keys, speaking the published protocol."""

    def __init__(self, path, mode):
        self.path, self.mode = str(path), mode
        self.s = bp.KeyPair()
        self.results = []
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(4)
        self.ls.settimeout(0.2)
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except (socket.timeout, OSError):
                continue
            try:
                self.results.append(self.handle(c))
            except Exception as e:  # noqa: BLE001 - record what happened
                self.results.append(("error", repr(e)))
            finally:
                c.close()

    def handle(self, c):
        rd = bp.StreamReader(c)
        f = rd.frame()
        if f is None:
            return ("closed",)
        ft, pattern, step = f[0], f[1], f[2]
        pro = bp.prologue("unix")
        if pattern == bp.KK:
            hint, msg = f[3:35], f[35:]
            if self.mode == "xx":   # answer a KK attempt with an XX pairing offer
                hs = bp.Handshake(bp.XX, False, self.s, prologue_bytes=pro)
                c.sendall(bp.frame_stream(bp.hs_frame(bp.XX, 1, os.urandom(96))))
            else:                   # answer KK with our own static key
                hs = bp.Handshake(bp.KK, False, self.s, rs=hint, prologue_bytes=pro)
                try:
                    hs.read(msg)    # cannot decrypt without the terminal's key
                except Exception:
                    pass
                hs2 = bp.Handshake(bp.KK, False, self.s, rs=hint, prologue_bytes=pro)
                hs2.e = None
                # a syntactically valid message 2 under the wrong keys
                c.sendall(bp.frame_stream(bp.hs_frame(bp.KK, 1, os.urandom(32) + os.urandom(16 + 20))))
            # and push commands anyway
            junk = bp.Transport(bp.Cipher(os.urandom(32)), bp.Cipher(os.urandom(32)))
            try:
                c.sendall(bp.frame_stream(junk.seal("drawer.open", {"txn": "T9", "tender": "cash", "idem": "x1"})))
                c.sendall(bp.frame_stream(junk.seal("changer.dispense", {"amount": 10000, "txn": "T9", "idem": "x2"})))
            except OSError:
                pass
            return ("kk-attempt", rd.frame(timeout=2.0))
        if pattern == bp.XX:
            # an unpaired device (after a physical reset) pairs with whoever answers
            hs = bp.Handshake(bp.XX, False, self.s, prologue_bytes=pro)
            hs.read(f[3:])
            c.sendall(bp.frame_stream(bp.hs_frame(bp.XX, 1, hs.write(cbor2.dumps({"v": 1, "terminal": "ROGUE"})))))
            f3 = rd.frame()
            cert = hs.read(f3[3:])
            tx, rx = hs.split()
            tr = bp.Transport(tx, rx)
            c.sendall(bp.frame_stream(tr.seal("bus.welcome", {"terminal": "ROGUE"})))
            time.sleep(0.3)
            return ("paired", cert)
        return ("other", f)

    def close(self):
        self.stop = True
        self.ls.close()


@pytest.mark.parametrize("kind,serial", [("drawer", "DR-1"), ("changer", "CH-1")])
def test_pol4_rogue_controller_cannot_command_paired_device(rig, tmp_path, kind, serial):
    rig.start_terminal()
    rig.make_device("dev", kind, serial=serial)
    rig.start_device("dev")
    assert wait_for(lambda: rig.attached(serial))
    assert wait_for(lambda: rig.dstatus("dev")["paired"])
    status_before = rig.dctl("dev", "status")
    rig.dctl("dev", "unplug")
    rig.devs["dev"]["proc"].kill()
    rig.devs["dev"]["proc"].wait()
    for mode in ("kk", "xx"):
        rogue = RogueController(tmp_path / ("rogue-%s.sock" % mode), mode)
        rig.start_device("dev", connect="unix:%s" % rogue.path)
        assert wait_for(lambda: len(rogue.results) >= 2, timeout=10)
        st = rig.dstatus("dev")
        assert st["paired"] and not st["connected"] and st["opens"] == 0
        log = rig.dlog("dev")
        assert any(r["event"] == "device.controller_refused" for r in log), log
        rig.devs["dev"]["proc"].kill()
        rig.devs["dev"]["proc"].wait()
        rogue.close()
    # nothing was opened or dispensed: the firmware's own status is unchanged
    rig.start_device("dev", connect="unix:/nonexistent/x.sock")
    fw_after = rig.dctl("dev", "status").splitlines()[1:]
    assert fw_after == status_before.splitlines()[1:]


def test_pol4_rogue_cannot_pair_without_physical_reset(rig, tmp_path):
    rig.start_terminal()
    rig.make_device("dr", "drawer", serial="DR-1")
    rig.start_device("dr")
    assert wait_for(lambda: rig.dstatus("dr")["paired"])
    rig.devs["dr"]["proc"].kill()
    rig.devs["dr"]["proc"].wait()
    rogue = RogueController(tmp_path / "rogue.sock", "xx")
    rig.start_device("dr", connect="unix:%s" % rogue.path)
    assert wait_for(lambda: len(rogue.results) >= 2, timeout=10)
    assert not any(r[0] == "paired" for r in rogue.results)   # paired device never runs XX
    assert rig.dstatus("dr")["paired"]
    pinned_before = (rig.devs["dr"]["state"] / "paired.pub").read_text()
    # the keyed switch: a physical reset, recorded by the device
    rig.dctl("dr", "reset")
    assert wait_for(lambda: any(r[0] == "paired" for r in rogue.results), timeout=10)
    log = rig.dlog("dr")
    assert any(r["event"] == "device.reset" for r in log)
    assert any(r["event"] == "device.paired" and r["reason"] == "ROGUE" for r in log)
    assert int(rig.dctl("dr", "count", "device.reset")) == 1
    assert (rig.devs["dr"]["state"] / "paired.pub").read_text() != pinned_before
    rogue.close()


# ---------------------------------------------------------------- POL-8(2): dual control

def test_pol8_2_enrolment_needs_two_distinct_authorised_operators(rig):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1", enrol=False)
    cases = [
        (MAINT, MAINT_PW, MAINT, MAINT_PW),          # one person twice
        (MAINT, MAINT_PW, "maint2", "maint-pw-2"),   # two maintainers, no manager
        (MGR, MGR_PW, MAINT, MAINT_PW),              # roles swapped
        (MAINT, MAINT_PW, MGR, "wrong-password"),    # manager not authenticated
        (MAINT, "wrong-password", MGR, MGR_PW),      # maintainer not authenticated
        ("cash1", "cash-pw-1", MGR, MGR_PW),         # a cashier is not a maintainer
    ]
    for m, mpw, g, gpw in cases:
        r = rig.enrol("sc", m, mpw, g, gpw)
        assert r.returncode == 4, (m, g, r.stdout, r.stderr)
    assert rig.audit_count("device.enrol_refused") == len(cases)
    assert "SC-1" not in rig.tctl("devices")
    r = rig.enrol("sc")
    assert r.returncode == 0
    assert rig.audit_count("device.enrol") == 1
    lst = rig.mamori("devices", "list", "--state", rig.term, "--json")
    d = json.loads(lst.stdout.splitlines()[0])
    assert d["maintainer"] == MAINT and d["manager"] == MGR


# ---------------------------------------------------------------- DEV-6 (guideline 9): flood

def test_dev6_flooding_device_throttled_and_dropped(rig):
    rig.start_terminal(bus={"rate": "50", "burst": "100", "flood_drops": "300"})
    rig.make_device("sc", "scanner", serial="SC-1")
    rig.make_device("ld", "linedisplay", serial="LD-1")
    rig.start_device("sc")
    rig.start_device("ld")
    assert wait_for(lambda: rig.attached("SC-1") and rig.attached("LD-1"))
    rig.dctl("sc", "flood", "3000")
    assert wait_for(lambda: rig.audit_count("device.throttled") >= 1)
    det = wait_for(lambda: rig.events("detach", "SC-1"))
    assert det and "flood" in det[0]["body"]["reason"]
    # fewer messages reached the application than were sent
    assert len(rig.events("devsim.flood")) < 400
    # the other device was not harmed
    assert rig.attached("LD-1")
    rig.tctl("request", "LD-1", "linedisplay.text", json.dumps({"lines": ["OK"]}))


# ---------------------------------------------------------------- POL-8(2): attach/detach

def test_pol8_2_detach_within_two_heartbeats_after_kill9_and_reattach(rig, tmp_path):
    rig.start_terminal()  # heartbeat 500 ms
    rig.make_device("sc", "scanner", serial="SC-1")
    relay = Relay(tmp_path / "r.sock", rig.bus_sock)
    p = rig.start_device("sc", connect="unix:%s" % (tmp_path / "r.sock"))
    assert wait_for(lambda: rig.attached("SC-1"))
    # the relay keeps the terminal's socket open, so only heartbeats can tell
    relay.frozen = True
    t_kill = json.loads(rig.tctl("status"))["uptime_ms"]  # terminal clock, just before the kill
    p.kill()  # SIGKILL
    det = wait_for(lambda: rig.events("detach", "SC-1"), timeout=5)
    assert det and det[0]["body"]["reason"] == "heartbeat"
    # within two heartbeat intervals (2 x 500 ms) of the kill, by the terminal's own clock
    assert det[0]["t_ms"] - t_kill <= 2 * 500 + 100, (det[0]["t_ms"], t_kill)
    assert rig.audit_count("device.detach") == 1
    relay.close()
    rig.start_device("sc")
    assert wait_for(lambda: len(rig.events("attach", "SC-1")) == 2)
    assert rig.audit_count("device.attach") == 2


def test_pol8_2_kill9_direct_detach_recorded(rig):
    rig.start_terminal()
    rig.make_device("sc", "scanner", serial="SC-1")
    p = rig.start_device("sc")
    assert wait_for(lambda: rig.attached("SC-1"))
    t_kill = json.loads(rig.tctl("status"))["uptime_ms"]
    p.kill()
    det = wait_for(lambda: rig.events("detach", "SC-1"), timeout=5)
    assert det and det[0]["body"]["reason"] == "closed"
    assert det[0]["t_ms"] - t_kill <= 500   # the socket closing is seen at once


# ---------------------------------------------------------------- PRE-3: the spec is enough

def test_pre3_third_party_device_from_spec_attaches(rig, tmp_path, mamori):
    """A device written in Python from docs/protocol.md: pairs (XX), then KK."""
    rig.start_terminal()
    kp = bp.KeyPair()
    r = mamori("vendor", "issue", "--dir", rig.vendor, "--model", "THIRD-PARTY-1", "--serial", "TP-1",
               "--bus-pub", kp.pub.hex(), "--log-pub", os.urandom(32).hex(), "--fw", "11" * 32,
               "--out", tmp_path / "tp.cert")
    assert r.returncode == 0
    cert = (tmp_path / "tp.cert").read_bytes()
    r = mamori("devices", "enrol", "--state", rig.term, "--cert", tmp_path / "tp.cert", "--kind",
               "scanner", "--maintainer", MAINT, "--manager", MGR, input="%s\n%s\n" % (MAINT_PW, MGR_PW))
    assert r.returncode == 0, r.stderr
    pro = bp.prologue("unix")
    # pairing
    c = bp.connect_unix(rig.bus_sock)
    rd = bp.StreamReader(c)
    hs = bp.Handshake(bp.XX, True, kp, prologue_bytes=pro)
    c.sendall(bp.frame_stream(bp.hs_frame(bp.XX, 0, hs.write())))
    f = rd.frame()
    assert f[:3] == bytes([1, 0, 1])
    tinfo = cbor2.loads(hs.read(f[3:]))
    assert tinfo["terminal"] == "T1"
    terminal_pub = hs.rs
    c.sendall(bp.frame_stream(bp.hs_frame(bp.XX, 2, hs.write(cert))))
    tx, rx = hs.split()
    tr = bp.Transport(tx, rx)
    welcome = tr.open(rd.frame())
    assert welcome["t"] == "bus.welcome"
    c.sendall(bp.frame_stream(tr.seal("scanner.data", {"data": "4912345678904", "symbology": 104})))
    assert wait_for(lambda: [e for e in rig.events("scanner.data") if e["serial"] == "TP-1"])
    c.close()
    assert wait_for(lambda: rig.events("detach", "TP-1"))
    # every later session: KK against the pinned terminal key
    c = bp.connect_unix(rig.bus_sock)
    rd = bp.StreamReader(c)
    hs = bp.Handshake(bp.KK, True, kp, rs=terminal_pub, prologue_bytes=pro)
    c.sendall(bp.frame_stream(bp.hs_frame(bp.KK, 0, hs.write(cert), hint=kp.pub)))
    f = rd.frame()
    assert f[:3] == bytes([1, 1, 1]), f[:3]
    hs.read(f[3:])
    tx, rx = hs.split()
    tr = bp.Transport(tx, rx)
    time.sleep(0.3)
    assert len(rig.events("attach", "TP-1")) == 1  # no attach before key confirmation
    c.sendall(bp.frame_stream(tr.seal("bus.hb")))
    assert wait_for(lambda: len(rig.events("attach", "TP-1")) == 2)
    # the terminal asks for nothing, but heartbeats arrive in time
    m = tr.open(rd.frame(timeout=2))
    assert m["t"] == "bus.hb"
    c.close()


def test_pol4_rekey_in_step_across_processes(rig):
    """The terminal rekeys its direction every second (rekey_ms=1000); the
    device follows the epoch and every request still gets through."""
    rig.start_terminal(bus={"rekey_ms": "1000"})
    rig.make_device("ld", "linedisplay", serial="LD-1")
    rig.start_device("ld")
    assert wait_for(lambda: rig.attached("LD-1"))
    for i in range(8):
        rig.tctl("request", "LD-1", "linedisplay.text", json.dumps({"lines": ["LINE %d" % i]}))
        assert ("LINE %d" % i) in rig.dctl("ld", "show")
        time.sleep(0.4)
    st = rig.dstatus("ld")
    assert st["rx_epoch"] >= 2, st
    assert st["connected"] and st["opens"] == 1  # the same session throughout
    assert not rig.events("detach", "LD-1")
