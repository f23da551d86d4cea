"""What the epoch loop notifies: verbose lines, trajectories, early stopping.

The loop (:func:`skgd.engine.session.run_epochs`) calls, on each callback of its
list and in list order:

``on_train_begin(trainer)``
    Once, before the first epoch.
``on_epoch_begin(trainer)``
    Before each epoch's batches.
``on_epoch_end(trainer, record) -> bool``
    After each epoch, with its record, or with ``None`` when a stream's
    epoch goes on in the next ``partial_fit`` call. Returning True asks the
    loop to stop after this epoch (every callback is still notified).
``on_train_end(trainer)``
    Once, after the last epoch, also when the loop was interrupted.

``trainer`` is the fit's candidate as its trainer shows it (the stack of
one's ``views[0]``): its ``net`` (``params``, ``get_weights``), its
``state`` (``schedule``), ``train_rows`` and ``kept_params()``.

Nothing here raises to stop training: a callback says stop or go, and the
loop obeys.
"""

import math

from .._history import print_record


class Callback:
    """A callback that does nothing; subclasses override what they need."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer):
        pass

    def on_epoch_end(self, trainer, record):
        return False

    def on_train_end(self, trainer):
        pass


# Progress below this fraction of the first loss does not count (see Plateau).
FLOOR = 1e-12


class Plateau:
    """Too little progress of a monitored loss over ``patience`` epochs.

    ``update(loss)`` returns True when the lowest loss so far has fallen by
    less than ``tol`` times its size over the last ``patience`` epochs:
    ``best_now >= best_then - tol * |best_then|``, with ``best_then`` the
    lowest loss ``patience`` epochs ago. The progress that counts is the
    whole window's, so a descent still making steady small steps goes on;
    the tolerance is relative, so it means the same whatever the scale of
    the loss. After a plateau the window starts again from that epoch.

    With ``settled``, for losses without sampling noise (full-batch
    descent), a plateau also needs the losses of the window (and of the
    epoch before it) to have settled, all within ``tol`` times the lowest of
    them: a descent whose losses swing above its best (Adam's momentum, a
    large step) is not over until the swings have died down.

    Progress and swings below ``FLOOR`` times the first loss do not count:
    a loss a trillion times below its start has fitted the data as well as
    it can show, and a descent that goes on there (Adam at a constant step
    near an exact fit, whose normalized steps never shrink) only stirs
    rounding.

    Parameters
    ----------
    tol : float
        Smallest relative decrease over the window that counts as progress.
    patience : int or inf
        Epochs in the window (``inf``: never a plateau).
    settled : bool, default=False
        Whether a plateau also needs the window's losses to have settled.
    """

    def __init__(self, tol, patience, settled=False):
        self.tol, self.patience, self.settled = tol, patience, settled
        self.best = math.inf
        self.floor = None  # FLOOR times the first loss
        self._bests = []  # the lowest loss after each epoch of the window
        self._losses = []  # the losses of the window and of the epoch before

    def update(self, loss):
        """Record ``loss``; return whether training has reached a plateau."""
        if self.floor is None:
            self.floor = FLOOR * abs(loss)
        self.best = min(self.best, loss)
        self._bests.append(self.best)
        self._losses.append(loss)
        if not len(self._bests) > self.patience:
            return False
        then = self._bests[-self.patience - 1]
        del self._bests[: -self.patience - 1]
        del self._losses[: -self.patience - 1]
        no_progress = self.best >= then - max(self.tol * abs(then), self.floor)
        if no_progress and (not self.settled or self._have_settled()):
            self._bests, self._losses = [self.best], [loss]
            return True
        return False

    def _have_settled(self):
        low, high = min(self._losses), max(self._losses)
        return high - low <= max(self.tol * abs(low), self.floor)


class EarlyStopping(Callback):
    """Stop on a plateau of the monitored loss, and keep the best weights.

    On a plateau the schedule is first asked to lower its rate
    (``schedule.reduce()``, which only the adaptive schedule does); only when
    it cannot does training stop. With ``restore_best`` the parameters of
    the epoch with the lowest monitored loss are put back at the end.

    Parameters
    ----------
    tol : float
        Smallest relative decrease of the monitored loss over ``patience``
        epochs that counts as progress (see :class:`Plateau`).
    patience : int or inf
        Epochs over which progress is judged.
    monitor : {"train_loss", "val_loss"}, default="train_loss"
        The record's key to watch.
    restore_best : bool, default=False
        Restore the best epoch's parameters at the end.
    stop : bool, default=True
        Whether a plateau the schedule cannot answer ends training.
    settled : bool, default=False
        Whether a plateau also needs settled losses (see :class:`Plateau`).
    """

    def __init__(
        self,
        tol,
        patience,
        monitor="train_loss",
        restore_best=False,
        stop=True,
        settled=False,
    ):
        self.plateau = Plateau(tol, patience, settled)
        self.monitor, self.restore_best, self.stop = monitor, restore_best, stop
        self.best, self.best_params, self.stopped = math.inf, None, False

    def on_epoch_end(self, trainer, record):
        if record is None:
            return False
        loss = record[self.monitor]
        if self.restore_best and loss < self.best:
            self.best, self.best_params = loss, trainer.net.params.copy()
        self.stopped = bool(
            self.plateau.update(loss)
            and not trainer.state.schedule.reduce()
            and self.stop
        )
        return self.stopped

    def kept_params(self, trainer):
        """The parameters training would end with if it stopped now."""
        return trainer.net.params if self.best_params is None else self.best_params

    def on_train_end(self, trainer):
        if self.best_params is not None:
            trainer.net.params[...] = self.best_params


class EpochPrinter(Callback):
    """``verbose``: print one line per finished epoch."""

    def on_epoch_end(self, trainer, record):
        if record is not None:
            print_record(record)
        return False


class TrajectoryRecorder(Callback):
    """``record_trajectory``: the parameters before training and after each epoch."""

    def __init__(self):
        self.rows = []

    def on_train_begin(self, trainer):
        self.rows.append(trainer.net.params.copy())

    def on_epoch_end(self, trainer, record):
        if record is not None:
            self.rows.append(trainer.net.params.copy())
        return False


class FitTask(Callback):
    """scikit-learn's callbacks (``sklearn.callback``): a fit task and its epochs.

    The estimator's call is a task (``"fit"`` or ``"partial_fit"``) that
    begins when this object is made and ends, after the commit, with
    ``end``. Each epoch is one of its sub-tasks, ``"epoch"``, whose hooks get
    the training rows (the held-out split excluded) with their sample weights
    and, only when a callback asks for it, a ``fitted_estimator`` that
    predicts as if training had stopped after the epoch (with early
    stopping: with the best weights so far, as ``fit`` would keep). A
    sub-task that a stream's epoch leaves open at the end of a
    ``partial_fit`` call, or that an interrupt cuts short, ends as an empty
    task, as scikit-learn's own estimators do.

    Parameters
    ----------
    estimator : estimator
        The estimator being trained, a ``CallbackSupportMixin``.
    name : str
        The task's name.
    epochs : int or None
        The most epochs it can have (None: not known in advance).
    data : tuple
        ``(X, y, sample_weight)``, the data of the call (``sample_weight``
        may be None).
    fitted_attributes : callable
        ``fitted_attributes(weights)``: the fitted attributes of an estimator
        with the weights ``weights``, as ``Network.get_weights()`` gives them.
    honour_stop : bool
        Whether an epoch hook returning True ends training after the epoch.
    """

    def __init__(self, estimator, name, epochs, data, fitted_attributes, honour_stop):
        self.estimator, self.arrays = estimator, data
        self.fitted_attributes, self.honour_stop = fitted_attributes, honour_stop
        self.context = estimator._init_callback_context(
            task_name=name, max_subtasks=epochs
        )
        self.context.call_on_fit_task_begin(estimator=estimator, **self._data())
        self.task = None

    def _data(self, rows=None):
        """The hooks' ``X``, ``y`` and ``metadata``, for the rows ``rows``."""
        pick = lambda a: a if a is None or rows is None else a[rows]  # noqa: E731
        X, y, sw = self.arrays
        metadata = lambda: None if sw is None else {"sample_weight": pick(sw)}  # noqa: E731
        return {"X": lambda: pick(X), "y": lambda: pick(y), "metadata": metadata}

    def _weights(self, trainer):
        """The weights training would end with if it stopped now."""
        net = trainer.net
        params = trainer.kept_params()
        if params is net.params:
            return net.get_weights()
        current = net.params.copy()
        net.params[...] = params
        weights = net.get_weights()
        net.params[...] = current
        return weights

    def _epoch_hook(self, trainer, hook):
        return hook(
            estimator=self.estimator,
            reconstruction_attributes=lambda: self.fitted_attributes(
                self._weights(trainer)
            ),
            **self._data(trainer.train_rows),
        )

    def on_epoch_begin(self, trainer):
        self.task = self.context.subcontext(task_name="epoch")
        self._epoch_hook(trainer, self.task.call_on_fit_task_begin)

    def on_epoch_end(self, trainer, record):
        task, self.task = self.task, None
        if record is None:
            task.call_on_fit_task_end(estimator=self.estimator)
            return False
        stop = self._epoch_hook(trainer, task.call_on_fit_task_end)
        return bool(stop) and self.honour_stop

    def on_train_end(self, trainer):
        if self.task is not None:  # an epoch cut short
            self.task.call_on_fit_task_end(estimator=self.estimator)
            self.task = None

    def end(self):
        """End the fit task, once the fitted attributes are committed."""
        self.context.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes={}, **self._data()
        )
