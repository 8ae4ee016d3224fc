"""External address blocks: the coarsest partition that respects every ipBlock."""

from __future__ import annotations

import ipaddress

import pytest

from policies.engine.addresses import AddressSpace
from policies.engine.cluster import IPBlock


def block(cidr: str, *excepts: str) -> IPBlock:
    return IPBlock(ipaddress.ip_network(cidr), tuple(ipaddress.ip_network(e) for e in excepts))


def test_no_sets_means_one_block_per_family() -> None:
    space = AddressSpace([], families=(4, 6))
    assert [b.id for b in space.blocks] == ["0.0.0.0/0", "::/0"]


def test_cidr_with_except_gives_three_classes() -> None:
    """0.0.0.0/0 except 10/8: the except is one class, the rest another (two ranges)."""
    space = AddressSpace([block("0.0.0.0/0", "10.0.0.0/8"), block("10.1.0.0/16")])
    ids = sorted(b.id for b in space.blocks)
    assert ids == ["0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255", "10.0.0.0/16,10.2.0.0-10.255.255.255",
                   "10.1.0.0/16"]


@pytest.mark.parametrize("ip, expected", [
    ("9.1.1.1", "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255"),
    ("200.1.1.1", "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255"),
    ("10.1.2.3", "10.1.0.0/16"),
    ("10.3.0.0", "10.0.0.0/16,10.2.0.0-10.255.255.255"),
])
def test_block_lookup(ip: str, expected: str) -> None:
    space = AddressSpace([block("0.0.0.0/0", "10.0.0.0/8"), block("10.1.0.0/16")])
    assert space.blocks[space.block_of(ipaddress.ip_address(ip))].id == expected


def test_every_set_is_a_union_of_blocks() -> None:
    sets = [block("172.17.0.0/16", "172.17.1.0/24"), block("172.17.1.128/25"), block("0.0.0.0/0")]
    space = AddressSpace(sets)
    for s in sets:
        members = space.blocks_in(s)
        for b in space.blocks:
            probe = b.representative()
            assert (b.index in members) == s.contains(probe)
    assert sum(b.size() for b in space.blocks) == 2**32
