"""The search of ``skgd study``: cross-validate each estimator over its grid.

The study is a regression or a classification (a :class:`Task`, see
:func:`make_task`): GDRegressor and MLPRegressor scored by R² over shuffled
K folds, or GDClassifier and MLPClassifier scored by accuracy over shuffled
stratified folds, with the validation log-loss as well. Each candidate of a
parameter grid is scored by cross-validation of a pipeline
(:func:`make_pipeline`): the preprocessing (:func:`make_preprocessor`: a
``StandardScaler``, or for a CSV with categorical columns or missing cells a
``ColumnTransformer`` that imputes, standardizes and one-hot encodes), then
the estimator, in a step named ``"model"``. Its results are the mean and
standard deviation of the training and validation score, their gap and the
fit time. A fit that
raises (a :class:`~skgd.DivergenceError`, say) scores NaN, as with
``GridSearchCV(error_score=np.nan)``, and the candidate is reported as
diverged (or failed) instead of stopping the study. A fit cut short by
Ctrl-C (its :class:`~skgd.FitInterruptedWarning`) stops the study with a
:class:`KeyboardInterrupt` instead: its scores would read as complete.

The candidates of each fold are trained stacked, as
:class:`skgd.model_selection.GridSearchCV` trains them
(:func:`skgd.model_selection.train_stacked`): one stacked run per group of
candidates and fold, through :class:`joblib.Parallel`, so ``n_jobs`` and a
dask backend apply. Each fold's preprocessing is then fitted once, and each
candidate's estimator fitted on its output takes its stacked result and is
scored. Each finished run reports its fits to a progress callback. Beyond
:data:`EPOCH_ROWS` training rows, the estimators train fewer epochs
(:func:`adapt_epochs`).

Beside the grid, :func:`run_baselines` scores a closed-form linear model,
gradient boosting and the dummy model on the same folds and preprocessing.

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
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.multiclass import type_of_target

from ._exceptions import DivergenceError, FitInterruptedWarning, StudyError
from ._linear import GDClassifier, GDRegressor
from ._mlp import MLPClassifier, MLPRegressor
from ._stacked import replaying
from ._study_data import MAX_CLASSES
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

#: The L2 penalties of the default grids: 0, then decades up to a penalty
#: that outweighs the loss of standardized features (the validation curve
#: bends down at 1 or 10).
_ALPHAS = [0.0, 1e-2, 1e-1, 1.0, 10.0]

#: The grids searched when no ``--param`` names a parameter of the estimator:
#: each knob spans too little to too much. The learning rate goes from too
#: small a step (far from converged in the epochs given) to too large (a
#: divergence, or a worse fit); alpha from none to an underfit; dropout from
#: none to half the hidden units; the width of the MLP's hidden layer, its
#: capacity, from 8 to 128 units. A fold's candidates of one width are one
#: stacked run, so the 25 GD and 135 MLP candidates take 1 and 3 runs a fold.
DEFAULT_GRIDS = {
    "gd": {"learning_rate": [1e-3, 1e-2, 1e-1, 1.0, 10.0], "alpha": _ALPHAS},
    "mlp": {
        "learning_rate": [1e-3, 1e-2, 1e-1],
        "alpha": _ALPHAS,
        "dropout": [0.0, 0.2, 0.5],
        "hidden_layer_sizes": [(8,), (32,), (128,)],
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

    def fold_scores(self, model, X_train, y_train, X_test, y_test):
        """The scores of a model fitted on the training rows of a fold.

        Parameters
        ----------
        model : Pipeline or estimator
            Fitted on ``X_train, y_train``.
        X_train, X_test : array-like of shape (n_samples, n_features)
            The training and the validation rows of the fold.
        y_train, y_test : ndarray of shape (n_samples,)
            Their targets.

        Returns
        -------
        scores : dict of str to float
            By :attr:`score_names`: ``model.score`` (R² or accuracy) on the
            training and on the validation rows, and for a classification the
            validation log-loss (NaN without ``predict_proba``, e.g. for
            ``loss="hinge"``).
        """
        scores = {
            "train": float(model.score(X_train, y_train)),
            "val": float(model.score(X_test, y_test)),
        }
        if self.classes is not None:
            scores["val_log_loss"] = _log_loss(model, X_test, y_test, self.classes)
        return scores


REGRESSION = Task("regression", "r2", "R²")


def _log_loss(model, X, y, classes):
    if not hasattr(model, "predict_proba"):
        return math.nan
    return float(log_loss(y, model.predict_proba(X), labels=list(classes)))


def make_task(y, task="auto", default=None, n_splits=None):
    """The task of the study: :func:`choose_task`'s, without the reason.

    The parameters are :func:`choose_task`'s.

    Returns
    -------
    task : Task
    """
    return choose_task(y, task, default, n_splits)[0]


def choose_task(y, task="auto", default=None, n_splits=None):
    """The task of the study and why, as a person would choose it.

    With ``task="auto"`` and no ``default``:

    - strings, booleans and other labels are classes: a classification;
    - numbers that are not all whole are a regression;
    - whole numbers are classes only when they take at most
      :data:`MAX_CLASSES` distinct values and the rarest is in at least
      ``n_splits`` rows (one in each stratified fold) and, of more than two
      values, in at least :data:`MIN_CLASS_SHARE` of the rows; otherwise
      they are a quantity (a count, a price in whole dollars, a length of
      stay): a regression.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        The target.
    task : {"auto", "regression", "classification"}, default="auto"
        The ``--task`` option; ``"auto"`` takes ``default``, or chooses.
    default : {"regression", "classification"} or None, default=None
        The task of a bundled data set, taken by ``"auto"``.
    n_splits : int or None, default=None
        The folds of the study; None does not weigh the rarest value.

    Returns
    -------
    task : Task
    reason : str
        Why, in words, e.g. "the target holds 17 distinct whole numbers, and
        the rarest, 11, is in 1 row, fewer than the 5 folds need".

    Examples
    --------
    >>> import numpy as np
    >>> visits = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 7])
    >>> task, reason = choose_task(visits, n_splits=3)
    >>> task.name
    'regression'
    >>> reason
    'the target holds 4 distinct whole numbers, and the rarest, 7, is in 1 row, \
fewer than the 3 folds need'
    >>> choose_task(np.array(["cat", "dog", "cat"]))[0].name
    'classification'
    """
    kind = type_of_target(y)
    if task != "auto":
        name, reason = task, f"--task {task}"
    elif default is not None:
        name, reason = default, "the task of the bundled data set"
    else:
        name, reason = _choose(y, kind, n_splits)
    if name == "regression":
        if not np.issubdtype(y.dtype, np.number) or y.dtype.kind == "b":
            raise StudyError(
                f"--task regression needs a numeric target, got labels such as "
                f"{_plain(y[0])!r}; use --task classification (or auto)"
            )
        return REGRESSION, reason
    if kind not in _CATEGORICAL:
        raise StudyError(
            f"--task classification needs class labels, but the target is "
            f"{kind} (e.g. {_plain(y[0])!r}); use --task regression (or auto)"
        )
    classes = tuple(np.unique(y).tolist())
    return Task("classification", "accuracy", "accuracy", classes), reason


def _choose(y, kind, n_splits):
    """``(name, reason)`` of ``--task auto`` for a CSV's target."""
    if kind not in (*_CATEGORICAL, "continuous"):
        raise StudyError(f"cannot study a {kind} target: expected numbers or labels")
    if y.dtype.kind == "b":
        return "classification", "the target holds booleans"
    if not np.issubdtype(y.dtype, np.number):
        return "classification", "the target holds labels (text)"
    if kind == "continuous":
        return "regression", "the target holds numbers, not all whole"
    values, counts = np.unique(y, return_counts=True)
    held = f"the target holds {len(values)} distinct whole numbers"
    if len(values) > MAX_CLASSES:
        return (
            "regression",
            f"{held}, too many for class labels (at most {MAX_CLASSES})",
        )
    rarest = counts.argmin()
    if n_splits is not None and counts[rarest] < n_splits:
        value, count = _plain(values[rarest]), int(counts[rarest])
        return "regression", (
            f"{held}, and the rarest, {_number(value)}, is in {count} "
            f"row{'s' if count > 1 else ''}, fewer than the {n_splits} folds need"
        )
    value, count = _number(_plain(values[rarest])), int(counts[rarest])
    if len(values) > 2 and count < MIN_CLASS_SHARE * len(y):
        return "regression", (
            f"{held}, and the rarest, {value}, is in {count} of the {len(y)} "
            f"rows, less than {MIN_CLASS_SHARE:.0%}: a tail, as of a count"
        )
    least = f", each in {count} rows or more" if n_splits else ""
    return "classification", f"{held}{least}: class labels"


#: With more than two distinct whole numbers, the rarest must hold at least
#: this share of the rows for ``--task auto`` to take them as class labels: a
#: count's long tail (a value or two in thousands of rows) makes a regression.
MIN_CLASS_SHARE = 0.01


def _number(value):
    """A whole float as an int (``11.0`` reads ``11``), other values as they are."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def task_line(task, reason):
    """The first line ``skgd study`` prints: the task, why, and how to change it.

    Parameters
    ----------
    task : Task
    reason : str
        From :func:`choose_task`.

    Returns
    -------
    line : str
        E.g. "task: regression (the target holds numbers, not all whole);
        --task classification predicts classes instead".

    Examples
    --------
    >>> task_line(REGRESSION, "the target holds numbers, not all whole")
    'task: regression (the target holds numbers, not all whole); \
--task classification predicts classes instead'
    """
    if task.name == "regression":
        other = "--task classification predicts classes instead"
    else:
        other = "--task regression predicts a number instead"
    return f"task: {task.name} ({reason}); {other}"


def _plain(value):
    """A Python scalar for a NumPy one, so that its repr reads ``'a'`` or ``2.5``."""
    return value.item() if isinstance(value, np.generic) else value


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
    seconds : float
        The time its search and refit took (NaN when not measured).
    fits : int
        Its fits: candidates times folds.
    stacked : int
        How many of its fits were trained in stacked runs.
    """

    key: str
    task: Task
    pipeline: Pipeline
    grid: dict
    rows: list
    best: int | None
    model: Pipeline | None = None
    seconds: float = math.nan
    fits: int = 0
    stacked: int = 0

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


def make_pipeline(key, random_state, task=REGRESSION, features=None, grid=None):
    """The unfitted pipeline of an estimator with its fixed parameters.

    Parameters
    ----------
    key : {"gd", "mlp"}
        Which estimator.
    random_state : int
        Seed of the estimator.
    task : Task, default=REGRESSION
        Whose estimator: the regressor or the classifier of ``key``.
    features : Features or None, default=None
        The columns of a CSV, by kind (see :func:`make_preprocessor`); None
        for a bundled data set.
    grid : dict of str to list or None, default=None
        The grid of the estimator: each parameter of a single value is set
        too, so that the pipeline shows every parameter the candidates share.

    Returns
    -------
    pipeline : Pipeline
        The preprocessing (:func:`make_preprocessor`), then the estimator,
        in a step named ``"model"``.
    """
    estimator = task.estimators[key](**FIXED_PARAMS[key], random_state=random_state)
    shared = {name: values[0] for name, values in (grid or {}).items()}
    estimator.set_params(**{k: v for k, v in shared.items() if len(grid[k]) == 1})
    return Pipeline([make_preprocessor(features), (_STEP, estimator)])


def make_preprocessor(features=None):
    """The preprocessing step of the study's pipeline, and its name.

    Parameters
    ----------
    features : Features or None, default=None
        The columns of a CSV by kind, from :func:`skgd._study_data.load_data`;
        None for a bundled data set (numbers, none missing).

    Returns
    -------
    name : str
        ``"scale"`` or ``"prepare"``.
    step : StandardScaler or ColumnTransformer
        A ``StandardScaler`` for numeric features without a missing cell;
        otherwise a ``ColumnTransformer`` that standardizes the numeric
        columns (after a ``SimpleImputer(strategy="median")`` where a cell is
        missing) and one-hot encodes the categorical ones
        (``OneHotEncoder(handle_unknown="ignore")``: a category met only in
        the validation rows of a fold is all zeros; after a
        ``SimpleImputer`` that makes missing cells a category ``"missing"``
        where a cell is missing). It is fitted on each fold's training rows,
        and it is deterministic, as the stacked search needs.
    """
    if features is None or not (features.categorical or features.numeric_missing):
        return "scale", StandardScaler()
    transformers = []
    if features.numeric:
        numeric = StandardScaler()
        if features.numeric_missing:
            impute = SimpleImputer(strategy="median")
            numeric = Pipeline([("impute", impute), ("scale", numeric)])
        transformers.append(("numeric", numeric, list(features.numeric)))
    if features.categorical:
        categorical = OneHotEncoder(handle_unknown="ignore")
        if features.categorical_missing:
            impute = SimpleImputer(strategy="constant", fill_value="missing")
            categorical = Pipeline([("impute", impute), ("encode", categorical)])
        transformers.append(("categorical", categorical, list(features.categorical)))
    return "prepare", ColumnTransformer(transformers)


#: Columns named in :func:`pipeline_text` for each transformer, at most.
_SHOWN_COLUMNS = 8


def pipeline_text(pipeline):
    """The steps of a pipeline in one line, such as the study prints.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_pipeline`.

    Returns
    -------
    text : str
        The steps joined by ``" -> "``, each as its repr (only the
        parameters that differ from the defaults); a ColumnTransformer as
        ``ColumnTransformer(numeric [a, b]: ...; categorical [c]: ...)``.

    Examples
    --------
    >>> from skgd._study_data import Features
    >>> pipeline = make_pipeline("gd", 0, features=Features(("a", "b"), ("c",)))
    >>> numeric, categorical = pipeline_text(pipeline).split("; ")
    >>> numeric
    'ColumnTransformer(numeric [a, b]: StandardScaler()'
    >>> categorical.split(" -> ")
    ["categorical [c]: OneHotEncoder(handle_unknown='ignore'))", \
'GDRegressor(epochs=50, random_state=0)']
    """
    return " -> ".join(_step_text(step) for _, step in pipeline.steps)


def _step_text(step):
    if isinstance(step, Pipeline):
        return " -> ".join(_step_text(inner) for _, inner in step.steps)
    if not isinstance(step, ColumnTransformer):
        return " ".join(repr(step).split())
    parts = []
    for name, transformer, columns in step.transformers:
        names = [str(column) for column in columns]
        shown = ", ".join(names[:_SHOWN_COLUMNS])
        if len(names) > _SHOWN_COLUMNS:
            shown += f", ... ({len(names)} columns)"
        parts.append(f"{name} [{shown}]: {_step_text(transformer)}")
    return f"ColumnTransformer({'; '.join(parts)})"


#: Rows of a fold's training set up to which the estimators train their
#: default epochs; beyond, fewer (see :func:`adapt_epochs`).
EPOCH_ROWS = 5_000
#: The fewest epochs :func:`adapt_epochs` chooses.
MIN_EPOCHS = 5


def adapt_epochs(keys, grids, n_train, task=REGRESSION):
    """Fewer epochs for a large data set, unless ``--param epochs`` is given.

    An epoch of ``n_train`` rows takes ``n_train / batch_size`` steps: the
    default epochs of :data:`FIXED_PARAMS` take a study of
    :data:`EPOCH_ROWS` training rows a fold to convergence in seconds, and a
    larger data set converges in fewer epochs (each is more steps) while
    each epoch takes longer. Beyond :data:`EPOCH_ROWS` rows, the study
    trains ``epochs * EPOCH_ROWS / n_train`` epochs, rounded up and at least
    :data:`MIN_EPOCHS`: about as many steps as at :data:`EPOCH_ROWS` rows.

    Parameters
    ----------
    keys : list of str
        The estimators of the study.
    grids : dict of str to dict
        From :func:`build_grids`; not changed.
    n_train : int
        Training rows of a fold.
    task : Task, default=REGRESSION
        Whose estimators, for the note.

    Returns
    -------
    grids : dict of str to dict
        The grids, with ``"epochs": [n]`` added for each estimator whose
        epochs are reduced.
    note : str or None
        What was chosen, for the user; None when nothing changed.
    """
    adapted, chosen = {}, []
    for key in keys:
        grid = dict(grids[key])
        default = FIXED_PARAMS[key]["epochs"]
        epochs = max(MIN_EPOCHS, math.ceil(default * EPOCH_ROWS / n_train))
        if "epochs" not in grid and epochs < default:
            grid["epochs"] = [epochs]
            name = task.estimators[key].__name__
            chosen.append(f"{name} {epochs} epochs instead of {default}")
        adapted[key] = grid
    if not chosen:
        return adapted, None
    note = (
        f"training {' and '.join(chosen)}, for the {n_train} training rows of "
        f"a fold (more than {EPOCH_ROWS}: each epoch is more steps, and "
        "takes longer); choose with --param epochs=N"
    )
    return adapted, note


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
        label, count = _number(_plain(labels[counts.argmin()])), counts.min()
        raise StudyError(
            f"--cv {cv}: class {label!r} has only {count} row(s), and {cv} "
            f"stratified folds need at least {cv} of each class; lower --cv, or "
            "pass --task regression if the target is a quantity, not a label"
        )


# ---------------------------------------------------------- cross-validation


def _prefixed(params):
    return {f"{_STEP}__{name}": value for name, value in params.items()}


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
        with _quiet_unless_interrupted():
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
    """``(i, k, outcome)`` of candidate ``i`` on fold ``k``: the whole pipeline."""
    model = clone(pipeline).set_params(**_prefixed(params))
    fold = _rows(X, train), y[train], _rows(X, test), y[test]
    return i, k, _fit_and_score(task, model, *fold)


def _stacked_fold(task, pipeline, candidates, X, y, train, test):
    """The outcome of each candidate on one fold, from its stacked result.

    The preprocessing steps of the pipeline are fitted once, on the training
    rows, as in the stacked run (:func:`skgd.model_selection.train_stacked`):
    being deterministic, they give it the same data, so that each fit of
    the estimator finds its stacked result. Call within
    :func:`skgd._stacked.replaying`.

    Returns
    -------
    outcomes : list of tuple
        ``(scores, fit_seconds, error)`` of each candidate, in order.
    """
    y_train, y_test = y[train], y[test]
    try:
        with _quiet_unless_interrupted():
            pre = clone(Pipeline(pipeline.steps[:-1]))
            X_train = pre.fit_transform(_rows(X, train), y_train)
            X_test = pre.transform(_rows(X, test))
    except Exception as exc:
        return [(_failed(task), 0.0, _error(exc)) for _ in candidates]
    fold = X_train, y_train, X_test, y_test
    models = [clone(pipeline[-1]).set_params(**params) for params in candidates]
    return [_fit_and_score(task, model, *fold) for model in models]


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
        From :func:`make_pipeline`.
    grid : dict of str to list
        Values by unprefixed parameter name.
    X : ndarray or DataFrame of shape (n_samples, n_features)
        The features, as the pipeline takes them.
    y : ndarray of shape (n_samples,)
    cv : cross-validation splitter
        E.g. ``KFold(5, shuffle=True, random_state=0)``, see
        :meth:`Task.splitter`.
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
        One summary per candidate (see :func:`summarize`), in grid order.
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
    prefixed = [_prefixed(candidates[i]) for i in order]
    results, ordered = train_stacked(
        pipeline, prefixed, X, y, splits, n_jobs=n_jobs, progress=advance
    )
    shares = {(order[j], k): seconds for (j, k), seconds in ordered.items()}
    if stats is not None:
        stats.update(fits=total, stacked=len(shares))
    outcomes = [[None] * len(splits) for _ in candidates]
    fits = [
        (i, k, task, pipeline, params, X, y, train, test)
        for i, params in enumerate(candidates)
        for k, (train, test) in enumerate(splits)
        if (i, k) not in shares
    ]
    with replaying(results):  # the stacked fits only take their results
        for k, (train, test) in enumerate(splits):
            members = [i for i in range(len(candidates)) if (i, k) in shares]
            if not members:
                continue
            chosen = [candidates[i] for i in members]
            fold = _stacked_fold(task, pipeline, chosen, X, y, train, test)
            for i, (scores, seconds, error) in zip(members, fold):
                outcomes[i][k] = scores, seconds + shares[i, k], error
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for i, k, outcome in parallel(delayed(_fold_task)(*fit) for fit in fits):
        outcomes[i][k] = outcome
        advance(1)
    return [summarize(p, o) for p, o in zip(candidates, outcomes)]


def _width(estimator, params):
    """The hidden units of a candidate (0 for a linear model): its cost."""
    sizes = params.get(
        "hidden_layer_sizes", getattr(estimator, "hidden_layer_sizes", ())
    )
    return int(np.sum(np.atleast_1d(sizes))) if sizes is not None else 0


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
    params = {**study.rows[study.best]["params"], "validation_fraction": 0.2}
    model = clone(study.pipeline).set_params(**_prefixed(params))
    try:
        with _quiet_unless_interrupted():
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
):
    """Cross-validate each estimator's grid and refit its best candidate.

    Parameters
    ----------
    keys : list of str
        Estimators, among ``"gd"`` and ``"mlp"``.
    grids : dict of str to dict
        From :func:`build_grids`.
    X : ndarray or DataFrame of shape (n_samples, n_features)
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
        Called as ``progress(key, done, total, work=fraction)`` at the start
        of each estimator's search (``done`` 0) and as fits finish (see
        :func:`cross_validate_grid`).
    features : Features or None, default=None
        The columns of a CSV by kind, for the preprocessing; None for a
        bundled data set.

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
            key, task, pipeline, grid, rows, best_index(rows), **stats
        )
        study.model = refit_best(study, X, y)
        study.seconds = time.perf_counter() - start
        studies.append(study)
    return studies


def _bind(progress, key):
    return lambda done, total, **work: progress(key, done, total, **work)


# ---------------------------------------------------------------- baselines

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
        Its scores over the folds, as :func:`summarize` gives them.
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
    (:func:`make_preprocessor`, fitted on each fold's training rows), and is
    scored on the same folds (``cv`` gives the same splits each time it is
    asked, its shuffling seeded) as the grid, by :meth:`Task.fold_scores`.

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
        pipelines.append(Pipeline([(name, pre), (_STEP, model)]))
    splits = list(cv.split(X, y))
    fits = [
        (j, k, task, pipeline, {}, X, y, train, test)
        for j, pipeline in enumerate(pipelines)
        for k, (train, test) in enumerate(splits)
    ]
    outcomes = [[None] * len(splits) for _ in models]
    for j, k, outcome in Parallel(n_jobs=n_jobs)(
        delayed(_fold_task)(*fit) for fit in fits
    ):
        outcomes[j][k] = outcome
    return [
        Baseline(kind, type(model).__name__, what, summarize({}, outcome))
        for (kind, what, model), outcome in zip(models, outcomes)
    ]
