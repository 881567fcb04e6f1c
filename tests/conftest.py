"""Fixtures shared by test modules: the demo site, and the demo data set crawled and indexed once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.site import DemoSite
from nianbao.settings import Settings


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    """The offline demo government site, served over HTTP on 127.0.0.1 for one test module."""
    with DemoSite() as s:
        yield s


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """What `make demo` builds, in a temporary data directory: the demo site (HTTP on 127.0.0.1) crawled,
    archived and indexed, with the insights computed. The generator is deterministic, so the README's
    examples and the browser walk can count on its reports."""
    from crawler.run import crawl
    from indexer.pipeline import index_archive
    from nianbao.demo_run import DEMO_COLUMN
    from nianbao.settings import load_settings

    data = tmp_path_factory.mktemp("demo-data")
    with DemoSite() as site:
        settings = load_settings(
            env={}, data_dir=data, crawl_delay=0.0, rate_limit_per_minute=0, crawl_allow_loopback=True
        )
        summary = crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
        assert not summary.failed, summary.describe()
        stats = index_archive(settings)
        assert stats.indexed > 0, stats.describe()
    yield settings
