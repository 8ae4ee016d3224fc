"""Analyses never lost or stuck: the sweep every worker runs when it starts and then periodically.

- A running analysis whose heartbeat stopped (its worker was killed, or lost its database) is
  queued again and its message sent again; after NETPOL_MAX_ATTEMPTS starts it is failed with a
  message that says so, instead of showing "running" for ever.
- A queued analysis whose message was never sent (the broker was down at upload: the API
  answered 503) or was sent NETPOL_REPUBLISH_AFTER seconds ago (a Redis restart without
  persistence loses its queue) is sent again. A duplicate message is harmless: the first delivery
  claims the analysis (services.analyses.run_analysis).
- A team whose expectation re-check could not be queued (the broker was down when its expectations
  changed: ``Team.recheck_pending``) has it queued again once the broker takes messages, and so has
  one whose queued re-check (``Team.recheck_queued``) no worker started within
  NETPOL_REPUBLISH_AFTER seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from policies import engine
from policies.models import Analysis, Team
from policies.services.analyses import publish
from policies.services.rechecks import publish_recheck

__all__ = ["SweepReport", "sweep"]

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    unpublished: list[int] = field(default_factory=list)  # the broker is still down
    rechecks: list[int] = field(default_factory=list)  # teams whose queued re-check was sent again


def sweep() -> SweepReport:
    report = SweepReport()
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NETPOL_HEARTBEAT_STALE)
    stopped = Analysis.objects.defer("result").filter(status=Analysis.Status.RUNNING).filter(
        Q(heartbeat__lt=stale) | Q(heartbeat__isnull=True, started__lt=stale) | Q(heartbeat__isnull=True, started=None)
    )
    for analysis in stopped:
        same = Analysis.objects.filter(id=analysis.id, status=Analysis.Status.RUNNING, heartbeat=analysis.heartbeat)
        if analysis.attempts >= settings.NETPOL_MAX_ATTEMPTS:
            message = (
                f"the analysis was started {analysis.attempts} times and each time its worker stopped "
                "(killed, out of memory or restarted) before it finished"
            )
            if same.update(
                status=Analysis.Status.FAILED,
                error=message,
                progress_message="failed",
                finished=now,
                engine_version=engine.ENGINE_VERSION,
            ):
                report.failed.append(analysis.id)
            continue
        if same.update(
            status=Analysis.Status.QUEUED,
            progress=0.0,
            progress_message="queued again: the worker running it stopped",
            published=None,
        ):
            report.requeued.append(analysis.id)

    resend = now - timedelta(seconds=settings.NETPOL_REPUBLISH_AFTER)
    waiting = Analysis.objects.filter(status=Analysis.Status.QUEUED).filter(
        Q(published__isnull=True) | Q(published__lt=resend)
    )
    for analysis_id in waiting.order_by("created", "id").values_list("id", flat=True):
        if publish(analysis_id=analysis_id):
            report.published.append(analysis_id)
        else:
            report.unpublished.append(analysis_id)
            break  # the broker is down: the next sweep tries again
    if not report.unpublished:
        _resend_rechecks(report)
    if report.requeued or report.failed or report.published or report.rechecks:
        logger.info("sweep: %s", report)
    return report


def _resend_rechecks(report: SweepReport) -> None:
    """Queue again the expectation re-checks that could not be queued when they were asked for,
    and those sent NETPOL_REPUBLISH_AFTER seconds ago that no worker has started (a Redis restart
    may have lost them; a duplicate finds the results current and does nothing)."""
    lost = timezone.now() - timedelta(seconds=settings.NETPOL_REPUBLISH_AFTER)
    waiting = Q(recheck_pending=True) | Q(recheck_queued__lt=lost)
    for team_id in Team.objects.filter(waiting).order_by("id").values_list("id", flat=True):
        if not Team.objects.filter(waiting, id=team_id).update(recheck_pending=False, recheck_queued=timezone.now()):
            continue  # another sweep took it
        if not publish_recheck(team_id=team_id):
            Team.objects.filter(id=team_id).update(recheck_pending=True, recheck_queued=None)
            return  # the broker is down again: the next sweep tries again
        report.rechecks.append(team_id)
