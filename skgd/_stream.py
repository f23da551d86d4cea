"""Streams of ``partial_fit`` calls: batches and epochs that span calls.

With ``epoch_size`` set, consecutive ``partial_fit`` calls are chunks of one
stream of rows. The rows are cut into mini-batches across chunk boundaries:
rows that do not fill a batch wait (copied, at most ``batch_size - 1`` of
them) for the next call. An epoch ends after every ``epoch_size`` rows, with
a last batch that may be short, exactly as in ``fit``. Without shuffling,
chunks that add up to ``epoch_size`` rows therefore make the same updates, in
the same order, as one epoch of ``fit`` over their concatenation.

Sample weights are taken relative to one mean weight s̄ for the whole
stream: that of its first chunk with weights (see
``skgd._data.relative_weights``; a chunk without weights weighs 1 a row).
The ratios between all the stream's weights are therefore kept, and a stream
whose chunks have the same mean weight trains as ``fit`` over their
concatenation does.
"""

import numpy as np
import scipy.sparse as sp

from ._data import Batches, mean_weight, relative_weights, shuffled_range


class StreamEpochs:
    """The epoch source of a stream of chunks, one chunk per ``partial_fit`` call.

    Its parts are the chunk's share of each epoch it touches: all but the
    last end an epoch; the last may leave it unfinished, with its running
    sums and the rows that do not fill a batch kept for the next call (in
    the training state's ``stream``, see ``to_dict``).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The chunk.
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
        As given; training uses them relative to their mean over the chunk.
    epoch_size : int
        Rows per epoch.
    batch_size : int or None
        Rows per mini-batch (``None``: a whole epoch).
    """

    def __init__(self, X, Y, sample_weight, epoch_size, batch_size):
        self.data = X, Y, sample_weight
        self.sizes = epoch_size, batch_size
        self.epoch_size = epoch_size
        self.batch_size = min(batch_size or epoch_size, epoch_size)
        # The first call's batches, for learning_rate="auto" and the baseline.
        self.batches = Batches(X, Y, relative_weights(sample_weight))
        self.rows = None
        self._load(None)

    def _load(self, stored):
        stored = stored or {}
        self.seen = stored.get("seen", 0)  # rows of this epoch, pending included
        self.pending = stored.get("pending")  # (X, Y, sw) waiting for a batch
        self.total = stored.get("total", 0.0)  # sum of w * J over the epoch
        self.weight = stored.get("weight", 0.0)  # sum of w (rows trained)
        self.seconds = stored.get("seconds", 0.0)
        self.mean_weight = stored.get("mean_weight")  # s̄, set by the first chunk

    def to_dict(self):
        """The unfinished epoch as plain data."""
        return {
            "epoch_size": self.sizes[0],
            "batch_size": self.sizes[1],
            "seen": self.seen,
            "pending": self.pending,
            "total": self.total,
            "weight": self.weight,
            "seconds": self.seconds,
            "mean_weight": self.mean_weight,
        }

    def parts(self, trainer, epochs=None):
        """The chunk's parts, continuing the trainer's ``state.stream``.

        ``epochs`` is ignored: the chunk decides how many epochs it ends.
        """
        self._load(trainer.state.stream)
        self._relative_weights()
        X = self.data[0]
        n = X.shape[0]
        order = shuffled_range(n, trainer.state.rng) if trainer.shuffle else None
        pos = 0
        while pos < n:
            take = min(self.epoch_size - self.seen, n - pos)
            self.seen += take
            rows = np.arange(pos, pos + take) if order is None else order[pos:][:take]
            yield _StreamPart(self, rows, self.seen == self.epoch_size, order is None)
            pos += take

    def _relative_weights(self):
        """Divide the chunk's weights by the stream's mean weight s̄.

        The first chunk with weights sets s̄ (1 if it has none); a chunk of
        weightless rows leaves it unset.
        """
        X, Y, sw = self.data
        if self.mean_weight is None and (sw is None or sw.any()):
            self.mean_weight = 1.0 if sw is None else mean_weight(sw)
        if sw is not None and self.mean_weight is not None:
            with np.errstate(over="ignore"):
                sw = sw / self.mean_weight
            if not np.isfinite(sw).all():
                raise ValueError(
                    f"This chunk's sample weights reach {np.max(self.data[2]):.3g}, "
                    "beyond 1e308 times the stream's mean weight "
                    f"{self.mean_weight:.3g} (that of its first chunk with "
                    "weights); rescale the weights of the whole stream alike."
                )
        elif sw is None and self.mean_weight != 1.0:
            sw = np.full(X.shape[0], 1.0 / self.mean_weight)
        self.data = X, Y, sw

    def batches_of(self, rows, ends, in_order):
        """The passes of a part: the pending batch completed, then full ones.

        Rows left over that do not fill a batch wait for the next call. The
        rows are sorted out now; the batches are drawn as they are trained.
        """
        X, Y, sw = self.data
        used, passes = 0, []
        if self.pending is not None:
            used = min(self.batch_size - len(self.pending[0]), len(rows))
            self._hold(rows[:used])
            if len(self.pending[0]) == self.batch_size or (ends and used == len(rows)):
                passes.append(Batches(*self.pending)(self.batch_size))
                self.pending = None
        rest = len(rows) - used
        full = rest if ends else rest - rest % self.batch_size
        if full:
            data = _batches(X, Y, sw, rows[used : used + full], in_order)
            passes.append(data(self.batch_size))
        self._hold(rows[used + full :])
        return passes

    def _hold(self, rows):
        """Append ``rows`` of the chunk to the pending rows (dense copies)."""
        if len(rows) == 0:
            return
        X, Y, sw = self.data
        Xr = X[rows].toarray() if sp.issparse(X) else X[rows]
        swr = None if sw is None else sw[rows]
        if self.pending is None:
            self.pending = (Xr, Y[rows], swr)
            return
        Xp, Yp, swp = self.pending
        if (swp is None) != (swr is None):  # weighted and unweighted: ones
            swp = np.ones(len(Xp)) if swp is None else swp
            swr = np.ones(len(Xr)) if swr is None else swr
        swp = None if swp is None else np.concatenate([swp, swr])
        self.pending = (np.concatenate([Xp, Xr]), np.concatenate([Yp, Y[rows]]), swp)


class _StreamPart:
    """The rows ``rows`` of a chunk, in one epoch (which they end if ``complete``)."""

    def __init__(self, stream, rows, complete, in_order):
        self.stream, self.rows = stream, rows
        self.complete, self.in_order = complete, in_order

    def begin(self, trainer):
        stream = self.stream
        batches = stream.batches_of(self.rows, self.complete, self.in_order)
        return batches, stream.total, stream.weight, stream.seconds

    def finish(self, total, weight, seconds):
        """Keep the epoch's sums for the next call, or reset them at its end.

        ``total`` holds the sum of each candidate (one: a stream is a fit's).
        """
        stream = self.stream
        total = float(total[0])  # the fit's: a stack of one (by candidate)
        if self.complete:
            total = weight = seconds = 0.0
            stream.seen = 0
        stream.total, stream.weight, stream.seconds = total, weight, seconds


def _batches(X, Y, sw, rows, in_order):
    """The rows ``rows`` of the chunk as Batches (views of it when in order)."""
    if in_order and not sp.issparse(X):
        part = slice(rows[0], rows[-1] + 1)
        return Batches(X[part], Y[part], None if sw is None else sw[part])
    return Batches(X, Y, sw, rows)


def check_unchanged(stored, epoch_size, batch_size):
    """Refuse another epoch or batch size in the middle of a streamed epoch.

    ``stored`` is a ``StreamEpochs.to_dict()`` or None.
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
