"""What a search does with a :class:`~.run.Trainer` of many candidates.

:class:`_Group` is the part of the trainer that a search's group uses: its
making from the candidates' prepared fits (:meth:`_Group.of_candidates`),
training to a number of epochs, ending every candidate's fit
(:meth:`_Group.run`), the losses of the candidates still in the stack, and
a halving search's rungs (:meth:`_Group.rebind`, :meth:`_Group.retain`).
"""

import numpy as np
import scipy.sparse as sp

from ..._losses import weighted_loss
from ..session import _baseline, _early_stopping, _starting_state, sibling_start
from ..trainer import quiet


class _Group:
    """The search's side of :class:`~.run.Trainer`."""

    @classmethod
    def of_candidates(cls, runs, estimators):
        """The stack of fresh fits prepared by ``estimators`` (``runs``, their
        :class:`~skgd._fitting.PreparedFit`), each to end in an outcome."""
        params = [run.config.params for run in runs]
        # Each candidate starts as its own fit does: the same split, initial
        # weights and generators, from one seed.
        _one_seed(params)
        baselines, starts = _baselines(runs), _starts(runs)
        stopping = [
            _early_stopping(run.config.params, run.net, starts[0][1]) for run in runs
        ]
        nets, configs = [run.net for run in runs], [run.config for run in runs]
        trainer = cls(nets, configs, starts, stopping, baselines)
        # Candidate k was prepared by estimators[k] (runs[k]); its fit ends
        # in outcomes[k] (an Outcome), its estimator fitted.
        trainer.runs, trainer.estimators, trainer.outcomes = runs, list(estimators), {}
        trainer.warned = [[] for _ in runs]  # the warnings of preparing each fit
        return trainer

    def run(self, epochs=None, keep=False):
        """Train to ``epochs`` epochs in all (the candidates' own by default).

        The candidates still in the stack then finish: each gets the result
        a fit of that many epochs ends with. With ``keep`` they stay in the
        stack, so that :meth:`run` can take them further (the rungs of a
        halving search), as one longer fit would.
        """
        self.train(epochs)
        active = list(self.active)
        with quiet():
            self._finish(active, stopped=[False] * len(active), keep=keep)

    def train(self, epochs=None):
        """Train to ``epochs`` epochs in all, ending no candidate's fit."""
        epochs = self.params[0]["epochs"] if epochs is None else epochs
        with quiet():
            while self.active and self.n_iter < epochs:
                finishing, stopped = self._train_part(self.source)
                self._finish(finishing, stopped)

    def diverged(self):
        """The candidates (group indices) whose training diverged so far,
        their last update judged as their fit's end would judge it."""
        with quiet():
            return {**self.errors, **self._judge_last(self.active)}

    def losses(self, X, y):
        """The loss of each candidate in the stack on ``(X, y)`` (unweighted).

        ``X`` is in the stack's dtype and layout (as its training data);
        ``y`` holds the targets as its fits take them, encoded once for the
        candidates that share a task (a stack's siblings, see
        :func:`~.stack_group`).
        """
        # A sparse block is made dense: of a batch's rows, as in training.
        batch = self.params[0]["batch_size"] or len(y)
        rows = batch if sp.issparse(X) else self.net.block_rows(len(y))
        pred = self.net.predict(X, None, rows)
        losses, targets = np.empty(len(self.active)), {}
        for i, k in enumerate(self.active):
            task = self.tasks[k]
            if id(task) not in targets:
                targets[id(task)] = _trained_targets(task, y, pred.dtype)
            loss = weighted_loss(task.loss, pred[:, i, :], targets[id(task)], None)
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
        self._drop([k for k in self.active if k not in kept])


def _trained_targets(task, y, dtype):
    """``y`` encoded for ``task``'s loss, in training's units (see TargetScale)."""
    Y = task.encode(y, dtype)
    return Y if task.target_scale is None else task.target_scale.transform(Y)


def _one_seed(params):
    """Give candidates without a ``random_state`` one drawn seed, shared.

    Their own fits would each draw anew; in a stack they share one draw
    (common random numbers).
    """
    if params[0]["random_state"] is None:
        seed = int(np.random.default_rng().integers(2**32))
        for candidate in params:
            candidate["random_state"] = seed


def _baselines(runs):
    """Each candidate's baseline (see :func:`~skgd.engine.session._baseline`),
    computed once for the candidates that share a task and data."""
    known = {}
    for run in runs:
        key = id(run.config.task), id(run.source)
        if key not in known:
            known[key] = _baseline(run.config.task, run.source)
    return [known[id(run.config.task), id(run.source)] for run in runs]


def _starts(runs):
    """Each candidate's fresh starting state. Siblings (candidates that share
    a prepared epoch source, see
    :meth:`~skgd._fitting.TrainingMixin._prepare_sibling`) start from the same
    draws: the first of them makes its start, the others copy it
    (:func:`~skgd.engine.session.sibling_start`)."""
    starts, first = [], {}  # id of a source -> (run, start) of its first
    for run in runs:
        if id(run.source) in first:
            made, start = first[id(run.source)]
            starts.append(sibling_start(run.net, run.config, made.net, start))
        else:
            start = _starting_state(run.net, run.source, run.config, "fresh", None)
            first[id(run.source)] = run, start
            starts.append(start)
    return starts
