from __future__ import annotations

from typing import Any

import yaml
from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import APIException

from policies import services
from policies.api import fields
from policies.engine import canonical_protocol
from policies.forms import KUBECONFIG_MAX_BYTES
from policies.models import Analysis, ClusterConnection, ClusterSync, Resource, Snapshot, SnapshotFile


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The upload is too large."
    default_code = "payload_too_large"


def too_large(size: int) -> PayloadTooLarge:
    limit = settings.NETPOL_MAX_UPLOAD_BYTES
    return PayloadTooLarge(f"The upload is {size} bytes; the limit is {limit} bytes (NETPOL_MAX_UPLOAD_BYTES).")


class AnalysisSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:analysis-detail")
    summary = serializers.SerializerMethodField()
    lint = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    pod_graph_stored = serializers.SerializerMethodField()

    class Meta:
        model = Analysis
        fields = [
            "id",
            "url",
            "snapshot",
            "status",
            "progress",
            "progress_message",
            "attempts",
            "created",
            "started",
            "finished",
            "timings",
            "engine_version",
            "error",
            "error_detail",
            "summary",
            "lint",
            "notes",
            "pod_graph_stored",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True))  # null until the analysis finishes
    def get_summary(self, analysis: Analysis) -> dict[str, Any] | None:
        summary: dict[str, Any] | None = analysis.result_part("summary")
        return summary

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_lint(self, analysis: Analysis) -> list[dict[str, Any]]:
        return list(analysis.result_part("lint") or [])

    @extend_schema_field({"type": "array", "items": {}})
    def get_notes(self, analysis: Analysis) -> list[Any]:
        return list(analysis.result_part("notes") or [])

    def get_pod_graph_stored(self, analysis: Analysis) -> bool:
        return bool(analysis.result_part("pod_graph_stored"))


class SnapshotFileSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()

    class Meta:
        model = SnapshotFile
        fields = ["id", "name", "position", "lines"]
        read_only_fields = fields

    def get_lines(self, file: SnapshotFile) -> int:
        return file.text.count("\n") + (0 if file.text.endswith("\n") or not file.text else 1)


class SnapshotSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:snapshot-detail")
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True  # null: a demo or a synced snapshot
    )
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    files = SnapshotFileSerializer(many=True, read_only=True)
    resource_count = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "url",
            "name",
            "origin",
            "created",
            "created_by",
            "team",
            "files",
            "resource_count",
            "analysis",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_resource_count(self, snapshot: Snapshot) -> int | None:
        """The objects read from the files; null until an upload's analysis has read them."""
        if not snapshot.objects_stored:
            return None
        count = getattr(snapshot, "resource_count", None)  # annotated by the viewset's queryset
        return count if count is not None else snapshot.resources.count()

    @extend_schema_field(AnalysisSerializer(allow_null=True))
    def get_analysis(self, snapshot: Snapshot) -> dict[str, Any] | None:
        analyses = list(snapshot.analyses.all())  # newest first (Analysis.Meta.ordering)
        if not analyses:
            return None
        return AnalysisSerializer(analyses[0], context=self.context).data


class SnapshotUploadSerializer(serializers.Serializer):
    """An upload: multipart files, or manifests as text or as a list of objects (JSON)."""

    name = fields.Text(max_length=200, required=False, allow_blank=True, default="")
    team = fields.Text(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The name of the team the snapshot belongs to; a member of exactly one team may omit it.",
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        help_text="Multipart: one or more YAML or JSON manifest files.",
    )
    manifests = serializers.JSONField(
        required=False,
        help_text="YAML or JSON text; or a Kubernetes object or list of objects; or a list of "
        '{"name": file name, "text": file text}.',
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        files: list[tuple[str, str]] = []
        size = 0
        for upload in attrs.get("files", []):
            size += upload.size or 0
            if size > settings.NETPOL_MAX_UPLOAD_BYTES:
                raise too_large(size)
            files.append((upload.name, services.decode_file(name=upload.name, data=upload.read())))
        if "manifests" in attrs:
            files.extend(manifests_to_files(attrs["manifests"]))
        size = sum(len(text.encode()) for _, text in files)
        if size > settings.NETPOL_MAX_UPLOAD_BYTES:
            raise too_large(size)
        if not files:
            raise serializers.ValidationError({"files": "Upload at least one file, or send manifests."})
        return {"name": attrs.get("name", ""), "team": attrs.get("team", ""), "files": files}


class SnapshotUploadJSONSerializer(SnapshotUploadSerializer):
    """The JSON form of an upload, for the schema: files come only as multipart."""

    files = None  # type: ignore[assignment]


def manifests_to_files(manifests: Any) -> list[tuple[str, str]]:
    """The (file name, text) pairs that the JSON "manifests" value stands for."""
    if isinstance(manifests, str):
        return [("manifests.yaml", manifests)]
    if isinstance(manifests, dict):
        manifests = [manifests]
    if not isinstance(manifests, list) or not all(isinstance(item, dict) for item in manifests):
        raise serializers.ValidationError(
            {"manifests": "Expected text, an object, or a list of objects or of {name, text} files."}
        )
    files: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for item in manifests:
        (files if "text" in item and "kind" not in item else objects).append(item)
    result = []
    for i, item in enumerate(files):
        if not isinstance(item["text"], str):
            raise serializers.ValidationError({"manifests": f"File {i}: text must be a string."})
        result.append((str(item.get("name") or f"manifests-{i + 1}.yaml"), item["text"]))
    if objects:
        # One YAML document per object, so that errors point at a line the user can find.
        result.append(("manifests.yaml", yaml.safe_dump_all(objects, sort_keys=False)))
    return result


class ResourceSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:resource-detail")
    file: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Resource
        fields = [
            "id",
            "url",
            "snapshot",
            "kind",
            "api_version",
            "namespace",
            "name",
            "file",
            "document",
            "line",
            "end_line",
            "text",
            "policy_key",  # a policy's key, as traces and diffs name it ("" for other kinds)
        ]
        read_only_fields = fields


class PolicySerializer(ResourceSerializer):
    """A policy with the pods it selects and, when Calico evaluates the snapshot, where Calico runs
    it: its tier, the tier's order and its order in the tier (a Kubernetes NetworkPolicy runs in
    the default tier at order 1000). Outside Calico the three are null."""

    url = serializers.HyperlinkedIdentityField(view_name="api:policy-detail")
    selected_pods = serializers.SerializerMethodField()
    policy_kind = serializers.SerializerMethodField()
    tier = serializers.SerializerMethodField()
    tier_order = serializers.SerializerMethodField()
    order = serializers.SerializerMethodField()
    staged = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        fields = [
            *ResourceSerializer.Meta.fields,
            "selected_pods",
            "policy_kind",
            "tier",
            "tier_order",
            "order",
            "staged",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_selected_pods(self, policy: Resource) -> list[str]:
        return services.selected_pods(policy=policy)

    def get_policy_kind(self, policy: Resource) -> str:
        """The kind as traces name it: KubernetesNetworkPolicy, CalicoNetworkPolicy, GlobalNetworkPolicy, ..."""
        return policy.trace_kind

    def _placement(self, policy: Resource) -> services.Placement | None:
        # One lookup per policy and request, kept on the root serializer (the list, for many).
        cache: dict[int, services.Placement | None] | None = getattr(self.root, "_placements", None)
        if cache is None:
            cache = {}
            setattr(self.root, "_placements", cache)  # noqa: B010
        if policy.id not in cache:
            cache[policy.id] = services.policy_placement(policy=policy)
        return cache[policy.id]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_tier(self, policy: Resource) -> str | None:
        placement = self._placement(policy)
        return placement.tier if placement else None

    @extend_schema_field({"type": "number", "nullable": True})
    def get_tier_order(self, policy: Resource) -> float | None:
        placement = self._placement(policy)
        return placement.tier_order if placement else None

    @extend_schema_field({"type": "number", "nullable": True})
    def get_order(self, policy: Resource) -> float | None:
        placement = self._placement(policy)
        return placement.order if placement else None

    def get_staged(self, policy: Resource) -> bool:
        """A staged policy is only previewed: Calico never enforces it."""
        return policy.is_staged


# --- Query parameters -------------------------------------------------------------------------


class GraphQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=services.GRAPH_LEVELS, default="workload")
    namespace = serializers.CharField(
        required=False,
        help_text="Only the workloads or pods of this namespace (or of several, comma-separated), with "
        "their edges in and out; the other namespaces appear as their namespace-level nodes. At pod level "
        "at most 60 pods are drawn as themselves: the largest workloads are drawn as their workload node "
        "(listed in `collapsed`), with the union of their pods' edges.",
    )


class ExplainQuerySerializer(serializers.Serializer):
    to = serializers.CharField(help_text="Destination: namespace/pod, namespace/Kind/name or an IP address.")
    port = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    protocol = serializers.CharField(
        default="TCP", help_text="TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or a protocol number 1-255."
    )
    icmp_type = serializers.IntegerField(min_value=0, max_value=255, required=False)
    icmp_code = serializers.IntegerField(min_value=0, max_value=255, required=False)
    evaluator = serializers.ChoiceField(choices=services.EVALUATORS, default="auto")
    suggest = serializers.BooleanField(
        default=False,
        help_text="Also answer the smallest change that turns the verdict (`suggestion`): the rule to add "
        "or edit as YAML, checked by evaluating the snapshot with it, and the other flows it opens or closes.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().get_fields()
        source = serializers.CharField(help_text="Source: namespace/pod, namespace/Kind/name or an IP address.")
        return {"from": source, **fields}

    def validate_protocol(self, value: str) -> str:
        try:
            return canonical_protocol(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class DiffQuerySerializer(serializers.Serializer):
    against = serializers.IntegerField(help_text="The id of the snapshot to compare with (the old one).")
    level = serializers.ChoiceField(choices=services.GRAPH_LEVELS, default="workload")


# --- Answers (documentation only: these are engine dictionaries) --------------------------------


class PodNeighbourSerializer(serializers.Serializer):
    id = serializers.CharField()
    all = serializers.BooleanField()
    ports = serializers.ListField(child=serializers.DictField())


class PodSerializer(serializers.Serializer):
    id = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    workload = serializers.CharField(allow_null=True)
    isolated = serializers.DictField(child=serializers.BooleanField())
    policies = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    ingress = PodNeighbourSerializer(many=True)
    egress = PodNeighbourSerializer(many=True)


class ClusterConnectionSerializer(serializers.ModelSerializer):
    """A cluster connection. Its kubeconfig is never part of an answer: only the server and user
    name it names."""

    url = serializers.HyperlinkedIdentityField(view_name="api:cluster-detail", lookup_field="name")
    source = serializers.CharField(read_only=True)  # type: ignore[assignment]  # a field named like Field.source
    latest_snapshot = serializers.SerializerMethodField()
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = ClusterConnection
        fields = [
            "name",
            "url",
            "team",
            "source",
            "in_cluster",
            "server",
            "user_name",
            "context",
            "interval_minutes",
            "enabled",
            "created",
            "last_attempt",
            "last_checked",
            "last_error",
            "last_error_at",
            "failures",
            "next_sync",
            "syncing_since",
            "latest_snapshot",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))  # null before the first sync
    def get_latest_snapshot(self, connection: ClusterConnection) -> int | None:
        latest = connection.snapshots.order_by("-created", "-id").values_list("id", flat=True).first()
        return latest


class ClusterCreateSerializer(serializers.Serializer):
    """A new connection: a kubeconfig file (multipart) or text, or the in-cluster service account."""

    name = fields.Slug(max_length=100)
    team = fields.Text(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The name of the team whose members see it; a member of exactly one team may omit it.",
    )
    kubeconfig = serializers.FileField(required=False, help_text="A kubeconfig file; stored encrypted.")
    kubeconfig_text = fields.Text(required=False, trim_whitespace=False, help_text="Or its text.")
    in_cluster = serializers.BooleanField(default=False)
    context = fields.Text(  # type: ignore[assignment]  # a field named like Field.context
        max_length=200, required=False, default="", allow_blank=True
    )
    interval_minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, default=60)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [key for key in ("kubeconfig", "kubeconfig_text") if attrs.get(key)]
        if attrs["in_cluster"] and given:
            raise serializers.ValidationError("Choose one: a kubeconfig or in_cluster.")
        if len(given) > 1:
            raise serializers.ValidationError("Give the kubeconfig once: as a file or as text.")
        if not given and not attrs["in_cluster"]:
            raise serializers.ValidationError("Give a kubeconfig (file or text), or in_cluster: true.")
        upload = attrs.pop("kubeconfig", None)
        if upload is not None:
            if upload.size > KUBECONFIG_MAX_BYTES:
                raise serializers.ValidationError({"kubeconfig": f"{upload.name}: larger than 1024 KiB"})
            try:
                attrs["kubeconfig_text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                message = f"{upload.name}: not UTF-8 text (byte {exc.start})"
                raise serializers.ValidationError({"kubeconfig": message}) from exc
        return attrs


class ClusterCreateJSONSerializer(ClusterCreateSerializer):
    """The JSON form of a new connection, for the schema: a kubeconfig file comes only as multipart."""

    kubeconfig = None  # type: ignore[assignment]


class SyncOutcomeSerializer(serializers.Serializer):
    """What a sync did, as ``manage.py sync_cluster --json`` prints it."""

    snapshot = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())


class ClusterSyncSerializer(serializers.ModelSerializer):
    """One sync of the history, with the flows a new snapshot opened and closed against the one before."""

    class Meta:
        model = ClusterSync
        fields = ["id", "started", "finished", "outcome", "snapshot", "previous", "warnings", "error", "counts",
                  "changes"]
        read_only_fields = fields
