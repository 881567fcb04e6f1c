"""The `nianbao` command line: settings, errors without tracebacks, status."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from nianbao.cli import main
from nianbao.settings import load_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the with-block ends


def test_unreachable_elasticsearch_is_a_one_line_error(tmp_path: Path) -> None:
    env = {"NIANBAO_ELASTICSEARCH_URL": f"http://127.0.0.1:{_closed_port()}", "NIANBAO_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["search", "复议"], env=env)
    assert result.exit_code == 1
    assert "cannot reach Elasticsearch" in result.output
    assert "Traceback" not in result.output


def test_settings_layer_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "nianbao.toml"
    config.write_text('[nianbao]\nport = 9001\ncrawl_delay = 0.5\nadmin_token = "from-file"\n', encoding="utf-8")
    settings = load_settings(env={"NIANBAO_ADMIN_TOKEN": "from-env"}, config_file=config)
    assert (settings.port, settings.crawl_delay, settings.admin_token) == (9001, 0.5, "from-env")
    assert settings.index_path.parent == settings.data_dir


def test_unknown_or_invalid_settings_are_usage_errors(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[nianbao]\nprot = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert result.exit_code == 2 and "unknown setting" in result.output
    result = CliRunner().invoke(main, ["status"], env={"NIANBAO_PORT": "eighty"})
    assert result.exit_code == 2 and "invalid setting" in result.output


def test_status_of_an_empty_data_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "status"])
    assert result.exit_code == 0, result.output
    assert "index.reports" in result.output and "archive" in result.output


def test_search_filter_syntax_is_checked(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "search", "复议", "--filter", "county"])
    assert result.exit_code == 2 and "name=value" in result.output
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "search", "(复议"])
    assert result.exit_code == 2 and "missing ')'" in result.output


def _indexed(tmp_path: Path) -> Path:
    """A data directory whose index holds the service tests' documents (a real SQLite store)."""
    from test_service_data import build_documents, make_store

    data = tmp_path / "data"
    make_store(load_settings(env={}, data_dir=data).index_path, build_documents()).close()
    return data


def test_search_output_indents_fragments_under_their_hit(tmp_path: Path) -> None:
    data = _indexed(tmp_path)
    result = CliRunner().invoke(main, ["--data-dir", str(data), "search", "依申请公开", "--filter", "county=鲁山县"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("  [")]
    assert heads, result.output
    for i in heads:  # the section name on its own line, the fragment's lines indented below it
        assert lines[i + 1].startswith("    ") and "[依申请公开]" in "".join(lines[i + 1 : i + 4])
    assert not any(line.endswith(": ") for line in lines)  # no empty facet lines


def test_search_names_an_unknown_filter_value_and_suggests_close_ones(tmp_path: Path) -> None:
    data = _indexed(tmp_path)
    result = CliRunner().invoke(main, ["--data-dir", str(data), "search", "依申请公开", "--filter", "county=鲁山"])
    assert result.exit_code == 1
    assert "no such county indexed: '鲁山'; did you mean 鲁山县" in result.output
    assert "0 reports" not in result.output
    result = CliRunner().invoke(main, ["--data-dir", str(data), "search", "--filter", "county=不存在县"])
    assert result.exit_code == 1 and "no such county indexed: '不存在县'" in result.output
    # A known value that matches nothing is a plain empty result, not an error.
    result = CliRunner().invoke(main, ["--data-dir", str(data), "search", "不存在的词语", "--filter", "county=叶县"])
    assert result.exit_code == 0 and result.output.startswith("0 reports")


def test_status_counts_robots_refusals_apart_from_failures(tmp_path: Path) -> None:
    from crawler.catalog import Catalog

    settings = load_settings(env={}, data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    with Catalog(settings.catalog_path) as catalog:
        run_id, _ = catalog.begin_run("adhoc")
        catalog.record_failure(run_id, "http://127.0.0.1:9/private/a.html", "disallowed by robots.txt")
        catalog.record_failure(run_id, "http://127.0.0.1:9/b.html", "HTTP 500 after 3 tries")
        catalog.record_failure(run_id, "http://127.0.0.1:9/c.html", "disallowed by robots.txt")
    result = CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "status"])
    assert result.exit_code == 0, result.output
    rows = dict(line.split(None, 1) for line in result.output.splitlines())
    assert rows["archive.last_run_failed"] == "1" and rows["archive.last_run_blocked_by_robots"] == "2"
