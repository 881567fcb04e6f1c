"""Serve the app with waitress (a production WSGI server; pure Python, no build step)."""

from __future__ import annotations

import logging

from flask import Flask
from waitress.server import create_server

from nianbao.settings import Settings
from service import state
from service.app import create_app

THREADS = 8


def make_server(settings: Settings, app: Flask | None = None):
    """A bound waitress server (port 0 picks a free port; see ``.effective_port``)."""
    return create_server(
        app or create_app(settings),
        host=settings.host,
        port=settings.port,
        threads=THREADS,
        ident="nianbao",
        clear_untrusted_proxy_headers=True,
    )


def run(settings: Settings) -> None:
    """Serve until interrupted, printing where."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    server = make_server(settings, app)
    url = f"http://{settings.host}:{server.effective_port}/"
    print(f"nianbao on {url} (API: {url}api/v1, docs: {url}api/docs; Ctrl-C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        state.close(app)
