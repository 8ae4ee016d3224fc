"""Teams through the API: a member sees their teams and who is in them; staff create teams;
a team's admins add members, change their roles and remove them. Others get 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from policies import access, audit, teams
from policies.api import fields
from policies.models import Membership, Team


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "created"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "created", "members"]
        read_only_fields = fields


class TeamCreateSerializer(serializers.Serializer):
    name = fields.Text(max_length=100)


class MemberCreateSerializer(serializers.Serializer):
    username = fields.Text(max_length=150)
    role = fields.Text(max_length=20)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TeamSerializer
    lookup_field = "name"

    def get_queryset(self) -> QuerySet[Team]:
        return access.teams_of(self.request.user).prefetch_related("memberships__user").distinct()

    @extend_schema(request=TeamCreateSerializer, responses={201: TeamSerializer})
    def create(self, request: Request) -> Response:
        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied("only staff create teams")
        data = TeamCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            team = teams.create_team(name=data.validated_data["name"])
        except teams.TeamError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        audit.record(request.user, "created the team", team)
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request: Request, name: str | None = None) -> Response:
        """Add a member with a role (or change the role of one)."""
        team = self.get_object()
        access.require_role(request.user, team, Membership.Role.ADMIN, "manage members")
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            membership = teams.add_member(team=team, **data.validated_data)
        except teams.TeamError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        audit.record(request.user, "set a member's role in", team, dict(data.validated_data))
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[\w.@+-]+)")
    def remove_member(self, request: Request, name: str | None = None, username: str = "") -> Response:
        team = self.get_object()
        access.require_role(request.user, team, Membership.Role.ADMIN, "manage members")
        try:
            teams.remove_member(team=team, username=username)
        except teams.TeamError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        audit.record(request.user, "removed a member from", team, {"username": username})
        return Response(status=status.HTTP_204_NO_CONTENT)
