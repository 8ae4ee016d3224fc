"""netpol's engine: what Kubernetes and Calico network policies allow, as a pure library.

No Django, DRF or Celery here: the web app, the API, the tasks and the command line are users of
this package. Public API:

- ``parse_files`` / ``load_paths``: manifests in, a ``ParseResult`` (cluster, objects, notes) out;
  with a ``ParseCache``, files read before (another version's) are not read again;
- ``build_graph``: the reachability ``Graph`` at pod or workload level;
- ``render``: the graph as json, txt, csv, dot or md;
- ``explain``: why one flow is allowed or denied, with the trace (``Explainer``: many flows of one cluster);
- ``diff`` / ``diff_dicts``: flows added, removed and changed between two graphs;
- ``diff_clusters``: the same between two versions of a cluster, over their common address blocks;
- ``suggest``: the smallest change that turns a flow's verdict, checked, and what else it opens;
- ``lint``: findings about policies;
- ``parse_expectations`` / ``check_cluster`` / ``compare_reports``: a team's reachability
  assertions read, checked on a cluster, and compared before and after a change;
- ``check_syntax``: the fast first look at a file (syntax, nesting, objects with a kind) that
  the web upload does before it answers;
- ``policy_key`` / ``object_policy_key``: the one key of a policy (``Kind/namespace/name``) that
  traces, graphs, diffs and stored objects share;
- ``PolicyError``: every bad input, naming file, document, line and field;
- ``calico_index``: Calico's tiers and ordered policies for a cluster;
- ``address_sets``, ``selected_pods``, ``canonical_protocol``: helpers for the pages and the CLI.

Layout: ``cluster`` (the cluster's objects), ``model`` (``Cluster``), ``k8s/``, ``admin/`` and
``calico/`` (each kind's model, parsing, per-flow evaluation and group tables), ``groups``
(endpoint groups), ``reachability`` (the graph), ``flows`` and ``decisions`` (one flow's verdict),
``options`` (evaluation settings).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.engine.calico.index import calico_index
    from policies.engine.connections import ConnectionSet, canonical_protocol
    from policies.engine.diff import Diff, diff, diff_clusters, diff_dicts
    from policies.engine.errors import PolicyError, UnsupportedError
    from policies.engine.evaluate import FlowResult, evaluate
    from policies.engine.expectations import (
        CheckReport,
        check_cluster,
        compare_reports,
        parse_expectation,
        parse_expectations,
    )
    from policies.engine.explain import Explainer, Explanation, explain
    from policies.engine.findings import Finding
    from policies.engine.flows import make_flow
    from policies.engine.groups import address_sets
    from policies.engine.keys import object_policy_key, policy_key
    from policies.engine.lint import lint
    from policies.engine.model import Cluster
    from policies.engine.options import Settings
    from policies.engine.output import FORMATS, render
    from policies.engine.parse import ManifestObject, ParseResult, load_paths, parse_files
    from policies.engine.parse_cache import ParseCache
    from policies.engine.reachability import Graph, build_graph
    from policies.engine.selection import selected_pods
    from policies.engine.suggest import Suggestion, suggest
    from policies.engine.syntax import check_syntax

ENGINE_VERSION = "0.1.0"

# Each name is imported from its module when first used, so that a command imports only what it
# needs (`netpol reach` never loads the Calico index, expectations or diff code).
_EXPORTS: dict[str, str] = {
    "calico_index": "calico.index",
    "ConnectionSet": "connections",
    "canonical_protocol": "connections",
    "Diff": "diff",
    "diff": "diff",
    "diff_clusters": "diff",
    "diff_dicts": "diff",
    "PolicyError": "errors",
    "UnsupportedError": "errors",
    "FlowResult": "evaluate",
    "evaluate": "evaluate",
    "CheckReport": "expectations",
    "check_cluster": "expectations",
    "compare_reports": "expectations",
    "parse_expectation": "expectations",
    "parse_expectations": "expectations",
    "Explanation": "explain",
    "explain": "explain",
    "Finding": "findings",
    "make_flow": "flows",
    "address_sets": "groups",
    "lint": "lint",
    "Cluster": "model",
    "Settings": "options",
    "FORMATS": "output",
    "render": "output",
    "ManifestObject": "parse",
    "ParseResult": "parse",
    "load_paths": "parse",
    "parse_files": "parse",
    "ParseCache": "parse_cache",
    "Graph": "reachability",
    "build_graph": "reachability",
    "selected_pods": "selection",
    "Explainer": "explain",
    "object_policy_key": "keys",
    "policy_key": "keys",
    "Suggestion": "suggest",
    "suggest": "suggest",
    "check_syntax": "syntax",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


class _Engine(types.ModuleType):
    """The package keeps its exported functions where a submodule has the same name (``diff``,
    ``explain``, ``lint``, ``evaluate``): importing the submodule would otherwise bind the module
    to the package's attribute, and ``from policies.engine import lint`` would give the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS and _EXPORTS[name] == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Engine

__all__ = [
    "ENGINE_VERSION",
    "FORMATS",
    "CheckReport",
    "Cluster",
    "ConnectionSet",
    "Diff",
    "Explainer",
    "Explanation",
    "Finding",
    "FlowResult",
    "Graph",
    "ManifestObject",
    "ParseCache",
    "ParseResult",
    "PolicyError",
    "Settings",
    "Suggestion",
    "UnsupportedError",
    "address_sets",
    "build_graph",
    "calico_index",
    "canonical_protocol",
    "check_syntax",
    "check_cluster",
    "compare_reports",
    "diff",
    "diff_clusters",
    "diff_dicts",
    "evaluate",
    "explain",
    "lint",
    "load_paths",
    "make_flow",
    "object_policy_key",
    "parse_expectation",
    "parse_expectations",
    "parse_files",
    "policy_key",
    "render",
    "selected_pods",
    "suggest",
]
