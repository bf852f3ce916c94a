"""The deployment files: Kubernetes manifests valid against the API schemas (strict), with
probes and ports wired to what the proxy actually serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
VERSION = kubernetes_validate.latest_version()


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_manifests_validate_strictly(path: Path) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_a_typo_is_caught() -> None:
    doc = documents(ROOT / "deploy" / "kubernetes" / "dialect.yaml")[1]
    doc["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = doc["spec"]["template"][
        "spec"
    ]["containers"][0].pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_probes_and_config_match_the_proxy() -> None:
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] != "Deployment":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if "dialect" not in container["image"]:
                    continue
                assert container["livenessProbe"]["httpGet"]["path"] == "/_dialect/healthz"
                assert container["readinessProbe"]["httpGet"]["path"] == "/_dialect/readyz"
                assert {"name": "http", "containerPort": 8080} in container["ports"]
                config = container["args"][container["args"].index("--config") + 1]
                assert (ROOT / "config" / Path(config).name).is_file()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "USER dialect" in dockerfile and "/_dialect/healthz" in dockerfile


def test_the_systemd_unit_raises_the_descriptor_limit() -> None:
    unit = (ROOT / "deploy" / "dialect.service").read_text()
    [line] = [line for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert int(line.partition("=")[2]) >= 65536


def test_each_pod_runs_one_worker_within_the_memory_it_was_sized_for() -> None:
    """The limits (max_connections, max_buffered_bytes) are per process: deploy/README.md
    sizes one worker at 256 MiB, so a pod must not start one per core of its node."""
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] != "Deployment":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if "dialect" not in container["image"]:
                    continue
                args = container["args"]
                assert args[args.index("--workers") + 1] == "1", path.name
                assert container["resources"]["limits"]["memory"] == "256Mi", path.name
    assert "256 MiB per worker" in (ROOT / "deploy" / "README.md").read_text()
