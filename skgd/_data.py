"""Mini-batches drawn from the training data without copying it.

Rows are gathered batch by batch into one reusable buffer (``ndarray.take``
with ``out=``); a sparse matrix is densified one batch at a time. With
``shuffle=False`` and no held-out split, dense batches are plain views.
"""

import math

import numpy as np
import scipy.sparse as sp


def _dense_block(X, rows, out):
    """Rows ``rows`` (a slice or an index array) of ``X`` as a dense array."""
    if sp.issparse(X):
        return X[rows].toarray(out=out)
    if isinstance(rows, slice):
        return X[rows]
    return X.take(rows, 0, out, "clip")


def iter_rows(X, batch_size, dtype, rows=None):
    """Yield ``(slice, dense block)`` over consecutive chosen rows of ``X``.

    The slice locates the block among the chosen rows (all rows by default).
    """
    n = X.shape[0] if rows is None else len(rows)
    buffer = np.empty((min(batch_size, n), X.shape[1]), dtype=dtype)
    for start in range(0, n, batch_size):
        part = slice(start, min(start + batch_size, n))
        block = part if rows is None else rows[part]
        yield part, _dense_block(X, block, buffer[: part.stop - start])


def split_rows(n_samples, fraction, rng):
    """Random ``(train_rows, validation_rows)``, each sorted, both non-empty."""
    n_val = math.ceil(fraction * n_samples)
    if not 0 < n_val < n_samples:
        raise ValueError(
            f"validation_fraction={fraction} with n_samples={n_samples} leaves an "
            "empty training or validation split; use more samples, another "
            "validation_fraction, or early_stopping=False."
        )
    perm = rng.permutation(n_samples)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class Batches:
    """Mini-batches ``(Xb, yb, c, weight)`` over the chosen rows of the data.

    ``c`` holds the sample weights of the batch divided by their sum (the
    scalar ``1 / m`` when there are no sample weights) and ``weight`` is that
    sum, used to average batch losses over an epoch.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    rows : ndarray of int or None
        Rows to draw from (all when ``None``).
    """

    def __init__(self, X, Y, sample_weight=None, rows=None):
        self.X, self.Y, self.sample_weight, self.rows = X, Y, sample_weight, rows
        self.n = X.shape[0] if rows is None else len(rows)
        self._buffers = {}

    def _buffers_for(self, size):
        bufs = self._buffers.get(size)
        if bufs is None:
            bufs = self._buffers[size] = (
                np.empty((size, self.X.shape[1]), dtype=self.Y.dtype),
                np.empty((size, self.Y.shape[1]), dtype=self.Y.dtype),
                np.empty((size, 1), dtype=self.Y.dtype),
            )
        return bufs

    def __call__(self, batch_size, rng=None):
        """Iterate over one epoch; shuffled when ``rng`` is given."""
        n = self.n
        size = n if batch_size is None else min(batch_size, n)
        order = self.rows
        if rng is not None:
            order = rng.permutation(n) if order is None else rng.permutation(order)
        X, Y, sw = self.X, self.Y, self.sample_weight
        xbuf, ybuf, cbuf = self._buffers_for(size)
        dense_views = order is None and not sp.issparse(X)
        for start in range(0, n, size):
            stop = min(start + size, n)
            m = stop - start
            rows = slice(start, stop) if order is None else order[start:stop]
            if dense_views:
                Xb, yb = X[rows], Y[rows]
            else:
                Xb = _dense_block(X, rows, xbuf[:m])
                yb = _dense_block(Y, rows, ybuf[:m])
            if sw is None:
                yield Xb, yb, 1.0 / m, m
            else:
                swb = sw[rows]
                total = float(swb.sum())
                c = cbuf[:m]
                np.multiply(swb[:, None], 1.0 / total if total > 0 else 0.0, c)
                yield Xb, yb, c, total
