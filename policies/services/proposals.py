"""Proposals: a change of a team's policies, its proposed snapshot, its analysis and its review.

A proposal is either two snapshots (``base`` and ``proposed``) or ``base`` with edits: YAML of the
policies added or replaced (an object replaces the base's object of the same API group, kind,
namespace and name) and a list of ``NAMESPACE/NAME`` (or ``NAME`` for cluster-wide policies) to
delete. The proposed snapshot is built at once; its analysis, the diff (the ``netpol diff`` JSON
form) and the team's expectations before and after are computed in the background: by a thread of
the web process on the embedded default (``NETPOL_ANALYSIS_RUNNER`` "thread"), by a Celery worker
with REDIS_URL ("celery"). The request answers at once, with the proposal "pending".

Review rules (the roles of ``Membership.Role``, each with the rights of the ones before):

- comment: authors and above; approve / request changes: reviewers and above, never on their
  own proposal; close / reopen: the proposal's author or a team admin; apply: reviewers and above
  once it is approved;
- a proposal that breaks an expectation is approved only with ``override`` and a comment saying why;
- revise: the proposal's author (or a team admin) submits a new revision of an open, changes
  requested or approved proposal: the whole change again (edits of the same base, or another
  proposed snapshot). The proposal is open again: an approval of an earlier revision does not
  carry over. Each revision keeps its change, its diff and its expectation results; every review
  names the revision it was made on.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from policies import access, audit, engine, tasks
from policies.models import (
    POLICY_KINDS,
    Analysis,
    Membership,
    Proposal,
    ProposalRevision,
    Resource,
    Review,
    Snapshot,
)
from policies.services.analyses import finish_analysis
from policies.services.answers import diff_snapshots
from policies.services.background import BackgroundRunner
from policies.services.errors import InvalidTransition
from policies.services.expectations import ExpectationSet
from policies.services.manifests import parse_manifests
from policies.services.objects import ensure_objects
from policies.services.rechecks import expectations_state, proposal_expectations
from policies.services.snapshots import create_snapshot

__all__ = [
    "add_review",
    "create_proposal",
    "resume_proposal",
    "revise_proposal",
    "run_proposal",
    "wait_for_proposals",
]

logger = logging.getLogger(__name__)
AnyUser = User | AbstractBaseUser | AnonymousUser
PROPOSAL_FILE = "proposal.yaml"
REVIEWABLE_KINDS = (*POLICY_KINDS, "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")
Key = tuple[str, str, str, str]  # API group, kind, namespace, name

# decision -> (states it may leave, the state it leads to; None: unchanged)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    Review.Decision.COMMENT: (tuple(Proposal.State.values), None),
    Review.Decision.APPROVE: ((Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED), Proposal.State.APPROVED),
    Review.Decision.REQUEST_CHANGES: ((Proposal.State.OPEN, Proposal.State.APPROVED), Proposal.State.CHANGES_REQUESTED),
    Review.Decision.CLOSE: ((Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED, Proposal.State.APPROVED),
                            Proposal.State.CLOSED),
    Review.Decision.REOPEN: ((Proposal.State.CLOSED,), Proposal.State.OPEN),
    Review.Decision.APPLY: ((Proposal.State.APPROVED,), Proposal.State.APPLIED),
}
REVISABLE = (Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED, Proposal.State.APPROVED)


def _key(resource: Resource | engine.ManifestObject) -> Key:
    group = resource.api_version.partition("/")[0] if "/" in resource.api_version else ""
    return group, resource.kind, resource.namespace or "", resource.name or ""


@transaction.atomic
def create_proposal(
    *,
    base: Snapshot,
    title: str,
    user: AnyUser,
    manifests: str = "",
    delete: Sequence[str] = (),
    proposed: Snapshot | None = None,
) -> Proposal:
    """Store a proposal and queue its analysis; PolicyError (naming the field) for bad edits."""
    access.require_role(user, base.team, Membership.Role.AUTHOR, "propose changes")
    title = title.strip()
    if not title:
        raise engine.PolicyError("a proposal needs a title", file="title")
    proposed = _proposed_snapshot(base=base, title=title, user=user, manifests=manifests, delete=delete,
                                  proposed=proposed)
    author = user if isinstance(user, User) else None
    changes = policy_changes(base, proposed)
    proposal = Proposal.objects.create(
        team=base.team, title=title[:200], base=base, proposed=proposed, author=author, manifests=manifests,
        deleted=list(delete), policy_changes=changes,
    )
    ProposalRevision.objects.create(proposal=proposal, number=1, proposed=proposed, author=author,
                                    manifests=manifests, deleted=list(delete), policy_changes=changes,
                                    created=proposal.created)
    audit.record(user, "proposed", proposal, {"base": base.id, "proposed": proposed.id})
    _queue_run(proposal.id, proposal.revision)
    return proposal


def _proposed_snapshot(
    *, base: Snapshot, title: str, user: AnyUser, manifests: str, delete: Sequence[str], proposed: Snapshot | None
) -> Snapshot:
    """``proposed`` checked, or the snapshot ``base`` becomes with the edits; PolicyError names the field."""
    if proposed is not None:
        if manifests.strip() or delete:
            raise engine.PolicyError('give either "proposed" or "manifests"/"delete", not both', file="proposed")
        if proposed.team_id != base.team_id:
            raise engine.PolicyError("the proposed snapshot must belong to the base's team", file="proposed")
        ensure_objects(snapshot=base)  # an upload's objects are stored by its analysis: maybe not yet
        ensure_objects(snapshot=proposed)
        return proposed
    if not manifests.strip() and not delete:
        raise engine.PolicyError('a proposal changes something: give "manifests", "delete" or "proposed"',
                                 file="manifests")
    ensure_objects(snapshot=base)  # an upload's objects are stored by its analysis: maybe not yet
    return create_snapshot(name=f"{base.name} + {title}"[:200], files=_proposed_files(base, manifests, delete),
                           origin=Snapshot.Origin.PROPOSAL, user=user if isinstance(user, User) else None,
                           team=base.team)


@transaction.atomic
def revise_proposal(
    *,
    proposal: Proposal,
    user: AnyUser,
    manifests: str = "",
    delete: Sequence[str] = (),
    proposed: Snapshot | None = None,
    body: str = "",
) -> ProposalRevision:
    """Submit the next revision of ``proposal``: its whole change again, against the same base.

    PermissionDenied unless the user is its author (an author still) or a team admin;
    InvalidTransition when the proposal is closed or applied; PolicyError for bad edits."""
    if proposal.author_id is not None and proposal.author_id == user.pk:
        access.require_role(user, proposal.team, Membership.Role.AUTHOR, "revise proposals")
    else:
        access.require_role(user, proposal.team, Membership.Role.ADMIN, "revise another member's proposal")
    locked = Proposal.objects.select_for_update().select_related("base", "team").get(id=proposal.id)
    if locked.state not in REVISABLE:
        raise InvalidTransition(f"a proposal that is {locked.state} takes no new revision: reopen it first"
                                if locked.state == Proposal.State.CLOSED else
                                f"a proposal that is {locked.state} takes no new revision")
    snapshot = _proposed_snapshot(base=locked.base, title=f"{locked.title} (revision {locked.revision + 1})",
                                  user=user, manifests=manifests, delete=delete, proposed=proposed)
    author = user if isinstance(user, User) else None
    changes = policy_changes(locked.base, snapshot)
    revision = ProposalRevision.objects.create(
        proposal=locked, number=locked.revision + 1, proposed=snapshot, author=author, manifests=manifests,
        deleted=list(delete), policy_changes=changes)
    before = locked.state
    locked.revision, locked.proposed, locked.manifests, locked.deleted = (
        revision.number, snapshot, manifests, list(delete))
    locked.status, locked.error, locked.diff, locked.expectations, locked.expectations_version = (
        Proposal.Status.PENDING, "", None, [], None)
    locked.policy_changes, locked.state, locked.updated = changes, Proposal.State.OPEN, timezone.now()
    locked.save()
    review = Review.objects.create(
        proposal=locked, author=author, author_name=user.get_username() if user.is_authenticated else "",
        decision=Review.Decision.REVISE, body=body.strip(), from_state=before, to_state=locked.state,
        revision=revision.number)
    audit.record(user, "revised", locked, {"revision": revision.number, "proposed": snapshot.id,
                                           "from": before, "to": locked.state})
    _queue_run(locked.id, locked.revision)
    if before != locked.state:
        tasks.send_proposal_webhook.delay_on_commit(review.id)
    proposal.refresh_from_db()
    return revision


def _run_in_background(key: tuple[int, int]) -> None:
    proposal_id, revision = key
    # A newer revision has its own run; a finished one was run by a page that resumed it.
    if Proposal.objects.filter(id=proposal_id, revision=revision, status=Proposal.Status.PENDING).exists():
        run_proposal(proposal_id=proposal_id)


_background: BackgroundRunner[tuple[int, int]] = BackgroundRunner(_run_in_background, name="netpol-proposals")


def _queue_run(proposal_id: int, revision: int) -> None:
    """After COMMIT, hand the revision's run to the background thread, or send its task message."""
    if str(settings.NETPOL_ANALYSIS_RUNNER) == "thread":
        transaction.on_commit(lambda: _background.submit((proposal_id, revision)))
    else:
        tasks.compute_proposal.delay_on_commit(proposal_id)


def resume_proposal(*, proposal: Proposal) -> bool:
    """With the thread runner, queue again the run of a pending revision that a stopped server left
    (its page calls this while it shows the proposal waiting); True when it was queued."""
    if str(settings.NETPOL_ANALYSIS_RUNNER) != "thread" or proposal.status != Proposal.Status.PENDING:
        return False
    submitted = (ProposalRevision.objects.filter(proposal_id=proposal.id, number=proposal.revision)
                 .values_list("created", flat=True).first())
    return submitted is not None and _background.resume((proposal.id, proposal.revision), submitted)


def wait_for_proposals(timeout: float | None = None) -> bool:
    """Block until this process's background proposal runs are done (tests, benchmarks)."""
    return _background.wait(timeout)


def _proposed_files(base: Snapshot, manifests: str, delete: Sequence[str]) -> list[tuple[str, str]]:
    """The base's files with replaced and deleted objects taken out, and the new YAML as its own file."""
    added = parse_manifests(files=[(PROPOSAL_FILE, manifests)]).objects if manifests.strip() else ()
    replaced = {_key(obj) for obj in added}
    # Without their text (and never joined to their file's text: at 5,000 pods that join alone moved
    # hundreds of megabytes); the kept objects of a changed file are read below.
    resources = list(base.resources.defer("text").order_by("file__position", "document", "line", "id"))
    removed: set[int] = set()
    for i, entry in enumerate(delete):
        if not isinstance(entry, str) or entry.count("/") > 1 or not entry.strip("/"):
            raise engine.PolicyError(f"delete[{i}] must be NAMESPACE/NAME (or NAME), not {entry!r}", file="delete")
        namespace, _, name = entry.rpartition("/")
        hits = [r.id for r in resources if r.kind in REVIEWABLE_KINDS and (r.namespace, r.name) == (namespace, name)]
        if not hits:
            raise engine.PolicyError(f"delete[{i}]: the base has no policy {entry}", file="delete")
        removed.update(hits)
    removed.update(r.id for r in resources if _key(r) in replaced)
    changed_files = {r.file_id for r in resources if r.id in removed}
    texts = dict(base.resources.filter(file_id__in=changed_files).values_list("id", "text"))
    files = []
    for f in base.files.order_by("position", "id"):
        if f.id not in changed_files:
            files.append((f.name, f.text))
            continue
        kept = [texts[r.id].rstrip("\n") + "\n" for r in resources if r.file_id == f.id and r.id not in removed]
        if kept:
            files.append((f.name, "---\n".join(kept)))
    if manifests.strip():
        names = {name for name, _ in files}
        name = PROPOSAL_FILE if PROPOSAL_FILE not in names else f"proposal-{len(names)}.yaml"
        files.append((name, manifests))
    return files


def policy_changes(base: Snapshot, proposed: Snapshot) -> list[dict[str, Any]]:
    """Every policy added, removed or changed, with the unified diff of its YAML."""
    def policies(snapshot: Snapshot) -> dict[Key, Resource]:
        chosen = snapshot.resources.filter(kind__in=REVIEWABLE_KINDS).select_related("file").defer("file__text")
        return {_key(r): r for r in chosen}

    before, after = policies(base), policies(proposed)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        old_text = old.text if old else ""
        new_text = new.text if new else ""
        if old_text == new_text:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        lines = difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                     fromfile=f"base/{old.file.name if old and old.file else '-'}",
                                     tofile=f"proposed/{new.file.name if new and new.file else '-'}")
        namespace, name = key[2], key[3]
        changes.append({"kind": key[1], "namespace": namespace, "name": name, "change": change,
                        "policy": f"{namespace}/{name}" if namespace else name, "diff": "".join(lines)})
    return changes


def run_proposal(*, proposal_id: int) -> None:
    """Analyse both snapshots of the current revision (if not yet done), then store its diff and
    expectation results on the revision and, unless a newer revision came meanwhile, the proposal."""
    proposal = Proposal.objects.select_related("base", "proposed", "team").filter(id=proposal_id).first()
    if proposal is None:
        return
    number = proposal.revision
    try:
        for snapshot in (proposal.base, proposal.proposed):
            analysis = snapshot.latest_analysis()
            if analysis is not None and not analysis.is_finished:
                analysis = finish_analysis(analysis_id=analysis.id)  # or wait for the worker running it
            if analysis is None or analysis.status != Analysis.Status.DONE:
                reason = "it has no analysis" if analysis is None else analysis.error or (
                    f"it is still {analysis.status} after {settings.CELERY_TASK_SOFT_TIME_LIMIT} seconds")
                raise engine.PolicyError(f"the analysis of snapshot {snapshot.id} ({snapshot.name}) failed: {reason}")
        diff = diff_snapshots(old=proposal.base, new=proposal.proposed)
        while True:  # again when the team's expectations change meanwhile
            checked = ExpectationSet.of(proposal.team)
            results = proposal_expectations(base=proposal.base, proposed=proposal.proposed, checked=checked)
            proposal.team.refresh_from_db(fields=["expectations_version"])
            if proposal.team.expectations_version == checked.version:
                break
    except engine.PolicyError as exc:
        _store_run(proposal.id, number, status=Proposal.Status.FAILED, error=str(exc))
        return
    _store_run(proposal.id, number, status=Proposal.Status.READY, error="", diff=diff, expectations=results,
               expectations_version=checked.version)


def _store_run(proposal_id: int, number: int, **fields: Any) -> None:
    ProposalRevision.objects.filter(proposal_id=proposal_id, number=number).update(**fields)
    Proposal.objects.filter(id=proposal_id, revision=number).update(**fields)


def expectations_status(proposal: Proposal | ProposalRevision, team: Any) -> str:
    """"pending" before the change is analysed, then "current" or "rechecking" (services.rechecks)."""
    if proposal.status != Proposal.Status.READY:
        return str(proposal.status)
    return expectations_state(team=team, version=proposal.expectations_version)


def add_review(
    *, proposal: Proposal, user: AnyUser, decision: str, body: str = "", flow: str = "", override: bool = False,
    revision: int | None = None,
) -> Review:
    """Record a comment or a decision on the current revision and move the proposal to its next state.

    PermissionDenied (403) when the user's role does not allow it; InvalidTransition (409) when the
    proposal's state (or its unfinished analysis) does not, or when ``revision`` (the one the
    reviewer read) is no longer the current one; PolicyError (400) for a missing comment."""
    if decision not in TRANSITIONS:
        raise engine.PolicyError(f"decision must be one of {', '.join(TRANSITIONS)}, not {decision!r}",
                                 file="decision")
    _require_right(proposal, user, decision)
    leaving, target = TRANSITIONS[decision]
    if proposal.state not in leaving:
        raise InvalidTransition(f"a proposal that is {proposal.state} cannot take {decision!r}")
    if revision is not None and revision != proposal.revision:
        raise InvalidTransition(f"revision {revision} is no longer current: the proposal is at revision "
                                f"{proposal.revision}; read it again")
    body = body.strip()
    if decision == Review.Decision.COMMENT and not body:
        raise engine.PolicyError("a comment needs a body", file="body")
    overrides: list[str] = []
    if decision == Review.Decision.APPROVE:
        if proposal.status != Proposal.Status.READY:
            raise InvalidTransition(f"the analysis of the change is {proposal.status}: approve once it is ready")
        if not proposal.expectations_current:
            raise InvalidTransition("the team's expectations changed and are being checked again: approve once "
                                    "the results are current")
        overrides = proposal.broken_expectations
        if overrides and not (override and body):
            raise engine.PolicyError(
                f"this change breaks {', '.join(overrides)}: approving it needs \"override\": true and a comment "
                "saying why", file="override")
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(id=proposal.id)
        if locked.revision != proposal.revision:
            raise InvalidTransition(f"a new revision ({locked.revision}) came meanwhile; read it again")
        before = locked.state
        review = Review.objects.create(
            proposal=locked, author=user if isinstance(user, User) else None,
            author_name=user.get_username() if user.is_authenticated else "", decision=decision,
            body=body, flow=flow.strip()[:500], overrides=overrides, from_state=before, to_state=target or before,
            revision=locked.revision)
        if target is not None:
            locked.state = target
        locked.updated = timezone.now()
        locked.save(update_fields=["state", "updated"])
        verb = {"comment": "commented on", "approve": "approved", "request_changes": "requested changes on",
                "close": "closed", "reopen": "reopened", "apply": "applied"}[decision]
        audit.record(user, verb, locked, {"review": review.id, "from": before, "to": review.to_state,
                                          "overrides": overrides})
        if target is not None and target != before:
            tasks.send_proposal_webhook.delay_on_commit(review.id)
    proposal.refresh_from_db()
    return review


def _require_right(proposal: Proposal, user: AnyUser, decision: str) -> None:
    team = proposal.team
    is_author = proposal.author_id is not None and proposal.author_id == user.pk
    if decision == Review.Decision.COMMENT:
        access.require_role(user, team, Membership.Role.AUTHOR, "comment on proposals")
    elif decision in (Review.Decision.APPROVE, Review.Decision.REQUEST_CHANGES):
        access.require_role(user, team, Membership.Role.REVIEWER, "review proposals")
        if is_author:
            raise PermissionDenied("nobody reviews their own proposal: ask another reviewer")
    elif decision == Review.Decision.APPLY:
        access.require_role(user, team, Membership.Role.REVIEWER, "mark proposals applied")
    elif not is_author:
        access.require_role(user, team, Membership.Role.ADMIN, "close or reopen another member's proposal")
    else:
        access.require_role(user, team, Membership.Role.AUTHOR, "close or reopen proposals")
