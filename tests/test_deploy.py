"""The compose stack and the image, checked without a container engine: commands, settings, ports, images."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from opentelemetry.sdk import environment_variables as otel_env
from pydantic_settings import BaseSettings

from activities.errors import VENDOR_ERRORS
from cli.app import app
from connectors.settings import HubSpotSettings, NetSuiteSettings, StripeSettings, ZendeskSettings
from infra.settings import Q2CSettings
from infra.temporal import connect_config
from simulators.context import SimulatorSettings
from workflows import kpis

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
Q2C = {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("q2c:")}
SETTINGS: list[type[BaseSettings]] = [
    Q2CSettings,
    HubSpotSettings,
    NetSuiteSettings,
    StripeSettings,
    ZendeskSettings,
    SimulatorSettings,
]
TEMPORAL_ENV = {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE"}


def setting_names() -> set[str]:
    names = set()
    for settings in SETTINGS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{field}".upper() for field in settings.model_fields}
    return names


def test_every_q2c_service_runs_a_command_q2c_has():
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"worker", "ingress", "codec-server", "simulators"} <= {s["command"][0] for s in Q2C.values()}
    for name, service in Q2C.items():
        assert service["command"][0] in commands, f"{name}: `q2c {service['command'][0]}` does not exist"


@pytest.mark.parametrize("name", sorted(Q2C))
def test_environment_names_match_the_settings_and_parse(name, monkeypatch):
    known = setting_names()
    environment = {k: str(v) for k, v in Q2C[name]["environment"].items()}
    for key in environment:
        if key.startswith("Q2C_"):
            assert key in known, f"{name}: {key} is no q2c setting"
        elif key.startswith("TEMPORAL_"):
            assert key in TEMPORAL_ENV, f"{name}: {key} is not read by Temporal's env config"
        elif key.startswith("OTEL_"):
            assert hasattr(otel_env, key), f"{name}: {key} is no OpenTelemetry variable"
        else:
            pytest.fail(f"{name}: {key} is read by nothing")
    for key, value in environment.items():
        monkeypatch.setenv(key, re.sub(r"\$\{[^}]+\}", "token", value))
    for settings in SETTINGS:
        settings()  # the values parse, e.g. the JSON list of CORS origins
    if "TEMPORAL_ADDRESS" in environment:
        assert connect_config()["target_host"] == "temporal:7233"


def test_images_are_pinned_and_published_ports_do_not_clash():
    published = []
    for name, service in SERVICES.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.search(r"\d", tag) and tag != "latest", f"{name}: {image} is not pinned"
        published += [str(p).split(":")[0] for p in service.get("ports", [])]
    assert len(published) == len(set(published)), sorted(published)


def test_services_depend_on_services_that_exist_and_long_runners_have_health_checks():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"
    for name in ("temporal", "q2c-worker", "q2c-ingress", "q2c-codec-server", "simulators", "postgresql"):
        assert "healthcheck" in SERVICES[name], name
    assert SERVICES["q2c-worker"]["deploy"]["replicas"] >= 2
    assert "auto-setup" not in json.dumps(COMPOSE)  # deprecated image; schema setup is admin-tools' job


def test_the_stack_is_wired_together():
    worker_env, codec_env = Q2C["q2c-worker"]["environment"], Q2C["q2c-codec-server"]["environment"]
    metrics_port = worker_env["Q2C_METRICS_BIND"].rsplit(":", 1)[1]
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    worker_job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "q2c-worker")
    assert str(worker_job["dns_sd_configs"][0]["port"]) == metrics_port
    assert worker_job["dns_sd_configs"][0]["names"] == ["q2c-worker"]
    ui = SERVICES["temporal-ui"]["environment"]
    codec_port = codec_env["Q2C_CODEC_SERVER_PORT"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith(f":{codec_port}")
    ui_origin = f"http://localhost:{SERVICES['temporal-ui']['ports'][0].split(':')[0]}"
    assert ui_origin in json.loads(codec_env["Q2C_CODEC_CORS_ORIGINS"])
    otlp = worker_env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert otlp.split("//")[1].split(":")[0] in SERVICES
    ingress_port = Q2C["q2c-ingress"]["environment"]["Q2C_INGRESS_PORT"]
    assert Q2C["simulators"]["environment"]["Q2C_SIM_HUBSPOT_WEBHOOK_URL"].startswith(
        f"http://q2c-ingress:{ingress_port}/"
    )
    assert int(Q2C["q2c-worker"]["stop_grace_period"].rstrip("s")) > 30  # the worker's own drain timeout


def test_the_dockerfile_copies_every_package_and_runs_q2c():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject)
    assert packages is not None
    for package in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert f"COPY {package} {package}" in dockerfile, package
    assert re.search(r"^FROM python:3\.11\.\d+-slim", dockerfile, re.M)
    assert 'ENTRYPOINT ["q2c"]' in dockerfile and "USER q2c" in dockerfile


def test_the_grafana_dashboard_charts_only_documented_metrics():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/q2c.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"\b(q2c_\w+)", e)}
    assert used == {*kpis.ALL, VENDOR_ERRORS}
    readme = (ROOT / "README.md").read_text()
    for metric in used:
        assert f"`{metric}" in readme, f"{metric} is not documented in README.md"


def test_tls_mtls_and_api_keys_come_from_a_temporal_profile(tmp_path, monkeypatch):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("-----BEGIN TEST-----\n")
    (tmp_path / "temporal.toml").write_text(
        f"""
[profile.cloud]
address = "q2c.a1b2c.tmprl.cloud:7233"
namespace = "q2c.a1b2c"
api_key = "cloud-api-key"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "revenue"
[profile.mtls.tls]
client_cert_path = "{tmp_path / "cert.pem"}"
client_key_path = "{tmp_path / "key.pem"}"
server_ca_cert_path = "{tmp_path / "ca.pem"}"
"""
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "temporal.toml"))
    cloud = connect_config("cloud")
    assert cloud["target_host"] == "q2c.a1b2c.tmprl.cloud:7233" and cloud["api_key"] == "cloud-api-key"
    assert cloud["tls"]  # an API key implies TLS
    mtls = connect_config("mtls")
    assert mtls["namespace"] == "revenue"
    assert mtls["tls"].client_cert == b"-----BEGIN TEST-----\n" and mtls["tls"].server_root_ca_cert
