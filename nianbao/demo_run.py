"""The main job on the embedded default: demo site → crawl → archive → index → serve."""

from __future__ import annotations

import click

from nianbao.settings import Settings

DEMO_COLUMN = "/zfxxgk/ndbg/index.html"  # the demo site's 政府信息公开年报 column


def run_demo(settings: Settings, *, site_port: int = 8001) -> None:
    from crawler.run import crawl
    from demo.site import DemoSite
    from indexer.pipeline import index_archive
    from service.server import run

    with DemoSite(port=site_port) as site:
        start = site.url.rstrip("/") + DEMO_COLUMN
        click.echo(f"1/4 demo government site on {site.url}")
        # Politeness off and loopback allowed: the site is ours, on 127.0.0.1.
        crawl_settings = settings.replace(crawl_delay=0.0, crawl_allow_loopback=True)
        click.echo(f"2/4 crawling {start} and archiving to {settings.archive_dir} …")
        summary = crawl(crawl_settings, url=start, progress=True)
        click.echo(summary.describe())
        click.echo(f"3/4 parsing and indexing into {settings.index_path} …")
        stats = index_archive(settings, progress=True)
        click.echo("\n" + stats.describe())
        click.echo(f"4/4 serving on http://{settings.host}:{settings.port}/  (API: /api/v1, docs: /api/docs)")
        click.echo(f"    try: curl 'http://{settings.host}:{settings.port}/api/v1/search?q=依申请公开'")
        run(settings)
