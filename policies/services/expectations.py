"""A team's expectations: stored as file entries, validated and checked by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction

from policies import engine
from policies.models import Team, TeamExpectation

__all__ = [
    "check_team_expectations",
    "compare_checks",
    "import_expectations",
    "save_expectation",
    "validate_expectation",
]

SPEC_FIELDS = ("from", "to", "ports", "expect", "description")


def validate_expectation(data: Mapping[str, Any], *, where: str = "expectation") -> dict[str, Any]:
    """``data`` as a file entry (name, from, to, ports, expect), checked by the engine; PolicyError
    names the bad field."""
    entry = {key: data[key] for key in ("name", *SPEC_FIELDS) if key in data}
    unknown = sorted(set(data) - {"name", "team", *SPEC_FIELDS})
    if unknown:
        raise engine.PolicyError(f"unknown field {unknown[0]!r}; use name, from, to, ports, expect", file=where)
    engine.parse_expectation(entry, where=where)
    return entry


def save_expectation(
    *, team: Team, data: Mapping[str, Any], user: User | AbstractBaseUser | AnonymousUser | None,
    instance: TeamExpectation | None = None,
) -> TeamExpectation:
    entry = validate_expectation(data)
    name = str(entry.pop("name")).strip()
    clash = TeamExpectation.objects.filter(team=team, name=name)
    if instance is not None:
        clash = clash.exclude(id=instance.id)
    if clash.exists():
        raise engine.PolicyError(f"team {team.name} already has an expectation named {name!r}", file="name")
    if instance is None:
        instance = TeamExpectation(team=team, created_by=user if isinstance(user, User) else None)
    instance.name, instance.spec = name, entry
    instance.save()
    return instance


@transaction.atomic
def import_expectations(
    *, team: Team, text: str, user: User | AbstractBaseUser | AnonymousUser | None, file: str = "pasted text"
) -> list[TeamExpectation]:
    """The entries of an expectations file added to the team, each replacing the one of its name.
    PolicyError names the file, line and field of a bad entry; nothing is saved then."""
    engine.parse_expectations(text, file=file)  # every entry valid, names unique
    data = yaml.safe_load(text)
    saved = []
    for entry in data["expectations"]:
        existing = TeamExpectation.objects.filter(team=team, name=str(entry["name"]).strip()).first()
        saved.append(save_expectation(team=team, data=entry, user=user, instance=existing))
    return saved


def check_team_expectations(
    *, team: Team, cluster: engine.Cluster, pod_graph: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The team's expectations checked on one cluster (``CheckReport.to_dict()``), or None when
    the team has none. An entry stored before a change of the engine that no longer parses is
    reported as failing with its problem, rather than failing the analysis."""
    stored = list(TeamExpectation.objects.filter(team=team))
    if not stored:
        return None
    parsed, problems = [], []
    for item in stored:
        try:
            parsed.append(engine.parse_expectation(item.entry(), where=f"expectation {item.name}"))
        except engine.PolicyError as exc:
            problems.append({"name": item.name, "expect": item.spec.get("expect", ""), "ok": False,
                             "problem": str(exc), "violations": [], "violation_count": 0})
    report: dict[str, Any] = engine.check_cluster(parsed, cluster, pod_graph).to_dict()
    report["expectations"].extend(problems)
    report["ok"] = report["ok"] and not problems
    return report


def compare_checks(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each expectation's result after a change, with ``was_ok`` and ``change``: broken, fixed,
    holds or failing."""
    if after is None:
        return []
    verdict = engine.compare_reports(before or {}, after)
    change = {name: key for key in ("broken", "fixed") for name in verdict[key]}
    old = {r["name"]: r["ok"] for r in (before or {}).get("expectations", [])}
    rows = []
    for r in after["expectations"]:
        rows.append({**r, "was_ok": old.get(r["name"], True),
                     "change": change.get(r["name"], "holds" if r["ok"] else "failing")})
    return rows
