"""The compiled passes of linear models: the trainer's side of the kernels.

A stack of linear models (networks of one dense layer without dropout,
their features centered or not: see :class:`skgd._layers.Center`) trained by a
loss of :mod:`skgd._losses` and by SGD (with or without momentum) or Adam,
averaged or not, trains each pass over in-memory data in one kernel call
instead of a few numpy calls per batch, the kernel chosen by ``K``: a stack
of one (a fit) calls its own fit's kernel,
:func:`skgd.engine.epochs.dense_epoch` or, on CSR rows,
:func:`skgd.engine.sparse_epochs.csr_epoch` (see
:mod:`skgd.engine.linear_pass`); a stack of many on dense rows calls
:func:`skgd.engine.stacked.stacked_dense_epoch`, each row's products over all
candidates at once, or :func:`~skgd.engine.stacked.stacked_gathered_epoch`,
each batch's products BLAS's, for batches of :data:`GATHERED_ROWS`.
Everything else (the shuffles, the rates, validation,
callbacks, the checks after each pass) stays in Python, so a fused pass
makes the same updates as the numpy path, with sums in another order.

Anything else (dropout, a loss or an optimizer added to the registries,
input of another floating type than the network's, sparse input in another
format than CSR, CSR input to a stack of many) takes the numpy path. A
stream of ``partial_fit`` chunks is fused too: its parts are passes (the
pending batch, then the chunk's).

``numba`` is imported, and the kernels compiled, on the first fused pass,
never by ``import skgd``.
"""

import math

import numpy as np

from .linear_pass import (
    LOSS_CODES,
    fusable_data,
    linear_epoch,
)

# The batch sizes whose rows a stack of many gathers, to make each batch's
# outputs and gradient two matrix products (stacked_gathered_epoch): from 4
# rows (at 2 the two BLAS calls a batch cost as much as the products row by
# row, at 1 up to 1.6 times as much) to 4096 (a full batch of more would
# copy the data once more).
GATHERED_ROWS = 4, 4096


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

    The kernel sees the stack's own buffers: a stack of several candidates
    :func:`skgd.engine.stacked.stacked_dense_epoch`, on its buffers reshaped
    to ``(rows, K * n_outputs)`` without a copy (dense data only); a stack
    of one, whose buffers have its own network's layout, the kernels of a
    single fit (:func:`linear_epoch`, dense or CSR data), so that it costs
    what that fit costs and makes the same updates. The candidates' settings
    come from the group run each pass, since candidates leave the stack as
    they finish.
    """

    def __init__(self, run):
        self.run, self._hypers = run, {}
        layer = run.net.dense[0]
        self.codes = np.array(
            [LOSS_CODES[type(run.loss)], run.optimizer.name == "adam",
             bool(run.optimizer.nesterov), layer.bias],
            dtype=np.int64,
        )  # fmt: skip

    def accepts(self, part):
        """Data of the stack's type: dense, or CSR for a stack of one."""
        run = self.run
        single = len(run.active) == 1
        return fusable_data(
            part.batches.X, run.net.dtype, run.net.offset is not None, single
        )

    def train_pass(self, part, totals):
        """Train on ``part``; ``(weight, rates, last batch)``.

        Adds each batch's weighted losses to the candidates' running sums
        ``totals`` (in place, in the order of the batches), and returns the
        pass's rows, the candidates' last rates and a callable that gathers
        the last batch. Divergences go into the run's errors, as the numpy
        path's checks put them.
        """
        run, batches = self.run, part.batches
        order = part.row_order()
        n_batches = -(-len(order) // part.size)
        rates = self._rates(n_batches)
        if len(run.active) == 1:
            failed = self._train_one(part, order, rates[:, 0], totals)
        else:
            failed = self._train_stacked(part, order, n_batches, rates, totals)
        run.t += n_batches
        self._record_failures(failed, rates)
        last = order[(n_batches - 1) * part.size :]
        return float(len(order)), rates[-1], lambda: batches.batch(last)

    def _train_one(self, part, order, rates, totals):
        """The pass of a stack of one: a single fit's kernel; where it
        diverged, as :meth:`_train_stacked` gives it, or None.

        A divergence ends the pass (as it ends the fit's), where the stacked
        kernel trains the candidate on, unjudged: it leaves the stack at the
        end of the epoch either way.
        """
        run, k = self.run, self.run.active[0]
        optimizer = run.optimizer
        counts = np.array([optimizer.t, self._averaged()])
        sums = np.array([run.limit[k], totals[0], 0.0, 0.0, 0.0])
        sw = part.batches.sample_weight
        if sw is not None:  # the candidate's column
            sw = np.ascontiguousarray(sw.reshape(len(sw), -1)[:, k])
        state = (*self._optimizer_buffers(), counts, sums)
        diverged = linear_epoch(
            part.batches, self._offset(), order, sw, part.size, run.net, rates,
            self.codes, self._single_hyper(k), state,
        )  # fmt: skip
        if optimizer.name == "adam":
            optimizer.t = int(counts[0])
        if optimizer.average is not None:
            optimizer.average.count = int(counts[1])
        run.limit[k] = math.inf if diverged else sums[0]
        totals[0] = sums[1]
        return np.array([[sums[3], sums[4]]]) if diverged else None

    def _single_hyper(self, k):
        """The kernels' ``hyper`` of candidate ``k``, alone in the stack
        (made once: its settings do not change while the stack trains)."""
        hyper = self._hypers.get(k)
        if hyper is None:
            hyper = self._hypers[k] = self._made_hyper(k)
        return hyper

    def _made_hyper(self, k):
        run = self.run
        values, average = run.optimizer.values, run.optimizer.average
        defaults = {"momentum": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
        setting = [
            float(values[name][0]) if name in values else default
            for name, default in defaults.items()
        ]
        return np.array(
            [
                run.alpha[k],
                run.deltas[k] or 1.0,
                *setting,
                0.0 if average is None else average.power,
                run.baseline[k],
            ]
        )

    def _train_stacked(self, part, order, n_batches, rates, totals):
        """The pass of several candidates, in one stacked kernel call, their
        loss sums added to ``totals``; where each diverged."""
        # numba: on the first fused pass
        from .stacked import stacked_dense_epoch, stacked_gathered_epoch

        run, batches = self.run, part.batches
        K, o = len(run.active), run.net.dense[0].n_outputs
        limits = run.limit[run.active].copy()
        failed = np.column_stack([np.zeros(K), np.full(K, -1.0)])
        counts = np.array([0, self._averaged()])
        state = (
            *self._optimizer_buffers(), counts,
            np.asarray(run.active, dtype=np.int64), limits, np.empty(K), totals,
            failed, np.empty(K * o), np.empty(K * o),
        )  # fmt: skip
        sw = batches.sample_weight
        arguments = (
            np.asarray(batches.X), self._offset(), batches.Y, order,
            np.zeros((0, 0)) if sw is None else sw, part.size,
            run.net.params, run.net.grads, np.repeat(self._steps(rates), o, axis=1),
            np.repeat(self._spread(), o, axis=1), self._hyper(), self.codes, state,
        )  # fmt: skip
        low, high = GATHERED_ROWS
        if low <= part.size <= high:
            params, dtype = run.net.params, run.net.params.dtype
            rows = np.empty((part.size, params.size // (K * o)), dtype)
            outputs, grads = (np.empty((part.size, K * o), dtype) for _ in range(2))
            stacked_gathered_epoch(*arguments, (rows, outputs, grads))
        else:
            stacked_dense_epoch(*arguments)
        if run.optimizer.name == "adam":
            run.optimizer.t += n_batches
        if run.optimizer.average is not None:
            run.optimizer.average.count = int(counts[1])
        run.limit[run.active] = limits
        return failed

    def _offset(self):
        """What the features are centered by (see Center): zeros for nothing."""
        net = self.run.net
        if net.offset is None:
            return np.zeros(net.dense[0].n_in, net.dtype)
        return net.offset

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
        rates = [run.schedules[k].rates(t, n_iter, n_batches) for k in run.active]
        return rates[0][:, None] if len(rates) == 1 else np.column_stack(rates)

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
        """The DivergenceError of each candidate that diverged in the pass
        (``failed``: see the kernels; None when none did)."""
        from .trainer import divergence_error

        if failed is None:
            return
        run = self.run
        for i in np.flatnonzero(failed[:, 1] >= 0):
            k, batch = run.active[i], int(failed[i, 1])
            if k not in run.errors:
                what = f"the training loss reached {failed[i, 0]:.3g}"
                run.errors[k] = divergence_error(run.n_iter + 1, what, rates[batch, i])
