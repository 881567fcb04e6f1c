"""Serving the app: ``run`` (``nianbao serve``) pre-forks gunicorn worker processes, one per core by default
(setting ``workers``), each with a few threads (setting ``threads``); ``make_server`` is an in-process waitress
server for tests and embedders that already hold an app.

Each worker builds its own app after the fork (no ``preload_app``), so every SQLite connection — the index,
the catalogue, ``service.sqlite3`` — is opened in the process that uses it, never inherited across a fork.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import socket
from typing import Any
from urllib.parse import quote_from_bytes

import gunicorn.http.message
import waitress.parser
from flask import Flask
from gunicorn.app.base import BaseApplication
from waitress.server import create_server

from nianbao.settings import Settings
from service import state
from service.app import create_app

WORKER_TIMEOUT_S = 120  # a worker that stops answering its master for this long is restarted

# Browsers percent-encode non-ASCII in URLs, but curl and scripts send raw UTF-8 (``curl '…/search?q=依申请公开'``),
# which both servers reject ("Bad URI", "Invalid HTTP request line"). Encode it the way a browser would before
# they parse the request line; ASCII passes through untouched (a non-ASCII method is still refused).
_NON_ASCII = re.compile(rb"[\x80-\xff]+")


def _percent_encode_non_ascii(raw: bytes) -> bytes:
    return _NON_ASCII.sub(lambda m: quote_from_bytes(m.group()).encode("ascii"), raw)


_split_uri = waitress.parser.split_uri
_parse_request_line = gunicorn.http.message.Request.parse_request_line


def _split_uri_percent_encoding_utf8(uri: bytes) -> tuple[str, str, str, str, str]:
    return _split_uri(_percent_encode_non_ascii(uri))


def _parse_request_line_percent_encoding_utf8(self: Any, line_bytes: bytes) -> None:
    _parse_request_line(self, _percent_encode_non_ascii(bytes(line_bytes)))


waitress.parser.split_uri = _split_uri_percent_encoding_utf8
gunicorn.http.message.Request.parse_request_line = _parse_request_line_percent_encoding_utf8  # type: ignore[method-assign]


def make_server(settings: Settings, app: Flask | None = None):
    """A bound in-process waitress server (port 0 picks a free port; see ``.effective_port``)."""
    return create_server(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        threads=max(1, settings.threads),
        ident="nianbao",
        clear_untrusted_proxy_headers=True,
    )


def worker_count(settings: Settings) -> int:
    return settings.workers if settings.workers > 0 else max(1, len(os.sched_getaffinity(0)))


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._announced = multiprocessing.get_context("fork").Value("b", 0)  # shared with the forked workers
        super().__init__()

    def load_config(self) -> None:
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        options: dict[str, Any] = {
            "bind": f"{host}:{self.settings.port}",
            "workers": worker_count(self.settings),
            "worker_class": "gthread",
            # A few threads overlap SQLite work (it runs without the GIL) and slow clients; eight contended for
            # the GIL: CPU per request 7 → 9-11 ms under load, and two workers gave 1.3× one instead of ~2×.
            "threads": max(1, self.settings.threads),
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": 30,
            "keepalive": 5,
            # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections over
            # them. On one shared socket a gthread worker accepts whatever arrives whether or not its threads
            # are free, and keep-alive connections stay where they landed: 32 clients were seen all on one
            # worker, the other idle. (Port 0 would give each worker a port of its own: shared socket then.)
            "reuse_port": self.settings.port != 0 and hasattr(socket, "SO_REUSEPORT"),
            "preload_app": False,  # see the module docstring
            "proc_name": "nianbao",
            "control_socket_disable": True,  # gunicorn's runtime control socket (in $HOME) is not used
            "accesslog": None,
            "errorlog": "-",
            "post_worker_init": self._ready,
            "worker_exit": _worker_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:  # in each worker, after the fork
        return create_app(self.settings)

    def _ready(self, worker: Any) -> None:
        """The first worker with its app loaded prints where to go: from then on requests are answered."""
        with self._announced.get_lock():
            if self._announced.value:
                return
            self._announced.value = 1
        host, port = worker.sockets[0].getsockname()[:2]
        url = f"http://{self.settings.host if port == self.settings.port else host}:{port}/"
        workers = self.cfg.workers
        print(
            f"nianbao on {url} (API: {url}api/v1, docs: {url}api/docs; {workers} worker processes; Ctrl-C to stop)",
            flush=True,
        )


def _worker_exit(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        with contextlib.suppress(Exception):  # closing on the way out; nothing left to report it to
            state.close(app)


def refuse_taken_port(settings: Settings) -> None:
    """Exit with a clear message when something already listens on the port. The workers' SO_REUSEPORT
    sockets would otherwise join the other server's and share its connections without a word."""
    if settings.port == 0:
        return
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: a restart may leave TIME_WAIT
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise SystemExit(
                f"nianbao serve: cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from exc


def run(settings: Settings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop the workers gracefully), printing where."""
    refuse_taken_port(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _Gunicorn(settings).run()
