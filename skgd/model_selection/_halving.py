"""Successive halving in which the survivors of a rung train on in their stack.

scikit-learn's :class:`~sklearn.model_selection.HalvingGridSearchCV` with
``resource="epochs"`` fits every surviving candidate anew at each rung,
``r``, then ``factor * r`` epochs, and so on. Here the candidates of a rung
train stacked, as in :class:`~skgd.model_selection.GridSearchCV`, and the
stacks are kept: at the next rung the survivors of each stack go on from
where they stopped, for the epochs the rung adds, and the others leave it.

A fit that goes on for more epochs ends where a fresh fit of that many
epochs ends when nothing in its training depends on when it ends: no
stopping rule (``tol=None``, ``early_stopping=False``) and a schedule that
does not count towards ``epochs`` (not ``"cosine"``). Candidates for which
that holds continue; the others are trained anew at each rung (still
stacked). So ``cv_results_`` are those of scikit-learn's halving search
over the same estimator, to rounding.
"""

import time

import numpy as np
from sklearn import model_selection as sklearn_search
from sklearn.base import clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.pipeline import Pipeline

from .._schedules import SCHEDULES
from ..engine.threads import one_blas_thread
from ._search import _STACKING_CONSTRAINTS, _docstring, _StackedSearch
from ._stacking import (
    MAX_STACK_BYTES,
    _parts,
    _stackable,
    _Stacking,
    stack_jobs,
    train_fold,
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
        models = [_candidate(self.estimator, params) for params in candidates]
        identities = [_identity(params, self.resource) for params in candidates]
        survivors = [i for i, key in enumerate(identities) if key in self.live]
        outcomes, shares = self._continue(survivors, identities, models)
        left = set(survivors)
        new = [i for i in range(len(candidates)) if i not in left]
        fresh = [i for i in new if _continuable(_parts(models[i])[1])]
        more = self._start(fresh, candidates, identities, splits, fit_params)
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

    def _start(self, fresh, candidates, identities, splits, fit_params):
        """Train the new candidates ``fresh`` stacked, and keep their stacks:
        ``(outcomes, shares)`` of those candidates."""
        outcomes, shares = {}, {}
        chosen = [candidates[i] for i in fresh]
        search = self.search
        jobs = stack_jobs(
            self.estimator, chosen, self.X, splits, search.max_stack_bytes
        )
        for chunk, s, train in jobs:
            done, seconds, group = train_fold(
                [c for _, c in chunk], self.X, self.y, train, fit_params, keep=True
            )
            for (j, _), outcome in zip(chunk, done):
                shares[fresh[j], s] = seconds / len(chunk)
                if outcome is not None:
                    outcomes[fresh[j], s] = outcome
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


def _candidate(estimator, params):
    """The ``estimator`` of the candidate of ``params``, unfitted."""
    return clone(estimator).set_params(**clone(params, safe=False))


def _identity(params, resource):
    """What names a candidate across rungs: its parameters but the resource."""
    return repr(sorted((k, v) for k, v in params.items() if k != resource))


def _continuable(final):
    """Whether ``final``'s fit may go on to more epochs as a longer fit would."""
    return (
        _stackable(final)
        and final.tol is None
        and not final.early_stopping
        and "epochs" not in SCHEDULES[final.lr_schedule].settings
    )


class _HalvingSearch(_StackedSearch):
    """What skgd's halving searches add: stacks kept from rung to rung."""

    _stacking_class = _Rungs


_HALVING_COMMON = """
    factor : int or float, default=3
        The proportion of candidates kept at each rung (1 / factor), and
        the growth of the resource from one rung to the next.
    resource : str, default="n_samples"
        What grows from rung to rung: ``"epochs"`` (or ``"<step>__epochs"``
        in a pipeline), for a halving over training time whose survivors
        go on in their stacks, or ``"n_samples"``, or another integer
        parameter (each rung then trains its candidates anew, stacked), as
        in scikit-learn.
    max_resources : int or "auto", default="auto"
        The most resources a candidate may use; ``"auto"`` only with
        ``resource="n_samples"``, as in scikit-learn.
    min_resources : {"exhaust", "smallest"} or int, default="exhaust"
        The resources of the first rung, as in scikit-learn.
    aggressive_elimination : bool, default=False
        Eliminate candidates with the smallest resources until few enough
        are left for the last rung to use ``max_resources``.
    cv : int, cross-validation generator or iterable, default=5
        The splits, as in scikit-learn. Stacks go on to the next rung on
        the same splits only: with a splitter that splits anew at each rung
        (``shuffle=True`` without a ``random_state``), each rung trains its
        candidates anew (stacked), as scikit-learn's search does.
    scoring : str, callable or None, default=None
        One scorer, as in scikit-learn's halving searches.
    refit : bool, default=True
        Refit the best candidate on the whole data.
    error_score : "raise" or float, default=np.nan
        The score of a failed fit (a diverged candidate's, say).
    return_train_score : bool, default=True
        Also score each fit on its training folds.
    random_state : int, RandomState instance or None, default=None
        Subsamples the rows with ``resource="n_samples"``, as in
        scikit-learn.
    n_jobs : int or None, default=None
        Workers for the stacked runs that start anew at each rung; stacks
        that go on stay in this process.
    verbose : int, default=0
        scikit-learn's search messages.
    max_stack_bytes : int, default=2**28
        The memory one stacked run may take.
    return_histories : bool, default=False
        Add ``cv_results_["histories"]``: each candidate's ``history_`` on
        each split, rung after rung.
"""

_HALVING_ATTRIBUTES = """
    Attributes
    ----------
    n_resources_ : list of int
        The resources of each rung.
    n_candidates_ : list of int
        The candidates evaluated at each rung.
    n_remaining_candidates_ : int
        The candidates left after the last rung.
    max_resources_, min_resources_ : int
        The resources of the last and the first rung's bounds.
    n_possible_iterations_, n_required_iterations_, n_iterations_ : int
        Rungs as scikit-learn counts them.
    cv_results_ : dict of ndarray
        scikit-learn's results, with ``iter`` and ``n_resources``.
    best_estimator_ : estimator
        The best candidate refitted on the whole data (with ``refit``).
    best_score_ : float
        Mean cross-validated score of the best candidate at the last rung.
    best_params_ : dict
        Parameters of the best candidate.
    best_index_ : int
        Index of the best candidate in ``cv_results_``.
    scorer_ : function
        The scorer used.
    n_splits_ : int
        The number of cross-validation splits.
    refit_time_ : float
        Seconds taken to refit the best candidate.
    multimetric_ : bool
        Always False.
    classes_ : ndarray of shape (n_classes,)
        The class labels (with a classifier and ``refit``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    Notes
    -----
    Within a rung, the candidates of a fold that differ only in numbers
    train as one stack (see :class:`~skgd.model_selection.GridSearchCV`).
    With ``resource`` the estimator's ``epochs``, a survivor's stack takes
    it on from ``r`` epochs to ``factor * r`` instead of training anew:
    the rung costs the epochs it adds, for the candidates still in the
    race. That gives what a fresh fit of ``factor * r`` epochs gives, so
    ``cv_results_`` equal those of scikit-learn's halving search over the
    same estimator, to rounding, where the fit does not depend on its end:
    ``tol=None``, ``early_stopping=False``, and a schedule other than
    ``"cosine"`` (whose cycle is ``epochs`` long). Candidates without those
    settings, or that cannot be stacked (``warm_start``, callbacks, ...),
    are trained anew at each rung, stacked where they can be, as
    scikit-learn's search would; so are all candidates for another
    ``resource``.
"""


class HalvingGridSearchCV(_HalvingSearch, sklearn_search.HalvingGridSearchCV):
    _parameter_constraints = {
        **sklearn_search.HalvingGridSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        factor=3,
        resource="n_samples",
        max_resources="auto",
        min_resources="exhaust",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=float("nan"),
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_grid,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


class HalvingRandomSearchCV(_HalvingSearch, sklearn_search.HalvingRandomSearchCV):
    _parameter_constraints = {
        **sklearn_search.HalvingRandomSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_candidates="exhaust",
        factor=3,
        resource="n_samples",
        max_resources="auto",
        min_resources="smallest",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=float("nan"),
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_candidates=n_candidates,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


_docstring(
    HalvingGridSearchCV,
    "HalvingGridSearchCV",
    """Successive halving over a grid; survivors train on in their stacks.

    A drop-in replacement for :class:`sklearn.model_selection.HalvingGridSearchCV`
    for an skgd estimator or a :class:`~sklearn.pipeline.Pipeline` ending in
    one: the same arguments and ``cv_results_``. With ``resource="epochs"``
    each rung trains its candidates as stacks, and the survivors go on in
    them to the next rung's epochs instead of starting again.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_grid : dict or list of dict
        Parameter names (``step__name`` in a pipeline) and their values;
        not the resource.""",
    _HALVING_COMMON,
    _HALVING_ATTRIBUTES,
)
_docstring(
    HalvingRandomSearchCV,
    "HalvingRandomSearchCV",
    """Successive halving over sampled candidates; survivors train on stacked.

    A drop-in replacement for
    :class:`sklearn.model_selection.HalvingRandomSearchCV` for an skgd
    estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one: the
    same arguments, the same candidates for the same ``random_state``, and
    ``cv_results_``. With ``resource="epochs"`` the survivors of a rung go
    on in their stacks to the next rung's epochs.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_distributions : dict or list of dict
        Parameter names and their distributions (with an ``rvs`` method) or
        lists of values, as in scikit-learn; not the resource.
    n_candidates : int or "exhaust", default="exhaust"
        The candidates of the first rung, as in scikit-learn.""",
    _HALVING_COMMON,
    _HALVING_ATTRIBUTES,
)
