"""Serve the app with waitress (a production WSGI server; pure Python, no build step)."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote_from_bytes

import waitress.parser
from flask import Flask
from waitress.server import create_server

from nianbao.settings import Settings
from service import state
from service.app import create_app

THREADS = 8

_NON_ASCII = re.compile(rb"[\x80-\xff]+")
_split_uri = waitress.parser.split_uri


def _split_uri_percent_encoding_utf8(uri: bytes) -> tuple[str, str, str, str, str]:
    """Browsers percent-encode non-ASCII in URLs, but curl and scripts send raw UTF-8
    (``curl '…/search?q=依申请公开'``), which waitress rejects as "Bad URI". Encode it the way a browser
    would before waitress parses the request target; ASCII targets pass through untouched."""
    return _split_uri(_NON_ASCII.sub(lambda m: quote_from_bytes(m.group()).encode("ascii"), uri))


waitress.parser.split_uri = _split_uri_percent_encoding_utf8


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
