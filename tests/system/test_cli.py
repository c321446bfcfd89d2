"""The CLI contract: verb table, --help, documented exit codes (STYLE rule 16)."""


def test_cli_version(mamori):
    r = mamori("version")
    assert r.returncode == 0
    assert r.stdout.startswith("mamori ")


def test_cli_unknown_verb_is_usage_error(mamori):
    r = mamori("no-such-verb")
    assert r.returncode == 2
    assert "unknown verb" in r.stderr


def test_cli_help_lists_verbs(mamori):
    r = mamori("--help")
    assert r.returncode == 0
    assert "version" in r.stdout
