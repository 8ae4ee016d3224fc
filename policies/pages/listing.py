"""The snapshot list and the upload page."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from policies import services
from policies.models import Analysis, Membership, Snapshot, Team
from policies.pages.source import Listing, numbered
from policies.pages.state import counts


def upload_teams(user: Any) -> list[str]:
    """The names of the teams ``user`` may add snapshots to (author or above), for the upload form."""
    if getattr(user, "is_staff", False):
        return list(Team.objects.values_list("name", flat=True))
    roles = [Membership.Role.AUTHOR, Membership.Role.REVIEWER, Membership.Role.ADMIN]
    mine = Team.objects.filter(memberships__user_id=user.pk, memberships__role__in=roles)
    return list(mine.values_list("name", flat=True))


def snapshot_rows(snapshots: QuerySet[Snapshot]) -> list[dict[str, Any]]:
    """The snapshot list: each snapshot with its latest analysis and counts."""
    rows = []
    newest_first = Analysis.objects.without_graphs().order_by("-created", "-id")
    for snapshot in snapshots.prefetch_related(Prefetch("analyses", queryset=newest_first)):
        analysis = next(iter(snapshot.analyses.all()), None)
        rows.append({"snapshot": snapshot, "analysis": analysis, "counts": counts(snapshot, analysis)})
    return rows


def input_error(snapshot: Snapshot, analysis: Analysis | None) -> dict[str, Any] | None:
    """Where the input of a failed analysis is wrong (file, document, line, field, message) and the
    lines around it, from the stored file; None when the analysis did not fail on bad input."""
    if analysis is None or analysis.status != Analysis.Status.FAILED or not analysis.error_detail:
        return None
    detail = analysis.error_detail
    error = services.PolicyError(
        str(detail.get("message") or analysis.error),
        file=str(detail.get("file") or ""),
        document=detail.get("document"),
        line=detail.get("line"),
        path=str(detail.get("path") or ""),
        obj=str(detail.get("object") or ""),
    )
    files = list(snapshot.files.filter(name=error.file).values_list("name", "text")) if error.file else []
    return {"error": error, "lines": error_context(error, files) if files else None}


def error_context(error: services.PolicyError, files: list[tuple[str, str]], around: int = 3) -> Listing | None:
    """The lines of the uploaded file around the error's line, the bad one marked."""
    if not error.line:
        return None
    text = next((t for name, t in files if name == error.file), None)
    if text is None and len(files) == 1:
        text = files[0][1]
    if text is None:
        return None
    lines = text.splitlines()
    start = max(1, error.line - around)
    end = min(len(lines), error.line + around)
    if start > end:
        return None
    return Listing(
        f"{error.file or 'pasted text'}, lines {start}-{end}", numbered(lines[start - 1 : end], start, bad=[error.line])
    )
