"""ConnectionSet algebra against a brute-force model over a small universe."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.engine.connections import ConnectionSet

PROTOS = ["TCP", "UDP", "SCTP", "ICMP"]
# A small port universe is enough to exercise every interval boundary case.
PORTS = [1, 2, 3, 50, 51, 52, 65534, 65535]
OTHER = "other"  # stands for every protocol not in PROTOS


def points(cs: ConnectionSet) -> frozenset[tuple[str, int]]:
    out = set()
    for proto in PROTOS:
        if proto == "ICMP":
            if cs.allows("ICMP"):
                out.add((proto, 0))
            continue
        for port in PORTS:
            if cs.allows(proto, port):
                out.add((proto, port))
    if cs.allows("47"):  # GRE: never named explicitly below, so it follows ``rest``
        out.add((OTHER, 0))
    return frozenset(out)


@st.composite
def connection_sets(draw: st.DrawFn) -> ConnectionSet:
    cs = ConnectionSet.all() if draw(st.booleans()) and draw(st.booleans()) else ConnectionSet.none()
    for _ in range(draw(st.integers(0, 4))):
        proto = draw(st.sampled_from(PROTOS))
        if proto == "ICMP" or draw(st.booleans()):
            part = ConnectionSet.protocol(proto)
        else:
            lo = draw(st.sampled_from(PORTS))
            hi = draw(st.sampled_from([p for p in PORTS if p >= lo]))
            part = ConnectionSet.protocol(proto, lo, hi)
        op = draw(st.sampled_from(["|", "-"]))
        cs = cs | part if op == "|" else cs - part
    return cs


@settings(max_examples=300)
@given(connection_sets(), connection_sets())
def test_algebra_matches_point_sets(a: ConnectionSet, b: ConnectionSet) -> None:
    assert points(a | b) == points(a) | points(b)
    assert points(a & b) == points(a) & points(b)
    assert points(a - b) == points(a) - points(b)


@settings(max_examples=200)
@given(connection_sets(), connection_sets())
def test_equal_point_sets_mean_equal_values(a: ConnectionSet, b: ConnectionSet) -> None:
    """Canonical form: the same set always has the same representation (stable diffs)."""
    if points(a) == points(b):
        assert (a - b).is_empty and (b - a).is_empty
    assert (a | b) == (b | a)
    assert ConnectionSet.from_dict((a | b).to_dict()) == a | b


def test_printing_is_canonical() -> None:
    cs = ConnectionSet.protocol("TCP", 80) | ConnectionSet.protocol("TCP", 81) | ConnectionSet.protocol("UDP", 53)
    assert str(cs) == "TCP 80-81; UDP 53"
    assert cs.to_dict() == {"all": False, "ports": [
        {"protocol": "TCP", "from": 80, "to": 81}, {"protocol": "UDP", "from": 53, "to": 53}],
        "text": "TCP 80-81; UDP 53"}
    assert str(ConnectionSet.all()) == "All Connections"
    assert str(ConnectionSet.none()) == "No Connections"
    deny_ssh = ConnectionSet.all() - ConnectionSet.protocol("TCP", 22)
    assert str(deny_ssh) == "all but TCP 22"
    assert deny_ssh.allows("UDP", 22) and not deny_ssh.allows("TCP", 22)


def test_protocol_names_and_numbers_are_the_same() -> None:
    assert ConnectionSet.protocol("6", 80) == ConnectionSet.protocol("tcp", 80)
    assert ConnectionSet.protocol("58") == ConnectionSet.protocol("ICMPv6")


ALL = ConnectionSet.all()
P = ConnectionSet.protocol


@pytest.mark.parametrize(
    ("conn", "text"),
    [
        (ALL, "All Connections"),
        (ConnectionSet.none(), "No Connections"),
        (ALL - P("TCP"), "all but TCP"),
        (ALL - P("TCP", 80, 90), "all but TCP 80-90"),
        (P("TCP", 80) | P("UDP", 53), "TCP 80; UDP 53"),
        (P("TCP", 80) | P("TCP", 443) | P("TCP", 8080, 8090), "TCP 80,443,8080-8090"),
        (P("TCP"), "TCP all ports"),
        (P("ICMP") | P("SCTP", 9), "ICMP; SCTP 9"),
        (P("47"), "protocol 47"),
        (ALL - P("TCP", 22) - P("UDP") - P("ICMPv6"), "all but ICMPv6 and TCP 22 and UDP"),
        (ALL - P("47"), "all but protocol 47"),
    ],
)
def test_one_wording_for_every_set(conn: ConnectionSet, text: str) -> None:
    """A protocol name never stands alone for "none of it": exclusions come after "all but"."""
    assert str(conn) == text
    assert conn.to_dict()["text"] == text
    assert ConnectionSet.parse(text) == conn


PROTOCOLS = ["TCP", "UDP", "SCTP", "UDPLite", "ICMP", "ICMPv6", "47", "255"]


@st.composite
def connection_sets(draw: st.DrawFn) -> ConnectionSet:
    """Unions of random protocol ranges, complemented half of the time (Calico's Deny then Allow)."""
    conn = ConnectionSet.none()
    for _ in range(draw(st.integers(0, 5))):
        protocol = draw(st.sampled_from(PROTOCOLS))
        if draw(st.booleans()):
            lo = draw(st.integers(1, 65535))
            hi = draw(st.integers(lo, min(65535, lo + draw(st.sampled_from([0, 1, 10, 1000, 65535])))))
            conn |= ConnectionSet.protocol(protocol, lo, hi)
        else:
            conn |= ConnectionSet.protocol(protocol)
    return ConnectionSet.all() - conn if draw(st.booleans()) else conn


@given(connection_sets())
@settings(max_examples=400, deadline=None)
def test_the_text_form_reads_back_as_the_same_set(conn: ConnectionSet) -> None:
    text = str(conn)
    assert ConnectionSet.parse(text) == conn
    # never a bare protocol name for "none of it": a set that excludes TCP wholly says "all but"
    if conn.rest and not conn.allows("TCP"):
        assert text.startswith("all but ")
