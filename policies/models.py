from __future__ import annotations

import json
import zlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

# Kinds whose objects are policies (Kubernetes and Calico). Calico's namespaced
# NetworkPolicy shares its kind with Kubernetes' and differs by apiVersion.
# Admin network policies (policy.networking.k8s.io) are cluster-wide: the engine names them Kind/name.
ADMIN_POLICY_KINDS = ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")
POLICY_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy",
                *ADMIN_POLICY_KINDS)
STAGED_KINDS = ("StagedNetworkPolicy", "StagedGlobalNetworkPolicy")
CALICO_API_GROUP = "projectcalico.org"  # also matches crd.projectcalico.org


class Team(models.Model):
    """A group of people who own snapshots, proposals and expectations; only its members see them."""

    DEFAULT_NAME = "default"  # where snapshots from before teams, and uploads that name none, live

    name = models.SlugField(max_length=100, unique=True)
    created = models.DateTimeField(default=timezone.now)
    # Goes up by one on every change of the team's expectations: a stored result of them says
    # which version it checked, so that pages never show the results of an outdated set.
    expectations_version = models.PositiveIntegerField(default=0, db_default=0)
    # Set when the re-check of a change could not be queued (the broker was down); the sweep of
    # stuck work queues it again and clears the flag.
    recheck_pending = models.BooleanField(default=False, db_default=False)
    # When the re-check task now waiting in the broker's queue was sent (None: none waits). Further
    # changes before it starts send no other: it reads the version when it starts, so it sees them.
    recheck_queued = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Team:
        team, _ = cls.objects.get_or_create(name=cls.DEFAULT_NAME)
        return team


def default_team_id() -> int:
    """The default team's id, the team made when there is none. Migrations call this while the table
    may lack later columns: it reads and writes only the id, the name and the creation time."""
    teams = Team.objects.filter(name=Team.DEFAULT_NAME).values_list("id", flat=True)
    team_id: int | None = teams.first()
    if team_id is None:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(Team._meta.db_table)} ({quote('name')}, {quote('created')}) "  # noqa: S608
                           "VALUES (%s, %s)", [Team.DEFAULT_NAME, timezone.now()])
        team_id = teams.first()
    assert team_id is not None
    return team_id


class Membership(models.Model):
    """A user's role in a team. Each role can do what the roles before it can."""

    class Role(models.TextChoices):
        VIEWER = "viewer"  # reads
        AUTHOR = "author"  # uploads, proposes, comments
        REVIEWER = "reviewer"  # approves (never their own proposal)
        ADMIN = "admin"  # manages members and expectations

    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "user"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @classmethod
    def rank(cls, role: str) -> int:
        """Roles in increasing power: viewer 0 .. admin 3."""
        return list(cls.Role.values).index(role)


class Snapshot(models.Model):
    """An immutable set of resources: an upload, a cluster state or a proposal's result."""

    class Origin(models.TextChoices):
        UPLOAD = "upload"
        DEMO = "demo"
        CLUSTER = "cluster"
        PROPOSAL = "proposal"  # the result of a proposal: its base with the proposed edits

    name = models.CharField(max_length=200)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.UPLOAD)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="snapshots"
    )
    team = models.ForeignKey(Team, models.PROTECT, default=default_team_id, related_name="snapshots")
    # A synced snapshot: its connection, the hash of its content (clusters.content) and the kinds
    # that could not be listed.
    cluster = models.ForeignKey(
        "ClusterConnection", models.SET_NULL, null=True, blank=True, related_name="snapshots"
    )
    content_hash = models.CharField(max_length=64, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # False while an upload's objects are not read yet: the upload stores the files and answers,
    # its analysis reads them and stores the Resource rows (services.objects).
    objects_stored = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name

    def latest_analysis(self) -> Analysis | None:
        return self.analyses.order_by("-created", "-id").first()


class SnapshotFile(models.Model):
    """One uploaded file, kept whole so that the engine can re-parse it with true line numbers."""

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="files")
    name = models.CharField(max_length=500)
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["snapshot", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "name"], name="snapshotfile_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """One Kubernetes or Calico object of a snapshot, with its raw text and its origin."""

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="resources")
    file = models.ForeignKey(SnapshotFile, models.CASCADE, null=True, blank=True, related_name="resources")
    kind = models.CharField(max_length=100)
    api_version = models.CharField(max_length=200, blank=True)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253, blank=True)
    document = models.PositiveIntegerField(default=0)  # YAML document index in the file, 0-based
    line = models.PositiveIntegerField(default=0)  # 1-based; 0 when not from a file
    end_line = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True)
    resource_version = models.CharField(max_length=100, blank=True)  # a synced object's origin
    # A policy's key, as the engine writes it on traces, graphs and diffs (engine.policy_key:
    # "NetworkPolicy/shop/db", "CalicoNetworkPolicy/shop/db", "GlobalNetworkPolicy/deny"); "" for
    # the other kinds.
    policy_key = models.CharField(max_length=600, blank=True)

    class Meta:
        ordering = ["snapshot", "kind", "namespace", "name", "id"]
        indexes = [models.Index(fields=["snapshot", "kind"]), models.Index(fields=["snapshot", "policy_key"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.qualified_name}"

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def is_policy(self) -> bool:
        return self.kind in POLICY_KINDS

    @property
    def is_admin_policy(self) -> bool:
        return self.kind in ADMIN_POLICY_KINDS

    @property
    def engine_id(self) -> str:
        """The id the engine gives the policy in graphs and traces: namespace/name, the name of a
        global policy, Kind/name of an admin network policy."""
        return f"{self.kind}/{self.name}" if self.is_admin_policy else self.qualified_name

    @property
    def is_calico(self) -> bool:
        return CALICO_API_GROUP in self.api_version.partition("/")[0]

    @property
    def is_staged(self) -> bool:
        return self.kind in STAGED_KINDS

    @property
    def trace_kind(self) -> str:
        """The kind as the Calico evaluator's traces name it: a NetworkPolicy is
        "CalicoNetworkPolicy" or "KubernetesNetworkPolicy" after its apiVersion."""
        if self.kind == "NetworkPolicy":
            return "CalicoNetworkPolicy" if self.is_calico else "KubernetesNetworkPolicy"
        return self.kind

    @property
    def display_kind(self) -> str:
        """The kind in words for the pages: "Calico NetworkPolicy" tells the two NetworkPolicies apart."""
        return "Calico NetworkPolicy" if self.kind == "NetworkPolicy" and self.is_calico else self.kind


class AnalysisQuerySet(models.QuerySet["Analysis"]):
    def done(self) -> AnalysisQuerySet:
        """The finished analyses, the most recent first."""
        return self.filter(status=Analysis.Status.DONE).order_by("-created", "-id")

    def without_graphs(self) -> AnalysisQuerySet:
        """Leave the graphs (megabytes for a large snapshot) in the database, but read the
        small parts of the result; Analysis.result_part() and graph() use them."""
        return self.defer("result").annotate(
            **{f"result_{key}": KeyTransform(key, "result") for key in Analysis.SMALL_RESULT_KEYS}
        )


class Analysis(models.Model):
    """One engine run over a snapshot. The row is the task's state: no result backend."""

    # The result holds these small keys; graphs and namespace slices are AnalysisPart rows
    # ("parts" lists their keys). Analyses stored before kept {"graph": {level: ...}} in it.
    SMALL_RESULT_KEYS = ("summary", "lint", "notes", "pod_graph_stored", "parts")

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="analyses")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # 0.0 .. 1.0
    progress_message = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # > 1 after a redelivered message
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    published = models.DateTimeField(null=True, blank=True)  # its task message was last sent
    heartbeat = models.DateTimeField(null=True, blank=True)  # written by the worker running it
    # Seconds: parse, graph, lint, parts, total, cpu (the worker thread's); store, store_cpu (writing the parts).
    timings = models.JSONField(default=dict, blank=True)
    engine_version = models.CharField(max_length=50, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_detail = models.JSONField(null=True, blank=True)  # PolicyError.to_dict() when the input was bad

    objects = AnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "analyses"

    def __str__(self) -> str:
        return f"Analysis {self.id} of {self.snapshot_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def start(self) -> None:
        self.status = self.Status.RUNNING
        self.started = timezone.now()
        self.finished = None
        self.progress = 0.0
        self.progress_message = "starting"
        self.heartbeat = self.started
        self.attempts += 1
        self.error = ""
        self.error_detail = None
        self.save()

    def finish(
        self,
        result: dict[str, Any],
        *,
        timings: dict[str, float],
        engine_version: str,
        parts: dict[str, Any] | None = None,
    ) -> None:
        """Store the result: its small keys on the row, each large piece (a graph, one namespace's
        slice) as an AnalysisPart row of its own, so that a page reads only what it shows."""
        AnalysisPart.objects.filter(analysis=self).delete()  # a redelivered run starts over
        AnalysisPart.objects.bulk_create(
            (AnalysisPart.encode(self, key, data) for key, data in (parts or {}).items()), batch_size=20
        )
        self.status = self.Status.DONE
        self.result = result
        self.timings = timings
        self.engine_version = engine_version
        self.progress = 1.0
        self.progress_message = "done"
        self.finished = timezone.now()
        self.save()

    def fail(self, error: str, *, detail: dict[str, Any] | None = None, engine_version: str = "") -> None:
        self.status = self.Status.FAILED
        self.error = error
        self.error_detail = detail
        self.engine_version = engine_version
        self.progress_message = "failed"
        self.finished = timezone.now()
        self.save()

    def result_part(self, key: str) -> Any:
        """One of SMALL_RESULT_KEYS of the result (None before the analysis is done)."""
        annotated = f"result_{key}"
        if annotated in self.__dict__:  # read by without_graphs()
            return self.__dict__[annotated]
        return (self.result or {}).get(key)

    def part(self, key: str) -> Any:
        """One stored piece of the result ("graph:workload", "slice:pod:NS", ...), None when absent."""
        if self.status != self.Status.DONE:
            return None
        row = AnalysisPart.objects.filter(analysis_id=self.id, key=key).values_list("data", "blob").first()
        return None if row is None else AnalysisPart.decode(*row)

    def store_part(self, key: str, data: Any) -> None:
        """Keep a piece computed after the analysis (a namespace's pod slice, on its first request);
        when two requests compute it at once, the first one stored stays."""
        AnalysisPart.objects.bulk_create([AnalysisPart.encode(self, key, data)], ignore_conflicts=True)

    def graph_nodes(self, level: str) -> list[dict[str, Any]] | None:
        """The stored graph's nodes at ``level`` without its edges, or None when not stored."""
        if self.status != self.Status.DONE:
            return None
        stored = self.result_part("parts")
        if stored is not None:
            if f"nodes:{level}" in stored:
                nodes: list[dict[str, Any]] | None = self.part(f"nodes:{level}")
                return nodes
            rows = AnalysisPart.objects.filter(analysis_id=self.id, key=f"graph:{level}")
            return rows.values_list("data__nodes", flat=True).first()
        path = f"result__graph__{level}__nodes"  # analyses stored before the parts
        legacy: list[dict[str, Any]] | None = Analysis.objects.filter(id=self.id).values_list(path, flat=True).get()
        return legacy

    def graph(self, level: str) -> dict[str, Any] | None:
        """The stored graph at ``level`` ("workload", "pod" or "namespace"), or None when not stored."""
        if self.status != self.Status.DONE:
            return None
        stored_part: dict[str, Any] | None = self.part(f"graph:{level}")
        if stored_part is not None or self.result_part("parts"):
            return stored_part
        # Analyses stored before the parts kept their graphs in the result.
        if "result" in self.get_deferred_fields():
            # Read just this graph, not the whole result.
            path = KeyTransform(level, KeyTransform("graph", "result"))
            graph: dict[str, Any] | None = Analysis.objects.filter(id=self.id).values_list(path, flat=True).get()
            return graph
        stored: dict[str, Any] | None = (self.result or {}).get("graph", {}).get(level)
        return stored


BYTES_PART = {"bytes": True}  # AnalysisPart.data of a part stored as bytes (JSON parts in a blob have none)


class AnalysisPart(models.Model):
    """A large piece of an analysis' result, stored apart so that reading one never parses the
    others: a graph ("graph:workload", "graph:pod", "graph:namespace"), a graph's nodes
    ("nodes:pod"), the pod graph's edges in a compact form ("edges:pod", see
    services.stored_graphs) or one namespace's slice of a graph ("slice:workload:NS",
    "slice:pod:NS", see services.graph_slices).

    A piece given as bytes (a stored explainer, services.explainers) is kept as it is in ``blob``,
    with ``data`` saying so. A piece whose JSON is over COMPRESS_ABOVE bytes is kept zlib-compressed
    in ``blob`` (``data`` is then null): graphs compress ten to fifty times, and writing and reading
    a tenth of the bytes is faster than the compression costs."""

    COMPRESS_ABOVE = 64 * 1024

    analysis = models.ForeignKey(Analysis, models.CASCADE, related_name="parts")
    key = models.CharField(max_length=300)
    data = models.JSONField(null=True)
    blob = models.BinaryField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["analysis", "key"], name="analysispart_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} of analysis {self.analysis_id}"

    @classmethod
    def encode(cls, analysis: Analysis, key: str, value: Any) -> AnalysisPart:
        if isinstance(value, bytes):  # already packed by its writer (a stored explainer): kept as given
            return cls(analysis=analysis, key=key, data=BYTES_PART, blob=value)
        text = json.dumps(value, separators=(",", ":"))
        if len(text) <= cls.COMPRESS_ABOVE:
            return cls(analysis=analysis, key=key, data=value)
        return cls(analysis=analysis, key=key, data=None, blob=zlib.compress(text.encode(), 1))

    @staticmethod
    def decode(data: Any, blob: bytes | memoryview | None) -> Any:
        if blob is None:
            return data
        if data == BYTES_PART:
            return bytes(blob)
        return json.loads(zlib.decompress(bytes(blob)))

    @property
    def value(self) -> Any:
        return self.decode(self.data, self.blob)


class ClusterConnection(models.Model):
    """How to reach a live cluster (an encrypted kubeconfig, or the pod's service account) and
    how often to sync it; the row also records how the last syncs went."""

    name = models.SlugField(max_length=100, unique=True)
    # Only its members see the connection; the snapshots its syncs make belong to it too.
    team = models.ForeignKey(Team, models.PROTECT, default=default_team_id, related_name="cluster_connections")
    # A Fernet token (policies.encryption); empty when the in-cluster service account is used.
    kubeconfig_encrypted = models.TextField(blank=True)
    in_cluster = models.BooleanField(default=False)
    context = models.CharField(max_length=200, blank=True)
    # What may be shown of the kubeconfig: its server and user name, never its secrets.
    server = models.CharField(max_length=500, blank=True)
    user_name = models.CharField(max_length=200, blank=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="cluster_connections"
    )

    last_attempt = models.DateTimeField(null=True, blank=True)  # the last sync started
    last_checked = models.DateTimeField(null=True, blank=True)  # the last sync that read the cluster
    last_error = models.TextField(blank=True)  # the last sync's failure; empty after a success
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed syncs
    next_sync = models.DateTimeField(null=True, blank=True)  # None: due now
    syncing_since = models.DateTimeField(null=True, blank=True)  # a sync holds the connection

    # After n failed syncs in a row the next one waits RETRY_BASE * 2**(n-1), at most the interval
    # times RETRY_MAX_FACTOR: an unreachable cluster is not asked every minute, nor forgotten.
    RETRY_BASE_SECONDS = 60
    RETRY_MAX_FACTOR = 4

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return "in-cluster service account" if self.in_cluster else "kubeconfig"

    def retry_delay(self) -> timedelta:
        base = self.RETRY_BASE_SECONDS * 2 ** max(self.failures - 1, 0)
        cap = self.interval_minutes * 60 * self.RETRY_MAX_FACTOR
        return timedelta(seconds=min(base, max(cap, self.RETRY_BASE_SECONDS)))

    def record_success(self) -> None:
        now = timezone.now()
        self.last_checked = now
        self.last_error = ""
        self.failures = 0
        self.next_sync = now + timedelta(minutes=self.interval_minutes)
        self.syncing_since = None
        self.save(update_fields=["last_checked", "last_error", "failures", "next_sync", "syncing_since"])

    def record_failure(self, message: str) -> None:
        now = timezone.now()
        self.last_error = message
        self.last_error_at = now
        self.failures += 1
        self.next_sync = now + self.retry_delay()
        self.syncing_since = None
        self.save(update_fields=["last_error", "last_error_at", "failures", "next_sync", "syncing_since"])


class ClusterSync(models.Model):
    """One sync of a connection: a new snapshot, an unchanged cluster, or a failure; and, for a new
    snapshot, what it changed against the one before (flows opened and closed), filled in once both
    analyses have finished."""

    class Outcome(models.TextChoices):
        CREATED = "created", "new snapshot"
        UNCHANGED = "unchanged", "unchanged"
        FAILED = "failed", "failed"

    connection = models.ForeignKey(ClusterConnection, models.CASCADE, related_name="syncs")
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    snapshot = models.ForeignKey(Snapshot, models.SET_NULL, null=True, blank=True, related_name="syncs")
    # The snapshot a new one is compared with: the connection's one before it.
    previous = models.ForeignKey(Snapshot, models.SET_NULL, null=True, blank=True, related_name="+")
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    counts = models.JSONField(default=dict, blank=True)  # objects read per kind
    # {"added": n, "removed": n, "changed": n, "policies": n, "opened": [...], "closed": [...]}
    # (services.history); None until compared, or when there is nothing to compare with.
    changes = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return f"{self.connection} {self.get_outcome_display()} at {self.started:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """One entry of the audit trail: who did what to which object, and when.

    Written by ``policies.audit.record``; never changed afterwards. The actor's name and the
    object's description are copied, so that an entry still reads right after either is deleted.
    """

    created = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # "" for the system (a scheduled task)
    verb = models.CharField(max_length=50)  # "uploaded", "synced", "approved", ...
    object_type = models.CharField(max_length=100, blank=True)  # app_label.model, e.g. "policies.snapshot"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{who} {self.verb} {self.object_repr}".strip()


class TeamExpectation(models.Model):
    """A reachability assertion of a team (``spec`` is one entry of an expectations file: from, to,
    ports, expect), checked on every analysis of the team's snapshots and on every proposal."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="expectations")
    name = models.CharField(max_length=200)
    spec = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["team", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="expectation_unique_name")]

    def __str__(self) -> str:
        return f"{self.team.name}/{self.name}"

    def entry(self) -> dict[str, Any]:
        """The expectation as an entry of an expectations file."""
        return {"name": self.name, **self.spec}


class Proposal(models.Model):
    """A change of a team's policies under review: ``base`` and the snapshot it would become.

    Its fields from ``proposed`` to ``policy_changes`` are those of its current revision (the
    ProposalRevision numbered ``revision``); each revision keeps its own copy."""

    class State(models.TextChoices):
        OPEN = "open"
        CHANGES_REQUESTED = "changes_requested"
        APPROVED = "approved"
        APPLIED = "applied"
        CLOSED = "closed"

    class Status(models.TextChoices):  # of the background analysis of the change
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    team = models.ForeignKey(Team, models.PROTECT, related_name="proposals")
    title = models.CharField(max_length=200)
    base = models.ForeignKey(Snapshot, models.PROTECT, related_name="+")
    proposed = models.ForeignKey(Snapshot, models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="proposals")
    manifests = models.TextField(blank=True)  # the YAML of the policies added or replaced
    deleted = models.JSONField(default=list, blank=True)  # ["NAMESPACE/NAME", ...]
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    diff = models.JSONField(null=True, blank=True)  # the `netpol diff` JSON of base -> proposed
    expectations = models.JSONField(default=list, blank=True)  # results before and after
    # The team's expectations_version the results were computed with; None before they were.
    expectations_version = models.PositiveIntegerField(null=True, blank=True)
    policy_changes = models.JSONField(default=list, blank=True)  # per policy: added/removed/changed, unified diff
    revision = models.PositiveIntegerField(default=1)  # the number of the current revision
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"proposal {self.id}: {self.title}"

    @property
    def broken_expectations(self) -> list[str]:
        return [r["name"] for r in self.expectations if r.get("change") == "broken"]

    @property
    def expectations_current(self) -> bool:
        """Whether the expectation results are of the team's current expectations."""
        return self.expectations_version == self.team.expectations_version


# One name in the OpenAPI schema for the status a proposal and its revisions share.
PROPOSAL_STATUS_CHOICES = Proposal.Status


class ProposalRevision(models.Model):
    """One version of a proposal's change: revision 1 is the proposal as first submitted, each
    later one the author's answer to a review. Its results stay as they were computed."""

    proposal = models.ForeignKey(Proposal, models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    proposed = models.ForeignKey(Snapshot, models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    manifests = models.TextField(blank=True)
    deleted = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Proposal.Status.choices, default=Proposal.Status.PENDING)
    error = models.TextField(blank=True)
    diff = models.JSONField(null=True, blank=True)
    expectations = models.JSONField(default=list, blank=True)
    expectations_version = models.PositiveIntegerField(null=True, blank=True)
    policy_changes = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["proposal", "number"]
        constraints = [models.UniqueConstraint(fields=["proposal", "number"], name="revision_unique_number")]

    def __str__(self) -> str:
        return f"revision {self.number} of proposal {self.proposal_id}"

    @property
    def broken_expectations(self) -> list[str]:
        return [r["name"] for r in self.expectations if r.get("change") == "broken"]


class Review(models.Model):
    """One entry of a proposal's history: a comment, a decision or a change of state, with who and when.
    ``flow`` names the single flow a comment is about ("" for the whole proposal)."""

    class Decision(models.TextChoices):
        COMMENT = "comment"
        APPROVE = "approve"
        REQUEST_CHANGES = "request_changes"
        CLOSE = "close"
        APPLY = "apply"
        REOPEN = "reopen"
        REVISE = "revise"  # the author submitted a new revision

    proposal = models.ForeignKey(Proposal, models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    author_name = models.CharField(max_length=150, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    body = models.TextField(blank=True)
    flow = models.CharField(max_length=500, blank=True)
    overrides = models.JSONField(default=list, blank=True)  # broken expectations an approval overrides
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    revision = models.PositiveIntegerField(default=1)  # the proposal's revision it was made on
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.author_name or 'system'} {self.decision} on proposal {self.proposal_id}"


class UploadDraft(models.Model):
    """The files of an upload that failed, kept on the server for the next try: the page names them
    and sends back only ``token``. One per user at a time, for NETPOL_UPLOAD_DRAFT_MINUTES."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"upload draft of user {self.user_id}"


class UploadDraftFile(models.Model):
    draft = models.ForeignKey(UploadDraft, models.CASCADE, related_name="files")
    name = models.CharField(max_length=500)
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
