"""The ``nianbao`` command line. Each subcommand is a thin shell over one stage's module."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nianbao.settings import Settings, load_settings


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj


class _Group(click.Group):
    """Turns a store that cannot be reached (e.g. Elasticsearch down) into a one-line error, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from store.base import StoreUnavailable

        try:
            return super().invoke(ctx)
        except StoreUnavailable as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory (archive, catalog, index). [./data]")
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path), help="TOML settings file.")
@click.version_option(package_name="nianbao")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, config_file: Path | None) -> None:
    """nianbao (年报): crawl, archive, parse and search government information-disclosure annual reports."""
    try:
        ctx.obj = load_settings(config_file=config_file, data_dir=data_dir)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from exc


@main.command("demo-site")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def demo_site(host: str, port: int) -> None:
    """Serve the bundled offline demo government website."""
    from demo.site import serve

    click.echo(f"demo government site on http://{host}:{port}/ (Ctrl-C to stop)")
    serve(host, port)


@main.command()
@click.argument("url", required=False)
@click.option("--source", "source_id", help="Crawl one source of the sources file now.")
@click.option("--region", help="Region of an ad-hoc URL, e.g. 河南省/平顶山市/鲁山县.")
@click.option("--no-index", is_flag=True, help="Archive only; do not parse and index new captures.")
@click.option(
    "--render",
    type=click.Choice(["never", "auto", "always"]),
    default="auto",
    show_default=True,
    help="Ad-hoc URL: render list pages filled by JavaScript in headless Chromium (sources set it per source).",
)
@click.pass_context
def crawl(
    ctx: click.Context, url: str | None, source_id: str | None, region: str | None, no_index: bool, render: str
) -> None:
    """Crawl every source (or one with --source, or an ad-hoc URL), archive to WARC, index what is new."""
    from crawler.run import crawl as run_crawl

    settings = _settings(ctx)
    summary = run_crawl(settings, source_id=source_id, url=url, region=region, progress=True, render=render)
    click.echo(summary.describe())
    if not no_index:
        _index(settings, rebuild=False)


def _index(settings: Settings, *, rebuild: bool) -> None:
    from indexer.pipeline import index_archive

    stats = index_archive(settings, rebuild=rebuild, progress=True)
    click.echo(stats.describe())


@main.command()
@click.pass_context
def index(ctx: click.Context) -> None:
    """Parse and index archived captures not indexed yet."""
    _index(_settings(ctx), rebuild=False)


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the whole search index from the archive (swapped in atomically when done)."""
    _index(_settings(ctx), rebuild=True)


@main.command()
@click.pass_context
def insights(ctx: click.Context) -> None:
    """Recompute the analysis across reports (changes, cross checks, copied text) without re-parsing."""
    import insights as stage
    from store import open_store

    with open_store(_settings(ctx)) as store:
        click.echo(stage.refresh(store).describe())


@main.command()
@click.option("--host", help="Address to listen on. [127.0.0.1]")
@click.option("--port", type=int, help="Port. [8000]")
@click.option("--workers", type=int, help="Worker processes. [setting workers; 0 = one per CPU core]")
@click.option("--threads", type=int, help="Request threads per worker. [setting threads; default 4]")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Serve the API (/api/v1) and the search page with a production WSGI server (gunicorn, pre-forked workers)."""
    from service.server import run

    given = {"host": host, "port": port, "workers": workers, "threads": threads}
    settings = _settings(ctx).replace(**{k: v for k, v in given.items() if v is not None and v != ""})
    run(settings)


@main.command()
@click.argument("q", required=False, default="")
@click.option("--section", help="Restrict to a section (key or Chinese name) or 'title'.")
@click.option("--filter", "filters", multiple=True, help="name=value, e.g. county=鲁山县 (repeatable).")
@click.option("--metric", "metric", multiple=True, help="Condition, e.g. 'applications.new.total >= 10'.")
@click.option("--size", default=10, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the raw result as JSON.")
@click.pass_context
def search(
    ctx: click.Context,
    q: str,
    section: str | None,
    filters: tuple[str, ...],
    metric: tuple[str, ...],
    size: int,
    as_json: bool,
) -> None:
    """Search from the terminal."""
    import dataclasses

    from nianbao.search_output import fragment_lines, unknown_filter_values
    from service.present import merge_fragments, section_name
    from store import open_store
    from store.query import QueryError, build_search

    parsed: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--filter")
        parsed.setdefault(name.strip(), []).append(value.strip())
    try:
        query = build_search(q, section=section, filters=parsed, metric=list(metric), size=size)
        with open_store(_settings(ctx)) as st:
            result = st.search(query)
    except QueryError as exc:
        raise click.UsageError(f"{exc.field}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=2))
        return
    if not result.total:
        with open_store(_settings(ctx)) as st:
            unknown = unknown_filter_values(st, parsed)
        if unknown:  # say what is wrong instead of "0 reports" and empty facets
            for line in unknown:
                click.echo(line, err=True)
            sys.exit(1)
    click.echo(f"{result.total} reports ({result.took_ms:.0f} ms)")
    for hit in result.hits:
        click.echo(f"\n{hit.id}  {hit.year}  {hit.title}")
        for frag in merge_fragments(hit.fragments)[:3]:
            click.echo(fragment_lines(section_name(frag.section), frag.text))
    facets = [f for f in result.facets if f.values]
    if facets:
        click.echo("")
    for facet in facets:
        values = ", ".join(f"{v.value} ({v.count})" for v in facet.values[:8])
        click.echo(f"{facet.name}: {values}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, default=True, help="JSON lines (the default).")
@click.option("--region", help="Known region of the files, e.g. 河南省/平顶山市/鲁山县.")
@click.option("--strict", is_flag=True, help="Exit with status 3 when a file is not an annual report.")
def parse(files: tuple[Path, ...], as_json: bool, region: str | None, strict: bool) -> None:
    """Parse report files to canonical documents, one JSON object per line.

    A file that is not an annual report (a README, random bytes, an empty file) still gives its document, and
    one line on stderr saying why. Exit status: 1 when a file cannot be read; 3 with --strict when a file is
    not a report; else 0, even when a report has warnings.
    """
    from indexer.parse import not_a_report, parse_file

    unreadable = 0
    not_reports = 0
    for path in files:
        try:
            doc = parse_file(path, region=region)
        except OSError as exc:
            click.echo(f"nianbao parse: cannot read {path}: {exc.strerror or exc}", err=True)
            unreadable += 1
            continue
        click.echo(json.dumps(doc.to_dict(), ensure_ascii=False))
        if reason := not_a_report(doc):
            click.echo(f"nianbao parse: {path}: not an annual report: {reason}", err=True)
            not_reports += 1
    sys.exit(1 if unreadable else (3 if strict and not_reports else 0))


@main.command()
@click.pass_context
def schedule(ctx: click.Context) -> None:
    """Run the crawl scheduler in the foreground (one job per source, on its cron)."""
    from crawler.scheduler import run_scheduler

    run_scheduler(_settings(ctx))


@main.group()
def sources() -> None:
    """Find and add sites to crawl: discover a site's 年报 columns, or import many sites from a CSV."""


_APPEND = click.option(
    "--append",
    "append_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the new [[source]] entries to this sources file (created if missing) instead of printing them.",
)


@sources.command("discover")
@click.argument("url")
@click.option("--region", default="", help="Region when the names do not tell, e.g. 河南省/平顶山市/鲁山县.")
@_APPEND
@click.pass_context
def sources_discover(ctx: click.Context, url: str, region: str, append_to: Path | None) -> None:
    """Find the 年报 columns of the site at URL (department and township columns included)."""
    from crawler.address import AddressPolicy
    from crawler.fetch import Fetcher
    from crawler.source_discovery import DiscoveryError, discover

    settings = _settings(ctx)
    fetcher = Fetcher(
        user_agent=settings.user_agent,
        timeout=settings.request_timeout,
        max_body_bytes=settings.max_body_bytes,
        policy=AddressPolicy.from_settings(settings),  # the crawl's address rules (no loopback unless allowed)
    )
    try:
        found = discover(url, fetcher=fetcher, region=region.strip("/"))
    except DiscoveryError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        fetcher.close()
    if not found:
        raise click.ClickException(f"no 年报 column found from {url}; give the 政府信息公开 page or the column itself")
    _emit(found, append_to)


@sources.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_APPEND
def sources_import(csv_file: Path, append_to: Path | None) -> None:
    """Add many sites at once from a CSV of id,name,region,URL rows (a header row is allowed)."""
    from crawler.source_discovery import DiscoveryError, read_csv

    try:
        entries = read_csv(csv_file)
    except DiscoveryError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(entries, append_to)


def _emit(entries: list, append_to: Path | None) -> None:
    from crawler.source_discovery import append
    from crawler.sources import SourcesError

    if append_to is None:
        click.echo("\n".join(e.toml() for e in entries), nl=False)
        return
    try:
        added, skipped = append(entries, append_to)
    except SourcesError as exc:
        raise click.ClickException(f"{append_to} left unchanged: {exc}") from exc
    click.echo(f"added {len(added)} source(s) to {append_to}; {len(skipped)} already there")
    for e in added:
        click.echo(f"  + {e.id}  {e.name}  {e.region or '(region unknown)'}  {e.url}")


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """What is archived, indexed and flagged."""
    from nianbao.status import collect_status

    status = collect_status(_settings(ctx))
    width = max(map(len, status)) + 2
    for key, value in status.items():
        click.echo(f"{key:{width}}{value}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--site-port", default=8001, show_default=True, type=int)
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, site_port: int) -> None:
    """The main job, end to end: demo site → crawl → archive → index → serve."""
    from nianbao.demo_run import run_demo

    run_demo(_settings(ctx).replace(host=host, port=port), site_port=site_port)


if __name__ == "__main__":  # pragma: no cover
    main()
