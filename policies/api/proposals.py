"""The API of team review: proposals with their reviews, and each team's expectations.

A team's objects are found only by its members (others get 404, as for snapshots); what a member
may do follows their role (403 otherwise), as ``policies.services.proposals`` says."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from policies import access, audit, services
from policies.api import fields
from policies.api.pagination import NOT_PAGED, refuse_pages
from policies.models import Membership, Proposal, ProposalRevision, Review, Snapshot, TeamExpectation


class ReviewSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "author", "decision", "body", "flow", "overrides", "from_state", "to_state", "revision",
                  "created"]
        read_only_fields = fields


EXPECTATIONS_STATUS_HELP = (
    '"pending" until the change is analysed; "current" when the results are of the team\'s expectations as '
    'they are; "rechecking" when the expectations changed since and are being checked again in the background '
    "(the results shown are of the earlier set until then)."
)


class RevisionSerializer(serializers.ModelSerializer):
    """One revision of a proposal: its change, its diff and expectation results, and the reviews
    made while it was the current one."""

    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expectations_status = serializers.SerializerMethodField(help_text=EXPECTATIONS_STATUS_HELP)
    reviews = serializers.SerializerMethodField()
    broken_expectations = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ProposalRevision
        fields = ["number", "proposed", "author", "created", "manifests", "deleted", "status", "error", "diff",
                  "expectations", "expectations_version", "expectations_status", "broken_expectations",
                  "policy_changes", "reviews"]
        read_only_fields = fields

    def get_expectations_status(self, revision: ProposalRevision) -> str:
        return services.expectations_status(revision, revision.proposal.team)

    @extend_schema_field(ReviewSerializer(many=True))
    def get_reviews(self, revision: ProposalRevision) -> list[dict[str, Any]]:
        reviews = [r for r in revision.proposal.reviews.all() if r.revision == revision.number]
        return list(ReviewSerializer(reviews, many=True).data)


class RevisionCreateSerializer(serializers.Serializer):
    manifests = fields.Text(required=False, allow_blank=True, default="", trim_whitespace=False,
                                      help_text="YAML of the policies added or replaced, against the proposal's base")
    delete = serializers.ListField(child=fields.Text(max_length=600), required=False, default=list,
                                   help_text="NAMESPACE/NAME (or NAME) of the base's policies to delete")
    proposed = serializers.IntegerField(required=False, allow_null=True, default=None,
                                        help_text="a snapshot to compare with the base instead of edits")
    body = fields.Text(required=False, allow_blank=True, default="", max_length=20000,
                                 help_text="what the revision changes, for the reviewers")


class ProposalSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:proposal-detail")
    page = serializers.SerializerMethodField()
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    broken_expectations = serializers.ListField(child=serializers.CharField(), read_only=True)
    expectations_status = serializers.SerializerMethodField(help_text=EXPECTATIONS_STATUS_HELP)
    revisions = serializers.SerializerMethodField(
        help_text="The number of every revision; GET revisions/ for each one's change, diff and results")
    graph = serializers.SerializerMethodField(help_text="The proposed graph with the flows opened and closed")

    class Meta:
        model = Proposal
        fields = ["id", "url", "page", "title", "state", "status", "error", "team", "base", "proposed", "author",
                  "created", "updated", "revision", "revisions", "deleted", "diff", "expectations",
                  "expectations_version", "expectations_status", "broken_expectations", "policy_changes", "graph",
                  "reviews"]
        read_only_fields = fields

    def get_page(self, proposal: Proposal) -> str:
        return reverse("policies:proposal", args=[proposal.id])

    def get_graph(self, proposal: Proposal) -> str:
        return reverse("api:proposal-graph", args=[proposal.id])

    def get_expectations_status(self, proposal: Proposal) -> str:
        return services.expectations_status(proposal, proposal.team)

    def get_revisions(self, proposal: Proposal) -> list[int]:
        return list(range(1, proposal.revision + 1))


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
    revision = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=10**9,
                                        help_text="the revision the reviewer read: 409 when it is no longer current")


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

    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, enum=list(services.CHANGE_GRAPH_LEVELS),
                             description="workload (each workload and address block) or namespace (each namespace "
                                         "one node); omitted: namespace when the cluster has more workloads than "
                                         "the graph page draws at once, else workload"),
            OpenApiParameter("only", str, enum=["changed"],
                             description="changed: only the edges the change opens, closes or changes, and their ends"),
            OpenApiParameter("revision", int, description="a revision's number; omitted: the current revision"),
        ],
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def graph(self, request: Request, pk: str | None = None) -> Response:
        """The proposed snapshot's graph with every edge's change: {"nodes", "edges", "level", "revision",
        "totals"}; each edge has "change" (opened, closed, changed, unchanged; mixed at namespace level)
        and "label", the change in words ("opened: TCP 8080"). Closed edges are included although the
        proposed graph has none. 409 until the revision's analysis is ready."""
        proposal = self.get_object()
        revision = request.query_params.get("revision", "")
        if revision and not (revision.isdigit() and len(revision) <= 9):
            raise ValidationError({"revision": [f"a revision number, not {revision[:20]!r}"]})
        only = request.query_params.get("only", "")
        if only not in ("", "changed"):
            raise ValidationError({"only": [f'only takes "changed", not {only!r}']})
        graph = services.proposal_graph(proposal=proposal, revision=int(revision) if revision else None,
                                        level=request.query_params.get("level", ""), only_changed=only == "changed")
        return Response(graph)

    @extend_schema(methods=["get"], request=None, responses={200: RevisionSerializer(many=True), 400: NOT_PAGED})
    @extend_schema(methods=["post"], request=RevisionCreateSerializer, responses={201: RevisionSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # one list, not pages
    def revisions(self, request: Request, pk: str | None = None) -> Response:
        """Every revision of the proposal (GET), or a new one (POST, its author or a team admin): the
        whole change again against the same base. The proposal is open again; approvals of earlier
        revisions do not carry over."""
        proposal = self.get_object()
        if request.method == "POST":
            data = RevisionCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data
            revision = services.revise_proposal(
                proposal=proposal, user=request.user, manifests=values["manifests"], delete=values["delete"],
                proposed=self._snapshot(values["proposed"], "proposed"), body=values["body"])
            revision = proposal.revisions.select_related("proposal__team", "author").get(id=revision.id)
            return Response(RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)
        refuse_pages(request)
        revisions = proposal.revisions.select_related("proposal__team", "author").order_by("number")
        return Response(RevisionSerializer(revisions, many=True).data)


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
        services.delete_expectation(item=instance)
