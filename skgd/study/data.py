"""The data of ``skgd study``: a data set bundled with scikit-learn, or a CSV.

:func:`load_data` returns the features, the target, a description for the
report, what loading left out (notes for the user) and, for a CSV, the kind
of each feature column (:class:`Features`), or, for a bundled data set, its
task. The target of a CSV may be numbers or class labels (strings, say), and
:func:`skgd.study.task.choose_task` tells which.

The file is read by :mod:`skgd.study.csvfile` and its columns sorted out by
:mod:`skgd.study.columns`; each row or column left out is said in a note:

- a file that is not UTF-8 is read as latin-1, unless ``--encoding`` says;
- repeated column names are read as pandas renames them (``a.1``...);
- rows whose target is missing are dropped;
- the row index that ``DataFrame.to_csv()`` writes is left out;
- columns without a single value, date-like and ID-like columns are left
  out (:func:`skgd.study.columns.sort_columns`);
- every other numeric column is a numeric feature, standardized;
- every other column (text, booleans) is a categorical feature, one-hot
  encoded.

Missing cells are kept as NaN: the study's pipeline imputes them
(:func:`skgd.study.pipeline.make_preprocessor`), fitted on the training rows
of each fold, so that no fold leaks into another. A file that cannot be
read, a missing or repeated target column, a target of a single value, a
single data row, an infinite value, a number too large to standardize or no
feature left raise :class:`~skgd._exceptions.StudyError`. pandas is
imported only to read a CSV (``pip install "skgd[study]"``).
"""

from typing import NamedTuple

import numpy as np

from .._exceptions import StudyError
from .columns import as_text, drop_index_column, sort_columns
from .csvfile import read_csv, renamed_columns

#: The data sets of ``--dataset``: the ``sklearn.datasets`` loader and the
#: task of each (all bundled with scikit-learn, no download).
DATASETS = {
    "diabetes": ("load_diabetes", "regression"),
    "digits": ("load_digits", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "iris": ("load_iris", "classification"),
}


#: The data set studied without ``--data`` or ``--dataset``.
DEFAULT_DATASET = "diabetes"


class Features(NamedTuple):
    """The feature columns of a CSV, by kind.

    Attributes
    ----------
    numeric : tuple of str
        Numeric columns, to standardize.
    categorical : tuple of str
        Other columns (text, booleans), to one-hot encode; their cells are
        strings, or NaN where missing.
    numeric_missing : bool
        Whether some numeric cell is missing (NaN), to impute.
    categorical_missing : bool
        Whether some categorical cell is missing, to impute.
    """

    numeric: tuple
    categorical: tuple = ()
    numeric_missing: bool = False
    categorical_missing: bool = False


class StudyData(NamedTuple):
    """The data of a study.

    Attributes
    ----------
    X : ndarray or pandas.DataFrame of shape (n_samples, n_features)
        The features: floats for a bundled data set; for a CSV, its feature
        columns (see :attr:`features`), missing cells NaN.
    y : ndarray of shape (n_samples,)
        The target: floats, or class labels.
    description : str
        What the data is, for the report.
    task : {"regression", "classification"} or None
        The task of a bundled data set; None for a CSV (detect it).
    notes : tuple of str
        What loading changed in the data, for the user (such as a dropped
        index column, rows without a target, or a date column left out);
        empty when nothing.
    features : Features or None
        The kinds of the columns of a CSV; None for a bundled data set (all
        numeric, none missing).
    """

    X: object
    y: np.ndarray
    description: str
    task: str | None = None
    notes: tuple = ()
    features: Features | None = None


def load_data(path=None, target=None, dataset=None, encoding=None):
    """Load the features and target of the study.

    Parameters
    ----------
    path : str or None
        A CSV file: feature columns and a target column of numbers or
        labels; None loads ``dataset``.
    target : str or None
        The column of ``path`` to predict; every other column is a feature,
        unless left out (see the module's docstring).
    dataset : str or None
        A key of :data:`DATASETS` (with ``path`` None); None means
        :data:`DEFAULT_DATASET`.
    encoding : str or None, default=None
        The encoding of ``path`` (``--encoding``); None reads UTF-8, and a
        file that is not UTF-8 as latin-1, with a note.

    Returns
    -------
    data : StudyData
        The features, the target, a description and the task of a bundled
        data set, or the notes and feature kinds of a CSV.
    """
    if path is None:
        if target is not None or encoding is not None:
            option = "--target" if target is not None else "--encoding"
            raise StudyError(f"{option} needs --data FILE.csv")
        return load_dataset(dataset or DEFAULT_DATASET)
    if dataset is not None:
        raise StudyError("--dataset and --data exclude each other")
    if target is None:
        raise StudyError("--data needs --target COLUMN")
    frame, read_notes = read_csv(path, encoding)
    used = encoding or ("latin-1" if read_notes else "utf-8")
    read_notes += renamed_columns(frame, path, target, used)
    frame, notes = drop_index_column(frame, path, target)
    notes = (*read_notes, *notes)
    _check_frame(frame, path, target)
    kinds, left_out = sort_columns(frame.drop(columns=[target]), path)
    frame, dropped = _drop_missing_target(frame, path, target)
    _check_target_values(frame[target], path, target)
    numeric, categorical = kinds["numeric"], kinds["categorical"]
    _check_numbers(frame, path, target, numeric)
    X = frame[[*numeric, *categorical]].copy()
    for column in categorical:
        X[column] = as_text(X[column])
    features = Features(
        tuple(numeric),
        tuple(categorical),
        bool(X[numeric].isna().to_numpy().any()),
        bool(X[categorical].isna().to_numpy().any()),
    )
    notes = (*notes, *dropped, *left_out, *_missing_note(X, path))
    y = _target_values(frame[target])
    size = f"{len(X)} samples, {X.shape[1]} features"
    if categorical:
        size += f": {len(numeric)} numeric, {len(categorical)} categorical"
    description = f"{path} ({size}), target {target!r}"
    return StudyData(X, y, description, notes=notes, features=features)


def shape_note(n_rows, n_features, estimators=("gd", "mlp")):
    """A note for data of more feature columns than rows, else None.

    With more features than rows, a linear model can fit its training rows
    exactly: only the penalty ``alpha`` holds it back, and predicting the
    mean (the dummy baseline) may well do better. A network's first layer
    has ``n_features`` inputs for each hidden unit, which makes its grid the
    slow part of the study.

    Parameters
    ----------
    n_rows : int
        Rows of the data.
    n_features : int
        Feature columns, as loaded (before one-hot encoding).
    estimators : tuple of str, default=("gd", "mlp")
        The estimators of the study.

    Returns
    -------
    note : str or None

    Examples
    --------
    >>> shape_note(300, 20) is None
    True
    >>> shape_note(300, 3000, ("gd",))[:52]
    '3000 feature columns for 300 rows: more features tha'
    """
    if n_features <= n_rows:
        return None
    note = (
        f"{n_features} feature columns for {n_rows} rows: more features than "
        "rows, so a linear model can fit its training rows exactly and only "
        "alpha holds it back; expect a large gap, and compare the best score "
        "with the mean's"
    )
    if "mlp" in estimators:
        note += (
            f"; the MLP's grid, each hidden unit with {n_features} inputs, is "
            "the slow part of the study (--estimator gd leaves it out)"
        )
    return note


def load_dataset(name):
    """Load a data set bundled with scikit-learn.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`, e.g. ``"digits"``.

    Returns
    -------
    data : StudyData
        With the task of the data set.

    Examples
    --------
    >>> data = load_dataset("iris")
    >>> data.X.shape, data.task
    ((150, 4), 'classification')
    """
    import sklearn.datasets

    if name not in DATASETS:
        raise StudyError(f"no dataset {name!r} (choose from {', '.join(DATASETS)})")
    loader, task = DATASETS[name]
    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    size = f"{len(y)} samples, {X.shape[1]} features"
    description = f"scikit-learn's {name.replace('_', ' ')} data ({size})"
    return StudyData(X, y, description, task)


def _target_values(column):
    """Floats for a numeric column, the labels otherwise (strings, booleans)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if is_numeric_dtype(column) and not is_bool_dtype(column):
        return column.to_numpy(dtype=float)
    return column.to_numpy()


def _drop_missing_target(frame, path, target):
    """The rows with a target, and a note saying how many were dropped."""
    missing = frame[target].isna()
    if not missing.any():
        return frame, ()
    n = int(missing.sum())
    if n == len(frame):
        raise StudyError(f"no value in the target column {target!r} of {path}")
    note = (
        f"dropping {n} of the {len(frame)} rows of {path}: their target "
        f"{target!r} is missing"
    )
    return frame[~missing.to_numpy()], (note,)


def _missing_note(X, path):
    """A note naming the feature columns with missing cells, and how many."""
    counts = X.isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return ()
    cells = ", ".join(f"{name!r} ({count})" for name, count in counts.items())
    return (
        f"imputing the missing cells of {path}, in {cells}: inside the "
        "pipeline, from the training rows of each fold",
    )


def _check_frame(frame, path, target):
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:10]))
        raise StudyError(f"no column {target!r} in {path} (columns: {columns})")
    if len(frame) == 0 or frame.shape[1] < 2:
        raise StudyError(f"{path} needs data rows and at least one feature column")
    if len(frame) < 2:
        raise StudyError(
            f"{path} has a single data row: a cross-validated study needs at "
            "least one row for each fold"
        )


def _check_target_values(column, path, target):
    """Refuse a target of a single value, before any fitting: nothing to learn."""
    values = column.unique()
    if len(values) == 1:
        value = values[0].item() if isinstance(values[0], np.generic) else values[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 3, as the file has it, not 3.0
        raise StudyError(
            f"the target {target!r} of {path} holds a single value, {value!r}, "
            f"in all its {len(column)} rows: there is nothing to predict; "
            "choose another --target"
        )


def _check_numbers(frame, path, target, numeric):
    """Refuse infinite values, and features too large to standardize."""
    from pandas.api.types import is_numeric_dtype

    columns = [*numeric, target] if is_numeric_dtype(frame[target]) else numeric
    infinite = [
        str(c) for c in columns if np.isinf(frame[c].to_numpy(dtype=float)).any()
    ]
    if infinite:
        raise StudyError(f"infinite values in {path}: {', '.join(infinite)}")
    huge = [str(c) for c in numeric if np.abs(frame[c]).max() > HUGE]
    if huge:
        raise StudyError(
            f"feature column(s) in {path} with values beyond {HUGE:.0e}, whose "
            f"squares overflow when standardized: {', '.join(huge)}; rescale "
            "them (a logarithm, say) or drop them"
        )


# Beyond this size a feature's square overflows float64 (StandardScaler's
# variance), and the study would train on NaN.
HUGE = 1e150
