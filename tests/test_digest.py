"""The compiled digest of a fit's data (skgd.engine.digest)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skgd.engine.digest import _SEEDS, array_digest

MASK = 2**64 - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & MASK


def _reference_lanes(data, seeds):
    """The digest's two lanes over bytes, in Python integers."""
    h1, h2 = seeds
    padded = bytes(data) + bytes(-len(data) % 8)
    words = [
        int.from_bytes(padded[i : i + 8], "little") for i in range(0, len(padded), 8)
    ]
    whole = len(data) // 8
    tail = words[whole] if len(data) % 8 else 0
    for word in [*words[:whole], tail, len(data)]:
        w = _rotl(word * P2 & MASK, 31) * P1 & MASK
        h1 = (_rotl(h1 ^ w, 27) * P1 + P3) & MASK
        h2 = (_rotl((h2 + w) & MASK, 29) * P2 & MASK) ^ 0x27D4EB2F165667C5
    return tuple(_avalanche(h) for h in (h1, h2))


def _avalanche(h):
    h ^= h >> 33
    h = h * P2 & MASK
    h ^= h >> 29
    h = h * P3 & MASK
    return h ^ (h >> 32)


def _reference(array):
    seeds = _SEEDS
    for data in (f"{array.dtype.str}{array.shape}".encode(), array.tobytes()):
        seeds = _reference_lanes(data, seeds)
    return "".join(f"{seed:016x}" for seed in seeds)


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 15, 16, 17, 40])
def test_digest_matches_its_reference(size):
    array = np.random.default_rng(size).integers(0, 256, size).astype(np.uint8)
    assert array_digest(array) == _reference(array)


def test_equal_data_in_other_arrays_has_one_digest():
    X = np.random.default_rng(0).standard_normal((300, 7))
    assert array_digest(X) == array_digest(X.copy())
    assert array_digest(X[:, :3]) == array_digest(np.ascontiguousarray(X[:, :3]))
    assert array_digest(np.asfortranarray(X)) == array_digest(X)
    assert array_digest(sp.csr_matrix(X)) == array_digest(sp.csr_matrix(X.copy()))


def test_every_change_changes_the_digest():
    X = np.random.default_rng(0).standard_normal((301, 7))
    seen = {array_digest(X)}
    for flat in (0, 1, 1000, X.size - 1):  # first, second, middle and last value
        changed = X.copy()
        changed.flat[flat] = np.nextafter(changed.flat[flat], np.inf)
        seen.add(array_digest(changed))
    for other in (X[:-1], X[:, :-1], X.reshape(7, 301), X.astype(np.float32)):
        seen.add(array_digest(other))
    seen.add(array_digest(np.zeros(3)))
    seen.add(array_digest(np.zeros(3, np.int64)))  # the same bytes, another dtype
    seen.add(array_digest(np.zeros((3, 1))))  # the same bytes, another shape
    seen.add(array_digest(None))
    assert len(seen) == 13


def test_bytes_of_every_length_are_told_apart():
    digests = {array_digest(np.zeros(n, np.uint8)) for n in range(20)}
    digests |= {array_digest(np.ones(n, np.uint8)) for n in range(1, 20)}
    assert len(digests) == 39


def test_sparse_structure_counts():
    dense = np.array([[0.0, 1.0], [2.0, 0.0]])
    with_zero = sp.csr_matrix((np.array([0.0, 1.0, 2.0]), [0, 1, 0], [0, 2, 3]))
    assert (with_zero.toarray() == dense).all()
    assert array_digest(with_zero) != array_digest(sp.csr_matrix(dense))
