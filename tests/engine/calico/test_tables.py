"""The Calico graph tables agree with calico_decision.

Random clusters (tests/engine/randomclusters.py) get random tiers and Calico policies on top of
their Kubernetes policies: every action, Pass with both tier default actions, order ties, nets and
notNets, selectors, notSelectors, namespaceSelectors, service accounts, numeric and named ports,
notPorts and notProtocol. Every pod pair and external block is then probed on TCP, UDP and SCTP
ports, plus ICMP (portless) for rules without ICMP type matches.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from policies.engine import build_graph, evaluate, make_flow
from policies.engine.calico.model import (
    CalicoPolicy,
    CalicoResources,
    CalicoRule,
    EntityRule,
    PortMatch,
    Tier,
)
from policies.engine.calico.selector import ALL, Eq, Has, Ne, Selector, and_, in_set, not_, or_
from policies.engine.calico.tables import EVERY_PEER, PeerMatch, rule_connections
from policies.engine.cluster import ContainerPort, ServiceAccount
from policies.engine.connections import ConnectionSet
from policies.engine.model import Cluster
from policies.engine.options import Settings

from ..randomclusters import random_cluster
from .helpers import cluster, pod

KEYS = ["app", "tier", "env"]
VALUES = ["a", "b", ""]
NETS = ["10.0.0.0/16", "10.0.1.0/24", "10.0.1.2/32", "192.168.0.0/24", "203.0.113.0/24", "0.0.0.0/0"]
PROBES = [
    ("TCP", 53),
    ("UDP", 53),
    ("TCP", 80),
    ("TCP", 81),
    ("SCTP", 80),
    ("TCP", 8080),
    ("UDP", 8080),
    ("TCP", 9090),
    ("UDP", 9090),
    ("ICMP", None),
]


def _sel(rng: random.Random) -> Selector:
    parts: list[Selector] = []
    for key in rng.sample(KEYS, rng.randint(0, 2)):
        kind = rng.random()
        value = rng.choice(VALUES)
        if kind < 0.3:
            parts.append(Eq(key, value))
        elif kind < 0.45:
            parts.append(Ne(key, value))
        elif kind < 0.6:
            parts.append(Has(key))
        elif kind < 0.7:
            parts.append(not_(Has(key)))
        else:
            parts.append(in_set(key, rng.sample(VALUES, 2), negated=rng.random() < 0.5))
    if len(parts) == 2 and rng.random() < 0.3:
        return or_(*parts)
    return and_(*parts) if parts else ALL


def _ns_sel(rng: random.Random) -> Selector:
    r = rng.random()
    if r < 0.3:
        return Eq("kubernetes.io/metadata.name", rng.choice("xyz"))
    if r < 0.5:
        return ALL
    if r < 0.6:
        return Eq("projectcalico.org/name", rng.choice("xyz"))
    return Eq("team", rng.choice("pq"))


def _ports(rng: random.Random) -> tuple[PortMatch, ...]:
    out: list[PortMatch] = []
    for _ in range(rng.choice([1, 1, 2])):
        r = rng.random()
        if r < 0.4:
            out.append(rng.choice(["http", "dns", "web"]))
        elif r < 0.7:
            lo = rng.choice([53, 80, 8080])
            out.append((lo, lo + rng.choice([0, 1, 10])))
        else:
            out.append((rng.choice([53, 80, 81, 8080, 9090]),) * 2)  # type: ignore[arg-type]
    return tuple(out)


def _entity(rng: random.Random, numeric_ok: bool, ports_ok: bool) -> EntityRule:
    kw: dict[str, object] = {}
    if rng.random() < 0.25:
        kw["nets"] = (ipaddress.ip_network(rng.choice(NETS)),)
    if rng.random() < 0.15:
        kw["not_nets"] = (ipaddress.ip_network(rng.choice(NETS)),)
    if rng.random() < 0.35:
        kw["selector"] = _sel(rng)
    if rng.random() < 0.15:
        kw["not_selector"] = _sel(rng)
    if rng.random() < 0.25:
        kw["namespace_selector"] = _ns_sel(rng)
    if rng.random() < 0.1:
        kw["service_accounts_names"] = ("api",)
    if ports_ok and rng.random() < 0.4:
        ports = _ports(rng)
        if not numeric_ok:
            ports = tuple(p for p in ports if isinstance(p, str))
        kw["ports" if rng.random() < 0.75 else "not_ports"] = ports
    return EntityRule(**kw)  # type: ignore[arg-type]


def _source_ports(rng: random.Random, numeric_ok: bool) -> dict[str, tuple[PortMatch, ...]]:
    """Source ports, rarely: flows use source port 40000."""
    if rng.random() > 0.15:
        return {}
    choices: list[PortMatch] = ["http", "hi"]
    if numeric_ok:
        choices += [(1024, 65535), (53, 53), (40000, 40000)]
    return {rng.choice(["ports", "not_ports"]): (rng.choice(choices),)}


def _rule(rng: random.Random, direction: str) -> CalicoRule:
    action = rng.choice(["Allow", "Allow", "Deny", "Pass", "Log"])
    protocol = rng.choice([None, None, "TCP", "UDP", "SCTP", "ICMP"])
    not_protocol = rng.choice([None, None, None, "UDP", "TCP"])
    numeric = protocol in ("TCP", "UDP", "SCTP")
    source = _entity(rng, numeric, ports_ok=False)
    source = replace(source, **_source_ports(rng, numeric))  # type: ignore[arg-type]
    destination = _entity(rng, numeric, ports_ok=True)
    ip_version = rng.choice([None] * 8 + [4, 6])
    return CalicoRule(
        action,  # type: ignore[arg-type]
        protocol,
        not_protocol,
        ip_version=ip_version,
        source=source,
        destination=destination,
    )


def random_calico_cluster(seed: int) -> Cluster:
    rng = random.Random(seed * 7919 + 1)
    base = random_cluster(seed)
    pods = tuple(replace(p, service_account="api") if rng.random() < 0.3 else p for p in base.pods)
    # A named port at the flows' source port, for named source ports.
    pods = tuple(
        replace(p, ports=(*p.ports, ContainerPort("hi", 40000, rng.choice(["TCP", "UDP"]))))
        if rng.random() < 0.3 and not p.host_network
        else p
        for p in pods
    )
    tiers = tuple(
        Tier(name, rng.choice([None, 50.0, 100.0]), rng.choice(["Deny", "Pass"]))  # type: ignore[arg-type]
        for name in rng.sample(["security", "platform"], rng.randint(0, 2))
    )
    policies = []
    for j in range(rng.randint(1, 5)):
        kind = rng.choice(["NetworkPolicy", "GlobalNetworkPolicy"])
        types = rng.choice([{"Ingress"}, {"Egress"}, {"Ingress", "Egress"}])
        policies.append(
            CalicoPolicy(
                kind=kind,  # type: ignore[arg-type]
                namespace=rng.choice("xyz") if kind == "NetworkPolicy" else "",
                name=f"c{j}",
                tier=rng.choice(["default"] + [t.name for t in tiers]),
                order=rng.choice([None, 10.0, 1000.0, 2000.0]),
                selector=_sel(rng) if rng.random() < 0.7 else None,
                namespace_selector=_ns_sel(rng)
                if kind == "GlobalNetworkPolicy" and rng.random() < 0.3
                else None,
                types=frozenset(types),
                ingress=tuple(_rule(rng, "Ingress") for _ in range(rng.randint(0, 3))),
                egress=tuple(_rule(rng, "Egress") for _ in range(rng.randint(0, 3))),
            )
        )
    return replace(
        base,
        pods=pods,
        service_accounts=(ServiceAccount("x", "api"),),
        calico=CalicoResources(tiers=tiers, policies=tuple(policies)),
    )


def _check(c: Cluster, settings: Settings) -> int:
    graph = build_graph(c, level="pod", evaluator="calico", settings=settings)
    ids = [p.workload_id if p.from_template else p.id for p in c.pods]
    cluster_ips = {str(ip) for p in c.pods for ip in p.ips} | {str(ip) for n in c.nodes for ip in n.ips}
    externals = []
    for node in graph.nodes:
        if node.kind == "external":
            ip = str(graph.index.blocks[node.groups[0] - graph.index.n_groups].representative())
            if ip not in cluster_ips:
                externals.append((node.id, ip))
    checked = 0
    for src in ids:
        targets = [(dst, dst) for dst in ids if dst != src]
        for proto, port in PROBES:
            for dst_id, dst in targets:
                want = evaluate(
                    c,
                    make_flow(c, src, dst, protocol=proto, port=port),
                    evaluator="calico",
                    settings=settings,
                ).allowed
                assert graph.allows(src, dst_id, proto, port) == want, (src, dst, proto, port)
                checked += 1
            for ext_id, ip in externals:
                out = evaluate(
                    c, make_flow(c, src, ip, protocol=proto, port=port), evaluator="calico", settings=settings
                ).allowed
                into = evaluate(
                    c, make_flow(c, ip, src, protocol=proto, port=port), evaluator="calico", settings=settings
                ).allowed
                assert graph.allows(src, ext_id, proto, port) == out, (src, ip, proto, port)
                assert graph.allows(ext_id, src, proto, port) == into, (ip, src, proto, port)
                checked += 2
    return checked


@pytest.mark.parametrize("seed", range(80))
def test_calico_graph_matches_flow_evaluator(seed: int) -> None:
    assert _check(random_calico_cluster(seed), Settings()) > 0


@pytest.mark.parametrize("seed", range(0, 80, 4))
def test_calico_graph_matches_flow_evaluator_with_other_knobs(seed: int) -> None:
    knobs = Settings(ip_block_matches_pod_ips=False, default_endpoint_to_host_action="DROP")
    assert _check(random_calico_cluster(seed), knobs) > 0


def test_v51_graph() -> None:
    """security passes y -> x/db to the default tier, where only TCP 5432 is allowed."""
    from .test_evaluate import PODS_51, V51

    k8s_docs = """
metadata: {name: db-5432-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]
    ports: [{port: 5432}]
"""
    from .helpers import k8s_policy

    c = cluster(["x", "y", "z"], PODS_51, k8s=[k8s_policy(k8s_docs)], calico_docs=V51.replace("ACTION", ""))
    graph = build_graph(c, evaluator="calico")
    assert str(graph.connection("y/c", "x/db")) == "TCP 5432"
    assert graph.connection("z/c", "x/db").is_empty
    assert graph.connection("y/c", "x/web").is_all
    assert graph.connection("x/web", "y/c").is_empty


def test_peer_match_algebra() -> None:
    only, exc = PeerMatch("only", frozenset({1, 2})), PeerMatch("except", frozenset({2, 3}))
    assert (only & exc) == PeerMatch("only", frozenset({1}))
    assert (exc & exc) == exc and (EVERY_PEER & only) == only
    assert (PeerMatch("except", frozenset({1})) & exc) == PeerMatch("except", frozenset({1, 2, 3}))
    assert exc.matches(None) and not only.matches(None) and EVERY_PEER.matches(None)
    assert only.matches(1) and not only.matches(3) and exc.matches(1) and not exc.matches(3)


def test_rule_connections() -> None:
    http = (ContainerPort("http", 8080, "TCP"), ContainerPort("dns", 53, "UDP"))
    r = CalicoRule("Allow", "TCP", destination=EntityRule(ports=((80, 81), "http"), not_ports=((81, 81),)))
    assert str(rule_connections(r, None, http)) == "TCP 80,8080"
    assert str(rule_connections(r, None, None)) == "TCP 80"
    r = CalicoRule("Allow", destination=EntityRule(ports=("dns", "http")))  # named ports without a protocol
    assert str(rule_connections(r, None, http)) == "TCP 8080; UDP 53"
    r = CalicoRule("Deny", not_protocol="TCP")
    assert rule_connections(r, None, None) == ConnectionSet.all() - ConnectionSet.protocol("TCP")
    r = CalicoRule("Allow", "UDP", source=EntityRule(ports=((1024, 65535),)))
    assert str(rule_connections(r, None, None)) == "UDP all ports"
    r = CalicoRule("Allow", "UDP", source=EntityRule(ports=((53, 53),)))
    assert rule_connections(r, None, None).is_empty
    client = (ContainerPort("hi", 40000, "UDP"), ContainerPort("http", 8080, "TCP"))
    r = CalicoRule("Allow", source=EntityRule(ports=("hi",)))  # named source ports resolve on the source
    assert str(rule_connections(r, client, None)) == "UDP all ports"
    r = CalicoRule("Allow", source=EntityRule(ports=("http",)))  # 8080 is not the flow's source port
    assert rule_connections(r, client, None).is_empty


def test_pod_template_groups_and_host_network_peers() -> None:
    c = cluster(
        ["x", "kube-system"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("kube-system/agent", "", "hostNetwork@n2"),
            pod("x/new", "app=db", "@n1"),
        ],
        calico_docs="""apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: db}
spec:
  selector: "app == 'db'"
  ingress: [{action: Allow, protocol: TCP, source: {nets: [192.168.0.0/24]}, destination: {ports: [9100]}}]
""",
    )
    graph = build_graph(c, evaluator="calico")
    assert str(graph.connection("kube-system/agent", "x/db")) == "TCP 9100"
    assert str(graph.connection("kube-system/agent", "x/new")) == "TCP 9100"


@pytest.mark.parametrize("seed", range(60))
def test_engines_agree_on_kubernetes_only_input(seed: int) -> None:
    """SEMANTICS 0.2: on Kubernetes-only input both engines give the same verdicts, except for
    protocols other than TCP, UDP and SCTP (and the endpoint-to-host knob, left at its default)."""
    c = random_cluster(seed)
    ids = [p.workload_id if p.from_template else p.id for p in c.pods]
    others = ["203.0.113.7", "10.0.1.2", "192.168.0.1", "192.168.0.2", "8.8.8.8"]
    checked = 0
    for src in ids:
        for dst in [*ids, *others]:
            if src == dst:
                continue
            for a, b in ((src, dst), (dst, src)):
                for proto, port in PROBES:
                    if proto == "ICMP":
                        continue
                    flow = make_flow(c, a, b, protocol=proto, port=port)
                    k8s = evaluate(c, flow, evaluator="k8s")
                    cal = evaluate(c, flow, evaluator="calico")
                    assert k8s.verdict == cal.verdict, (a, b, proto, port, k8s.to_dict(), cal.to_dict())
                    checked += 1
    assert checked > 0
