"""The test vectors of SEMANTICS.md section 7, one YAML file per vector in ``vectors/``.

Each file holds the vector's cluster, its policies (completed into real manifests) and its flows with
the verdicts of the spec's table. A variant changes the policies, settings or engines of its vector
and is evaluated on its own. The runner turns the cluster into Kubernetes manifests, appends the
policies and asks the engine for every (vector, variant, engine, flow):

    V25-k8s-kube-system/agent->x/db TCP/8080            base vector
    V25-variant1-calico-kube-system/agent->x/db TCP/8080

Expected reasons are written in the spec's notation, ``CODE`` or ``CODE(args)``, either as one string
(met by a direction whose verdict is the flow's verdict) or per direction: ``{ingress: ..., egress: ...}``.
Arguments name the deciding tier, policy and rule: ``CALICO_DENY(security, gate, 1)``,
``END_OF_TIER(default)``, ``PROFILE_ALLOW(kns.x)``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.engine.errors import PolicyError
from policies.engine.flows import make_flow
from policies.engine.options import Settings

VECTOR_DIR = Path(__file__).parent / "vectors"
ENGINES = ("k8s", "calico")
VERDICTS = ("ALLOW", "DENY", "UNDEFINED", "UNSUPPORTED")
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")
ICMP_PROTOCOLS = ("ICMP", "ICMPv6")
REASON_CODES = (
    "SELF",
    "NOT_ISOLATED",
    "RULE_ALLOW",
    "NO_MATCH",
    "NODE_INGRESS_EXEMPT",
    "NODE_EGRESS_EXEMPT",
    "HOST_TO_LOCAL_WORKLOAD",
    "CALICO_ALLOW",
    "CALICO_DENY",
    "END_OF_TIER",
    "PROFILE_ALLOW",
    "NO_PROFILE",
    "ENDPOINT_TO_HOST_ACTION",
    "UNDEFINED_PROTOCOL",
)
# The arguments of a reason code, in the order SEMANTICS.md section 2 writes them.
REASON_ARGS = {
    "RULE_ALLOW": ("policy", "rule"),
    "CALICO_ALLOW": ("tier", "policy", "rule"),
    "CALICO_DENY": ("tier", "policy", "rule"),
    "END_OF_TIER": ("tier",),
    "PROFILE_ALLOW": ("policy",),
}
KNOBS = (
    "ip_block_matches_pod_ips",
    "node_ingress_exempt",
    "node_egress_exempt",
    "default_endpoint_to_host_action",
)

VECTOR_KEYS = {"id", "title", "engines", "settings", "cluster", "policies", "flows", "variants"}
VARIANT_KEYS = {"name", "policies", "settings", "engines", "cluster", "flows", "load_error", "note"}
FLOW_KEYS = {
    "src",
    "dst",
    "protocol",
    "port",
    "icmp_type",
    "icmp_code",
    "note",
    "verdict",
    "verdict_k8s",
    "verdict_calico",
    "reason",
    "reason_k8s",
    "reason_calico",
}
CLUSTER_KEYS = {"nodes", "namespaces", "serviceAccounts", "pods"}
POD_KEYS = {"namespace", "name", "labels", "ip", "ips", "node", "hostNetwork", "serviceAccount", "ports"}


# -- loading -------------------------------------------------------------------------------------


def load_vectors() -> list[dict[str, Any]]:
    vectors = []
    for path in sorted(VECTOR_DIR.glob("V*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        data["_file"] = path.name
        vectors.append(data)
    return vectors


VECTORS = load_vectors()


@dataclass(frozen=True)
class Scenario:
    """A vector or one of its variants: what the engine is given."""

    vector: str
    label: str  # "" for the vector itself, "variant1", "variant2", ... for its variants
    name: str
    engines: tuple[str, ...]
    settings: tuple[tuple[str, Any], ...]
    cluster: dict[str, Any]
    policies: str
    flows: tuple[dict[str, Any], ...]
    load_error: bool = False

    @property
    def prefix(self) -> str:
        return f"{self.vector}-{self.label}" if self.label else self.vector

    def text(self) -> str:
        return manifest_text(self.cluster, self.policies)


def scenarios(vector: dict[str, Any]) -> list[Scenario]:
    base_settings = dict(vector.get("settings") or {})
    base = Scenario(
        vector=vector["id"],
        label="",
        name=vector["title"],
        engines=tuple(vector["engines"]),
        settings=tuple(sorted(base_settings.items())),
        cluster=vector["cluster"],
        policies=vector.get("policies") or "",
        flows=tuple(vector.get("flows") or ()),
    )
    out = [base]
    for i, variant in enumerate(vector.get("variants") or (), 1):
        settings = {**base_settings, **(variant.get("settings") or {})}
        out.append(
            Scenario(
                vector=vector["id"],
                label=f"variant{i}",
                name=variant["name"],
                engines=tuple(variant.get("engines") or base.engines),
                settings=tuple(sorted(settings.items())),
                cluster=variant.get("cluster") or base.cluster,
                policies=variant["policies"] if "policies" in variant else base.policies,
                flows=tuple(variant.get("flows") or ()),
                load_error=bool(variant.get("load_error")),
            )
        )
    return out


SCENARIOS = [s for v in VECTORS for s in scenarios(v)]


def flow_id(flow: dict[str, Any]) -> str:
    if flow["protocol"] in ICMP_PROTOCOLS:
        what = f"{flow['protocol']} t={flow.get('icmp_type')} c={flow.get('icmp_code')}"
    else:
        what = f"{flow['protocol']}/{flow['port']}"
    return f"{flow['src']}->{flow['dst']} {what}"


def expected(flow: dict[str, Any], engine: str, key: str) -> Any:
    return flow.get(f"{key}_{engine}", flow.get(key))


# -- the cluster as Kubernetes manifests ---------------------------------------------------------


def pod_ips(pod: dict[str, Any]) -> list[str]:
    if "ips" in pod:
        return [str(ip) for ip in pod["ips"]]
    return [str(pod["ip"])] if pod.get("ip") else []


def cluster_objects(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    node_ips = {n["name"]: str(n["ip"]) for n in cluster.get("nodes") or ()}
    objects: list[dict[str, Any]] = []
    for name, ip in node_ips.items():
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name},
                "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
            }
        )
    for ns in cluster.get("namespaces") or ():
        metadata: dict[str, Any] = {"name": ns["name"]}
        if "labels" in ns:
            metadata["labels"] = dict(ns["labels"] or {})
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    for sa in cluster.get("serviceAccounts") or ():
        metadata = {"name": sa["name"], "namespace": sa["namespace"]}
        if sa.get("labels"):
            metadata["labels"] = dict(sa["labels"])
        objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
    for pod in cluster.get("pods") or ():
        container: dict[str, Any] = {"name": "main", "image": "registry.k8s.io/pause:3.9"}
        if pod.get("ports"):
            container["ports"] = [
                {"name": p["name"], "containerPort": p["port"], "protocol": p.get("protocol", "TCP")}
                for p in pod["ports"]
            ]
        spec: dict[str, Any] = {
            "nodeName": pod["node"],
            "serviceAccountName": pod.get("serviceAccount", "default"),
            "containers": [container],
        }
        if pod.get("hostNetwork"):
            spec["hostNetwork"] = True
        status: dict[str, Any] = {"phase": "Running", "hostIP": node_ips[pod["node"]]}
        ips = pod_ips(pod)
        if ips:
            status["podIP"] = ips[0]
            status["podIPs"] = [{"ip": ip} for ip in ips]
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod["name"],
                    "namespace": pod["namespace"],
                    "labels": dict(pod.get("labels") or {}),
                },
                "spec": spec,
                "status": status,
            }
        )
    return objects


def manifest_text(cluster: dict[str, Any], policies: str) -> str:
    docs = [yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in cluster_objects(cluster)]
    if policies.strip():
        docs.append(policies if policies.endswith("\n") else policies + "\n")
    return "---\n".join(docs)


# -- reasons -------------------------------------------------------------------------------------

_REASON = re.compile(r"^([A-Z_]+)(?:\((.*)\))?$")


def parse_reason(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``CODE(args)``: ``CALICO_DENY(security, gate, 1)`` gives tier, policy and rule."""
    m = _REASON.match(text.strip())
    if not m:
        raise ValueError(f"cannot read reason {text!r}")
    code, raw = m.group(1), m.group(2)
    if code not in REASON_CODES:
        raise ValueError(f"unknown reason code {code!r}")
    if raw is None:
        return code, {}
    args = [a.strip() for a in raw.split(",")]
    fields = REASON_ARGS.get(code, ())
    if len(args) == len(fields):
        names = fields
    elif len(args) == 1 and "policy" in fields:
        names = ("policy",)
    else:
        raise ValueError(f"reason {text!r}: {code} takes {', '.join(fields) or 'no arguments'}")
    return code, {k: int(v) if k == "rule" else v for k, v in zip(names, args, strict=True)}


def decision_text(decision: Any) -> str:
    if decision is None:
        return "None"
    tier = getattr(decision, "deciding_tier", "")
    policy = getattr(decision, "deciding_policy", "")
    rule = getattr(decision, "deciding_rule", None)
    return f"{decision.verdict}/{decision.reason} tier={tier!r} policy={policy!r} rule={rule!r}"


def reason_matches(decision: Any, code: str, args: dict[str, Any]) -> bool:
    if decision is None or decision.reason != code:
        return False
    if "tier" in args and getattr(decision, "deciding_tier", None) != args["tier"]:
        return False
    if "policy" in args:
        policy = getattr(decision, "deciding_policy", "") or ""
        if policy != args["policy"] and not policy.endswith("/" + args["policy"]):
            return False
    return "rule" not in args or getattr(decision, "deciding_rule", None) == args["rule"]


def check_reason(result: Any, reason: str | dict[str, str]) -> None:
    shown = f"egress {decision_text(result.egress)}; ingress {decision_text(result.ingress)}"
    if isinstance(reason, dict):
        for direction, text in reason.items():
            code, args = parse_reason(text)
            decision = getattr(result, direction)
            assert reason_matches(decision, code, args), f"{direction} should be {text}; got {shown}"
        return
    code, args = parse_reason(reason)
    deciding = [d for d in (result.egress, result.ingress) if d is not None and d.verdict == result.verdict]
    if any(reason_matches(d, code, args) for d in deciding):
        return
    assert not args and getattr(result, "reason", None) == code, f"expected {reason}; got {shown}"


# -- the engine ----------------------------------------------------------------------------------


def engine_modules(engine: str) -> tuple[Any, Any]:
    """The parse and evaluate modules; skip while a module this engine needs has not landed."""
    parse = pytest.importorskip("policies.engine.parse")
    evaluate = pytest.importorskip("policies.engine.evaluate")
    if engine == "calico":
        pytest.importorskip("policies.engine.calico")
        pytest.importorskip("policies.engine.calico.evaluate")  # evaluate.py imports it for this engine
    return parse, evaluate


@cache
def parsed_cluster(filename: str, text: str) -> Any:
    parse = pytest.importorskip("policies.engine.parse")
    return parse.parse_files([(filename, text)]).cluster


# -- the cases -----------------------------------------------------------------------------------


def flow_cases() -> list[Any]:
    cases = []
    for scenario in SCENARIOS:
        if scenario.load_error:
            continue
        for engine in scenario.engines:
            for flow in scenario.flows:
                case_id = f"{scenario.prefix}-{engine}-{flow_id(flow)}"
                cases.append(pytest.param(scenario, engine, flow, id=case_id))
    return cases


def load_error_cases() -> list[Any]:
    return [pytest.param(s, id=f"{s.prefix}-load-error") for s in SCENARIOS if s.load_error]


@pytest.mark.parametrize(("scenario", "engine", "flow"), flow_cases())
def test_vector_flow(scenario: Scenario, engine: str, flow: dict[str, Any]) -> None:
    _, evaluate_module = engine_modules(engine)
    cluster = parsed_cluster(f"{scenario.vector}.yaml", scenario.text())
    settings = Settings().with_options(**dict(scenario.settings))
    f = make_flow(
        cluster,
        flow["src"],
        flow["dst"],
        protocol=flow["protocol"],
        port=flow.get("port"),
        icmp_type=flow.get("icmp_type"),
        icmp_code=flow.get("icmp_code"),
    )
    result = evaluate_module.evaluate(cluster, f, evaluator=engine, settings=settings)
    want = expected(flow, engine, "verdict")
    assert result.verdict == want, (
        f"{scenario.prefix} ({scenario.name}): expected {want}, got {result.verdict}; "
        f"egress {decision_text(result.egress)}; ingress {decision_text(result.ingress)}; "
        f"spec: {flow.get('note', '')}"
    )
    reason = expected(flow, engine, "reason")
    if reason is not None:
        check_reason(result, reason)


@pytest.mark.parametrize("scenario", load_error_cases())
def test_vector_load_error(scenario: Scenario) -> None:
    parse = pytest.importorskip("policies.engine.parse")
    with pytest.raises(PolicyError):
        parse.parse_files([(f"{scenario.vector}.yaml", scenario.text())])


def test_all_66_vectors_are_present() -> None:
    ids = [v["id"] for v in VECTORS]
    assert ids == [f"V{i:02d}" for i in range(1, 67)]


# -- the data files themselves (no engine needed) ------------------------------------------------


def _check_endpoint(text: str, pods: set[str], nodes: set[str], where: str) -> None:
    if text.startswith("node:"):
        assert text[5:] in nodes, f"{where}: unknown node {text}"
    elif "/" in text:
        assert text in pods, f"{where}: unknown pod {text}"
    else:
        ipaddress.ip_address(text)


def _check_cluster(cluster: dict[str, Any], where: str) -> tuple[set[str], set[str]]:
    assert set(cluster) <= CLUSTER_KEYS, f"{where}: cluster keys {set(cluster) - CLUSTER_KEYS}"
    nodes = {n["name"]: str(n["ip"]) for n in cluster["nodes"]}
    namespaces = {ns["name"] for ns in cluster.get("namespaces") or ()}
    for ns in cluster.get("namespaces") or ():
        for k, v in (ns.get("labels") or {}).items():
            assert isinstance(v, str), f"{where}: namespace {ns['name']} label {k} is not a string"
    sas = {(sa["namespace"], sa["name"]) for sa in cluster.get("serviceAccounts") or ()}
    pods = set()
    for pod in cluster.get("pods") or ():
        ident = f"{pod['namespace']}/{pod['name']}"
        assert set(pod) <= POD_KEYS, f"{where}: pod {ident} keys {set(pod) - POD_KEYS}"
        assert ident not in pods, f"{where}: pod {ident} twice"
        pods.add(ident)
        assert pod["namespace"] in namespaces, f"{where}: pod {ident} in an undeclared namespace"
        assert pod["node"] in nodes, f"{where}: pod {ident} on an unknown node"
        for k, v in (pod.get("labels") or {}).items():
            assert isinstance(v, str), f"{where}: pod {ident} label {k} is not a string"
        if pod.get("hostNetwork"):
            assert pod_ips(pod) == [nodes[pod["node"]]], f"{where}: hostNetwork pod {ident} needs its node's IP"
        for ip in pod_ips(pod):
            ipaddress.ip_address(ip)
        if pod.get("serviceAccount", "default") != "default":
            assert (pod["namespace"], pod["serviceAccount"]) in sas, f"{where}: pod {ident} SA is not declared"
    return pods, set(nodes)


def _check_flow(flow: dict[str, Any], engines: tuple[str, ...], pods: set[str], nodes: set[str], where: str) -> None:
    assert set(flow) <= FLOW_KEYS, f"{where}: flow keys {set(flow) - FLOW_KEYS}"
    _check_endpoint(flow["src"], pods, nodes, where)
    _check_endpoint(flow["dst"], pods, nodes, where)
    if flow["protocol"] in PORT_PROTOCOLS:
        assert isinstance(flow.get("port"), int), f"{where}: {flow['protocol']} flow without a port"
    else:
        assert flow["protocol"] in ICMP_PROTOCOLS, f"{where}: protocol {flow['protocol']}"
        assert "port" not in flow, f"{where}: ICMP flow with a port"
    if "verdict" in flow:
        assert not {"verdict_k8s", "verdict_calico"} & set(flow), f"{where}: verdict and verdict_<engine>"
    for engine in engines:
        assert expected(flow, engine, "verdict") in VERDICTS, f"{where}: no verdict for {engine}"
        reason = expected(flow, engine, "reason")
        texts = list(reason.values()) if isinstance(reason, dict) else [reason] if reason else []
        if isinstance(reason, dict):
            assert set(reason) <= {"egress", "ingress"}, f"{where}: reason directions {set(reason)}"
        for text in texts:
            parse_reason(text)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_file_is_well_formed(vector: dict[str, Any]) -> None:
    where = vector["_file"]
    assert vector["_file"] == f"{vector['id']}.yaml"
    assert set(vector) - {"_file"} <= VECTOR_KEYS, f"{where}: keys {set(vector) - VECTOR_KEYS - {'_file'}}"
    assert vector["title"]
    for variant in vector.get("variants") or ():
        assert set(variant) <= VARIANT_KEYS, f"{where}: variant keys {set(variant) - VARIANT_KEYS}"
    for scenario in scenarios(vector):
        here = f"{where} {scenario.label or 'base'}"
        assert scenario.engines and set(scenario.engines) <= set(ENGINES), f"{here}: engines {scenario.engines}"
        assert {k for k, _ in scenario.settings} <= set(KNOBS), f"{here}: settings {scenario.settings}"
        Settings().with_options(**dict(scenario.settings))
        pods, nodes = _check_cluster(scenario.cluster, here)
        for doc in yaml.safe_load_all(scenario.policies):
            assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), f"{here}: {doc!r}"
        docs = list(yaml.safe_load_all(scenario.text()))
        assert all(isinstance(d, dict) and d.get("kind") for d in docs), f"{here}: manifest text"
        if scenario.load_error:
            assert not scenario.flows, f"{here}: a load_error variant has no flows"
            continue
        assert scenario.flows, f"{here}: no flows"
        for flow in scenario.flows:
            _check_flow(flow, scenario.engines, pods, nodes, here)
