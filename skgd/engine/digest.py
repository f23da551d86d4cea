"""A fast 128-bit digest of an array's bytes.

A stacked search (:mod:`skgd._stacked`) finds the result of a fit by its
parameters and a digest of its data. Each of scikit-learn's fits gets its
fold as a new array, so each is digested: with a cryptographic hash that
took a third of a 25-candidate grid's time. This one is a compiled loop
over the data's 8-byte words, two independent multiply-rotate lanes (the
mixing of xxHash64 and MurmurHash3), at the speed of reading memory.

It is not cryptographic: it tells apart data sets that differ, not data
crafted to collide (two different arrays share a digest with probability
about 2**-128). A search's folds are the user's own data.
"""

import numpy as np
import scipy.sparse as sp

from .kernels import kernel

_SEEDS = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F)


@kernel
def _lanes(words, tail, size, seed_1, seed_2):
    """Two 64-bit digests of ``words`` (uint64), the last ``tail`` and ``size``."""
    h1, h2 = seed_1, seed_2
    for i in range(words.size):
        h1, h2 = _mix(h1, h2, words[i])
    h1, h2 = _mix(h1, h2, tail)
    h1, h2 = _mix(h1, h2, size)
    return _avalanche(h1), _avalanche(h2)


@kernel(inline="always")
def _mix(h1, h2, word):
    """Fold one word into both lanes (MurmurHash3's and xxHash64's rounds)."""
    w = word * np.uint64(0xC2B2AE3D27D4EB4F)
    w = ((w << np.uint64(31)) | (w >> np.uint64(33))) * np.uint64(0x9E3779B185EBCA87)
    h1 = h1 ^ w
    h1 = ((h1 << np.uint64(27)) | (h1 >> np.uint64(37))) * np.uint64(
        0x9E3779B185EBCA87
    ) + np.uint64(0x165667B19E3779F9)
    h2 = h2 + w
    h2 = ((h2 << np.uint64(29)) | (h2 >> np.uint64(35))) * np.uint64(
        0xC2B2AE3D27D4EB4F
    ) ^ np.uint64(0x27D4EB2F165667C5)
    return h1, h2


@kernel(inline="always")
def _avalanche(h):
    """xxHash64's final mix: every input bit moves every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC2B2AE3D27D4EB4F)
    h = h ^ (h >> np.uint64(29))
    h = h * np.uint64(0x165667B19E3779F9)
    return h ^ (h >> np.uint64(32))


def array_digest(array):
    """A hex digest of an array (dense or sparse, or None): type, shape and bytes."""
    if array is None:
        return "none"
    parts = (
        (array.data, array.indices, array.indptr) if sp.issparse(array) else (array,)
    )
    seeds = tuple(np.uint64(seed) for seed in _SEEDS)
    for part in parts:
        part = np.ascontiguousarray(part)
        header = f"{part.dtype.str}{part.shape}".encode()
        for data in (np.frombuffer(header, np.uint8), part.reshape(-1).view(np.uint8)):
            seeds = _digest_bytes(data, seeds)
    return "".join(f"{int(seed):016x}" for seed in seeds)


def _digest_bytes(data, seeds):
    """Both lanes over the bytes ``data`` (1-D, contiguous), from ``seeds``."""
    whole = data.size // 8 * 8
    tail = np.zeros(8, np.uint8)
    tail[: data.size - whole] = data[whole:]
    words = data[:whole].view(np.uint64)
    size = np.uint64(data.size)
    lanes = _lanes(words, tail.view(np.uint64)[0], size, *seeds)
    return tuple(np.uint64(lane) for lane in lanes)
