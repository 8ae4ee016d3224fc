"""The errors the services raise besides the engine's ``PolicyError``."""

from __future__ import annotations

from policies.models import Analysis

__all__ = ["AnalysisNotReady"]


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
