"""The task of ``skgd study``: a regression or a classification, and why.

:func:`choose_task` chooses as a person would (see its docstring); a
:class:`Task` knows its estimators, its score and its folds. scikit-learn is
imported only when a task is used, so that the command line can state the
rule (:data:`MAX_CLASSES`) in ``--help`` before it loads.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._exceptions import StudyError

#: Whole numbers are class labels (with ``--task auto``) only when they take at
#: most this many distinct values, and each is in enough rows for the folds
#: (see :func:`choose_task`).
MAX_CLASSES = 20

_CATEGORICAL = ("binary", "multiclass")


def estimator_classes(task_name):
    """The estimator class of each key of ``--estimator`` for a task.

    Parameters
    ----------
    task_name : {"regression", "classification"}

    Returns
    -------
    classes : dict of str to type
        ``{"gd": GDRegressor, "mlp": MLPRegressor}`` or the classifiers.
    """
    from .._linear import GDClassifier, GDRegressor
    from .._mlp import MLPClassifier, MLPRegressor

    if task_name == "regression":
        return {"gd": GDRegressor, "mlp": MLPRegressor}
    return {"gd": GDClassifier, "mlp": MLPClassifier}


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
        return estimator_classes(self.name)

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
        from sklearn.model_selection import KFold, StratifiedKFold

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
    from sklearn.metrics import log_loss

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
    from sklearn.utils.multiclass import type_of_target

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
