"""deploy/ and the image: the Kubernetes manifests are valid for Kubernetes (its own schemas,
offline), say what sitrep.topics and sitrep.kafka.security say (so neither can drift from the
other), and their kustomize overlays patch what the base holds; the Compose file follows the
Compose specification and runs the same topology; the image runs unprivileged."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import compose_spec
import kubernetes_validate
import pytest
import yaml

from sitrep.kafka.security import acls
from sitrep.settings import Settings
from sitrep.topics import TopicNames, all_topics

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
STRIMZI = "kafka.strimzi.io/v1beta2"
KUBERNETES_VERSION = "1.30.0"
"""The oldest Kubernetes the manifests are checked against (Strimzi 0.45+ needs 1.25+)."""


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@cache
def _base() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [d for name in kustomization["resources"] for d in _documents(BASE / name)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _base() if d["kind"] == kind}


@pytest.mark.parametrize(
    "document",
    [d for d in _base() if d["apiVersion"] != STRIMZI],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_every_kubernetes_resource_is_valid_for_kubernetes(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_topics_are_those_sitrep_declares() -> None:
    partitions = int(_of_kind("ConfigMap")["sitrep"]["data"]["SITREP_EVENTS_PARTITIONS"])
    expected = {t.name: t for t in all_topics(partitions, 3, TopicNames())}
    declared = _of_kind("KafkaTopic")
    assert set(declared) == set(expected)
    for name, topic in declared.items():
        spec = topic["spec"]
        assert topic["apiVersion"] == STRIMZI
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "sitrep"
        assert spec["topicName"] == name
        assert (spec["partitions"], spec["replicas"]) == (expected[name].partitions, 3), name
        assert {k: str(v) for k, v in spec["config"].items()} == expected[name].config, name


def test_each_principal_is_allowed_what_sitrep_grants_and_no_more() -> None:
    expected: dict[str, list[dict[str, Any]]] = {}
    # The defaults a deployment runs with, whatever this machine's environment says.
    defaults = {
        "topic_namespace": "sitrep",
        "worker_id": Settings.model_fields["worker_id"].default,
    }
    for acl in acls(Settings(**defaults)):
        expected.setdefault(acl.principal, []).append(
            {
                "resource": {
                    "type": acl.kind,
                    "name": acl.name,
                    "patternType": "prefix" if acl.prefixed else "literal",
                },
                "operations": list(acl.operations),
            }
        )
    users = _of_kind("KafkaUser")
    assert set(users) == set(expected)
    for name, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["acls"] == expected[name], name


def test_the_processes_sign_in_as_their_own_principal_over_tls() -> None:
    config = _of_kind("ConfigMap")["sitrep"]["data"]
    assert config["SITREP_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    kafka = _of_kind("Kafka")["sitrep"]["spec"]["kafka"]
    listener = next(x for x in kafka["listeners"] if x["type"] == "internal")
    assert listener["tls"] is True
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == f"sitrep-kafka-bootstrap:{listener['port']}"
    assert kafka["authorization"]["type"] == "simple"
    assert kafka["config"]["min.insync.replicas"] == 2
    sets = _of_kind("StatefulSet")
    for process, principal in (("sitrep-worker", "sitrep-worker"), ("sitrep-api", "sitrep-api")):
        env = {
            e["name"]: e for e in sets[process]["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["SITREP_KAFKA_USERNAME"]["value"] == principal
        assert env["SITREP_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == principal


def test_the_api_is_probed_where_it_says_it_is_ready_and_alive() -> None:
    container = _of_kind("StatefulSet")["sitrep-api"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("overlay", sorted(p.name for p in (KUBERNETES / "overlays").iterdir()))
def test_an_overlay_patches_what_the_base_holds(overlay: str) -> None:
    root = KUBERNETES / "overlays" / overlay
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    assert [(root / r).resolve() for r in kustomization["resources"]] == [BASE]
    held = {(d["kind"], d["metadata"]["name"]) for d in _base()}
    for patch in kustomization["patches"]:
        for document in _documents(root / patch["path"]):
            assert (document["kind"], document["metadata"]["name"]) in held
            kubernetes_validate.validate(
                {**document, "spec": {**_spec_of(document), **document["spec"]}},
                KUBERNETES_VERSION,
                strict=True,
            )


def _spec_of(document: dict[str, Any]) -> dict[str, Any]:
    base = _of_kind(document["kind"])[document["metadata"]["name"]]
    spec: dict[str, Any] = base["spec"]
    return spec


COMPOSE = KUBERNETES.parent / "compose" / "compose.yaml"


def test_the_compose_file_follows_the_compose_specification() -> None:
    # PyYAML resolves the file's YAML merge keys (<<) as Compose does; compose-spec then reads
    # it against the Compose specification's models, refusing any key it does not define.
    document = yaml.safe_load(COMPOSE.read_text())
    compose = compose_spec.PyCompose.from_json(json.dumps(document))
    assert set(compose.service_names()) == {
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "topics",
        "worker",
        "api",
        "proxy",
    }


def test_compose_runs_the_same_topology_with_only_the_proxy_published() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["api"]["deploy"]["replicas"] == 2
    brokers = [services[f"kafka-{n}"]["environment"] for n in (1, 2, 3)]
    assert {b["KAFKA_DEFAULT_REPLICATION_FACTOR"] for b in brokers} == {3}
    assert {b["KAFKA_MIN_INSYNC_REPLICAS"] for b in brokers} == {2}
    sitrep = services["worker"]["environment"]
    assert sitrep["SITREP_REPLICATION_FACTOR"] == 3
    partitions = int(_of_kind("ConfigMap")["sitrep"]["data"]["SITREP_EVENTS_PARTITIONS"])
    assert sitrep["SITREP_EVENTS_PARTITIONS"] == partitions  # as in Kubernetes


def test_the_image_runs_as_an_unprivileged_user_from_what_the_repository_holds() -> None:
    root = KUBERNETES.parents[1]
    lines = (root / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _ = line.split()[1:]
            assert all((root / source).exists() for source in sources), line
    ignored = (root / ".dockerignore").read_text().split()
    assert not {"services", "schemas", "seeds"} & set(ignored)
