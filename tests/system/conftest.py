"""Fixtures for mamori system tests: real processes, temp dirs, loopback/unix only.

MAMORI_BUILD points at the meson build directory (the Makefile sets it).
Every process a test starts is killed at teardown; nothing binds beyond loopback.
"""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MAMORI_BUILD", ROOT / "build"))
TESTVECTORS = pathlib.Path(os.environ.get("MAMORI_TESTVECTORS", ROOT.parent / "shared" / "testvectors"))


def prog(name):
    """Path of a built program (src/cmd/NAME)."""
    p = BUILD / "src" / "cmd" / name
    if not p.exists():
        pytest.fail(f"{p} not built: run make build first")
    return str(p)


@pytest.fixture
def mamori():
    """Run the mamori CLI; returns CompletedProcess (text)."""
    def run(*args, input=None, env=None, timeout=60, check=False):
        e = dict(os.environ)
        if env:
            e.update(env)
        return subprocess.run([prog("mamori"), *map(str, args)], input=input, env=e,
                              capture_output=True, text=True, timeout=timeout, check=check)
    return run


@pytest.fixture
def procs():
    """Start long-running processes that are always stopped at teardown."""
    started = []

    def start(argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.STDOUT)
        p = subprocess.Popen(list(map(str, argv)), **kw)
        started.append(p)
        return p
    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
