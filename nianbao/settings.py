"""One settings object, read once: defaults ← TOML file (``NIANBAO_CONFIG``) ← ``NIANBAO_*`` env vars."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nianbao import __version__

ENV_PREFIX = "NIANBAO_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    sources_file: Path | None = None  # TOML list of sites to crawl; see sources.example.toml
    elasticsearch_url: str = ""  # empty → the embedded SQLite store
    elasticsearch_index: str = "nianbao-reports"
    elasticsearch_analyzer: str = "cjk"  # "cjk" (stock), "smartcn" or "ik" when the plugin is installed
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 0  # `nianbao serve` worker processes; 0 → one per CPU core
    threads: int = 4  # request threads per worker: more overlap slow clients, but contend for the GIL
    admin_token: str = ""  # admin endpoints answer 401/403 unless this is set and sent
    public_url: str = ""  # e.g. https://nianbao.example.org: links in feeds use it instead of the request's Host
    user_agent: str = f"nianbao/{__version__} (+https://github.com/nianbao; archive of government annual reports)"
    warc_max_bytes: int = 256 * 1024 * 1024  # rotate WARC files at this size
    max_body_bytes: int = 50 * 1024 * 1024  # also the cap on an archived payload decoded for indexing or serving
    parse_seconds: float = 60.0  # time budget to parse one document; past it: flag parse_failed (0 = none)
    request_timeout: float = 20.0  # seconds one socket operation (connect, a read) may wait
    request_deadline: float = 300.0  # seconds for one URL in all: connect + headers + body, retries included
    crawl_delay: float = 1.0  # seconds between requests to one host
    crawl_max_depth: int = 4
    crawl_max_pages_per_list: int = 500  # pages followed through one list's pager; a source may set its own
    crawl_max_pages_per_source: int = 10_000  # URLs fetched for one source in one run; a source may set its own
    crawl_allow_loopback: bool = False  # may the crawler connect to 127.0.0.0/8, ::1 (the demo, tests)
    crawl_allow_private: bool = False  # may it connect to private ranges (10/8, 172.16/12, 192.168/16, fc00::/7…)
    removal_after_crawls: int = 3  # gone from every listing this many crawls → removed
    render_browser: str = ""  # Chromium for JS-filled lists; "" → chromium on PATH or /usr/bin/chromium
    render_timeout: float = 15.0  # seconds one list page may take to render
    rate_limit_per_minute: int = 600  # API requests per client address
    extra: dict[str, Any] = field(default_factory=dict)

    # Derived locations inside the one data directory.
    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite3"

    @property
    def scheduler_path(self) -> Path:
        return self.data_dir / "scheduler.sqlite3"

    @property
    def engine(self) -> str:
        return "elasticsearch" if self.elasticsearch_url else "sqlite"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: Any, current: Any) -> Any:
    if isinstance(current, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(current, Path) or name in ("sources_file",):
        return Path(raw) if raw not in (None, "") else None
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def load_settings(env: dict[str, str] | None = None, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; raises ValueError naming the bad setting."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    config_file = config_file or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if config_file is not None:
        with open(config_file, "rb") as fh:
            values.update(tomllib.load(fh).get("nianbao", {}))
    for f in dataclasses.fields(Settings):
        key = ENV_PREFIX + f.name.upper()
        if key in env:
            values[f.name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    defaults = Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    try:
        coerced = {k: _coerce(k, v, getattr(defaults, k)) for k, v in values.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid setting: {exc}") from exc
    return Settings(**coerced)
