"""The errors the services raise besides the engine's ``PolicyError``."""

from __future__ import annotations

from policies.models import Analysis

__all__ = ["AnalysisNotReady", "InvalidTransition", "QueueUnavailable"]


class AnalysisNotReady(Exception):
    """The snapshot has no finished analysis to answer from (yet)."""

    def __init__(self, analysis: Analysis | None) -> None:
        self.analysis = analysis
        if analysis is None:
            message = "this snapshot has not been analysed"
        elif analysis.status == Analysis.Status.FAILED:
            message = f"the analysis of this snapshot failed: {analysis.error}"
        else:
            message = f"the analysis of this snapshot is {analysis.status}"
        super().__init__(message)


class QueueUnavailable(Exception):
    """The task queue (the broker) could not take an analysis. It is stored as queued and is sent
    when the broker is back (services.recovery.sweep, run by every worker)."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        super().__init__(
            f"the analysis queue is unavailable; snapshot {analysis.snapshot_id} is stored and its analysis "
            f"{analysis.id} will start when the queue is back"
        )


class InvalidTransition(Exception):
    """A proposal cannot take this decision in its present state (or before its analysis is ready)."""
