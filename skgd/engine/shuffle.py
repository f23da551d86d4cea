"""numpy's ``Generator.shuffle`` of an epoch's rows, compiled.

The order of an epoch's rows is part of a fit's numbers, so a shuffle here
must be numpy's exactly: the same permutation, and the generator left in
the same state. numpy shuffles a 1-d array by Fisher-Yates from the end,
swapping item ``i`` with item ``random_interval(i)``: the next 32-bit word
of the bit generator masked to the bits of ``i``, drawn again while above
it.

:func:`_fisher_yates` runs that loop compiled, drawing each word from the
generator itself through numba's binding of the bit generator's
``next_uint32`` (the function numpy's loop calls, which keeps the pending
half-word of a 64-bit output in the generator's own state). So the order
and the state after are numpy's for every bit generator, without a round
trip of the state. On 20,000 rows it takes 100 us, against numpy's 228
(and 165 to 200 for the bulk draws and state round trip it replaced). A
call costs about 8 us more than numpy's (numba's unboxing of
the generator), so short orders are numpy's to shuffle (see
:func:`skgd._data.shuffled_range`); so are those above 2**32 items (where
numpy draws 64-bit words), and all of them where numba no longer has the
binding (an internal of ``numba.np.random``).
"""

from .kernels import kernel

try:
    from numba.np.random.generator_core import next_uint32
except ImportError:  # pragma: no cover - a numba that moved its internals
    next_uint32 = None


@kernel
def _fisher_yates(rng, x):
    """Shuffle ``x`` in place as ``rng.shuffle(x)`` does, drawing from ``rng``.

    A loop over the words drawn, without a branch on them: a word above
    ``i`` swaps item ``i`` with itself and leaves ``i`` where it is (numpy's
    loop of draws, whose exits a processor mispredicts a quarter of the
    time, took 1.7 times as long).
    """
    bits = rng.bit_generator
    i = x.size - 1
    mask = i | (i >> 1)  # the smallest mask of all ones at least i
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    while i > 0:
        j = next_uint32(bits) & mask
        taken = j <= i
        k = j if taken else i
        item = x[k]
        x[k] = x[i]
        x[i] = item
        i -= taken
        mask >>= i <= mask >> 1  # i one less: a bit less, or not


def shuffle(x, rng):
    """``rng.shuffle(x)`` for a 1-d array ``x``: the same order, the same state."""
    if next_uint32 is None or x.ndim != 1 or x.size > 2**32:
        rng.shuffle(x)
    else:
        _fisher_yates(rng, x)
