"""The search of ``skgd study``: cross-validate each estimator over its grid.

Each candidate of a parameter grid is scored by K-fold cross-validation of
``Pipeline([("scale", StandardScaler()), ("model", estimator)])``: mean and
standard deviation of the training and validation R², their gap and the fit
time. A fit that raises (a :class:`~skgd.DivergenceError`, say) scores NaN, as
with ``GridSearchCV(error_score=np.nan)``, and the candidate is reported as
diverged (or failed) instead of stopping the study. The fits run through
:class:`joblib.Parallel`, so ``n_jobs`` and a dask backend apply, and each
finished fit is reported to a progress callback.

The data comes from :mod:`skgd._study_data`, the dask cluster from
:mod:`skgd._cluster`, and :mod:`skgd._report` writes the results.
"""

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ._exceptions import DivergenceError, StudyError
from ._linear import GDRegressor
from ._mlp import MLPRegressor

ESTIMATORS = {"gd": GDRegressor, "mlp": MLPRegressor}

#: Constructor parameters of each estimator in the study (a ``--param`` of the
#: same name overrides them).
FIXED_PARAMS = {
    "gd": {"batch_size": 32, "epochs": 50},
    "mlp": {"hidden_layer_sizes": (32,), "batch_size": 32, "epochs": 100},
}

#: The grids searched when no ``--param`` names a parameter of the estimator.
DEFAULT_GRIDS = {
    "gd": {"learning_rate": [1e-3, 1e-2, 1e-1, 1.0, 10.0]},
    "mlp": {
        "learning_rate": [1e-3, 1e-2],
        "alpha": [0.0, 1e-2],
        "dropout": [0.0, 0.2],
    },
}

#: Parameters whose values are spread on a log scale (so plotted by the report).
LOG_SCALE = ("learning_rate", "alpha")
_STEP = "model"


@dataclass
class EstimatorStudy:
    """The cross-validated results of one estimator over its grid.

    Attributes
    ----------
    key : str
        ``"gd"`` or ``"mlp"``.
    pipeline : Pipeline
        The unfitted pipeline, fixed parameters set.
    grid : dict of str to list
        The grid searched, by unprefixed parameter name.
    rows : list of dict
        One summary per candidate (see :func:`summarize`), in grid order.
    best : int or None
        Index in ``rows`` of the highest mean validation R² among candidates
        without failed fits; None when every candidate failed.
    model : Pipeline or None
        The best pipeline refitted on all data with ``validation_fraction=0.2``
        (for its training curves); None if there is no best or it failed.
    """

    key: str
    pipeline: Pipeline
    grid: dict
    rows: list
    best: int | None
    model: Pipeline | None = None

    @property
    def name(self):
        """Class name of the estimator, e.g. ``"GDRegressor"``."""
        return type(self.pipeline[-1]).__name__

    @property
    def varied(self):
        """Names of the grid parameters taking more than one value."""
        return [name for name, values in self.grid.items() if len(values) > 1]


# --------------------------------------------------------------- the grids


def build_grids(keys, params):
    """The grid of each estimator, from the ``--param`` options.

    Parameters
    ----------
    keys : list of str
        Estimators of the study, among ``"gd"`` and ``"mlp"``.
    params : dict of str to list
        Values to try by constructor parameter name; empty for the defaults.

    Returns
    -------
    grids : dict of str to dict
        For each key, the ``params`` that the estimator has, or its default
        grid when it has none of them.
    """
    known = {key: set(ESTIMATORS[key]().get_params()) for key in keys}
    for name in params:
        if not any(name in known[key] for key in keys):
            names = " or ".join(ESTIMATORS[key].__name__ for key in keys)
            raise StudyError(f"unknown parameter {name!r} for {names}")
    grids = {}
    for key in keys:
        own = {name: values for name, values in params.items() if name in known[key]}
        grids[key] = own or DEFAULT_GRIDS[key]
    return grids


def make_pipeline(key, random_state):
    """The unfitted pipeline of an estimator with its fixed parameters.

    Parameters
    ----------
    key : {"gd", "mlp"}
        Which estimator.
    random_state : int
        Seed of the estimator.

    Returns
    -------
    pipeline : Pipeline
        ``StandardScaler`` then the estimator, in a step named ``"model"``.
    """
    estimator = ESTIMATORS[key](**FIXED_PARAMS[key], random_state=random_state)
    return Pipeline([("scale", StandardScaler()), (_STEP, estimator)])


def check_grid(pipeline, grid):
    """Raise StudyError for a candidate value the estimator does not accept.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_pipeline`.
    grid : dict of str to list
        Values by unprefixed parameter name.
    """
    for params in ParameterGrid(grid):
        estimator = clone(pipeline[-1]).set_params(**params)
        try:
            estimator._validate_params()
        except (ValueError, TypeError) as exc:
            raise StudyError(str(exc)) from None


def check_cv(cv, n_samples):
    """Raise StudyError unless ``2 <= cv <= n_samples``.

    Parameters
    ----------
    cv : int
        Number of folds.
    n_samples : int
        Number of samples in the data.
    """
    if cv < 2:
        raise StudyError(f"--cv must be at least 2, got {cv}")
    if cv > n_samples:
        raise StudyError(f"--cv {cv} is more than the {n_samples} samples")


# ---------------------------------------------------------- cross-validation


def _prefixed(params):
    return {f"{_STEP}__{name}": value for name, value in params.items()}


def _fit_and_score(pipeline, params, X, y, train, test):
    """Fit one candidate on one fold; a fit that raises scores NaN."""
    model = clone(pipeline).set_params(**_prefixed(params))
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            for category in (ConvergenceWarning, FitFailedWarning, UserWarning):
                warnings.simplefilter("ignore", category)
            model.fit(X[train], y[train])
            scores = model.score(X[train], y[train]), model.score(X[test], y[test])
    except Exception as exc:
        diverged = isinstance(exc, DivergenceError)
        return math.nan, math.nan, time.perf_counter() - start, (diverged, str(exc))
    return float(scores[0]), float(scores[1]), time.perf_counter() - start, None


def _fold_task(i, k, pipeline, params, X, y, train, test):
    """``(i, k, outcome)`` of candidate ``i`` on fold ``k``."""
    return i, k, _fit_and_score(pipeline, params, X, y, train, test)


def cross_validate_grid(pipeline, grid, X, y, cv, n_jobs=1, progress=None):
    """Score every candidate of a grid by cross-validation.

    The fits may finish in any order; the folds of each candidate are
    summarized in split order, so the scores do not depend on ``n_jobs`` or
    on the joblib backend.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_pipeline`.
    grid : dict of str to list
        Values by unprefixed parameter name.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
        E.g. ``KFold(5, shuffle=True, random_state=0)``.
    n_jobs : int or None, default=1
        Fits run at once, as in :class:`joblib.Parallel`.
    progress : callable or None, default=None
        Called as ``progress(done, total)`` after each finished fit.

    Returns
    -------
    rows : list of dict
        One summary per candidate (see :func:`summarize`), in grid order.
    """
    candidates = list(ParameterGrid(grid))
    splits = list(cv.split(X, y))
    tasks = [
        delayed(_fold_task)(i, k, pipeline, params, X, y, train, test)
        for i, params in enumerate(candidates)
        for k, (train, test) in enumerate(splits)
    ]
    outcomes = [[None] * len(splits) for _ in candidates]
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for done, (i, k, outcome) in enumerate(parallel(tasks)):
        outcomes[i][k] = outcome
        if progress is not None:
            progress(done + 1, len(tasks))
    return [summarize(p, o) for p, o in zip(candidates, outcomes)]


def summarize(params, outcomes):
    """Summarize the folds of one candidate.

    Parameters
    ----------
    params : dict
        The candidate, by unprefixed parameter name.
    outcomes : list of tuple
        ``(train_r2, val_r2, fit_seconds, error)`` per fold, ``error`` None or
        ``(is_divergence, message)``.

    Returns
    -------
    row : dict
        ``params``, ``mean_train_r2``, ``std_train_r2``, ``mean_val_r2``,
        ``std_val_r2``, ``gap`` (train minus validation), ``mean_fit_time``,
        ``failed_folds``, ``failed`` (some fold raised, so the scores are NaN),
        ``diverged`` (failed, and every error was a DivergenceError) and
        ``error`` (the first error message, or "").
    """
    train, val, seconds = (np.array(column) for column in list(zip(*outcomes))[:3])
    errors = [outcome[3] for outcome in outcomes if outcome[3] is not None]
    return {
        "params": params,
        "mean_train_r2": float(np.mean(train)),
        "std_train_r2": float(np.std(train)),
        "mean_val_r2": float(np.mean(val)),
        "std_val_r2": float(np.std(val)),
        "gap": float(np.mean(train) - np.mean(val)),
        "mean_fit_time": float(np.mean(seconds)),
        "failed_folds": len(errors),
        "failed": bool(errors),
        "diverged": bool(errors) and all(diverged for diverged, _ in errors),
        "error": errors[0][1] if errors else "",
    }


def best_index(rows):
    """Index of the highest mean validation R² among rows that did not fail.

    Parameters
    ----------
    rows : list of dict
        From :func:`cross_validate_grid`.

    Returns
    -------
    index : int or None
        The first such row on ties; None when every row failed.
    """
    ok = [i for i, row in enumerate(rows) if not row["failed"]]
    return max(ok, key=lambda i: rows[i]["mean_val_r2"]) if ok else None


def refit_best(study, X, y):
    """Refit the best candidate on all data, holding out 20% each epoch.

    Parameters
    ----------
    study : EstimatorStudy
        With ``best`` set.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    model : Pipeline or None
        Fitted, with the estimator's per-epoch ``history_``; None if there is
        no best candidate or the refit raises.
    """
    if study.best is None:
        return None
    params = {**study.rows[study.best]["params"], "validation_fraction": 0.2}
    model = clone(study.pipeline).set_params(**_prefixed(params))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            return model.fit(X, y)
    except (DivergenceError, ValueError):
        return None


def run_study(keys, grids, X, y, cv, *, random_state=0, n_jobs=1, progress=None):
    """Cross-validate each estimator's grid and refit its best candidate.

    Parameters
    ----------
    keys : list of str
        Estimators, among ``"gd"`` and ``"mlp"``.
    grids : dict of str to dict
        From :func:`build_grids`.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
    random_state : int, default=0
        Seed of the estimators.
    n_jobs : int or None, default=1
        Fits run at once.
    progress : callable or None, default=None
        Called as ``progress(key, done, total)`` after each finished fit.

    Returns
    -------
    studies : list of EstimatorStudy
    """
    pipelines = {key: make_pipeline(key, random_state) for key in keys}
    for key in keys:
        check_grid(pipelines[key], grids[key])
    studies = []
    for key in keys:
        report = None if progress is None else _bind(progress, key)
        rows = cross_validate_grid(
            pipelines[key], grids[key], X, y, cv, n_jobs=n_jobs, progress=report
        )
        study = EstimatorStudy(key, pipelines[key], grids[key], rows, best_index(rows))
        study.model = refit_best(study, X, y)
        studies.append(study)
    return studies


def _bind(progress, key):
    return lambda done, total: progress(key, done, total)
