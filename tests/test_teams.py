"""Teams: members see their team's snapshots (404 for everyone else, pages and API alike), staff see
all; uploads name their team; the create_team and add_member commands.

    team default: alice (author), bob (reviewer)   -> the `snapshot` fixture
    team blue:    dave (author of blue only)        -> sees nothing of default
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from policies import teams
from policies.models import Membership, Snapshot, Team
from tests.conftest import FILES


@pytest.fixture
def blue(db: None) -> Team:
    return teams.create_team(name="blue")


@pytest.fixture
def dave(blue: Team) -> User:
    user = User.objects.create_user("dave", "dave@example.org", "password")
    teams.add_member(team=blue, username="dave", role=Membership.Role.AUTHOR)
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def snapshot_urls(snapshot: Snapshot) -> list[str]:
    policy = snapshot.resources.get(kind="NetworkPolicy")
    analysis = snapshot.analyses.get()
    pages = [
        reverse("policies:snapshot", args=[snapshot.id]),
        reverse("policies:graph", args=[snapshot.id]),
        reverse("policies:graph-export", args=[snapshot.id, "json"]),
        reverse("policies:flow", args=[snapshot.id]) + "?src=prod/web&dst=prod/db&port=5432&protocol=TCP",
        reverse("policies:matrix", args=[snapshot.id]),
        reverse("policies:compare", args=[snapshot.id]),
        reverse("policies:policy", args=[snapshot.id, policy.id]),
    ]
    api = [
        reverse("api:snapshot-detail", args=[snapshot.id]),
        reverse("api:snapshot-graph", args=[snapshot.id]),
        reverse("api:snapshot-explain", args=[snapshot.id]) + "?from=prod/web&to=prod/db&port=5432",
        reverse("api:snapshot-diff", args=[snapshot.id]) + f"?against={snapshot.id}",
        reverse("api:snapshot-pods", args=[snapshot.id]),
        reverse("api:analysis-detail", args=[analysis.id]),
        reverse("api:resource-detail", args=[policy.id]),
        reverse("api:policy-detail", args=[policy.id]),
    ]
    return pages + api


def test_members_see_their_teams_snapshot(snapshot: Snapshot, alice: User) -> None:
    client = client_for(alice)
    for url in snapshot_urls(snapshot):
        assert client.get(url).status_code == 200, url


def test_another_team_gets_404_on_every_snapshot_url(snapshot: Snapshot, dave: User) -> None:
    client = client_for(dave)
    for url in snapshot_urls(snapshot):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("policies:reanalyze", args=[snapshot.id])).status_code == 404
    assert client.post(reverse("api:snapshot-analyze", args=[snapshot.id])).status_code == 404
    assert client.delete(reverse("api:snapshot-detail", args=[snapshot.id])).status_code == 404
    assert Snapshot.objects.filter(id=snapshot.id).exists()


def test_lists_leave_out_other_teams(snapshot: Snapshot, dave: User) -> None:
    client = client_for(dave)
    assert client.get(reverse("api:snapshot-list")).json()["results"] == []
    assert client.get(reverse("api:analysis-list")).json()["results"] == []
    assert client.get(reverse("api:resource-list")).json()["results"] == []
    assert client.get(reverse("api:policy-list")).json()["results"] == []
    page = client.get(reverse("policies:snapshot-list")).content.decode()
    assert reverse("policies:snapshot", args=[snapshot.id]) not in page


def test_compare_offers_only_the_same_teams_snapshots(
    make_snapshot: Callable[..., Snapshot], alice: User, blue: Team
) -> None:
    mine = make_snapshot(name="mine")
    theirs = Snapshot.objects.create(name="theirs", team=blue)
    page = client_for(alice).get(reverse("policies:snapshot", args=[mine.id])).content.decode()
    assert f'value="{theirs.id}"' not in page
    response = client_for(alice).get(reverse("policies:compare", args=[mine.id]) + f"?against={theirs.id}")
    assert response.status_code == 404


def test_staff_see_every_team(snapshot: Snapshot) -> None:
    staff = User.objects.create_user("root", "root@example.org", "password", is_staff=True)
    client = client_for(staff)
    for url in snapshot_urls(snapshot):
        assert client.get(url).status_code == 200, url


def test_anonymous_users_are_sent_to_log_in(snapshot: Snapshot) -> None:
    assert Client().get(reverse("policies:snapshot", args=[snapshot.id])).status_code == 302
    assert APIClient().get(reverse("api:snapshot-detail", args=[snapshot.id])).status_code in (401, 403)


def test_upload_by_a_member_of_one_team_goes_to_that_team(dave: User, blue: Team) -> None:
    response = client_for(dave).post(
        reverse("api:snapshot-list"), {"name": "b", "manifests": FILES[2][1]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["team"] == "blue"
    assert Snapshot.objects.get(id=response.json()["id"]).team == blue


def test_upload_names_the_team_when_the_user_has_several(alice: User, blue: Team) -> None:
    teams.add_member(team=blue, username="alice", role=Membership.Role.AUTHOR)
    client = client_for(alice)
    url = reverse("api:snapshot-list")
    response = client.post(url, {"manifests": FILES[2][1]}, format="json")
    assert response.status_code == 400
    assert "several teams" in response.json()["team"][0]
    response = client.post(url, {"manifests": FILES[2][1], "team": "blue"}, format="json")
    assert response.status_code == 201
    assert response.json()["team"] == "blue"


@pytest.mark.parametrize(
    ("team", "message"),
    [("blue", "not a member of a team named 'blue'"), ("nope", "not a member of a team named 'nope'")],
)
def test_upload_into_a_team_one_is_not_in_is_refused(alice: User, blue: Team, team: str, message: str) -> None:
    response = client_for(alice).post(
        reverse("api:snapshot-list"), {"manifests": FILES[2][1], "team": team}, format="json"
    )
    assert response.status_code == 400
    assert message in response.json()["team"][0]
    assert not Snapshot.objects.exists()


def test_a_viewer_cannot_upload(blue: Team) -> None:
    User.objects.create_user("vic", "vic@example.org", "password")
    teams.add_member(team=blue, username="vic", role=Membership.Role.VIEWER)
    viewer = User.objects.get(username="vic")
    response = client_for(viewer).post(reverse("api:snapshot-list"), {"manifests": FILES[2][1]}, format="json")
    assert response.status_code == 400
    assert "author or above" in response.json()["team"][0]
    response = client_for(viewer).post(reverse("policies:upload"), {"manifests": FILES[2][1]})
    assert response.status_code == 400
    assert "author or above" in response.content.decode()
    assert not Snapshot.objects.exists()


def test_a_viewer_cannot_reanalyse_or_delete(snapshot: Snapshot) -> None:
    viewer = User.objects.create_user("vic", "vic@example.org", "password")
    Membership.objects.create(team=snapshot.team, user=viewer, role=Membership.Role.VIEWER)
    client = client_for(viewer)
    assert client.get(reverse("api:snapshot-detail", args=[snapshot.id])).status_code == 200
    assert client.post(reverse("api:snapshot-analyze", args=[snapshot.id])).status_code == 403
    assert client.delete(reverse("api:snapshot-detail", args=[snapshot.id])).status_code == 403
    assert snapshot.analyses.count() == 1


def test_upload_page_puts_the_snapshot_in_the_chosen_team(alice: User, blue: Team) -> None:
    teams.add_member(team=blue, username="alice", role=Membership.Role.AUTHOR)
    client = Client()
    client.force_login(alice)
    form = client.get(reverse("policies:upload")).content.decode()
    assert '<option value="blue"' in form and '<option value="default"' in form
    response = client.post(reverse("policies:upload"), {"manifests": FILES[2][1], "team": "blue"})
    assert response.status_code == 302
    assert Snapshot.objects.get().team == blue


def test_create_team_and_add_member_commands(alice: User) -> None:
    out = StringIO()
    call_command("create_team", "payments", stdout=out)
    call_command("add_member", "payments", "alice", "--role", "reviewer", stdout=out)
    assert "alice is now reviewer in team payments" in out.getvalue()
    assert Membership.objects.get(team__name="payments", user=alice).role == "reviewer"
    call_command("add_member", "payments", "alice", "--role", "admin", stdout=out)  # changes the role
    assert Membership.objects.get(team__name="payments", user=alice).role == "admin"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["create_team", "default"], "already exists"),
        (["create_team", "two words"], "not a valid team name"),
        (["add_member", "nope", "alice"], "no team named 'nope'"),
        (["add_member", "default", "nobody"], "no user named 'nobody'"),
    ],
)
def test_team_commands_refuse_bad_input(alice: User, command: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command(*command, stdout=StringIO())


def test_existing_snapshots_migrate_into_the_default_team(transactional_db: None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("policies", "0001_initial")])
    old_apps = executor.loader.project_state([("policies", "0001_initial")]).apps
    OldSnapshot = old_apps.get_model("policies", "Snapshot")
    old = OldSnapshot.objects.create(name="before teams")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("policies"))
    moved = Snapshot.objects.get(id=old.id)
    assert moved.team.name == Team.DEFAULT_NAME
