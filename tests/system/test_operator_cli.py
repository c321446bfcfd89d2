"""`mamori operator`: accounts from the command line (PRE-1, POL-8(3)).

Passwords go in on stdin only; refusals exit 4; every action lands in the
audit database next to the operator database.
"""
import json
import sqlite3


def audit_events(path):
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT event FROM audit ORDER BY seq")]


def test_pre1_operator_cli_add_list_unlock(mamori, tmp_path):
    db = tmp_path / "operators.db"
    r = mamori("operator", "add", "--db", db, "--id", "sato", "--name", "佐藤 花子",
               "--role", "manager", input="hanako-pw\n")
    assert r.returncode == 0, r.stderr
    r = mamori("operator", "add", "--db", db, "--id", "k01", "--name", "レジ 一",
               "--role", "cashier", input="cash-pw\n")
    assert r.returncode == 0, r.stderr
    # Policy and usage refusals.
    assert mamori("operator", "add", "--db", db, "--id", "x", "--name", "X", "--role", "cashier",
                  input="12345\n").returncode == 1
    assert mamori("operator", "add", "--db", db, "--id", "x", "--name", "X", "--role", "root",
                  input="123456\n").returncode == 2
    assert mamori("operator", "frobnicate", "--db", db).returncode == 2

    r = mamori("operator", "list", "--db", db, "--json")
    assert r.returncode == 0
    ops = {o["id"]: o for o in json.loads(r.stdout)}
    assert ops["sato"]["role"] == "manager" and ops["sato"]["name"] == "佐藤 花子"
    assert ops["k01"]["locked"] is False
    assert "hanako-pw" not in r.stdout

    # A cashier cannot unlock anyone; a wrong manager password is refused.
    assert mamori("operator", "unlock", "--db", db, "--id", "sato", "--by", "k01",
                  input="cash-pw\n").returncode == 4
    assert mamori("operator", "unlock", "--db", db, "--id", "k01", "--by", "sato",
                  input="wrong-pw\n").returncode == 4
    r = mamori("operator", "unlock", "--db", db, "--id", "k01", "--by", "sato",
               input="hanako-pw\n")
    assert r.returncode == 0, r.stderr

    events = audit_events(tmp_path / "audit.db")
    assert events.count("operator.added") == 2
    assert "operator.unlock_refused" in events
    assert "operator.auth_failed" in events
    assert "operator.unlocked" in events
    raw = (tmp_path / "operators.db").read_bytes()
    assert b"hanako-pw" not in raw and b"$argon2id$" in raw
