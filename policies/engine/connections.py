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


# Results of | & - by value: a graph combines the same few sets millions of times.
_MEMO: dict[tuple[ConnectionSet, ConnectionSet, str], ConnectionSet] = {}
_MEMO_LIMIT = 200_000


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
        memo_key = (self, other, op)
        found = _MEMO.get(memo_key)
        if found is not None:
            return found
        result = self._combine_sets(other, op)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[memo_key] = result
        return result

    def _combine_sets(self, other: ConnectionSet, op: str) -> ConnectionSet:
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
        return {"all": self.is_all, "ports": [] if self.is_all else self.port_entries(), "text": str(self)}

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
        """The one wording of a set: ``All Connections``, ``No Connections``, ``TCP 80,443; UDP 53``,
        ``all but TCP 22 and UDP`` (everything except the listed ports and protocols).

        A protocol name never stands alone for "none of it": what is excluded is only ever said
        after ``all but``. ``parse`` reads every form back.
        """
        if self.is_all:
            return "All Connections"
        if self.is_empty:
            return "No Connections"
        if not self.rest:
            return "; ".join(_part_text(proto, ivs) for proto, ivs in self.explicit)
        # every protocol but the listed ones; an explicit protocol's excluded ports are the rest of it
        excluded = [_part_text(proto, _difference(_full(proto), ivs), whole="") for proto, ivs in self.explicit]
        return "all but " + " and ".join(excluded)

    @staticmethod
    def parse(text: str) -> ConnectionSet:
        """The inverse of ``str``: ``TCP 80,8080-8090; UDP 53``, ``all but TCP 22 and ICMP``, ..."""
        text = text.strip()
        if text == "All Connections":
            return _ALL
        if text == "No Connections":
            return _NONE
        if text.startswith("all but "):
            excluded = ConnectionSet.none()
            for part in text[len("all but "):].split(" and "):
                excluded |= _parse_part(part)
            return _ALL - excluded
        result = ConnectionSet.none()
        for part in text.split(";"):
            result |= _parse_part(part)
        return result

    def __repr__(self) -> str:
        return f"ConnectionSet({self})"


def _protocol_text(protocol: str) -> str:
    return f"protocol {protocol}" if protocol.isdigit() else protocol


def _part_text(protocol: str, ivs: IntervalSet, whole: str = " all ports") -> str:
    """One protocol and its ports: ``TCP 80,8080-8090``, ``TCP all ports`` (``TCP`` after "all but"), ``ICMP``."""
    name = _protocol_text(protocol)
    if protocol not in PORT_PROTOCOLS:
        return name
    if ivs == _full(protocol):
        return name + whole
    return name + " " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)


def _parse_part(part: str) -> ConnectionSet:
    words = part.strip().split()
    if len(words) >= 2 and words[0] == "protocol":
        words = [words[1], *words[2:]]
    if not words or len(words) > 3:
        raise ValueError(f"not a protocol and ports: {part!r}")
    protocol = canonical_protocol(words[0])
    ports = " ".join(words[1:])
    if not ports or ports == "all ports" or protocol not in PORT_PROTOCOLS:
        if ports and ports != "all ports":
            raise ValueError(f"{protocol} has no ports: {part!r}")
        return ConnectionSet.protocol(protocol)
    intervals: list[Interval] = []
    for item in ports.split(","):
        lo, _, hi = item.partition("-")
        intervals.append((int(lo), int(hi or lo)))
    return ConnectionSet.build({protocol: tuple(intervals)})


_ALL = ConnectionSet((), True)
_NONE = ConnectionSet((), False)
