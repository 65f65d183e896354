"""Render a kustomization without the kustomize binary, for the offline manifest tests.

Only the part of kustomize that ``deploy/k8s`` uses is implemented, and a kustomization using
anything else is refused (:class:`UnsupportedKustomization`) rather than rendered differently:

* ``resources``: YAML files (several documents each) and directories holding a kustomization;
* ``namespace``: set on every namespaced object (not on Namespace itself);
* ``images``: ``name`` → ``newName``/``newTag`` on every container and init container;
* ``patches`` with ``path`` only: a strategic-merge patch applied to the object of the same
  kind and name. Mappings merge key by key; lists of mappings that all have a ``name`` merge
  item by item on it (containers, ports, volumes); any other list is replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


class UnsupportedKustomizationError(ValueError):
    """The kustomization uses a field this renderer does not implement."""


def render(folder: Path) -> list[Manifest]:
    """The objects ``kubectl kustomize folder`` would output (for the supported subset)."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise UnsupportedKustomizationError(f"{folder}: unsupported fields {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        objects.extend(render(path) if path.is_dir() else load_documents(path))
    for patch_entry in spec.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise UnsupportedKustomizationError(f"{folder}: only `patches: - path:` is supported")
        for patch in load_documents(folder / patch_entry["path"]):
            target = _find(objects, patch["kind"], patch["metadata"]["name"])
            merged = merge(target, patch)
            objects[objects.index(target)] = merged
    for image in spec.get("images", []):
        if set(image) - {"name", "newName", "newTag"}:
            raise UnsupportedKustomizationError(f"{folder}: images support name/newName/newTag only")
        for obj in objects:
            for container in containers(obj):
                _retag(container, image)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    return objects


def load_documents(path: Path) -> list[Manifest]:
    """The non-empty YAML documents of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge of ``patch`` onto ``base`` (a copy; see the module docstring)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if _named_list(base) and _named_list(patch):
        out_list = copy.deepcopy(base)
        for item in patch:
            index = next((i for i, old in enumerate(out_list) if old["name"] == item["name"]), None)
            if index is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[index] = merge(out_list[index], item)
        return out_list
    return copy.deepcopy(patch)


def pod_spec(obj: Manifest) -> dict[str, Any] | None:
    """The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob), else None."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template.get("spec") if isinstance(template, dict) else None


def containers(obj: Manifest) -> Iterator[dict[str, Any]]:
    """Every container and init container of a workload."""
    spec = pod_spec(obj) or {}
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def _find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(matches) != 1:
        raise UnsupportedKustomizationError(f"patch target {kind}/{name}: {len(matches)} matches")
    return matches[0]


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def _retag(container: dict[str, Any], image: dict[str, str]) -> None:
    name, _, tag = container["image"].partition(":")
    if name != image["name"]:
        return
    new_tag = image.get("newTag", tag)
    container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")
