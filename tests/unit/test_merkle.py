"""keel.governance.merkle against RFC 6962: published vectors, the definitions, and tampered proofs."""

from __future__ import annotations

import hashlib

import pytest

from keel.governance import merkle

# RFC 6962 test vectors as published with the Certificate Transparency implementations: eight leaves,
# the root of each prefix, and some proofs (leaf numbers 1-based there, 0-based indexes here).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
MAX = 33


def leaf_hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1's definition, recursively, over leaf hashes: the reference the fast code is held to."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def flipped(path: list[bytes], i: int) -> list[bytes]:
    out = list(path)
    out[i] = bytes([out[i][0] ^ 8]) + out[i][1:]
    return out


def test_the_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_the_published_roots() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    for n in range(1, 9):
        assert merkle.root(hashes[:n]).hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_the_published_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[:size]]
    assert [p.hex() for p in merkle.inclusion_path(hashes, index)] == path
    assert merkle.verify_inclusion(
        index, size, hashes[index], [bytes.fromhex(p) for p in path], bytes.fromhex(ROOTS[size - 1])
    )


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_the_published_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[:new]]
    assert [p.hex() for p in merkle.consistency_path(hashes, old)] == path
    assert merkle.verify_consistency(
        old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), [bytes.fromhex(p) for p in path]
    )


def test_roots_match_the_definition_and_the_compact_range_for_every_size() -> None:
    leaves = leaf_hashes(MAX)
    compact = merkle.CompactRange()
    for n in range(1, MAX + 1):
        compact.append(leaves[n - 1])
        assert merkle.root(leaves[:n]) == mth(leaves[:n]) == compact.root()
        assert len(compact.nodes) == bin(n).count("1")
        # A compact range rebuilt from its stored nodes goes on growing the same tree.
        assert merkle.CompactRange(compact.size, compact.nodes).root() == compact.root()


def test_inclusion_proofs_for_every_leaf_of_trees_up_to_33() -> None:
    leaves = leaf_hashes(MAX)
    for n in range(1, MAX + 1):
        tree, root = leaves[:n], mth(leaves[:n])
        for i in range(n):
            path = merkle.inclusion_path(tree, i)
            assert merkle.verify_inclusion(i, n, tree[i], path, root), (i, n)
            # Tampered: another leaf, another index, another size, a flipped bit, a missing or extra node.
            assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"other"), path, root)
            if n > 1:
                assert not merkle.verify_inclusion((i + 1) % n, n, tree[i], path, root)
            # A size with another tree height (the size itself is bound only through the path's shape).
            assert not merkle.verify_inclusion(i, 2 * n, tree[i], path, root)
            assert not merkle.verify_inclusion(i, n // 2, tree[i], path, root)
            assert not merkle.verify_inclusion(i, n, tree[i], path, merkle.leaf_hash(b"root"))
            for k in range(len(path)):
                assert not merkle.verify_inclusion(i, n, tree[i], flipped(path, k), root)
            if path:
                assert not merkle.verify_inclusion(i, n, tree[i], path[:-1], root)
            assert not merkle.verify_inclusion(i, n, tree[i], [*path, root], root)
            assert not merkle.verify_inclusion(i, n, tree[i], [b"\x00" * 31, *path], root)
        assert not merkle.verify_inclusion(n, n, tree[0], [], root)


def test_consistency_proofs_for_every_pair_up_to_33() -> None:
    leaves = leaf_hashes(MAX)
    roots = [mth(leaves[:n]) for n in range(MAX + 1)]
    for n in range(1, MAX + 1):
        for m in range(1, n + 1):
            path = merkle.consistency_path(leaves[:n], m)
            assert merkle.verify_consistency(m, n, roots[m], roots[n], path), (m, n)
            if m == n:
                assert path == []
                continue
            assert not merkle.verify_consistency(m, n, roots[n], roots[m], path)
            assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), roots[n], path)
            assert not merkle.verify_consistency(m, n, roots[m], merkle.leaf_hash(b"x"), path)
            assert not merkle.verify_consistency(m, n, roots[m], roots[n], [])
            assert not merkle.verify_consistency(m, n, roots[m], roots[n], path[:-1])
            assert not merkle.verify_consistency(m, n, roots[m], roots[n], [*path, roots[m]])
            for k in range(len(path)):
                assert not merkle.verify_consistency(m, n, roots[m], roots[n], flipped(path, k))
            if m > 1:
                assert not merkle.verify_consistency(m - 1, n, roots[m], roots[n], path)
            if m + 1 < n:
                assert not merkle.verify_consistency(m + 1, n, roots[m], roots[n], path)


def test_the_trivial_consistency_cases() -> None:
    root = merkle.leaf_hash(b"a")
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
    assert merkle.verify_consistency(3, 3, root, root, [])
    assert not merkle.verify_consistency(3, 3, root, root, [root])
    assert not merkle.verify_consistency(3, 3, root, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(4, 3, root, root, [])
    with pytest.raises(ValueError):
        merkle.consistency_path(leaf_hashes(3), 4)
    with pytest.raises(ValueError):
        merkle.inclusion_path(leaf_hashes(3), 3)
