from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from policies import access, audit, engine, services, teams
from policies.api import serializers as s
from policies.api.pagination import NOT_PAGED, refuse_pages
from policies.api.rendered import json_answer, wants_json
from policies.models import Analysis, ClusterConnection, Membership, Proposal, Resource, Snapshot


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: bad input for the engine is 400 with its message, and asking
    for the results of an unfinished analysis is 409 with that analysis; a broker that is down is
    503 (the snapshot is stored and its analysis stays queued until the broker is back)."""
    if isinstance(exc, engine.PolicyError):
        set_rollback()
        return Response({"detail": str(exc), "error": exc.to_dict()}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, services.AnalysisNotReady):
        analysis = None
        if exc.analysis is not None:
            analysis = s.AnalysisSerializer(exc.analysis, context={"request": context["request"]}).data
        return Response({"detail": str(exc), "analysis": analysis}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, services.InvalidTransition):
        set_rollback()
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, services.QueueUnavailable):
        analysis = s.AnalysisSerializer(exc.analysis, context={"request": context["request"]}).data
        body = {"detail": str(exc), "snapshot": exc.analysis.snapshot_id, "analysis": analysis}
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})
    return drf_exception_handler(exc, context)


def query(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters (400 when invalid)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def engine_dict_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description)


NOT_READY = OpenApiResponse(OpenApiTypes.OBJECT, description="The snapshot's analysis has not finished.")
class SnapshotViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Snapshots: immutable sets of manifests. Uploading one queues its analysis."""

    serializer_class = s.SnapshotSerializer

    # Actions that answer from the snapshot's analysis: they need the row, not the serializer's
    # counts, files and analyses (at 5,000 pods, counting the resources and fetching every file's
    # text cost more than the answer).
    ANSWER_ACTIONS = frozenset({"graph", "explain", "diff", "pods", "pod"})

    def get_queryset(self) -> QuerySet[Snapshot]:
        if self.action in self.ANSWER_ACTIONS:
            return access.visible_snapshots(self.request.user)
        queryset = (
            access.visible_snapshots(self.request.user)
            .select_related("created_by", "team")
            .annotate(resource_count=Count("resources", distinct=True))
            .prefetch_related(
                "files", Prefetch("analyses", queryset=Analysis.objects.without_graphs().order_by("-created", "-id"))
            )
            .order_by("-created", "-id")
        )
        origin = self.request.query_params.get("origin")
        if origin:
            queryset = queryset.filter(origin=origin)
        return queryset

    @extend_schema(
        request={
            "multipart/form-data": s.SnapshotUploadSerializer,
            "application/json": s.SnapshotUploadJSONSerializer,
        },
        responses={
            201: s.SnapshotSerializer,
            400: engine_dict_response("Invalid manifests."),
            413: None,
            503: engine_dict_response("The analysis queue is down: the snapshot is stored, its analysis queued."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Refuse an oversized body before reading it.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.NETPOL_MAX_UPLOAD_BYTES:
            raise s.too_large(length)
        upload = s.SnapshotUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            team = teams.team_for_upload(user=request.user, name=upload.validated_data["team"])
        except teams.TeamError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        files = upload.validated_data["files"]
        try:
            snapshot = services.create_snapshot(
                name=upload.validated_data["name"], files=files, user=request.user, team=team
            )
        except services.QueueUnavailable as exc:
            audit.record(request.user, "uploaded", exc.analysis.snapshot, {"files": len(files), "via": "api"})
            raise
        audit.record(request.user, "uploaded", snapshot, {"files": len(files), "via": "api"})
        snapshot = self.get_queryset().get(id=snapshot.id)
        data = s.SnapshotSerializer(snapshot, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Proposals review the snapshot.")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Snapshot) -> None:
        access.require_role(self.request.user, instance.team, Membership.Role.AUTHOR, "delete snapshots")
        proposals = Proposal.objects.filter(Q(base=instance) | Q(proposed=instance)).values_list("id", flat=True)
        if proposals:
            ids = ", ".join(str(i) for i in sorted(proposals))
            raise services.InvalidTransition(f"proposals {ids} review this snapshot: it is kept while they exist")
        instance.delete()

    @extend_schema(
        request=None,
        responses={202: s.AnalysisSerializer, 503: engine_dict_response("The analysis queue is down.")},
    )
    @action(detail=True, methods=["post"])
    def analyze(self, request: Request, pk: str | None = None) -> Response:
        """Analyse the snapshot again (for example after an engine upgrade)."""
        snapshot = self.get_object()
        access.require_role(request.user, snapshot.team, Membership.Role.AUTHOR, "analyse snapshots")
        started = services.start_analysis(snapshot=snapshot)
        audit.record(request.user, "requested an analysis of", snapshot, {"analysis": started.id})
        analysis = Analysis.objects.without_graphs().get(id=started.id)  # it may already have run in-process
        data = s.AnalysisSerializer(analysis, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])})

    @extend_schema(
        parameters=[s.GraphQuerySerializer],
        responses={
            200: engine_dict_response("The graph: evaluator, level, nodes and edges."),
            409: NOT_READY,
        },
    )
    @action(detail=True, methods=["get"])
    def graph(self, request: Request, pk: str | None = None) -> HttpResponse | StreamingHttpResponse | Response:
        params = query(s.GraphQuerySerializer, request)
        snapshot = self.get_object()
        if params.get("namespace") is None and wants_json(request):
            chunks = services.graph_json_chunks(snapshot=snapshot, level=params["level"])
            if chunks is not None:  # a large pod graph: written as it is read, never held whole
                return StreamingHttpResponse(chunks, content_type="application/json")
        graph = services.get_graph(snapshot=snapshot, level=params["level"], namespace=params.get("namespace"))
        return json_answer(request, graph)

    @extend_schema(
        parameters=[s.ExplainQuerySerializer],
        responses={200: engine_dict_response("Why the flow is allowed or denied."), 400: None},
    )
    @action(detail=True, methods=["get"])
    def explain(self, request: Request, pk: str | None = None) -> Response:
        params = query(s.ExplainQuerySerializer, request)
        explanation = services.explain_flow(
            snapshot=self.get_object(),
            source=params["from"],
            destination=params["to"],
            port=params.get("port"),
            protocol=params["protocol"],
            icmp_type=params.get("icmp_type"),
            icmp_code=params.get("icmp_code"),
            evaluator=params["evaluator"],
            suggest=params["suggest"],
        )
        return Response(explanation)

    @extend_schema(
        parameters=[s.DiffQuerySerializer],
        responses={200: engine_dict_response("Edges added, removed and changed."), 409: NOT_READY},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str | None = None) -> HttpResponse | Response:
        """What changes from snapshot `against` (old) to this one (new)."""
        params = query(s.DiffQuerySerializer, request)
        old = access.get_visible_or_404(Snapshot, request.user, id=params["against"])
        return json_answer(request, services.diff_snapshots(old=old, new=self.get_object(), level=params["level"]))

    @extend_schema(
        parameters=[OpenApiParameter("namespace", str, description="Only the pods of this namespace.")],
        responses={200: s.PodSerializer(many=True), 400: NOT_PAGED, 409: NOT_READY},
    )
    @action(detail=True, methods=["get"], pagination_class=None)  # one list, not pages
    def pods(self, request: Request, pk: str | None = None) -> Response:
        """The snapshot's pods, each with the policies that select it and its neighbours."""
        refuse_pages(request)
        pods = services.list_pods(snapshot=self.get_object())
        namespace = request.query_params.get("namespace")
        if namespace:
            pods = [pod for pod in pods if pod["namespace"] == namespace]
        return Response(pods)

    @extend_schema(responses={200: s.PodSerializer, 404: None, 409: NOT_READY})
    @action(
        detail=True,
        methods=["get"],
        # A pod id is namespace/pod, or namespace/Kind/name for a pod from a workload template.
        url_path=r"pods/(?P<pod_id>[^/]+/[^/]+(?:/[^/]+)?)",
        url_name="pod-detail",
    )
    def pod(self, request: Request, pod_id: str, pk: str | None = None) -> Response:
        pod = services.get_pod(snapshot=self.get_object(), pod_id=pod_id)
        if pod is None:
            raise Http404(f"No pod {pod_id} in this snapshot.")
        return Response(pod)


class ClusterViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cluster connections: register one (a kubeconfig, stored encrypted and never returned, or the
    in-cluster service account), sync it now, read its history."""

    serializer_class = s.ClusterConnectionSerializer
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9_-]+"

    def get_queryset(self) -> QuerySet[ClusterConnection]:
        """Only the connections of the user's teams: another team's is a 404."""
        return access.visible_to(ClusterConnection.objects.select_related("team"), self.request.user)

    @extend_schema(
        request={"multipart/form-data": s.ClusterCreateSerializer, "application/json": s.ClusterCreateJSONSerializer},
        responses={201: s.ClusterConnectionSerializer, 400: None},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = s.ClusterCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            team = teams.team_for_upload(user=request.user, name=data["team"], what="clusters")
        except teams.TeamError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        try:
            connection = services.add_cluster(
                name=data["name"],
                kubeconfig=None if data["in_cluster"] else data["kubeconfig_text"],
                context=data["context"],
                interval_minutes=data["interval_minutes"],
                user=request.user,
                team=team,
            )
        except services.InvalidConnection as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = s.ClusterConnectionSerializer(connection, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(
        request=None,
        responses={
            200: s.SyncOutcomeSerializer,
            403: OpenApiResponse(description="Only a team author or above may sync."),
            409: OpenApiResponse(description="Another sync of this cluster is running."),
            502: OpenApiResponse(description="The cluster could not be read; the reason is in detail."),
        },
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, name: str | None = None) -> Response:
        """Sync now and wait for it: {"snapshot": id or null, "created": bool, "warnings": [...]}."""
        connection = self.get_object()
        access.require_role(request.user, connection.team, Membership.Role.AUTHOR, "sync clusters")
        try:
            outcome = services.sync_cluster(connection=connection, user=request.user)
        except services.SyncFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        except services.SyncInProgress as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(outcome.to_dict())

    @extend_schema(request=None, responses={200: s.ClusterSyncSerializer(many=True), 400: NOT_PAGED})
    @action(detail=True, methods=["get"], pagination_class=None)  # the last 100, one list
    def syncs(self, request: Request, name: str | None = None) -> Response:
        """The history, newest first: each sync, and what a new snapshot changed against the one before."""
        refuse_pages(request)
        connection = self.get_object()
        syncs = list(connection.syncs.all()[:100])
        services.fill_changes(syncs)
        return Response(s.ClusterSyncSerializer(syncs, many=True).data)


class AnalysisViewSet(viewsets.ReadOnlyModelViewSet):
    """Analyses: status, progress, timings, summary and lint findings."""

    serializer_class = s.AnalysisSerializer

    def get_queryset(self) -> QuerySet[Analysis]:
        queryset = access.visible_to(Analysis.objects.without_graphs(), self.request.user, team_field="snapshot__team")
        snapshot = self.request.query_params.get("snapshot")
        if snapshot and snapshot.isdigit():
            queryset = queryset.filter(snapshot_id=int(snapshot))
        return queryset

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.resume_analysis(analysis=self.get_object())  # one a stopped server left unfinished
        return super().retrieve(request, *args, **kwargs)


class ResourceViewSet(viewsets.ReadOnlyModelViewSet):
    """Resources: every object of every snapshot, with its text and origin.
    Filter with ?snapshot=, ?kind= and ?namespace=."""

    serializer_class = s.ResourceSerializer

    def get_queryset(self) -> QuerySet[Resource]:
        queryset = access.visible_to(
            Resource.objects.select_related("file"), self.request.user, team_field="snapshot__team"
        )
        params = self.request.query_params
        if params.get("snapshot", "").isdigit():
            queryset = queryset.filter(snapshot_id=int(params["snapshot"]))
        if params.get("kind"):
            queryset = queryset.filter(kind=params["kind"])
        if "namespace" in params:
            queryset = queryset.filter(namespace=params["namespace"])
        return queryset


class PolicyViewSet(viewsets.ReadOnlyModelViewSet):
    """Policies (Kubernetes and Calico), each with the pods it selects. Filter with ?snapshot=."""

    serializer_class = s.PolicySerializer

    def get_queryset(self) -> QuerySet[Resource]:
        snapshot = self.request.query_params.get("snapshot", "")
        queryset = services.policies_of(snapshot_id=int(snapshot) if snapshot.isdigit() else None)
        queryset = access.visible_to(queryset, self.request.user, team_field="snapshot__team")
        if "namespace" in self.request.query_params:
            queryset = queryset.filter(namespace=self.request.query_params["namespace"])
        result: QuerySet[Resource] = queryset
        return result


@extend_schema(responses={200: OpenApiTypes.OBJECT}, auth=[])
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request: Request) -> Response:
    """For load balancers and docker compose: the site is up and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Response({"status": "ok"})
