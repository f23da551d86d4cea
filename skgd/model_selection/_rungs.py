"""A halving search's stacked runs, kept from one rung to the next.

With ``resource`` the estimator's ``epochs`` (see
:mod:`skgd.model_selection._halving`), the candidates of a rung that may
go on (:func:`_continuable`) train in stacks that the next rung takes
further (:meth:`_Rungs._continue`); the others train anew at each rung,
stacked, as :class:`~skgd.model_selection._stacking._Stacking` trains them.
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._schedules import SCHEDULES
from ..engine.threads import one_blas_thread
from ._stacking import (
    _parts,
    _stackable,
    _Stacking,
    file_chunk,
    identity_of,
    stack_jobs,
    train_fold,
    unfitted,
    with_steps,
)


class _Rungs(_Stacking):
    """A halving search's stacked runs, kept from one rung to the next.

    ``live`` maps each candidate that may go on (by its parameters but the
    resource) to its place in the stacks: ``{split: (group, k)}``, the
    stacks trained on ``splits``.
    """

    def __init__(self, search, X, y, params):
        super().__init__(search, X, y, params)
        self.resource = search.resource
        self.continues = self.resource == _epochs_path(search.estimator)
        self.live, self.splits = {}, None

    def _train(self, candidates, splits, fit_params):
        if not self.continues:
            return super()._train(candidates, splits, fit_params)
        if not _same_splits(splits, self.splits):  # a splitter that reshuffles
            self.live, self.splits = {}, splits
        models = [unfitted(self.estimator, params) for params in candidates]
        # What names a candidate across rungs: its parameters but the resource.
        identities = [identity_of(params, self.resource) for params in candidates]
        survivors = [i for i, key in enumerate(identities) if key in self.live]
        outcomes, shares = self._continue(survivors, identities, models)
        left = set(survivors)
        new = [i for i in range(len(candidates)) if i not in left]
        fresh = [i for i in new if _continuable(_parts(models[i])[1])]
        more = self._start(fresh, models, candidates, identities, splits, fit_params)
        outcomes.update(more[0])
        shares.update(more[1])
        anew = sorted(set(new) - set(fresh))
        if anew:  # trained from scratch at every rung
            more = super()._train([candidates[i] for i in anew], splits, fit_params)
            outcomes.update({(anew[j], s): o for (j, s), o in more[0].items()})
            shares.update({(anew[j], s): t for (j, s), t in more[1].items()})
        return outcomes, shares

    def _continue(self, survivors, identities, models):
        """Train the survivors on in their stacks, to this rung's epochs."""
        stacks = {}
        for i in survivors:
            final = _parts(models[i])[1]
            for s, (group, k) in self.live[identities[i]].items():
                group.rebind(k, clone(final))  # fitted on each split
                stacks.setdefault(id(group), (group, s, []))[2].append((i, k))
        self.live = {identities[i]: self.live[identities[i]] for i in survivors}
        outcomes, shares = {}, {}
        for group, s, members in stacks.values():
            start = time.perf_counter()
            group.retain([k for _, k in members])
            epochs = _parts(models[members[0][0]])[1].epochs
            with one_blas_thread():
                group.run(epochs, keep=True)
            seconds = (time.perf_counter() - start) / len(members)
            for i, k in members:
                outcomes[i, s] = _with_steps_of(group, models[i], group.outcomes[k])
                shares[i, s] = seconds
        return outcomes, shares

    def _start(self, fresh, models, candidates, identities, splits, fit_params):
        """Train the new candidates ``fresh`` (their ``models``) stacked, and
        keep their stacks: ``(outcomes, shares)`` of those candidates."""
        outcomes, shares = {}, {}
        chosen = [candidates[i] for i in fresh]
        jobs = stack_jobs(
            self.estimator,
            chosen,
            self.X,
            splits,
            self.search.max_stack_bytes,
            models=[models[i] for i in fresh],
        )
        for chunk, s, train in jobs:
            done, seconds, group = train_fold(
                [c for _, c in chunk], self.X, self.y, train, fit_params, keep=True
            )
            file_chunk(outcomes, shares, chunk, s, done, seconds, names=fresh)
            for k, member in enumerate([] if group is None else group.candidates):
                identity = identities[fresh[chunk[member][0]]]
                self.live.setdefault(identity, {})[s] = group, k
        return outcomes, shares


def _same_splits(splits, others):
    """Whether two lists of ``(train, test)`` hold the same rows."""
    return others is not None and all(
        np.array_equal(a, b)
        for (train, test), (more, less) in zip(splits, others, strict=True)
        for a, b in ((train, more), (test, less))
    )


def _with_steps_of(group, candidate, outcome):
    """``outcome`` with its estimator the fitted ``candidate`` (the stack's
    pipeline steps before it)."""
    if outcome.estimator is not None:
        outcome.estimator = with_steps(candidate, group.pre, outcome.estimator)
    return outcome


def _epochs_path(estimator):
    """The name of the epochs parameter of ``estimator`` (or of its last step)."""
    if isinstance(estimator, Pipeline):
        return f"{estimator.steps[-1][0]}__epochs"
    return "epochs"


def _continuable(final):
    """Whether ``final``'s fit may go on to more epochs as a longer fit would."""
    return (
        _stackable(final)
        and final.tol is None
        and not final.early_stopping
        and "epochs" not in SCHEDULES[final.lr_schedule].settings
    )
