"""The server-rendered pages (HTML parsed with BeautifulSoup) and the offline API docs page."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from test_service_data import build_documents, client_over_one_report_without_totals, make_settings, make_store

from indexer import catalogue
from service.app import create_app
from service.charts import line_chart
from service.present import safe_fragment
from store import analysis


@pytest.fixture(scope="module")
def docs():
    return build_documents()


@pytest.fixture(scope="module")
def client(docs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    store = make_store(tmp / "index.sqlite3", docs)
    yield create_app(make_settings(tmp, rate_limit_per_minute=0), store=store).test_client()
    store.close()


def page(client, url: str, status: int = 200) -> BeautifulSoup:
    resp = client.get(url)
    assert resp.status_code == status, resp.data[:500]
    assert resp.mimetype == "text/html"
    return BeautifulSoup(resp.data, "html.parser")


def matching(docs, phrase):
    return [
        d
        for d in docs
        if analysis.contains(d.title, phrase) or any(analysis.contains(s.text, phrase) for s in d.sections)
    ]


def facet_link(soup: BeautifulSoup, facet: str, value: str):
    return soup.select_one(f'section[data-facet="{facet}"] a[data-value="{value}"]')


def test_search_page_shows_hits_fragments_and_facets(client, docs):
    expected = matching(docs, "依申请公开")
    soup = page(client, "/?q=依申请公开")
    assert soup.select_one("#total").text == str(len(expected))
    hits = soup.select("li.hit")
    assert len(hits) == min(20, len(expected))
    for hit in hits:
        marks = hit.select("p.fragment mark")
        assert marks and all(m.text == "依申请公开" for m in marks)
        assert hit.select_one(".section-name").text.strip()
    assert soup.select_one('section[data-facet="county"] h3').text.startswith("区县")


def test_facet_clicks_narrow_and_combine(client, docs):
    expected = matching(docs, "依申请公开")
    soup = page(client, "/?q=依申请公开")
    link = facet_link(soup, "county", "鲁山县")
    count = int(link.select_one(".count").text)
    assert count == sum(d.region.county == "鲁山县" for d in expected)
    narrowed = page(client, link["href"])
    assert narrowed.select_one("#total").text == str(count)
    assert "selected" in facet_link(narrowed, "county", "鲁山县")["class"]
    # A second value of the same facet widens (OR); a value of another facet narrows (AND).
    both = page(client, facet_link(narrowed, "county", "叶县")["href"])
    assert both.select_one("#total").text == str(sum(d.region.county in ("鲁山县", "叶县") for d in expected))
    year = page(client, facet_link(both, "year", "2024")["href"])
    assert year.select_one("#total").text == str(
        sum(d.region.county in ("鲁山县", "叶县") and d.year == 2024 for d in expected)
    )
    # Clicking a selected value removes it again.
    back = page(client, facet_link(year, "year", "2024")["href"])
    assert back.select_one("#total").text == both.select_one("#total").text


def test_year_range_and_csv_link_carry_the_query(client, docs):
    expected = [d for d in docs if 2022 <= d.year <= 2023 and d.region.province == "河南省"]
    soup = page(client, "/?year_from=2022&year_to=2023&province=河南省&q=&sort=")  # empty form fields = not given
    assert soup.select_one("#total").text == str(len(expected))
    assert soup.select_one("#year_from")["value"] == "2022"
    href = soup.select_one("#csv")["href"]
    query = parse_qs(urlsplit(href).query)
    assert query["format"] == ["csv"] and query["province"] == ["河南省"]
    resp = client.get(href)
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8").lstrip("\ufeff"))))
    assert {r[0] for r in rows[1:]} == {d.id for d in expected}


def test_next_page_link_follows_the_cursor(client, docs):
    soup = page(client, "/?sort=-year")
    first = [a["href"] for a in soup.select("a.hit-title")]
    second = page(client, soup.select_one("#next")["href"])
    more = [a["href"] for a in second.select("a.hit-title")]
    assert len(first) == 20 and more and not set(first) & set(more)


def test_invalid_input_shows_a_clear_message(client):
    # In Chinese on the page (the API answers the same mistakes with its JSON).
    soup = page(client, "/?year_from=abc", status=400)
    assert soup.select_one("#error").text == "查询有误：起始年度：应为整数"
    soup = page(client, "/?q=(依申请公开", status=400)
    assert "左括号没有配对的右括号" in soup.select_one("#error").text
    soup = page(client, '/?q="依申请', status=400)
    assert soup.select_one("#error").text == "查询有误：检索词：第 1 个字符处的引号没有配对，请补上另一半引号"
    assert client.get('/api/v1/search?q="依申请').get_json()["error"]["reason"].startswith("unterminated quote")
    soup = page(client, "/?q=<script>alert(1)</script>")
    assert not soup.select("main script")  # echoed input is escaped, never markup
    assert soup.select_one("#q")["value"] == "<script>alert(1)</script>"


def test_report_page_lays_out_the_three_tables(client, docs):
    doc = next(d for d in docs if d.check_status == "failed")
    soup = page(client, f"/reports/{doc.id}")
    assert soup.select_one("#report-title").text == doc.title
    headings = [s.select_one("h2").text for s in soup.select("section.metric-table")]
    assert headings == list(catalogue.TABLE_LABELS.values())
    cells = {td["data-metric"]: td for td in soup.select("td[data-metric]")}
    for key, value in doc.metrics.items():
        assert cells[key].text == ("—" if value is None else f"{value:,}")
    failed = {k for k, td in cells.items() if "failed" in td.get("class", [])}
    assert failed == {m.key for m in catalogue.metrics() if m.row == "outcomes.disclosed"}
    # Row and column headers carry the catalogue's Chinese labels.
    table = soup.select_one("#table-applications table")
    assert [th.text for th in table.select("thead th")][1:] == [label for _, label in catalogue.APPLICANT_COLUMNS]
    assert "（一）予以公开" in [th.text for th in table.select("tbody th")]
    assert not doc.computed and not soup.select(".computed-note, td.computed")  # every total printed
    # Failed checks first, in Chinese, naming the cells; the passing ones folded into one line.
    (failed_item,) = soup.select("#failed-checks li")
    assert failed_item.text.strip().startswith("（一）予以公开：各申请人之和 = 总计，不成立（应为 ")
    assert "应为" in failed_item.text and "columns" not in failed_item.text
    assert soup.select_one("#checks-headline").text == "数据核对：1 项核对中 1 项未通过"
    # The narrative once: a sub-section inside its part 一 is not printed again after the other parts.
    assert [h.text for h in soup.select("#sections h3")] == [s.title for s in doc.sections if "." not in s.key]
    assert soup.select_one("#original")["href"] == f"/api/v1/reports/{doc.id}/original"
    captures = page(client, soup.select_one("#captures-link")["href"])
    assert "暂无存档记录" in captures.select_one("#captures").text  # no archive in this test: said, not an error


def test_agency_page_draws_metrics_over_the_years(client, docs):
    target = next(d for d in docs if d.agency.name == "叶县人民政府")
    own = sorted((d for d in docs if d.agency.id == target.agency.id), key=lambda d: d.year)
    soup = page(client, f"/agencies/{target.agency.id}")
    assert soup.select_one("#agency-name").text == "叶县人民政府"
    chart = soup.select_one('figure[data-metric="applications.new.total"] svg')
    circles = chart.select("circle")
    assert [int(c["data-year"]) for c in circles] == [d.year for d in own]
    points = [(float(c["cx"]), float(c["cy"])) for c in circles]
    values = [d.metrics["applications.new.total"] for d in own]
    # Higher values are drawn higher (smaller y); x grows with the year, evenly per year (a gap stays a gap).
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    step = (points[-1][0] - points[0][0]) / (own[-1].year - own[0].year)
    for (x, _), d in zip(points, own, strict=True):
        assert abs(x - points[0][0] - step * (d.year - own[0].year)) < 0.2
    for (_, y1), (_, y2), v1, v2 in zip(points, points[1:], values, values[1:], strict=False):
        assert (y1 > y2) == (v1 < v2) or v1 == v2
    # The unit once (on the axis), a labelled y scale, every year on the x axis.
    assert "（件）" not in soup.select_one('figure[data-metric="applications.new.total"] figcaption').text
    assert chart.select_one("text.unit").text == "单位：件"
    assert chart.select_one("text.tick").text == "0"
    assert [t.text for t in chart.select("text.year")] == [str(y) for y in range(own[0].year, own[-1].year + 1)]
    row = [td.text for td in soup.select("#series tbody tr")[0].select("td")][1:]  # after the unit
    assert row == [f"{v:,}" for v in values]


def test_unknown_pages_are_friendly_404s(client):
    soup = page(client, "/reports/nope", status=404)
    assert soup.select_one(".error").text == "没有编号为 'nope' 的报告"
    page(client, "/agencies/nope", status=404)


def test_docs_page_is_offline_and_reads_the_openapi_document(client):
    soup = page(client, "/api/docs")
    assert soup.select_one("#docs")["data-spec-url"] == "/api/v1/openapi.json"
    for tag in soup.select("script[src], link[href]"):
        url = tag.get("src") or tag.get("href")
        assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
        assert client.get(url).status_code == 200
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/search", "/stats", "/reports/{report_id}", "/metrics", "/feed.atom", "/agencies", "/health"):
        assert f"/api/v1{path}" in spec["paths"]


def test_highlight_fragments_are_re_escaped():
    out = str(safe_fragment("a &lt;b&gt; <mark>依申请</mark><script>x</script>"))
    assert out == "a &lt;b&gt; <mark>依申请</mark>&lt;script&gt;x&lt;/script&gt;"


def test_line_chart_scales_and_breaks_at_unknown_years():
    values = {"2021": 0, "2022": 10, "2023": None, "2024": 5}
    chart = line_chart(
        [{"label": "a", "values": values}], [2021, 2022, 2024], width=100, height=50, left=0, right=0, top=0, bottom=0
    )
    (line,) = chart["lines"]
    assert [(p["year"], p["x"], p["y"]) for p in line["points"]] == [
        (2021, 0.0, 50.0),
        (2022, 33.3, 0.0),
        (2024, 100.0, 25.0),
    ]
    assert line["segments"] == ["0.0,50.0 33.3,0.0"]  # 2024 stands alone: no line drawn across 2023
    assert line["missing"] == [2023]
    assert [t["label"] for t in chart["ticks"]] == ["0", "5", "10"]  # counts: no fractional ticks
    fees = line_chart([{"label": "b", "values": {"2021": 1.5, "2022": 10}}], [2021, 2022])
    assert [t["label"] for t in fees["ticks"]] == ["0", "2.5", "5", "7.5", "10"]


def test_failed_checks_name_the_cells_they_are_about():
    from service.present import check_metric_keys

    assert check_metric_keys("balance.natural_person") == {
        "applications.new.natural_person",
        "applications.carried_over.natural_person",
        "outcomes.total.natural_person",
        "applications.carried_forward.natural_person",
    }
    assert check_metric_keys("columns.applications.new") == {
        f"applications.new.{c}" for c in catalogue.APPLICANT_COLUMN_KEYS
    }
    outcome_total = check_metric_keys("outcomes.total")
    assert "outcomes.total.total" in outcome_total and "outcomes.withheld.state_secret.total" in outcome_total
    assert "outcomes.withheld.total.total" not in outcome_total  # a derived subtotal is not part of the sum
    assert all(k.endswith(".total") for k in outcome_total)
    assert check_metric_keys("review.litigation.direct") == {
        f"litigation.direct.{c}" for c in ("upheld", "corrected", "other", "pending", "total")
    }


def test_metric_bucket_facet_narrows_by_number_of_applications(client, docs):
    soup = page(client, "/")
    key = "applications.new.total"
    link = facet_link(soup, key, "10–99")
    expected = [d for d in docs if 10 <= d.metrics[key] < 100]
    assert int(link.select_one(".count").text) == len(expected)
    narrowed = page(client, link["href"])
    assert narrowed.select_one("#total").text == str(len(expected))
    assert "selected" in facet_link(narrowed, key, "10–99")["class"]
    assert facet_link(narrowed, key, "1–9") is None  # empty buckets are not offered
    cleared = page(client, facet_link(narrowed, key, "10–99")["href"])
    assert cleared.select_one("#total").text == str(len(docs))


def test_report_page_marks_totals_computed_for_a_table_without_total(tmp_path):
    with client_over_one_report_without_totals(tmp_path) as (doc, client):
        soup = page(client, f"/reports/{doc.id}")
    cells = {td["data-metric"]: td for td in soup.select("td[data-metric]")}
    marked = {k for k, td in cells.items() if "computed" in td.get("class", [])}
    assert "applications.new.total" in marked and "outcomes.disclosed.total" in marked
    assert marked == set(doc.computed)
    assert cells["applications.new.total"].text == "19"
    assert "由各申请人列相加得出（报告未列总计）" in cells["applications.new.total"]["title"]
    assert "报告未列总计" not in cells["applications.new.natural_person"]["title"]
    assert "表三未列总计栏" in soup.select_one("#warnings").text
    # Said under the table too (a hover title is not there on a phone or on paper).
    assert "并非报告原文" in soup.select_one("#table-applications .computed-note").text


def test_rankings_page_follows_the_search_and_lets_the_metric_and_year_change(client, docs):
    search = page(client, "/?q=依申请公开&county=鲁山县&county=叶县&year=2024")
    ranking = page(client, search.select_one("#rankings")["href"])
    assert ranking.select_one("select#rank option[selected]")["value"] == "applications.new.total"
    assert ranking.select_one("#year")["value"] == "2024"
    key = "applications.new.total"
    expected = sorted(
        (
            d
            for d in matching(docs, "依申请公开")
            if d.region.county in ("鲁山县", "叶县") and d.year == 2024 and d.metrics.get(key) is not None
        ),
        key=lambda d: -d.metrics[key],
    )
    values = [int(td.text.replace(",", "")) for td in ranking.select("#ranking td.value")]
    assert values == [d.metrics[key] for d in expected]
    # Another metric (a share, in percent) and another year, from the page's own form.
    hidden = {i["name"]: i["value"] for i in ranking.select("#ranking-form input[type=hidden]")}
    assert hidden.get("q") == "依申请公开"
    other = page(client, "/rankings?q=依申请公开&county=鲁山县&rank=disclosed_share&year=2023&order=asc")
    shares = [float(td.text.rstrip("%")) for td in other.select("#ranking td.value")]
    assert shares == sorted(shares) and other.select_one("h1 small").text == "2023 年度"


def test_missing_page_lists_agencies_without_a_report_for_the_year(client, docs):
    soup = page(client, "/missing?year=2025&county=鲁山县")
    in_county = {d.agency.id for d in docs if d.region.county == "鲁山县"}
    published = {d.agency.id for d in docs if d.region.county == "鲁山县" and d.year == 2025}
    listed = {tr["data-agency"] for tr in soup.select("tr[data-agency]")}
    assert listed == in_county - published
    assert soup.select_one("#missing-count").text == str(len(listed))
    page(client, "/missing?year=abc", status=400)


def test_comparison_of_picked_agencies_as_table_chart_and_csv(client, docs):
    key = "applications.new.total"
    a, b = (next(d for d in docs if d.agency.name == name) for name in ("叶县人民政府", "嵩县财政局"))
    url = f"/compare?agency_id={a.agency.id}&agency_id={b.agency.id}&metric={key}"
    soup = page(client, url)
    rows = {tr["data-agency"]: tr for tr in soup.select("#compare-table tbody tr")}
    assert set(rows) == {a.agency.id, b.agency.id}
    years = [int(th.text) for th in soup.select("#compare-table thead th")[1:]]
    for agency in (a.agency, b.agency):
        own = {d.year: d.metrics[key] for d in docs if d.agency.id == agency.id}
        for td in rows[agency.id].select("td"):
            year = int(td["data-year"])
            shown = td.find("a").text if td.find("a") else td.text.strip()
            assert shown == (f"{own[year]:,}" if year in own else "无报告"), (agency.name, year)
    assert len(soup.select("#compare-chart g.series")) == 2
    assert soup.select_one("#permalink")["href"] == url
    resp = client.get(soup.select_one("#compare-csv")["href"])
    assert resp.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(table) == 3 and table[0][5].startswith(f"{years[0]} 年")
    # Adding a third agency by name keeps the two already picked.
    found = page(client, url + "&name=郏县")
    add = found.select_one("#found a.add")["href"]
    assert len(parse_qs(urlsplit(add).query)["agency_id"]) == 3
    page(client, "/compare?metric=nope", status=400)


def test_csv_export_carries_the_sorted_metric_and_stats_counts_are_integers(client):
    resp = client.get("/api/v1/search?format=csv&sort=-metric:review.total")
    header = next(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert any(h.endswith("[review.total]") for h in header)
    body = client.get("/api/v1/stats?metrics=applications.new.total&functions=count,sum,avg&group_by=year").get_json()
    for row in body["rows"]:
        assert isinstance(row["values"]["count:applications.new.total"], int)
        assert isinstance(row["values"]["sum:applications.new.total"], int)
    assert client.get("/favicon.ico").status_code == 200


def test_overlapping_fragments_are_merged_and_cuts_marked():
    from service.present import merge_fragments
    from store.base import Fragment
    from store.highlight import fragments
    from store.query import Term

    overview = "本年度共收到依申请公开政府信息申请12件，均在法定期限内答复。" + "主动公开政府信息若干条。" * 12
    sub = overview[:32]
    frags = fragments([("overview", overview), ("overview.application", sub)], [Term("依申请公开")])
    assert frags[0].text.endswith("…") and not frags[0].text.startswith("…")  # cut at the end only
    merged = merge_fragments(frags)
    assert [f.section for f in merged] == ["overview"]  # the sub-section's paragraph is inside part 一's
    a = Fragment("overview", "…甲乙丙丁<mark>依申请公开</mark>戊己庚辛")
    b = Fragment("problems", "<mark>依申请公开</mark>戊己庚辛壬癸…")
    (joined,) = merge_fragments([a, b])
    assert joined.text == "…甲乙丙丁<mark>依申请公开</mark>戊己庚辛壬癸…"
    assert len(merge_fragments([a, Fragment("problems", "完全不同的一段话，没有重叠的文字")])) == 2


def test_one_growth_format_and_beijing_time():
    from service.present import change_text, local_time, metric_text, percent_text

    assert change_text(3, 0.4286) == "+3（+42.9%）"
    assert change_text(-46, -0.648) == "−46（−64.8%）"
    assert change_text(5, None) == "+5（上年为 0）"
    assert change_text(None, None) == "—"
    assert metric_text("yoy.applications.new.total.rel", 4.2) == "+420%"  # was shown as 4.2
    assert metric_text("yoy.applications.new.total.abs", -3) == "−3"
    assert metric_text("copied.peers_ratio", 0.435) == "43.5%"
    assert percent_text(1 / 3) == "33.3%"
    assert local_time("2026-12-03T14:50:37+00:00") == "2026-12-03 22:50"
    assert local_time("2026-12-03T20:00:00Z") == "2026-12-04 04:00"
    assert local_time("2026-12-03") == "2026-12-03"


def test_report_page_and_api_mark_cells_placed_by_the_identities(tmp_path):
    from pathlib import Path

    from indexer.parse import parse_file

    fixture = Path(__file__).parent / "fixtures" / "forms" / "cells-per-line-crlf-mixed-blanks.txt"
    doc = parse_file(fixture)
    assert "outcomes.disclosed.social_org" in doc.aligned
    store = make_store(tmp_path / "index.sqlite3", [doc])
    try:
        client = create_app(make_settings(tmp_path, rate_limit_per_minute=0), store=store).test_client()
        body = client.get(f"/api/v1/reports/{doc.id}").get_json()
        soup = page(client, f"/reports/{doc.id}")
    finally:
        store.close()
    assert body["aligned"] == doc.aligned and "aligned" in body["flags"]
    cells = {c["metric"]: c for t in body["tables"] for bl in t["blocks"] for r in bl["rows"] for c in r["cells"]}
    assert cells["outcomes.disclosed.social_org"]["aligned"] is True
    assert cells["applications.new.social_org"]["aligned"] is False  # printed whole: read, not placed
    tds = {td["data-metric"]: td for td in soup.select("td[data-metric]")}
    assert "aligned" in tds["outcomes.disclosed.social_org"]["class"]
    assert "勾稽关系" in tds["outcomes.disclosed.social_org"]["title"]
    assert "aligned" not in tds["applications.new.social_org"].get("class", [])
    assert soup.select_one(".aligned-note") is not None
