"""docker-compose.yml and the Dockerfile agree with the code: image major = client major, real settings."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import elasticsearch
import pytest

from nianbao.settings import ENV_PREFIX, Settings

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def test_elasticsearch_image_is_pinned_to_the_clients_major_version():
    image = SERVICES["elasticsearch"]["image"]
    m = re.fullmatch(r"docker\.elastic\.co/elasticsearch/elasticsearch:(\d+)\.(\d+)\.(\d+)", image)
    assert m, f"pin an exact version: {image}"
    assert int(m.group(1)) == int(elasticsearch.__versionstr__.split(".")[0])


def test_elasticsearch_is_single_node_with_heap_volume_and_healthcheck():
    es = SERVICES["elasticsearch"]
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert re.search(r"-Xms\d+[mg] -Xmx\d+[mg]", env["ES_JAVA_OPTS"])
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in es["volumes"])
    assert "_cluster/health" in " ".join(es["healthcheck"]["test"])


def test_services_start_in_order_on_health_and_use_real_settings():
    settings = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}
    assert SERVICES["api"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert SERVICES["scheduler"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert SERVICES["api"]["command"] == ["nianbao", "serve", "--host", "0.0.0.0"]
    assert SERVICES["scheduler"]["command"] == ["nianbao", "schedule"]
    for name in ("api", "scheduler"):
        env = SERVICES[name]["environment"]
        assert set(env) <= settings, set(env) - settings  # a typo would be silently ignored otherwise
        assert env["NIANBAO_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert env["NIANBAO_DATA_DIR"] == "/data"
        assert any(v.startswith("nianbao-data:/data") for v in SERVICES[name]["volumes"])


def test_dockerfile_installs_the_package_on_python_311_slim():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.splitlines()[1] == "FROM python:3.11-slim"
    assert "pip install ." in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and "data" in ignored
