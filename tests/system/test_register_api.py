"""The register's local HTTP+JSON API on a unix socket (OPS-1, OPS-2, OPS-5,
OPS-6): commands drive the same engine as the console; hostile requests
(oversized, malformed, wrong method, unknown path) are refused and change
nothing; the socket is 0600; manager passwords are not echoed back.
"""
import http.client
import json
import os
import socket
import stat

from busrig import wait_ready
from conftest import ROOT, prog


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def call(sock, method, url, body=None, raw=None):
    c = UnixHTTP(sock)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, url, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, json.loads(text)


def test_ops1_register_http_api(tmp_path, procs, mamori):
    items = tmp_path / "items.db"
    r = mamori("items", "import", ROOT / "data" / "items.csv", "--db", items)
    assert r.returncode == 0, r.stderr
    reg = tmp_path / "reg"
    reg.mkdir(mode=0o700)
    for oid, role in [("csh", "cashier"), ("mgr", "manager")]:
        r = mamori("operator", "add", "--db", reg / "operators.db", "--id", oid, "--name", oid,
                   "--role", role, input="pw-%s-123\n" % oid)
        assert r.returncode == 0, r.stderr
    sock = str(tmp_path / "api.sock")
    p = procs([prog("mamori"), "register", "--dir", reg, "--items", items, "--changer",
               "--api", sock, "--max-runtime", "60"])
    wait_ready(p)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600

    def cmd(line, ok=True):
        st, o = call(sock, "POST", "/v1/command", {"line": line})
        assert (st == 200) == ok and o["ok"] == ok, (line, st, o)
        return o

    cmd("signon csh pw-csh-123")
    o = cmd("scan 4901234001077 2")
    assert o["state"]["totals"]["total"] == 320
    # bad input: clear error, nothing changed
    o = cmd("scan 4901234001078", ok=False)
    assert "check digit" in o["error"]
    o = cmd("scan 4901234001077 -1", ok=False)
    assert o["state"]["totals"]["total"] == 320
    o = cmd("cash 100", ok=False)
    assert "below" in o["error"]
    o = cmd("subtotal")
    o = cmd("void 1 mgr wrong-password", ok=False)   # after subtotal: a manager must approve
    st, s = call(sock, "GET", "/v1/state")
    assert st == 200 and s["totals"]["total"] == 320 and len(s["txn"]["lines"]) == 1
    o = cmd("cash 1000")
    assert "receipt 1 complete, change ¥680" in o["output"]
    assert o["state"]["last_receipt"] == 1 and o["state"]["last_change"] == 680
    assert "pw-mgr-123" not in json.dumps(o)
    # the event stream: command words and results, never arguments
    st, ev = call(sock, "GET", "/v1/events?after=0")
    assert st == 200
    words = [e["cmd"] for e in ev["events"]]
    assert words[:3] == ["signon", "scan", "scan"] and ev["events"][-1]["receipt"] == 1
    assert "pw-" not in json.dumps(ev)
    st, ev2 = call(sock, "GET", "/v1/events?after=%d" % (ev["next"] - 1))
    assert st == 200 and ev2["events"] == []
    assert call(sock, "GET", "/v1/events?after=x")[0] == 400
    # the journal over the API
    st, rec = call(sock, "GET", "/v1/receipts/1")
    assert st == 200 and rec["record"]["lines"][0]["qty"] == 2
    assert call(sock, "GET", "/v1/receipts/99")[0] == 404
    assert call(sock, "GET", "/v1/receipts/abc")[0] == 400
    # hostile requests
    assert call(sock, "POST", "/v1/command", raw=b"{not json")[0] == 400
    assert call(sock, "POST", "/v1/command", {"line": 5})[0] == 400
    assert call(sock, "POST", "/v1/command", {"line": "x", "extra": 1})[0] == 400
    assert call(sock, "POST", "/v1/command", raw=b"x" * 10000)[0] == 413
    assert call(sock, "GET", "/v1/command")[0] == 405
    assert call(sock, "POST", "/v1/state", {})[0] == 405
    assert call(sock, "GET", "/nope")[0] == 404
    # the journal CLI sees the same receipt
    r = mamori("journal", "show", "1", "--db", reg / "journal.db")
    assert r.returncode == 0 and "合計" in r.stdout, r.stderr
    r = mamori("journal", "search", "--db", reg / "journal.db", "--json", "--min", "300")
    assert r.returncode == 0 and json.loads(r.stdout)[0]["total"] == 320
    p.terminate()
    p.wait(timeout=10)
    assert not os.path.exists(sock)
