"""The pages: login required, server-rendered answers, the upload error path and the no-JS flow check.

The cluster is the one drawn in conftest.py:

    namespace prod:  web --TCP 5432--> db      (db admits its own namespace only)
    namespace other: intruder --x--> prod/db
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from policies import services
from policies.models import Analysis, Resource, Snapshot, SnapshotFile

from .conftest import BAD_POLICY, FILES, NAMESPACES, PODS, POLICY


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def policy_resource(snapshot: Snapshot) -> Resource:
    return snapshot.resources.get(kind="NetworkPolicy", name="db-same-namespace")


def page_urls(snapshot: Snapshot) -> list[str]:
    policy = policy_resource(snapshot)
    return [
        reverse("policies:snapshot-list"),
        reverse("policies:upload"),
        reverse("policies:snapshot", args=[snapshot.id]),
        reverse("policies:graph", args=[snapshot.id]),
        reverse("policies:flow", args=[snapshot.id]),
        reverse("policies:matrix", args=[snapshot.id]),
        reverse("policies:matrix", args=[snapshot.id]) + "?from=prod",
        reverse("policies:policy", args=[snapshot.id, policy.id]),
        reverse("policies:graph-export", args=[snapshot.id, "csv"]),
    ]


# --- login ------------------------------------------------------------------------------------


def test_every_page_redirects_anonymous_users_to_the_login_page(client: Client, snapshot: Snapshot) -> None:
    for url in page_urls(snapshot):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_every_page_renders_for_a_logged_in_user(web: Client, snapshot: Snapshot) -> None:
    for url in page_urls(snapshot):
        response = web.get(url)
        assert response.status_code == 200, url


def test_login_page_renders_and_logs_in(client: Client, alice: User) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in to netpol" in response.content
    response = client.post("/accounts/login/", {"username": "alice", "password": "password", "next": "/"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_page_of_a_snapshot_that_does_not_exist_is_404(web: Client, db: None) -> None:
    assert web.get(reverse("policies:graph", args=[999])).status_code == 404


# --- snapshot list and demo -----------------------------------------------------------------------


def test_empty_snapshot_list_offers_the_demo_data_and_the_upload_form(web: Client) -> None:
    response = web.get(reverse("policies:snapshot-list"))
    html = response.content.decode()
    assert "No snapshots yet" in html
    assert f'action="{reverse("policies:load-demo")}"' in html
    assert f'action="{reverse("policies:upload")}"' in html
    assert 'type="file"' in html and "<textarea" in html


def test_snapshot_list_shows_counts_and_status(web: Client, snapshot: Snapshot) -> None:
    html = web.get(reverse("policies:snapshot-list")).content.decode()
    assert "No snapshots yet" not in html
    assert reverse("policies:snapshot", args=[snapshot.id]) in html
    assert '<span class="badge done">Done</span>' in html


def test_loading_the_demo_creates_the_demo_snapshots(web: Client) -> None:
    response = web.post(reverse("policies:load-demo"))
    assert response.status_code == 302
    assert Snapshot.objects.filter(origin=Snapshot.Origin.DEMO).count() >= 5
    assert web.get(reverse("policies:load-demo")).status_code == 405


# --- upload --------------------------------------------------------------------------------------


def test_uploading_files_and_pasted_text_stores_a_snapshot(web: Client) -> None:
    response = web.post(
        reverse("policies:upload"),
        {
            "name": "mine",
            "files": [
                SimpleUploadedFile("namespaces.yaml", NAMESPACES.encode()),
                SimpleUploadedFile("pods.yaml", PODS.encode()),
            ],
            "manifests": POLICY,
        },
    )
    snapshot = Snapshot.objects.get(name="mine")
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:snapshot", args=[snapshot.id])
    services.run_analysis(analysis_id=snapshot.analyses.get().id)  # it reads and stores the objects
    assert sorted(snapshot.files.values_list("name", flat=True)) == ["namespaces.yaml", "pasted.yaml", "pods.yaml"]
    assert snapshot.resources.filter(kind="NetworkPolicy").count() == 1


# A syntax error: refused at once, before anything is stored.
BROKEN_POLICY = POLICY.replace("      app: db", "      app: db: x")


def test_upload_error_shows_file_line_and_field_keeps_the_text_and_stores_nothing(web: Client) -> None:
    pasted = NAMESPACES + "---\n" + PODS + "---\n" + BROKEN_POLICY
    response = web.post(reverse("policies:upload"), {"name": "broken", "manifests": pasted})

    assert response.status_code == 400
    html = response.content.decode()
    bad_line = pasted.splitlines().index("      app: db: x") + 1
    assert re.search(rf"pasted.yaml, line {bad_line} \(document 6\)</span>:\s*YAML syntax error", html)
    # The offending line is shown, marked, with its number.
    assert re.search(rf'<li class="bad"><span class="ln">{bad_line}</span><code>\s*app: db: x</code>', html)
    # What the user typed is still in the textarea.
    assert "app: db: x" in response.context["form"]["manifests"].value()
    assert not Snapshot.objects.exists()
    assert not SnapshotFile.objects.exists()
    assert not Resource.objects.exists()
    assert not Analysis.objects.exists()


def test_an_invalid_field_fails_the_analysis_and_the_snapshot_page_shows_file_line_and_field(web: Client) -> None:
    pasted = NAMESPACES + "---\n" + PODS + "---\n" + BAD_POLICY
    response = web.post(reverse("policies:upload"), {"name": "broken", "manifests": pasted})

    # Valid YAML: stored at once, read by the analysis.
    snapshot = Snapshot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:snapshot", args=[snapshot.id])
    services.run_analysis(analysis_id=snapshot.analyses.get().id)

    html = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    bad_line = pasted.splitlines().index("          port: 99999") + 1
    assert '<span class="badge failed"' in html
    assert "the files are stored, no object of them is" in html
    assert (f"pasted.yaml, line {bad_line} (document 6)</span>, NetworkPolicy prod/db-same-namespace, "
            "field <code>spec.ingress[0].ports[0].port</code>") in html
    assert re.search(rf'<li class="bad"><span class="ln">{bad_line}</span><code>\s*port: 99999</code>', html)
    assert not Resource.objects.exists()


def bad_upload(web: Client, pods: str = PODS) -> Any:
    """pods.yaml and a policy.yaml that is not YAML: a 400."""
    files = [SimpleUploadedFile("pods.yaml", pods.encode()), SimpleUploadedFile("policy.yaml", BROKEN_POLICY.encode())]
    response = web.post(reverse("policies:upload"), {"files": files})
    assert response.status_code == 400
    return response


def test_upload_error_in_a_file_keeps_the_files_for_the_next_try(web: Client) -> None:
    response = bad_upload(web)
    html = response.content.decode()
    bad_line = BROKEN_POLICY.splitlines().index("      app: db: x") + 1
    assert f"policy.yaml, line {bad_line}" in html
    # The files are offered by name and size, ticked; the page carries only a token, not their text.
    form = response.context["form"]
    assert [label for _, label in form.fields["keep"].choices] == [
        f"pods.yaml ({len(PODS)}\xa0bytes)", f"policy.yaml ({len(BROKEN_POLICY)}\xa0bytes)"
    ]
    assert form["keep"].value() == ["pods.yaml", "policy.yaml"]
    token = form["draft"].value()
    assert token and f'value="{token}"' in html
    assert "image: postgres:16" not in html
    assert not Snapshot.objects.exists()

    # The next try removes the bad file (unticked) and pastes a fixed policy: the kept file is used.
    response = web.post(reverse("policies:upload"), {"draft": token, "keep": ["pods.yaml"], "manifests": POLICY})
    assert response.status_code == 302
    snapshot = Snapshot.objects.get()
    assert sorted(snapshot.files.values_list("name", flat=True)) == ["pasted.yaml", "pods.yaml"]
    assert snapshot.files.get(name="pods.yaml").text == PODS
    # Used once: the draft is gone.
    again = web.post(reverse("policies:upload"), {"draft": token, "keep": ["pods.yaml"]})
    assert again.status_code == 400
    assert "no longer kept" in again.content.decode()


def test_the_error_page_does_not_grow_with_the_files(web: Client) -> None:
    small = bad_upload(web)
    padding = "".join(f"# {'x' * 1000}\n" for _ in range(2000))  # 2 MB of comments
    large = bad_upload(web, pods=padding + PODS)
    grown = len(large.content) - len(small.content)
    assert abs(grown) < 100  # the size in the label ("2.0\xa0MB"), not the 2 MB
    kept = services.kept_files(user=large.wsgi_request.user, token=large.context["form"]["draft"].value())
    assert kept is not None and sum(f.size for f in kept) > 2_000_000


def test_another_users_token_does_not_bring_the_files(web: Client, bob: User) -> None:
    token = bad_upload(web).context["form"]["draft"].value()
    other = Client()
    other.force_login(bob)
    response = other.post(reverse("policies:upload"), {"draft": token, "keep": ["pods.yaml"], "manifests": POLICY})
    assert response.status_code == 400
    assert "The files of your last try are no longer kept; choose them again." in response.content.decode()
    assert not Snapshot.objects.exists()
    # Still alice's.
    response = web.post(reverse("policies:upload"), {"draft": token, "keep": ["pods.yaml"], "manifests": POLICY})
    assert response.status_code == 302


def test_a_fixed_file_replaces_its_kept_copy(web: Client) -> None:
    token = bad_upload(web).context["form"]["draft"].value()
    response = web.post(
        reverse("policies:upload"),
        {
            "draft": token,
            "keep": ["pods.yaml", "policy.yaml"],
            "files": [SimpleUploadedFile("policy.yaml", POLICY.encode())],
        },
    )
    assert response.status_code == 302
    snapshot = Snapshot.objects.get()
    assert sorted(snapshot.files.values_list("name", "text")) == [("pods.yaml", PODS), ("policy.yaml", POLICY)]


def test_a_draft_expires_and_a_user_has_one(web: Client, alice: User, settings: Any) -> None:
    first = bad_upload(web).context["form"]["draft"].value()
    second = bad_upload(web).context["form"]["draft"].value()
    assert services.kept_files(user=alice, token=first) is None  # replaced by the second
    assert services.kept_files(user=alice, token=second)
    settings.NETPOL_UPLOAD_DRAFT_MINUTES = 0
    assert services.kept_files(user=alice, token=second) is None


def test_upload_without_anything_asks_for_a_file(web: Client) -> None:
    response = web.post(reverse("policies:upload"), {"name": "empty", "manifests": "  "})
    assert response.status_code == 400
    assert "Choose at least one file, or paste some YAML." in response.content.decode()
    assert not Snapshot.objects.exists()


def test_upload_of_a_file_that_is_not_utf8_names_the_file(web: Client) -> None:
    response = web.post(reverse("policies:upload"), {"files": [SimpleUploadedFile("pods.yaml", b"\xff\xfe\x00")]})
    assert response.status_code == 400
    assert "pods.yaml" in response.content.decode()
    assert "not UTF-8" in response.content.decode()
    assert not Snapshot.objects.exists()


# --- overview -----------------------------------------------------------------------------------


def test_overview_shows_counts_headlines_and_links_to_the_filtered_graph(web: Client, snapshot: Snapshot) -> None:
    response = web.get(reverse("policies:snapshot", args=[snapshot.id]))
    html = response.content.decode()
    counts = response.context["counts"]
    assert (counts["namespaces"], counts["pods"], counts["policies"]) == (2, 3, 1)
    graph = reverse("policies:graph", args=[snapshot.id])
    for key in ("exposed", "not-isolated", "internet"):
        assert f'href="{graph}?only={key}"' in html
    # prod/web and other/intruder are not selected by any ingress policy; prod/db is.
    not_isolated = next(h for h in response.context["headlines"] if h.key == "not-isolated")
    assert sorted(not_isolated.nodes) == ["other/intruder", "prod/web"]
    assert "1 policy" in html


def test_overview_of_a_running_analysis_shows_a_progress_bar_that_polls(web: Client, make_snapshot: Any) -> None:
    snapshot = make_snapshot(analyse=False)
    analysis = snapshot.analyses.get()
    Analysis.objects.filter(id=analysis.id).update(status="running", progress=0.4, progress_message="graph")
    html = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    assert '<progress id="analysis-progress" max="100" value="40">' in html
    assert f'data-poll="{reverse("api:analysis-detail", args=[analysis.id])}"' in html


def test_overview_of_a_failed_analysis_says_why(web: Client, make_snapshot: Any) -> None:
    snapshot = make_snapshot(analyse=False)
    snapshot.analyses.get().fail("internal error: boom")
    html = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    assert "internal error: boom" in html
    assert "Analyse again" in html


# --- graph ------------------------------------------------------------------------------------------


def test_graph_page_hands_the_api_urls_and_policy_links_to_the_script(web: Client, snapshot: Snapshot) -> None:
    response = web.get(reverse("policies:graph", args=[snapshot.id]) + "?ns=prod&port=5432")
    html = response.content.decode()
    config = json.loads(re.search(r'<script id="graph-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["urls"]["graph"] == f"/api/snapshots/{snapshot.id}/graph/"
    assert config["urls"]["explain"] == f"/api/snapshots/{snapshot.id}/explain/"
    assert config["analysis"]["status"] == "done"
    policy = policy_resource(snapshot)
    policy_url = reverse("policies:policy", args=[snapshot.id, policy.id])
    assert config["policy_urls"] == {"NetworkPolicy/prod/db-same-namespace": policy_url}
    assert config["headline"]["not-isolated"] == ["other/Pod/intruder", "prod/Pod/web"]
    # The filter form starts from the URL (it also works as a plain GET form).
    assert 'value="5432"' in html
    assert '<option value="prod" selected>prod</option>' in html
    assert "cytoscape/dist/cytoscape.min.js" in html


@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [
        ("json", "application/json", '"edges"'),
        ("csv", "text/csv", "prod/Pod/web,prod/Pod/db,false,TCP,5432,5432"),
        ("dot", "text/vnd.graphviz", "digraph"),
    ],
)
def test_graph_exports(web: Client, snapshot: Snapshot, fmt: str, content_type: str, expected: str) -> None:
    response = web.get(reverse("policies:graph-export", args=[snapshot.id, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert "attachment" in response["Content-Disposition"]
    assert expected in response.content.decode()


def test_graph_export_of_an_unfinished_analysis_is_409(web: Client, make_snapshot: Any) -> None:
    snapshot = make_snapshot(analyse=False)
    assert web.get(reverse("policies:graph-export", args=[snapshot.id, "dot"])).status_code == 409


def test_graph_export_of_an_unknown_format_is_404(web: Client, snapshot: Snapshot) -> None:
    assert web.get(reverse("policies:graph-export", args=[snapshot.id, "exe"])).status_code == 404


# --- flow check (no JavaScript) -----------------------------------------------------------------------


def flow(web: Client, snapshot: Snapshot, **params: Any) -> Any:
    return web.get(reverse("policies:flow", args=[snapshot.id]), params)


def test_flow_check_form_says_allowed_first_then_the_trace(web: Client, snapshot: Snapshot) -> None:
    response = flow(web, snapshot, src="prod/web", dst="prod/db", port="5432", protocol="TCP")
    assert response.status_code == 200
    html = response.content.decode()
    verdict = re.search(r'<p class="verdict allowed" id="verdict" role="status">(.*?)</p>', html, re.S)
    assert verdict is not None
    assert "Allowed: prod/web may reach prod/db on TCP 5432." in verdict.group(1)
    assert html.index('id="verdict"') < html.index("Egress of the source") < html.index("Ingress of the destination")
    # The deciding rule's lines of the policy's file are highlighted, with file line numbers.
    ingress_rule = POLICY.splitlines().index("    - from:") + 1
    hl = re.findall(r'<li class="hl"><span class="ln">(\d+)</span>', html)
    assert [int(n) for n in hl] == list(range(ingress_rule, ingress_rule + 5))
    assert f"policy.yaml, lines 1-{len(POLICY.splitlines())}" in html


def test_flow_check_form_says_denied_and_why(web: Client, snapshot: Snapshot) -> None:
    response = flow(web, snapshot, src="other/intruder", dst="prod/db", port="5432", protocol="TCP")
    html = response.content.decode()
    assert '<p class="verdict denied"' in html
    assert "Denied: other/intruder may not reach prod/db on TCP 5432" in html
    assert "db-same-namespace" in html


def test_flow_check_offers_the_question_as_a_command_and_a_curl_call(web: Client, snapshot: Snapshot) -> None:
    html = flow(web, snapshot, src="prod/web", dst="prod/db", port="5432", protocol="TCP").content.decode()
    assert (
        "netpol explain namespaces.yaml pods.yaml policy.yaml --from prod/web --to prod/db --port 5432 --protocol TCP"
        in html
    )
    assert f"http://testserver/api/snapshots/{snapshot.id}/explain/?from=prod%2Fweb&amp;to=prod%2Fdb" in html
    assert "Authorization: Token $NETPOL_TOKEN" in html


def test_flow_check_with_an_unknown_endpoint_shows_the_error_and_keeps_the_input(
    web: Client, snapshot: Snapshot
) -> None:
    response = flow(web, snapshot, src="prod/nope", dst="prod/db", port="5432", protocol="TCP")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="verdict"' not in html
    assert re.search(r'<ul class="errorlist"><li>unknown pod &#x27;prod/nope&#x27;</li>', html)
    assert 'value="prod/nope"' in html
    assert response.context["form"].errors["src"] == ["unknown pod 'prod/nope'"]
    assert "dst" not in response.context["form"].errors


def test_flow_check_says_which_end_is_unknown(web: Client, snapshot: Snapshot) -> None:
    response = flow(web, snapshot, src="prod/web", dst="prod/Deployment/nope", port="5432", protocol="TCP")
    assert response.status_code == 400
    assert response.context["form"].errors["dst"] == ["unknown workload 'prod/Deployment/nope'"]


def test_flow_check_needs_a_port(web: Client, snapshot: Snapshot) -> None:
    response = flow(web, snapshot, src="prod/web", dst="prod/db", port="", protocol="TCP")
    assert response.status_code == 400
    assert response.context["form"].errors["port"]


def test_flow_check_link_with_only_the_two_ends_fills_the_form_without_errors(web: Client, snapshot: Snapshot) -> None:
    response = flow(web, snapshot, src="prod/web", dst="prod/db")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="prod/web"' in html and 'value="prod/db"' in html
    assert "errorlist" not in html


def test_flow_check_autocompletes_workload_and_pod_names(web: Client, snapshot: Snapshot) -> None:
    html = flow(web, snapshot).content.decode()
    assert '<datalist id="endpoint-names">' in html
    assert '<option value="prod/Pod/web">workload prod/web</option>' in html
    assert '<option value="prod/web">pod prod/web</option>' in html


# --- matrix ----------------------------------------------------------------------------------------------


def test_namespace_matrix_counts_pairs_and_links_to_the_workload_matrix(web: Client, snapshot: Snapshot) -> None:
    response = web.get(reverse("policies:matrix", args=[snapshot.id]))
    matrix = response.context["matrix"]
    rows = {label: cells for label, _, cells in matrix.rows}
    columns = [label for label, _ in matrix.columns]
    prod_to_prod = rows["prod"][columns.index("prod")]
    other_to_prod = rows["other"][columns.index("prod")]
    assert other_to_prod.openness == "some"  # intruder reaches web (not isolated), not db
    assert prod_to_prod.text.startswith("2 of 2 pairs")
    assert "from=prod&to=prod" in prod_to_prod.url.replace("&amp;", "&")


def test_workload_matrix_cells_open_the_flow_check_for_the_pair(web: Client, snapshot: Snapshot) -> None:
    response = web.get(reverse("policies:matrix", args=[snapshot.id]), {"from": "prod", "to": "prod"})
    html = response.content.decode()
    assert 'class="open-some"' in html
    assert "TCP 5432" in html
    flow_url = reverse("policies:flow", args=[snapshot.id])
    cell = next(c for _, _, cells in response.context["matrix"].rows for c in cells if c.text == "TCP 5432")
    assert cell.url.startswith(flow_url) and "port=5432" in cell.url
    assert web.get(cell.url).status_code == 200


def test_matrix_of_an_unknown_namespace_is_404(web: Client, snapshot: Snapshot) -> None:
    assert web.get(reverse("policies:matrix", args=[snapshot.id]), {"from": "nope"}).status_code == 404


# --- policy ------------------------------------------------------------------------------------------------


def test_policy_page_shows_yaml_selected_pods_and_the_flows_it_allows(web: Client, snapshot: Snapshot) -> None:
    policy = policy_resource(snapshot)
    response = web.get(reverse("policies:policy", args=[snapshot.id, policy.id]))
    html = response.content.decode()
    assert '<span class="ln">1</span><code>apiVersion: networking.k8s.io/v1</code>' in html
    assert response.context["selected"] == ["prod/db"]
    flows = [(f.source_label, f.target_label, f.direction) for f in response.context["flows"]]
    assert flows == [("prod/web", "prod/db", "ingress")]
    # Deleting it would leave db unisolated: the intruder and the outside get in, web gets every port.
    assert "2 flows would open" in html
    assert "prod/Pod/web → prod/Pod/db: TCP 5432 becomes All Connections" in html


def test_policy_page_refuses_an_object_that_is_not_a_policy(web: Client, snapshot: Snapshot) -> None:
    pod = snapshot.resources.filter(kind="Pod").first()
    assert web.get(reverse("policies:policy", args=[snapshot.id, pod.id])).status_code == 404


def test_pages_of_an_unanalysed_snapshot_say_so(web: Client, make_snapshot: Callable[..., Snapshot]) -> None:
    snapshot = make_snapshot(FILES, analyse=False)
    html = web.get(reverse("policies:matrix", args=[snapshot.id])).content.decode()
    assert "the analysis of this snapshot is queued" in html.lower()


def test_matrix_sorts_names_naturally() -> None:
    from policies.pages.matrix import natural_key

    assert sorted(["ns-10", "ns-2", "ns-1", "app"], key=natural_key) == ["app", "ns-1", "ns-2", "ns-10"]


def test_the_matrix_reads_the_analysis_parts_not_the_workload_graph(
    web: Client, snapshot: Snapshot, monkeypatch: Any
) -> None:
    from policies.models import Analysis

    def table(params: dict[str, str]) -> str:
        html = web.get(f"/snapshots/{snapshot.id}/matrix/", params).content.decode()
        return html[html.index("<table"):html.index("</table>")]

    before = table({"from": "other", "to": "prod"}), table({})
    assert "TCP 5432" in before[0] or "nothing" in before[0].lower() or "No Connections" in before[0]
    monkeypatch.setattr(Analysis, "graph", lambda self, level: pytest.fail("the matrix read a whole graph"))
    assert (table({"from": "other", "to": "prod"}), table({})) == before


def test_the_graph_page_of_an_upload_not_read_yet_guesses_its_size_from_the_files(
    web: Client, settings: Any
) -> None:
    response = web.post(reverse("policies:upload"), {"name": "mine", "manifests": NAMESPACES + "---\n" + PODS})
    snapshot = Snapshot.objects.get()
    assert response.status_code == 302 and not snapshot.objects_stored
    size = len(NAMESPACES + "---\n" + PODS)
    for above, expected in ((size // 1000 - 1, True), (size // 1000, False)):
        settings.NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE = above
        page = web.get(reverse("policies:graph", args=[snapshot.id]))
        assert page.context["config"]["namespace_first"] is expected
