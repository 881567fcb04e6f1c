"""Settings for crawler tests: everything under tmp_path, no politeness delay, small timeouts, loopback allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nianbao.settings import Settings


def crawl_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "crawl_delay": 0.0,
        "request_timeout": 1.0,
        "crawl_max_depth": 4,
        "crawl_allow_loopback": True,  # the test servers are on 127.0.0.1
        "extra": {"crawl_retries": 2, "crawl_backoff": 0.02},
    }
    base.update(overrides)
    return Settings(**base)
