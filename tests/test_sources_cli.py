"""`nianbao sources discover URL` against the demo site over real HTTP, and `nianbao sources import FILE.csv`:
found columns, regions from the names, appending without duplicates, bad input rejected with nothing written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from crawler.sources import load_sources
from demo import site as demo_site
from demo.site import DemoSite
from nianbao.cli import main


def _run(tmp_path: Path, *args: str):
    # The demo site is on loopback, which the crawler's address policy refuses unless allowed.
    env = {"NIANBAO_CRAWL_ALLOW_LOOPBACK": "1"}
    return CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), *args], env=env)


def _expected_columns(site: DemoSite) -> dict[str, str]:
    """Column URL → region of every 年报 column the demo site has (the directory itself is not one)."""
    base = site.url
    cols = {f"{base}{demo_site.COLUMN}index.html": ""}  # the portal's own column, named for no region
    for k, agency in enumerate(demo_site._directory_agencies()):
        slug = f"{demo_site.COUNTY_SLUGS[demo_site.DIRECTORY_COUNTY]}{k:02d}"
        cols[f"{base}{demo_site.DIRECTORY}{slug}/index.html"] = agency.region_path
    for county, path in (
        (demo_site.JCMS_COUNTY, demo_site.JCMS_COLUMN),
        (demo_site.FILES_COUNTY, demo_site.FILES_COLUMN + "index.html"),
        (demo_site.JS_COUNTY, demo_site.JS_COLUMN + "index.html"),
    ):
        region = next(a.region_path for a in demo_site.demo_agencies() if a.county == county)
        cols[base + path] = region
    return cols


def test_discover_finds_every_column_with_regions_and_appends_once(site: DemoSite, tmp_path: Path) -> None:
    printed = _run(tmp_path, "sources", "discover", site.url + "/")
    assert printed.exit_code == 0, printed.output
    assert printed.output.count("[[source]]") == len(_expected_columns(site))
    target = tmp_path / "sources.toml"
    target.write_text('[[source]]\nid = "mine"\nstart_urls = ["http://example.gov.cn/"]\n', encoding="utf-8")
    added = _run(tmp_path, "sources", "discover", site.url + "/", "--append", str(target))
    assert added.exit_code == 0, added.output
    found = {s.start_urls[0]: s.region for s in load_sources(target) if s.id != "mine"}
    assert found == _expected_columns(site)
    assert "disallowed" not in target.read_text(encoding="utf-8") and "ysb" not in target.read_text(encoding="utf-8")
    again = _run(tmp_path, "sources", "discover", site.url + "/", "--append", str(target))
    assert again.exit_code == 0 and f"added 0 source(s) to {target}" in again.output
    assert len(load_sources(target)) == len(found) + 1


def test_discover_of_a_site_that_does_not_answer(tmp_path: Path) -> None:
    result = _run(tmp_path, "sources", "discover", "http://127.0.0.1:9/")
    assert result.exit_code == 1 and "did not answer" in result.output


def test_discover_obeys_the_address_policy(site: DemoSite, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "sources", "discover", site.url + "/"], env={})
    assert result.exit_code == 1 and "[[source]]" not in result.output


def test_import_a_csv_of_sites(tmp_path: Path) -> None:
    rows = tmp_path / "sites.csv"
    rows.write_text(
        "id,name,region,URL\n"
        "lushan,鲁山县人民政府,河南省/平顶山市/鲁山县,http://www.lushan.gov.cn/zfxxgk/ndbg/\n"
        "minhou,闽侯县人民政府,福建省/福州市/闽侯县,http://www.minhou.gov.cn/col/col1001/index.html\n",
        encoding="utf-8",
    )
    target = tmp_path / "sources.toml"
    result = _run(tmp_path, "sources", "import", str(rows), "--append", str(target))
    assert result.exit_code == 0, result.output
    loaded = {s.id: s for s in load_sources(target)}
    assert loaded["lushan"].region == "河南省/平顶山市/鲁山县" and loaded["minhou"].name == "闽侯县人民政府"
    printed = _run(tmp_path, "sources", "import", str(rows))
    assert printed.output.count("[[source]]") == 2


def test_a_bad_csv_is_rejected_whole_and_names_its_rows(tmp_path: Path) -> None:
    rows = tmp_path / "bad.csv"
    rows.write_text(
        "ok,好,河南省,http://a.gov.cn/\nbad id,坏,,http://b.gov.cn/\nc,丙,,ftp://c.gov.cn/\nd,丁\n", "utf-8"
    )
    target = tmp_path / "sources.toml"
    result = _run(tmp_path, "sources", "import", str(rows), "--append", str(target))
    assert result.exit_code == 1
    assert "3 bad row(s)" in result.output and "row 2" in result.output and "row 4" in result.output
    assert not target.exists()
