"""Hostile or broken servers against the crawler's limits, on real servers on 127.0.0.1: decompression bombs,
slow drips, crawl traps, wrong charset labels, where the crawler may go, and a long Retry-After. Each refusal
is recorded (run summary, catalog), never silent, and each test is bounded to a few seconds."""

from __future__ import annotations

import gzip
import json
import socket
import time
import tracemalloc
import zlib
from pathlib import Path

import brotlicffi
import pytest
from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Drip, Flaky, Page, Site

from crawler.address import AddressPolicy
from crawler.catalog import Catalog
from crawler.fetch import Fetcher
from crawler.render import Renderer, find_browser
from crawler.run import CrawlError, crawl
from nianbao.status import collect_status

PDF = b"%PDF-1.4 annual report bytes " * 20
REPORT_TITLE = "2024年政府信息公开工作年度报告"
LOOPBACK = AddressPolicy(allow_loopback=True)


def _zeros_compressed(encoding: str, size: int) -> bytes:
    """``size`` zero bytes compressed: tens of KB on the wire for tens of MB decoded."""
    if encoding == "br":
        return brotlicffi.compress(bytes(size), quality=5)
    if encoding == "deflate":
        return zlib.compress(bytes(size), 9)
    return gzip.compress(bytes(size), 9)


def _fetcher(**kwargs: object) -> Fetcher:
    base: dict[str, object] = {"user_agent": "nianbao-test", "timeout": 2.0, "retries": 2, "backoff": 0.01}
    return Fetcher(**{**base, "policy": LOOPBACK, **kwargs})  # type: ignore[arg-type]


def _failures(settings) -> dict[str, str]:
    with Catalog(settings.catalog_path) as catalog:
        return dict(catalog.failures())


# -- 3. decompression bombs --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_compressed_body_is_capped_on_its_decoded_size_and_the_refusal_recorded(
    tmp_path: Path, encoding: str
) -> None:
    settings = crawl_settings(tmp_path, max_body_bytes=1_000_000)
    bomb = _zeros_compressed(encoding, 64 * 1024 * 1024)
    assert len(bomb) < settings.max_body_bytes  # small on the wire: only the decoded size gives it away
    listing = pages.listing("年报", [("/nb/r.html", REPORT_TITLE)]).encode()
    compress = {"br": brotlicffi.compress, "deflate": zlib.compress, "gzip": gzip.compress}[encoding]
    with Site() as site:
        # A well-behaved compressed page is read (its link followed); the bomb is refused.
        site.routes["/nb/index.html"] = Page(compress(listing), headers={"Content-Encoding": encoding})
        site.routes["/nb/r.html"] = Page(bomb, headers={"Content-Encoding": encoding})
        summary = crawl(settings, url=site.url("/nb/index.html"))
    reasons = {url.removeprefix(site.origin): reason for url, reason in summary.failed}
    assert reasons["/nb/r.html"].startswith(f"body too large: {encoding} body decodes to more than 1000000 bytes")
    assert _failures(settings)[site.url("/nb/r.html")] == reasons["/nb/r.html"]
    with Catalog(settings.catalog_path) as catalog:
        assert catalog.captures_of(site.url("/nb/r.html")) == []  # refused, not archived
        listed = catalog.captures_of(site.url("/nb/index.html"))
        assert len(listed) == 1 and catalog.read_payload(listed[0], settings.archive_dir) == listing


def test_decoding_a_bomb_never_holds_more_than_the_cap() -> None:
    bomb = _zeros_compressed("gzip", 64 * 1024 * 1024)
    with Site() as site:
        site.routes["/robots.txt"] = Page("", status=404)
        site.routes["/bomb.html"] = Page(bomb, headers={"Content-Encoding": "gzip"})
        fetcher = _fetcher(max_body_bytes=1_000_000)
        tracemalloc.start()
        try:
            result = fetcher.fetch(site.url("/bomb.html"))
            text = result.entity()  # what link extraction would read
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.error and "decodes to more than" in result.error and len(text) <= 1_000_000
    assert peak < 16 * 1024 * 1024  # the 64 MB it decodes to are never in memory


# -- 4. slow drips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("in_headers", [False, True], ids=["body drip", "header drip"])
def test_a_drip_ends_at_the_request_deadline_as_a_recorded_failure(tmp_path: Path, in_headers: bool) -> None:
    # Every byte comes within the 1 s socket timeout; the whole response would take 4 s; the deadline is 1 s.
    settings = crawl_settings(tmp_path, request_timeout=1.0, request_deadline=1.0)
    body = b"" if in_headers else PDF[:40]  # a header drip that ends in an empty body, as seen in the wild
    with Site() as site:
        site.routes["/nb/index.html"] = Page(pages.listing("年报", [("/nb/r.html", REPORT_TITLE)]))
        site.routes["/nb/r.html"] = Page(pages.report(REPORT_TITLE, attachments=[("/f/drip.pdf", "附件.pdf")]))
        site.routes["/f/drip.pdf"] = Drip(body, every=0.1, in_headers=in_headers)
        started = time.monotonic()
        summary = crawl(settings, url=site.url("/nb/index.html"))
        elapsed = time.monotonic() - started
        hits = len(site.hits("/f/drip.pdf"))
    reasons = {url.removeprefix(site.origin): reason for url, reason in summary.failed}
    assert reasons["/f/drip.pdf"].startswith("timeout: no complete response within 1s")
    assert hits == 1  # a deadline that ran out is not retried
    assert elapsed < 3.5
    assert _failures(settings)[site.url("/f/drip.pdf")] == reasons["/f/drip.pdf"]
    with Catalog(settings.catalog_path) as catalog:
        assert catalog.captures_of(site.url("/f/drip.pdf")) == []  # no empty or partial 200 archived


def test_the_deadline_covers_retries_too() -> None:
    with Site() as site:
        site.routes["/robots.txt"] = Page("", status=404)
        site.routes["/broken.pdf"] = Flaky(99, Page(PDF))  # 500 for ever
        fetcher = _fetcher(retries=50, backoff=0.2, deadline=1.0)
        started = time.monotonic()
        result = fetcher.fetch(site.url("/broken.pdf"))
        elapsed = time.monotonic() - started
    assert elapsed < 2.0 and result.error and result.error.startswith("timeout")


# -- 5. crawl traps ------------------------------------------------------------------------------------------


def _trap(site: Site, pages_in_trap: int = 400) -> None:
    """A list whose numbered pager never ends: page n links pages n+1 … n+5 (and a report)."""
    for n in range(pages_in_trap):
        name = "index.html" if n == 0 else f"index_{n}.html"
        pager = " ".join(f'<a href="index_{k}.html">{k + 1}</a>' for k in range(n + 1, n + 6))
        links = [(f"/nb/r{n}.html", f"某县{2000 + n % 25}年政府信息公开工作年度报告（{n}）")]
        site.routes[f"/nb/{name}"] = Page(pages.listing("政府信息公开年报", links, pager=pager))
        site.routes[f"/nb/r{n}.html"] = Page(pages.report(REPORT_TITLE))


def test_a_pager_that_never_ends_is_capped_per_list_and_the_cap_reported(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path, crawl_max_pages_per_list=20)
    with Site() as site:
        _trap(site)
        summary = crawl(settings, url=site.url("/nb/index.html"))
        listed = {p for p, _ in site.log if "/nb/index" in p}
    assert len(listed) == 21  # the first page and 20 more through its pager
    assert summary.pages < 60
    assert any("cap of 20 pages per list reached" in line for line in summary.limits), summary.limits
    assert "LIMIT: list " in summary.describe()  # what `nianbao crawl` prints
    failures = _failures(settings)
    assert failures[site.url("/nb/index.html")].startswith("cap: list ")
    status = collect_status(settings)
    assert "cap of 20 pages per list reached" in status["crawl.last_run.limits"]


def test_a_source_is_capped_per_run_from_the_sources_file(tmp_path: Path) -> None:
    with Site() as site:
        _trap(site)
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nid = "trap"\nname = "trap"\nstart_urls = ["{site.url("/nb/index.html")}"]\nmax_pages = 30\n',
            encoding="utf-8",
        )
        settings = crawl_settings(tmp_path, sources_file=sources)
        summary = crawl(settings)
        fetched = [p for p, _ in site.log if p != "/robots.txt"]
    assert len(fetched) == 30
    (limit,) = summary.limits
    assert limit.startswith("source trap: cap of 30 URLs per run reached, ")
    assert limit.endswith(" more not fetched (raise max_pages / crawl_max_pages_per_source)")


# -- 6. wrong charset labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("real", "label"), [("gbk", "utf-8"), ("utf-8", "gbk")])
def test_a_page_whose_charset_label_is_wrong_is_read_by_detection(tmp_path: Path, real: str, label: str) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site:
        listing = pages.listing("政府信息公开年报", [("/nb/r.html", REPORT_TITLE)], charset=label)
        site.routes["/nb/index.html"] = Page(listing.encode(real), content_type=f"text/html; charset={label}")
        report = pages.report(REPORT_TITLE, attachments=[("/f/a.pdf", "附件.pdf")], charset=label)
        site.routes["/nb/r.html"] = Page(report.encode(real), content_type=f"text/html; charset={label}")
        site.routes["/f/a.pdf"] = Page(PDF, content_type="application/pdf")
        crawl(settings, url=site.url("/nb/index.html"))
    with Catalog(settings.catalog_path) as catalog:
        kinds = {c.url.removeprefix(site.origin): c.kind for c in catalog.all_captures()}
    assert kinds["/nb/index.html"] == "listing"
    assert kinds["/nb/r.html"] == "report" and kinds["/f/a.pdf"] == "attachment"


def test_a_page_no_charset_reads_is_archived_and_the_reason_recorded(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    garbage = b"<html><body>" + bytes(range(128, 256)) * 20 + b"</body></html>"
    with Site() as site:
        site.routes["/nb/index.html"] = Page(pages.listing("年报", [("/nb/x.html", REPORT_TITLE)]))
        site.routes["/nb/x.html"] = Page(garbage, content_type="text/html; charset=utf-8")
        summary = crawl(settings, url=site.url("/nb/index.html"))
    notes = dict(summary.warnings)
    assert notes[site.url("/nb/x.html")].startswith("undecodable text: declared utf-8")
    assert _failures(settings)[site.url("/nb/x.html")] == notes[site.url("/nb/x.html")]
    with Catalog(settings.catalog_path) as catalog:
        (capture,) = catalog.captures_of(site.url("/nb/x.html"))
        assert catalog.read_payload(capture, settings.archive_dir) == garbage  # kept as sent


# -- 12. where the crawler may go ----------------------------------------------------------------------------


def test_loopback_private_link_local_and_credentials_are_refused_before_a_request(tmp_path: Path) -> None:
    with Site() as site:
        site.routes["/nb/index.html"] = Page(pages.listing("年报", []))
        strict = crawl_settings(tmp_path, crawl_allow_loopback=False)
        with pytest.raises(CrawlError, match=r"127\.0\.0\.1 is a loopback address"):
            crawl(strict, url=site.url("/nb/index.html"))
        for url, reason in [
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
            ("http://[fe80::1]/", "link-local address"),
            ("http://100.100.100.200/latest/meta-data/", "cloud metadata address"),
            ("http://10.1.2.3/", "private address"),
            ("http://192.168.1.1:8080/", "private address"),
            ("http://metadata.google.internal/", "cloud metadata host"),
            (f"http://user:secret@127.0.0.1:{site.port}/nb/index.html", "credentials"),
        ]:
            with pytest.raises(CrawlError, match=reason):
                crawl(crawl_settings(tmp_path), url=url)  # loopback allowed, these still are not
        assert site.log == []  # not one request reached the server


def test_the_address_actually_connected_to_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that passes the URL check but resolves to loopback (DNS rebinding) is refused on connect."""
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # the DNS answer an attacker controls
        return real("127.0.0.1" if host == "rebound.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with Site() as site:
        site.routes["/robots.txt"] = Page("", status=404)
        site.routes["/a.pdf"] = Page(PDF, content_type="application/pdf")
        url = f"http://rebound.example:{site.port}/a.pdf"
        refused = _fetcher(policy=AddressPolicy()).fetch(url)
        assert site.log == []
        allowed = _fetcher(policy=AddressPolicy(allow_loopback=True)).fetch(url)
    assert refused.refused and "rebound.example connected to 127.0.0.1 is a loopback address" in refused.error
    assert allowed.ok and allowed.body == PDF


def test_links_are_followed_only_to_the_allowed_host_and_port(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site, Site() as other:
        links = [
            (other.url("/r.html"), "2024年某单位政府信息公开工作年度报告"),  # same host, another port
            (f"http://user:pw@127.0.0.1:{site.port}/nb/r.html", REPORT_TITLE),  # followed without them
            ("/nb/ok.html", "2023年政府信息公开工作年度报告"),
        ]
        site.routes["/nb/index.html"] = Page(pages.listing("年报", links))
        site.routes["/nb/ok.html"] = Page(pages.report("2023年政府信息公开工作年度报告"))
        site.routes["/nb/r.html"] = Page(pages.report(REPORT_TITLE))
        other.routes["/r.html"] = Page(pages.report(REPORT_TITLE))
        crawl(settings, url=site.url("/nb/index.html"))
        assert other.log == []
        assert {p for p, _ in site.log} == {"/robots.txt", "/nb/index.html", "/nb/ok.html", "/nb/r.html", "/", "/xwzx/"}
        assert all("Authorization" not in headers for _, headers in site.log)


@pytest.mark.skipif(find_browser() is None, reason="no chromium binary (scripts/bootstrap.sh --system)")
def test_a_rendered_page_calls_only_what_the_crawl_allows(tmp_path: Path) -> None:
    """The browser that renders a JavaScript list sends the page's own requests only where ``allow`` (in a crawl:
    the source's hosts and ports under the address rules) says; the others are aborted before they leave."""
    with Site() as site:
        script = """<script>
        fetch("/nb/secret.json").catch(() => null);
        fetch("/nb/list.json").then(r => r.json()).then(items => {
          document.getElementById("list").innerHTML = items.map(i => `<li>${i}</li>`).join("");
        });
        </script>"""
        html = f"<html><head><meta charset='utf-8'></head><body><ul id='list'></ul>{script}</body></html>"
        site.routes["/nb/list.json"] = Page(json.dumps([REPORT_TITLE], ensure_ascii=False))
        site.routes["/nb/secret.json"] = Page("[]")
        renderer = Renderer()
        try:
            rendered = renderer.render(
                site.url("/nb/index.html"), html.encode(), "text/html", allow=lambda url: "secret" not in url
            )
        finally:
            renderer.close()
        assert f"<li>{REPORT_TITLE}</li>" in rendered.html
        assert site.hits("/nb/list.json") and not site.hits("/nb/secret.json")


def test_admin_sources_refuse_uncrawlable_urls_with_the_reason(tmp_path: Path) -> None:
    from test_service_data import make_settings

    from service.app import create_app

    sources = tmp_path / "sources.toml"
    sources.write_text("", "utf-8")
    settings = make_settings(tmp_path, admin_token="tok", sources_file=sources)
    client = create_app(settings).test_client()
    auth = {"Authorization": "Bearer tok"}
    for url, reason in [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
        ("http://10.0.0.7/zfxxgk/", "private address"),
        ("http://127.0.0.1:8001/", "loopback address"),
        ("http://admin:secret@www.lushan.gov.cn/", "credentials"),
    ]:
        new = {"id": "x", "name": "x", "start_urls": ["https://www.lushan.gov.cn/", url]}
        resp = client.post("/api/v1/admin/sources", json=new, headers=auth)
        assert resp.status_code == 400, (url, resp.data)
        error = resp.get_json()["error"]
        assert reason in error["reason"] and "start_urls" in error["fields"]
        crawl_resp = client.post("/api/v1/admin/crawl", json={"url": url}, headers=auth)
        assert crawl_resp.status_code == 400 and reason in crawl_resp.get_json()["error"]["reason"]
    assert sources.read_text("utf-8") == ""  # nothing written
    ok = {"id": "lushan", "name": "鲁山县", "start_urls": ["https://www.lushan.gov.cn/zfxxgk/"]}
    assert client.post("/api/v1/admin/sources", json=ok, headers=auth).status_code == 201


# -- 13. a long Retry-After ----------------------------------------------------------------------------------


def test_a_long_retry_after_gives_up_the_host_for_the_run_and_says_so(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path, extra={"crawl_retries": 2, "crawl_backoff": 0.02, "crawl_retry_after_cap": 1})
    with Site() as site:
        links = [(f"/nb/r{i}.html", f"某县{2020 + i}年政府信息公开工作年度报告") for i in range(3)]
        site.routes["/nb/index.html"] = Page(pages.listing("年报", links))
        site.routes["/nb/r0.html"] = Flaky(99, Page(pages.report(REPORT_TITLE)), 503, headers={"Retry-After": "3600"})
        for path, title in links[1:]:
            site.routes[path] = Page(pages.report(title))
        started = time.monotonic()
        summary = crawl(settings, url=site.url("/nb/index.html"))
        elapsed = time.monotonic() - started
        fetched = [p for p, _ in site.log]
    assert fetched.count("/nb/r0.html") == 1  # not retried: the server asked for an hour
    assert "/nb/r1.html" not in fetched and "/nb/r2.html" not in fetched  # the host is left for this run
    assert elapsed < 2.0
    reasons = dict(summary.failed)
    assert reasons[site.url("/nb/r0.html")] == "HTTP 503; Retry-After 3600s"
    (limit,) = summary.limits
    assert limit.startswith(f"host 127.0.0.1:{site.port}: asked to retry after 3600s")
    assert "2 URL(s) not fetched" in limit
    assert _failures(settings)[site.origin + "/"].startswith("host given up for this run")
