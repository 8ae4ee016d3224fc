"""External address blocks: the coarsest partition of the IPv4 and IPv6 spaces that respects every
ipBlock (and Calico nets) of the input, so that no policy can tell two addresses of a block apart.

Addresses are classed by which address sets contain them; a block is one class, possibly made of
several ranges. https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policies.engine.cluster import IPAddress, IPBlock, IPNetwork

_SPACE = {4: 1 << 32, 6: 1 << 128}


@dataclass(frozen=True)
class ExternalBlock:
    """One class of external addresses: ranges of one IP family, as inclusive integer bounds."""

    index: int
    version: int
    ranges: tuple[tuple[int, int], ...]

    @property
    def id(self) -> str:
        return ",".join(_range_text(self.version, lo, hi) for lo, hi in self.ranges)

    def cidrs(self) -> list[str]:
        out: list[str] = []
        for lo, hi in self.ranges:
            first, last = _addr(self.version, lo), _addr(self.version, hi)
            out.extend(str(n) for n in ipaddress.summarize_address_range(first, last))
        return out

    def representative(self) -> IPAddress:
        return _addr(self.version, self.ranges[0][0])

    def contains(self, ip: IPAddress) -> bool:
        if ip.version != self.version:
            return False
        value = int(ip)
        return any(lo <= value <= hi for lo, hi in self.ranges)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)


def _addr(version: int, value: int) -> IPAddress:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def _range_text(version: int, lo: int, hi: int) -> str:
    first, last = _addr(version, lo), _addr(version, hi)
    nets = list(ipaddress.summarize_address_range(first, last))
    if len(nets) == 1:
        return str(nets[0])
    return f"{first}-{last}"


def union_text(cidrs: Iterable[str]) -> list[str]:
    """The union of address blocks, one text per IP family, in the form of ``ExternalBlock.id``:
    adjacent ranges join, so blocks that together are ``0.0.0.0/0`` print as ``0.0.0.0/0``."""
    by_version: dict[int, list[tuple[int, int]]] = {}
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        by_version.setdefault(net.version, []).append(_bounds(net))
    out: list[str] = []
    for version in sorted(by_version):
        merged: list[list[int]] = []
        for lo, hi in sorted(by_version[version]):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out.append(",".join(_range_text(version, lo, hi) for lo, hi in merged))
    return out


def _bounds(net: IPNetwork) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


class AddressSpace:
    """The partition, with lookups from an address or an address set to the blocks."""

    def __init__(self, sets: Iterable[IPBlock], families: Iterable[int] = (4,)) -> None:
        unique = sorted(set(sets), key=lambda b: (b.cidr.version, str(b)))
        self.sets: tuple[IPBlock, ...] = tuple(unique)
        self.blocks: list[ExternalBlock] = []
        self._starts: dict[int, list[int]] = {}
        self._interval_block: dict[int, list[int]] = {}
        self._set_blocks: dict[IPBlock, frozenset[int]] = {}
        versions = set(families) | {b.cidr.version for b in unique}
        for version in sorted(versions):
            self._partition(version, [b for b in unique if b.cidr.version == version])

    def _partition(self, version: int, sets: Sequence[IPBlock]) -> None:
        cuts = {0, _SPACE[version]}
        for s in sets:
            for net in (s.cidr, *s.excepts):
                lo, hi = _bounds(net)
                cuts.update((lo, hi + 1))
        points = sorted(cuts)
        intervals = list(zip(points[:-1], [p - 1 for p in points[1:]], strict=True))
        # Signature of an elementary interval: the sets that contain it.
        signatures: list[tuple[int, ...]] = []
        for lo, _hi in intervals:
            probe = _addr(version, lo)
            signatures.append(tuple(i for i, s in enumerate(sets) if s.contains(probe)))
        by_signature: dict[tuple[int, ...], list[int]] = {}
        for i, sig in enumerate(signatures):
            by_signature.setdefault(sig, []).append(i)
        interval_block = [0] * len(intervals)
        # Blocks ordered by their first address, so ids and indices are stable.
        for sig, members in sorted(by_signature.items(), key=lambda kv: intervals[kv[1][0]][0]):
            ranges: list[tuple[int, int]] = []
            for i in members:
                lo, hi = intervals[i]
                if ranges and ranges[-1][1] + 1 == lo:
                    ranges[-1] = (ranges[-1][0], hi)
                else:
                    ranges.append((lo, hi))
            block = ExternalBlock(len(self.blocks), version, tuple(ranges))
            self.blocks.append(block)
            for i in members:
                interval_block[i] = block.index
            for set_index in sig:
                s = sets[set_index]
                self._set_blocks[s] = self._set_blocks.get(s, frozenset()) | {block.index}
        self._starts[version] = [lo for lo, _ in intervals]
        self._interval_block[version] = interval_block
        for s in sets:
            self._set_blocks.setdefault(s, frozenset())

    def block_of(self, ip: IPAddress) -> int:
        starts = self._starts.get(ip.version)
        if starts is None:
            raise KeyError(f"no IPv{ip.version} partition")
        i = bisect.bisect_right(starts, int(ip)) - 1
        return self._interval_block[ip.version][i]

    def blocks_in(self, ip_block: IPBlock) -> frozenset[int]:
        """The blocks that make up an address set (every set of the input is a union of blocks)."""
        found = self._set_blocks.get(ip_block)
        if found is not None:
            return found
        # Not one of the partition's sets: only exact when it respects the boundaries.
        return frozenset(b.index for b in self.blocks if b.version == ip_block.cidr.version
                         and ip_block.contains(b.representative()))
