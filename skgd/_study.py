"""The work behind ``skgd study``: cross-validate a grid, then write a report.

Each candidate of a parameter grid is scored by K-fold cross-validation of
``Pipeline([("scale", StandardScaler()), ("model", estimator)])``: mean and
standard deviation of the training and validation R², their gap and the fit
time. A fit that raises (a :class:`~skgd.DivergenceError`, say) scores NaN, as
with ``GridSearchCV(error_score=np.nan)``, and the candidate is reported as
diverged (or failed) instead of stopping the study. The fits run through
:class:`joblib.Parallel`, so ``n_jobs`` and a dask backend apply, and each
finished fit is reported to a progress callback.

pandas and matplotlib are imported only by the functions that need them
(``pip install "skgd[study]"``).
"""

import math
import os
import re
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ._exceptions import DivergenceError
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

_LOG_SCALE = ("learning_rate", "alpha")
_STEP = "model"


class StudyError(Exception):
    """Bad input to the study, to be reported to the user in one line."""


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


# --------------------------------------------------------------------- data


def load_data(path=None, target=None):
    """Load the features and target of the study.

    Parameters
    ----------
    path : str or None
        A CSV file of numeric columns; None loads scikit-learn's bundled
        diabetes data.
    target : str or None
        The column of ``path`` to predict; every other column is a feature.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    description : str
        What the data is, for the report.
    """
    if path is None:
        if target is not None:
            raise StudyError("--target needs --data FILE.csv")
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return X, y, "scikit-learn's diabetes data (442 samples, 10 features)"
    if target is None:
        raise StudyError("--data needs --target COLUMN")
    frame = _read_csv(path)
    _check_frame(frame, path, target)
    X = frame.drop(columns=[target]).to_numpy(dtype=float)
    y = frame[target].to_numpy(dtype=float)
    description = f"{path} ({X.shape[0]} samples, {X.shape[1]} features)"
    return X, y, f"{description}, target {target!r}"


def _read_csv(path):
    try:
        import pandas as pd
    except ImportError:
        raise StudyError('--data needs pandas: pip install "skgd[study]"') from None
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise StudyError(f"no such file: {path}") from None
    except pd.errors.EmptyDataError:
        raise StudyError(f"no data in {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise StudyError(f"cannot read {path}: {exc}") from None


def _check_frame(frame, path, target):
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:10]))
        raise StudyError(f"no column {target!r} in {path} (columns: {columns})")
    if len(frame) == 0 or frame.shape[1] < 2:
        raise StudyError(f"{path} needs data rows and at least one feature column")
    bad = [
        str(c)
        for c in frame.columns
        if not is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c])
    ]
    if bad:
        what = "target" if bad == [target] else "column(s)"
        raise StudyError(f"non-numeric {what} in {path}: {', '.join(bad)}")
    missing = [str(c) for c in frame.columns if not np.isfinite(frame[c]).all()]
    if missing:
        columns = ", ".join(missing)
        raise StudyError(f"missing or infinite values in {path}: {columns}")


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


#: How ``--scheduler`` names a cluster started for the run: ``local:N``.
_LOCAL = "local"


@contextmanager
def parallel_backend(scheduler):
    """Run the fits on a dask cluster when ``scheduler`` names one.

    Inside, joblib's dask backend sends every :class:`joblib.Parallel` call
    (the cross-validation fits) to the cluster's workers.

    Parameters
    ----------
    scheduler : str or None
        Address of a running ``dask.distributed`` scheduler, such as
        ``"tcp://10.0.0.5:8786"``; ``"local:N"`` to start a
        ``distributed.LocalCluster`` of N single-threaded worker processes on
        this machine (on 127.0.0.1, without dashboard) for the run and shut it
        down after, also when the run fails or is interrupted (its workers
        ignore Ctrl-C, which interrupts this process); None runs locally.

    Yields
    ------
    None
    """
    if scheduler is None:
        yield
        return
    n_workers = local_workers(scheduler)
    try:
        import distributed
    except ImportError:
        raise StudyError(
            '--scheduler needs dask.distributed: pip install "dask[distributed]"'
        ) from None
    with _client(distributed, scheduler, n_workers), _dask_backend():
        yield


def local_workers(scheduler):
    """The number of workers of a ``local:N`` scheduler.

    Parameters
    ----------
    scheduler : str
        The ``--scheduler`` option.

    Returns
    -------
    n_workers : int or None
        N, a positive int, for ``"local:N"``; None for any other address.

    Examples
    --------
    >>> local_workers("local:4"), local_workers("tcp://127.0.0.1:8786")
    (4, None)
    >>> local_workers("local:0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skgd._study.StudyError: --scheduler local:0: N of local:N must be a positive...
    """
    name, _, count = scheduler.partition(":")
    if name != _LOCAL:
        return None
    if not re.fullmatch("[0-9]+", count) or int(count) < 1:
        raise StudyError(
            f"--scheduler {scheduler}: N of local:N must be a positive integer "
            "(the number of worker processes), e.g. local:4"
        )
    return int(count)


@contextmanager
def _client(distributed, scheduler, n_workers):
    """A client of the scheduler, or of a local cluster of ``n_workers``."""
    if n_workers is None:
        try:
            client = distributed.Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            message = f"cannot connect to scheduler {scheduler}: {exc}"
            raise StudyError(message) from None
        with client:
            yield client
        return
    with (
        _environ_kept(),
        _local_cluster(distributed, n_workers) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _local_cluster(distributed, n_workers):
    """A LocalCluster of single-threaded worker processes on the loopback.

    Without a dashboard, the scheduler still serves its HTTP routes (health,
    metrics), by default on port 8787; a free port instead avoids a warning
    when another cluster has that one. The workers start with Ctrl-C ignored
    (see :func:`_sigint_ignored`).
    """
    try:
        with _sigint_ignored():
            return distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )
    except (OSError, TimeoutError) as exc:
        raise StudyError(f"cannot start a local dask cluster: {exc}") from None


@contextmanager
def _sigint_ignored():
    """Ignore SIGINT in the block, when this is the main thread.

    Worker processes started in the block inherit the disposition, so that
    Ctrl-C on a terminal, which signals every process of the foreground
    group, interrupts only this process; it then shuts the cluster down.
    Otherwise each worker would die with a traceback, and the scheduler log
    errors about the data lost with them.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if previous is None:  # not the main thread, or a handler not set by Python
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _environ_kept():
    """Undo what the block writes to ``os.environ``.

    The nannies of a local cluster run in this process and set the variables
    of ``distributed.nanny.pre-spawn-environ`` (``OMP_NUM_THREADS=1``...) here
    for their workers to inherit; they should not outlive the cluster.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


def _dask_backend():
    """joblib's dask backend, for the block of a ``with`` statement."""
    import joblib

    # parallel_config is joblib's preferred API since 1.3; scikit-learn 1.6
    # still accepts joblib 1.2, which has only parallel_backend.
    configure = getattr(joblib, "parallel_config", None) or joblib.parallel_backend
    return configure(backend="dask")


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
