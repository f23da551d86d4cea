"""The stacked training of one group's candidates: :class:`_GroupRun`.

Its epoch loop is here; the end of each epoch and of each candidate's fit
(records, validation, divergence, outcomes) is :class:`~.ending._Ending`'s.
"""

import copy
import math
import time

import numpy as np

from ..._data import Batches
from ..._losses import _add, weighted_loss
from ..._optimizers import Averaged
from ..fused import compiled_optimizer, stacked_fused_epochs
from ..session import _baseline, _early_stopping, _starting_state
from ..trainer import DIVERGENCE_FACTOR, divergence_error
from .ending import _Ending
from .network import StackedNetwork
from .optimizer import StackedOptimizer


class _CandidateView:
    """What :class:`~skgd.engine.callbacks.EarlyStopping` reads of one candidate:
    ``trainer.net.params`` and ``trainer.state.schedule``."""

    def __init__(self, run, k):
        self.net, self.state = self, run.states[k]
        self._run, self._k = run, k

    @property
    def params(self):
        return self._run.net.candidate_params(self._run.position[self._k])


class _GroupRun(_Ending):
    """The stacked training of one group's candidates on one data set."""

    def __init__(self, runs, estimators):
        # Candidate k was prepared by estimators[k] (runs[k]); its fit ends
        # in outcomes[k] (an Outcome), its estimator fitted.
        self.runs, self.estimators, self.outcomes = runs, list(estimators), {}
        # The warnings of preparing each fit (see stack_group).
        self.warned = [[] for _ in runs]
        self.params = [run.config.params for run in runs]
        self.tasks = [run.config.task for run in runs]
        self.baseline = np.array(
            [_baseline(t, r.source) for t, r in zip(self.tasks, runs)]
        )
        # Each candidate starts as its own fit does (the engine's own start):
        # the same split, initial weights and generators, from one seed.
        _one_seed(self.params)
        starts = [
            _starting_state(run.net, run.source, run.config, "fresh", None)
            for run in runs
        ]
        self.states = [state for state, _, _ in starts]
        self.initial_streams = [copy.deepcopy(s.streams) for s in self.states]
        widest = max(self.states, key=lambda state: len(state.streams))
        self.rng, self.streams = widest.rng, widest.streams
        sources = [source for _, source, _ in starts]
        self.val = None if starts[0][2] is None else [val for _, _, val in starts]
        self.net = StackedNetwork([run.net for run in runs])
        self.net.set_all(runs[0].net.params)
        self.schedules = [state.schedule for state in self.states]
        self.stopping = [
            _early_stopping(run.config.params, run.net, sources[0]) for run in runs
        ]
        self.views = [_CandidateView(self, k) for k in range(len(runs))]
        if not compiled_optimizer(self.states[0].optimizer):
            # An optimizer added to the registry: only its own fit knows it.
            raise ValueError("A stack trains only SGD and Adam (averaged or not).")
        averaged = isinstance(self.states[0].optimizer, Averaged)
        self.optimizer = StackedOptimizer(self.params, self.net, averaged)
        self.batches = _shared_batches(runs[0], sources)
        self.alpha = np.array([float(p["alpha"]) for p in self.params])
        self.deltas = [getattr(t.loss, "delta", None) for t in self.tasks]
        self.K = len(runs)
        self.position = np.arange(self.K)  # candidate -> index in the stack
        self.active = list(range(self.K))  # stack index -> candidate
        self.limit = np.full(self.K, -math.inf)
        self.records = [[] for _ in range(self.K)]
        self.errors = {}
        self.n_iter = self.t = 0
        self.lr = np.full(self.K, math.nan)
        self.loss = copy.copy(self.tasks[0].loss)
        self._stacked_loss()
        # Linear models train each pass in one compiled call.
        self.fused = stacked_fused_epochs(self)

    def _stacked_loss(self):
        """The loss of the stack: Huber thresholds by candidate."""
        deltas = [self.deltas[k] for k in self.active]
        if deltas[0] is not None:
            self.loss.delta = np.array(deltas, self.net.dtype)[:, None]

    def learning_rates(self):
        """The rate of each candidate in the stack for the next update."""
        return np.array([self.schedules[k](self.t, self.n_iter) for k in self.active])

    def run(self, epochs=None, keep=False):
        """Train to ``epochs`` epochs in all (the candidates' own by default).

        The candidates still in the stack then finish: each gets the result
        a fit of that many epochs ends with. With ``keep`` they stay in the
        stack, so that :meth:`run` can take them further (the rungs of a
        halving search), as one longer fit would.
        """
        self.train(epochs)
        active = list(self.active)
        with _quiet():
            self._finish(active, stopped=[False] * len(active), keep=keep)

    def train(self, epochs=None):
        """Train to ``epochs`` epochs in all, ending no candidate's fit."""
        epochs = self.params[0]["epochs"] if epochs is None else epochs
        per_update = self.schedules[0].per_update  # the rate changes each update
        with _quiet():
            while self.active and self.n_iter < epochs:
                self._epoch(per_update)

    def diverged(self):
        """The candidates (group indices) whose training diverged so far,
        their last update judged as their fit's end would judge it."""
        with _quiet():
            return {**self.errors, **self._judge_last(self.active)}

    def losses(self, X, y):
        """The loss of each candidate in the stack on ``(X, y)`` (unweighted).

        ``X`` is in the stack's dtype and layout (as its training data);
        ``y`` holds the targets as its fits take them.
        """
        pred = self.net.predict(X, None, self.params[0]["batch_size"] or len(y))
        losses = np.empty(len(self.active))
        for i, k in enumerate(self.active):
            task = self.tasks[k]
            Y = task.encode(y, pred.dtype)
            if task.target_scale is not None:  # training's units (see TargetScale)
                Y = task.target_scale.transform(Y)
            loss = weighted_loss(task.loss, pred[:, i, :], Y, None)
            losses[i] = loss * task.loss_scale  # in y's units
        return losses

    def rebind(self, k, estimator):
        """Let candidate ``k``'s next outcome fit ``estimator``: the same
        candidate, to be trained longer (a halving search's next rung)."""
        vars(estimator).update(self.runs[k].checked[3])  # what its run's checks set
        self.estimators[k] = estimator

    def retain(self, candidates):
        """Keep only ``candidates`` (indices of the group) in the stack."""
        kept = set(candidates)
        dropped = [k for k in self.active if k not in kept]
        self._drop(dropped)

    def _epoch(self, per_update):
        start = time.perf_counter()
        shuffle = self.params[0]["shuffle"]
        batch_size = self.params[0]["batch_size"]
        net, step, streams = self.net, self.optimizer.step, self.streams
        lr = self.learning_rates()
        limits = self.limit[self.active]
        total, weight, last = np.zeros(len(self.active)), 0.0, None
        average = self.optimizer.average
        if average is not None:  # the pass trains the iterates (see Averaged)
            average.begin(net.params)
        part = self.batches(batch_size, self.rng if shuffle else None)
        if self.fused is not None and self.fused.accepts(part):
            total, weight, lr, last = self.fused.train_pass(part)
        else:
            params, grads, batch = net.params, net.grads, None
            for X, y, c, w in part:
                if per_update:
                    lr = self.learning_rates()
                value = self._objective(X, y, c, streams)
                step(params, grads, lr, value)  # adds the penalty to the value
                within = value <= limits  # false for NaN
                if not _all(within):
                    self._check(value, lr, np.flatnonzero(~within))
                    limits = self.limit[self.active]
                self.t += 1
                value *= w
                total += value
                weight += w
                batch = X, y, c
            if batch is not None:
                last = _returning(batch)
        if average is not None:
            average.end(net.params)
        self.lr[self.active] = lr
        # A finite sum has finite terms: each candidate's only checked if not.
        if not math.isfinite(_add(net.params)):
            finite = net.sums(~np.isfinite(net.params)) == 0
            for i, k in enumerate(self.active):
                if not finite[i] and k not in self.errors:
                    what = "the parameters are no longer finite"
                    self.errors[k] = divergence_error(self.n_iter + 1, what, lr[i])
        self.n_iter += 1
        seconds = (time.perf_counter() - start) / len(self.active)
        finishing, stopped = self._end_epoch(total / weight, seconds)
        self._last = last
        self._finish(finishing, stopped)

    def _objective(self, X, y, c, streams):
        net = self.net
        pred = net.forward(X, streams)
        grad = net._ws["g"][-1]
        compiled = self.__dict__.get("_compiled_loss")
        if compiled is None:
            compiled = self._compiled_loss = _compiled_loss(self.loss)
        if compiled:  # the loss's kernel: one pass instead of a few numpy calls
            kernel, code = compiled
            value = np.empty(pred.shape[1])
            delta = getattr(self.loss, "delta", None)  # by candidate (see Huber)
            deltas = _ONE if delta is None else delta.reshape(-1)
            kernel(code, deltas, pred, y, self._kernel_weights(c), grad, value)
        else:
            c = self._weights(c)
            value = np.asarray(
                self.loss.value_and_grad(pred, y[:, None, :], c, grad), float
            )
        net.backward()
        return value

    def _kernel_weights(self, c):
        """A batch's ``c`` for :func:`~skgd.engine.stacked.stacked_loss`."""
        if not getattr(c, "ndim", 0):
            return c.reshape(1, 1)
        if len(self.active) == self.K:  # one column a candidate, all in the stack
            return c
        return c[:, self.active]

    def _weights(self, c):
        """A batch's ``c`` for the loss of the stack (see :class:`Batches`)."""
        if not getattr(c, "ndim", 0):
            return c
        if len(self.active) == self.K:  # one column a candidate, all in the stack
            return c[:, :, None]
        return c[:, self.active, None]

    def _check(self, value, lr, beyond):
        """Set the limits on the first batch; a candidate beyond its limit diverged.

        ``beyond`` are the stack indices whose value is not below their limit.
        A diverged candidate stays in the stack, unjudged, to the end of the epoch.
        """
        for i in beyond:
            k = self.active[i]
            if self.limit[k] == -math.inf and math.isfinite(value[i]):
                self.limit[k] = DIVERGENCE_FACTOR * max(value[i], self.baseline[k])
            elif k not in self.errors:
                what = f"the training loss reached {value[i]:.3g}"
                self.errors[k] = divergence_error(self.n_iter + 1, what, lr[i])
                self.limit[k] = math.inf

    def _drop(self, leaving):
        """Take the candidates ``leaving`` out of the stack."""
        kept = [i for i, k in enumerate(self.active) if k not in leaving]
        if kept:
            select = self.net.keep(kept)
            self.optimizer.keep(kept, select)
        self.active = [self.active[i] for i in kept]
        self.position[self.active] = np.arange(len(self.active))
        if self.active:
            self._stacked_loss()


_all = np.logical_and.reduce  # cheaper than ndarray.all
_ONE = np.ones(1)  # the Huber threshold of the losses without one


def _compiled_loss(loss):
    """``(kernel, code)``: :func:`~skgd.engine.stacked.stacked_loss` and the
    code of ``loss``, or False for a loss the kernels do not know."""
    from ..fused import LOSS_CODES
    from ..stacked_passes import stacked_loss

    code = LOSS_CODES.get(type(loss))
    return False if code is None else (stacked_loss, code)


def _quiet():
    """numpy's floating-point warnings off: divergence is judged, not warned of."""
    return np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore")


def _returning(value):
    """A callable that returns ``value`` (the last batch, already gathered)."""
    return lambda: value


def _one_seed(params):
    """Give candidates without a ``random_state`` one drawn seed, shared.

    Their own fits would each draw anew; in a stack they share one draw
    (common random numbers).
    """
    if params[0]["random_state"] is None:
        seed = int(np.random.default_rng().integers(2**32))
        for candidate in params:
            candidate["random_state"] = seed


def _shared_batches(run, sources):
    """The mini-batches of the stack: the shared rows, a weight column each.

    Candidates whose relative weights are all equal (None) get a column of
    ones, which gives the ``c`` of no weights exactly.
    """
    weights = [source.batches.sample_weight for source in sources]
    matrix = None
    if any(w is not None for w in weights):
        ones = np.ones(run.X.shape[0])
        matrix = np.column_stack([ones if w is None else w for w in weights])
    return Batches(run.X, run.Y, matrix, sources[0].rows)
