"""The admin-policy vectors of docs/admin-policies.md section 9, one YAML file per vector in
``admin_vectors/``, run on the cluster of ``admin_vectors/base.yaml``.

Each flow names its verdict and, per direction, the reason: ``CODE`` or ``CODE(policy, rule)``
(the deciding policy's id and the rule's index). The same flow is then looked up in the graph,
which must agree with the per-flow evaluator for every TCP, UDP and SCTP flow it can decide.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.engine import Settings, build_graph, explain, parse_files
from policies.engine.model import Cluster
from policies.engine.reachability import Graph

VECTOR_DIR = Path(__file__).parent / "admin_vectors"
BASE = (VECTOR_DIR / "base.yaml").read_text()
REASON = re.compile(r"^(?P<code>[A-Z_]+)(?:\((?P<policy>[^,]+), (?P<rule>\d+)\))?$")


def _vectors() -> list[dict[str, Any]]:
    out = []
    for path in sorted(VECTOR_DIR.glob("A*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert data["id"] == path.stem
        out.append(data)
    return out


VECTORS = _vectors()
CASES = [(v["id"], i) for v in VECTORS for i in range(len(v["flows"]))]


@cache
def _setup(vector_id: str) -> tuple[Cluster, Settings, Graph]:
    vector = next(v for v in VECTORS if v["id"] == vector_id)
    cluster = parse_files([("base.yaml", BASE), (f"{vector_id}.yaml", vector["policies"])]).cluster
    settings = Settings().with_options(**(vector.get("settings") or {}))
    return cluster, settings, build_graph(cluster, evaluator="k8s", settings=settings)


def _flow_name(vector_id: str, i: int) -> str:
    f = next(v for v in VECTORS if v["id"] == vector_id)["flows"][i]
    return f"{vector_id}-{f['src']}->{f['dst']} {f['protocol']}/{f.get('port', '')}"


def _graph_node(cluster: Cluster, graph: Graph, text: str) -> str | None:
    """The graph node a flow end stands for: a pod, or the external block holding the address."""
    if text.startswith("node:"):
        node = next(n for n in cluster.nodes if n.name == text[5:])
        text = str(node.ips[0])
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if any(ip in p.ips and not p.host_network for p in cluster.pods):
        return next(p.id for p in cluster.pods if ip in p.ips)
    for n in graph.nodes:
        if n.kind == "external" and any(ip in ipaddress.ip_network(c) for c in n.cidrs):
            return n.id
    return None


def test_every_vector_has_flows() -> None:
    assert [v["id"] for v in VECTORS] == [f"A{i:02d}" for i in range(1, len(VECTORS) + 1)]
    assert all(v["flows"] for v in VECTORS)


@pytest.mark.parametrize(("vector_id", "index"), CASES, ids=[_flow_name(*c) for c in CASES])
def test_admin_vector_flow(vector_id: str, index: int) -> None:
    cluster, settings, graph = _setup(vector_id)
    flow = next(v for v in VECTORS if v["id"] == vector_id)["flows"][index]
    result = explain(cluster, flow["src"], flow["dst"], protocol=flow["protocol"], port=flow.get("port"),
                     evaluator="k8s", settings=settings).result
    assert result.verdict == flow["verdict"], (result.egress.detail, result.ingress.detail)
    for direction in ("egress", "ingress"):
        if direction not in flow:
            continue
        decision = getattr(result, direction)
        m = REASON.match(flow[direction])
        assert m, flow[direction]
        assert decision.reason == m["code"], decision.detail
        if m["policy"]:
            assert (decision.deciding_policy, decision.deciding_rule) == (m["policy"], int(m["rule"]))
    if flow["protocol"] in ("TCP", "UDP", "SCTP") and flow["verdict"] in ("ALLOW", "DENY"):
        src, dst = _graph_node(cluster, graph, flow["src"]), _graph_node(cluster, graph, flow["dst"])
        assert src is not None and dst is not None
        allowed = graph.allows(src, dst, flow["protocol"], flow["port"])
        assert allowed == (flow["verdict"] == "ALLOW"), f"the graph says {allowed} for {src} -> {dst}"
