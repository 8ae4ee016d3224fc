"""Protocol/port atoms: the coarsest partition of the connection space that every rule respects.

Every ConnectionSet the evaluation meets is a union of atoms: for each protocol that some rule
names, the port ranges between consecutive rule boundaries (a portless protocol such as ICMP is one
atom), plus one atom for every protocol no rule names. A set is then a bit mask over the atoms
(bit ``i`` for atom ``i``), held as ``words`` unsigned 64-bit words, so that unions, intersections
and differences are bitwise operations, in numpy over whole group x peer matrices. Masks turn
back into ConnectionSets only for what is output, once per distinct mask.
This is the port-space twin of ``addresses.AddressSpace`` (which partitions IP addresses).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.engine.connections import MAX_PORT, MIN_PORT, PORT_PROTOCOLS, ConnectionSet, IntervalSet

__all__ = ["PortAtoms"]

# One rule's port piece: a protocol and an inclusive port range (None: every port of it).
Piece = tuple[str, int | None, int | None]


class PortAtoms:
    """The atoms of a set of connection sets and port pieces, and masks over them."""

    def __init__(self, sets: Iterable[ConnectionSet] = (), pieces: Iterable[Piece] = ()) -> None:
        cuts: dict[str, set[int]] = {}
        for conn in sets:
            for proto, ivs in conn.protocols():
                bounds = cuts.setdefault(proto, set())
                if proto in PORT_PROTOCOLS:
                    for lo, hi in ivs:
                        bounds.update((lo, hi + 1))
        for proto, low, high in pieces:
            bounds = cuts.setdefault(proto, set())
            if proto in PORT_PROTOCOLS and low is not None:
                bounds.update((low, (high if high is not None else low) + 1))
        # atom i: (protocol, lo, hi); the last atom is every protocol that no set names
        self.atoms: list[tuple[str, int, int]] = []
        for proto in sorted(cuts):
            if proto not in PORT_PROTOCOLS:
                self.atoms.append((proto, 0, 0))
                continue
            points = sorted({MIN_PORT, MAX_PORT + 1} | {b for b in cuts[proto] if MIN_PORT < b <= MAX_PORT})
            for lo, nxt in zip(points, points[1:], strict=False):
                self.atoms.append((proto, lo, nxt - 1))
        self.rest_bit = len(self.atoms)
        self.size = len(self.atoms) + 1
        self.words = (self.size + 63) // 64
        self.full = (1 << self.size) - 1
        self._masks: dict[ConnectionSet, int] = {}
        self._sets: dict[int, ConnectionSet] = {0: ConnectionSet.none(), self.full: ConnectionSet.all()}
        self._by_proto: dict[str, list[int]] = {}
        for i, (proto, _, _) in enumerate(self.atoms):
            self._by_proto.setdefault(proto, []).append(i)

    def mask(self, conn: ConnectionSet) -> int:
        """The atoms of ``conn`` (which must respect the partition) as a bit mask."""
        found = self._masks.get(conn)
        if found is not None:
            return found
        mask = (1 << self.rest_bit) if conn.rest else 0
        explicit = dict(conn.protocols())
        for proto, bits in self._by_proto.items():
            ivs = explicit.get(proto)
            if ivs is None:
                if conn.rest:
                    for i in bits:
                        mask |= 1 << i
                continue
            for i in bits:
                _, lo, hi = self.atoms[i]
                if _covers(ivs, lo, hi, proto):
                    mask |= 1 << i
        for proto in explicit:
            if proto not in self._by_proto:
                raise ValueError(f"{conn} names {proto}, which is not in the atoms")
        self._masks[conn] = mask
        return mask

    def conn(self, mask: int) -> ConnectionSet:
        """The connection set of a mask (memoised: a graph's edges share few distinct masks)."""
        found = self._sets.get(mask)
        if found is not None:
            return found
        rest = bool(mask >> self.rest_bit & 1)
        mapping: dict[str, list[tuple[int, int]]] = {}
        for proto, bits in self._by_proto.items():
            ivs = mapping.setdefault(proto, [])
            for i in bits:
                if mask >> i & 1:
                    _, lo, hi = self.atoms[i]
                    ivs.append((lo, hi))
        result = ConnectionSet.build({p: tuple(v) for p, v in mapping.items()}, rest)
        self._sets[mask] = result
        return result

    def words_of(self, mask: int) -> tuple[int, ...]:
        """A mask as its 64-bit words, lowest first (the layout of the matrices' last axis)."""
        return tuple((mask >> (64 * w)) & 0xFFFF_FFFF_FFFF_FFFF for w in range(self.words))


def _covers(ivs: IntervalSet, lo: int, hi: int, proto: str) -> bool:
    if proto not in PORT_PROTOCOLS:
        return bool(ivs)
    for a, b in ivs:
        if a <= lo and hi <= b:
            return True
        if a > hi:
            return False
    return False
