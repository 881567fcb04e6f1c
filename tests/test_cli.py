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
