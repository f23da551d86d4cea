"""The data of ``skgd study``: a data set bundled with scikit-learn, or a CSV.

:func:`load_data` returns the features, the target, a description for the
report and, for a bundled data set, its task. The features of a CSV must be
numeric; its target may be numbers or class labels (strings, say), and
:func:`skgd._study.make_task` tells which. A file that cannot be read, a
missing column, a non-numeric feature or a missing value raises
:class:`~skgd._exceptions.StudyError`. pandas is imported only to read a CSV
(``pip install "skgd[study]"``).
"""

import warnings
from typing import NamedTuple

import numpy as np

from ._exceptions import StudyError

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


class StudyData(NamedTuple):
    """The data of a study.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples,)
        The target: floats, or class labels.
    description : str
        What the data is, for the report.
    task : {"regression", "classification"} or None
        The task of a bundled data set; None for a CSV (detect it).
    notes : tuple of str
        What loading changed in the data, for the user (such as a dropped
        index column); empty when nothing.
    """

    X: np.ndarray
    y: np.ndarray
    description: str
    task: str | None = None
    notes: tuple = ()


def load_data(path=None, target=None, dataset=None):
    """Load the features and target of the study.

    Parameters
    ----------
    path : str or None
        A CSV file: numeric features and a target column of numbers or
        labels; None loads ``dataset``.
    target : str or None
        The column of ``path`` to predict; every other column is a feature.
    dataset : str or None
        A key of :data:`DATASETS` (with ``path`` None); None means
        :data:`DEFAULT_DATASET`.

    Returns
    -------
    data : StudyData
        The features, the target, a description and the task of a bundled
        data set.
    """
    if path is None:
        if target is not None:
            raise StudyError("--target needs --data FILE.csv")
        return load_dataset(dataset or DEFAULT_DATASET)
    if dataset is not None:
        raise StudyError("--dataset and --data exclude each other")
    if target is None:
        raise StudyError("--data needs --target COLUMN")
    frame, notes = drop_index_column(_read_csv(path), path, target)
    _check_frame(frame, path, target)
    X = frame.drop(columns=[target]).to_numpy(dtype=float)
    y = _target_values(frame[target])
    description = f"{path} ({X.shape[0]} samples, {X.shape[1]} features)"
    return StudyData(X, y, f"{description}, target {target!r}", notes=notes)


#: The names pandas gives a CSV column with an empty header.
_UNNAMED = ("", "Unnamed: 0")


def drop_index_column(frame, path, target):
    """Drop the row numbers that ``DataFrame.to_csv()`` writes by default.

    That column comes first, has an empty header (which pandas reads as
    ``"Unnamed: 0"``) and holds exactly 0, 1, ..., n - 1: as a feature it
    would only tell the row apart.

    Parameters
    ----------
    frame : pandas.DataFrame
        The CSV as read.
    path : str
        The CSV file, for the note.
    target : str
        The target column, never dropped.

    Returns
    -------
    frame : pandas.DataFrame
        Without that column, if it was there.
    notes : tuple of str
        One note saying so when it was dropped, else empty.
    """
    if frame.shape[1] == 0 or str(frame.columns[0]) not in _UNNAMED:
        return frame, ()
    first = frame.columns[0]
    values = frame[first].to_numpy()
    rows = np.arange(len(frame))
    if first == target or values.dtype.kind not in "iu" or (values != rows).any():
        return frame, ()
    note = (
        f"ignoring the first column of {path} ({first!r}, holding 0 to "
        f"{len(frame) - 1}): it is the row index that pandas' to_csv() writes; "
        "pass index=False to to_csv() to leave it out"
    )
    return frame.drop(columns=[first]), (note,)


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
    features = frame.drop(columns=[target])
    bad = [
        str(c)
        for c in features.columns
        if not is_numeric_dtype(features[c]) or is_bool_dtype(features[c])
    ]
    dates = [c for c in bad if _holds_dates(features[c])]
    if dates:
        raise StudyError(
            f"date column(s) in {path}: {', '.join(dates)}; encode dates as "
            "numbers (days since a start, say) or drop the column(s)"
        )
    if bad:
        raise StudyError(f"non-numeric feature column(s) in {path}: {', '.join(bad)}")
    missing = [str(c) for c in frame.columns if not _complete(frame[c])]
    if missing:
        columns = ", ".join(missing)
        raise StudyError(f"missing or infinite values in {path}: {columns}")
    huge = [str(c) for c in features.columns if np.abs(features[c]).max() > HUGE]
    if huge:
        raise StudyError(
            f"feature column(s) in {path} with values beyond {HUGE:.0e}, whose "
            f"squares overflow when standardized: {', '.join(huge)}; rescale "
            "them (a logarithm, say) or drop them"
        )


# Beyond this size a feature's square overflows float64 (StandardScaler's
# variance), and the study would train on NaN.
HUGE = 1e150


def _holds_dates(column):
    """Whether a text column reads as dates (datetime64 columns do too)."""
    import pandas as pd
    from pandas.api.types import is_datetime64_any_dtype

    if is_datetime64_any_dtype(column):
        return True
    sample = column.dropna().astype(str).head(20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas guesses the format
            pd.to_datetime(sample, errors="raise")
    except (ValueError, TypeError, OverflowError):
        return False
    return len(sample) > 0


def _complete(column):
    """Whether a column has no missing value and, if numeric, no infinity."""
    from pandas.api.types import is_numeric_dtype

    if is_numeric_dtype(column):
        return bool(np.isfinite(column.to_numpy(dtype=float)).all())
    return not column.isna().any()
