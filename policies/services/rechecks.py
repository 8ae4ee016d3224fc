"""Checking a team's expectations again when they change, in the background as analyses run.

A change of the expectations adds one to the team's ``expectations_version`` and queues a
re-check: the thread of this process runs it on the embedded default ("thread"), a Celery worker
with REDIS_URL ("celery"), as ``NETPOL_ANALYSIS_RUNNER`` says. The re-check brings every stored
result up to the current version: first each open proposal (its base and proposed snapshots, then
the comparison of the two), then the latest finished analysis of every other snapshot of the team,
newest first. A result computed with an older version is never shown as current: pages say
"re-checking" until it is done (``expectations_state``).

Re-checks of a team are coalesced, so that several changes in a row check each snapshot once:

- a re-check starts NETPOL_RECHECK_DELAY seconds after it is asked for (on the thread, after the
  team's last change, and at most five delays after the first), and reads the version when it
  starts;
- while one waits to start, further changes queue no other (``Team.recheck_queued`` says so to
  every web process with Celery; the thread runner keeps it in memory);
- a change made while a re-check runs queues the next one, and the running one stops before its
  next snapshot instead of finishing a pass over an outdated set.

Each result is stored with the version it checked; a result already at the current version is
left alone, so a re-check queued twice, or run twice after a redelivery, does the work once.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from policies import engine, tasks
from policies.models import Analysis, Proposal, ProposalRevision, Snapshot, Team
from policies.services.answers import get_graph, snapshot_cluster
from policies.services.background import BackgroundRunner
from policies.services.expectations import ExpectationSet, compare_checks

__all__ = [
    "ACTIVE_STATES",
    "expectations_state",
    "proposal_expectations",
    "publish_recheck",
    "queue_recheck",
    "recheck_expectations",
    "refresh_analysis",
    "resume_recheck",
    "stored_version",
    "wait_for_rechecks",
]

logger = logging.getLogger(__name__)

# The proposals whose expectation results are kept current: the ones still under review.
ACTIVE_STATES = (Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED, Proposal.State.APPROVED)

# The thread runner takes job ids; each job is one team's re-check. A team waiting for its job to
# start gets no second one (the job reads the version when it starts, so it sees every change
# made before); a change made once it started queues a new job.
_jobs: dict[int, int] = {}
_waiting: set[int] = set()
_running: dict[int, int] = {}  # team id -> its jobs running now
_asked: dict[int, float] = {}  # team id -> when its last change asked for a re-check (monotonic)
_lock = threading.Lock()
_ids = itertools.count(1)


def _run_job(job: int) -> None:
    delay = float(settings.NETPOL_RECHECK_DELAY)
    with _lock:
        team_id = _jobs[job]
        # A team whose expectations keep changing does not hold the thread for ever.
        latest_start = _asked.get(team_id, time.monotonic()) + 5 * delay
    while True:  # wait until NETPOL_RECHECK_DELAY has passed since the team's last change
        with _lock:
            left = min(_asked.get(team_id, 0.0) + delay, latest_start) - time.monotonic()
            if left <= 0:
                del _jobs[job]
                _waiting.discard(team_id)
                _asked.pop(team_id, None)
                _running[team_id] = _running.get(team_id, 0) + 1
                break
        time.sleep(min(left, 1.0))  # a change meanwhile moves the start on: look again
    try:
        recheck_expectations(team_id=team_id)
    finally:
        with _lock:
            _running[team_id] -= 1
            if not _running[team_id]:
                del _running[team_id]


_background: BackgroundRunner[int] = BackgroundRunner(_run_job, name="netpol-rechecks")


def queue_recheck(*, team_id: int) -> None:
    """Queue a re-check of the team's stored results (after the COMMIT of a change), unless one
    is waiting to start: that one will see this change."""
    if str(settings.NETPOL_ANALYSIS_RUNNER) == "thread":
        with _lock:
            _asked[team_id] = time.monotonic()
            if team_id in _waiting:
                return
            job = next(_ids)
            _jobs[job] = team_id
            _waiting.add(team_id)
        _background.submit(job)
        return
    now = timezone.now()
    # A queued re-check sent longer ago than NETPOL_REPUBLISH_AFTER may have been lost (a Redis
    # restart): then this change sends another.
    lost = now - timedelta(seconds=float(settings.NETPOL_REPUBLISH_AFTER))
    if not Team.objects.filter(Q(recheck_queued__isnull=True) | Q(recheck_queued__lt=lost), id=team_id).update(
            recheck_queued=now):
        return
    if not publish_recheck(team_id=team_id, delay=float(settings.NETPOL_RECHECK_DELAY)):
        # The results stay marked outdated; the sweep of stuck work (services.recovery) queues the
        # re-check again once the broker answers.
        Team.objects.filter(id=team_id).update(recheck_pending=True, recheck_queued=None)


def publish_recheck(*, team_id: int, delay: float = 0.0) -> bool:
    """Send a team's re-check to the Celery workers, to start ``delay`` seconds from now; False when
    the broker cannot take it."""
    try:
        tasks.recheck_expectations.apply_async((team_id,), **({"countdown": delay} if delay else {}))
    except (BrokerError, OSError) as exc:
        logger.warning("team %s: the re-check of its expectations could not be queued (%s)", team_id, exc)
        return False
    return True


def resume_recheck(*, team: Team) -> None:
    """With the thread runner, queue again the re-check of a team whose results are outdated
    although this process has none queued or running (a stopped server left it); pages call it
    when they find an outdated result."""
    if str(settings.NETPOL_ANALYSIS_RUNNER) != "thread":
        return
    with _lock:
        known = team.id in _waiting or team.id in _running
    if not known:
        queue_recheck(team_id=team.id)


def wait_for_rechecks(timeout: float | None = None) -> bool:
    """Block until this process's background re-checks are done (tests)."""
    return _background.wait(timeout)


def stored_version(analysis: Analysis) -> int:
    """The expectations version an analysis checked; analyses stored before versions checked the
    team's expectations as they were then, version 0."""
    return int(analysis.result_part("expectations_version") or 0)


def _store_analysis(analysis_id: int, report: dict[str, Any] | None, version: int) -> None:
    with transaction.atomic():
        row = Analysis.objects.select_for_update().filter(id=analysis_id).first()
        if row is None or row.result is None or int(row.result.get("expectations_version") or 0) >= version:
            return  # gone, or a newer check got there first
        row.result = {**row.result, "expectations": report, "expectations_version": version}
        row.save(update_fields=["result"])


def refresh_analysis(*, analysis: Analysis, checked: ExpectationSet | None = None) -> dict[str, Any] | None:
    """The analysis' expectation report at the current version (``checked``, else the team's now),
    checked again and stored when it is older."""
    snapshot = analysis.snapshot
    checked = checked or ExpectationSet.of(snapshot.team)
    if stored_version(analysis) == checked.version:
        stored: dict[str, Any] | None = analysis.result_part("expectations")
        return stored
    report = checked.check(snapshot_cluster(snapshot=snapshot), get_graph(snapshot=snapshot, level="pod"))
    _store_analysis(analysis.id, report, checked.version)
    return report


def _finished(snapshot: Snapshot) -> Analysis | None:
    return snapshot.analyses.without_graphs().done().select_related("snapshot__team").first()


def proposal_expectations(*, base: Snapshot, proposed: Snapshot, checked: ExpectationSet) -> list[dict[str, Any]]:
    """Each expectation's result on ``proposed`` against ``base`` (compare_checks), both checked
    with ``checked``; the analyses of both must be done."""
    reports = []
    for snapshot in (base, proposed):
        analysis = _finished(snapshot)
        if analysis is None:
            raise Analysis.DoesNotExist(f"snapshot {snapshot.id} has no finished analysis")
        reports.append(refresh_analysis(analysis=analysis, checked=checked))
    return compare_checks(*reports)


def _refresh_proposal(proposal: Proposal, checked: ExpectationSet) -> None:
    if proposal.expectations_version == checked.version:
        return
    try:
        results = proposal_expectations(base=proposal.base, proposed=proposal.proposed, checked=checked)
    except Analysis.DoesNotExist:
        return  # its own run (run_proposal) checks it when the analyses are done
    fields = {"expectations": results, "expectations_version": checked.version}
    # Only the revision that was read: a new revision submitted meanwhile has its own run.
    Proposal.objects.filter(id=proposal.id, revision=proposal.revision).update(**fields)
    ProposalRevision.objects.filter(proposal_id=proposal.id, number=proposal.revision).update(**fields)


def recheck_expectations(*, team_id: int) -> None:
    """Bring every stored expectation result of the team to its current version. When the
    expectations change meanwhile, stop: that change queued the next re-check."""
    Team.objects.filter(id=team_id).update(recheck_queued=None)  # before reading the version: see above
    team = Team.objects.filter(id=team_id).first()
    if team is None:
        return
    checked = ExpectationSet.of(team)

    def outdated() -> bool:
        if Team.objects.filter(id=team_id, expectations_version=checked.version).exists():
            return False
        logger.info("team %s: its expectations changed during their re-check; the next re-check takes over",
                    team_id)
        return True

    proposals = (team.proposals.filter(state__in=ACTIVE_STATES, status=Proposal.Status.READY)
                 .select_related("base", "proposed", "team").order_by("-updated", "-id"))
    for proposal in proposals:
        if outdated():
            return
        _refresh_proposal(proposal, checked)
    for snapshot in team.snapshots.order_by("-created", "-id"):
        analysis = _finished(snapshot)
        if analysis is None:
            continue  # its analysis checks the expectations when it runs
        if outdated():
            return
        try:
            refresh_analysis(analysis=analysis, checked=checked)
        except engine.PolicyError as exc:  # its files no longer parse (a newer engine)
            logger.warning("snapshot %s: expectations not checked again: %s", snapshot.id, exc)


def expectations_state(*, team: Team, version: int | None) -> str:
    """"current" when a result checked ``version`` is of the team's current expectations,
    "rechecking" when they changed since (a re-check is queued or running)."""
    return "current" if version == team.expectations_version else "rechecking"
