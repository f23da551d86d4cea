"""The baselines of ``skgd study``: scored beside the grid, on the same folds.

:func:`run_baselines` scores a closed-form linear model, gradient boosting
and the dummy model on the study's folds and preprocessing.
"""

from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import Pipeline

from .folds import fold_task, summarize
from .pipeline import STEP, make_preprocessor
from .task import REGRESSION

#: The penalties RidgeCV chooses from (by its efficient leave-one-out), from
#: almost none to an underfit: 13 values, 1e-3 to 1e3.
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))


@dataclass
class Baseline:
    """The cross-validated scores of a baseline model.

    Attributes
    ----------
    kind : {"linear", "boosting", "dummy"}
        What it stands for: a closed-form linear model, gradient boosting
        with its defaults, or the dummy model.
    name : str
        Its class name, e.g. ``"RidgeCV"``.
    what : str
        What it predicts, in words, e.g. ``"the mean"``; "" for a model.
    row : dict
        Its scores over the folds, as :func:`~skgd.study.folds.summarize` gives them.
    """

    kind: str
    name: str
    what: str
    row: dict


def baseline_models(task=REGRESSION, random_state=0):
    """The baselines of a study, unfitted: ``(kind, what, estimator)``.

    Parameters
    ----------
    task : Task, default=REGRESSION
        Whose baselines.
    random_state : int, default=0
        Seed of gradient boosting.

    Returns
    -------
    models : list of tuple
        ``RidgeCV(alphas=RIDGE_ALPHAS)``, ``HistGradientBoostingRegressor()``
        and ``DummyRegressor()`` (the mean) for a regression;
        ``LogisticRegression(max_iter=1000)``,
        ``HistGradientBoostingClassifier()`` and
        ``DummyClassifier(strategy="most_frequent")`` for a classification.
    """
    if task.classes is None:
        return [
            ("linear", "", RidgeCV(alphas=RIDGE_ALPHAS)),
            ("boosting", "", HistGradientBoostingRegressor(random_state=random_state)),
            ("dummy", "the mean", DummyRegressor()),
        ]
    return [
        ("linear", "", LogisticRegression(max_iter=1000)),
        ("boosting", "", HistGradientBoostingClassifier(random_state=random_state)),
        ("dummy", "the most frequent class", DummyClassifier()),
    ]


#: The most memory the dense input of gradient boosting may take: 1 GiB.
DENSE_BYTES = 2**30


def dense_bytes(X, features=None):
    """The bytes of the preprocessed features as a dense float64 array.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
    features : Features or None, default=None
        The columns of a CSV by kind; None for numbers alone.

    Returns
    -------
    n_bytes : int
        Rows times columns times 8, a categorical column counting one
        column per category (and one for a missing cell).
    """
    if features is None:
        return X.shape[0] * X.shape[1] * 8
    width = len(features.numeric)
    width += sum(X[c].nunique() + int(X[c].isna().any()) for c in features.categorical)
    return X.shape[0] * width * 8


def run_baselines(
    X, y, cv, *, task=REGRESSION, features=None, random_state=0, n_jobs=1
):
    """Score the baselines on the folds and preprocessing of the study.

    Each baseline takes the place of the estimator in the study's pipeline
    (:func:`~skgd.study.pipeline.make_preprocessor`, fitted on each fold's training
    rows), and is scored on the same folds (``cv`` gives the same splits each time it is
    asked, its shuffling seeded) as the grid, by
    :meth:`~skgd.study.task.Task.fold_scores`.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
        The study's, e.g. ``task.splitter(5, random_state)``.
    task : Task, default=REGRESSION
        Which baselines, how scored.
    features : Features or None, default=None
        The columns of a CSV by kind, for the preprocessing.
    random_state : int, default=0
        Seed of gradient boosting.
    n_jobs : int or None, default=1
        Fits run at once, as in :class:`joblib.Parallel`.

    Returns
    -------
    baselines : list of Baseline
        In the order of :func:`baseline_models`. A fit that raises scores
        NaN, as a candidate's would. Gradient boosting takes dense input, the
        one-hot code of the categories as a dense array: it is left out when
        that would take more than :data:`DENSE_BYTES` (see
        :func:`dense_bytes`).
    """
    models = baseline_models(task, random_state)
    if dense_bytes(X, features) > DENSE_BYTES:
        models = [model for model in models if model[0] != "boosting"]
    pipelines = []
    for kind, _, model in models:
        name, pre = make_preprocessor(features)
        if kind == "boosting" and isinstance(pre, ColumnTransformer):
            pre.set_params(sparse_threshold=0)  # the same numbers, dense
        pipelines.append(Pipeline([(name, pre), (STEP, model)]))
    splits = list(cv.split(X, y))
    fits = [
        (j, k, task, pipeline, {}, X, y, train, test)
        for j, pipeline in enumerate(pipelines)
        for k, (train, test) in enumerate(splits)
    ]
    outcomes = [[None] * len(splits) for _ in models]
    for j, k, outcome in Parallel(n_jobs=n_jobs)(
        delayed(fold_task)(*fit) for fit in fits
    ):
        outcomes[j][k] = outcome
    return [
        Baseline(kind, type(model).__name__, what, summarize({}, outcome))
        for (kind, what, model), outcome in zip(models, outcomes)
    ]
