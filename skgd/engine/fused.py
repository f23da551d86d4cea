"""The compiled epoch of a linear model: the trainer's side of the kernels.

A network of one dense layer (a linear model without dropout, its features
centered or not: see skgd._layers.Center) trained by a
loss of :mod:`skgd._losses` and by SGD (with or without momentum) or Adam,
averaged or not, trains each pass over in-memory data with one call of
:func:`skgd.engine.epochs.dense_epoch` or ``csr_epoch`` instead of a few
numpy calls per batch. Everything else (the shuffles, the rates, validation,
callbacks, the checks after each pass) stays in Python, so a fused pass
makes the same updates as the numpy path, with sums in another order.

Anything else (dropout, a loss or an optimizer added to the registries,
input of another floating type than the network's, sparse input in another
format than CSR) takes the numpy path. A stream of ``partial_fit`` chunks
is fused too: its parts are passes (the pending batch, then the chunk's).

``numba`` is imported, and the kernels compiled, on the first fused pass,
never by ``import skgd``.
"""

import math

import numpy as np
import scipy.sparse as sp

from .._layers import Center, Dense
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
    layers = [type(layer) for layer in net.layers]
    fusable = (
        layers in ([Dense], [Center, Dense])
        and type(loss) in LOSS_CODES
        and compiled_optimizer(optimizer)
    )
    return LinearEpochs(net, loss, optimizer) if fusable else None


def compiled_optimizer(optimizer):
    """Whether the kernels implement ``optimizer`` (SGD, Adam, averaged or not)."""
    inner = optimizer.inner if isinstance(optimizer, Averaged) else optimizer
    return type(inner) in OPTIMIZER_CODES and (
        not isinstance(optimizer, Averaged) or type(optimizer.average) is IterateAverage
    )


def kernel_settings(optimizer, loss=None, bias=False):
    """``(inner, average, codes, hyper)`` of an optimizer for the kernels.

    ``inner`` is the optimizer that steps (SGD or Adam), ``average`` its
    :class:`IterateAverage` or None; ``codes`` and ``hyper`` are the
    kernels' (see :mod:`skgd.engine.kernels`), with ``alpha`` and the
    baseline left at 0, to be set per pass.
    """
    inner = optimizer.inner if isinstance(optimizer, Averaged) else optimizer
    average = getattr(optimizer, "average", None)
    codes = np.array(
        [
            LOSS_CODES.get(type(loss), -1),
            OPTIMIZER_CODES[type(inner)],
            bool(getattr(inner, "nesterov", False)),
            bias,
        ],
        dtype=np.int64,
    )
    hyper = np.array(
        [
            0.0,  # alpha, set per pass
            getattr(loss, "delta", 1.0),
            getattr(inner, "momentum", 0.0),
            getattr(inner, "beta_1", 0.9),
            getattr(inner, "beta_2", 0.999),
            getattr(inner, "epsilon", 1e-8),
            getattr(average, "power", 0.0),
            0.0,  # the baseline, set per pass
        ]
    )
    return inner, average, codes, hyper


def optimizer_state(inner, average, dtype, counts, sums):
    """The kernels' ``state``: ``(velocity, m_, v_, mean, counts, sums)``.

    The optimizer's own arrays (the kernel updates them in place; an empty
    array for what the optimizer lacks), with ``counts`` set from Adam's
    step count and the average's count (see :func:`store_counts`).
    """
    empty = np.zeros(0, dtype)
    counts[:] = getattr(inner, "t", 0), getattr(average, "count", 0)
    velocity = getattr(inner, "velocity", None)
    return (
        empty if velocity is None else velocity,
        getattr(inner, "m_", empty),
        getattr(inner, "v_", empty),
        empty if average is None else average.mean,
        counts,
        sums,
    )


def store_counts(inner, average, counts):
    """Give Adam's step count and the average's count back from ``counts``."""
    if isinstance(inner, Adam):
        inner.t = int(counts[0])
    if average is not None:
        average.count = int(counts[1])


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
        self.inner, self.average, self.codes, self.hyper = kernel_settings(
            optimizer, loss, net.layers[-1].bias
        )
        first = net.layers[0]  # centered features, or none (see Center)
        centered = isinstance(first, Center)
        self.offset = first.offset if centered else np.zeros(net.widths[0], net.dtype)
        self.centered = centered
        o = net.widths[-1]
        self._z = np.empty(o)
        self._g = np.empty(o)

    def accepts(self, part):
        """Whether ``part`` (what an epoch source's ``begin`` gave) can be fused."""
        X = getattr(getattr(part, "batches", None), "X", None)
        if X is None or X.dtype != self.net.dtype:
            return False
        return not sp.issparse(X) or (X.format == "csr" and not self.centered)

    def train_pass(self, trainer, part, total=0.0, weight=0.0):
        """Train on the :class:`~skgd._data.Pass` ``part``; the epoch's sums.

        Adds to the running sums ``total`` and ``weight`` and returns them,
        as :meth:`Trainer.train_batches` does; raises DivergenceError where
        the objective leaves its limit.
        """
        from . import epochs, sparse_epochs  # numba: on the first fused pass

        state, batches = trainer.state, part.batches
        order = part.row_order()
        n_batches = math.ceil(len(order) / part.size)
        rates = state.schedule.rates(
            state.t - state.origin[1], state.n_iter - state.origin[0], n_batches
        )
        self.hyper[0], self.hyper[7] = trainer.objective.alpha, trainer.baseline
        counts = np.zeros(2, np.int64)
        sums = np.array([state.limit, total, weight, 0.0, 0.0])
        kernels = sparse_epochs if sp.issparse(batches.X) else epochs
        status = self._call(kernels, batches, order, part.size, rates, counts, sums)
        done = n_batches if status == epochs.OK else int(sums[4])
        state.limit, state.t = sums[0], state.t + done
        store_counts(self.inner, self.average, counts)
        if status != epochs.OK:
            trainer.lr = rates[done]
            raise trainer.diverged(sums[3], state.n_iter + 1)
        trainer.lr = rates[-1]
        last = order[(n_batches - 1) * part.size :]
        trainer.last_batch = lambda: batches.batch(last)
        return sums[1], sums[2]

    def _call(self, kernels, batches, order, size, rates, counts, sums):
        """The kernel's call: the data, the pass, the parameters and the state."""
        net = self.net
        state = optimizer_state(self.inner, self.average, net.dtype, counts, sums)
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
            np.asarray(X), self.offset, *common, self.codes, self.hyper, state
        )


def adam_steps(rates, beta_1, beta_2, t):
    """Adam's steps at update ``t``: the rates times its bias correction and
    constant factor, as :func:`skgd.engine.kernels.step` computes them."""
    correction = np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    return rates * correction * ((1.0 - beta_1) / np.sqrt(1.0 - beta_2))


def spread_settings(alpha, values):
    """The stacked kernels' ``spread`` (5, K): each candidate's alpha,
    momentum, betas and epsilon divided by ``sqrt(1 - beta_2)``, from the
    optimizer settings ``values`` (arrays by candidate)."""
    K = len(alpha)
    spread = np.zeros((5, K))
    spread[0] = alpha
    spread[1] = values.get("momentum", np.zeros(K))
    if "beta_1" in values:
        spread[2], spread[3] = values["beta_1"], values["beta_2"]
        spread[4] = values["epsilon"] / np.sqrt(1.0 - values["beta_2"])
    return spread


def stacked_fused_epochs(run):
    """A :class:`StackedLinearEpochs` for a stacked group run, or None.

    ``run`` is a :class:`skgd.engine.stack.run.Trainer`: candidates of one dense layer
    without dropout, a loss of :data:`LOSS_CODES` and SGD or Adam train
    stacked in a kernel; anything else on the stacked numpy path.
    """
    net = run.net
    fusable = (
        len(net.dense) == 1
        and not net.rates.any()
        and type(run.loss) in LOSS_CODES
        and run.optimizer.name in ("sgd", "adam")
    )
    return StackedLinearEpochs(run) if fusable else None


class StackedLinearEpochs:
    """Trains whole passes of a stack of linear models with one kernel call.

    The kernel (:func:`skgd.engine.stacked.stacked_dense_epoch`) sees the
    stack's own buffers, reshaped to ``(rows, K * n_outputs)`` without a
    copy; the candidates' settings come from the group run each pass, since
    candidates leave the stack as they finish.
    """

    def __init__(self, run):
        self.run = run
        layer = run.net.dense[0]
        self.codes = np.array(
            [LOSS_CODES[type(run.loss)], run.optimizer.name == "adam",
             bool(run.optimizer.nesterov), layer.bias],
            dtype=np.int64,
        )  # fmt: skip

    def accepts(self, part):
        """Dense data of the stack's type (sparse data: the numpy path)."""
        X = part.batches.X
        return not sp.issparse(X) and X.dtype == self.run.net.dtype

    def train_pass(self, part, totals):
        """Train on ``part``; ``(weight, rates, last batch)``.

        Adds each batch's weighted losses to the candidates' running sums
        ``totals`` (in place, in the order of the batches), and returns the
        pass's rows, the candidates' last rates and a callable that gathers
        the last batch. Divergences go into the run's errors, as the numpy
        path's checks put them.
        """
        from .stacked import stacked_dense_epoch  # numba: on the first fused pass

        run, batches = self.run, part.batches
        order, K = part.row_order(), len(run.active)
        n_batches = -(-len(order) // part.size)
        rates = self._rates(n_batches)
        o = run.net.dense[0].n_outputs
        limits = run.limit[run.active].copy()
        failed = np.column_stack([np.zeros(K), np.full(K, -1.0)])
        counts = np.array([0, self._averaged()])
        state = (
            *self._optimizer_buffers(), counts,
            np.asarray(run.active, dtype=np.int64), limits, np.empty(K), totals,
            failed, np.empty(K * o), np.empty(K * o),
        )  # fmt: skip
        sw = batches.sample_weight
        if sw is not None:  # a fit's weights: one column
            sw = sw.reshape(len(sw), -1)
        offset = run.net.offset
        if offset is None:
            offset = np.zeros(run.net.dense[0].n_in, run.net.dtype)
        stacked_dense_epoch(
            np.asarray(batches.X), offset, batches.Y, order,
            np.zeros((0, 0)) if sw is None else sw, part.size,
            run.net.params, run.net.grads, np.repeat(self._steps(rates), o, axis=1),
            np.repeat(self._spread(), o, axis=1), self._hyper(), self.codes, state,
        )  # fmt: skip
        run.t += n_batches
        if run.optimizer.name == "adam":
            run.optimizer.t += n_batches
        if run.optimizer.average is not None:
            run.optimizer.average.count = int(counts[1])
        run.limit[run.active] = limits
        self._record_failures(failed, rates)
        last = order[(n_batches - 1) * part.size :]
        return float(len(order)), rates[-1], lambda: batches.batch(last)

    def _averaged(self):
        average = self.run.optimizer.average
        return 0 if average is None else average.count

    def _optimizer_buffers(self):
        """``(velocity, m_, v_, mean)``, flat as the stack's parameters (or empty)."""
        optimizer = self.run.optimizer
        empty = np.zeros(0, self.run.net.dtype)
        average = optimizer.average
        buffers = [optimizer.buffers.get(name) for name in ("velocity", "m_", "v_")]
        buffers.append(None if average is None else average.mean)
        return [empty if b is None else b for b in buffers]

    def _rates(self, n_batches):
        """The candidates' plain rates of each update, shape (n_batches, K)."""
        run = self.run
        t, n_iter = run.clock()  # as the schedules count
        return np.column_stack(
            [run.schedules[k].rates(t, n_iter, n_batches) for k in run.active]
        )

    def _steps(self, rates):
        """The rates the kernel multiplies by: Adam's factors folded in."""
        optimizer = self.run.optimizer
        if optimizer.name != "adam":
            return rates
        b1, b2 = optimizer.values["beta_1"], optimizer.values["beta_2"]
        return adam_steps(
            rates, b1, b2, optimizer.t + 1 + np.arange(len(rates))[:, None]
        )

    def _spread(self):
        """Each candidate's alpha, momentum, betas and scaled epsilon, (5, K)."""
        run = self.run
        return spread_settings(run.alpha[run.active], run.optimizer.values)

    def _hyper(self):
        """Each candidate's huber delta, averaging power and baseline, (K, 3)."""
        run = self.run
        average = run.optimizer.average
        power = 0.0 if average is None else average.power
        return np.column_stack(
            [
                [run.deltas[k] or 1.0 for k in run.active],
                np.full(len(run.active), power),
                run.baseline[run.active],
            ]
        )

    def _record_failures(self, failed, rates):
        """The DivergenceError of each candidate that diverged in the pass."""
        from .trainer import divergence_error

        run = self.run
        for i in np.flatnonzero(failed[:, 1] >= 0):
            k, batch = run.active[i], int(failed[i, 1])
            if k not in run.errors:
                what = f"the training loss reached {failed[i, 0]:.3g}"
                run.errors[k] = divergence_error(run.n_iter + 1, what, rates[batch, i])
