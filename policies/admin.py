from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from policies.models import (
    Analysis,
    AuditEvent,
    ClusterConnection,
    ClusterSync,
    Membership,
    Resource,
    Snapshot,
    SnapshotFile,
    Team,
)


class SnapshotFileInline(admin.TabularInline):
    model = SnapshotFile
    fields = ("position", "name")
    readonly_fields = ("position", "name")
    extra = 0
    show_change_link = True


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "team", "origin", "created", "created_by")
    list_filter = ("origin", "team")
    search_fields = ("name",)
    inlines = [SnapshotFileInline]


@admin.register(SnapshotFile)
class SnapshotFileAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "snapshot", "position")
    search_fields = ("name",)
    raw_id_fields = ("snapshot",)


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "namespace", "name", "snapshot", "file", "line")
    list_filter = ("kind",)
    search_fields = ("name", "namespace")
    raw_id_fields = ("snapshot", "file")


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "snapshot",
        "status",
        "progress",
        "attempts",
        "engine_version",
        "created",
        "finished",
    )
    list_filter = ("status",)
    raw_id_fields = ("snapshot",)
    readonly_fields = ("timings", "result", "error_detail")


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role")
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "created")
    search_fields = ("name",)
    inlines = [MembershipInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody edits or deletes history from the admin."""

    list_display = ("created", "actor_name", "verb", "object_type", "object_repr")
    list_filter = ("verb", "object_type")
    search_fields = ("actor_name", "object_repr", "object_id")
    date_hierarchy = "created"
    readonly_fields = ("created", "actor", "actor_name", "verb", "object_type", "object_id", "object_repr", "details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClusterConnection)
class ClusterConnectionAdmin(admin.ModelAdmin):
    """Connections are added on the Clusters page or with manage.py add_cluster; here they can be
    paused or re-timed. The encrypted kubeconfig is never shown, not even as ciphertext."""

    list_display = ("name", "source", "server", "interval_minutes", "enabled", "last_checked", "failures")
    list_filter = ("enabled", "in_cluster")
    search_fields = ("name", "server")
    exclude = ("kubeconfig_encrypted",)
    readonly_fields = (
        "name", "in_cluster", "server", "user_name", "context", "created", "created_by", "last_attempt",
        "last_checked", "last_error", "last_error_at", "failures", "next_sync", "syncing_since",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ClusterSync)
class ClusterSyncAdmin(admin.ModelAdmin):
    list_display = ("id", "connection", "started", "outcome", "snapshot")
    list_filter = ("outcome",)
    raw_id_fields = ("connection", "snapshot", "previous")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
