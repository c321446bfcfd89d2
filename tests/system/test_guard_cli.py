"""mamori allowlist / mamori integrity as an operator and an attacker use them (LC-5, LC-6, POL-5).

Unprivileged: no fanotify, only files in a temp dir.
"""
import json
import os
import shutil


def setup_install(tmp_path):
    inst = tmp_path / "inst"
    (inst / "bin").mkdir(parents=True)
    shutil.copy2("/bin/true", inst / "bin" / "true")
    (inst / "app.conf").write_text("a=1\n")
    return inst


def test_lc5_build_sign_verify_show_diff(mamori, tmp_path):
    inst = setup_install(tmp_path)
    man, key = tmp_path / "m", tmp_path / "release.key"
    r = mamori("allowlist", "build", inst, "--out", man, "--progress")
    assert r.returncode == 0, r.stderr
    assert "2/2 files" in r.stderr                      # the progress bar
    pub = mamori("allowlist", "keygen", "--key", key).stdout.strip()
    assert len(pub) == 64
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert mamori("allowlist", "verify", "--pub", pub, man).returncode == 3  # unsigned
    assert mamori("allowlist", "sign", "--key", key, man).returncode == 0
    assert mamori("allowlist", "verify", "--pub", pub, man).returncode == 0
    assert mamori("allowlist", "sign", "--key", key, man).returncode == 1   # already signed
    shown = json.loads(mamori("allowlist", "show", man, "--json").stdout)
    assert shown["signed"] and shown["signer"] == pub
    assert sorted(os.path.basename(e["path"]) for e in shown["entries"]) == ["app.conf", "true"]
    (inst / "new").write_text("x")
    man2 = tmp_path / "m2"
    assert mamori("allowlist", "build", inst, "--out", man2).returncode == 0
    d = mamori("allowlist", "diff", man, man2)
    assert d.returncode == 0 and d.stdout.strip().endswith("/inst/new") and d.stdout.startswith("+ ")


def test_lc5_tampered_manifest_fails_verification(mamori, tmp_path):
    inst = setup_install(tmp_path)
    man, key = tmp_path / "m", tmp_path / "k"
    mamori("allowlist", "build", inst, "--out", man, check=True)
    pub = mamori("allowlist", "keygen", "--key", key, check=True).stdout.strip()
    mamori("allowlist", "sign", "--key", key, man, check=True)
    text = man.read_text()
    man.write_text(text.replace("app.conf", "app.conX"))
    assert mamori("allowlist", "verify", "--pub", pub, man).returncode == 3
    other = mamori("allowlist", "keygen", "--key", tmp_path / "k2").stdout.strip()
    man.write_text(text)
    assert mamori("allowlist", "verify", "--pub", other, man).returncode == 3  # another release key


def test_lc6_integrity_check_lists_differences(mamori, tmp_path):
    inst = setup_install(tmp_path)
    man, key = tmp_path / "m", tmp_path / "k"
    mamori("allowlist", "build", inst, "--out", man, check=True)
    pub = mamori("allowlist", "keygen", "--key", key, check=True).stdout.strip()
    mamori("allowlist", "sign", "--key", key, man, check=True)
    r = mamori("integrity", "check", "--manifest", man, "--pub", pub, inst)
    assert r.returncode == 0, r.stdout + r.stderr
    (inst / "app.conf").write_text("a=2\n")               # changed
    (inst / "bin" / "dropped").write_text("malware")      # extra
    os.unlink(inst / "bin" / "true")                     # missing
    r = mamori("integrity", "check", "--manifest", man, "--pub", pub, "--json", inst)
    assert r.returncode == 3
    kinds = {(d["kind"], os.path.basename(d["path"])) for d in json.loads(r.stdout)["differences"]}
    assert kinds == {("changed", "app.conf"), ("extra", "dropped"), ("missing", "true")}
    man.write_text(man.read_text().replace("app.conf", "app.conX"))
    assert mamori("integrity", "check", "--manifest", man, "--pub", pub, inst).returncode == 3


def test_allowlist_help_and_usage(mamori):
    assert mamori("allowlist", "--help").returncode == 0
    assert mamori("integrity", "--help").returncode == 0
    assert mamori("allowlist").returncode == 2
    assert mamori("allowlist", "frobnicate").returncode == 2
    assert mamori("integrity", "check").returncode == 2
