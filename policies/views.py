from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_POST

from policies import access, audit, pages, services, teams
from policies.forms import PASTED_FILE_NAME, ClusterForm, DriftForm, FlowForm, UploadForm
from policies.models import Analysis, ClusterConnection, Membership, Resource, Snapshot

GRAPH_COLLAPSE_ABOVE = 150  # a workload graph with more nodes starts collapsed to namespaces
# Above this many pods the policy page works out "what if it were deleted" (a second graph)
# only when asked, so that the page itself stays quick.
IMPACT_INLINE_MAX_PODS = 300
EXPORT_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "dot": "text/vnd.graphviz",
}


def _snapshot_context(snapshot: Snapshot, section: str) -> dict[str, Any]:
    return {"snapshot": snapshot, "section": section}


@login_required
def snapshot_list(request: HttpRequest) -> HttpResponse:
    ctx = {
        "rows": pages.listing.snapshot_rows(access.visible_snapshots(request.user)),
        "form": UploadForm(),
        "upload_teams": pages.listing.upload_teams(request.user),
    }
    return render(request, "policies/snapshot_list.html", ctx)


@login_required
@require_POST
def load_demo(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    loaded = services.load_demo(user=user)
    created = sum(1 for _, new in loaded if new)
    for snapshot, new in loaded:
        if new:
            audit.record(request.user, "loaded the demo", snapshot)
    messages.success(
        request,
        f"Loaded {pages.words.plural(len(loaded), 'demo snapshot')} ({created} new).",
    )
    return redirect("policies:snapshot-list")


def _read_uploads(form: UploadForm) -> list[tuple[str, str]]:
    """(name, text) of every file the form brings: kept files from the last try (a new file of the
    same name replaces its kept copy), new files, and the pasted text."""
    files = dict(form.cleaned_data["kept_files"])
    for upload in form.cleaned_data["files"]:
        files[upload.name] = services.decode_file(name=upload.name, data=upload.read())
    pasted = form.cleaned_data.get("manifests") or ""
    if pasted.strip():
        files[PASTED_FILE_NAME] = pasted
    return list(files.items())


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    error: services.PolicyError | None = None
    context_lines = None
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if request.method == "POST" and length > settings.NETPOL_MAX_UPLOAD_BYTES:
        # The API's limit, checked before the body is read (nothing of it comes back in the page).
        limit = settings.NETPOL_MAX_UPLOAD_BYTES
        error = services.PolicyError(f"the upload is {length} bytes; the limit is {limit} bytes")
        return render(request, "policies/upload.html", {"form": UploadForm(), "error": error}, status=413)
    if request.method == "POST":
        token = request.POST.get("draft", "")
        kept = services.kept_files(user=request.user, token=token) if token else []
        form = UploadForm(request.POST, request.FILES, kept=kept)
        if form.is_valid():
            files: list[tuple[str, str]] = []
            try:
                team = teams.team_for_upload(user=request.user, name=form.cleaned_data["team"])
                files = _read_uploads(form)
                snapshot = services.create_snapshot(
                    name=form.cleaned_data["name"], files=files, user=request.user, team=team
                )
            except teams.TeamError as exc:
                form.add_error("team", str(exc))
            except services.PolicyError as exc:
                error = exc
                context_lines = pages.listing.error_context(exc, files)
                form = _form_keeping_files(request, files)
            except services.QueueUnavailable as exc:
                services.drop_draft(user=request.user, token=token)
                snapshot = exc.analysis.snapshot
                audit.record(request.user, "uploaded", snapshot, {"files": len(files), "via": "page"})
                messages.warning(request, f"Snapshot “{snapshot.name}” stored, but {exc}.")
                return redirect("policies:snapshot", snapshot.id)
            else:
                services.drop_draft(user=request.user, token=token)
                audit.record(request.user, "uploaded", snapshot, {"files": len(files), "via": "page"})
                messages.success(request, f"Snapshot “{snapshot.name}” stored; its analysis has started.")
                return redirect("policies:snapshot", snapshot.id)
    else:
        form = UploadForm()
    status = 400 if error is not None or form.errors else 200
    ctx = {
        "form": form,
        "error": error,
        "error_lines": context_lines,
        "upload_teams": pages.listing.upload_teams(request.user),
    }
    return render(request, "policies/upload.html", ctx, status=status)


def _form_keeping_files(request: HttpRequest, files: list[tuple[str, str]]) -> UploadForm:
    """The form again after bad manifests, so that the next try needs only the fix: the pasted text
    stays in its field; the files stay on the server (a draft), offered by name, ticked."""
    kept = [(name, text) for name, text in files if name != PASTED_FILE_NAME]
    token = services.keep_files(user=request.user, files=kept)
    data = request.POST.copy()
    data["draft"] = token or ""
    data.setlist("keep", [name for name, _ in kept] if token else [])
    form = UploadForm(data, kept=services.kept_files(user=request.user, token=token) if token else [])
    form.is_valid()
    return form


@login_required
def snapshot_overview(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    analysis = pages.state.latest_analysis(snapshot)
    ctx = _snapshot_context(snapshot, "overview")
    ctx.update(pages.overview.overview(snapshot, analysis, request.GET))
    if ctx["expectations_rechecking"]:
        services.resume_recheck(team=snapshot.team)
    ctx.update(
        {
            "analysis": analysis,
            "analysis_state": pages.state.analysis_state(analysis),
            "input_error": pages.listing.input_error(snapshot, analysis),
            "files": snapshot.files.all(),
            "policies": pages.overview.policy_page(snapshot, request.GET),
        }
    )
    ctx["compare_others"], ctx["compare_default"] = pages.compare.compare_choices(snapshot)
    return render(request, "policies/snapshot_overview.html", ctx)


@login_required
@require_POST
def reanalyze(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    access.require_role(request.user, snapshot.team, Membership.Role.AUTHOR, "analyse snapshots")
    try:
        started = services.start_analysis(snapshot=snapshot)
    except services.QueueUnavailable as exc:
        messages.warning(request, f"The analysis is queued, but {exc}.")
        return redirect("policies:snapshot", snapshot.id)
    audit.record(request.user, "requested an analysis of", snapshot, {"analysis": started.id})
    messages.info(request, "An analysis is queued." if started.status == "queued" else "The analysis is running.")
    return redirect("policies:snapshot", snapshot.id)


def _graph_workloads(snapshot: Snapshot, summary: dict[str, Any]) -> int:
    """The workloads the graph will draw; before the analysis is done, the pods (as many or more),
    and before an upload's objects are read, a guess from its size (a kilobyte per object)."""
    counts = summary.get("counts") or {}
    if "workloads" in counts:
        return int(counts["workloads"])
    if not snapshot.objects_stored:
        size = snapshot.files.aggregate(size=Sum(Length("text")))["size"] or 0
        return int(size) // 1000
    return snapshot.resources.filter(kind="Pod").count()


@login_required
def graph(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    analysis = pages.state.latest_analysis(snapshot)
    summary: dict[str, Any] = {}
    if analysis is not None and analysis.status == Analysis.Status.DONE:
        summary = analysis.result_part("summary") or {}
    state = pages.state.analysis_state(analysis)
    headline = pages.overview.headline_ids(summary)
    against = request.GET.get("against", "")
    old = None
    if against.isdigit():
        old = access.get_visible_or_404(Snapshot, request.user, id=int(against))
        headline["changed"] = pages.graph.changed_ids(old, snapshot)  # the "only what changed" filter
    resources = pages.state.policy_resources(snapshot)
    config = {
        "snapshot": snapshot.id,
        "analysis": state,
        "collapse_above": GRAPH_COLLAPSE_ABOVE,
        # Above this many workloads the page opens at namespace level and fetches a namespace's
        # workloads when someone opens it: the whole workload graph is never sent.
        "namespace_first": _graph_workloads(snapshot, summary) > settings.NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE,
        "headline": headline,
        "policy_urls": pages.graph.policy_urls(snapshot, resources),
        "policy_details": pages.graph.policy_details(snapshot, resources),
        "filename": f"netpol-snapshot-{snapshot.id}",
        "icons": {"shield": static("policies/shield.svg"), "globe": static("policies/globe.svg")},
        "urls": {
            "graph": reverse("api:snapshot-graph", args=[snapshot.id]),
            "explain": reverse("api:snapshot-explain", args=[snapshot.id]),
            "analysis": state["url"] if state else "",
            "flow": reverse("policies:flow", args=[snapshot.id]),
            "matrix": reverse("policies:matrix", args=[snapshot.id]),
        },
    }
    ctx = _snapshot_context(snapshot, "graph")
    ctx.update(
        {
            "config": config,
            "analysis": analysis,
            "params": request.GET,
            "headlines": pages.overview.HEADLINES,
            "against": old,
            "export_formats": list(EXPORT_TYPES),
        }
    )
    return render(request, "policies/graph.html", ctx)


@login_required
def graph_export(request: HttpRequest, snapshot_id: int, fmt: str) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    if fmt not in EXPORT_TYPES:
        raise Http404("Unknown export format.")
    level = request.GET.get("level", "workload")
    if level not in services.GRAPH_LEVELS:
        raise Http404("Unknown graph level.")
    try:
        text = services.render_graph(snapshot=snapshot, level=level, fmt=fmt)
    except services.AnalysisNotReady as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    response = HttpResponse(text, content_type=f"{EXPORT_TYPES[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="netpol-snapshot-{snapshot.id}-{level}.{fmt}"'
    return response


@login_required
def flow_check(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    # The form is bound once it was submitted (it always sends "port"); a link that names only
    # the two ends (from the matrix or the graph) fills the form without complaining.
    if "port" in request.GET:
        form = FlowForm(request.GET)
    else:
        form = FlowForm(initial={k: v for k, v in request.GET.items() if k in ("src", "dst", "protocol")})
    explanation = None
    trace = None
    suggestion: list[pages.flow.SuggestedChange] = []
    commands = None
    caveats = None
    if form.is_bound and form.is_valid():
        question = form.cleaned_data
        try:
            explanation = services.explain_flow(
                snapshot=snapshot,
                source=question["src"],
                destination=question["dst"],
                port=question["port"],
                protocol=question["protocol"],
                suggest=True,
            )
        except services.PolicyError as exc:
            form.add_error(_field_of(exc), str(exc.message))
        else:
            trace = pages.flow.flow_trace(snapshot, explanation)
            suggestion = pages.flow.suggested_changes(snapshot, explanation)
            caveats = pages.flow.explanation_warnings(explanation)
            commands = pages.flow.flow_commands(
                request.build_absolute_uri(reverse("api:snapshot-explain", args=[snapshot.id])),
                snapshot,
                source=question["src"],
                destination=question["dst"],
                port=question["port"],
                protocol=question["protocol"],
            )
    ctx = _snapshot_context(snapshot, "flow")
    ctx.update(
        {
            "form": form,
            "explanation": explanation,
            "trace": trace,
            "suggested_changes": suggestion,
            "caveats": caveats,
            "commands": commands,
            "endpoint_options": pages.flow.endpoint_options(snapshot),
        }
    )
    return render(request, "policies/flow.html", ctx, status=400 if form.errors else 200)


def _field_of(error: services.PolicyError) -> str | None:
    """The form field an engine error is about, when it names one (else the whole form)."""
    return {"from": "src", "to": "dst", "port": "port", "protocol": "protocol"}.get(error.path)


@login_required
def matrix(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    ctx = _snapshot_context(snapshot, "matrix")
    try:
        counts = services.namespace_counts(snapshot=snapshot)
    except services.AnalysisNotReady as exc:
        ctx["not_ready"] = str(exc)
        return render(request, "policies/matrix.html", ctx)
    groups = pages.matrix.matrix_groups(counts)
    source_ns = request.GET.get("from") or request.GET.get("ns") or ""
    target_ns = request.GET.get("to") or source_ns
    if source_ns and (source_ns not in groups or target_ns not in groups):
        raise Http404("No such namespace in this snapshot.")
    ctx.update({"groups": groups, "source_ns": source_ns, "target_ns": target_ns})
    if source_ns:
        pair = services.matrix_pair(
            snapshot=snapshot,
            source=pages.matrix.stored_group(source_ns),
            target=pages.matrix.stored_group(target_ns),
        )
        ctx["matrix"] = pages.matrix.workload_matrix(snapshot, pair, source_ns, target_ns)
    else:
        ctx["matrix"] = pages.matrix.namespace_matrix(snapshot, counts)
    return render(request, "policies/matrix.html", ctx)


@login_required
def compare(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    """What ``snapshot`` (the new one) opens or closes against ``?against=`` (the old one)."""
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    level = request.GET.get("level") or "workload"
    if level not in services.GRAPH_LEVELS:
        raise Http404("Unknown graph level.")
    against = request.GET.get("against", "")
    old = None
    if against:
        if not against.isdigit():
            raise Http404("No such snapshot to compare with.")
        old = access.get_visible_or_404(Snapshot, request.user, id=int(against))
    others, default = pages.compare.compare_choices(snapshot)
    ctx = _snapshot_context(snapshot, "compare")
    ctx.update(
        {
            "old": old,
            "others": others,
            "chosen": old.id if old is not None and old.id != snapshot.id else default,
            "level": level,
            "levels": services.GRAPH_LEVELS,
        }
    )
    if old is None:
        return render(request, "policies/compare.html", ctx)
    if old.id == snapshot.id:
        ctx["same"] = True
        return render(request, "policies/compare.html", ctx, status=400)
    # An unfinished analysis on either side is no error here (the API answers 409): the page says
    # so and links to its progress.
    ctx["waiting"] = pages.compare.compare_waiting(old, snapshot)
    if not ctx["waiting"]:
        try:
            ctx["comparison"] = pages.compare.comparison(old, snapshot, level)
        except services.AnalysisNotReady:
            ctx["waiting"] = pages.compare.compare_waiting(old, snapshot)
    # The first analysis still on its way: the page follows it and reloads when it is done.
    ctx["poll"] = next((w for w in ctx["waiting"] if w.running), None)
    return render(request, "policies/compare.html", ctx)


@login_required
def policy_detail(request: HttpRequest, snapshot_id: int, resource_id: int) -> HttpResponse:
    snapshot = access.get_visible_or_404(Snapshot, request.user, id=snapshot_id)
    policy = get_object_or_404(Resource.objects.select_related("file"), id=resource_id, snapshot=snapshot)
    if not policy.is_policy:
        raise Http404("That object is not a policy.")
    ctx = _snapshot_context(snapshot, "policy")
    placement = services.policy_placement(policy=policy)
    ctx.update(
        {
            "policy": policy,
            "listing": pages.source.listing(policy),
            "placement": placement,
            "tier_members": pages.policy.tier_members(snapshot, policy, placement) if placement else [],
        }
    )
    try:
        graph = services.get_graph(snapshot=snapshot, level="workload")
    except services.AnalysisNotReady as exc:
        ctx["not_ready"] = str(exc)
        return render(request, "policies/policy.html", ctx)
    try:
        selected = services.selected_pods(policy=policy)
    except services.PolicyError as exc:
        selected = []
        ctx["selection_error"] = str(exc)
    flows, unchecked = pages.policy.policy_flows(snapshot, policy, graph)
    workloads = pages.policy.selected_workloads(snapshot, selected)
    pods = pages.state.counts(snapshot, pages.state.latest_analysis(snapshot))["pods"]
    impact_asked = pods <= IMPACT_INLINE_MAX_PODS or request.GET.get("impact") == "1"
    ctx.update(
        {
            "selected": selected,
            "flows": flows,
            "unchecked": unchecked,
            "picture": pages.policy.policy_picture(policy, flows, workloads, graph),
            "impact_asked": impact_asked,
            "without": services.without_policy_diff(snapshot=snapshot, policy=policy) if impact_asked else None,
            "graph_url": reverse("policies:graph", args=[snapshot.id]),
        }
    )
    return render(request, "policies/policy.html", ctx)


# --- Clusters ---------------------------------------------------------------------------------


@login_required
def cluster_list(request: HttpRequest) -> HttpResponse:
    """The connections of the user's teams, and the form to add one (a kubeconfig upload or the
    in-cluster account) to a team where they are an author or above."""
    form = ClusterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team = teams.team_for_upload(user=request.user, name=data["team"], what="clusters")
            connection = services.add_cluster(
                name=data["name"],
                kubeconfig=None if data["in_cluster"] else data["kubeconfig_text"],
                context=data["context"],
                interval_minutes=data["interval_minutes"],
                user=request.user,
                team=team,
            )
        except teams.TeamError as exc:
            form.add_error("team", str(exc))
        except services.InvalidConnection as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Cluster “{connection.name}” added; its first sync has started.")
            services.queue_sync(connection=connection, user=request.user)
            return redirect("policies:cluster", connection.name)
    connections = access.visible_to(ClusterConnection.objects.select_related("team"), request.user)
    ctx = {
        "rows": pages.clusters.connection_rows(connections),
        "form": form,
        "upload_teams": pages.listing.upload_teams(request.user),
    }
    return render(request, "policies/cluster_list.html", ctx, status=400 if form.errors else 200)


@login_required
def cluster_detail(request: HttpRequest, name: str) -> HttpResponse:
    """One connection: how its syncs go (the last error, when it checked, the next try) and its
    history, each new snapshot with the flows it opened and closed."""
    connection = access.get_visible_or_404(ClusterConnection, request.user, name=name)
    latest = connection.snapshots.order_by("-created", "-id").first()
    ctx = {
        "connection": connection,
        "status": pages.clusters.status(connection),
        "history": pages.clusters.history_rows(connection),
        "latest": latest,
        "drift_choices": pages.clusters.drift_choices(access.visible_snapshots(request.user)),
    }
    return render(request, "policies/cluster_detail.html", ctx)


@login_required
@require_POST
def cluster_sync(request: HttpRequest, name: str) -> HttpResponse:
    connection = access.get_visible_or_404(ClusterConnection, request.user, name=name)
    access.require_role(request.user, connection.team, Membership.Role.AUTHOR, "sync clusters")
    services.queue_sync(connection=connection, user=request.user)
    messages.info(request, f"Sync of “{connection.name}” requested; its result shows below when it is done.")
    return redirect("policies:cluster", connection.name)


@login_required
def cluster_drift(request: HttpRequest, name: str) -> HttpResponse:
    """Drift: the compare page with the connection's latest snapshot after and an upload before."""
    connection = access.get_visible_or_404(ClusterConnection, request.user, name=name)
    form = DriftForm(request.GET)
    latest = connection.snapshots.order_by("-created", "-id").first()
    if latest is None:
        messages.error(request, "Nothing to compare yet: the cluster has not been synced.")
        return redirect("policies:cluster", connection.name)
    against = access.visible_snapshots(request.user)
    if not form.is_valid() or not against.filter(id=form.cleaned_data["against"]).exists():
        messages.error(request, "Choose an uploaded snapshot to compare the cluster with.")
        return redirect("policies:cluster", connection.name)
    return redirect(f"{reverse('policies:compare', args=[latest.id])}?against={form.cleaned_data['against']}")
