"""One training step, one epoch's batches, and the checks between them.

:class:`Objective` evaluates ``J`` and its gradient on a batch,
:class:`TrainingState` is what training carries from call to call, and
:class:`Trainer` takes the steps: ``train_batches`` over batches,
``train_part`` over one epoch's batches (or a stream's share of an epoch),
``validate`` on the held-out split.

The trainer checks that a run stays finite: each objective against its
limit on the numpy path and, on every path, the parameters after each pass
and the losses and held-out predictions of each epoch. Not every check is
here: the compiled steps and passes (:mod:`skgd.engine.steps`,
:mod:`skgd.engine.fused`) judge the objective in their kernels and hand a
diverged one back to :meth:`Trainer.diverged`, a stacked run
(:mod:`skgd.engine.stack`) checks each of its candidates itself, and the
estimator checks the fitted model's predictions after the session
(:mod:`skgd._fitting`). Wherever a diverged run is found, it is reported in
the words of :func:`divergence_error`; data that no step can train on is
refused before training, with messages of their own.
"""

import copy
import math
import time

import numpy as np

from .._exceptions import DivergenceError
from .._losses import weighted_loss
from .fused import fused_epochs
from .steps import fused_steps

# The objective may grow this many times over its starting value before the
# run counts as diverged: far beyond any noisy but healthy descent.
DIVERGENCE_FACTOR = 1e6


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
            "rng": copy.deepcopy(self.rng),
            "n_iter": self.n_iter,
            "t": self.t,
            "origin": list(self.origin),
            "limit": self.limit,
            "stream": copy.deepcopy(self.stream),
            "streams": copy.deepcopy(self.streams),
        }

    @classmethod
    def from_dict(cls, state, optimizer, schedule):
        """Continue from ``to_dict``'s output, with fresh objects (copies)."""
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        return cls(
            optimizer,
            schedule,
            copy.deepcopy(state["rng"]),
            state["n_iter"],
            state["t"],
            state["origin"],
            limit=state["limit"],
            stream=copy.deepcopy(state.get("stream")),
            streams=copy.deepcopy(state["streams"]),
        )

    def learning_rate(self):
        """The step size for the next update."""
        return self.schedule(self.t - self.origin[1], self.n_iter - self.origin[0])


class Trainer:
    """Takes gradient steps on a network and checks that they stay finite.

    Parameters
    ----------
    net : Network
    objective : Objective
    state : TrainingState
    task : task object
        Scores the held-out split (see :mod:`skgd._tasks`).
    batch_size : int or None
        ``None`` for full-batch gradient descent.
    shuffle : bool
    baseline : float
        The scale of the data of this call (see :mod:`skgd._tasks`). With the
        first batch's objective it sets the limit above which the run counts
        as diverged; a later call whose data has a larger scale raises the
        limit to a million times it, so that the limit follows the data seen.
    val : Batches or None, default=None
        The held-out split, scored after every epoch.
    """

    def __init__(
        self, net, objective, state, task, *, batch_size, shuffle, baseline, val=None
    ):
        self.net, self.objective, self.state, self.task = net, objective, state, task
        self.batch_size, self.shuffle = batch_size, shuffle
        self.baseline, self.val = baseline, val
        if state.limit > -math.inf:  # continuing: the scale of the new data counts
            state.limit = max(state.limit, DIVERGENCE_FACTOR * baseline)
        self.lr = math.nan  # the rate of the last update
        self.interrupted = False  # set by the SIGINT handler
        self.stopping = None  # the EarlyStopping callback, if any
        self.train_rows = None  # the rows trained on (None: all)
        self.last_batch = None  # () -> (X, y, c) of the last update's batch
        # Whole passes in one compiled call, for the networks that allow it.
        self.fused = fused_epochs(net, objective.loss, state.optimizer)
        # The other passes: each step's update in one compiled call.
        self.steps = fused_steps(net, state.optimizer)

    def _check_objective(self, value, lr, epoch):
        state = self.state
        if state.limit == -math.inf and math.isfinite(value):  # the first batch
            state.limit = DIVERGENCE_FACTOR * max(value, self.baseline)
            return
        self.lr = lr
        raise self.diverged(value, epoch)

    def diverged(self, value, epoch):
        """The DivergenceError of an objective ``value`` beyond the limit."""
        return divergence_error(
            epoch, f"the training loss reached {value:.3g}", self.lr
        )

    def train_batches(self, batches, total=0.0, weight=0.0):
        """Take a gradient step on each of ``batches``; the epoch's running sums.

        Adds each batch's ``w * J`` to ``total`` and its weight ``w`` to
        ``weight``, and returns the two. An interrupt (``self.interrupted``)
        ends the pass after the current batch. This is the hot loop: what it
        uses is looked up once, before it. Each step is the compiled one
        (:class:`skgd.engine.steps.NetworkSteps`) where the optimizer has
        one, else :meth:`numpy_step`.
        """
        state, steps = self.state, self.steps
        learning_rate = state.learning_rate
        # A rate that cannot change within the pass is asked for once.
        fixed = None if state.schedule.per_update else learning_rate()
        batch, lr = None, self.lr
        if steps is None:
            take_step = self.numpy_step
        else:
            take_step = steps.step
            steps.begin(self)
        try:
            for batch in batches:
                X, y, c, w = batch
                lr = learning_rate() if fixed is None else fixed
                value = take_step(X, y, c, lr)
                state.t += 1
                total += w * value
                weight += w
                if self.interrupted:
                    break
        finally:
            if steps is not None:
                steps.end()
        self.lr = lr
        if batch is not None:
            last = batch[:3]
            self.last_batch = lambda: last
        return total, weight

    def numpy_step(self, X, y, c, lr):
        """A step on a batch through numpy calls; its objective.

        Raises DivergenceError, without updating, where the objective is
        beyond the limit.
        """
        state, net = self.state, self.net
        value = self.objective(net, X, y, c, state.streams)  # training mode
        if not value <= state.limit:  # also true for NaN
            self._check_objective(value, lr, state.n_iter + 1)
        state.optimizer.step(net.params, net.grads, lr)
        return value

    def train_part(self, part):
        """Train on one part of an epoch source; the epoch's record, or None.

        None when the part ends no epoch (a stream's epoch goes on in the next
        call) or an interrupt cut it short.
        """
        start = time.perf_counter()
        passes, total, weight, seconds = part.begin(self)
        averaged = getattr(self.state.optimizer, "average", None)
        if averaged is not None:  # the pass trains the iterate, not the model
            averaged.begin(self.net.params)
        for batches in passes:
            if self.fused is not None and self.fused.accepts(batches):
                total, weight = self.fused.train_pass(self, batches, total, weight)
            else:
                total, weight = self.train_batches(batches, total, weight)
            if self.interrupted:
                break
        if self.interrupted:  # the epoch is rolled back (run_epochs)
            return None
        if averaged is not None:
            averaged.end(self.net.params)
        self.check_params()
        seconds += time.perf_counter() - start
        part.finish(total, weight, seconds)
        if not part.complete:
            return None
        return self.end_epoch(total / weight if weight > 0 else 0.0, seconds)

    def check_params(self):
        """Raise DivergenceError unless every parameter is finite."""
        if not np.isfinite(self.net.params).all():
            raise divergence_error(
                self.state.n_iter + 1, "the parameters are no longer finite", self.lr
            )

    def check_last_step(self):
        """Judge the last update, which no later batch did, on its own batch."""
        if self.last_batch is None:  # no update in this call
            return
        X, y, c = self.last_batch()
        value = self.objective.loss.value_and_grad(
            self.net.forward(X), y, c, self.net.output_grad
        )
        if not value <= self.state.limit:  # the step of the last finished epoch
            self._check_objective(value, self.lr, self.state.n_iter)

    def validate(self, split):
        """Loss and score of the network on the held-out ``split`` (a Batches).

        It goes through in training-sized batches, reusing their buffers.
        """
        epoch = self.state.n_iter
        pred = self.net.predict(split.X, split.rows, self.batch_size or split.n)
        if not np.isfinite(pred).all():
            what = "the predictions on the held-out data are no longer finite"
            raise divergence_error(epoch, what, self.lr)
        y = split.Y[split.rows]
        sw = None if split.sample_weight is None else split.sample_weight[split.rows]
        # In y's units (see skgd._tasks.TargetScale), where it must be finite.
        loss = weighted_loss(self.objective.loss, pred, y, sw) * self.task.loss_scale
        if not math.isfinite(loss):
            what = "the loss on the held-out data overflows"
            raise divergence_error(epoch, what, self.lr, "scale the features and y")
        return loss, self.task.score(y, pred, sw)

    def end_epoch(self, train_loss, seconds):
        """Count a finished epoch and return its record.

        ``seconds`` is the epoch's training time; scoring the held-out split
        adds to it.
        """
        start = time.perf_counter()
        train_loss = train_loss * self.task.loss_scale  # in y's units
        if not within_dtype(train_loss, self.net.dtype):
            raise self.diverged(train_loss, self.state.n_iter + 1)
        self.state.n_iter += 1
        record = {
            "epoch": self.state.n_iter,
            "t": self.state.t,
            "train_loss": train_loss,
        }
        if self.val is not None:
            score_key = f"val_{self.task.score_name}"
            record["val_loss"], record[score_key] = self.validate(self.val)
        record["learning_rate"] = self.lr
        record["seconds"] = seconds + time.perf_counter() - start
        return record

    def kept_params(self):
        """The parameters training would end with if it stopped now."""
        if self.stopping is None:
            return self.net.params
        return self.stopping.kept_params(self)

    def snapshot(self):
        """What an interrupted epoch rolls back to.

        Each generator's state (the shuffles' and the dropout streams') is
        saved as its bit generator's state (a small dict), several times
        cheaper than a deep copy of the generator.
        """
        state = self.state
        return (
            self.net.params.copy(),
            state.optimizer.state_dict(),
            state.schedule.state_dict(),
            state.rng.bit_generator.state,
            [stream.bit_generator.state for stream in state.streams],
            state.n_iter,
            state.t,
        )

    def restore(self, snapshot):
        params, optimizer, schedule, rng, streams, n_iter, t = snapshot
        state = self.state
        self.net.params[...] = params
        state.optimizer.load_state_dict(optimizer)
        state.schedule.load_state_dict(schedule)
        state.rng.bit_generator.state = rng
        for stream, saved in zip(state.streams, streams, strict=True):
            stream.bit_generator.state = saved
        state.n_iter, state.t = n_iter, t
