"""RFC 6962 Merkle trees (SHA-256): tree heads, inclusion and consistency proofs, and the compact range.

Written here rather than imported: no maintained Python library implements RFC 6962's proofs (the
maintained implementations are Go and Rust), and the algorithms are short enough to check against
the RFC line by line and against the published test vectors (tests/unit/test_merkle.py).

- leaf hash   = SHA-256(0x00 ‖ leaf data)
- node hash   = SHA-256(0x01 ‖ left ‖ right)
- MTH({})     = SHA-256("")
- MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])) with k the largest power of two below n.

Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF); verification follows
RFC 9162 §2.1.3.2 and §2.1.4.2, which spell out the checks RFC 6962 leaves to the reader. Indexes are
0-based leaf positions. Every function takes and returns raw 32-byte hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962's hash of one leaf's data."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962's hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (the empty tree's root for an empty list)."""
    if not leaves:
        return EMPTY_ROOT
    frontier = CompactRange()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) over leaf hashes: the audit path of leaf `index`, nearest sibling first."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    # Walk from the root down, collecting each level's sibling subtree; the RFC's recursion
    # appends on the way back up, so the result is reversed at the end.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root(leaves[lo : lo + k]))
            lo = lo + k
    path.reverse()
    return path


def consistency_path(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) over leaf hashes: proves the tree of `old_size` leaves is a prefix of this one."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from size {old_size} to size {n}")
    if old_size == n:
        return []
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], whole) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that `path` proves for `leaf` at `index` in a tree of `size`; None if the path cannot fit."""
    if not 0 <= index < size or len(leaf) != HASH_BYTES or any(len(p) != HASH_BYTES for p in path):
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return None  # more path than the tree is tall
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes) -> bool:
    """Whether `path` proves that `leaf` is leaf `index` of the tree of `size` leaves with `expected_root`."""
    return root_from_inclusion(index, size, leaf, path) == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """Whether `path` proves the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`)."""
    if any(len(p) != HASH_BYTES for p in path) or not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path  # the empty tree is a prefix of every tree
    if not path:
        return False
    nodes = list(path)
    # When the old tree is a complete subtree of the new one, its root is the proof's implicit first node.
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactRange:
    """The right edge of a growing tree: one subtree root per 1-bit of its size, largest first.

    Appending a leaf costs one hash per trailing 1-bit of the size (amortised one), and the root of
    the whole tree so far costs one hash per subtree, so a log can checkpoint without reading its
    entries back.
    """

    __slots__ = ("nodes", "size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != bin(size).count("1"):
            raise ValueError(f"a compact range of size {size} has {bin(size).count('1')} nodes, not {len(nodes)}")
        self.size = size
        self.nodes = list(nodes)

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        while size & 1:
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
        self.nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            r = node_hash(node, r)
        return r

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.nodes)


__all__ = [
    "EMPTY_ROOT",
    "HASH_BYTES",
    "CompactRange",
    "consistency_path",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]
