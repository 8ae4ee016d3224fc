"""Evaluator knobs from SEMANTICS.md section 6, with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from policies.engine.errors import PolicyError

__all__ = ["DEFAULT_SETTINGS", "ENDPOINT_TO_HOST_ACTIONS", "Settings"]

ENDPOINT_TO_HOST_ACTIONS = ("ACCEPT", "RETURN", "DROP")


@dataclass(frozen=True)
class Settings:
    # k8s.ipBlockMatchesPodIPs: ipBlock (and Calico nets) match pod IPs. False emulates Cilium.
    ip_block_matches_pod_ips: bool = True
    # k8s.nodeIngressExempt: traffic from the pod's own node is always allowed in.
    node_ingress_exempt: bool = True
    # k8s.nodeEgressExempt: pod -> own node skips egress policy (the docs' intro reading).
    node_egress_exempt: bool = False
    # calico.defaultEndpointToHostAction, applied after egress policy allows pod -> own node.
    default_endpoint_to_host_action: str = "ACCEPT"

    def with_options(self, **options: Any) -> Settings:
        known = {f.name for f in fields(self)}
        for key in options:
            if key not in known:
                raise PolicyError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
        new = replace(self, **options)
        if new.default_endpoint_to_host_action not in ENDPOINT_TO_HOST_ACTIONS:
            raise PolicyError(
                "default_endpoint_to_host_action must be one of " + ", ".join(ENDPOINT_TO_HOST_ACTIONS)
            )
        return new

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_SETTINGS = Settings()
