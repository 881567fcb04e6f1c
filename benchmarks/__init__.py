"""Benchmarks: `python -m benchmarks all|search|parse|crawl|…` (see benchmarks/README.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"  # git-ignored


def save_results(kind: str, data: dict) -> Path:
    """Write one run's figures to ``results/<kind>-<local time>.json`` and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{kind}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    return out
