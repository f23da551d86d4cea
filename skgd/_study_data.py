"""The data of ``skgd study``: a data set bundled with scikit-learn, or a CSV.

:func:`load_data` returns the features, the target, a description for the
report, what loading left out (notes for the user) and, for a CSV, the kind
of each feature column (:class:`Features`), or, for a bundled data set, its
task. The target of a CSV may be numbers or class labels (strings, say), and
:func:`skgd._study.make_task` tells which.

The columns and rows of a CSV are sorted out by :func:`sort_columns` and
:func:`load_data`, and each row or column left out is said in a note:

- a file that is not UTF-8 is read as latin-1, unless ``--encoding`` says;
- repeated column names are read as pandas renames them (``a.1``...);
- rows whose target is missing are dropped;
- the row index that ``DataFrame.to_csv()`` writes is left out
  (:func:`drop_index_column`);
- columns without a single value are left out;
- date-like columns (text that pandas reads as dates or times, such as
  ``2020-01-31`` or ``10:30``) are left out: encode a date as a number (days
  since a start, say) to use it;
- ID-like columns are left out (:func:`is_id_like`): text whose values are
  all distinct, and whole numbers all distinct that count 1, 2, ..., n (in
  any order and from any start) in :data:`ID_MIN_COUNTED` rows or more, or
  whose header names an identifier (``id``, ``user_id``, ``PID``,
  ``key``...), or that fill :data:`ID_MIN_ROWS` rows or more;
- every other numeric column is a numeric feature, standardized;
- every other column (text, booleans) is a categorical feature, one-hot
  encoded.

Missing cells are kept as NaN: the study's pipeline imputes them
(:func:`skgd._study.make_preprocessor`), fitted on the training rows of each
fold, so that no fold leaks into another. A file that cannot be read, a
missing or repeated target column, a target of a single value, a single
data row, an infinite value, a number too large to standardize or no
feature left raise :class:`~skgd._exceptions.StudyError`. pandas is
imported only to read a CSV (``pip install "skgd[study]"``).
"""

import re
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

#: Whole numbers are class labels (with ``--task auto``) only when they take at
#: most this many distinct values, and each is in enough rows for the folds
#: (see :func:`skgd._study.choose_task`).
MAX_CLASSES = 20


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
    frame, read_notes = _read_csv(path, encoding)
    used = encoding or ("latin-1" if read_notes else "utf-8")
    read_notes += _renamed_columns(frame, path, target, used)
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
        X[column] = _as_text(X[column])
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


#: Whole numbers all distinct in at least this many rows make an ID-like
#: column, whatever its name: by chance, n distinct whole numbers need a range
#: far beyond n**2 (the birthday problem), such as that of an identifier or a
#: timestamp.
ID_MIN_ROWS = 1000

#: Whole numbers all distinct that count one by one (such as 1 to n) in at
#: least this many rows make an ID-like column: the row numbers of a file.
#: (In fewer rows, a small feature, such as 1, 2, 3, 4, may well do so.)
ID_MIN_COUNTED = 20

#: Headers of identifiers: ``id``, ``ID``, ``user_id``, ``userId``, ``key``...
_ID_NAME = re.compile(r"(?:^|[_\W])(?:id|key|uuid|guid)$|^index$", re.I)
_ID_CAMEL = re.compile(r"[a-z](?:Id|ID|Key)$|^[A-Z]{0,2}ID$")


def sort_columns(features, path):
    """The numeric and categorical features of a CSV, and what is left out.

    Parameters
    ----------
    features : pandas.DataFrame
        The columns of the CSV but the target, every row.
    path : str
        The CSV file, for the notes.

    Returns
    -------
    kinds : dict
        ``{"numeric": [...], "categorical": [...]}``: the names of the
        features of each kind, in the file's order.
    notes : tuple of str
        One note for each kind of column left out (empty, date-like,
        ID-like), naming them.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    kinds = {"numeric": [], "categorical": []}
    out = {"empty": [], "date": [], "id": []}
    for name in features.columns:
        column = features[name]
        numeric = is_numeric_dtype(column) and not is_bool_dtype(column)
        if column.isna().all():
            out["empty"].append(name)
        elif not numeric and _holds_dates(column):
            out["date"].append(name)
        elif is_id_like(column):
            out["id"].append(name)
        else:
            kinds["numeric" if numeric else "categorical"].append(name)
    reasons = {
        "empty": "no value at all",
        "date": "dates or times, which the study does not encode: turn them "
        "into numbers, such as days since a start, to use them",
        "id": "every value is distinct, as in an identifier: as a feature it "
        "would only tell the rows apart",
    }
    found = [(names, reasons[why]) for why, names in out.items() if names]
    if not kinds["numeric"] and not kinds["categorical"]:
        why = "; ".join(f"{_words(names)}: {reason}" for names, reason in found)
        raise StudyError(f"no feature column left in {path}: {why}")
    notes = tuple(
        f"leaving out {_words(names)} of {path}: {reason}" for names, reason in found
    )
    return kinds, notes


def is_id_like(column):
    """Whether a column of a CSV identifies its rows rather than describes them.

    Parameters
    ----------
    column : pandas.Series
        A feature column.

    Returns
    -------
    id_like : bool
        True for text whose values are all distinct (its one-hot code would
        give every row a column of its own), and for whole numbers all
        distinct, without a missing cell, that count up one by one from some
        start (1, 2, ..., n, in any order) in at least :data:`ID_MIN_COUNTED`
        rows, whose header names an identifier (``id``, ``user_id``,
        ``userId``, ``PID``, ``key``...), or that fill at least
        :data:`ID_MIN_ROWS` rows. Floats, booleans, and columns with a value
        repeated are never ID-like.

    Examples
    --------
    >>> import pandas as pd
    >>> is_id_like(pd.Series(["ann", "bob", "cy"], name="name"))
    True
    >>> is_id_like(pd.Series([7, 1, 2], name="n"))
    False
    >>> is_id_like(pd.Series([7, 1, 2], name="user_id"))
    True
    >>> is_id_like(pd.Series(range(100, 120), name="n"))  # 20 rows numbered
    True
    """
    from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

    values = column.dropna()
    if len(values) < 2 or is_bool_dtype(column) or not values.is_unique:
        return False
    if not is_numeric_dtype(column):
        return True
    if not is_integer_dtype(column) or len(values) < len(column):
        return False
    span = int(values.max()) - int(values.min())
    consecutive = span == len(values) - 1 and len(values) >= ID_MIN_COUNTED
    name = str(column.name)
    named = bool(_ID_NAME.search(name) or _ID_CAMEL.search(name))
    return consecutive or named or len(values) >= ID_MIN_ROWS


def _words(names):
    """``column 'a'`` or ``columns 'a', 'b'``."""
    listed = ", ".join(repr(str(name)) for name in names)
    return f"column{'s' if len(names) > 1 else ''} {listed}"


def _as_text(column):
    """A categorical column as objects: its values as strings, NaN kept.

    One-hot encoding needs the values of a column all strings (booleans,
    numbers and the "missing" category mixed would be refused).
    """
    text = column.astype(object)
    present = text.notna()
    text[present] = text[present].map(str)
    return text


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


def _read_csv(path, encoding=None, **options):
    """The CSV as a DataFrame, and a note when it was read as latin-1.

    Without ``encoding``, a file that is not UTF-8 is read again as latin-1
    (every byte is a character there: such a file is most often latin-1 or
    Windows' cp1252, which differ only in a few symbols such as the euro).
    """
    try:
        import pandas as pd
    except ImportError:
        raise StudyError('--data needs pandas: pip install "skgd[study]"') from None
    try:
        try:
            return pd.read_csv(path, encoding=encoding or "utf-8", **options), ()
        except UnicodeDecodeError as exc:
            if encoding is not None:
                raise StudyError(_decode_error(path, encoding, exc)) from None
        note = (
            f"{path} is not UTF-8: reading it as latin-1; pass --encoding "
            "(such as cp1252 or utf-16) if its text looks wrong"
        )
        return pd.read_csv(path, encoding="latin-1", **options), (note,)
    except FileNotFoundError:
        raise StudyError(f"no such file: {path}") from None
    except pd.errors.EmptyDataError:
        raise StudyError(f"no data in {path}") from None
    except LookupError:
        raise StudyError(f"unknown --encoding {encoding!r}") from None
    except (OSError, UnicodeError, pd.errors.ParserError) as exc:
        raise StudyError(f"cannot read {path}: {exc}") from None


def _decode_error(path, encoding, exc):
    byte = exc.object[exc.start : exc.start + 1].hex()
    return (
        f"cannot read {path} as {encoding}: byte 0x{byte} at position "
        f"{exc.start} is not {encoding}; pass the file's --encoding"
    )


def _renamed_columns(frame, path, target, encoding):
    """Notes on repeated column names, which pandas renames ``a.1``, ``a.2``...

    A repeated target name is refused: ``--target`` could not tell which.
    """
    header, _ = _read_csv(
        path, encoding, header=None, nrows=1, dtype=str, keep_default_na=False
    )
    names = [str(name) for name in header.iloc[0]] if len(header) else []
    if len(names) != frame.shape[1]:
        return ()  # not the header pandas read (a parsing option differs)
    repeated = {name for name in names if name and names.count(name) > 1}
    if target in repeated:
        raise StudyError(
            f"{names.count(target)} columns of {path} are named {target!r}: "
            "rename them so that --target names one"
        )
    renamed = [
        f"{name!r} (column {i + 1}) as {str(read)!r}"
        for i, (name, read) in enumerate(zip(names, frame.columns))
        if name in repeated and name != str(read)
    ]
    if not renamed:
        return ()
    return (
        f"column names repeated in {path}: reading {', '.join(renamed)}; "
        "rename the columns to choose the names",
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

#: At most this many distinct values of a text column are tried as dates.
_DATE_SAMPLE = 50
#: Two groups of digits apart, as in 2020-01-31, 31/1/2020, 10:30 or Jan 5, 2020
#: (but not in 1st, or in Jan and other words pandas would read as dates).
_DATE_TEXT = re.compile(r"\d+\D+\d+")


def _mixed():
    """pandas >= 2 reads each date in its own format only if asked."""
    import pandas as pd

    return {"format": "mixed"} if int(pd.__version__.split(".")[0]) >= 2 else {}


def _holds_dates(column):
    """Whether a column holds dates: datetime64, or text that reads as dates.

    Text reads as dates when each of its first :data:`_DATE_SAMPLE` distinct
    values has two groups of digits apart and :func:`pandas.to_datetime`
    reads them all.
    """
    import pandas as pd
    from pandas.api.types import is_datetime64_any_dtype

    if is_datetime64_any_dtype(column):
        return True
    sample = pd.Series(column.dropna().astype(str).unique()[:_DATE_SAMPLE])
    if sample.empty or not sample.str.contains(_DATE_TEXT).all():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas guesses the format
            pd.to_datetime(sample, errors="raise", **_mixed())
    except (ValueError, TypeError, OverflowError):
        return False
    return True
