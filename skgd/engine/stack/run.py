"""The one training loop: :class:`Trainer`, for a stack of ``K >= 1`` candidates.

A single ``fit`` or ``partial_fit`` is a stack of one
(:func:`skgd.engine.session.fit_session` drives it epoch by epoch, with its
callbacks); a search's group of candidates is a stack of many
(:func:`skgd.engine.stack.train_group`). The steps, the rates, the
divergence checks and the epoch's end are the same code for both; the end
of each epoch and of each candidate's fit (records, validation, stopping
rules, outcomes) is :class:`~.ending._Ending`'s.
"""

import copy
import math
import time
import weakref

import numpy as np

from ..._data import Batches
from ..._losses import _add
from ..fused import stacked_fused_epochs
from ..linear_pass import LOSS_CODES
from ..trainer import DIVERGENCE_FACTOR, copy_generator, divergence_error
from .ending import _Ending
from .group import _Group
from .network import StackedNetwork
from .optimizer import stack_optimizer


class _CandidateView:
    """One candidate of a :class:`Trainer`, as callbacks see it: its ``net``
    (``params``, ``get_weights``), its ``state`` (``schedule``), the rows it
    trains on and the parameters it would end with now (``kept_params``)."""

    def __init__(self, trainer, k):
        self._trainer, self._k = trainer, k  # a proxy: no cycle keeps the data
        self.state, self.train_rows = trainer.states[k], trainer.train_rows

    @property
    def net(self):
        trainer = self._trainer
        # A stack of one trains in its own network's buffers (see StackedNetwork).
        return trainer.nets[self._k] if trainer.K == 1 else self

    @property
    def params(self):
        trainer = self._trainer
        return trainer.net.candidate_params(trainer.position[self._k])

    def kept_params(self):
        """The parameters the candidate's fit would end with if it stopped now."""
        stopping = self._trainer.stopping[self._k]
        if stopping is None:
            return self.net.params
        return stopping.kept_params(self)


class Trainer(_Group, _Ending):
    """Trains ``K`` candidates of one architecture side by side, as one.

    The candidates share their data, its shuffles and batches; they may
    differ in numbers (the parameters of :data:`skgd.engine.stack.STACKED`).
    Each goes through the arithmetic of its own fit (see
    :mod:`skgd.engine.stack`). A stack of one is a single fit: its
    optimizer may be any of the registry's, and it trains in its network's
    own buffers.

    Parameters
    ----------
    nets : list of Network
        The candidates' networks, with the weights they start from.
    configs : list of TrainingConfig
    starts : list of tuple
        Each candidate's ``(state, training source, held-out Batches or
        None)``, as :func:`~skgd.engine.session._starting_state` made them.
    stopping : list of EarlyStopping or None
        Each candidate's stopping rule (None: it runs every epoch it is given).
    baselines : list of float
        The scale of each candidate's data (see
        :func:`~skgd.engine.session._baseline`), which sets its divergence limit.
    """

    def __init__(self, nets, configs, starts, stopping, baselines):
        self.nets, self.K = nets, len(nets)
        self.params = [config.params for config in configs]
        self.tasks = [config.task for config in configs]
        self.states = [state for state, _, _ in starts]
        sources = [source for _, source, _ in starts]
        self.baseline = np.array(baselines, dtype=float)
        self.val = None if starts[0][2] is None else [val for _, _, val in starts]
        self.stopping = list(stopping)
        self.initial_streams = [
            [copy_generator(stream) for stream in s.streams] for s in self.states
        ]
        # The shuffles and dropout draws: the generators of the candidate
        # with the most dropout positions (all candidates' are alike).
        self.state = max(self.states, key=lambda state: len(state.streams))
        self.rng, self.streams = self.state.rng, self.state.streams
        self.net = StackedNetwork(nets)
        self.net.set_all(nets[0].params)
        self.schedules = [state.schedule for state in self.states]
        first = self.params[0]
        self.batch_size, self.shuffle = first["batch_size"], first["shuffle"]
        self.source = sources[0] if self.K == 1 else _shared_source(sources)
        self.train_rows = self.source.rows
        self.n_iter, self.t = self.state.n_iter, self.state.t
        self.origin = self.state.origin  # where the schedules count from
        self.optimizer = stack_optimizer(self.states, self.params, self.net, nets)
        self.alpha = np.array([float(p["alpha"]) for p in self.params])
        self.deltas = [getattr(t.loss, "delta", None) for t in self.tasks]
        self.position = np.arange(self.K)  # candidate -> index in the stack
        self.active = list(range(self.K))  # stack index -> candidate
        self.limit = np.array([state.limit for state in self.states])
        continuing = self.limit > -math.inf  # the scale of the new data counts
        self.limit[continuing] = np.maximum(
            self.limit, DIVERGENCE_FACTOR * self.baseline
        )[continuing]
        self.records = [[] for _ in range(self.K)]
        self.errors = {}
        self.lr = np.full(self.K, math.nan)
        self.interrupted = False  # set by the SIGINT handler of a fit
        self.stopped = False  # the stopping rule of a stack of one ended it
        self._last = None
        self.loss = copy.copy(self.tasks[0].loss)
        self._stacked_loss()
        # What refers back to the trainer holds a proxy, so that a fit's
        # trainer (and the data it holds) goes when the fit ends.
        proxy = weakref.proxy(self)
        self.views = [_CandidateView(proxy, k) for k in range(self.K)]
        # Linear models train each pass in one compiled call.
        self.fused = stacked_fused_epochs(proxy)

    def _stacked_loss(self):
        """The loss of the stack: Huber thresholds by candidate."""
        deltas = [self.deltas[k] for k in self.active]
        if deltas[0] is not None:
            self.loss.delta = np.array(deltas, self.net.dtype)[:, None]

    def clock(self):
        """``(t, n_iter)`` as the schedules count them (from their origin)."""
        return self.t - self.origin[1], self.n_iter - self.origin[0]

    def learning_rates(self):
        """The rate of each candidate in the stack for the next update."""
        t, n_iter = self.clock()
        return np.array([self.schedules[k](t, n_iter) for k in self.active])

    # -- a stack of one (a fit, with its callbacks) ------------------------

    def train_part(self, part):
        """Train candidate 0 (of a stack of one) on ``part`` of an epoch
        source; the epoch's record, or None when the part ends no epoch or
        an interrupt cut it short. Raises the fit's DivergenceError."""
        ended = self._train_part(part)
        if self.errors:
            raise self.errors[0]
        if ended is None:
            return None
        self.stopped = bool(ended[1])
        return self.records[0][-1]

    def check_last_step(self):
        """Raise the DivergenceError of a last update beyond the limit."""
        error = self._judge_last(self.active).get(0)
        if error is not None:
            raise error

    def snapshot(self):
        """What an interrupted epoch rolls back to (see :meth:`restore`).

        Each generator's state is saved as its bit generator's state (a
        small dict), several times cheaper than a deep copy.
        """
        return (
            self.net.params.copy(),
            self.optimizer.snapshot(),
            [schedule.state_dict() for schedule in self.schedules],
            self.rng.bit_generator.state,
            [stream.bit_generator.state for stream in self.streams],
            self.n_iter,
            self.t,
        )

    def restore(self, saved):
        params, optimizer, schedules, rng, streams, self.n_iter, self.t = saved
        self.net.params[...] = params
        self.optimizer.restore(optimizer)
        for schedule, state in zip(self.schedules, schedules, strict=True):
            schedule.load_state_dict(state)
        self.rng.bit_generator.state = rng
        for stream, state in zip(self.streams, streams, strict=True):
            stream.bit_generator.state = state

    # -- the loop ----------------------------------------------------------

    def _train_part(self, part):
        """Train on one part of an epoch source (an epoch of in-memory data,
        or a stream chunk's share of one); ``(finishing, stopped)`` of the
        epoch it ends (see :meth:`_end_epoch`), or None."""
        start = time.perf_counter()
        passes, total, weight, seconds = part.begin(self)
        totals, lr = np.full(len(self.active), float(total)), None
        average = self.optimizer.average
        if average is not None:  # the pass trains the iterates (see Averaged)
            average.begin(self.net.params)
        for batches in passes:
            if self.fused is not None and self.fused.accepts(batches):
                rows, lr, last = self.fused.train_pass(batches, totals)
                weight += rows
            else:
                totals, weight, lr, last = self._train_batches(batches, totals, weight)
            self._last = last or self._last
            if self.interrupted or (self.errors and self._all_failed()):
                break
        if self.interrupted:  # the epoch is rolled back (see run_epochs)
            return None
        if average is not None:
            average.end(self.net.params)
        if lr is not None:
            self.lr[self.active] = lr
        self._check_finite()
        seconds += time.perf_counter() - start
        part.finish(totals, weight, seconds)
        if not part.complete:
            return None
        self.n_iter += 1
        losses = totals / weight if weight > 0 else np.zeros(len(self.active))
        return self._end_epoch(losses, seconds / len(self.active))

    def _train_batches(self, batches, totals, weight):
        """A step on each batch; the running sums, the last rates and a
        callable that gives the last batch (None without batches)."""
        from ..stacked_passes import batch_totals  # numba: with the first batch

        net, step, streams = self.net, self.optimizer.step, self.streams
        forward, backward, loss = net.forward, net.backward, self._batch_loss()
        per_update = self.schedules[0].per_update  # the rate changes each update
        lr = self.learning_rates()
        limits = self.limit[self.active]
        batch, failed = None, False
        for X, y, c, w in batches:
            if per_update:
                lr = self.learning_rates()
            value = loss(forward(X, streams), y, c, net._ws["g"][-1])
            backward()
            step(net.params, net.grads, lr, value)  # adds the penalty to the value
            if not batch_totals(value, limits, w, totals):  # added to totals
                self._check(value, lr, np.flatnonzero(~(value <= limits)))
                limits = self.limit[self.active]
                failed = self._all_failed()
            self.t += 1
            weight += w
            batch = X, y, c
            if self.interrupted or failed:
                break
        return totals, weight, lr, None if batch is None else _returning(batch)

    def _all_failed(self):
        """Whether every candidate in the stack has diverged (none to train on)."""
        return all(k in self.errors for k in self.active)

    def _check_finite(self):
        """A candidate whose parameters are no longer finite diverged."""
        # A finite sum has finite terms: each candidate's only checked if not.
        net = self.net
        if math.isfinite(_add(net.params)):
            return
        finite = net.sums(~np.isfinite(net.params)) == 0
        for i, k in enumerate(self.active):
            if not finite[i] and k not in self.errors:
                what = "the parameters are no longer finite"
                self.errors[k] = divergence_error(self.n_iter + 1, what, self.lr[k])

    def _batch_loss(self):
        """``loss(pred, y, c, grad)``: each candidate's loss on a batch, its
        gradient written into ``grad``; made once a pass, for the candidates
        then in the stack."""
        compiled = self.__dict__.get("_compiled_loss")
        if compiled is None:
            compiled = self._compiled_loss = _compiled_loss(self.loss)
        if not compiled:
            return lambda pred, y, c, grad: np.asarray(
                self.loss.value_and_grad(pred, y[:, None, :], self._weights(c), grad),
                float,
            )
        # The loss's kernel: one pass instead of a few numpy calls.
        kernel, code = compiled
        delta = getattr(self.loss, "delta", None)  # by candidate (see Huber)
        deltas = _ONE if delta is None else delta.reshape(-1)
        active = None if len(self.active) == self.K else self.active

        def loss(pred, y, c, grad):
            if not c.ndim:
                c = c.reshape(1, 1)
            elif active is not None:  # the columns of the candidates left
                c = c[:, active]
            value = np.empty(pred.shape[1])
            kernel(code, deltas, pred, y, c, grad, value)
            return value

        return loss

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


_ONE = np.ones(1)  # the Huber threshold of the losses without one


def _compiled_loss(loss):
    """``(kernel, code)``: :func:`~skgd.engine.stacked.stacked_loss` and the
    code of ``loss``, or False for a loss the kernels do not know."""
    from ..stacked_passes import stacked_loss

    code = LOSS_CODES.get(type(loss))
    return False if code is None else (stacked_loss, code)


def _returning(value):
    """A callable that returns ``value`` (the last batch, already gathered)."""
    return lambda: value


def _shared_source(sources):
    """The epoch source of a stack: the shared rows, a weight column each.

    Candidates whose relative weights are all equal (None) get a column of
    ones, which gives the ``c`` of no weights exactly.
    """
    first = sources[0]
    weights = [source.batches.sample_weight for source in sources]
    matrix = None
    if any(w is not None for w in weights):
        ones = np.ones(first.batches.X.shape[0])
        matrix = np.column_stack([ones if w is None else w for w in weights])
    source = copy.copy(first)
    source.batches = Batches(first.batches.X, first.batches.Y, matrix, first.rows)
    return source
