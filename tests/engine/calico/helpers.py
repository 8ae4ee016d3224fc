"""Small clusters for the Calico evaluator tests, written the way SEMANTICS.md 7 writes them.

``pod("x/a", "app=a", "10.0.1.1@n1", ports="http=8080/TCP", sa="api-sa")`` makes a pod;
``calico(...)`` parses Calico objects given as dicts; ``k8s_policy(...)`` builds a defaulted
Kubernetes NetworkPolicy without the Kubernetes parser, so these tests depend on the model only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from policies.engine.calico.evaluate import calico_decision
from policies.engine.calico.model import CalicoResources
from policies.engine.calico.parse import parse_calico_objects
from policies.engine.cluster import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPBlock,
    Labels,
    Namespace,
    Node,
    Pod,
    ServiceAccount,
    Source,
)
from policies.engine.decisions import Decision, combine, not_applicable
from policies.engine.documents import RawObject
from policies.engine.flows import Flow, make_flow
from policies.engine.k8s.model import NetworkPolicy, Peer, PortSpec, Rule
from policies.engine.k8s.selector import LabelSelector, Requirement, selector_from_match_labels
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

NODES = (
    Node("n1", (ipaddress.ip_address("192.168.0.1"),)),
    Node("n2", (ipaddress.ip_address("192.168.0.2"),)),
)


def labels(text: str | Mapping[str, str] = "") -> Labels:
    if isinstance(text, Mapping):
        return Labels(text)
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    return Labels({k.strip(): v.strip() for k, v in pairs})


def namespace(name: str, label_text: str = "") -> Namespace:
    return Namespace(name, labels(label_text).with_items({NAMESPACE_NAME_LABEL: name}))


def pod(
    ident: str,
    label_text: str = "",
    where: str = "",
    *,
    ports: str = "",
    sa: str = "default",
    host_network: bool = False,
) -> Pod:
    """``where`` is ``IP@node``, ``@node`` (no IP) or ``hostNetwork@node``."""
    ns, name = ident.split("/")
    ip_text, _, node = where.partition("@")
    ips: tuple[Any, ...] = ()
    host_ip = None
    if ip_text == "hostNetwork":
        host_network = True
        host_ip = next(n.ips[0] for n in NODES if n.name == node)
    elif ip_text:
        ips = tuple(ipaddress.ip_address(i) for i in ip_text.split("|"))
    container_ports = []
    for entry in (p for p in ports.split(",") if p.strip()):
        pname, spec = entry.strip().split("=")
        number, _, proto = spec.partition("/")
        container_ports.append(ContainerPort(pname, int(number), proto or "TCP"))
    return Pod(ns, name, labels(label_text), ips, node, host_ip, host_network, sa, tuple(container_ports))


def raw(doc: Mapping[str, Any], index: int = 0) -> RawObject:
    meta = doc.get("metadata") or {}
    return (
        RawObject(
            kind=doc["kind"],
            api_version=doc.get("apiVersion", "projectcalico.org/v3"),
            data=doc,
            source=Source("test.yaml", index, index + 1, index + 1),
            lines={},
            text=yaml.safe_dump(dict(doc)),
        )
        if meta is not None
        else RawObject(doc["kind"], "", doc, Source())
    )


def calico(docs: Sequence[Mapping[str, Any]] | str, namespaces: Sequence[str] = ()) -> CalicoResources:
    if isinstance(docs, str):
        docs = [d for d in yaml.safe_load_all(docs) if d]
    flat: list[Mapping[str, Any]] = []
    for d in docs:
        flat.extend(d if isinstance(d, list) else [d])
    return parse_calico_objects([raw(d, i) for i, d in enumerate(flat)], namespaces)


def _label_selector(data: Mapping[str, Any] | None) -> LabelSelector | None:
    if data is None:
        return None
    sel = selector_from_match_labels(data.get("matchLabels") or {})
    reqs = list(sel.requirements)
    for e in data.get("matchExpressions") or []:
        reqs.append(Requirement(e["key"], e["operator"], frozenset(e.get("values") or ())))
    return LabelSelector(tuple(reqs))


def _k8s_rule(data: Mapping[str, Any], peers_key: str) -> Rule:
    peers = []
    for p in data.get(peers_key) or []:
        block = None
        if "ipBlock" in p:
            b = p["ipBlock"]
            block = IPBlock(
                ipaddress.ip_network(b["cidr"], strict=False),
                tuple(ipaddress.ip_network(e, strict=False) for e in b.get("except") or ()),
            )
        peers.append(
            Peer(_label_selector(p.get("podSelector")), _label_selector(p.get("namespaceSelector")), block)
        )
    ports = tuple(
        PortSpec(p.get("protocol", "TCP"), p.get("port"), p.get("endPort")) for p in data.get("ports") or ()
    )
    return Rule(tuple(peers), ports)


def k8s_policy(doc: Mapping[str, Any] | str) -> NetworkPolicy:
    """A networking.k8s.io/v1 NetworkPolicy with the API server's defaults (SEMANTICS 4.2)."""
    if isinstance(doc, str):
        doc = yaml.safe_load(doc)
    meta, spec = doc["metadata"], doc.get("spec") or {}
    ingress = tuple(_k8s_rule(r or {}, "from") for r in spec.get("ingress") or ())
    egress = tuple(_k8s_rule(r or {}, "to") for r in spec.get("egress") or ())
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if egress else ["Ingress"])
    return NetworkPolicy(
        meta.get("namespace", "default"),
        meta["name"],
        _label_selector(spec.get("podSelector") or {}) or LabelSelector(),
        frozenset(types),
        ingress,
        egress,
    )


def cluster(
    namespaces: Sequence[Namespace | str],
    pods: Sequence[Pod],
    *,
    calico_docs: Any = None,
    k8s: Sequence[NetworkPolicy] = (),
    service_accounts: Sequence[ServiceAccount] = (),
) -> Cluster:
    nss = tuple(n if isinstance(n, Namespace) else namespace(n) for n in namespaces)
    resources = calico(calico_docs, [n.name for n in nss]) if calico_docs is not None else None
    return Cluster(nss, tuple(pods), NODES, tuple(service_accounts), tuple(k8s), resources)


def decide(
    c: Cluster,
    src: str,
    dst: str,
    proto: str = "TCP",
    port: int | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    **kw: Any,
) -> tuple[str, Decision, Decision]:
    """The SEMANTICS 2 skeleton around calico_decision: (verdict, egress, ingress)."""
    flow: Flow = make_flow(c, src, dst, protocol=proto, port=port, **kw)
    s, d = flow.src, flow.dst
    if s.kind == "pod" and d.kind == "pod" and s.pod == d.pod:
        self_d = Decision("Egress", "ALLOW", "SELF")
        return "ALLOW", self_d, self_d
    eg = calico_decision(c, flow, "Egress", settings) if s.kind == "pod" else not_applicable("Egress", "")
    ing = calico_decision(c, flow, "Ingress", settings) if d.kind == "pod" else not_applicable("Ingress", "")
    return combine(eg, ing), eg, ing


def verdict(c: Cluster, src: str, dst: str, proto: str = "TCP", port: int | None = None, **kw: Any) -> str:
    return decide(c, src, dst, proto, port, **kw)[0]
