"""`nianbao serve`: the real command starts waitress, prints its URL and answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_prints_its_url_and_serves(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "nianbao.cli", "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]
    env = dict(os.environ, NIANBAO_RATE_LIMIT_PER_MINUTE="0")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, proc.stderr.read() if proc.poll() is not None else line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=10) as resp:
            assert json.load(resp)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert "年报" in resp.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
