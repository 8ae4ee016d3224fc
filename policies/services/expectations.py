"""A team's expectations: stored as file entries, validated and checked by the engine.

Every change of them (``save_expectation``, ``import_expectations``, ``delete_expectation``) adds
one to the team's ``expectations_version`` in the same transaction and, after COMMIT, queues a
re-check of the stored results (services.rechecks). A stored result says which version it
checked, so that a page tells a current result from one being re-checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import F

from policies import engine
from policies.models import Team, TeamExpectation

__all__ = [
    "ExpectationSet",
    "check_team_expectations",
    "compare_checks",
    "delete_expectation",
    "import_expectations",
    "save_expectation",
    "validate_expectation",
]


@dataclass(frozen=True)
class ExpectationSet:
    """A team's expectations as they were at one version."""

    team_id: int
    version: int
    items: tuple[TeamExpectation, ...]

    @classmethod
    def of(cls, team: Team) -> ExpectationSet:
        # The version first: an edit committed between the two reads makes the set newer than its
        # version says, which only costs one more re-check; the other order could hide an edit.
        version = Team.objects.filter(id=team.id).values_list("expectations_version", flat=True).get()
        return cls(team.id, version, tuple(TeamExpectation.objects.filter(team_id=team.id)))

    def check(self, cluster: engine.Cluster, pod_graph: Mapping[str, Any]) -> dict[str, Any] | None:
        """The expectations checked on one cluster (``CheckReport.to_dict()``), or None when there
        are none. An entry stored before a change of the engine that no longer parses is reported as
        failing with its problem, rather than failing the analysis."""
        if not self.items:
            return None
        parsed, problems = [], []
        for item in self.items:
            try:
                parsed.append(engine.parse_expectation(item.entry(), where=f"expectation {item.name}"))
            except engine.PolicyError as exc:
                problems.append({"name": item.name, "expect": item.spec.get("expect", ""), "ok": False,
                                 "problem": str(exc), "violations": [], "violation_count": 0})
        report: dict[str, Any] = engine.check_cluster(parsed, cluster, pod_graph).to_dict()
        report["expectations"].extend(problems)
        report["ok"] = report["ok"] and not problems
        return report


def _changed(team: Team) -> None:
    """One more version of the team's expectations; their results are checked again after COMMIT."""
    from policies.services.rechecks import queue_recheck  # rechecks read analyses, which import this module

    Team.objects.filter(id=team.id).update(expectations_version=F("expectations_version") + 1)
    transaction.on_commit(lambda: queue_recheck(team_id=team.id))

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


@transaction.atomic
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
    _changed(team)
    return instance


@transaction.atomic
def delete_expectation(*, item: TeamExpectation) -> None:
    team = item.team
    item.delete()
    _changed(team)


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
    """The team's current expectations checked on one cluster, or None when it has none."""
    return ExpectationSet.of(team).check(cluster, pod_graph)


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
