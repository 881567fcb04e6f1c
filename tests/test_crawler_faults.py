"""Fault injection against a real server: the crawl completes, each failure is recorded with its reason, and
nothing fetched successfully is lost."""

from __future__ import annotations

import time
from pathlib import Path

from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Flaky, Page, Redirect, Reset, Site, Slow, Stream, Truncated

from crawler.address import AddressPolicy
from crawler.catalog import Catalog
from crawler.fetch import Fetcher
from crawler.run import crawl

PDF = b"%PDF-1.4 annual report bytes " * 20


def _report_with(site: Site, attachments: dict[str, str]) -> None:
    """A listing → one report page whose attachments are the given (path → anchor text)."""
    site.routes["/nb/index.html"] = Page(
        pages.listing("政府信息公开年报", [("/nb/r.html", "2024年政府信息公开工作年度报告")])
    )
    site.routes["/nb/r.html"] = Page(
        pages.report("2024年政府信息公开工作年度报告", attachments=list(attachments.items()))
    )


def test_every_fault_is_survived_recorded_and_the_rest_archived(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path, request_timeout=0.5, max_body_bytes=100_000)
    faults = {
        "/f/slow-ok.pdf": Slow(0.1, Page(PDF, content_type="application/pdf")),  # slow but within the timeout
        "/f/timeout.pdf": Slow(1.2, Page(PDF, content_type="application/pdf")),  # always too slow
        "/f/flaky.pdf": Flaky(2, Page(PDF, content_type="application/pdf")),  # 500, 500, then fine
        "/f/broken.pdf": Flaky(99, Page(PDF)),  # 500 for ever
        "/f/reset-once.pdf": Reset(1, Page(PDF, content_type="application/pdf")),
        "/f/reset.pdf": Reset(),
        "/f/truncated-once.pdf": Truncated(PDF[:100], len(PDF), 1, Page(PDF, content_type="application/pdf")),
        "/f/truncated.pdf": Truncated(PDF[:100], len(PDF)),
        "/f/loop-a.pdf": Redirect("/f/loop-b.pdf"),
        "/f/loop-b.pdf": Redirect("/f/loop-a.pdf"),
        "/f/moved.pdf": Redirect("/f/final.pdf", 301),
        "/f/final.pdf": Page(PDF, content_type="application/pdf"),
        "/f/huge-declared.pdf": Stream(300_000, declare=True),
        "/f/huge-streamed.pdf": Stream(300_000, declare=False),
        "/f/missing.pdf": Page("gone", status=404),
        "/f/forbidden.pdf": Flaky(99, Page(PDF), status=403),
    }
    with Site() as site:
        _report_with(site, {path: f"附件{i}.pdf" for i, path in enumerate(faults)})
        site.routes.update(faults)
        summary = crawl(settings, url=site.url("/nb/index.html"))
        hits = {path: len(site.hits(path)) for path in faults}
    reasons = {url.removeprefix(site.origin): reason for url, reason in summary.failed}
    assert reasons["/f/timeout.pdf"].startswith("timeout")
    assert reasons["/f/broken.pdf"] == "HTTP 500"
    assert reasons["/f/reset.pdf"].startswith("connection reset")
    assert reasons["/f/truncated.pdf"].startswith("truncated body")
    assert reasons["/f/loop-a.pdf"].startswith("redirect loop")
    assert reasons["/f/huge-declared.pdf"].startswith("body too large")
    assert reasons["/f/huge-streamed.pdf"].startswith("body too large")
    assert reasons["/f/missing.pdf"] == "HTTP 404"
    assert reasons["/f/forbidden.pdf"] == "HTTP 403"
    for ok in ("/f/slow-ok.pdf", "/f/flaky.pdf", "/f/reset-once.pdf", "/f/truncated-once.pdf", "/f/final.pdf"):
        assert ok not in reasons, reasons.get(ok)
    # 5xx are retried (1 + 2 retries), 4xx are not.
    assert hits["/f/flaky.pdf"] == 3 and hits["/f/broken.pdf"] == 3
    assert hits["/f/forbidden.pdf"] == 1 and hits["/f/missing.pdf"] == 1
    assert hits["/f/huge-declared.pdf"] == 1  # no point retrying a body that is too large
    with Catalog(settings.catalog_path) as catalog:
        archived = {c.url.removeprefix(site.origin): c for c in catalog.report_captures()}
        for ok in ("/f/slow-ok.pdf", "/f/flaky.pdf", "/f/reset-once.pdf", "/f/truncated-once.pdf", "/f/final.pdf"):
            assert catalog.read_payload(archived[ok], settings.archive_dir) == PDF
        assert "/f/truncated.pdf" not in archived and "/f/huge-streamed.pdf" not in archived
        # Each failure is in the catalog with its reason, for `nianbao status` and the next crawl.
        logged = dict(catalog.failures())
        assert all(logged[url] == reason for url, reason in summary.failed)
        assert catalog.url_state(site.url("/f/timeout.pdf")).last_error.startswith("timeout")
        # The redirect hop itself is archived (3xx response), and the target under its own URL.
        moved = catalog.captures_of(site.url("/f/moved.pdf"))
        assert [c.status for c in moved] == [301]


def test_robots_txt_unreachable_means_disallow(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site:
        _report_with(site, {})
        site.routes["/robots.txt"] = Flaky(99, Page(""), status=503)
        summary = crawl(settings, url=site.url("/nb/index.html"))
        fetched = {path for path, _ in site.log}
    assert fetched == {"/robots.txt"}
    assert summary.blocked == 1 and summary.pages == 0


def test_politeness_delay_spaces_requests_to_one_host(tmp_path: Path) -> None:
    import time

    settings = crawl_settings(tmp_path, crawl_delay=0.15)
    with Site() as site:
        links = [(f"/p/{i}.html", f"第{i}条") for i in range(5)]
        site.routes["/nb/index.html"] = Page(pages.listing("列表", links))
        for path, _ in links:
            site.routes[path] = Page(pages.news("新闻"))
        started = time.monotonic()
        crawl(settings, url=site.url("/nb/index.html"))
        elapsed = time.monotonic() - started
        requests_made = len([p for p, _ in site.log if p != "/robots.txt"])
    # n requests to one host need at least (n - 1) delays between their starts
    assert elapsed >= (requests_made - 1) * 0.15 * 0.95


def test_fetcher_detects_charsets(tmp_path: Path) -> None:
    from crawler.fetch import decode_text

    text = "鲁山县2024年政府信息公开工作年度报告"
    gbk = f"<html><head><meta charset=gb2312></head><body>{text}</body></html>".encode("gbk")
    assert text in decode_text(gbk, "text/html")  # from <meta>
    assert text in decode_text(f"<p>{text}</p>".encode("gb18030"), "text/html; charset=GBK")  # from the header
    plain = ("<html><body>" + "政府信息公开工作年度报告，主动公开政府信息情况。" * 20 + "</body></html>").encode("gbk")
    assert "主动公开政府信息情况" in decode_text(plain, "text/html")  # guessed by charset-normalizer
    assert Fetcher(user_agent="x").user_agent == "x"


def test_hosts_are_crawled_in_parallel_each_at_its_own_pace(tmp_path: Path) -> None:
    import time

    delay, per_host = 0.25, 5
    settings = crawl_settings(tmp_path, crawl_delay=delay)
    with Site("127.0.0.1") as one, Site("127.0.0.2") as two:
        for site in (one, two):
            links = [(f"/p/{i}.html", f"第{i}条") for i in range(per_host - 1)]
            site.routes["/nb/index.html"] = Page(pages.listing("列表", links))
            for path, _ in links:
                site.routes[path] = Page(pages.news("新闻"))
        sources = tmp_path / "sources.toml"
        sources.write_text(
            "".join(f'[[source]]\nid = "s{i}"\nname = "s{i}"\nstart_urls = ["{s.url("/nb/index.html")}"]\n\n'
                    for i, s in enumerate((one, two))),
            encoding="utf-8",
        )  # fmt: skip
        started = time.monotonic()
        summary = crawl(settings.replace(sources_file=sources))
        elapsed = time.monotonic() - started
    assert summary.pages == 2 * per_host + 2 * 2  # + each host's two navigation links (404)
    one_host = (summary.pages / 2 - 1) * delay  # the delays one host alone needs
    assert one_host * 0.95 <= elapsed < 2 * one_host * 0.9  # not the sum of both hosts' delays


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    """A server that says "come back in N seconds" (503/429 + Retry-After) is retried after N seconds when N is
    at most ``retry_after_cap``, and not at all when it asks for longer (the crawl then leaves the host: see
    test_crawler_limits); a 429 without Retry-After is not retried (no hint when the limit resets)."""
    fetcher = Fetcher(
        user_agent="nianbao-test",
        timeout=5.0,
        retries=2,
        backoff=0.01,
        retry_after_cap=1.5,
        policy=AddressPolicy(allow_loopback=True),
    )
    with Site() as site:
        site.routes["/robots.txt"] = Page("", status=404)
        site.routes["/wait.pdf"] = Flaky(
            1, Page(PDF, content_type="application/pdf"), 503, headers={"Retry-After": "1"}
        )
        site.routes["/busy.pdf"] = Flaky(
            1, Page(PDF, content_type="application/pdf"), 429, headers={"Retry-After": "3600"}
        )
        site.routes["/limited.pdf"] = Flaky(99, Page(PDF), 429)
        started = time.monotonic()
        waited = fetcher.fetch(site.url("/wait.pdf"))
        waited_s = time.monotonic() - started
        started = time.monotonic()
        busy = fetcher.fetch(site.url("/busy.pdf"))
        busy_s = time.monotonic() - started
        limited = fetcher.fetch(site.url("/limited.pdf"))
        hits = {path: len(site.hits(path)) for path in ("/wait.pdf", "/busy.pdf", "/limited.pdf")}
    assert waited.response.status == 200 and waited.body == PDF
    assert 0.95 <= waited_s < 3.0  # Retry-After: 1, within the cap (the backoff alone is 0.01 s)
    assert busy.response.status == 429 and busy.retry_after == 3600
    assert busy_s < 0.5  # Retry-After: 3600 is not waited for, not even up to the cap
    assert limited.response.status == 429 and hits == {"/wait.pdf": 2, "/busy.pdf": 1, "/limited.pdf": 1}
