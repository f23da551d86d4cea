"""The pieces of a stacked network's passes (see :mod:`.network`): the layout
of its blocks, the sizes that choose its products, and its dropout, drawn as
:class:`~skgd._layers.Dropout` draws it, one mask a position and rate."""

import numpy as np

from ..._layers import Dropout


def _on_rows(elementwise):
    """``elementwise`` (of 2-D arrays) applied to contiguous 3-D arrays."""

    def on_rows(*arrays):
        elementwise(*(a.reshape(a.shape[0], -1) for a in arrays))

    return on_rows


def _flat(block):
    """A block ``(n_in + 1, K, n_out)`` as one ``(n_in + 1, K * n_out)`` matrix."""
    return block.reshape(block.shape[0], -1)


# No dropout draw (see stacked_relu_dropout); no intercepts (stacked_relu_backward).
_NO_BITS = np.zeros((0, 0), np.uint16)
# Stacks of at most this many outputs a layer (K * n_out) take its product in
# one compiled call (stacked_dense) rather than a batched matrix product.
SMALL_PRODUCTS = 8
# A relu network's first product with at least this many columns (K * width)
# calls np.matmul, a smaller one np.dot (which costs less to call).
WIDE_PRODUCTS = 256
_NO_INTERCEPTS = np.zeros((0, 0))


def _bits(stream, m, w):
    """A dropout position's draw for ``(m, w)`` units, 16 bits each, as
    :class:`~skgd._layers.Dropout` draws it: ``(m, w)`` uint16."""
    bits = stream.bit_generator.random_raw((m * w + 3) // 4).view(np.uint16)
    return bits[: m * w].reshape(m, w)


def _keep_rules(runs, K, dtype):
    """``(thresholds, scales)``: each candidate's dropout threshold (int64) and
    scale at a position of ``runs`` (see :func:`_rate_runs`); 0 and 1 where
    it keeps everything."""
    thresholds, scales = np.zeros(K, np.int64), np.ones(K, dtype)
    for part, threshold, scale in runs:
        if threshold is not None:
            thresholds[part], scales[part] = threshold, scale
    return thresholds, scales


def _rate_runs(rates, dtype):
    """``[(slice, threshold, scale), ...]``: the runs of equal dropout rates.

    Empty when no candidate drops anything at this position; a run of rate
    0 has threshold None. Thresholds and scales are those of
    :class:`~skgd._layers.Dropout`.
    """
    if not rates.any():
        return []
    runs, start = [], 0
    for stop in range(1, len(rates) + 1):
        if stop == len(rates) or rates[stop] != rates[start]:
            layer = Dropout(rates[start])
            threshold = layer._threshold if rates[start] else None
            scale = np.array(layer._scale, dtype)
            runs.append((slice(start, stop), threshold, scale))
            start = stop
    return runs
