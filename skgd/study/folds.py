"""One fold of ``skgd study``: fit a candidate, score it, summarize its folds.

A fit that raises (a :class:`~skgd.DivergenceError`, say) scores NaN, as with
``GridSearchCV(error_score=np.nan)``, and the candidate is reported as
diverged (or failed) instead of stopping the study. A fit cut short by
Ctrl-C (its :class:`~skgd.FitInterruptedWarning`) stops the study with a
:class:`KeyboardInterrupt` instead: its scores would read as complete.
"""

import math
import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.pipeline import Pipeline

from .._exceptions import DivergenceError, FitInterruptedWarning
from .pipeline import prefixed


def _rows(X, rows):
    """The rows of an array or DataFrame (by position)."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _fit_and_score(task, model, X_train, y_train, X_test, y_test):
    """Fit a fresh model on a fold's training rows; a fit that raises scores NaN.

    Returns ``(scores, fit_seconds, error)``: ``scores`` by
    ``task.score_names``, ``error`` None or ``(is_divergence, message)``. A
    fit cut short by Ctrl-C raises KeyboardInterrupt.
    """
    start = time.perf_counter()
    try:
        with quiet_unless_interrupted():
            model.fit(X_train, y_train)
            scores = task.fold_scores(model, X_train, y_train, X_test, y_test)
    except Exception as exc:
        return _failed(task), time.perf_counter() - start, _error(exc)
    return scores, time.perf_counter() - start, None


def _failed(task):
    return dict.fromkeys(task.score_names, math.nan)


def _error(exc):
    return isinstance(exc, DivergenceError), str(exc)


@contextmanager
def quiet_unless_interrupted():
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


def fold_task(i, k, task, pipeline, params, X, y, train, test):
    """``(i, k, outcome)`` of candidate ``i`` on fold ``k``: the whole pipeline."""
    model = clone(pipeline).set_params(**prefixed(params))
    fold = _rows(X, train), y[train], _rows(X, test), y[test]
    return i, k, _fit_and_score(task, model, *fold)


def stacked_fold(task, outcomes, X, y, train, test):
    """The outcome of each candidate on one fold, from its stacked fit.

    ``outcomes`` are the :class:`~skgd.engine.stack.ending.Outcome` of the candidates'
    stacked fits on the fold (see
    :func:`skgd.model_selection.train_stacked`).

    Returns
    -------
    scores : list of tuple
        ``(scores, fit_seconds, error)`` of each outcome, in order.
    """
    fold = _rows(X, train), y[train], _rows(X, test), y[test]
    transformed = {}  # the fold's rows, through each stacked run's fitted steps
    return [_stacked_scores(task, outcome, fold, transformed) for outcome in outcomes]


def _stacked_scores(task, outcome, fold, transformed):
    """``(scores, seconds, error)`` of one stacked fit on its ``fold``.

    The fits of one stacked run share the pipeline's other steps, fitted
    once: they transform the fold's rows once, into ``transformed``.
    """
    start = time.perf_counter()
    try:
        with quiet_unless_interrupted():
            model = outcome.take()
            if isinstance(model, Pipeline):
                steps = model[:-1]
                key = id(steps.steps[0][1])
                if key not in transformed:
                    X_train, y_train, X_test, y_test = fold
                    X_train, X_test = steps.transform(X_train), steps.transform(X_test)
                    transformed[key] = X_train, y_train, X_test, y_test
                model, fold = model[-1], transformed[key]
            scores = task.fold_scores(model, *fold)
    except Exception as exc:
        return _failed(task), time.perf_counter() - start, _error(exc)
    return scores, time.perf_counter() - start, None


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
        first error message, or ""). :func:`skgd.study.records.result_records`
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
        From :func:`~skgd.study.run.cross_validate_grid`.

    Returns
    -------
    index : int or None
        The first such row on ties; None when every row failed.
    """
    ok = [i for i, row in enumerate(rows) if not row["failed"]]
    return max(ok, key=lambda i: rows[i]["mean_val_score"]) if ok else None
