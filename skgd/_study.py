"""The search of ``skgd study``: cross-validate each estimator over its grid.

The study is a regression or a classification (a :class:`Task`, see
:func:`make_task`): GDRegressor and MLPRegressor scored by R² over shuffled
K folds, or GDClassifier and MLPClassifier scored by accuracy over shuffled
stratified folds, with the validation log-loss as well. Each candidate of a
parameter grid is scored by cross-validation of ``Pipeline([("scale",
StandardScaler()), ("model", estimator)])``: mean and standard deviation of
the training and validation score, their gap and the fit time. A fit that
raises (a :class:`~skgd.DivergenceError`, say) scores NaN, as with
``GridSearchCV(error_score=np.nan)``, and the candidate is reported as
diverged (or failed) instead of stopping the study. A fit cut short by
Ctrl-C (its :class:`~skgd.FitInterruptedWarning`) stops the study with a
:class:`KeyboardInterrupt` instead: its scores would read as complete.

The candidates of each fold are trained stacked, as
:class:`skgd.model_selection.GridSearchCV` trains them
(:func:`skgd.model_selection.train_stacked`): one stacked run per group of
candidates and fold, through :class:`joblib.Parallel`, so ``n_jobs`` and a
dask backend apply; each fold's fit then takes its result and is scored.
Each finished run reports its fits to a progress callback.

The data comes from :mod:`skgd._study_data`, the dask cluster from
:mod:`skgd._cluster`, and :mod:`skgd._report` writes the results.
"""

import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from ._exceptions import DivergenceError, FitInterruptedWarning, StudyError
from ._linear import GDClassifier, GDRegressor
from ._mlp import MLPClassifier, MLPRegressor
from ._stacked import replaying
from .model_selection import train_stacked

#: The estimators of each task, by the key of ``--estimator``.
ESTIMATORS = {
    "regression": {"gd": GDRegressor, "mlp": MLPRegressor},
    "classification": {"gd": GDClassifier, "mlp": MLPClassifier},
}

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
_CATEGORICAL = ("binary", "multiclass")


# ------------------------------------------------------------------ the task


@dataclass(frozen=True)
class Task:
    """What the study predicts, and how it scores the predictions.

    Attributes
    ----------
    name : {"regression", "classification"}
        The task.
    metric : str
        Name of the score in the results and in the estimators' ``history_``
        (``"r2"``, ``"accuracy"``): ``results.json`` has ``mean_val_<metric>``.
    label : str
        The score in words, for the report (``"R²"``, ``"accuracy"``).
    classes : tuple or None
        The labels of the whole data set, sorted, for a classification; None
        for a regression.
    """

    name: str
    metric: str
    label: str
    classes: tuple | None = None

    @property
    def estimators(self):
        """The estimator class of each key, e.g. ``{"gd": GDRegressor, ...}``."""
        return ESTIMATORS[self.name]

    @property
    def score_names(self):
        """The scores of each fold: ``"train"`` and ``"val"`` (the metric),
        then ``"val_log_loss"`` for a classification."""
        extra = ("val_log_loss",) if self.classes is not None else ()
        return ("train", "val", *extra)

    def splitter(self, n_splits, random_state):
        """The cross-validation folds: shuffled, stratified for a classification.

        Parameters
        ----------
        n_splits : int
            Number of folds.
        random_state : int
            Seed of the shuffling.

        Returns
        -------
        cv : KFold or StratifiedKFold
        """
        kind = KFold if self.classes is None else StratifiedKFold
        return kind(n_splits, shuffle=True, random_state=random_state)

    def fold_scores(self, model, X, y, train, test):
        """The scores of a model fitted on the ``train`` rows.

        Parameters
        ----------
        model : Pipeline
            Fitted on ``X[train], y[train]``.
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        train, test : ndarray of int
            The rows of the fold.

        Returns
        -------
        scores : dict of str to float
            By :attr:`score_names`: ``model.score`` (R² or accuracy) on the
            training and on the validation rows, and for a classification the
            validation log-loss (NaN without ``predict_proba``, e.g. for
            ``loss="hinge"``).
        """
        scores = {
            "train": float(model.score(X[train], y[train])),
            "val": float(model.score(X[test], y[test])),
        }
        if self.classes is not None:
            scores["val_log_loss"] = _log_loss(model, X[test], y[test], self.classes)
        return scores


REGRESSION = Task("regression", "r2", "R²")


def _log_loss(model, X, y, classes):
    if not hasattr(model, "predict_proba"):
        return math.nan
    return float(log_loss(y, model.predict_proba(X), labels=list(classes)))


def make_task(y, task="auto", default=None):
    """The task of the study, detected from the target unless given.

    A target that :func:`~sklearn.utils.multiclass.type_of_target` calls
    ``"binary"`` or ``"multiclass"`` (labels: strings, booleans, integers, or
    floats that are all whole numbers) is a classification; a ``"continuous"``
    one is a regression.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        The target.
    task : {"auto", "regression", "classification"}, default="auto"
        The ``--task`` option; ``"auto"`` takes ``default``, or detects it.
    default : {"regression", "classification"} or None, default=None
        The task of a bundled data set, taken by ``"auto"``.

    Returns
    -------
    task : Task
    """
    kind = type_of_target(y)
    name = (default or _detect(kind)) if task == "auto" else task
    if name == "regression":
        if not np.issubdtype(y.dtype, np.number):
            raise StudyError(
                f"--task regression needs a numeric target, got labels such as "
                f"{_plain(y[0])!r}; use --task classification (or auto)"
            )
        return REGRESSION
    if kind not in _CATEGORICAL:
        raise StudyError(
            f"--task classification needs class labels, but the target is "
            f"{kind} (e.g. {_plain(y[0])!r}); use --task regression (or auto)"
        )
    return Task("classification", "accuracy", "accuracy", tuple(np.unique(y).tolist()))


def _plain(value):
    """A Python scalar for a NumPy one, so that its repr reads ``'a'`` or ``2.5``."""
    return value.item() if isinstance(value, np.generic) else value


def _detect(kind):
    if kind == "continuous":
        return "regression"
    if kind in _CATEGORICAL:
        return "classification"
    raise StudyError(f"cannot study a {kind} target: expected numbers or labels")


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
        One summary per candidate (see :func:`summarize`), in grid order.
    best : int or None
        Index in ``rows`` of the highest mean validation score among
        candidates without failed fits; None when every candidate failed.
    model : Pipeline or None
        The best pipeline refitted on all data with ``validation_fraction=0.2``
        (for its training curves); None if there is no best or it failed.
    """

    key: str
    task: Task
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


def build_grids(keys, params, task=REGRESSION):
    """The grid of each estimator, from the ``--param`` options.

    Parameters
    ----------
    keys : list of str
        Estimators of the study, among ``"gd"`` and ``"mlp"``.
    params : dict of str to list
        Values to try by constructor parameter name; empty for the defaults.
    task : Task, default=REGRESSION
        Whose estimators the parameters are for.

    Returns
    -------
    grids : dict of str to dict
        For each key, the ``params`` that the estimator has, or its default
        grid when it has none of them.
    """
    estimators = task.estimators
    known = {key: set(estimators[key]().get_params()) for key in keys}
    for name in params:
        if not any(name in known[key] for key in keys):
            names = " or ".join(estimators[key].__name__ for key in keys)
            raise StudyError(f"unknown parameter {name!r} for {names}")
    grids = {}
    for key in keys:
        own = {name: values for name, values in params.items() if name in known[key]}
        grids[key] = own or DEFAULT_GRIDS[key]
    return grids


def make_pipeline(key, random_state, task=REGRESSION):
    """The unfitted pipeline of an estimator with its fixed parameters.

    Parameters
    ----------
    key : {"gd", "mlp"}
        Which estimator.
    random_state : int
        Seed of the estimator.
    task : Task, default=REGRESSION
        Whose estimator: the regressor or the classifier of ``key``.

    Returns
    -------
    pipeline : Pipeline
        ``StandardScaler`` then the estimator, in a step named ``"model"``.
    """
    estimator = task.estimators[key](**FIXED_PARAMS[key], random_state=random_state)
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


def check_cv(cv, y, task=REGRESSION):
    """Raise StudyError unless the data has enough samples for ``cv`` folds.

    Parameters
    ----------
    cv : int
        Number of folds: at least 2, at most the number of samples and, for a
        classification (stratified folds), at most the samples of each class.
    y : ndarray of shape (n_samples,)
        The target.
    task : Task, default=REGRESSION
        The task of the study.
    """
    if cv < 2:
        raise StudyError(f"--cv must be at least 2, got {cv}")
    if cv > len(y):
        raise StudyError(f"--cv {cv} is more than the {len(y)} samples")
    if task.classes is None:
        return
    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < cv:
        label, count = _plain(labels[counts.argmin()]), counts.min()
        raise StudyError(
            f"--cv {cv}: class {label!r} has only {count} sample(s), and "
            f"stratified folds need at least {cv} of each class; lower --cv, or "
            "pass --task regression if the target is a quantity, not a label"
        )


# ---------------------------------------------------------- cross-validation


def _prefixed(params):
    return {f"{_STEP}__{name}": value for name, value in params.items()}


def _fit_and_score(task, pipeline, params, X, y, train, test):
    """Fit one candidate on one fold; a fit that raises scores NaN.

    Returns ``(scores, fit_seconds, error)``: ``scores`` by
    ``task.score_names``, ``error`` None or ``(is_divergence, message)``. A
    fit cut short by Ctrl-C raises KeyboardInterrupt.
    """
    model = clone(pipeline).set_params(**_prefixed(params))
    start = time.perf_counter()
    try:
        with _quiet_unless_interrupted():
            model.fit(X[train], y[train])
            scores = task.fold_scores(model, X, y, train, test)
    except Exception as exc:
        nan = dict.fromkeys(task.score_names, math.nan)
        error = (isinstance(exc, DivergenceError), str(exc))
        return nan, time.perf_counter() - start, error
    return scores, time.perf_counter() - start, None


@contextmanager
def _quiet_unless_interrupted():
    """Silence the warnings of a fit, but stop the study if Ctrl-C cut it short.

    The estimators' convergence and other warnings are ignored; their
    :class:`~skgd.FitInterruptedWarning` becomes a :class:`KeyboardInterrupt`,
    which no ``except Exception`` of the study catches.

    Yields
    ------
    None
    """
    with warnings.catch_warnings():
        for category in (ConvergenceWarning, FitFailedWarning, UserWarning):
            warnings.simplefilter("ignore", category)
        warnings.simplefilter("error", FitInterruptedWarning)
        try:
            yield
        except FitInterruptedWarning:
            raise KeyboardInterrupt from None


def _fold_task(i, k, task, pipeline, params, X, y, train, test):
    """``(i, k, outcome)`` of candidate ``i`` on fold ``k``."""
    return i, k, _fit_and_score(task, pipeline, params, X, y, train, test)


def cross_validate_grid(
    pipeline, grid, X, y, cv, n_jobs=1, progress=None, task=REGRESSION
):
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
        E.g. ``KFold(5, shuffle=True, random_state=0)``, see
        :meth:`Task.splitter`.
    n_jobs : int or None, default=1
        Fits run at once, as in :class:`joblib.Parallel`.
    progress : callable or None, default=None
        Called as ``progress(done, total)`` after each finished fit.
    task : Task, default=REGRESSION
        How each fold is scored.

    Returns
    -------
    rows : list of dict
        One summary per candidate (see :func:`summarize`), in grid order.
    """
    candidates = list(ParameterGrid(grid))
    splits = list(cv.split(X, y))
    total, done = len(candidates) * len(splits), 0

    def advance(n_fits):
        nonlocal done
        done += n_fits
        if progress is not None:
            progress(done, total)

    prefixed = [_prefixed(params) for params in candidates]
    results, shares = train_stacked(
        pipeline, prefixed, X, y, splits, n_jobs=n_jobs, progress=advance
    )
    outcomes = [[None] * len(splits) for _ in candidates]
    fits, stacked = [], []
    for i, params in enumerate(candidates):
        for k, (train, test) in enumerate(splits):
            fit = (i, k, task, pipeline, params, X, y, train, test)
            (stacked if (i, k) in shares else fits).append(fit)
    with replaying(results):  # the stacked fits only take their results
        for fit in stacked:
            i, k, (scores, seconds, error) = _fold_task(*fit)
            outcomes[i][k] = scores, seconds + shares[i, k], error
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for i, k, outcome in parallel(delayed(_fold_task)(*fit) for fit in fits):
        outcomes[i][k] = outcome
        advance(1)
    return [summarize(p, o) for p, o in zip(candidates, outcomes)]


def summarize(params, outcomes):
    """Summarize the folds of one candidate.

    Parameters
    ----------
    params : dict
        The candidate, by unprefixed parameter name.
    outcomes : list of tuple
        ``(scores, fit_seconds, error)`` per fold: ``scores`` a dict with
        ``"train"`` and ``"val"`` (R² or accuracy) and maybe more (such as
        ``"val_log_loss"``), ``error`` None or ``(is_divergence, message)``.

    Returns
    -------
    row : dict
        ``params``, ``mean_train_score``, ``std_train_score``,
        ``mean_val_score``, ``std_val_score``, ``gap`` (train minus
        validation), ``mean_<name>`` of every other score (e.g.
        ``mean_val_log_loss``), ``mean_fit_time``, ``failed_folds``,
        ``failed`` (some fold raised, so the scores are NaN), ``diverged``
        (failed, and every error was a DivergenceError) and ``error`` (the
        first error message, or ""). :func:`skgd._report.result_records`
        names the scores by their metric (``mean_val_r2``...).
    """
    folds = {name: np.array([o[0][name] for o in outcomes]) for name in outcomes[0][0]}
    train, val = folds.pop("train"), folds.pop("val")
    errors = [outcome[2] for outcome in outcomes if outcome[2] is not None]
    return {
        "params": params,
        "mean_train_score": float(np.mean(train)),
        "std_train_score": float(np.std(train)),
        "mean_val_score": float(np.mean(val)),
        "std_val_score": float(np.std(val)),
        "gap": float(np.mean(train) - np.mean(val)),
        **{f"mean_{name}": float(np.mean(values)) for name, values in folds.items()},
        "mean_fit_time": float(np.mean([outcome[1] for outcome in outcomes])),
        "failed_folds": len(errors),
        "failed": bool(errors),
        "diverged": bool(errors) and all(diverged for diverged, _ in errors),
        "error": errors[0][1] if errors else "",
    }


def best_index(rows):
    """Index of the highest mean validation score among rows that did not fail.

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
    return max(ok, key=lambda i: rows[i]["mean_val_score"]) if ok else None


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
        Fitted, with the estimator's per-epoch ``history_`` (``val_loss`` and
        ``val_r2`` or ``val_accuracy``); None if there is no best candidate or
        the refit raises. A refit cut short by Ctrl-C raises
        :class:`KeyboardInterrupt`.
    """
    if study.best is None:
        return None
    params = {**study.rows[study.best]["params"], "validation_fraction": 0.2}
    model = clone(study.pipeline).set_params(**_prefixed(params))
    try:
        with _quiet_unless_interrupted():
            return model.fit(X, y)
    except (DivergenceError, ValueError):
        return None


def run_study(
    keys, grids, X, y, cv, *, task=REGRESSION, random_state=0, n_jobs=1, progress=None
):
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
        E.g. ``task.splitter(5, random_state)``.
    task : Task, default=REGRESSION
        The task, from :func:`make_task`: which estimators, how scored.
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
    pipelines = {key: make_pipeline(key, random_state, task) for key in keys}
    for key in keys:
        check_grid(pipelines[key], grids[key])
    studies = []
    for key in keys:
        report = None if progress is None else _bind(progress, key)
        pipeline, grid = pipelines[key], grids[key]
        rows = cross_validate_grid(
            pipeline, grid, X, y, cv, n_jobs=n_jobs, progress=report, task=task
        )
        study = EstimatorStudy(key, task, pipeline, grid, rows, best_index(rows))
        study.model = refit_best(study, X, y)
        studies.append(study)
    return studies


def _bind(progress, key):
    return lambda done, total: progress(key, done, total)
