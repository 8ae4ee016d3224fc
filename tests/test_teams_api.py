"""Teams through the API: staff create them, team admins manage members, others get 404."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from policies.models import Membership, Team


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_staff_create_a_team_and_its_admin_adds_members(alice: User, bob: User) -> None:
    staff = User.objects.create_user("root", is_staff=True)
    assert client_for(alice).post("/api/teams/", {"name": "shop"}, format="json").status_code == 403
    response = client_for(staff).post("/api/teams/", {"name": "shop"}, format="json")
    assert response.status_code == 201 and response.json()["name"] == "shop"
    assert client_for(staff).post("/api/teams/", {"name": "shop"}, format="json").status_code == 400
    shop = Team.objects.get(name="shop")
    Membership.objects.create(team=shop, user=alice, role=Membership.Role.ADMIN)
    added = client_for(alice).post("/api/teams/shop/members/", {"username": "bob", "role": "reviewer"},
                                   format="json")
    assert added.status_code == 201 and added.json()["role"] == "reviewer"
    bad = client_for(alice).post("/api/teams/shop/members/", {"username": "bob", "role": "boss"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()
    assert client_for(bob).post("/api/teams/shop/members/", {"username": "bob", "role": "admin"},
                                format="json").status_code == 403
    members = client_for(bob).get("/api/teams/shop/").json()["members"]
    assert sorted((m["username"], m["role"]) for m in members) == [("alice", "admin"), ("bob", "reviewer")]
    assert client_for(alice).delete("/api/teams/shop/members/bob/").status_code == 204
    assert client_for(bob).get("/api/teams/shop/").status_code == 404


def test_another_team_gets_404(alice: User) -> None:
    Team.objects.create(name="elsewhere")
    assert client_for(alice).get("/api/teams/elsewhere/").status_code == 404
    assert client_for(alice).post("/api/teams/elsewhere/members/", {"username": "alice", "role": "admin"},
                                  format="json").status_code == 404
    assert [t["name"] for t in client_for(alice).get("/api/teams/").json()["results"]] == ["default"]


def test_the_team_page_lets_admins_manage_members(alice: User, bob: User) -> None:
    admin = User.objects.create_user("ada")
    Membership.objects.create(team=Team.default(), user=admin, role=Membership.Role.ADMIN)
    outsider = User.objects.create_user("oscar")
    Membership.objects.create(team=Team.objects.create(name="elsewhere"), user=outsider, role=Membership.Role.ADMIN)
    page, client = "/teams/default/", Client()
    client.force_login(admin)
    assert client.post(page, {"username": "bob", "role": "admin"}).status_code == 302
    assert Membership.objects.get(user=bob).role == "admin"
    client.force_login(alice)
    assert "bob" in client.get(page).content.decode()
    assert client.post(page, {"username": "bob", "remove": "1"}).status_code == 403
    client.force_login(outsider)
    assert client.get(page).status_code == 404
