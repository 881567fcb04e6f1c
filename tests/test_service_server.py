"""`nianbao serve`: the real command starts gunicorn workers, prints its URL and answers; the in-process
waitress server (tests, embedders) answers the same."""

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


def raw_get(port: int, target: str) -> tuple[bytes, bytes]:
    """GET with the request target sent as raw UTF-8 bytes, as curl sends `?q=依申请公开`: (head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


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
        head, body = raw_get(port, "/api/v1/search?q=依申请公开")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body)["total"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_raw_utf8_in_the_request_target_is_accepted_like_curl_sends_it(tmp_path):
    """curl sends `?q=依申请公开` as raw UTF-8 bytes; the server must answer it as a browser's %-encoded URL."""
    import threading

    from nianbao.settings import load_settings
    from service.server import make_server

    settings = load_settings(env={"NIANBAO_RATE_LIMIT_PER_MINUTE": "0"}, data_dir=tmp_path / "data", port=0)
    server = make_server(settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        port = server.effective_port
        head, body = raw_get(port, "/api/v1/search?q=依申请公开")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert "total" in json.loads(body)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/search?q=%E4%BE%9D", timeout=10) as resp:
            assert resp.status == 200
    finally:
        server.close()
