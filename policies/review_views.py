"""Pages of team review: propose a change of a snapshot, list proposals, the proposal page and its
review form. A team's proposals are found by its members only (404 for others)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from policies import access, audit, pages, services, teams
from policies.forms import ProposalForm, ReviewForm, RevisionForm
from policies.models import Membership, Proposal, Snapshot, TeamExpectation


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    proposals = access.visible_to(Proposal.objects.all(), request.user).select_related("team", "author", "base")
    return render(request, "policies/proposal_list.html", {"proposals": proposals})


@login_required
def propose(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    access.require_role(request.user, snapshot.team, Membership.Role.AUTHOR, "propose changes")
    error: services.PolicyError | None = None
    form = ProposalForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        manifests, delete = _change(form)
        try:
            proposal = services.create_proposal(base=snapshot, title=form.cleaned_data["title"], user=request.user,
                                                manifests=manifests, delete=delete)
        except services.PolicyError as exc:
            error = exc
        else:
            return redirect("policies:proposal", proposal.id)
    status = 400 if request.method == "POST" else 200
    ctx = {"snapshot": snapshot, "section": "propose", "form": form, "error": error}
    return render(request, "policies/propose.html", ctx, status=status)


def _change(form: ProposalForm | RevisionForm) -> tuple[str, list[str]]:
    """The YAML (pasted, then each file) and the policies to delete that a proposal form holds."""
    texts = [services.decode_file(name=f.name, data=f.read()) for f in form.cleaned_data["files"]]
    pasted = form.cleaned_data["manifests"] or ""
    manifests = "\n---\n".join(t.strip("\n") for t in [pasted, *texts] if t.strip())
    delete = [line.strip() for line in form.cleaned_data["delete"].splitlines() if line.strip()]
    return manifests, delete


def _revision(request: HttpRequest) -> int | None:
    """The ?revision= asked for; None when absent or not a revision number."""
    text = request.GET.get("revision", "")
    return int(text) if text.isdigit() and len(text) <= 9 else None


@login_required
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access.get_visible_or_404(
        Proposal.objects.select_related("team", "author", "base", "proposed"), request.user, id=proposal_id)
    page = pages.proposal.proposal_page(proposal, request.user, revision=_revision(request))
    if page.expectations_state == "rechecking":
        services.resume_recheck(team=proposal.team)
    revise_form = RevisionForm(initial={"manifests": proposal.manifests, "delete": "\n".join(proposal.deleted)})
    ctx = {"p": page, "proposal": proposal, "form": ReviewForm(), "revise_form": revise_form}
    return render(request, "policies/proposal.html", ctx)


@login_required
@require_POST
def proposal_revise(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The author's next revision of the proposal, from the form on its page."""
    proposal = access.get_visible_or_404(Proposal.objects.select_related("team", "base"), request.user,
                                         id=proposal_id)
    form = RevisionForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "That revision was not understood: " + form.errors.as_text())
        return redirect("policies:proposal", proposal.id)
    manifests, delete = _change(form)
    try:
        revision = services.revise_proposal(proposal=proposal, user=request.user, manifests=manifests,
                                            delete=delete, body=form.cleaned_data["body"])
    except (services.PolicyError, services.InvalidTransition) as exc:
        messages.error(request, f"The revision was not submitted: {exc}")
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not do that.")
    else:
        messages.success(request, f"Revision {revision.number} submitted: it is being analysed.")
    return redirect("policies:proposal", proposal.id)


@login_required
@require_POST
def proposal_review(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access.get_visible_or_404(Proposal.objects.select_related("team"), request.user, id=proposal_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That review was not understood: " + form.errors.as_text())
        return redirect("policies:proposal", proposal.id)
    try:
        services.add_review(proposal=proposal, user=request.user, **form.cleaned_data)
    except (services.PolicyError, services.InvalidTransition) as exc:
        messages.error(request, str(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not do that.")
    else:
        done = {"comment": "Comment added.", "approve": "Approved.", "request_changes": "Changes requested.",
                "close": "Closed.", "reopen": "Reopened.", "apply": "Marked applied."}
        messages.success(request, done[form.cleaned_data["decision"]])
    return redirect("policies:proposal", proposal.id)


@login_required
def team_expectations(request: HttpRequest, team_name: str) -> HttpResponse:
    """A team's expectations; its admins paste entries of an expectations file to add or replace them."""
    team = get_object_or_404(access.teams_of(request.user), name=team_name)
    is_admin = access.has_role(request.user, team, Membership.Role.ADMIN)
    error: services.PolicyError | None = None
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied(f"only a team admin may change the expectations of team {team.name}")
        delete = request.POST.get("delete", "")
        try:
            if delete:
                removed = TeamExpectation.objects.get(team=team, name=delete)
                audit.record(request.user, "deleted an expectation", removed, {"team": team.name})
                services.delete_expectation(item=removed)
            else:
                for item in services.import_expectations(team=team, text=request.POST.get("text", ""),
                                                         user=request.user):
                    audit.record(request.user, "changed an expectation", item, {"team": team.name})
        except TeamExpectation.DoesNotExist:
            status = 404
        except services.PolicyError as exc:
            error, status = exc, 400
        else:
            return redirect("policies:team-expectations", team.name)
    items = TeamExpectation.objects.filter(team=team)
    ctx = {"team": team, "items": items, "is_admin": is_admin, "error": error, "text": request.POST.get("text", "")}
    return render(request, "policies/team_expectations.html", ctx, status=status)


@login_required
def team_detail(request: HttpRequest, team_name: str) -> HttpResponse:
    """A team's members; its admins add members, change roles and remove them."""
    team = get_object_or_404(access.teams_of(request.user), name=team_name)
    is_admin = access.has_role(request.user, team, Membership.Role.ADMIN)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied(f"only a team admin may manage the members of team {team.name}")
        username = request.POST.get("username", "").strip()
        try:
            if request.POST.get("remove"):
                teams.remove_member(team=team, username=username)
                audit.record(request.user, "removed a member from", team, {"username": username})
            else:
                role = request.POST.get("role", "")
                teams.add_member(team=team, username=username, role=role)
                audit.record(request.user, "set a member's role in", team, {"username": username, "role": role})
        except teams.TeamError as exc:
            messages.error(request, str(exc))
        return redirect("policies:team", team.name)
    members = team.memberships.select_related("user").order_by("user__username")
    ctx = {"team": team, "members": members, "is_admin": is_admin, "roles": Membership.Role.choices}
    return render(request, "policies/team.html", ctx)


@login_required
def proposal_graph(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The proposed snapshot's graph with the edges the change opens, closes and changes marked
    (drawn by change-graph.js from /api/proposals/{id}/graph/)."""
    proposal = access.get_visible_or_404(Proposal.objects.select_related("team", "base"), request.user,
                                         id=proposal_id)
    number = _revision(request) or proposal.revision
    shown = get_object_or_404(proposal.revisions.select_related("proposed"), number=number)
    level = request.GET.get("level", "")
    config = {
        "url": reverse("api:proposal-graph", args=[proposal.id]),
        "revision": number,
        "level": level if level in services.CHANGE_GRAPH_LEVELS else "",
        "only": request.GET.get("only", "") == "changed",
        "status": shown.status,
        "error": shown.error,
    }
    ctx = {"proposal": proposal, "shown": shown, "config": config, "levels": services.CHANGE_GRAPH_LEVELS}
    return render(request, "policies/proposal_graph.html", ctx)
