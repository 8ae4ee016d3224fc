"""Explanations from the web app's kept explainer are the engine's explanations, question by question,
on the demo snapshots and on generated clusters; caches compute a value once and never answer for
another snapshot or analysis."""

from __future__ import annotations

import random
import threading
from contextlib import ExitStack
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings

from policies import engine, services
from policies.engine import stored_state
from policies.models import AnalysisPart, Snapshot, TeamExpectation
from policies.services import answers, rechecks
from policies.services import manifests as manifests_service
from policies.services.cache import LockedCache
from policies.services.expectations import ExpectationSet
from policies.services.explainers import EXPLAINER_PART, stored_explainer
from tests.bench_generator import load_generator

pytestmark = pytest.mark.django_db


def answer(ask: Any, *args: Any, **kwargs: Any) -> dict[str, Any] | str:
    try:
        result: dict[str, Any] = ask(*args, **kwargs)
    except engine.PolicyError as exc:
        return f"error: {exc}"
    return result


def questions(snapshot: Snapshot, seed: int, count: int) -> list[tuple[str, str, str, int | None]]:
    """Random pairs of the snapshot's pods and workloads, a few addresses, TCP/UDP/ICMP."""
    rng = random.Random(seed)
    ends = [f"{r.namespace}/{r.name}" for r in snapshot.resources.filter(kind="Pod")]
    ends += [f"{r.namespace}/{r.kind}/{r.name}" for r in snapshot.resources.filter(
        kind__in=("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"))]
    ends += ["8.8.8.8", "10.0.0.1", "nowhere/nothing"]
    out = []
    for _ in range(count):
        protocol = rng.choice(["TCP", "TCP", "UDP", "ICMP"])
        port = None if protocol == "ICMP" else rng.choice([53, 80, 443, 5432, 8080])
        out.append((rng.choice(ends), rng.choice(ends), protocol, port))
    return out


def engine_answer(cluster: engine.Cluster, source: str, destination: str, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = engine.explain(cluster, source, destination, **options).to_dict()
    return result


def check_answers(snapshot: Snapshot, seed: int, count: int = 60) -> None:
    cluster = engine.parse_files([(f.name, f.text) for f in snapshot.files.all()]).cluster
    for source, destination, protocol, port in questions(snapshot, seed, count):
        fast = answer(services.explain_flow, snapshot=snapshot, source=source, destination=destination, port=port,
                      protocol=protocol)
        slow = answer(engine_answer, cluster, source, destination, port=port, protocol=protocol)
        assert fast == slow, (source, destination, protocol, port)


def test_the_demo_snapshots_answer_as_the_engine_does() -> None:
    for seed, (snapshot, _) in enumerate(services.load_demo()):
        check_answers(snapshot, seed)


@pytest.mark.parametrize(("shape", "calico"), [("sparse", 0), ("dense", 0), ("sparse", 6)])
def test_generated_clusters_answer_as_the_engine_does(make_snapshot: Any, shape: str, calico: int) -> None:
    files, _ = load_generator().generate(pods=120, namespaces=4, policies=24, calico_policies=calico, seed=7,
                                    shape=shape)
    snapshot = make_snapshot(sorted(files.items()), name=shape, analyse=False)
    check_answers(snapshot, seed=len(shape) + calico, count=80)


def test_analysed_clusters_answer_from_the_stored_explainer_as_the_engine_does(make_snapshot: Any) -> None:
    """A process that never parsed the snapshot reads its explainer from the analysis: no parse, and
    the same answers as the engine's, question by question."""
    files, _ = load_generator().generate(pods=120, namespaces=4, policies=24, calico_policies=4, seed=11)
    snapshot = make_snapshot(sorted(files.items()), name="stored")
    assert snapshot.analyses.get().parts.filter(key=EXPLAINER_PART).exists()
    cold_process()
    with mock.patch.object(engine, "parse_files", wraps=engine.parse_files) as parse:
        answer(services.explain_flow, snapshot=snapshot, source="8.8.8.8", destination="10.0.0.1", port=80)
    assert parse.call_count == 0
    check_answers(snapshot, seed=11, count=80)


def cold_process() -> None:
    """Forget what this process has parsed and built, as a new web worker would."""
    answers._explainers.clear()
    manifests_service._parsed.clear()


@pytest.mark.parametrize("change", ["stored before the part", "another SECRET_KEY", "another engine"])
def test_an_analysis_whose_explainer_cannot_be_used_is_answered_by_parsing(snapshot: Snapshot, change: str) -> None:
    """Analyses stored before the explainer part, or by another engine, or under another
    SECRET_KEY still answer, as the engine does: the snapshot is parsed."""
    cluster = engine.parse_files([(f.name, f.text) for f in snapshot.files.all()]).cluster
    expected = engine_answer(cluster, "prod/web", "prod/db", port=5432)
    cold_process()
    assert stored_explainer(snapshot) is not None
    with ExitStack() as changed:
        if change == "stored before the part":
            AnalysisPart.objects.filter(analysis__snapshot=snapshot, key=EXPLAINER_PART).delete()
        elif change == "another SECRET_KEY":
            changed.enter_context(override_settings(SECRET_KEY="another-" + "k" * 50))
        else:
            changed.enter_context(mock.patch.object(stored_state, "code_fingerprint", return_value=b"0" * 64))
        assert stored_explainer(snapshot) is None
        with mock.patch.object(engine, "parse_files", wraps=engine.parse_files) as parse:
            assert services.explain_flow(snapshot=snapshot, source="prod/web", destination="prod/db",
                                         port=5432) == expected
        assert parse.call_count == 1


def test_an_explainer_that_cannot_be_written_leaves_the_analysis_done(make_snapshot: Any) -> None:
    with mock.patch.object(engine.Explainer, "to_bytes", side_effect=TypeError("cannot pickle 'x'")):
        snapshot = make_snapshot()
    analysis = snapshot.analyses.get()
    assert analysis.status == "done" and not analysis.parts.filter(key=EXPLAINER_PART).exists()
    cold_process()
    assert services.explain_flow(snapshot=snapshot, source="prod/web", destination="prod/db", port=5432)["allowed"]


def test_a_stored_state_builds_nothing_but_engine_classes() -> None:
    """Correctly signed bytes that name any other callable are refused before it is called."""
    key = b"k" * 32

    class Evil:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (print, ("ran",))  # builtins.print: harmless here, refused all the same

    cluster = engine.parse_files([("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")]).cluster
    for refused in (Evil(), {"ok": engine.Explainer(cluster), "no": Evil()}, stored_state.code_fingerprint):
        data = stored_state.dump_state(refused, key=key)
        with mock.patch("builtins.print") as called, pytest.raises(stored_state.StateMismatch, match="not an engine"):
            stored_state.load_state(data, key=key)
        assert called.call_count == 0
    explainer = engine.Explainer(cluster)
    assert engine.Explainer.from_bytes(explainer.to_bytes(key=key), key=key).cluster == cluster
    with pytest.raises(stored_state.StateMismatch, match="signature"):
        engine.Explainer.from_bytes(explainer.to_bytes(key=key), key=b"x" * 32)
    tampered = bytearray(explainer.to_bytes(key=key))
    tampered[-5] ^= 1
    with pytest.raises(stored_state.StateMismatch, match="signature"):
        engine.Explainer.from_bytes(bytes(tampered), key=key)
    with pytest.raises(stored_state.StateMismatch, match="not an explainer"):
        engine.Explainer.from_bytes(stored_state.dump_state(cluster, key=key), key=key)


def test_each_snapshot_has_its_own_explainer(make_snapshot: Any, manifests: dict[str, Any]) -> None:
    """The same question of two snapshots: the second is not answered from the first's explainer."""
    closed = make_snapshot(name="closed", analyse=False)
    opened = make_snapshot(manifests["open_files"], name="open", analyse=False)
    ask = {"source": "other/intruder", "destination": "prod/db", "port": 5432}
    assert services.explain_flow(snapshot=closed, **ask)["allowed"] is False
    assert services.explain_flow(snapshot=opened, **ask)["allowed"] is True
    assert services.explain_flow(snapshot=closed, **ask)["allowed"] is False


def test_an_explainer_is_built_once_per_snapshot(snapshot: Snapshot) -> None:
    with mock.patch.object(engine, "Explainer", wraps=engine.Explainer) as built:
        for port in (5432, 80, 443):
            services.explain_flow(snapshot=snapshot, source="prod/web", destination="prod/db", port=port)
    assert built.call_count <= 1  # the snapshot fixture may have built it already


def test_a_value_asked_for_by_many_threads_at_once_is_computed_once() -> None:
    cache: LockedCache[int] = LockedCache(size=2)
    release = threading.Event()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        release.wait(5)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", compute))) for _ in range(8)]
    for t in threads:
        t.start()
    release.wait(0.3)  # the others arrive while the first computes
    release.set()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert len(calls) == 1


def test_a_failed_computation_is_not_kept() -> None:
    cache: LockedCache[int] = LockedCache(size=2)
    with pytest.raises(ZeroDivisionError):
        cache.get("k", lambda: 1 // 0)
    assert cache.get("k", lambda: 7) == 7


def test_the_cache_keeps_only_the_most_recent_values() -> None:
    cache: LockedCache[str] = LockedCache(size=2)
    for key in ("a", "b", "a", "c"):
        cache.get(key, lambda key=key: key.upper())  # type: ignore[misc]
    assert cache.get("b", lambda: "again") == "again"  # b was the least recently used
    assert cache.get("a", lambda: "again") == "again"  # ...and then a, pushed out by b
    assert cache.get("b", lambda: "third") == "again"


def test_a_diff_is_computed_once_per_pair_of_analyses(make_snapshot: Any, manifests: dict[str, Any]) -> None:
    old = make_snapshot(name="before")
    new = make_snapshot(manifests["open_files"], name="after")
    with mock.patch.object(engine, "diff_dicts", wraps=engine.diff_dicts) as diff:
        first = services.diff_snapshots(old=old, new=new, level="workload")
        second = services.diff_snapshots(old=old, new=new, level="workload")
        reverse = services.diff_snapshots(old=new, new=old, level="workload")
    assert first == second
    assert diff.call_count == 2
    assert {(e["source"], e["target"]) for e in first["added"]} == {
        (e["source"], e["target"]) for e in reverse["removed"]}
    # A new analysis of the same snapshot is another diff.
    services.run_analysis(analysis_id=services.start_analysis(snapshot=new).id)
    with mock.patch.object(engine, "diff_dicts", wraps=engine.diff_dicts) as diff:
        assert services.diff_snapshots(old=old, new=new, level="workload") == first
    assert diff.call_count == 1


def test_a_diff_over_new_address_blocks_and_a_recheck_use_the_stored_clusters(
    make_snapshot: Any, manifests: dict[str, Any],
) -> None:
    """A change that adds an ipBlock cuts the address space anew: the diff is computed again from
    both clusters, read from the stored explainers (no parse), and is the engine's."""
    block = manifests["policy"].replace("        - podSelector: {}\n",
                                        "        - podSelector: {}\n        - ipBlock: {cidr: 10.20.0.0/16}\n")
    assert block != manifests["policy"]
    old = make_snapshot(name="before")
    new = make_snapshot([*manifests["files"][:2], ("policy.yaml", block)], name="after")
    cold_process()
    with mock.patch.object(engine, "parse_files", wraps=engine.parse_files) as parse:
        diff = services.diff_snapshots(old=old, new=new, level="workload")
        report = rechecks.refresh_analysis(analysis=new.analyses.get(), checked=ExpectationSet(
            new.team_id, 1, (TeamExpectation(team=new.team, name="x", spec={
                "from": {"cidr": "10.20.0.0/16"}, "to": {"namespace": "prod"}, "expect": "deny"}),)))
    assert parse.call_count == 0
    parse_both = [engine.parse_files([(f.name, f.text) for f in s.files.all()]).cluster for s in (old, new)]
    assert diff == engine.diff_clusters(*parse_both, level="workload").to_dict()
    assert ("10.20.0.0/16", "prod/Pod/db") in {(e["source"], e["target"]) for e in diff["added"]}
    assert report is not None and report["ok"] is False  # 10.20.0.0/16 now reaches db


# --- the API -------------------------------------------------------------------------------------


def test_the_api_explains_with_a_suggestion_when_asked(api: Any, snapshot: Snapshot) -> None:
    url = f"/api/snapshots/{snapshot.id}/explain/"
    ask = {"from": "other/intruder", "to": "prod/db", "port": 5432}
    plain = api.get(url, ask)
    assert plain.status_code == 200 and "suggestion" not in plain.json()
    answer = api.get(url, {**ask, "suggest": "true"}).json()
    suggestion = answer["suggestion"]
    assert answer["allowed"] is False and suggestion["goal"] == "allow" and suggestion["verified"] is True
    assert suggestion["changes"][0]["action"] == "add-rule"
    assert "kubernetes.io/metadata.name: other" in suggestion["changes"][0]["yaml"]
    assert {k: v for k, v in answer.items() if k != "suggestion"} == plain.json()


def test_graphs_and_diffs_are_rendered_once_and_read_as_drf_renders_them(
    api: Any, make_snapshot: Any, manifests: dict[str, Any]
) -> None:
    from rest_framework.renderers import JSONRenderer

    old = make_snapshot(name="before")
    new = make_snapshot(manifests["open_files"], name="after")
    graph_url, diff_url = f"/api/snapshots/{new.id}/graph/", f"/api/snapshots/{new.id}/diff/"
    with mock.patch.object(JSONRenderer, "render", autospec=True, side_effect=JSONRenderer.render) as render:
        first = api.get(graph_url, {"level": "workload"})
        again = api.get(graph_url, {"level": "workload"})
        diffs = [api.get(diff_url, {"against": old.id}) for _ in range(2)]
    assert first.status_code == again.status_code == 200 and first["Content-Type"] == "application/json"
    assert first.content == again.content
    assert first.content == JSONRenderer().render(services.get_graph(snapshot=new, level="workload"))
    assert diffs[0].content == diffs[1].content
    assert diffs[0].json() == services.diff_snapshots(old=old, new=new, level="workload")
    assert render.call_count == 2  # one graph, one diff
    # The browsable API still renders the page.
    page = api.get(graph_url, {"level": "workload"}, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
