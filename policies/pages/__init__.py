"""What each page shows, read from the models and the services: one module per page.

A page module reads; it never imports the engine. Whatever costs more than a lookup is computed by
a service or stored by the analysis.

- ``listing``: the snapshot list and the upload page; ``overview``: one snapshot's overview;
- ``graph``, ``flow``, ``matrix``, ``policy``, ``compare``, ``proposal``: the pages of those names;
- ``state``: what every page reads (the latest analysis, stored graph nodes, counts, policies);
- ``clusters``: the cluster connections and one connection's history;
- ``source``: a resource's YAML as numbered lines; ``words``: engine data in words.
"""

from policies.pages import (
    clusters,
    compare,
    flow,
    graph,
    listing,
    matrix,
    overview,
    policy,
    proposal,
    source,
    state,
    words,
)

__all__ = [
    "clusters",
    "compare",
    "flow",
    "graph",
    "listing",
    "matrix",
    "overview",
    "policy",
    "proposal",
    "source",
    "state",
    "words",
]
