"""The network-policy-api conformance suite's ClusterNetworkPolicy tests, rewritten as engine tests.

The manifests are the suite's own (``tests/corpus/network-policy-api-conformance/``, Apache-2.0, see
its README); the expectations are those of its Go tests (``conformance/tests/*.go`` of
kubernetes-sigs/network-policy-api), written here as data: each test is a list of steps, each step
patches the policies or namespaces (as the Go test does, cumulatively) and then pokes servers.

The suite runs against a live cluster; here its StatefulSets become two pods each (``-0`` and
``-1``) with addresses, on two Linux nodes, and hostNetwork pods take their node's address. Every
poke is checked per flow (``explain``) and in the graph, which must agree.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.engine import build_graph, explain, parse_files

SUITE = Path(__file__).resolve().parents[1] / "corpus" / "network-policy-api-conformance"
PREFIX = "network-policy-conformance-"
HOST_PORTS = [30000 + i for i in range(7)]  # the suite's --host-network-ports
NODES = {"node-0": "192.168.0.10", "node-1": "192.168.0.11"}

Poke = tuple[str, str, str, int, bool]  # client ns/pod, server ns/pod, protocol, port, reachable
Mutation = Callable[[dict[str, dict[str, Any]], dict[str, dict[str, str]]], None]


@dataclass(frozen=True)
class Step:
    title: str
    mutations: list[Mutation] = field(default_factory=list)
    pokes: list[Poke] = field(default_factory=list)


def step(title: str, mutations: list[Mutation], pokes: list[Poke]) -> Step:
    return Step(title, mutations, pokes)


def swap(policy: str, direction: str, i: int, j: int) -> Mutation:
    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        rules = policies[policy]["spec"][direction]
        rules[i], rules[j] = rules[j], rules[i]

    return run


def action(policy: str, direction: str, i: int, value: str) -> Mutation:
    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        policies[policy]["spec"][direction][i]["action"] = value

    return run


def priority(policy: str, value: int) -> Mutation:
    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        policies[policy]["spec"]["priority"] = value

    return run


def named_port(policy: str, direction: str, i: int, name: str) -> Mutation:
    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        policies[policy]["spec"][direction][i]["protocols"] = [{"destinationNamedPort": name}]

    return run


def delete(name: str) -> Mutation:
    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        del policies[name]

    return run


def namespace_labels(namespace: str, labels: dict[str, str]) -> Mutation:
    def run(_: dict[str, dict[str, Any]], namespaces: dict[str, dict[str, str]]) -> None:
        namespaces[PREFIX + namespace] = dict(labels)

    return run


def prepend_egress_to_pods(policy: str, name: str, pods: list[str]) -> Mutation:
    """A rule accepting egress to the /32 of each pod (the suite reads the live pods' IPs)."""

    def run(policies: dict[str, dict[str, Any]], _: dict[str, dict[str, str]]) -> None:
        nets = [f"{pod_ip(p)}/32" for p in pods]
        rule = {"name": name, "action": "Accept", "to": [{"networks": nets}]}
        policies[policy]["spec"]["egress"].insert(0, rule)

    return run


# -- the suite's cluster, with addresses ----------------------------------------------------------


def _render(text: str) -> str:
    for i, port in enumerate(HOST_PORTS):
        text = text.replace(f"{{{{ index .HostNetworkPorts {i} }}}}", str(port))
    return text


@cache
def _base() -> tuple[dict[str, dict[str, str]], list[dict[str, Any]]]:
    namespaces: dict[str, dict[str, str]] = {}
    pods: list[dict[str, Any]] = []
    docs = [d for d in yaml.safe_load_all(_render((SUITE / "manifests.yaml").read_text())) if d]
    ns_index = {d["metadata"]["name"]: i for i, d in enumerate(d for d in docs if d["kind"] == "Namespace")}
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            namespaces[meta["name"]] = dict(meta.get("labels") or {})
            continue
        assert doc["kind"] == "StatefulSet", doc["kind"]
        template = doc["spec"]["template"]
        for r in range(doc["spec"].get("replicas", 1)):
            node = f"node-{r}"
            spec = {**template["spec"], "nodeName": node}
            host = bool(spec.get("hostNetwork"))
            ip = NODES[node] if host else f"10.{ns_index[meta['namespace']]}.0.{10 + r}"
            pods.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{meta['name']}-{r}",
                        "namespace": meta["namespace"],
                        "labels": template["metadata"]["labels"],
                    },
                    "spec": spec,
                    "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": NODES[node]},
                }
            )
    return namespaces, pods


def pod_ip(short: str) -> str:
    ns, name = short.split("/")
    pod = next(p for p in _base()[1] if p["metadata"]["namespace"] == PREFIX + ns and p["metadata"]["name"] == name)
    return str(pod["status"]["podIP"])


def _policies(manifest: str) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(_render((SUITE / manifest).read_text())) if d]
    return {d["metadata"]["name"]: d for d in docs}


def _manifests(namespaces: dict[str, dict[str, str]], policies: dict[str, dict[str, Any]]) -> str:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": n, "labels": {"kubernetes.io/os": "linux"}},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
        }
        for n, ip in NODES.items()
    ]
    docs += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": labels}}
        for n, labels in namespaces.items()
    ]
    docs += _base()[1] + list(policies.values())
    return yaml.safe_dump_all(docs, sort_keys=False)


# -- the suite's tests (conformance/tests/*.go), as data -------------------------------------------

TESTS: dict[str, tuple[str, list[Step]]] = {
    "CNPAdminTierEgressSCTP": (
        "admin_tier/standard-egress-sctp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for SCTP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-1", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("egress-sctp", "egress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'pass-egress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("egress-sctp", "egress", 0, 2)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support a 'pass-egress' policy for SCTP protocol at the specified port",
                [swap("egress-sctp", "egress", 3, 4)],
                [
                    ("ravenclaw/luna-lovegood-0", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierEgressTCP": (
        "admin_tier/standard-egress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for TCP protocol; ensure rule ordering is respected",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for TCP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "TCP", 8080, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("egress-tcp", "egress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for TCP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'pass-egress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("egress-tcp", "egress", 0, 2)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support a 'pass-egress' policy for TCP protocol at the specified port",
                [swap("egress-tcp", "egress", 3, 4)],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierEgressUDP": (
        "admin_tier/standard-egress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for UDP protocol; ensure rule ordering is respected",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-0", "UDP", 5353, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for UDP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "UDP", 53, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("egress-udp", "egress", 0, 1)],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for UDP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "slytherin/draco-malfoy-0", "UDP", 5353, False),
                    ("hufflepuff/cedric-diggory-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                ],
            ),
            step(
                "Should support an 'pass-egress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("egress-udp", "egress", 0, 2)],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-1", "UDP", 5353, True),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-1", "UDP", 53, True),
                ],
            ),
            step(
                "Should support a 'pass-egress' policy for UDP protocol at the specified port",
                [swap("egress-udp", "egress", 3, 4)],
                [
                    ("hufflepuff/cedric-diggory-0", "slytherin/draco-malfoy-0", "UDP", 5353, True),
                    ("hufflepuff/cedric-diggory-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierGress": (
        "admin_tier/standard-gress-rules-combined.yaml",
        [
            step(
                "Should support an 'allow-gress' policy across different protocols",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "UDP", 53, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "Should support an 'allow-gress' policy across different protocols at the specified ports",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "TCP", 8080, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "UDP", 5353, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "SCTP", 9005, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "TCP", 80, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "UDP", 5353, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "UDP", 53, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "SCTP", 9003, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-gress' policy across different protocols",
                [swap("gress-rules", "egress", 0, 1), swap("gress-rules", "ingress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "TCP", 80, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "UDP", 53, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "SCTP", 9003, False),
                ],
            ),
            step(
                "Should support a 'deny-gress' policy across different protocols at the specified ports",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 5353, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "UDP", 53, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "UDP", 5353, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "SCTP", 9003, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'pass-gress' policy across different protocols",
                [swap("gress-rules", "egress", 0, 2), swap("gress-rules", "ingress", 0, 2)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "UDP", 5353, True),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "UDP", 53, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "Should support a 'pass-gress' policy across different protocols at the specified ports",
                [swap("gress-rules", "egress", 3, 4), swap("gress-rules", "ingress", 3, 4)],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 5353, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "UDP", 53, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "UDP", 5353, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierIngressSCTP": (
        "admin_tier/standard-ingress-sctp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for SCTP protocol; ensure rule ordering is respected",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, True),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("ingress-sctp", "ingress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, False),
                    ("slytherin/draco-malfoy-1", "ravenclaw/luna-lovegood-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'pass-ingress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("ingress-sctp", "ingress", 0, 2)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support a 'pass-ingress' policy for SCTP protocol at the specified port",
                [swap("ingress-sctp", "ingress", 3, 4)],
                [
                    ("slytherin/draco-malfoy-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("slytherin/draco-malfoy-1", "ravenclaw/luna-lovegood-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierIngressTCP": (
        "admin_tier/standard-ingress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for TCP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "TCP", 80, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("ingress-tcp", "ingress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "TCP", 80, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for TCP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'pass-ingress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("ingress-tcp", "ingress", 0, 2)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support a 'pass-ingress' policy for TCP protocol at the specified port",
                [swap("ingress-tcp", "ingress", 3, 4)],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierIngressUDP": (
        "admin_tier/standard-ingress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for UDP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-0", "UDP", 5353, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for UDP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("ingress-udp", "ingress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for UDP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "hufflepuff/cedric-diggory-0", "UDP", 5353, False),
                    ("slytherin/draco-malfoy-1", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                ],
            ),
            step(
                "Should support an 'pass-ingress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("ingress-udp", "ingress", 0, 2)],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-1", "UDP", 5353, True),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-1", "UDP", 53, True),
                ],
            ),
            step(
                "Should support a 'pass-ingress' policy for UDP protocol at the specified port",
                [swap("ingress-udp", "ingress", 3, 4)],
                [
                    ("slytherin/draco-malfoy-0", "hufflepuff/cedric-diggory-0", "UDP", 5353, True),
                    ("slytherin/draco-malfoy-1", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierIntegration": (
        "api_integration/standard-anp-np-banp.yaml",
        [
            step(
                "Should Deny traffic from slytherin to gryffindor respecting admin CNP",
                [],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, False),
                ],
            ),
            step(
                "Should Deny traffic to slytherin from gryffindor respecting admin CNP",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy",
                [action("pass-example", "ingress", 0, "Pass")],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support a 'pass-egress' policy for admin CNP and respect the match for network policy",
                [action("pass-example", "egress", 0, "Pass")],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster "
                "network policy",
                [delete("allow-gress-from-to-slytherin-to-gryffindor")],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster "
                "network policy",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, False),
                ],
            ),
        ],
    ),
    "CNPAdminTierPriorityField": (
        "admin_tier/standard-priority-field.yaml",
        [
            step(
                "Should Deny traffic from slytherin to gryffindor respecting admin CNP",
                [],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, False),
                ],
            ),
            step(
                "Should Deny traffic to slytherin from gryffindor respecting admin CNP",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, False),
                ],
            ),
            step(
                "Should respect admin CNP priority field; thus passing both ingress and egress traffic over to "
                "baseline CNP",
                [priority("old-priority-60-new-priority-40-example", 40)],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressSCTP": (
        "baseline_tier/standard-egress-sctp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for SCTP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-1", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("default", "egress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressTCP": (
        "baseline_tier/standard-egress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for TCP protocol; ensure rule ordering is respected",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for TCP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "TCP", 8080, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("default", "egress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for TCP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressUDP": (
        "baseline_tier/standard-egress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for UDP protocol; ensure rule ordering is respected",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-0", "UDP", 5353, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' policy for UDP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "UDP", 53, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support an 'deny-egress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("default", "egress", 0, 1)],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support a 'deny-egress' policy for UDP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "slytherin/draco-malfoy-0", "UDP", 5353, False),
                    ("hufflepuff/cedric-diggory-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierGress": (
        "baseline_tier/standard-gress-rules-combined.yaml",
        [
            step(
                "Should support an 'allow-gress' policy across different protocols",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "UDP", 53, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "Should support an 'allow-gress' policy across different protocols at the specified ports",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "TCP", 8080, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "UDP", 5353, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "SCTP", 9005, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "TCP", 80, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "UDP", 5353, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "UDP", 53, False),
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "SCTP", 9003, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-gress' policy across different protocols",
                [swap("default", "egress", 0, 1), swap("default", "ingress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "TCP", 80, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "UDP", 53, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "SCTP", 9003, False),
                ],
            ),
            step(
                "Should support a 'deny-gress' policy across different protocols at the specified ports",
                [],
                [
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 8080, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 5353, True),
                    ("gryffindor/harry-potter-0", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9005, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "UDP", 53, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "UDP", 5353, True),
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "SCTP", 9003, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierIngressSCTP": (
        "baseline_tier/standard-ingress-sctp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for SCTP protocol; ensure rule ordering is respected",
                [],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9005, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, True),
                    ("hufflepuff/cedric-diggory-1", "ravenclaw/luna-lovegood-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for SCTP protocol; ensure rule ordering is respected",
                [swap("default", "ingress", 0, 1)],
                [
                    ("gryffindor/harry-potter-0", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "SCTP", 9005, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for SCTP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "ravenclaw/luna-lovegood-0", "SCTP", 9003, False),
                    ("slytherin/draco-malfoy-1", "ravenclaw/luna-lovegood-0", "SCTP", 9005, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierIngressTCP": (
        "baseline_tier/standard-ingress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-0", "TCP", 80, True),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for TCP protocol at the specified port",
                [],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "TCP", 80, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected",
                [swap("default", "ingress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "gryffindor/harry-potter-1", "TCP", 80, False),
                    ("ravenclaw/luna-lovegood-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for TCP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "gryffindor/harry-potter-0", "TCP", 80, False),
                    ("slytherin/draco-malfoy-1", "gryffindor/harry-potter-0", "TCP", 8080, True),
                ],
            ),
        ],
    ),
    "CNPBaselineTierIngressUDP": (
        "baseline_tier/standard-ingress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for UDP protocol; ensure rule ordering is respected",
                [],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-0", "UDP", 5353, True),
                ],
            ),
            step(
                "Should support an 'allow-ingress' policy for UDP protocol at the specified port",
                [],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support an 'deny-ingress' policy for UDP protocol; ensure rule ordering is respected",
                [swap("default", "ingress", 0, 1)],
                [
                    ("ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("ravenclaw/luna-lovegood-1", "hufflepuff/cedric-diggory-1", "UDP", 5353, False),
                ],
            ),
            step(
                "Should support a 'deny-ingress' policy for UDP protocol at the specified port",
                [],
                [
                    ("slytherin/draco-malfoy-0", "hufflepuff/cedric-diggory-0", "UDP", 5353, False),
                    ("slytherin/draco-malfoy-1", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                ],
            ),
        ],
    ),
    "CNPAdminTierEgressNamedPort": (
        "admin_tier/standard-egress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for named port",
                [named_port("egress-tcp", "egress", 5, "web")],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 8080, False),
                ],
            ),
        ],
    ),
    "CNPAdminTierEgressNodePeers": (
        "admin_tier/experimental-egress-selector-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' rule policy for egress-node-peer",
                [],
                [
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "TCP", HOST_PORTS[0], True),
                ],
            ),
            step(
                "Should support a 'pass-egress' rule policy for egress-node-peer",
                [],
                [
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "UDP", HOST_PORTS[2], True),
                ],
            ),
            step(
                "Should support a 'deny-egress' rule policy for egress-node-peer",
                [],
                [
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "TCP", HOST_PORTS[1], False),
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "UDP", HOST_PORTS[4], False),
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "SCTP", HOST_PORTS[6], False),
                ],
            ),
        ],
    ),
    "CNPAdminTierIngressNamedPort": (
        "admin_tier/standard-ingress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for named port",
                [named_port("ingress-udp", "ingress", 5, "dns")],
                [
                    ("gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-1", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 5353, False),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressNamedPort": (
        "baseline_tier/standard-egress-udp-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' policy for named port",
                [named_port("default", "egress", 3, "dns")],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "UDP", 53, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "UDP", 5353, False),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressNodePeers": (
        "baseline_tier/experimental-egress-selector-rules.yaml",
        [
            step(
                "Should support an 'allow-egress' rule policy for egress-node-peer",
                [],
                [
                    ("gryffindor/harry-potter-0", "forbidden-forrest/centaur-1", "TCP", HOST_PORTS[0], True),
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "TCP", HOST_PORTS[1], True),
                ],
            ),
            step(
                "Should support a 'deny-egress' rule policy for egress-node-peer",
                [],
                [
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "UDP", HOST_PORTS[4], False),
                    ("gryffindor/harry-potter-1", "forbidden-forrest/centaur-1", "SCTP", HOST_PORTS[6], False),
                ],
            ),
        ],
    ),
    "CNPBaselineTierIngressNamedPort": (
        "baseline_tier/standard-ingress-tcp-rules.yaml",
        [
            step(
                "Should support an 'allow-ingress' policy for named port",
                [named_port("default", "ingress", 3, "web")],
                [
                    ("hufflepuff/cedric-diggory-0", "gryffindor/harry-potter-1", "TCP", 80, True),
                    ("hufflepuff/cedric-diggory-1", "gryffindor/harry-potter-1", "TCP", 8080, False),
                ],
            ),
        ],
    ),
    "CNPAdminTierEgressInlineCIDRPeers": (
        "admin_tier/standard-egress-inline-cidr-rules.yaml",
        [
            step(
                "deny-egress to 0.0.0.0/0 (pods are addresses too)",
                [],
                [
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "slytherin relabelled: the allow rule no longer matches",
                [namespace_labels("slytherin", {"conformance-house": "denied-namespace-label"})],
                [
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                ],
            ),
            step(
                "slytherin labelled back",
                [namespace_labels("slytherin", {"conformance-house": "slytherin"})],
                [
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' rule policy for egress-cidr-peer",
                [
                    prepend_egress_to_pods(
                        "inline-cidr-as-peers-example",
                        "allow-egress-to-specific-podIPs",
                        ["ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-0"],
                    )
                ],
                [
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "SCTP", 9003, False),
                ],
            ),
        ],
    ),
    "CNPBaselineTierEgressInlineCIDRPeers": (
        "baseline_tier/standard-egress-inline-cidr-rules.yaml",
        [
            step(
                "deny-egress to 0.0.0.0/0 (pods are addresses too)",
                [],
                [
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "slytherin relabelled: the allow rule no longer matches",
                [namespace_labels("slytherin", {"conformance-house": "denied-namespace-label"})],
                [
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, False),
                ],
            ),
            step(
                "slytherin labelled back",
                [namespace_labels("slytherin", {"conformance-house": "slytherin"})],
                [
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "slytherin/draco-malfoy-0", "SCTP", 9003, True),
                ],
            ),
            step(
                "Should support an 'allow-egress' rule policy for egress-cidr-peer",
                [
                    prepend_egress_to_pods(
                        "default",
                        "allow-egress-to-specific-podIPs",
                        ["ravenclaw/luna-lovegood-0", "hufflepuff/cedric-diggory-0"],
                    )
                ],
                [
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "TCP", 80, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "UDP", 53, True),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-0", "SCTP", 9003, True),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "ravenclaw/luna-lovegood-1", "SCTP", 9003, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "TCP", 80, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "UDP", 53, False),
                    ("gryffindor/harry-potter-1", "hufflepuff/cedric-diggory-1", "SCTP", 9003, False),
                ],
            ),
        ],
    ),
}

CASES = [(name, i) for name, (_, steps) in TESTS.items() for i in range(len(steps))]


def _state(name: str, upto: int) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
    """Namespaces and policies after the mutations of steps 0..upto (the Go tests patch cumulatively)."""
    manifest, steps = TESTS[name]
    namespaces = copy.deepcopy(_base()[0])
    policies = _policies(manifest)
    for s in steps[: upto + 1]:
        for mutate in s.mutations:
            mutate(policies, namespaces)
    return namespaces, policies


def _endpoint(short: str) -> str:
    ns, pod = short.split("/")
    return f"{PREFIX}{ns}/{pod}"


@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_conformance_step(name: str, index: int) -> None:
    namespaces, policies = _state(name, index)
    cluster = parse_files([("conformance.yaml", _manifests(namespaces, policies))]).cluster
    graph = build_graph(cluster, evaluator="k8s")
    s = TESTS[name][1][index]
    assert s.pokes
    wrong = []
    for client, server, protocol, port, reachable in s.pokes:
        src, dst = _endpoint(client), _endpoint(server)
        result = explain(cluster, src, dst, protocol=protocol, port=port, evaluator="k8s")
        if result.allowed != reachable:
            wrong.append(
                f"{client} -> {server} {protocol}/{port}: expected {reachable}, got {result.verdict} "
                f"({result.result.egress.detail} | {result.result.ingress.detail})"
            )
        if graph.allows(src, dst, protocol, port) != reachable:
            wrong.append(f"{client} -> {server} {protocol}/{port}: the graph disagrees")
    assert not wrong, f"{s.title}:\n" + "\n".join(wrong)


def test_every_conformance_test_is_here() -> None:
    """All 24 ClusterNetworkPolicy tests of the suite, and every manifest of conformance/base."""
    assert len(TESTS) == 24
    used = {m for m, _ in TESTS.values()} | {"manifests.yaml"}
    on_disk = {str(p.relative_to(SUITE)) for p in SUITE.rglob("*.yaml")}
    assert used == on_disk
    assert sum(len(s.pokes) for _, steps in TESTS.values() for s in steps) > 300


def test_pod_addresses_are_unique() -> None:
    ips = [p["status"]["podIP"] for p in _base()[1] if not p["spec"].get("hostNetwork")]
    assert len(ips) == len(set(ips)) and all(ipaddress.ip_address(ip).version == 4 for ip in ips)
