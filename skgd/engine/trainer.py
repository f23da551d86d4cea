"""What training carries and checks: the objective, the state, divergence.

:class:`Objective` is ``J`` on a batch and its gradient through a
:class:`~skgd._network.Network` (the reference the compiled passes are
tested against), :class:`TrainingState` is what a fit carries from call to
call, and :func:`divergence_error` is the one message of a diverged run.
The loop that trains is :class:`skgd.engine.stack.run.Trainer`, for a fit
(a stack of one) and a search's stacked candidates alike: it checks each
candidate's objective against its limit (:data:`DIVERGENCE_FACTOR` times
its first), its parameters after each pass and its losses and held-out
predictions after each epoch; the estimator checks the fitted model's
predictions after the fit (:mod:`skgd._fitting`). Data that no step can
train on is refused before training, with messages of their own.
"""

import copy
import math

import numpy as np

from .._exceptions import DivergenceError

# The objective may grow this many times over its starting value before the
# run counts as diverged: far beyond any noisy but healthy descent.
DIVERGENCE_FACTOR = 1e6


def quiet():
    """numpy's floating-point warnings off: divergence is judged, not warned of."""
    return np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore")


def divergence_error(epoch, what, lr, scale="standardize the features"):
    """The one message of a diverged run: where, what, and what to try."""
    return DivergenceError(
        f"Training diverged in epoch {epoch}: {what} with learning_rate={lr:.3g}. "
        f"Try a learning rate 10 times smaller, or {scale} "
        "(sklearn.preprocessing.StandardScaler)."
    )


class Objective:
    """``J = sum_i c_i * loss(y_i, f(x_i)) + (alpha / 2) * ||W||**2``.

    ``c`` are the batch's relative sample weights divided by its number of
    rows (see :class:`skgd._data.Batches`); ``W`` are all
    the weight matrices of the network (intercepts are not penalized). The
    penalty lives here only, so the reported value and the gradient agree.
    """

    def __init__(self, loss, alpha):
        self.loss, self.alpha = loss, float(alpha)

    def __call__(self, net, X, y, c, rng=None):
        """Return J on a batch and leave its gradient in ``net.grads``."""
        value = net.loss_and_grad(self.loss, X, y, c, rng)
        if self.alpha:
            value = add_penalty(net, self.alpha, value)
        return value


def within_dtype(loss, dtype):
    """Whether residuals of a loss in y's units fit ``dtype``.

    A loss finite on the standardized target (see
    :class:`skgd._tasks.TargetScale`) may not be in y's units, or its
    residuals, about ``sqrt(2 * loss)``, may not fit a float32 model: its
    predictions would overflow.
    """
    return math.isfinite(loss) and math.sqrt(2.0 * abs(loss)) <= float(
        np.finfo(dtype).max
    )


def add_penalty(net, alpha, value):
    """Add the L2 penalty's gradient to ``net.grads``; return ``value`` plus it."""
    for w, grad_w, scratch in net.penalized:
        np.multiply(w, alpha, scratch)
        np.add(grad_w, scratch, grad_w)
        # Not np.dot: a long BLAS dot wakes its thread pool, at a cost of
        # milliseconds between matrix products.
        np.multiply(scratch, w, scratch)
        value += 0.5 * float(scratch.sum())
    return value


# Any seed will do for a copy's bit generator, whose state is then set.
_ANY_SEED = np.random.SeedSequence(0)


def copy_generator(rng):
    """A copy of the numpy ``Generator`` ``rng``: the same bit generator in
    the same state (what ``copy.deepcopy`` gives, in a quarter of its time:
    deepcopy builds the bit generator from fresh OS entropy first)."""
    bit_generator = type(rng.bit_generator)(_ANY_SEED)
    bit_generator.state = rng.bit_generator.state
    return np.random.Generator(bit_generator)


class TrainingState:
    """What training carries from one call to the next.

    ``partial_fit`` keeps it between calls; ``fit`` starts a new one (keeping
    only the counters of a warm start). Between calls the estimator stores it
    as plain data (``to_dict``): arrays, numbers and the random generators,
    so that a fitted estimator holds no skgd object but itself.

    Parameters
    ----------
    optimizer : optimizer object, already ``init``-ed
    schedule : schedule object
    rng : numpy.random.Generator
        The source of the shuffles (and, before training, of the held-out
        split and the initial weights); dropout never draws from it.
    n_iter, t : int
        Epochs run and updates made so far.
    origin : tuple of int, default=(n_iter, t)
        The counters when the schedule started: it counts from there.
    limit : float, default=-inf
        Objective values above it count as divergence; the first batch sets
        it (-inf until then) and it is kept across ``partial_fit`` calls.
    stream : dict or None, default=None
        The unfinished epoch of a stream of ``partial_fit`` calls (see
        :class:`skgd._stream.StreamEpochs`).
    streams : list of numpy.random.Generator, default=[]
        The dropout streams, one per dropout position (see
        :func:`skgd.engine.session.dropout_streams`); what the objective gets as its
        ``rng`` in training.
    """

    def __init__(self, optimizer, schedule, rng, n_iter=0, t=0, origin=None, **carried):
        self.optimizer, self.schedule, self.rng = optimizer, schedule, rng
        self.n_iter, self.t = n_iter, t
        self.origin = (n_iter, t) if origin is None else tuple(origin)
        self.limit = carried.get("limit", -math.inf)
        self.stream = carried.get("stream")
        self.streams = list(carried.get("streams", []))

    def to_dict(self):
        """The state as plain data (copies)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "lr0": self.schedule.lr0,
            "schedule": self.schedule.state_dict(),
            "rng": copy_generator(self.rng),
            "n_iter": self.n_iter,
            "t": self.t,
            "origin": list(self.origin),
            "limit": self.limit,
            "stream": copy.deepcopy(self.stream),
            "streams": [copy_generator(stream) for stream in self.streams],
        }

    @classmethod
    def from_dict(cls, state, optimizer, schedule):
        """Continue from ``to_dict``'s output, with fresh objects (copies)."""
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        return cls(
            optimizer,
            schedule,
            copy_generator(state["rng"]),
            state["n_iter"],
            state["t"],
            state["origin"],
            limit=state["limit"],
            stream=copy.deepcopy(state.get("stream")),
            streams=[copy_generator(stream) for stream in state["streams"]],
        )

    def learning_rate(self):
        """The step size for the next update."""
        return self.schedule(self.t - self.origin[1], self.n_iter - self.origin[0])
