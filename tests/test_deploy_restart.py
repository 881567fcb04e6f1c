"""The served processes come back when they die: a restart policy for every Compose service, and systemd units
for a plain machine that restart always and run real nianbao commands with real settings."""

from __future__ import annotations

import configparser
import dataclasses
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from nianbao.cli import main
from nianbao.settings import ENV_PREFIX, Settings

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def test_every_compose_service_restarts_unless_stopped():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        assert service.get("restart") in ("always", "unless-stopped"), name


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_systemd_unit_restarts_always_and_runs_a_real_command(path):
    unit = _unit(path)
    service = unit["Service"]
    assert service["Restart"] == "always"
    assert int(service["StartLimitBurst"]) >= 5 and float(service["RestartSec"]) > 0
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/nianbao")
    result = CliRunner().invoke(main, [*argv[1:2], "--help"])  # the subcommand exists
    assert result.exit_code == 0, result.output
    for option in argv[2:]:
        if option.startswith("--"):
            assert option in result.output, option


def test_units_serve_and_schedule():
    commands = {shlex.split(_unit(p)["Service"]["ExecStart"])[1] for p in UNITS}
    assert commands == {"serve", "schedule"}
    settings = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    assert "NIANBAO_PUBLIC_URL" in settings  # the env file the units read names real settings
