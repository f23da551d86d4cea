"""The compiled step of a network: the trainer's side of the step kernel.

A network trained batch by batch (every network but the linear models
that :mod:`skgd.engine.fused` trains a pass at a time) keeps its forward
and backward passes in numpy, around BLAS's matrix products, and ends each
step with one call of :func:`skgd.engine.kernels.network_step`: the L2
penalty's gradient and value, the divergence check, the optimizer's update
and the average of the iterates, in one loop over the flat parameter vector
instead of a dozen numpy passes over it. It makes the updates of
:mod:`skgd._optimizers` and :func:`skgd.engine.trainer.add_penalty`, with sums in
another order.

An optimizer the kernels do not implement (one added to the registry)
takes the numpy path. ``numba`` is imported, and the kernel compiled, on
the first pass, never by ``import skgd``.
"""

import numpy as np

from .linear_pass import (
    compiled_optimizer,
    kernel_settings,
    optimizer_state,
    store_counts,
)

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def fused_steps(net, optimizer):
    """A :class:`NetworkSteps` for this network and optimizer, or None."""
    if net.dtype in FLOATS and compiled_optimizer(optimizer):
        return NetworkSteps(net, optimizer)
    return None


class NetworkSteps:
    """Takes a network's steps with one kernel call after each backward pass.

    The kernel's state lives in the optimizer's own arrays; its counters
    (Adam's step count, the count of averaged updates) and the divergence
    limit are handed to it at the start of a pass (:meth:`begin`) and back
    at its end (:meth:`end`).

    Parameters
    ----------
    net : Network
    optimizer : SGD, Adam, or Averaged of either
    """

    def __init__(self, net, optimizer):
        self.net = net
        self.inner, self.average, self.codes, self.hyper = kernel_settings(optimizer)
        self.sums = np.zeros(5)  # the limit, then the kernels' other sums
        self.counts = np.zeros(2, np.int64)
        self.kernel = self.buffers = self.trainer = None

    def begin(self, trainer):
        """Hand the trainer's limit, settings and counters to the kernel."""
        from . import kernels  # numba: imported on the first pass

        self.kernel, self.trainer = kernels.network_step, trainer
        # The dropout streams: a list, so training mode.
        self.loss, self.streams = trainer.objective.loss, trainer.state.streams
        self.hyper[0], self.hyper[7] = trainer.objective.alpha, trainer.baseline
        self.sums[0] = trainer.state.limit
        self.buffers = optimizer_state(
            self.inner, self.average, self.net.dtype, self.counts, self.sums
        )

    def end(self):
        """Take the limit and the counters back from the kernel."""
        trainer, self.trainer = self.trainer, None
        trainer.state.limit = float(self.sums[0])
        store_counts(self.inner, self.average, self.counts)

    def step(self, X, y, c, lr):
        """One step on a batch; its objective.

        Raises DivergenceError, without updating, where the objective is
        beyond the limit (see :meth:`skgd.engine.trainer.Trainer.train_batches`).
        """
        net, trainer = self.net, self.trainer
        value = net.loss_and_grad(self.loss, X, y, c, self.streams)
        value = self.kernel(
            value, net.params, net.grads, net.penalized_bounds, lr,
            self.codes, self.hyper, self.buffers,
        )  # fmt: skip
        if not value <= self.sums[0]:  # also true for NaN
            trainer.lr = lr
            raise trainer.diverged(value, trainer.state.n_iter + 1)
        return value
