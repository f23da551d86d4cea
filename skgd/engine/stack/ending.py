"""How the candidates of a stack end each epoch and their fits.

:class:`_Ending` is the part of :class:`~.run.Trainer` that judges each
epoch's end (each candidate's record, validation, divergence and stopping
rule) and ends the fits of the candidates that finish, each in an
:class:`Outcome`, as its own fit would have ended.
"""

import math
import warnings

import numpy as np

from ..._exceptions import DivergenceError
from ..._losses import weighted_loss
from ..session import SessionResult
from ..trainer import divergence_error


class Outcome:
    """How one candidate's stacked fit ended, as its own fit would have.

    ``estimator`` is the candidate's estimator, fitted, or None when its
    training raised ``error``; ``warnings`` are those its fit gave (caught,
    to be given where the fit is taken, see :meth:`take`).
    """

    __slots__ = ("error", "estimator", "warnings")

    def __init__(self, estimator, error=None, caught=()):
        self.estimator, self.error = estimator, error
        self.warnings = [(caught.message, caught.category) for caught in caught]

    def take(self):
        """Give the fit's warnings again; raise its error or return the estimator."""
        for message, category in self.warnings:
            warnings.warn(message, category, stacklevel=2)
        if self.error is not None:
            raise self.error
        return self.estimator


class _Ending:
    """The end of each epoch, and of each candidate's fit, of a
    :class:`~.run.Trainer`."""

    def _end_epoch(self, train_loss, seconds):
        """Each candidate's record and stopping rule; who finishes now."""
        outputs = None
        if self.val is not None:
            val = self.val[0]
            block = self.params[0]["batch_size"] or val.n
            outputs = self.net.predict(val.X, val.rows, block)
        finishing, stopped = [], []
        largest = float(np.finfo(self.net.dtype).max)
        for i, k in enumerate(self.active):
            if k in self.errors:
                finishing.append(k)
                stopped.append(False)
                continue
            loss = float(train_loss[i]) * self.tasks[k].loss_scale  # in y's units
            if not _within(loss, largest):  # as Trainer.end_epoch
                what = f"the training loss reached {loss:.3g}"
                self.errors[k] = divergence_error(self.n_iter, what, self.lr[k])
                finishing.append(k)
                stopped.append(False)
                continue
            record = {"epoch": self.n_iter, "t": self.t, "train_loss": loss}
            if outputs is not None:
                try:
                    self._validate(k, outputs[:, i, :], record)
                except DivergenceError as error:
                    self.errors[k] = error
                    finishing.append(k)
                    stopped.append(False)
                    continue
            record["learning_rate"] = float(self.lr[k])
            record["seconds"] = seconds
            self.records[k].append(record)
            stopping = self.stopping[k]
            if stopping is not None and stopping.on_epoch_end(self.views[k], record):
                finishing.append(k)
                stopped.append(True)
        return finishing, stopped

    def _validate(self, k, pred, record):
        """As :meth:`~skgd.engine.trainer.Trainer.validate`, for candidate ``k``."""
        split, task = self.val[k], self.tasks[k]
        lr, epoch = self.lr[k], self.n_iter
        if not np.isfinite(pred).all():
            what = "the predictions on the held-out data are no longer finite"
            raise divergence_error(epoch, what, lr)
        y = split.Y[split.rows]
        sw = None if split.sample_weight is None else split.sample_weight[split.rows]
        loss = weighted_loss(task.loss, pred, y, sw) * task.loss_scale  # y's units
        if not math.isfinite(loss):
            what = "the loss on the held-out data overflows"
            raise divergence_error(epoch, what, lr, "scale the features and y")
        record["val_loss"] = loss
        record[f"val_{task.score_name}"] = task.score(y, pred, sw)

    def _finish(self, finishing, stopped, keep=False):
        """End the fits of the candidates that finish (see :attr:`outcomes`),
        and drop them.

        With ``keep``, they stay in the stack: a last update that their fit
        would judge diverged is their outcome's error, but the stack, like a
        longer fit, judges it with the next batch.
        """
        if not finishing:
            return
        errors = {**self.errors, **self._judge_last(finishing)}
        for k, was_stopped in zip(finishing, stopped):
            error = errors.get(k)
            if error:
                fit = Outcome(None, error, self.warned[k])
            else:
                fit = self._fitted(k, was_stopped)
            self.outcomes[k] = fit
        if not keep:
            self.errors = errors
            self._drop(finishing)

    def _fitted(self, k, stopped):
        """Candidate ``k``'s :class:`Outcome`: its estimator, fitted with its
        result (see :meth:`_result`), or the error that raised."""
        params, result = self._result(k, stopped)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                estimator = self.estimators[k]._adopt(self.runs[k], params, result)
            except (ValueError, DivergenceError) as error:  # its outputs' check
                return Outcome(None, error, [*self.warned[k], *caught])
        return Outcome(estimator, None, [*self.warned[k], *caught])

    def _judge_last(self, candidates):
        """The errors of ``candidates`` whose last update went beyond their
        limit, judged on its own batch (as ``Trainer.check_last_step``)."""
        done = [k for k in candidates if k not in self.errors]
        if not done or self._last is None:
            return {}
        X, y, c = self._last()
        pred = self.net.forward(X)
        value = self.loss.value_and_grad(
            pred, y[:, None, :], self._weights(c), self.net._ws["g"][-1]
        )
        errors = {}
        for k in done:
            i = self.position[k]
            if not value[i] <= self.limit[k]:
                what = f"the training loss reached {value[i]:.3g}"
                errors[k] = divergence_error(self.n_iter, what, self.lr[k])
        return errors

    def _result(self, k, stopped):
        """Candidate ``k``'s ``(params, SessionResult)``, as its own fit ends.

        Its training state is the one its start made, carried forward: the
        optimizer's state, the counters, the limit, and the generators as
        its own fit would have left them (a dropout stream it never drew
        from is as it started). The state holds the stack's own generators:
        the fit is committed (which copies them, see
        :meth:`~skgd.engine.trainer.TrainingState.to_dict`) before the stack
        draws from them again.
        """
        i, state = self.position[k], self.states[k]
        weights = getattr(self.stopping[k], "best_params", None)
        final = self.net.candidate_params(i) if weights is None else weights
        state.optimizer.load_state_dict(self.optimizer.candidate_state(i))
        state.n_iter, state.t, state.limit = self.n_iter, self.t, float(self.limit[k])
        state.rng = self.rng
        rates = self.net.rates[:, i]
        state.streams = [
            self.streams[j] if rates[j] else initial
            for j, initial in enumerate(self.initial_streams[k])
        ]
        return final, SessionResult(list(self.records[k]), state, False, stopped)


def _within(loss, largest):
    """:func:`~skgd.engine.trainer.within_dtype`, with the dtype's largest value."""
    return math.isfinite(loss) and math.sqrt(2.0 * abs(loss)) <= largest
