"""The Elasticsearch integration tests can fail: pointed at a server that is not there they fail, and only an
unset ELASTICSEARCH_URL skips them (with a message naming that variable)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(env_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "ELASTICSEARCH" not in k}
    if env_url is not None:
        env["ELASTICSEARCH_URL"] = env_url
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_es_integration.py"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_unreachable_elasticsearch_fails_the_run():
    run = _run(f"http://127.0.0.1:{_closed_port()}")
    assert run.returncode != 0, run.stdout[-2000:]
    assert "ELASTICSEARCH_URL=http://127.0.0.1:" in run.stdout and "not usable" in run.stdout
    assert " passed" not in run.stdout.splitlines()[-1]


def test_unset_url_skips_naming_the_variable():
    run = _run(None)
    assert run.returncode == 0, run.stdout[-2000:]
    last = run.stdout.splitlines()[-1]
    assert "skipped" in last and "failed" not in last and "error" not in last
    assert "ELASTICSEARCH_URL is not set" in run.stdout
