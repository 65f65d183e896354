"""deploy/k8s renders, matches the Kubernetes schemas, follows the security policy, and points at
commands, paths and settings that exist.

Rendering uses :mod:`tests.support.kustomize_subset` (no kustomize binary here); the schemas
are the ones ``kubernetes-validate`` ships, so all of this runs offline. ``checkov`` is not used:
it would downgrade pinned packages (packaging, networkx, cachetools...), so the policy checks it
would make for these manifests are :func:`violations` below.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from support.kustomize_subset import (
    Manifest,
    UnsupportedKustomizationError,
    containers,
    load_documents,
    merge,
    pod_spec,
    render,
)
from support.paths import REPO
from typer.testing import CliRunner

from vitrina.cli.main import app
from vitrina.config import Settings
from vitrina.serving.routes.health import router as health_router

pytestmark = pytest.mark.unit

K8S = REPO / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
# The oldest minor still common in managed clusters whose schemas ship with kubernetes-validate,
# and the newest one it ships.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
EXTERNAL_SECRET = "vitrina-secrets"  # created by the operator, never committed
# Settings read from the environment that are not vitrina's (libraries and the process).
FOREIGN_ENV = {"HOME", "XDG_CACHE_HOME", "HF_HUB_OFFLINE"}


def by_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def violations(objects: list[Manifest], *, pinned_images: bool) -> list[str]:
    """The security and operability rules every workload must follow, one message per breach."""
    found: list[str] = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        pod_security = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            found.append(f"{where}: mounts a service account token")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            found.append(f"{where}: shares a host namespace")
        for container in containers(obj):
            at = f"{where}/{container['name']}"
            security = {**pod_security, **container.get("securityContext", {})}
            if security.get("runAsNonRoot") is not True or security.get("runAsUser", 1) == 0:
                found.append(f"{at}: may run as root")
            if security.get("allowPrivilegeEscalation") is not False:
                found.append(f"{at}: allows privilege escalation")
            if security.get("privileged"):
                found.append(f"{at}: privileged")
            if security.get("readOnlyRootFilesystem") is not True:
                found.append(f"{at}: writable root filesystem")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                found.append(f"{at}: keeps Linux capabilities")
            if security.get("capabilities", {}).get("add"):
                found.append(f"{at}: adds Linux capabilities")
            if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                found.append(f"{at}: no RuntimeDefault seccomp profile")
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(bound, {}):
                        found.append(f"{at}: no {resource} {bound}")
            if obj["kind"] in {"Deployment", "StatefulSet"} and container.get("ports"):
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        found.append(f"{at}: no {probe}")
            _, _, tag = container["image"].rpartition(":")
            unpinned = ":" not in container["image"] or tag == "latest"
            if pinned_images and "@" not in container["image"] and unpinned:
                found.append(f"{at}: image {container['image']!r} is not pinned")
        if obj["kind"] == "CronJob" and obj["spec"].get("concurrencyPolicy") != "Forbid":
            found.append(f"{where}: concurrent runs allowed")
    found += [f"Secret/{o['metadata']['name']}: secret values committed" for o in by_kind(objects, "Secret")]
    return found


@pytest.fixture(scope="module")
def production() -> list[Manifest]:
    return render(PRODUCTION)


@pytest.fixture(scope="module")
def base() -> list[Manifest]:
    return render(BASE)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("folder", [BASE, PRODUCTION], ids=["base", "production"])
def test_every_manifest_matches_the_kubernetes_schema(folder: Path, version: str) -> None:
    objects = render(folder)
    assert len(objects) >= 10
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)  # raises on the first error


def test_the_schema_check_rejects_a_wrong_field(production: list[Manifest]) -> None:
    broken = copy.deepcopy(one(production, "Deployment", "vitrina-api"))
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
    unknown = copy.deepcopy(one(production, "Deployment", "vitrina-api"))
    unknown["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSIONS[-1], strict=True)


def test_production_follows_the_policy(production: list[Manifest]) -> None:
    assert violations(production, pinned_images=True) == []


def test_base_follows_the_policy_but_for_its_image_tag(base: list[Manifest]) -> None:
    assert violations(base, pinned_images=False) == []
    assert {c["image"] for o in base for c in containers(o)} == {"vitrina:latest"}
    assert len(violations(base, pinned_images=True)) == 3  # api, jobs runner, loop


@pytest.mark.parametrize(
    ("breach", "message"),
    [
        (lambda c, p: c["securityContext"].update(allowPrivilegeEscalation=True), "privilege escalation"),
        (lambda c, p: c["securityContext"].update(readOnlyRootFilesystem=False), "writable root"),
        (lambda c, p: c["securityContext"].update(privileged=True), "privileged"),
        (lambda c, p: p["securityContext"].update(runAsUser=0), "root"),
        (lambda c, p: c["resources"].pop("limits"), "no cpu limits"),
        (lambda c, p: c.pop("readinessProbe"), "no readinessProbe"),
        (lambda c, p: c.update(image="vitrina:latest"), "not pinned"),
    ],
)
def test_the_policy_catches_each_breach(production: list[Manifest], breach: Any, message: str) -> None:
    objects = copy.deepcopy(production)
    api = one(objects, "Deployment", "vitrina-api")
    spec = pod_spec(api)
    assert spec is not None
    breach(spec["containers"][0], spec)
    assert any(message in v for v in violations(objects, pinned_images=True))


def test_the_overlay_patches_are_applied(production: list[Manifest], base: list[Manifest]) -> None:
    assert {o["metadata"].get("namespace") for o in production if o["kind"] != "Namespace"} == {"vitrina"}
    hpa = one(production, "HorizontalPodAutoscaler", "vitrina-api")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert hpa["spec"]["metrics"] == one(base, "HorizontalPodAutoscaler", "vitrina-api")["spec"]["metrics"]
    api = next(containers(one(production, "Deployment", "vitrina-api")))
    base_api = next(containers(one(base, "Deployment", "vitrina-api")))
    assert api["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    assert api["image"] == "vitrina:0.1.0"
    # The patch names only resources: everything else of the container is the base's.
    assert {k: v for k, v in api.items() if k not in {"resources", "image"}} == {
        k: v for k, v in base_api.items() if k not in {"resources", "image"}
    }


def test_the_api_probes_the_real_health_routes_on_the_served_port(production: list[Manifest]) -> None:
    api = next(containers(one(production, "Deployment", "vitrina-api")))
    routes = {route.path for route in health_router.routes}  # type: ignore[attr-defined]
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert "/ready" in routes
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert "/health" in routes
    args = api["args"]
    port = int(args[args.index("--port") + 1])
    (named,) = [p for p in api["ports"] if p["name"] == api["readinessProbe"]["httpGet"]["port"]]
    assert named["containerPort"] == port
    assert args[args.index("--host") + 1] == "0.0.0.0"  # reachable from outside the pod


def test_services_budgets_and_autoscalers_select_what_exists(production: list[Manifest]) -> None:
    workloads = {o["metadata"]["name"]: o for o in by_kind(production, "Deployment")}
    api_labels = workloads["vitrina-api"]["spec"]["template"]["metadata"]["labels"]
    for selecting in by_kind(production, "Service") + by_kind(production, "PodDisruptionBudget"):
        selector = selecting["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= api_labels.items(), selecting["metadata"]["name"]
    service = one(production, "Service", "vitrina-api")
    api_ports = {p["name"] for p in next(containers(workloads["vitrina-api"]))["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= api_ports
    for hpa in by_kind(production, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in workloads
    for deployment in workloads.values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_config_maps_volumes_and_secrets_referenced_exist(production: list[Manifest]) -> None:
    config_maps = {o["metadata"]["name"] for o in by_kind(production, "ConfigMap")}
    claims = {o["metadata"]["name"] for o in by_kind(production, "PersistentVolumeClaim")}
    accounts = {o["metadata"]["name"] for o in by_kind(production, "ServiceAccount")}
    for obj in production:
        spec = pod_spec(obj)
        if spec is None:
            continue
        assert spec["serviceAccountName"] in accounts
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        for container in containers(obj):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == EXTERNAL_SECRET
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])}
            assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}  # read-only root


def test_config_map_names_only_real_settings(production: list[Manifest]) -> None:
    data = one(production, "ConfigMap", "vitrina-config")["data"]
    known = {f"VITRINA_{name.upper()}" for name in Settings.model_fields}
    assert set(data) - FOREIGN_ENV <= known
    assert all(isinstance(v, str) for v in data.values())  # ConfigMap values are strings
    env = {k.removeprefix("VITRINA_").lower(): v for k, v in data.items() if k not in FOREIGN_ENV}
    settings = Settings(**env)  # every value parses as its setting
    assert settings.job_runner is False  # the jobs-runner Deployment runs the jobs, once
    secret_like = re.compile(r"(key|token|password|secret)", re.IGNORECASE)
    assert not [k for k in data if secret_like.search(k)]
    home = data["VITRINA_HOME"]
    for obj in production:
        for container in containers(obj):
            assert home in {m["mountPath"] for m in container["volumeMounts"]}


def test_the_commands_run_by_the_pods_exist(production: list[Manifest]) -> None:
    runner = CliRunner()
    for obj in production:
        for container in containers(obj):
            command = container["command"] + container.get("args", [])
            if command[0] == "vitrina":
                # The subcommand path (flags dropped) must resolve; --help parses it without running.
                first_option = next((i for i, w in enumerate(command) if w.startswith("-")), len(command))
                words = command[1:first_option]
                result = runner.invoke(app, [*words, "--help"])
                assert result.exit_code == 0, (command, result.output)
                options = {w for w in command[1:] if w.startswith("--")}
                assert all(option in result.output for option in options), (command, options)
            else:
                assert command[:2] == ["python", "-m"]
                assert importlib.util.find_spec(command[2]) is not None
    loop = one(production, "CronJob", "vitrina-loop")
    (loop_container,) = containers(loop)
    assert loop_container["command"] + loop_container["args"] == ["vitrina", "train", "all"]


class TestRenderer:
    def test_named_lists_merge_by_name_and_other_lists_are_replaced(self) -> None:
        base = {"containers": [{"name": "a", "x": 1, "args": ["1"]}, {"name": "b", "x": 2}]}
        patch = {"containers": [{"name": "b", "x": 3, "args": ["2"]}, {"name": "c"}]}
        assert merge(base, patch) == {
            "containers": [
                {"name": "a", "x": 1, "args": ["1"]},
                {"name": "b", "x": 3, "args": ["2"]},
                {"name": "c"},
            ]
        }
        assert merge({"args": ["1", "2"]}, {"args": ["3"]}) == {"args": ["3"]}

    def test_an_unsupported_field_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n", encoding="utf-8")
        with pytest.raises(UnsupportedKustomizationError, match="namePrefix"):
            render(tmp_path)

    def test_every_file_of_a_folder_is_listed_in_its_kustomization(self) -> None:
        for kustomization in K8S.rglob("kustomization.yaml"):
            spec = load_documents(kustomization)[0]
            listed = set(spec.get("resources", [])) | {p["path"] for p in spec.get("patches", [])}
            on_disk = {p.name for p in kustomization.parent.glob("*.yaml")} - {"kustomization.yaml"}
            assert on_disk <= listed, kustomization
