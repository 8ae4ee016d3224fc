"""Object names, namespaces, kinds and apiVersions checked as the Kubernetes API server checks them.

Namespaces (their own names and ``metadata.namespace``) are DNS-1123 labels: at most 63 lower-case
letters, digits and ``-``, starting and ending with a letter or digit. The names of the kinds the
engine reads (Pods, workloads, NetworkPolicies, Nodes, ServiceAccounts, Calico policies) are
DNS-1123 subdomains: at most 253 characters of such labels joined by ``.``. Other kinds are kept
as they are but must fit the same 253 characters. A policy's name only labels the policy in the
answers, so a policy name with characters the API server would refuse (netpol-analyzer's corpus
has ``use_common_labels_same_values``) is kept with a note; its length is still checked. A kind is
at most 100 characters (a CamelCase name); an apiVersion at most 200 (``group/version``).
https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.engine.documents import RawObject

__all__ = ["check_name", "check_names", "dns_label_problem", "dns_subdomain_problem"]

MAX_LABEL = 63
MAX_SUBDOMAIN = 253
MAX_KIND = 100
MAX_API_VERSION = 200

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_API_VERSION = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]+")

# Kinds whose names the engine reads, by API group ("" is the core group).
_NAMED_GROUPS = frozenset({"", "apps", "batch", "extensions", "networking.k8s.io"})
_CALICO_GROUPS = frozenset({"projectcalico.org", "crd.projectcalico.org"})


def dns_label_problem(value: str) -> str:
    """Why ``value`` is not a DNS-1123 label ("" when it is one)."""
    if len(value) > MAX_LABEL:
        return f"is {len(value)} characters long; at most {MAX_LABEL} are allowed"
    if not _LABEL.fullmatch(value):
        return "must be lower-case letters, digits and '-', starting and ending with a letter or digit"
    return ""


def dns_subdomain_problem(value: str) -> str:
    """Why ``value`` is not a DNS-1123 subdomain ("" when it is one)."""
    if len(value) > MAX_SUBDOMAIN:
        return f"is {len(value)} characters long; at most {MAX_SUBDOMAIN} are allowed"
    if not _SUBDOMAIN.fullmatch(value):
        return "must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
    return ""


def check_names(objects: Iterable[RawObject]) -> list[str]:
    """Raise PolicyError (with file, document, line and field) for the first bad name, namespace,
    kind or apiVersion among ``objects``; return notes on policy names the API server would refuse."""
    notes = []
    for obj in objects:
        note = check_name(obj)
        if note:
            notes.append(note)
    return notes


def check_name(obj: RawObject) -> str:
    """check_names for one object: raise PolicyError, or return a note ("" when none)."""
    if len(obj.kind) > MAX_KIND or not _KIND.fullmatch(obj.kind):
        raise obj.error(
            f"kind {obj.kind[:80]!r} is not a kind: a CamelCase name of at most {MAX_KIND} characters", "kind"
        )
    if len(obj.api_version) > MAX_API_VERSION or (obj.api_version and not _API_VERSION.fullmatch(obj.api_version)):
        raise obj.error(
            f"apiVersion {obj.api_version[:80]!r} is not group/version (at most {MAX_API_VERSION} characters)",
            "apiVersion",
        )
    group = obj.api_version.rsplit("/", 1)[0] if "/" in obj.api_version else ""
    namespace = obj.metadata.get("namespace")
    if isinstance(namespace, str) and namespace:
        problem = dns_label_problem(namespace)
        if problem:
            raise obj.error(f"namespace {namespace[:80]!r} {problem}", "metadata.namespace")
    name = obj.metadata.get("name")
    if not isinstance(name, str) or not name:
        return ""  # a missing or mistyped name is the kind parser's to report
    if obj.kind == "Namespace" and group == "":
        problem = dns_label_problem(name)
    elif group in _NAMED_GROUPS or group in _CALICO_GROUPS:
        problem = dns_subdomain_problem(name)
    else:
        problem = (
            f"is {len(name)} characters long; at most {MAX_SUBDOMAIN} are allowed" if len(name) > MAX_SUBDOMAIN else ""
        )
    if problem and obj.kind.endswith("Policy") and len(name) <= MAX_SUBDOMAIN:
        where = f"{obj.source.file}:{obj.line_of('metadata.name')}: {obj.describe()}"
        return f"{where}: the Kubernetes API server would refuse this name: it {problem}"
    if problem:
        raise obj.error(f"name {name[:80]!r} {problem}", "metadata.name")
    return ""
