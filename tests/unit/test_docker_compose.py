"""docker-compose.yml is well-formed and consistent (no Docker engine needed to check that)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_declares_kafka_postgres_worker_and_api_with_healthchecks() -> None:
    services = _compose()["services"]
    assert {"kafka", "postgres", "worker", "notify", "api"} <= set(services)
    assert services["notify"]["command"][0] == "notify"
    assert services["kafka"]["image"].startswith("apache/kafka:3.9")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("kafka", "postgres", "api"):
        assert services[name]["healthcheck"]["test"], name


def test_every_dependency_and_secret_exists() -> None:
    compose = _compose()
    services = compose["services"]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"
        for secret in svc.get("secrets", []):
            assert secret in compose["secrets"]
            assert (ROOT / compose["secrets"][secret]["file"]).exists()
    assert (ROOT / "Dockerfile").exists()
    # the app services point at the compose servers, not at loopback
    assert services["worker"]["environment"]["KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_compose_config_passes_where_the_compose_tool_exists() -> None:
    docker = shutil.which("docker")
    has_compose = (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    )
    if not has_compose:
        # The structural checks above ran; the compose tool's own check cannot run here.
        pytest.skip("no `docker compose` on this machine: the compose tool's check cannot run")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
