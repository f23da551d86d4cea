"""Mini-batches drawn from the training data without copying all of it.

Rows are gathered a chunk of several batches at a time into one reusable
buffer (``ndarray.take`` with ``out=``); each batch is a view into it. A
sparse matrix is densified one batch at a time.

:class:`MemoryEpochs` is the epoch source of data held in memory (or
memory-mapped): every epoch is one pass over its rows. The training loop
asks an epoch source for ``parts(trainer, epochs)``; each part says, with
``begin(trainer)``, which batches to train on and from which running sums,
whether it ends an epoch (``complete``), and takes the sums back with
``finish``; the batches come as a list of :class:`Pass` objects. The
stream of ``partial_fit`` calls is the other epoch source
(:class:`skgd._stream.StreamEpochs`).
"""

import math

import numpy as np
import scipy.sparse as sp


def _copy_rows(X, rows, out):
    """Copy rows ``rows`` (a slice or an index array) of ``X`` into ``out``."""
    if sp.issparse(X):
        out[...] = X[rows].toarray()
    elif isinstance(rows, slice):
        np.copyto(out, X[rows])
    else:
        X.take(rows, 0, out, "clip")
    return out


def iter_rows(X, batch_size, dtype, rows=None):
    """Yield ``(slice, dense block)`` over consecutive chosen rows of ``X``.

    The slice locates the block among the chosen rows (all rows by default).
    """
    n = X.shape[0] if rows is None else len(rows)
    views = rows is None and not sp.issparse(X)
    buffer = None if views else np.empty((min(batch_size, n), X.shape[1]), dtype)
    for start in range(0, n, batch_size):
        part = slice(start, min(start + batch_size, n))
        if views:
            yield part, X[part]
        else:
            block = part if rows is None else rows[part]
            yield part, _copy_rows(X, block, buffer[: part.stop - start])


# Above this many rows the order of a shuffled epoch is kept in 4 bytes a row
# (memory-mapped data of millions of rows); below it in 8, which numpy
# shuffles about 2.5 times faster (measured at 20,000 rows).
SMALL_ORDER = 2**20


# From this many rows an epoch's order is shuffled by the compiled copy of
# numpy's shuffle (skgd.engine.shuffle: the same order and generator state,
# 2.3 times as fast at 20,000 rows); below, numpy's call costs less (they
# cross at about 1,500 rows).
COMPILED_SHUFFLE = 2048


def shuffled_range(n, rng):
    """``rng.permutation(n)``: the same permutation, in 4 bytes a row when large."""
    order = np.arange(n, dtype=np.uint32 if SMALL_ORDER < n < 2**32 else np.intp)
    if n < COMPILED_SHUFFLE:
        rng.shuffle(order)
    else:
        from .engine.shuffle import shuffle  # numba: on the first large shuffle

        shuffle(order, rng)
    return order


def mean_weight(sample_weight):
    """The mean of non-negative weights, without overflow of their sum.

    They are averaged scaled by a power of two to a largest weight in
    [0.5, 1), which is exact (even for subnormal weights) and cannot overflow.
    """
    exponent = int(np.frexp(sample_weight.max())[1])
    return math.ldexp(float(np.mean(np.ldexp(sample_weight, -exponent))), exponent)


def relative_weights(sample_weight, rows=None):
    """Sample weights divided by their mean over ``rows`` (all rows by default).

    Training weighs sample ``i`` of a batch of ``m`` rows by ``s_i / (m * s̄)``
    with ``s̄`` this mean: the batch objective is then an unbiased estimate
    of the weighted objective over the training rows, at every batch size.

    Returns
    -------
    weights : ndarray of float64 or None
        ``sample_weight / mean``; all zeros when every chosen weight is zero;
        None when there are no weights or they are all equal and positive
        (the same as none, and the cheaper path).
    """
    if sample_weight is None:
        return None
    chosen = sample_weight if rows is None else sample_weight[rows]
    if len(chosen) and chosen.min() == chosen.max() > 0:
        return None
    mean = mean_weight(chosen)
    return sample_weight / mean if mean > 0 else np.zeros_like(sample_weight)


def split_rows(n_samples, fraction, rng, strata=None):
    """Random ``(train_rows, validation_rows)``, each sorted, both non-empty.

    ``ceil(fraction * n_samples)`` rows are held out, and at least two (a
    score of one sample is undefined, or meaningless). With ``strata`` (a class
    code per row), every class has rows on both sides: each class holds out
    its share, rounded, and at least one row but never all of its rows (so
    that at least one row a class, and at most all rows but one a class, are
    held out).
    """
    n_val = max(math.ceil(fraction * n_samples), 2)  # a score needs two
    if not n_val < n_samples:
        raise ValueError(
            f"validation_fraction={fraction} with n_samples={n_samples} leaves an "
            "empty training split beside the validation split (of 2 samples at "
            "least); use more samples, a smaller validation_fraction, or "
            "early_stopping=False."
        )
    if strata is None:
        perm = rng.permutation(n_samples)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    counts = np.bincount(strata)
    counts = counts[counts > 0]
    if counts.min() < 2:
        raise ValueError(
            f"validation_fraction={fraction} with a stratified split of "
            f"{len(counts)} classes needs every class on both sides, but the "
            f"rarest class has {counts.min()} sample; give it more samples, or "
            "use early_stopping=False and validation_fraction=None."
        )
    n_val = min(max(n_val, len(counts)), n_samples - len(counts))
    held = _stratum_sizes(counts, n_val)
    groups = np.split(np.argsort(strata, kind="stable"), np.cumsum(counts)[:-1])
    val = np.concatenate([rng.permutation(rows)[:k] for rows, k in zip(groups, held)])
    mask = np.zeros(n_samples, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _stratum_sizes(counts, n_val):
    """Rows each class holds out: ``n_val`` in all, in ``[1, count - 1]`` each.

    Each class starts from its proportional share rounded down; the rows
    still missing go to the classes with the largest remainders (or, when
    the floor of one row overshoots, are taken back from the smallest).
    """
    share = counts * (n_val / counts.sum())
    held = np.clip(np.floor(share), 1, counts - 1).astype(int)
    by_remainder = np.argsort(held - share, kind="stable")  # largest first
    while held.sum() != n_val:
        step = 1 if held.sum() < n_val else -1
        order = by_remainder if step == 1 else by_remainder[::-1]
        room = held + step <= counts - 1 if step == 1 else held + step >= 1
        held[order[room[order]][0]] += step
    return held


class Batches:
    """Mini-batches ``(Xb, yb, c, weight)`` over the chosen rows of the data.

    ``c`` holds the batch's relative sample weights divided by its number of
    rows ``m`` (the scalar ``1 / m`` when there are no sample weights) and
    ``weight`` is ``m``, used to average batch losses over an epoch.

    Rows are gathered a chunk of whole batches at a time, about
    ``chunk_bytes`` of memory (one batch for sparse ``X``; all rows for
    full-batch training, gathered once).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or (n_samples, K), or None
        float64, relative to their mean over the training rows (see
        :func:`relative_weights`); one column per candidate for ``K``
        stacked candidates (:mod:`skgd.engine.stack`), whose ``c`` then has
        shape ``(m, K)``.
    rows : ndarray of int or None
        Rows to draw from (all when ``None``).
    """

    chunk_bytes = 1 << 18

    def __init__(self, X, Y, sample_weight=None, rows=None):
        self.X, self.Y, self.sample_weight, self.rows = X, Y, sample_weight, rows
        self._weight_width = 1 if np.ndim(sample_weight) < 2 else sample_weight.shape[1]
        self.n = X.shape[0] if rows is None else len(rows)
        self._buffers = self._static = None
        self._uniform_weights = {}

    def _chunk_buffers(self, size):
        """Buffers ``(X, Y, weights)`` for a chunk of batches of ``size`` rows."""
        width = self.X.shape[1] + self.Y.shape[1] + 1
        per_chunk = max(1, self.chunk_bytes // (size * width * self.Y.itemsize))
        if sp.issparse(self.X):
            per_chunk = 1
        rows = min(size * per_chunk, self.n)
        if self._buffers is None or self._buffers[0].shape[0] != rows:
            self._buffers = (
                np.empty((rows, self.X.shape[1]), dtype=self.Y.dtype),
                np.empty((rows, self.Y.shape[1]), dtype=self.Y.dtype),
                # Weights are divided by m in float64; one column a candidate
                # when stacked candidates weigh the samples differently.
                np.empty((rows, self._weight_width)),
            )
        return self._buffers

    def __call__(self, batch_size, rng=None):
        """One epoch's :class:`Pass`; shuffled when ``rng`` is given.

        The shuffle is drawn now, not when the pass is iterated.
        """
        size = self.n if batch_size is None else min(batch_size, self.n)
        if size == self.n:  # a single batch: order does not matter
            rng = None
        order = self.rows
        if rng is not None:
            order = (
                shuffled_range(self.n, rng) if order is None else rng.permutation(order)
            )
        return Pass(self, order, size, shuffled=rng is not None)

    def _iterate(self, order, size, shuffled):
        plain = not (sp.issparse(self.X) or self.sample_weight is not None)
        if order is None and plain:
            return self._batches(self.X, self.Y, None, size)
        return self._gathered(order, size, shuffled)

    def batch(self, rows):
        """``(Xb, yb, c)`` of the batch of ``rows`` (fresh arrays, dense ``Xb``)."""
        dtype = self.Y.dtype
        X = self.X[rows]
        X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype)
        m = X.shape[0]
        if self.sample_weight is None:
            return X, self.Y[rows], np.array(1.0 / m, dtype)
        c = self.sample_weight.reshape(len(self.sample_weight), -1)[rows] / m
        return X, self.Y[rows], c.astype(dtype, copy=False)

    def _gathered(self, order, size, shuffled):
        """Batches of rows ``order``, gathered chunk by chunk into buffers."""
        X, Y, sw = self.X, self.Y, self.sample_weight
        xbuf, ybuf, wbuf = self._chunk_buffers(size)
        chunk = xbuf.shape[0]
        for start in range(0, self.n, chunk):
            rows = slice(start, min(start + chunk, self.n))
            if order is not None:
                rows = order[rows]
            k = _count(rows)
            static = not shuffled and chunk == self.n  # same rows every epoch
            if not (static and self._static):
                _copy_rows(X, rows, xbuf[:k])
                _copy_rows(Y, rows, ybuf[:k])
                self._static = static
            weights = None
            if sw is not None:  # copied, since the batches scale it in place
                weights = _copy_rows(sw.reshape(len(sw), -1), rows, wbuf[:k])
            yield from self._batches(xbuf[:k], ybuf[:k], weights, size)

    def _batches(self, X, Y, sw, size):
        """Consecutive batches of in-memory arrays (views, no copies).

        ``sw`` (float64, shape (n, 1)) must be a scratch copy: it is divided
        by the batch's rows in place, in float64, then cast to the data's
        type, so that relative weights of 1 give exactly the ``c`` of no
        weights. Without it, ``c`` is a 0-d array (cheaper in a ufunc than a
        float).
        """
        n = X.shape[0]
        uniform = self._uniform(size)
        for start in range(0, n, size):
            stop = min(start + size, n)
            m = stop - start
            if sw is None:
                c = uniform if m == size else self._uniform(m)
                yield X[start:stop], Y[start:stop], c, m
                continue
            c = np.divide(sw[start:stop], m, sw[start:stop])
            yield X[start:stop], Y[start:stop], c.astype(Y.dtype, copy=False), m

    def _uniform(self, m):
        c = self._uniform_weights.get(m)
        if c is None:
            c = self._uniform_weights[m] = np.array(1.0 / m, dtype=self.Y.dtype)
        return c


class Pass:
    """One epoch of :class:`Batches`: its rows in order, in batches of ``size``.

    Iterating it gives the batches ``(Xb, yb, c, weight)``; a compiled epoch
    (:mod:`skgd.engine.fused`) reads ``batches``, ``order`` (the row order,
    None for the rows as they are) and ``size`` instead.
    """

    def __init__(self, batches, order, size, shuffled):
        self.batches, self.order, self.size = batches, order, size
        self._shuffled = shuffled

    def __iter__(self):
        return iter(self.batches._iterate(self.order, self.size, self._shuffled))

    def row_order(self):
        """The rows of the pass in order, as an index array."""
        if self.order is not None:
            return self.order
        rows = self.batches.rows
        return np.arange(self.batches.n) if rows is None else rows


def _count(rows):
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


class MemoryEpochs:
    """The epoch source of in-memory data: each epoch one pass over its rows.

    Parameters
    ----------
    X : ndarray, memmap or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
        float64, as given; training uses them relative to their mean over
        ``rows``.
    rows : ndarray of int or None
        The rows to train on (all when ``None``).
    strata : ndarray of int of shape (n_samples,) or None
        Class codes: the held-out split takes every class on both sides (see
        :func:`split_rows`). None splits at random.
    """

    complete = True  # every part is a whole epoch

    def __init__(self, X, Y, sample_weight=None, rows=None, strata=None):
        self.sample_weight, self.strata = sample_weight, strata
        self.batches = Batches(X, Y, relative_weights(sample_weight, rows), rows)

    @property
    def rows(self):
        return self.batches.rows

    def split(self, fraction, rng):
        """``(training source, held-out Batches)``: a random ``fraction`` held out."""
        X, Y, sw = self.batches.X, self.batches.Y, self.sample_weight
        train_rows, val_rows = split_rows(X.shape[0], fraction, rng, self.strata)
        if sw is not None and not (sw[train_rows].any() and sw[val_rows].any()):
            raise ValueError(
                f"validation_fraction={fraction} leaves a training or "
                "validation split whose sample weights are all zero; give more "
                "samples a positive weight, or use another validation_fraction."
            )
        train = MemoryEpochs(X, Y, sw, train_rows)
        return train, Batches(X, Y, sw, val_rows)

    def parts(self, trainer, epochs):
        """``epochs`` parts, each a whole pass over the rows."""
        for _ in range(epochs):
            yield self

    def begin(self, trainer):
        """This epoch's one :class:`Pass` (shuffled by the trainer's generator),
        in a list, and its starting sums."""
        rng = trainer.state.rng if trainer.shuffle else None
        return [self.batches(trainer.batch_size, rng)], 0.0, 0.0, 0.0

    def finish(self, total, weight, seconds):
        """Nothing carries over to the next epoch."""
