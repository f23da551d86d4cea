"""The fit session: one fit of one estimator, from its start to its result.

An estimator validates its parameters and data, builds its network and an
epoch source, and calls :func:`fit_session`, which owns everything between:
the random generators, the held-out split, the initial weights, the optimizer
and the schedule, the training state, the callbacks, Ctrl-C, and the loop.

Every fit trains as a stack of one candidate
(:class:`~skgd.engine.stack.run.Trainer`, the loop a search's stacked
candidates train in too). :func:`run_epochs` drives it epoch by epoch: it
asks the epoch source for its parts (an epoch of in-memory data, or a
stream chunk's share of an epoch), has the trainer train each one, and
tells the callbacks (:mod:`skgd.engine.callbacks`) about each finished
epoch; a callback that answers True ends training after that epoch, as the
stopping rule (:func:`_early_stopping`, the trainer's own) does.

Where training starts is one value, ``start``:

``"fresh"``
    ``fit`` from new weights.
``"warm"``
    ``fit`` from the network's current weights (``warm_start``), with a
    fresh optimizer and schedule; the counters go on.
``"continue"``
    ``partial_fit``: one epoch over the data given, from the stored state.
``"stream"``
    ``partial_fit`` with ``epoch_size``: the data given is a chunk of a
    stream whose epochs span calls.

The two ``partial_fit`` starts begin as ``"fresh"`` does when there is no
stored state yet, but hold no data out, stop on no plateau and let Ctrl-C
through.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._exceptions import DivergenceError
from .._optimizers import OPTIMIZERS, Averaged
from .._registry import build
from .._schedules import SCHEDULES
from .._signals import sigint_handled
from .._stream import check_unchanged
from .callbacks import EarlyStopping, EpochPrinter, TrajectoryRecorder
from .threads import blas_threads_for
from .trainer import TrainingState, copy_generator, quiet


@dataclass
class TrainingConfig:
    """What one training call is told: the task, the knobs and the callbacks.

    Parameters
    ----------
    task : task object
        See :mod:`skgd._tasks`.
    params : dict
        The estimator's parameters (``get_params(deep=False)``); the engine
        reads the training knobs among them, by their public names
        (``learning_rate``, ``batch_size``, ``epochs``, ``alpha``,
        ``optimizer`` and its settings, ``lr_schedule`` and its settings,
        ``shuffle``, ``random_state``, ``early_stopping``,
        ``validation_fraction``, ``n_iter_no_change``, ``tol``, ``verbose``,
        ``record_trajectory``, ``epoch_size``).
    auto_learning_rate : callable
        ``auto_learning_rate(X, Y, sample_weight, rows, loss)``: the step of
        ``learning_rate="auto"`` on the training rows, for the task's loss.
    callbacks : list, default=[]
        Further callbacks of the loop, notified after the built-in ones.
    """

    task: object
    params: dict
    auto_learning_rate: object
    callbacks: list = field(default_factory=list)


@dataclass
class SessionResult:
    """What :func:`fit_session` returns.

    Attributes
    ----------
    records : list of dict
        One per epoch finished in this call.
    state : TrainingState
    interrupted : bool
        Ctrl-C ended training (the weights are those of the last epoch).
    stopped : bool
        A callback (early stopping among them) ended training early.
    trajectory : list of ndarray or None
        With ``record_trajectory``, the parameters before and after each epoch.
    """

    records: list
    state: TrainingState
    interrupted: bool
    stopped: bool
    trajectory: list = None


def make_rng(random_state):
    """One numpy Generator from a scikit-learn ``random_state``."""
    if random_state is None or isinstance(random_state, Integral):
        return np.random.default_rng(random_state)
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


def dropout_streams(rng, n):
    """The ``n`` generators of the dropout positions, derived from ``rng``'s
    current state without drawing from it: stream i is ``rng``'s bit
    generator jumped i + 1 times (PCG64.jumped).

    So the split, the initial weights and the shuffles (drawn from ``rng``)
    do not depend on the dropout rates, and the dropout layer at position i
    draws the same masks whatever the rates of the other positions: the
    common random numbers that make fits differing only in dropout
    comparable.
    """
    return [np.random.Generator(rng.bit_generator.jumped(i + 1)) for i in range(n)]


def fit_session(net, source, config, start, stored=None):
    """Train ``net`` on ``source`` from ``start``; return a :class:`SessionResult`.

    The fit is a stack of one (:class:`~skgd.engine.stack.run.Trainer`):
    the same loop as a search's stacked candidates, driven here epoch by
    epoch with the fit's callbacks, Ctrl-C and streams.

    Parameters
    ----------
    net : Network
        With the weights to start from for every start but a fresh one; it
        holds the trained weights at the end.
    source : epoch source
        :class:`~skgd._data.MemoryEpochs` or :class:`~skgd._stream.StreamEpochs`.
    config : TrainingConfig
    start : {"fresh", "warm", "continue", "stream"}
    stored : dict or None, default=None
        The state a previous call left (``TrainingState.to_dict()``): the
        counters of a warm start, everything ``partial_fit`` continues from.
    """
    from .stack.run import Trainer  # the stack imports this module

    partial = start in ("continue", "stream")
    params = config.params
    baseline = _baseline(config.task, source)
    state, train, val = _starting_state(net, source, config, start, stored)
    stopping = None if partial else _early_stopping(params, net, train)
    starts = [(state, train, val)]
    trainer = Trainer([net], [config], starts, [stopping], [baseline])
    callbacks, recorder = _callbacks(trainer, config)
    catching = nullcontext() if partial else _interrupts_caught(trainer)
    rows = min(params["batch_size"] or train.batches.n, train.batches.n)
    threads = blas_threads_for(net, rows)
    with quiet(), catching, threads:
        parts = train.parts(trainer, 1 if partial else params["epochs"])
        records, stopped = run_epochs(trainer, parts, callbacks, catch=not partial)
    if start == "stream":
        state.stream = source.to_dict()
    final, result = trainer._result(0, stopped)
    net.params[...] = final
    result.records, result.interrupted = records, trainer.interrupted
    result.trajectory = None if recorder is None else recorder.rows
    return result


def run_epochs(trainer, parts, callbacks, catch):
    """The epoch loop; returns ``(records, stopped_by_a_callback)``.

    With ``catch``, Ctrl-C (``trainer.interrupted``, or a KeyboardInterrupt
    raised in the loop) ends training at the last finished epoch: an epoch
    cut short is rolled back and gets no record.
    """
    records, stopped, view = [], False, trainer.views[0]
    for callback in callbacks:
        callback.on_train_begin(view)
    for part in parts:
        saved = trainer.snapshot() if catch else None
        record = _interruptible(trainer, catch, _train_part, trainer, part, callbacks)
        if trainer.interrupted:
            trainer.restore(saved)
            break
        if record is not None:
            records.append(record)
        stop = _interruptible(trainer, catch, _epoch_ended, trainer, record, callbacks)
        if trainer.interrupted:  # after a whole epoch: keep it
            break
        if stop or trainer.stopped:
            stopped = True
            break
    if not trainer.interrupted:
        trainer.check_last_step()
    for callback in callbacks:
        callback.on_train_end(view)
    return records, stopped


def _train_part(trainer, part, callbacks):
    for callback in callbacks:
        callback.on_epoch_begin(trainer.views[0])
    return trainer.train_part(part)


def _epoch_ended(trainer, record, callbacks):
    """Tell every callback of the epoch, even after one has asked to stop.

    The stopping rule heard of the epoch first, in the trainer (see
    :meth:`~skgd.engine.stack.ending._Ending._end_epoch`).
    """
    stop = False
    for callback in callbacks:
        stop = callback.on_epoch_end(trainer.views[0], record) or stop
    return stop


def _interruptible(trainer, catch, function, *args):
    """``function(*args)``, with a KeyboardInterrupt caught when ``catch``."""
    try:
        return function(*args)
    except KeyboardInterrupt:
        if not catch:
            raise
        trainer.interrupted = True
        return None


def _interrupts_caught(trainer):
    """Turn Ctrl-C into ``trainer.interrupted = True`` while training."""
    return sigint_handled(lambda: setattr(trainer, "interrupted", True))


def _baseline(task, source):
    """The scale of the call's data (see :mod:`skgd._tasks`); it must be finite."""
    X, Y, sw = source.batches.X, source.batches.Y, source.batches.sample_weight
    value = task.baseline(Y, sw)
    # A standardized target's losses are reported in y's units: they too
    # must be finite (see skgd._tasks.TargetScale).
    scale = getattr(task, "target_scale", None)
    if not math.isfinite(value * getattr(task, "loss_scale", 1.0)):
        reach = float(np.abs(Y).max()) * (1.0 if scale is None else scale.scale)
        where = "|y| reaches" if scale is None else "y spreads over"
        raise DivergenceError(
            f"The loss of y overflows {X.dtype} ({where} {reach:.3g}); "
            "scale y, e.g. with sklearn.compose.TransformedTargetRegressor."
        )
    return value


def _starting_state(net, source, config, start, stored):
    """``(state, training source, held-out Batches or None)`` for ``start``."""
    params = config.params
    if stored is not None and start in ("continue", "stream"):
        optimizer = build(OPTIMIZERS, params["optimizer"], params)
        optimizer.init(net.params)
        if _averaging(params, "iterate" in stored["optimizer"]):
            optimizer = Averaged(optimizer)
        check_unchanged(
            stored.get("stream"), params["epoch_size"], params["batch_size"]
        )
        # A float learning_rate takes effect in every call; "auto" keeps the
        # step it resolved when training started.
        lr0 = params["learning_rate"]
        schedule = _schedule(params, stored["lr0"] if lr0 == "auto" else lr0)
        state = TrainingState.from_dict(stored, optimizer, schedule)
        _add_streams(state, net.n_streams)
        return state, source, None
    rng = make_rng(params["random_state"])
    # Derived before any draw, so that the dropout rates change no shuffle.
    streams = dropout_streams(rng, net.n_streams)
    train, val = source, None
    fraction = params["validation_fraction"]
    if start in ("fresh", "warm") and (params["early_stopping"] or fraction):
        # The split comes first, so a warm start holds out the same data.
        train, val = source.split(fraction or 0.1, rng)
    if start != "warm":
        net.initialize(rng)
    counters = (stored["n_iter"], stored["t"]) if start == "warm" else (0, 0)
    return _new_state(net, config, train, rng, streams, counters), train, val


def sibling_start(net, config, like_net, like_start):
    """The fresh start of a candidate that shares another's data, layout
    and ``random_state`` (a sibling, see
    :func:`skgd.engine.stack.stack_group`): ``like_start``, the other's, as
    :func:`_starting_state` made it, before any training. Its own would draw
    the same split and initial weights from the same seed; they are copied
    instead, and its generators are copies of the other's."""
    state, train, val = like_start
    net.params[...] = like_net.params
    streams = [copy_generator(stream) for stream in state.streams]
    rng = copy_generator(state.rng)
    return _new_state(net, config, train, rng, streams, (0, 0)), train, val


def _new_state(net, config, train, rng, streams, counters):
    """The :class:`TrainingState` of a fresh or warm start: its optimizer,
    schedule and generators, and the counters it goes on from."""
    params = config.params
    optimizer = build(OPTIMIZERS, params["optimizer"], params)
    optimizer.init(net.params)
    if _averaging(params, not full_batch(params, train)):
        optimizer = Averaged(optimizer)
    lr0 = params["learning_rate"]
    if lr0 == "auto":
        batches = train.batches
        lr0 = config.auto_learning_rate(
            batches.X, batches.Y, batches.sample_weight, train.rows, config.task.loss
        )
    schedule = _schedule(params, lr0)
    return TrainingState(optimizer, schedule, rng, *counters, streams=streams)


def full_batch(params, source):
    """Whether a batch holds a whole epoch of ``source``: a stream's
    ``epoch_size`` rows, else the training rows."""
    rows = getattr(source, "epoch_size", None) or source.batches.n
    return params["batch_size"] is None or params["batch_size"] >= rows


def _averaging(params, auto):
    """Whether the model is the average of the iterates (``average``).

    ``"auto"`` is ``auto``: mini-batches smaller than the training set (or,
    continuing, a stored state that averages). Estimators without the
    parameter never average.
    """
    average = params.get("average", False)
    return auto if average == "auto" else bool(average)


def _add_streams(state, n):
    """Give ``state`` the streams of dropout positions it lacks (up to ``n``).

    A dropout rate set between ``partial_fit`` calls can add a position that
    the stored state has no stream for; its stream is derived from the
    generator's current state as at a fresh start (``dropout_streams``),
    which draws nothing from it. The stored streams go on unchanged.
    """
    have = len(state.streams)
    if have < n:
        state.streams.extend(dropout_streams(state.rng, n)[have:])


def _schedule(params, lr0):
    return build(SCHEDULES, params["lr_schedule"], params, float(lr0))


def _early_stopping(params, net, source):
    """``fit``'s stopping rule: a plateau of the monitored loss (see EarlyStopping).

    Full batches of ``source`` through a ``net`` without dropout give losses
    without sampling noise, which must also settle (see :class:`Plateau`).
    """
    return EarlyStopping(
        params["tol"] or 0.0,
        params["n_iter_no_change"],
        monitor="val_loss" if params["early_stopping"] else "train_loss",
        restore_best=params["early_stopping"],
        stop=params["tol"] is not None,
        settled=full_batch(params, source) and net.n_streams == 0,
    )


def _callbacks(trainer, config):
    """The loop's callbacks, in order, and the trajectory recorder (or None).

    The stopping rule is the trainer's own (it hears of each epoch first).
    """
    params, callbacks, recorder = config.params, [], None
    if params["verbose"]:
        callbacks.append(EpochPrinter())
    if params["record_trajectory"]:
        recorder = TrajectoryRecorder()
        callbacks.append(recorder)
    return callbacks + list(config.callbacks), recorder
