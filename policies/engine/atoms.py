"""Protocol/port atoms: the coarsest partition of the connection space that every rule respects.

The rules' port boundaries cut the space into elementary pieces: for each protocol that some rule
names, the port ranges between consecutive boundaries (a portless protocol such as ICMP is one
piece), and one piece for every protocol no rule names. Pieces that belong to exactly the same
rule sets are one atom (an atom may be several ranges: TCP 1-52 and TCP 54-79 when no rule tells
them apart), so every set the evaluation meets, and every union, intersection and difference of
them, is a union of atoms. A set is then a bit mask over the atoms (bit ``i`` for atom ``i``),
held as ``words`` unsigned integers of ``width`` bits (one word of 1, 2, 4 or 8 bytes when it
holds the atoms, else several 8-byte words), so that set algebra is bitwise operations, in numpy
over whole blocks of rows. Masks turn back into ConnectionSets only for what is output, once per distinct mask.
This is the port-space twin of ``addresses.AddressSpace`` (which partitions IP addresses).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.engine.connections import MAX_PORT, MIN_PORT, PORT_PROTOCOLS, ConnectionSet, IntervalSet

__all__ = ["PortAtoms"]


# An elementary piece: a protocol and an inclusive port range ((0, 0) for a portless protocol);
# ("*", 0, 0) stands for every protocol that no set names.
Segment = tuple[str, int, int]
REST: Segment = ("*", 0, 0)


class PortAtoms:
    """The atoms of a family of connection sets, and masks over them."""

    def __init__(self, sets: Iterable[ConnectionSet]) -> None:
        family = list(dict.fromkeys(sets))
        cuts: dict[str, set[int]] = {}
        for conn in family:
            for proto, ivs in conn.protocols():
                bounds = cuts.setdefault(proto, set())
                if proto in PORT_PROTOCOLS:
                    for lo, hi in ivs:
                        bounds.update((lo, hi + 1))
        segments: list[Segment] = []
        for proto in sorted(cuts):
            if proto not in PORT_PROTOCOLS:
                segments.append((proto, 0, 0))
                continue
            points = sorted({MIN_PORT, MAX_PORT + 1} | {b for b in cuts[proto] if MIN_PORT < b <= MAX_PORT})
            segments.extend((proto, lo, nxt - 1) for lo, nxt in zip(points, points[1:], strict=False))
        segments.append(REST)
        # pieces in exactly the same sets form one atom (the coarsest partition the family respects)
        by_signature: dict[tuple[bool, ...], list[Segment]] = {}
        for seg in segments:
            signature = tuple(_contains(conn, seg) for conn in family)
            by_signature.setdefault(signature, []).append(seg)
        self.atoms: list[list[Segment]] = list(by_signature.values())
        self.size = len(self.atoms)
        # one word of 1, 2, 4 or 8 bytes, else as many 8-byte words as the atoms need: numpy's
        # loops over a last axis of several small words (33 atoms as 5 bytes) ran several times
        # slower than over one 8-byte word, for 1.6 times less memory
        self.width = next((bits for bits in (8, 16, 32) if self.size <= bits), 64)
        self.words = (self.size + self.width - 1) // self.width
        self.full = (1 << self.size) - 1
        self._masks: dict[ConnectionSet, int] = {}
        self._sets: dict[int, ConnectionSet] = {0: ConnectionSet.none(), self.full: ConnectionSet.all()}

    def mask(self, conn: ConnectionSet) -> int:
        """The atoms of ``conn`` as a bit mask; ``conn`` must be a union of atoms (any set of the
        family, and any union, intersection or difference of them), else ValueError."""
        found = self._masks.get(conn)
        if found is not None:
            return found
        mask = 0
        for i, atom in enumerate(self.atoms):
            if _contains(conn, atom[0]):
                mask |= 1 << i
        if self.conn(mask) != conn:
            raise ValueError(f"{conn} is not a union of the atoms")
        self._masks[conn] = mask
        return mask

    def atom_of(self, protocol: str, port: int) -> int:
        """The index of the atom that holds one connection (a protocol and a port)."""
        for i, atom in enumerate(self.atoms):
            for proto, lo, hi in atom:
                if proto == protocol and (protocol not in PORT_PROTOCOLS or lo <= port <= hi):
                    return i
        return next(i for i, atom in enumerate(self.atoms) if REST in atom)  # a protocol no rule names

    def conn(self, mask: int) -> ConnectionSet:
        """The connection set of a mask (memoised: a graph's edges share few distinct masks)."""
        found = self._sets.get(mask)
        if found is not None:
            return found
        rest = False
        mapping: dict[str, list[tuple[int, int]]] = {}
        for i, atom in enumerate(self.atoms):
            inside = bool(mask >> i & 1)
            for proto, lo, hi in atom:
                if proto == "*":
                    rest = inside
                    continue
                ivs = mapping.setdefault(proto, [])
                if inside:
                    ivs.append((lo, hi))
        result = ConnectionSet.build({p: tuple(v) for p, v in mapping.items()}, rest)
        self._sets[mask] = result
        return result


def _contains(conn: ConnectionSet, seg: Segment) -> bool:
    proto, lo, hi = seg
    if proto == "*":
        return conn.rest
    ivs = dict(conn.protocols()).get(proto)
    if ivs is None:
        return conn.rest
    return _covers(ivs, lo, hi, proto)


def _covers(ivs: IntervalSet, lo: int, hi: int, proto: str) -> bool:
    if proto not in PORT_PROTOCOLS:
        return bool(ivs)
    for a, b in ivs:
        if a <= lo and hi <= b:
            return True
        if a > hi:
            return False
    return False
