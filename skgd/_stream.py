"""Streams of ``partial_fit`` calls: batches and epochs that span calls.

With ``epoch_size`` set, consecutive ``partial_fit`` calls are chunks of one
stream of rows. The rows are cut into mini-batches across chunk boundaries:
rows that do not fill a batch wait (copied, at most ``batch_size - 1`` of
them) for the next call. An epoch ends after every ``epoch_size`` rows, with
a last batch that may be short, exactly as in ``fit``. Without shuffling,
chunks that add up to ``epoch_size`` rows therefore make the same updates, in
the same order, as one epoch of ``fit`` over their concatenation.

Sample weights are scaled by a power of two per call (see
``skgd._data.scaled_weights``), which changes no normalized batch weight. The
epoch's weighted loss sums are kept in the units of its first call.
"""

import math
import time

import numpy as np
import scipy.sparse as sp

from ._data import Batches, scaled_weights


class Stream:
    """The unfinished epoch of a stream, and how to feed it a chunk.

    Parameters
    ----------
    epoch_size : int
        Rows per epoch.
    batch_size : int or None
        Rows per mini-batch (``None``: a whole epoch).
    stored : dict or None
        A previous ``to_dict``, to continue from.
    """

    def __init__(self, epoch_size, batch_size, stored=None):
        self.sizes = epoch_size, batch_size
        self.epoch_size = epoch_size
        self.batch_size = min(batch_size or epoch_size, epoch_size)
        stored = stored or {}
        self.seen = stored.get("seen", 0)  # rows of this epoch, pending included
        self.pending = stored.get("pending")  # (X, Y, sw) waiting for a batch
        self.total = stored.get("total", 0.0)  # sum of w * J over the epoch
        self.weight = stored.get("weight", 0.0)  # sum of w, in units 2**exponent
        self.exponent = stored.get("exponent", 0)
        self.seconds = stored.get("seconds", 0.0)

    def to_dict(self):
        """The unfinished epoch as plain data."""
        return {
            "epoch_size": self.sizes[0],
            "batch_size": self.sizes[1],
            "seen": self.seen,
            "pending": self.pending,
            "total": self.total,
            "weight": self.weight,
            "exponent": self.exponent,
            "seconds": self.seconds,
        }

    def feed(self, trainer, X, Y, sw, exponent, order=None):
        """Train on a chunk; return the records of the epochs it finished.

        ``sw`` are the chunk's weights scaled by ``2**-exponent`` (or None);
        ``order`` is the order of its rows (``None``: as given).
        """
        records, pos, n = [], 0, X.shape[0]
        while pos < n:
            start = time.perf_counter()
            if self.seen == 0:
                self.exponent = exponent
            take = min(self.epoch_size - self.seen, n - pos)
            self.seen += take
            ends = self.seen == self.epoch_size
            rows = np.arange(pos, pos + take) if order is None else order[pos:][:take]
            used = self._fill(trainer, (X, Y, sw), exponent, rows, ends)
            rest = len(rows) - used
            full = rest if ends else rest - rest % self.batch_size
            if full:
                data = _batches(X, Y, sw, rows[used : used + full], order is None)
                self._train(trainer, data(self.batch_size), exponent)
            self._hold((X, Y, sw), exponent, rows[used + full :])
            pos += take
            self.seconds += time.perf_counter() - start
            if ends:
                records.append(self._end_epoch(trainer))
        return records

    def _fill(self, trainer, data, exponent, rows, ends):
        """Complete the pending batch from ``rows``; return how many it took."""
        if self.pending is None:
            return 0
        used = min(self.batch_size - len(self.pending[0]), len(rows))
        self._hold(data, exponent, rows[:used])
        if len(self.pending[0]) == self.batch_size or (ends and used == len(rows)):
            Xp, Yp, swp = self.pending
            self.pending = None
            sw, exponent = scaled_weights(swp)
            self._train(trainer, Batches(Xp, Yp, sw)(self.batch_size), exponent)
        return used

    def _train(self, trainer, batches, exponent):
        """Train on ``batches`` whose weights are in units ``2**exponent``."""
        scale = math.ldexp(1.0, exponent - self.exponent)
        if scale != 1.0:
            batches = ((X, y, c, w * scale) for X, y, c, w in batches)
        self.total, self.weight = trainer.train_batches(
            batches, self.total, self.weight
        )

    def _hold(self, data, exponent, rows):
        """Append ``rows`` of the chunk to the pending rows (dense copies)."""
        if len(rows) == 0:
            return
        X, Y, sw = data
        Xr = X[rows].toarray() if sp.issparse(X) else X[rows]
        swr = None if sw is None else np.ldexp(sw[rows], exponent)
        if self.pending is None:
            self.pending = (Xr, Y[rows], swr)
            return
        Xp, Yp, swp = self.pending
        if (swp is None) != (swr is None):  # weighted and unweighted: ones
            swp = np.ones(len(Xp)) if swp is None else swp
            swr = np.ones(len(Xr)) if swr is None else swr
        swp = None if swp is None else np.concatenate([swp, swr])
        self.pending = (np.concatenate([Xp, Xr]), np.concatenate([Yp, Y[rows]]), swp)

    def _end_epoch(self, trainer):
        trainer.check_params()
        loss = self.total / self.weight if self.weight > 0 else 0.0
        record = trainer.end_epoch(loss, self.seconds)
        trainer.announce(record)
        self.seen, self.total, self.weight, self.seconds = 0, 0.0, 0.0, 0.0
        return record


def _batches(X, Y, sw, rows, in_order):
    """The rows ``rows`` of the chunk as Batches (views of it when in order)."""
    if in_order and not sp.issparse(X):
        part = slice(rows[0], rows[-1] + 1)
        return Batches(X[part], Y[part], None if sw is None else sw[part])
    return Batches(X, Y, sw, rows)


def check_unchanged(stored, epoch_size, batch_size):
    """Refuse another epoch or batch size in the middle of a streamed epoch.

    ``stored`` is a ``Stream.to_dict()`` or None.
    """
    if not (stored and stored["seen"]):
        return
    was = stored["epoch_size"], stored["batch_size"]
    if was != (epoch_size, batch_size):
        raise ValueError(
            f"partial_fit is {stored['seen']} rows into a streamed epoch of "
            f"epoch_size={was[0]} rows in batches of {was[1]}; epoch_size and "
            "batch_size can change only between epochs. Restore them, or call "
            "fit to start afresh."
        )
