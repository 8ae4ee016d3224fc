"""The pod reader's fast paths (named ports, owner references) give what the checked reading gives,
on values of every shape; whatever they do not take is left to the checked reading (which words
the errors)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.engine.cluster import Source
from policies.engine.documents import RawObject
from policies.engine.errors import PolicyError
from policies.engine.workloads import checked_owner, container_port, plain_owner, plain_port

OBJ = RawObject("Pod", "v1", {"metadata": {"name": "p"}}, Source("f.yaml", 0, 1, 9))
ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.sampled_from(["", "x", "TCP", "80"]),
                st.lists(st.integers(), max_size=1), st.dictionaries(st.just("a"), st.integers(), max_size=1))


def checked(read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except PolicyError as exc:
        return ("error", exc.message)


PORT = st.one_of(ODD, st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["http", "dns", ""]), ODD),
    "containerPort": st.one_of(st.sampled_from([1, 80, 65535, 0, 65536, True]), ODD),
    "protocol": st.one_of(st.sampled_from(["TCP", "UDP", "SCTP", "ICMP", "tcp"]), ODD)}))
REF = st.one_of(ODD, st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["rs", ""]), ODD),
    "kind": st.one_of(st.sampled_from(["ReplicaSet", "Node", ""]), ODD),
    "controller": st.one_of(st.booleans(), ODD)}))


@settings(max_examples=400, deadline=None)
@given(PORT)
def test_plain_port_is_the_checked_reading(entry: Any) -> None:
    fast = plain_port(entry)
    if fast is not None:
        assert checked(container_port, OBJ, entry, "spec.containers[0].ports[0]") == fast


@settings(max_examples=400, deadline=None)
@given(st.one_of(ODD, st.lists(REF, max_size=3)))
def test_plain_owner_is_the_checked_reading(refs: Any) -> None:
    fast = plain_owner(refs)
    if fast is not None:
        assert checked(checked_owner, OBJ, refs) == fast


def test_the_fast_paths_take_the_usual_values() -> None:
    assert plain_port({"name": "http", "containerPort": 80}) is not None
    owner = plain_owner([{"kind": "ReplicaSet", "name": "a"}, {"kind": "ReplicaSet", "name": "b", "controller": True}])
    assert owner is not None and owner.name == "b"
