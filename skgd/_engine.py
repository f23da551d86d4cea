"""The training engine shared by every skgd estimator.

An estimator only builds a :class:`~skgd._network.Network`; the engine trains
it. The loop is made of short steps: ``fit_loop`` runs epochs and does the
bookkeeping between them, ``run_epoch`` iterates over mini-batches,
``train_step`` takes one gradient step, ``validate`` scores the held-out split.
"""

import copy
import math
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np
from sklearn.metrics import r2_score

from ._exceptions import DivergenceError
from ._losses import weighted_loss

# The objective may grow this many times over its starting value before the
# run counts as diverged: far beyond any noisy but healthy descent.
DIVERGENCE_FACTOR = 1e6


class Objective:
    """``J = sum_i c_i * loss(y_i, f(x_i)) + (alpha / 2) * ||W||**2``.

    ``c`` are the batch's sample weights divided by their sum; ``W`` are all
    the weight matrices of the network (intercepts are not penalized). The
    penalty lives here only, so the reported value and the gradient agree.
    """

    def __init__(self, loss, alpha):
        self.loss, self.alpha = loss, float(alpha)

    def __call__(self, net, X, y, c, rng=None):
        """Return J on a batch and leave its gradient in ``net.grads``."""
        pred = net.forward(X, rng)
        grad = net.output_grad
        value = self.loss.value_and_grad(pred, y, c, grad)
        net.backward(grad)
        if self.alpha:
            for w, grad_w, scratch in net.penalized:
                np.multiply(w, self.alpha, scratch)
                np.add(grad_w, scratch, grad_w)
                # Not np.dot: a long BLAS dot wakes its thread pool, at a cost
                # of milliseconds between matrix products.
                np.multiply(scratch, w, scratch)
                value += 0.5 * float(scratch.sum())
        return value


class TrainingState:
    """What training carries from one call to the next.

    ``partial_fit`` keeps it between calls; ``fit`` starts a new one (keeping
    only the counters of a warm start). Between calls the estimator stores it
    as plain data (``to_dict``): arrays, numbers and the random generator,
    so that a fitted estimator holds no skgd object but itself.

    Parameters
    ----------
    optimizer : optimizer object, already ``init``-ed
    schedule : schedule object
    rng : numpy.random.Generator
        The one source of randomness for shuffling and dropout.
    n_iter, t : int
        Epochs run and updates made so far.
    origin : tuple of int, default=(n_iter, t)
        The counters when the schedule started: it counts from there.
    """

    def __init__(
        self,
        optimizer,
        schedule,
        rng,
        n_iter=0,
        t=0,
        origin=None,
        limit=-math.inf,
        stream=None,
    ):
        self.optimizer, self.schedule, self.rng = optimizer, schedule, rng
        self.n_iter, self.t = n_iter, t
        self.origin = (n_iter, t) if origin is None else tuple(origin)
        # Objective values above the limit count as divergence; it is set by
        # the first batch (-inf until then) and kept across partial_fit calls.
        self.limit = limit
        # The unfinished epoch of a stream of partial_fit calls (a dict, see
        # skgd._stream.Stream), or None.
        self.stream = stream

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
        }

    @classmethod
    def from_dict(cls, state, optimizer, schedule):
        """Continue from ``to_dict``'s output, with fresh objects (copies)."""
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        rng = copy.deepcopy(state["rng"])
        counters = (state["n_iter"], state["t"], state["origin"], state["limit"])
        stream = copy.deepcopy(state.get("stream"))
        return cls(optimizer, schedule, rng, *counters, stream=stream)

    def learning_rate(self):
        """The step size for the next update."""
        return self.schedule(self.t - self.origin[1], self.n_iter - self.origin[0])


@contextmanager
def interrupts_caught(trainer):
    """Turn Ctrl-C into ``trainer.interrupted = True`` while training.

    A KeyboardInterrupt raised in the loop (from a callback, say) is caught
    too. Only the main thread receives signals, so elsewhere only that.
    """
    trainer.catch_interrupts = True
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        trainer.interrupted = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Trainer:
    """Trains a network on mini-batches.

    Parameters
    ----------
    net : Network
    objective : Objective
    state : TrainingState
    batch_size : int or None
        ``None`` for full-batch gradient descent.
    shuffle : bool
    baseline : float
        The loss of a constant prediction; with the first batch's objective it
        sets the scale above which the run counts as diverged.
    callbacks : list of callables
        Each is called with every epoch's record.
    """

    def __init__(
        self, net, objective, state, *, batch_size, shuffle, baseline, callbacks=()
    ):
        self.net, self.objective, self.state = net, objective, state
        self.batch_size, self.shuffle = batch_size, shuffle
        self.baseline, self.callbacks = baseline, list(callbacks)
        self.lr = math.nan
        self._last_batch = None
        self._step = state.optimizer.step
        self.interrupted = self.catch_interrupts = False

    def train_step(self, X, y, c):
        """One gradient step on a batch; returns the batch objective."""
        state, net = self.state, self.net
        self.lr = lr = state.learning_rate()
        value = self.objective(net, X, y, c, state.rng)
        if not value <= state.limit:  # also true for NaN
            self._check_divergence(value, lr)
        self._step(net.params, net.grads, lr)
        state.t += 1
        return value

    def _check_divergence(self, value, lr, epoch=None):
        state = self.state
        if state.limit == -math.inf and math.isfinite(value):  # the first batch
            state.limit = DIVERGENCE_FACTOR * max(value, self.baseline)
            return
        epoch = state.n_iter + 1 if epoch is None else epoch
        raise DivergenceError(
            f"Training diverged in epoch {epoch}: the training "
            f"loss reached {value:.3g} with learning_rate={lr:.3g}. Try a learning "
            "rate 10 times smaller, or standardize the features "
            "(sklearn.preprocessing.StandardScaler)."
        )

    def run_epoch(self, batches):
        """One pass over ``batches``; returns the weighted mean objective.

        An interrupt (``self.interrupted``, set by the SIGINT handler) ends
        the pass after the current batch.
        """
        rng = self.state.rng if self.shuffle else None
        total, weight = self.train_batches(batches(self.batch_size, rng))
        if self.interrupted:
            return math.nan
        self.check_params()
        return total / weight if weight > 0 else 0.0

    def train_batches(self, batches, total=0.0, weight=0.0):
        """Take a step on each of ``batches``; add to ``sum w * J`` and ``sum w``.

        Returns the two sums; they start from ``total`` and ``weight``.
        """
        batch = None
        for batch in batches:
            X, y, c, w = batch
            total += w * self.train_step(X, y, c)
            weight += w
            if self.interrupted:
                break
        if batch is not None:
            self._last_batch = batch[:3]
        return total, weight

    def check_params(self):
        """Raise DivergenceError unless every parameter is finite."""
        if not np.isfinite(self.net.params).all():
            raise DivergenceError(
                f"Training diverged in epoch {self.state.n_iter + 1}: the "
                f"parameters are no longer finite with learning_rate={self.lr:.3g}."
                " Try a smaller learning_rate or standardize the features."
            )

    def validate(self, split):
        """Loss and R² of the network on the held-out ``split`` (a Batches).

        It goes through in training-sized batches, reusing their buffers.
        """
        pred = self.net.predict(split.X, split.rows, self.batch_size or split.n)
        if not np.isfinite(pred).all():
            raise DivergenceError(
                f"Training diverged in epoch {self.state.n_iter}: the predictions "
                f"on the held-out data are no longer finite with learning_rate="
                f"{self.lr:.3g}. Try a learning rate 10 times smaller, or "
                "standardize the features (sklearn.preprocessing.StandardScaler)."
            )
        y = split.Y[split.rows]
        sw = None if split.sample_weight is None else split.sample_weight[split.rows]
        loss = weighted_loss(self.objective.loss, pred, y, sw)
        if not math.isfinite(loss):
            raise DivergenceError(
                f"Training diverged in epoch {self.state.n_iter}: the loss on the "
                f"held-out data overflows with learning_rate={self.lr:.3g}. Try a "
                "learning rate 10 times smaller, or scale the features and y."
            )
        if len(y) < 2:  # R² is undefined
            return loss, math.nan
        return loss, float(r2_score(y, pred, sample_weight=sw))

    def fit_loop(
        self, train, epochs, *, val=None, plateau=None, stop=True, restore_best=False
    ):
        """Run up to ``epochs`` epochs; return ``(records, stopped_early)``.

        The monitored loss is the validation loss when ``restore_best`` (early
        stopping) and the training loss otherwise. When it plateaus the
        schedule may lower the rate; if it cannot and ``stop``, training ends.
        With ``restore_best`` the parameters of the epoch with the lowest
        validation loss are put back at the end.
        """
        records, best, best_params, stopped = [], math.inf, None, False
        while len(records) < epochs and not stopped:
            last_epoch = self._snapshot()
            try:
                record = self._epoch(train, val)
            except KeyboardInterrupt:
                if not self.catch_interrupts:
                    raise
                self.interrupted = True
            if self.interrupted:  # keep the last completed epoch
                self._restore(last_epoch)
                break
            records.append(record)
            try:
                self.announce(record)
            except KeyboardInterrupt:  # after a whole epoch: keep it
                if not self.catch_interrupts:
                    raise
                self.interrupted = True
                break
            monitored = record["val_loss"] if restore_best else record["train_loss"]
            if restore_best and monitored < best:
                best, best_params = monitored, self.net.params.copy()
            stopped = (
                plateau is not None
                and plateau.update(monitored)
                and not self.state.schedule.reduce()
                and stop
            )
        if records and not self.interrupted:
            self.judge_last_step()
        if best_params is not None:
            self.net.params[...] = best_params
        return records, stopped or self.interrupted

    def judge_last_step(self):
        """Judge the last update, which no later batch did, on its own batch."""
        if self._last_batch is None:  # no update yet
            return
        X, y, c = self._last_batch
        value = self.objective.loss.value_and_grad(
            self.net.forward(X), y, c, self.net.output_grad
        )
        if not value <= self.state.limit:  # the step of the last finished epoch
            self._check_divergence(value, self.lr, epoch=self.state.n_iter)

    def _snapshot(self):
        """What an interrupted epoch rolls back to."""
        state = self.state
        return self.net.params.copy(), state.to_dict(), state.n_iter, state.t

    def _restore(self, snapshot):
        params, saved, n_iter, t = snapshot
        state = self.state
        self.net.params[...] = params
        state.optimizer.load_state_dict(saved["optimizer"])
        state.schedule.load_state_dict(saved["schedule"])
        state.rng, state.n_iter, state.t = saved["rng"], n_iter, t

    def _epoch(self, train, val):
        start = time.perf_counter()
        train_loss = self.run_epoch(train)
        if self.interrupted:  # a broken epoch gets no record
            return None
        return self.end_epoch(train_loss, time.perf_counter() - start, val)

    def announce(self, record):
        """Pass a finished epoch's record to every callback."""
        for callback in self.callbacks:
            callback(record)

    def end_epoch(self, train_loss, seconds, val=None):
        """Count a finished epoch and return its record.

        ``seconds`` is the epoch's training time; scoring ``val`` adds to it.
        """
        start = time.perf_counter()
        self.state.n_iter += 1
        record = {
            "epoch": self.state.n_iter,
            "t": self.state.t,
            "train_loss": train_loss,
        }
        if val is not None:
            record["val_loss"], record["val_r2"] = self.validate(val)
        record["learning_rate"] = self.lr
        record["seconds"] = seconds + time.perf_counter() - start
        return record
