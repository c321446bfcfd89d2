"""The RS-232C path (DEV-6, POL-4): terminald and a device on two pty pairs,
with a relay between the masters that loses and corrupts bytes. The session
must recover its framing and never accept a corrupted frame.
"""
import os
import select
import threading
import time

import pytest

from busrig import Rig, wait_for


class LossyLine:
    """Copies bytes between two pty masters; device->terminal can lose bytes."""

    def __init__(self, m_term, m_dev):
        self.m_term, self.m_dev = m_term, m_dev
        self.lossy = False
        self.count = 0
        self.dropped = 0
        self.flipped = 0
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.m_term, self.m_dev], [], [], 0.1)
            for fd in r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    continue
                if fd == self.m_dev:
                    out = bytearray()
                    for b in d:
                        self.count += 1
                        if self.lossy and self.count % 89 == 0:
                            self.dropped += 1      # a lost byte
                            continue
                        if self.lossy and self.count % 131 == 0:
                            self.flipped += 1      # line noise
                            b ^= 0x10
                        out.append(b)
                    os.write(self.m_term, bytes(out))
                else:
                    os.write(self.m_dev, d)


@pytest.fixture
def line():
    m1, s1 = os.openpty()
    m2, s2 = os.openpty()
    ln = LossyLine(m1, m2)
    ln.paths = (os.ttyname(s1), os.ttyname(s2))
    yield ln
    ln.stop = True
    time.sleep(0.2)
    for fd in (m1, s1, m2, s2):
        os.close(fd)


def test_dev6_serial_pty_byte_loss_recovers_and_never_accepts_corrupt_frame(tmp_path, procs, mamori, line):
    rig = Rig(tmp_path, procs, mamori)
    rig.start_terminal(listen="serial:%s" % line.paths[0])
    rig.make_device("sc", "scanner", serial="SC-SER")
    rig.start_device("sc", connect="serial:%s" % line.paths[1])
    assert wait_for(lambda: rig.attached("SC-SER"), timeout=15)
    sent = []
    line.lossy = True
    for i in range(40):
        code = "49%011d" % (1000 + i)
        sent.append(code)
        rig.dctl("sc", "scan", code)
        time.sleep(0.02)
    time.sleep(1.0)
    line.lossy = False
    assert line.dropped > 0 and line.flipped > 0
    # framing recovers: once the line is clean, scans get through again
    assert wait_for(lambda: rig.attached("SC-SER"), timeout=15)
    late = []
    for i in range(10):
        code = "45%011d" % (2000 + i)
        late.append(code)
        sent.append(code)
        rig.dctl("sc", "scan", code)
        time.sleep(0.05)
    got = [e["body"]["data"] for e in rig.events("scanner.data")]
    assert wait_for(lambda: set(late) <= set(e["body"]["data"] for e in rig.events("scanner.data")),
                    timeout=10)
    got = [e["body"]["data"] for e in rig.events("scanner.data")]
    # never a corrupted value: everything accepted is exactly something sent, at most once
    assert set(got) <= set(sent)
    assert len(got) == len(set(got))
    assert len(got) < len(sent)  # the loss was real: some were dropped, not repaired
