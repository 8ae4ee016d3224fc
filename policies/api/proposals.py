"""The API of team review: proposals with their reviews, and each team's expectations.

A team's objects are found only by its members (others get 404, as for snapshots); what a member
may do follows their role (403 otherwise), as ``policies.services.proposals`` says."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from policies import access, audit, services
from policies.api import fields
from policies.models import Membership, Proposal, Review, Snapshot, TeamExpectation


class ReviewSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "author", "decision", "body", "flow", "overrides", "from_state", "to_state", "created"]
        read_only_fields = fields


class ProposalSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:proposal-detail")
    page = serializers.SerializerMethodField()
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    broken_expectations = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Proposal
        fields = ["id", "url", "page", "title", "state", "status", "error", "team", "base", "proposed", "author",
                  "created", "updated", "deleted", "diff", "expectations", "broken_expectations", "policy_changes",
                  "reviews"]
        read_only_fields = fields

    def get_page(self, proposal: Proposal) -> str:
        return reverse("policies:proposal", args=[proposal.id])


class ProposalCreateSerializer(serializers.Serializer):
    base = serializers.IntegerField()
    title = fields.Text(max_length=200)
    manifests = fields.Text(required=False, allow_blank=True, default="", trim_whitespace=False)
    delete = serializers.ListField(child=fields.Text(max_length=600), required=False, default=list)
    proposed = serializers.IntegerField(required=False, allow_null=True, default=None)


class ReviewCreateSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Review.Decision.choices)
    body = fields.Text(required=False, allow_blank=True, default="", max_length=20000)
    flow = fields.Text(required=False, allow_blank=True, default="", max_length=500)
    override = serializers.BooleanField(required=False, default=False)


class ProposalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Proposals: a change of policies, its diff and expectation results once analysed, and its reviews."""

    serializer_class = ProposalSerializer

    def get_queryset(self) -> QuerySet[Proposal]:
        return (
            access.visible_to(Proposal.objects.all(), self.request.user)
            .select_related("team", "author")
            .prefetch_related("reviews")
        )

    def _snapshot(self, snapshot_id: int | None, field: str) -> Snapshot | None:
        if snapshot_id is None:
            return None
        snapshot = access.visible_snapshots(self.request.user).filter(id=snapshot_id).first()
        if snapshot is None:
            raise ValidationError({field: [f"no snapshot {snapshot_id}"]})
        return snapshot

    @extend_schema(request=ProposalCreateSerializer, responses={201: ProposalSerializer})
    def create(self, request: Request) -> Response:
        data = ProposalCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        base = self._snapshot(values["base"], "base")
        assert base is not None
        proposal = services.create_proposal(
            base=base, title=values["title"], user=request.user, manifests=values["manifests"],
            delete=values["delete"], proposed=self._snapshot(values["proposed"], "proposed"))
        proposal = self.get_queryset().get(id=proposal.id)
        return Response(ProposalSerializer(proposal, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer, 409: OpenApiResponse(description="The proposal's state does not allow it.")},
    )
    @action(detail=True, methods=["post"])
    def reviews(self, request: Request, pk: str | None = None) -> Response:
        """Comment, approve, request changes, close, reopen or mark applied."""
        proposal = self.get_object()
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.add_review(proposal=proposal, user=request.user, **data.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ExpectationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:expectation-detail")
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    spec = serializers.JSONField(read_only=True)

    class Meta:
        model = TeamExpectation
        fields = ["id", "url", "team", "name", "spec", "created"]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        """The entry's fields (from, to, expect; ports and description when given) at the top."""
        declared = super().get_fields()
        del declared["spec"]
        for key in ("from", "to", "expect"):
            declared[key] = serializers.JSONField(source=f"spec.{key}", read_only=True)
        for key in ("ports", "description"):  # absent when the entry has none (not read-only: not required)
            declared[key] = serializers.JSONField(source=f"spec.{key}", required=False)
        return declared


class ExpectationViewSet(viewsets.ModelViewSet):
    """A team's expectations (the entries of an expectations file). Team admins change them; every
    analysis of the team's snapshots and every proposal checks them."""

    serializer_class = ExpectationSerializer
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[TeamExpectation]:
        queryset = access.visible_to(TeamExpectation.objects.all(), self.request.user).select_related("team")
        team = self.request.query_params.get("team")
        return queryset.filter(team__name=team) if team else queryset

    def _body(self) -> dict[str, Any]:
        if not isinstance(self.request.data, dict):
            raise ValidationError({"detail": ["send a JSON object: name, from, to, ports, expect"]})
        return dict(self.request.data)

    @extend_schema(request=None, responses={201: ExpectationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self._body()
        mine = access.teams_of(request.user)
        if body.get("team"):
            team = mine.filter(name=str(body["team"])).first()
            if team is None:
                raise ValidationError({"team": [f"you are not a member of a team named {body['team']!r}"]})
        elif mine.count() == 1:
            team = mine.get()
        else:
            raise ValidationError({"team": ['say which team the expectation belongs to with "team"']})
        access.require_role(request.user, team, Membership.Role.ADMIN, "change expectations")
        item = services.save_expectation(team=team, data=body, user=request.user)
        audit.record(request.user, "added an expectation", item, {"team": team.name})
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ExpectationSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        access.require_role(request.user, item.team, Membership.Role.ADMIN, "change expectations")
        item = services.save_expectation(team=item.team, data=self._body(), user=request.user, instance=item)
        audit.record(request.user, "changed an expectation", item, {"team": item.team.name})
        return Response(self.get_serializer(item).data)

    def perform_destroy(self, instance: TeamExpectation) -> None:
        access.require_role(self.request.user, instance.team, Membership.Role.ADMIN, "change expectations")
        audit.record(self.request.user, "deleted an expectation", instance, {"team": instance.team.name})
        instance.delete()
