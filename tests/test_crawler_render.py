"""Lists filled by JavaScript: rendered in headless Chromium when the static HTML links no report, the rendered
DOM archived as a WARC conversion record tied to the response; without a browser the crawl completes and says
what it skipped. Real demo site on 127.0.0.1, real Chromium (skipped when absent), real archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.archive import iter_records, warc_files
from crawler.catalog import Catalog
from crawler.render import find_browser
from crawler.run import crawl
from demo import site as demo_site
from demo.site import DemoSite
from indexer.pipeline import index_archive
from nianbao.settings import Settings, load_settings
from store import open_store

needs_browser = pytest.mark.skipif(find_browser() is None, reason="no chromium binary (scripts/bootstrap.sh --system)")


def _settings(tmp: Path, **kw: object) -> Settings:
    return load_settings(env={}, data_dir=tmp, crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True, **kw)


def _js_truth(site: DemoSite) -> set[str]:
    return {e.url for e in site.expected_reports() if e.column == "js"}


def _sources(tmp: Path, site: DemoSite, render: str) -> Path:
    path = tmp / "sources.toml"
    path.write_text(
        f'[[source]]\nid = "ajx"\nname = "安溪县"\nregion = "福建省/泉州市/安溪县"\n'
        f'start_urls = ["{site.url}{demo_site.JS_COLUMN}index.html"]\nrender = "{render}"\n'
        'link_patterns = ["/ajx/"]\n',
        encoding="utf-8",
    )
    return path


@needs_browser
def test_a_javascript_list_is_rendered_archived_and_read_again_from_the_archive(site: DemoSite, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data", sources_file=_sources(tmp_path, site, "auto"))
    summary = crawl(settings)
    assert not summary.failed, summary.describe()
    assert summary.rendered == 1 and not summary.render_skipped
    assert "rendered 1 list page(s)" in summary.describe()
    index_archive(settings)
    with open_store(settings) as store:
        assert {d.provenance.url for d in store.iter_documents()} == _js_truth(site)
    # The rendered DOM is a conversion record referring to the response the browser was given.
    records = [r for path in warc_files(settings.archive_dir) for r in iter_records(path)]
    column = f"{site.url}{demo_site.JS_COLUMN}index.html"
    response = next(r for r in records if r.rec_type == "response" and r.url == column)
    conversion = next(r for r in records if r.rec_type == "conversion")
    assert conversion.url == column and conversion.headers["WARC-Refers-To"] == response.record_id
    assert all(f'href="{u.removeprefix(site.url)}"' in conversion.payload.decode() for u in _js_truth(site))
    assert "<li>" not in response.payload.decode()  # what the server sent lists nothing
    # A second crawl gets 304 for the list and reads the archived DOM instead of rendering again.
    again = crawl(settings)
    assert again.rendered == 0 and again.unchanged >= 1 and not again.failed
    with Catalog(settings.catalog_path) as catalog:
        assert all(catalog.url_state(u).missing_count == 0 for u in _js_truth(site))
    # The catalog rebuilt from the WARC files alone knows the render too.
    rebuilt = Catalog.rebuild_from_archive(tmp_path / "rebuilt.sqlite3", settings.archive_dir)
    with rebuilt:
        cap = rebuilt.latest_full_capture(column)
        assert cap is not None and rebuilt.rendered_dom(cap, settings.archive_dir) == conversion.payload


def test_without_a_browser_the_crawl_completes_and_says_what_it_skipped(site: DemoSite, tmp_path: Path) -> None:
    settings = _settings(
        tmp_path / "data", sources_file=_sources(tmp_path, site, "auto"), render_browser=str(tmp_path / "no-chromium")
    )
    summary = crawl(settings)
    column = f"{site.url}{demo_site.JS_COLUMN}index.html"
    assert summary.render_skipped == [column] and summary.rendered == 0 and not summary.failed
    assert "no Chromium browser" in summary.render_unavailable
    assert "rendering SKIPPED for 1 list page(s)" in summary.describe()
    with Catalog(settings.catalog_path) as catalog:
        assert not [c for c in catalog.report_captures()]
        assert catalog.url_state(column).last_status == 200  # the page itself was archived as usual


def test_render_never_does_not_try(site: DemoSite, tmp_path: Path) -> None:
    settings = _settings(
        tmp_path / "data", sources_file=_sources(tmp_path, site, "never"), render_browser=str(tmp_path / "none")
    )
    summary = crawl(settings)
    assert summary.rendered == 0 and summary.render_skipped == [] and not summary.failed


def test_static_lists_are_not_rendered(site: DemoSite, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data", render_browser=str(tmp_path / "none"), crawl_max_depth=1)
    summary = crawl(settings, url=f"{site.url}{demo_site.JCMS_COLUMN}")
    assert summary.render_skipped == [] and summary.reports_seen == len(
        [e for e in site.expected_reports() if e.column == "jcms"]
    )
