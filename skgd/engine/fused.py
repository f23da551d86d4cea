"""The compiled epoch of a linear model: the trainer's side of the kernels.

A network of one dense layer (a linear model without dropout) trained by a
loss of :mod:`skgd._losses` and by SGD (with or without momentum) or Adam,
averaged or not, trains each pass over in-memory data with one call of
:func:`skgd.engine.kernels.dense_epoch` or ``csr_epoch`` instead of a few
numpy calls per batch. Everything else (the shuffles, the rates, validation,
callbacks, the checks after each pass) stays in Python, so a fused pass
makes the same updates as the numpy path, with sums in another order.

Anything else (dropout, a loss or an optimizer added to the registries,
a stream of ``partial_fit`` chunks, input of another floating type than the
network's, sparse input in another format than CSR) takes the numpy path.

``numba`` is imported, and the kernels compiled, on the first fused pass,
never by ``import skgd``.
"""

import math

import numpy as np
import scipy.sparse as sp

from .._layers import Dense
from .._losses import Hinge, Huber, LogLoss, ModifiedHuber, SoftmaxLogLoss, SquaredError
from .._optimizers import SGD, Adam, Averaged, IterateAverage

# The kernels' codes of the losses (see skgd.engine.kernels).
LOSS_CODES = {
    SquaredError: 0,
    Huber: 1,
    LogLoss: 2,
    Hinge: 3,
    ModifiedHuber: 4,
    SoftmaxLogLoss: 5,
}
OPTIMIZER_CODES = {SGD: 0, Adam: 1}


def fused_epochs(net, loss, optimizer):
    """A :class:`LinearEpochs` for this network, loss and optimizer, or None."""
    inner = optimizer.inner if isinstance(optimizer, Averaged) else optimizer
    fusable = (
        len(net.layers) == 1
        and type(net.layers[0]) is Dense
        and type(loss) in LOSS_CODES
        and type(inner) in OPTIMIZER_CODES
        and (
            not isinstance(optimizer, Averaged)
            or type(optimizer.average) is IterateAverage
        )
    )
    return LinearEpochs(net, loss, optimizer) if fusable else None


class LinearEpochs:
    """Trains whole passes of a one-layer network with a compiled kernel.

    Parameters
    ----------
    net : Network
        Of one :class:`~skgd._layers.Dense` layer.
    loss : loss object
        One of :data:`LOSS_CODES`.
    optimizer : SGD, Adam, or Averaged of either
    """

    def __init__(self, net, loss, optimizer):
        self.net, self.optimizer = net, optimizer
        self.inner = optimizer.inner if isinstance(optimizer, Averaged) else optimizer
        self.average = getattr(optimizer, "average", None)
        layer, inner = net.layers[0], self.inner
        self.codes = np.array(
            [
                LOSS_CODES[type(loss)],
                OPTIMIZER_CODES[type(inner)],
                bool(getattr(inner, "nesterov", False)),
                layer.bias,
            ],
            dtype=np.int64,
        )
        self.hyper = np.array(
            [
                0.0,  # alpha, set per pass
                getattr(loss, "delta", 1.0),
                getattr(inner, "momentum", 0.0),
                getattr(inner, "beta_1", 0.9),
                getattr(inner, "beta_2", 0.999),
                getattr(inner, "epsilon", 1e-8),
                getattr(self.average, "power", 0.0),
                0.0,  # the baseline, set per pass
            ]
        )
        o = net.widths[-1]
        self._z = np.empty(o)
        self._g = np.empty(o)

    def accepts(self, part):
        """Whether ``part`` (what an epoch source's ``begin`` gave) can be fused."""
        X = getattr(getattr(part, "batches", None), "X", None)
        if X is None or X.dtype != self.net.dtype:
            return False
        return not sp.issparse(X) or X.format == "csr"

    def train_pass(self, trainer, part, total=0.0, weight=0.0):
        """Train on the :class:`~skgd._data.Pass` ``part``; the epoch's sums.

        Adds to the running sums ``total`` and ``weight`` and returns them,
        as :meth:`Trainer.train_batches` does; raises DivergenceError where
        the objective leaves its limit.
        """
        from . import kernels  # numba: imported on the first fused pass

        state, batches = trainer.state, part.batches
        order = part.row_order()
        n_batches = math.ceil(len(order) / part.size)
        rates = state.schedule.rates(
            state.t - state.origin[1], state.n_iter - state.origin[0], n_batches
        )
        self.hyper[0], self.hyper[7] = trainer.objective.alpha, trainer.baseline
        counts = np.array([getattr(self.inner, "t", 0), self._averaged()])
        sums = np.array([state.limit, total, weight, 0.0, 0.0])
        status = self._call(kernels, batches, order, part.size, rates, counts, sums)
        done = n_batches if status == kernels.OK else int(sums[4])
        state.limit, state.t = sums[0], state.t + done
        self._store_counts(counts)
        if status != kernels.OK:
            trainer.lr = rates[done]
            raise trainer.diverged(sums[3], state.n_iter + 1)
        trainer.lr = rates[-1]
        last = order[(n_batches - 1) * part.size :]
        trainer.last_batch = lambda: batches.batch(last)
        return sums[1], sums[2]

    def _averaged(self):
        return 0 if self.average is None else self.average.count

    def _store_counts(self, counts):
        if isinstance(self.inner, Adam):
            self.inner.t = int(counts[0])
        if self.average is not None:
            self.average.count = int(counts[1])

    def _call(self, kernels, batches, order, size, rates, counts, sums):
        """The kernel's call: the data, the pass, the parameters and the state."""
        net, inner, empty = self.net, self.inner, kernels.empty(self.net.dtype)
        velocity = getattr(inner, "velocity", None)
        state = (
            empty if velocity is None else velocity,
            getattr(inner, "m_", empty),
            getattr(inner, "v_", empty),
            empty if self.average is None else self.average.mean,
            counts,
            sums,
        )
        sw = batches.sample_weight
        sw = np.zeros(0) if sw is None else sw.reshape(-1)
        X, Y = batches.X, batches.Y
        # A lazy sparse step keeps the output gradients of a whole batch.
        g = np.empty(size * Y.shape[1]) if sp.issparse(X) else self._g
        common = (Y, order, sw, size, net.params, net.grads, self._z, g, rates)
        if sp.issparse(X):
            return kernels.csr_epoch(
                X.data, X.indices, X.indptr, *common, self.codes, self.hyper, state
            )
        return kernels.dense_epoch(
            np.asarray(X), *common, self.codes, self.hyper, state
        )
