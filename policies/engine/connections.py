"""ConnectionSet: an exact, canonical set of (protocol, destination port) pairs.

TCP, UDP, SCTP and UDPLite carry ports 1-65535; every other protocol (ICMP, ICMPv6, numbers) is
portless. A set is a map of explicitly described protocols plus a ``rest`` flag that stands for
every protocol not in the map, all ports. This keeps complement exact, which Calico's ordered
Deny and Pass rules need (SEMANTICS.md 5.6). The printed forms are canonical so diffs are stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MIN_PORT = 1
MAX_PORT = 65535
PORT_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP", "UDPLite"})
PROTOCOL_NUMBERS = {"ICMP": 1, "TCP": 6, "UDP": 17, "ICMPv6": 58, "SCTP": 132, "UDPLite": 136}
_NAMES_BY_NUMBER = {v: k for k, v in PROTOCOL_NUMBERS.items()}
_NAMES_BY_UPPER = {k.upper(): k for k in PROTOCOL_NUMBERS}

Interval = tuple[int, int]
IntervalSet = tuple[Interval, ...]


def canonical_protocol(value: str | int) -> str:
    """TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite, or a decimal protocol number (1-255) as a string."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        if not 1 <= number <= 255:
            raise ValueError(f"protocol number {number} is outside 1-255")
        return _NAMES_BY_NUMBER.get(number, str(number))
    name = _NAMES_BY_UPPER.get(value.upper())
    if name is None:
        raise ValueError(f"unknown protocol {value!r}")
    return name


def _full(protocol: str) -> IntervalSet:
    return ((MIN_PORT, MAX_PORT),) if protocol in PORT_PROTOCOLS else ((0, 0),)


def _normalise(intervals: Iterable[Interval]) -> IntervalSet:
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _union(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    return _normalise(a + b)


def _intersection(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _difference(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Interval] = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


@dataclass(frozen=True)
class ConnectionSet:
    explicit: tuple[tuple[str, IntervalSet], ...] = ()
    rest: bool = False

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def all() -> ConnectionSet:
        return _ALL

    @staticmethod
    def none() -> ConnectionSet:
        return _NONE

    @staticmethod
    def build(mapping: dict[str, IntervalSet], rest: bool = False) -> ConnectionSet:
        items = []
        for proto, ivs in mapping.items():
            ivs = _intersection(_normalise(ivs), _full(proto))
            if ivs == (_full(proto) if rest else ()):
                continue
            items.append((proto, ivs))
        if not items:
            return _ALL if rest else _NONE
        return ConnectionSet(tuple(sorted(items)), rest)

    @staticmethod
    def protocol(protocol: str, lo: int | None = None, hi: int | None = None) -> ConnectionSet:
        """Every port of ``protocol``, or the inclusive range lo..hi."""
        protocol = canonical_protocol(protocol)
        if lo is None or protocol not in PORT_PROTOCOLS:
            return ConnectionSet.build({protocol: _full(protocol)})
        return ConnectionSet.build({protocol: ((lo, hi if hi is not None else lo),)})

    # -- queries -----------------------------------------------------------------------------
    def _get(self, protocol: str) -> IntervalSet:
        for proto, ivs in self.explicit:
            if proto == protocol:
                return ivs
        return _full(protocol) if self.rest else ()

    @property
    def is_all(self) -> bool:
        return self.rest and not self.explicit

    @property
    def is_empty(self) -> bool:
        return not self.rest and not self.explicit

    def __bool__(self) -> bool:
        return not self.is_empty

    def allows(self, protocol: str, port: int | None = None) -> bool:
        ivs = self._get(canonical_protocol(protocol))
        if not ivs:
            return False
        if port is None or canonical_protocol(protocol) not in PORT_PROTOCOLS:
            return True
        return any(lo <= port <= hi for lo, hi in ivs)

    def protocols(self) -> Iterator[tuple[str, IntervalSet]]:
        return iter(self.explicit)

    # -- algebra -------------------------------------------------------------------------------
    def _combine(self, other: ConnectionSet, op: str) -> ConnectionSet:
        if op == "|":
            if self.is_all or other.is_empty:
                return self
            if other.is_all or self.is_empty:
                return other
        elif op == "&":
            if self.is_all or other.is_empty:
                return other
            if other.is_all or self.is_empty:
                return self
        protos = {p for p, _ in self.explicit} | {p for p, _ in other.explicit}
        mapping: dict[str, IntervalSet] = {}
        for proto in protos:
            a, b = self._get(proto), other._get(proto)
            if op == "|":
                mapping[proto] = _union(a, b)
            elif op == "&":
                mapping[proto] = _intersection(a, b)
            else:
                mapping[proto] = _difference(a, b)
        if op == "|":
            rest = self.rest or other.rest
        elif op == "&":
            rest = self.rest and other.rest
        else:
            rest = self.rest and not other.rest
        return ConnectionSet.build(mapping, rest)

    def __or__(self, other: ConnectionSet) -> ConnectionSet:
        return self._combine(other, "|")

    def __and__(self, other: ConnectionSet) -> ConnectionSet:
        return self._combine(other, "&")

    def __sub__(self, other: ConnectionSet) -> ConnectionSet:
        return self._combine(other, "-")

    def restricted_to(self, protocols: Iterable[str]) -> ConnectionSet:
        """Only the given protocols (e.g. the L4 ones the k8s evaluator defines)."""
        return ConnectionSet.build({p: self._get(p) for p in protocols})

    # -- printing ------------------------------------------------------------------------------
    def port_entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for proto, ivs in self.explicit:
            for lo, hi in ivs:
                if proto in PORT_PROTOCOLS:
                    entries.append({"protocol": proto, "from": lo, "to": hi})
                else:
                    entries.append({"protocol": proto, "from": None, "to": None})
        if self.rest:
            # "*" is every protocol not listed in "except" (those are described by their own entries).
            entries.append({"protocol": "*", "from": None, "to": None, "except": [p for p, _ in self.explicit]})
        return entries

    def to_dict(self) -> dict[str, Any]:
        return {"all": self.is_all, "ports": [] if self.is_all else self.port_entries()}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ConnectionSet:
        if data.get("all"):
            return _ALL
        mapping: dict[str, list[Interval]] = {}
        rest = False
        for e in data.get("ports", []):
            if e["protocol"] == "*":
                rest = True
                for proto in e.get("except", []):
                    mapping.setdefault(canonical_protocol(proto), [])
                continue
            proto = canonical_protocol(e["protocol"])
            if e.get("from") is None:
                mapping.setdefault(proto, []).extend(_full(proto))
            else:
                mapping.setdefault(proto, []).append((int(e["from"]), int(e["to"])))
        return ConnectionSet.build({k: tuple(v) for k, v in mapping.items()}, rest)

    def __str__(self) -> str:
        if self.is_all:
            return "All Connections"
        if self.is_empty:
            return "No Connections"
        parts = []
        for proto, ivs in self.explicit:
            if proto in PORT_PROTOCOLS:
                if ivs == _full(proto):
                    parts.append(f"{proto} all ports")
                else:
                    ports = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)
                    parts.append(f"{proto} {ports}")
            else:
                parts.append(proto)
        if self.rest:
            parts.append("all other protocols")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"ConnectionSet({self})"


_ALL = ConnectionSet((), True)
_NONE = ConnectionSet((), False)
