"""Expectations checked against the CLI fixtures (tests/fixtures/cli/old and new):

    old:  internet --TCP 8080--> shop/web --TCP 9090--> shop/api --TCP 5432--> shop/db-0
          ops/monitor --TCP 8080--> shop/web          (db admits api only)
    new:  the same, but web admits 0.0.0.0/0 except 10.0.0.0/8, and db also admits namespace ops
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.engine import PolicyError, build_graph, load_paths
from policies.engine.expectations import check_expectations, compare_reports, parse_expectations

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cli"


def report(version: str, text: str, **kwargs: Any) -> dict[str, Any]:
    cluster = load_paths([str(FIXTURES / version)]).cluster
    graph = build_graph(cluster, level="pod").to_dict()
    return check_expectations(parse_expectations(text), graph, cluster.namespace_labels(), **kwargs).to_dict()


def one(expectation: str) -> str:
    return "expectations:\n- name: e\n" + "\n".join("  " + line for line in expectation.strip().splitlines()) + "\n"


# (expectation body, ok in old, ok in new, violations in new as (source, target, protocol, port))
CASES = [
    pytest.param(
        """
from: {namespace: shop, podSelector: {matchLabels: {app: web}}}
to: {namespace: shop, podSelector: {matchLabels: {app: api}}}
ports: ["TCP/9090"]
expect: allow""", True, True, [], id="namespace-and-podSelector-allow-port"),
    pytest.param(
        """
from: {namespace: shop, workload: Deployment/web}
to: {namespace: shop, workload: Deployment/api}
ports: ["TCP/9000-9090"]
expect: allow""", False, False, [("shop/Deployment/web", "shop/Deployment/api", "TCP", 9000)],
        id="workload-allow-range-partly-denied"),
    pytest.param(
        """
from: {namespace: shop, podSelector: {matchLabels: {app: web}}}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
ports: ["TCP/5432"]
expect: allow""", False, False, [("shop/Deployment/web", "shop/db-0", "TCP", 5432)], id="allow-denied-port"),
    pytest.param(
        """
from: {namespace: shop, podSelector: {matchLabels: {app: api}}}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
expect: allow""", True, True, [], id="allow-without-ports-needs-some-traffic"),
    pytest.param(
        """
from: {namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [shop]}]}}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
expect: deny""", True, False, [("ops/monitor", "shop/db-0", "TCP", 5432)], id="namespaceSelector-deny-any"),
    pytest.param(
        """
from: {namespaceSelector: {matchLabels: {team: web}}}
to: {namespace: ops}
ports: ["UDP/53", "TCP/5000-6000"]
expect: deny""", False, False,
        [(src, "ops/monitor", "TCP", 5000) for src in ("shop/Deployment/api", "shop/Deployment/web", "shop/db-0")],
        id="namespace-labels-deny-ports"),
    pytest.param(
        """
from: {cidr: 192.168.0.0/16}
to: {namespace: shop, workload: Deployment/web}
ports: ["TCP/8080"]
expect: deny""", False, False,
        [("0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255", "shop/Deployment/web", "TCP", 8080)], id="cidr-deny"),
    pytest.param(
        """
from: {cidr: 10.1.0.0/16}
to: {namespace: shop, workload: Deployment/web}
expect: deny""", False, True, [], id="cidr-inside-an-except-deny"),
    pytest.param(
        """
from: {}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
ports: ["TCP/5432"]
expect: deny""", False, False,
        [("ops/monitor", "shop/db-0", "TCP", 5432), ("shop/Deployment/api", "shop/db-0", "TCP", 5432)],
        id="empty-endpoint-is-every-pod"),
    pytest.param(
        """
from: {namespace: shop, podSelector: {matchLabels: {app: db}}}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
expect: allow""", False, False, [], id="a-pod-is-never-its-own-peer"),
    pytest.param(
        """
from: {namespace: nowhere}
to: {namespace: shop}
expect: allow""", False, False, [], id="allow-matching-nothing-fails"),
    pytest.param(
        """
from: {namespace: nowhere}
to: {namespace: shop}
expect: deny""", True, True, [], id="deny-matching-nothing-holds"),
]


@pytest.mark.parametrize(("body", "ok_old", "ok_new", "violations"), CASES)
def test_expectation_forms(body: str, ok_old: bool, ok_new: bool, violations: list[tuple[str, str, str, int]]) -> None:
    old = report("old", one(body))
    new = report("new", one(body))
    assert old["ok"] is ok_old
    assert new["ok"] is ok_new
    result = new["expectations"][0]
    assert [(v["source"], v["target"], v["protocol"], v["port"]) for v in result["violations"]] == violations
    assert result["violation_count"] == len(violations)
    if not ok_new and not violations:
        assert result["problem"].startswith("nothing to allow")


def test_violations_carry_their_explanation() -> None:
    body = one("""
from: {namespace: ops}
to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
expect: deny""")
    asked: list[tuple[str, str, str, int | None]] = []

    def explain(source: str, target: str, protocol: str, port: int | None) -> str:
        asked.append((source, target, protocol, port))
        return "because db-from-api admits namespace ops"

    result = report("new", body, explain=explain)["expectations"][0]
    assert asked == [("ops/monitor", "shop/db-0", "TCP", 5432)]
    assert result["violations"][0]["explanation"] == "because db-from-api admits namespace ops"


def test_compare_says_what_a_change_breaks_and_fixes() -> None:
    text = "expectations:\n" + "".join(
        f"- name: {name}\n" + "".join(f"  {line}\n" for line in body.strip().splitlines())
        for name, body in [
            ("db-closed-to-ops", "from: {namespace: ops}\nto: {namespace: shop, podSelector: {matchLabels: {app: db}}}"
                                 "\nexpect: deny"),
            ("private-net-reaches-web", "from: {cidr: 10.1.0.0/16}\nto: {namespace: shop, workload: Deployment/web}"
                                        "\nexpect: allow"),
            ("web-to-db", "from: {namespace: shop, workload: Deployment/web}\n"
                          "to: {namespace: shop, podSelector: {matchLabels: {app: db}}}\nexpect: allow"),
        ]
    )
    verdict = compare_reports(report("old", text), report("new", text))
    assert verdict == {"broken": ["db-closed-to-ops", "private-net-reaches-web"], "fixed": [],
                       "still_failing": ["web-to-db"]}
    assert compare_reports(report("new", text), report("old", text))["fixed"] == [
        "db-closed-to-ops", "private-net-reaches-web"]


BAD = [
    ("expectations: {}\n", 1, "expectations", "must be a list"),
    ("- name: x\n", 1, "", 'a mapping with a list "expectations"'),
    ("expectations:\n- from: {}\n  to: {}\n  expect: allow\n", 2, "expectations[0].name", "name is required"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: maybe\n", 5, "expectations[0].expect",
     "allow or deny"),
    ("expectations:\n- name: a\n  to: {}\n  expect: deny\n", 2, "expectations[0].from", "from is required"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: deny\n  ports: [TCP80]\n", 6,
     "expectations[0].ports[0]", "PROTOCOL/PORT"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: deny\n  ports: [HTTP/80]\n", 6,
     "expectations[0].ports[0]", "unknown protocol"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: deny\n  ports: [ICMP/8]\n", 6,
     "expectations[0].ports[0]", "has no ports"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: deny\n  ports: [TCP/90-80]\n", 6,
     "expectations[0].ports[0]", "LOW <= HIGH"),
    ("expectations:\n- name: a\n  from: {pods: x}\n  to: {}\n  expect: deny\n", 3, "expectations[0].from.pods",
     "unknown field"),
    ("expectations:\n- name: a\n  from: {workload: Deployment/web}\n  to: {}\n  expect: deny\n", 3,
     "expectations[0].from.namespace", "needs its namespace"),
    ("expectations:\n- name: a\n  from: {namespace: x, workload: web}\n  to: {}\n  expect: deny\n", 3,
     "expectations[0].from.workload", "Kind/name"),
    ("expectations:\n- name: a\n  from: {}\n  to:\n    cidr: 10.0.0.0/8\n    namespace: x\n  expect: deny\n", 6,
     "expectations[0].to.namespace", "cannot be combined"),
    ("expectations:\n- name: a\n  from: {cidr: 10.0.0.300/8}\n  to: {}\n  expect: deny\n", 3,
     "expectations[0].from.cidr", "not a CIDR"),
    ("expectations:\n- name: a\n  from:\n    podSelector:\n      matchExpressions:\n      - {key: app, operator: Is}\n"
     "  to: {}\n  expect: deny\n", 6, "expectations[0].from.podSelector.matchExpressions[0].operator", "operator"),
    ("expectations:\n- name: a\n  from: {}\n  to: {}\n  expect: deny\n- name: a\n  from: {}\n  to: {}\n"
     "  expect: deny\n", 6, "expectations[1].name", "used twice"),
    ("expectations: [\n", 2, None, "not valid YAML"),
]


@pytest.mark.parametrize(("text", "line", "path", "message"), BAD)
def test_bad_expectations_name_file_line_and_field(text: str, line: int, path: str | None, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_expectations(text, file="team.yaml")
    error = caught.value
    assert error.file == "team.yaml"
    assert error.line == line
    if path is not None:
        assert error.path == path
    assert message in error.message
