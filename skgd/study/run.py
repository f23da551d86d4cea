"""The search of ``skgd study``: cross-validate each estimator over its grid.

Each candidate of a grid is scored by cross-validation of a pipeline
(:func:`skgd.study.pipeline.make_pipeline`); its results are the mean and
standard deviation of the training and validation score, their gap and the
fit time (:func:`skgd.study.folds.summarize`).

The candidates of each fold are trained stacked, as
:class:`skgd.model_selection.GridSearchCV` trains them
(:func:`skgd.model_selection.train_stacked`): one stacked run per group of
candidates and fold, through :class:`joblib.Parallel`, so ``n_jobs`` and a
dask backend apply. Each candidate's fitted pipeline (its preprocessing
fitted once per run) is then scored. Each finished run reports its fits
to a progress callback. The best candidate is then refitted on all the
data, for its learning curves, and
so are its nearest less and more regularized neighbours
(:func:`skgd.study.knobs.neighbours`).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from .._exceptions import DivergenceError
from ..model_selection import train_stacked
from . import knobs
from .folds import (
    best_index,
    fold_task,
    quiet_unless_interrupted,
    stacked_fold,
    summarize,
)
from .grid import check_grid
from .pipeline import make_pipeline, prefixed
from .task import REGRESSION, Task


@dataclass
class EstimatorStudy:
    """The cross-validated results of one estimator over its grid.

    Attributes
    ----------
    key : str
        ``"gd"`` or ``"mlp"``.
    task : Task
        The task, with the name of the score.
    pipeline : Pipeline
        The unfitted pipeline, fixed parameters set.
    grid : dict of str to list
        The grid searched, by unprefixed parameter name.
    rows : list of dict
        One summary per candidate (see :func:`~skgd.study.folds.summarize`), in grid
        order.
    best : int or None
        Index in ``rows`` of the highest mean validation score among
        candidates without failed fits; None when every candidate failed.
    model : Pipeline or None
        The best pipeline refitted on all data with ``validation_fraction=0.2``
        (for its learning curves); None if there is no best or it failed.
    neighbours : dict of str to tuple
        The best candidate's nearest ``"less regularized"`` and ``"more
        regularized"`` neighbours (see :func:`skgd.study.knobs.neighbours`),
        those that exist and refit: ``(row, model)``, ``row`` from ``rows``
        and ``model`` refitted as ``model`` is.
    seconds : float
        The time its range test, search and refits took (NaN when not
        measured).
    fits : int
        Its fits: candidates times folds.
    stacked : int
        How many of its fits were trained in stacked runs.
    range_test : RangeTest or None
        The learning-rate range test run before the search (see
        :mod:`skgd.study.rangetest`); None when it was not run.
    """

    key: str
    task: Task
    pipeline: Pipeline
    grid: dict
    rows: list
    best: int | None
    model: Pipeline | None = None
    neighbours: dict = field(default_factory=dict)
    seconds: float = math.nan
    fits: int = 0
    stacked: int = 0
    range_test: object = None

    @property
    def name(self):
        """Class name of the estimator, e.g. ``"GDRegressor"``."""
        return type(self.pipeline[-1]).__name__

    @property
    def varied(self):
        """Names of the grid parameters taking more than one value."""
        return [name for name, values in self.grid.items() if len(values) > 1]


def cross_validate_grid(
    pipeline, grid, X, y, cv, n_jobs=1, progress=None, task=REGRESSION, stats=None
):
    """Score every candidate of a grid by cross-validation.

    The fits may finish in any order; the folds of each candidate are
    summarized in split order, so the scores do not depend on ``n_jobs`` or
    on the joblib backend.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`~skgd.study.pipeline.make_pipeline`.
    grid : dict of str to list
        Values by unprefixed parameter name.
    X : ndarray or DataFrame of shape (n_samples, n_features)
        The features, as the pipeline takes them.
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
        E.g. ``KFold(5, shuffle=True, random_state=0)``, see
        :meth:`~skgd.study.task.Task.splitter`.
    n_jobs : int or None, default=1
        Stacked runs (and fits that cannot be stacked) at once, as in
        :class:`joblib.Parallel`.
    progress : callable or None, default=None
        Called as ``progress(done, total, work=fraction, folds=n_folds)`` at
        the start (``done`` 0) and as fits finish: ``done`` of the ``total``
        fits, an estimate of the fraction of the work done (the wide
        networks' fits take longer), and the number of folds.
    task : Task, default=REGRESSION
        How each fold is scored.
    stats : dict or None, default=None
        When given, ``"fits"`` (candidates times folds) and ``"stacked"``
        (how many of them were trained in stacked runs) are set in it.

    Returns
    -------
    rows : list of dict
        One summary per candidate (see :func:`~skgd.study.folds.summarize`), in grid
        order.
    """
    candidates = list(ParameterGrid(grid))
    splits = list(cv.split(X, y))
    total, done = len(candidates) * len(splits), 0
    # The widest networks first: the longest runs start first, so that the
    # workers finish together. The runs report in that order, so the share
    # of the work done is the cost of the first fits, each costing about
    # 1 + width / 10 (measured: 8, 32 and 128 hidden units take 1, 2.1 and
    # 8 times as long).
    width = {i: _width(pipeline[-1], params) for i, params in enumerate(candidates)}
    order = sorted(range(len(candidates)), key=lambda i: -width[i])
    costs = np.cumsum([1 + width[i] / 10 for i in order for _ in splits])

    def advance(n_fits):
        nonlocal done
        done += n_fits
        if progress is not None:
            work = costs[done - 1] / costs[-1] if done else 0.0
            progress(done, total, work=float(work), folds=len(splits))

    advance(0)
    ordered_params = [prefixed(candidates[i]) for i in order]
    ordered, times = train_stacked(
        pipeline, ordered_params, X, y, splits, n_jobs=n_jobs, progress=advance
    )
    stacked = {(order[j], k): outcome for (j, k), outcome in ordered.items()}
    shares = {(order[j], k): seconds for (j, k), seconds in times.items()}
    if stats is not None:
        stats.update(fits=total, stacked=len(stacked))
    outcomes = [[None] * len(splits) for _ in candidates]
    for k, (train, test) in enumerate(splits):
        members = [i for i in range(len(candidates)) if (i, k) in stacked]
        fold = stacked_fold(task, [stacked[i, k] for i in members], X, y, train, test)
        for i, (scores, seconds, error) in zip(members, fold):
            outcomes[i][k] = scores, seconds + shares[i, k], error
    fits = [
        (i, k, task, pipeline, params, X, y, train, test)
        for i, params in enumerate(candidates)
        for k, (train, test) in enumerate(splits)
        if (i, k) not in stacked
    ]
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for i, k, outcome in parallel(delayed(fold_task)(*fit) for fit in fits):
        outcomes[i][k] = outcome
        advance(1)
    return [summarize(p, o) for p, o in zip(candidates, outcomes)]


def _width(estimator, params):
    """The hidden units of a candidate (0 for a linear model): its cost."""
    sizes = params.get(
        "hidden_layer_sizes", getattr(estimator, "hidden_layer_sizes", ())
    )
    return int(np.sum(np.atleast_1d(sizes))) if sizes is not None else 0


def refit_best(study, X, y):
    """Refit the best candidate on all data, holding out 20% each epoch.

    Parameters
    ----------
    study : EstimatorStudy
        With ``best`` set.
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    model : Pipeline or None
        Fitted, with the estimator's per-epoch ``history_`` (``val_loss`` and
        ``val_r2`` or ``val_accuracy``); None if there is no best candidate or
        the refit raises. A refit cut short by Ctrl-C raises
        :class:`KeyboardInterrupt`.
    """
    if study.best is None:
        return None
    return _refit(study, study.rows[study.best]["params"], X, y)


def refit_neighbours(study, X, y):
    """Refit the best candidate's nearest less and more regularized neighbours.

    Parameters
    ----------
    study : EstimatorStudy
        With ``best`` set.
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    neighbours : dict of str to tuple
        ``(row, model)`` by label (see :func:`skgd.study.knobs.neighbours`),
        each refitted as :func:`refit_best` does; a refit that raises is left
        out.
    """
    if study.best is None:
        return {}
    _, rows = knobs.neighbours(study)
    refitted = {
        label: (row, _refit(study, row["params"], X, y)) for label, row in rows.items()
    }
    return {label: pair for label, pair in refitted.items() if pair[1] is not None}


def _refit(study, params, X, y):
    """A candidate fitted on all the data, 20% held out; None if it raises."""
    params = {**params, "validation_fraction": 0.2}
    model = clone(study.pipeline).set_params(**prefixed(params))
    try:
        with quiet_unless_interrupted():
            return model.fit(X, y)
    except (DivergenceError, ValueError):
        return None


def run_study(
    keys,
    grids,
    X,
    y,
    cv,
    *,
    task=REGRESSION,
    random_state=0,
    n_jobs=1,
    progress=None,
    features=None,
    range_tests=None,
):
    """Cross-validate each estimator's grid and refit its best candidate.

    Parameters
    ----------
    keys : list of str
        Estimators, among ``"gd"`` and ``"mlp"``.
    grids : dict of str to dict
        From :func:`~skgd.study.grid.build_grids`.
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
        E.g. ``task.splitter(5, random_state)``.
    task : Task, default=REGRESSION
        The task, from :func:`~skgd.study.task.make_task`: which estimators, how scored.
    random_state : int, default=0
        Seed of the estimators.
    n_jobs : int or None, default=1
        Fits run at once.
    progress : callable or None, default=None
        Called as ``progress(key, done, total, work=fraction)`` at the start
        of each estimator's search (``done`` 0) and as fits finish (see
        :func:`cross_validate_grid`).
    features : Features or None, default=None
        The columns of a CSV by kind, for the preprocessing; None for a
        bundled data set.
    range_tests : dict of str to RangeTest or None, default=None
        The range test of each estimator, run before (see
        :func:`skgd.study.rangetest.run_range_test`), for the report.

    Returns
    -------
    studies : list of EstimatorStudy
    """
    pipelines = {
        key: make_pipeline(key, random_state, task, features, grids[key])
        for key in keys
    }
    for key in keys:
        check_grid(pipelines[key], grids[key])
    studies = []
    for key in keys:
        report = None if progress is None else _bind(progress, key)
        pipeline, grid = pipelines[key], grids[key]
        start, stats = time.perf_counter(), {}
        rows = cross_validate_grid(
            pipeline, grid, X, y, cv, n_jobs, report, task, stats
        )  # fmt: skip
        study = EstimatorStudy(
            key, task, pipeline, grid, rows, best_index(rows), **stats,
            range_test=(range_tests or {}).get(key),
        )  # fmt: skip
        study.model = refit_best(study, X, y)
        study.neighbours = refit_neighbours(study, X, y)
        tested = study.range_test.seconds if study.range_test is not None else 0.0
        study.seconds = time.perf_counter() - start + tested
        studies.append(study)
    return studies


def _bind(progress, key):
    return lambda done, total, **work: progress(key, done, total, **work)
