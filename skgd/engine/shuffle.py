"""numpy's ``Generator.shuffle`` of an epoch's rows, compiled.

The order of an epoch's rows is part of a fit's numbers, so a shuffle here
must be numpy's exactly: the same permutation, and the generator left in
the same state. numpy shuffles a 1-d array by Fisher-Yates from the end,
swapping item ``i`` with item ``random_interval(i)``: the next 32-bit word
of the generator masked to the bits of ``i``, drawn again while above it.
With :class:`numpy.random.PCG64` (``default_rng``'s) the 32-bit words are
the halves of its 64-bit outputs, low then high, the high half kept for the
next call (the state's ``has_uint32`` and ``uinteger``).

:func:`shuffle` draws the 64-bit outputs in bulk (``random_raw``), runs the
swaps in a compiled loop (:func:`_fisher_yates`) and then sets the
generator where numpy's shuffle would have left it: the outputs the swaps
used (``advance`` from the state before), and the half-word kept. On
20,000 rows that is about twice as fast as numpy's call (whose loop of
draws is mispredicted). Other bit generators and arrays of another shape
take ``rng.shuffle``; below a few thousand items the state's round trip
costs more than it saves (see :func:`skgd._data.shuffled_range`).
"""

import sys

import numpy as np

from .kernels import kernel


@kernel
def _fisher_yates(x, words):
    """Shuffle ``x`` in place as numpy does, drawing from the 32-bit ``words``.

    Returns the number of words used, or -1 (``x`` half shuffled) if they
    ran out. A loop over the words, without a branch on them: a word above
    ``i`` swaps item ``i`` with itself and leaves ``i`` where it is (numpy's
    loop of draws, whose exits a processor mispredicts a quarter of the time).
    """
    i = x.size - 1
    mask = i | (i >> 1)  # the smallest mask of all ones at least i
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    used = 0
    while i > 0:
        if used == words.size:
            return -1
        j = words[used] & mask
        used += 1
        taken = j <= i
        k = j if taken else i
        item = x[k]
        x[k] = x[i]
        x[i] = item
        i -= taken
        mask >>= i <= mask >> 1  # i one less: a bit less, or not
    return used


def shuffle(x, rng):
    """``rng.shuffle(x)`` for a 1-d array ``x``: the same order, the same state."""
    bit_generator = rng.bit_generator
    if (
        type(bit_generator) is not np.random.PCG64
        or x.ndim != 1
        or not 2 <= x.size <= 2**32
        or sys.byteorder != "little"
    ):
        rng.shuffle(x)
        return
    before = bit_generator.state
    kept = before["has_uint32"]
    original = x.copy()
    # About 1.39 words an item on average (at most 2): 1.5 and a margin.
    n_outputs = (3 * x.size) // 4 + 64
    while True:
        outputs = bit_generator.random_raw(n_outputs)
        words = np.empty(2 * n_outputs + kept, np.uint32)
        words[kept:] = outputs.view(np.uint32)  # little-endian: low, high
        if kept:
            words[0] = before["uinteger"]
        used = _fisher_yates(x, words)
        if used >= 0:
            break
        x[...] = original  # rare: start again with twice the words
        bit_generator.state = before
        n_outputs *= 2
    halves = used - kept  # the words cut from 64-bit outputs
    drawn = (halves + 1) // 2
    bit_generator.state = before
    bit_generator.advance(drawn)
    after = bit_generator.state
    after["has_uint32"] = halves % 2  # the high half of the last, if unused
    after["uinteger"] = (
        int(outputs[drawn - 1] >> np.uint64(32)) if halves else before["uinteger"]
    )
    bit_generator.state = after
