"""The columns of a CSV for ``skgd study``: features, and what is left out.

:func:`sort_columns` tells numeric from categorical features and leaves out:

- columns without a single value;
- date-like columns (text that pandas reads as dates or times, such as
  ``2020-01-31`` or ``10:30``): encode a date as a number (days since a
  start, say) to use it;
- ID-like columns (:func:`is_id_like`): text whose values are all distinct,
  and whole numbers all distinct that count 1, 2, ..., n (in any order and
  from any start) in :data:`ID_MIN_COUNTED` rows or more, or whose header
  names an identifier (``id``, ``user_id``, ``PID``, ``key``...), or that
  fill :data:`ID_MIN_ROWS` rows or more.

:func:`drop_index_column` drops the row index that ``DataFrame.to_csv()``
writes.
"""

import re
import warnings

import numpy as np

from .._exceptions import StudyError

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


def as_text(column):
    """A categorical column as objects: its values as strings, NaN kept.

    One-hot encoding needs the values of a column all strings (booleans,
    numbers and the "missing" category mixed would be refused).
    """
    text = column.astype(object)
    present = text.notna()
    text[present] = text[present].map(str)
    return text


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
