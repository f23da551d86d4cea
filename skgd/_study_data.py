"""The data of ``skgd study``: scikit-learn's diabetes data, or a numeric CSV.

:func:`load_data` returns the features, the target and a description for the
report; a file that cannot be read, a missing column, a non-numeric column or
a missing value raises :class:`~skgd._exceptions.StudyError`. pandas is
imported only to read a CSV (``pip install "skgd[study]"``).
"""

import numpy as np

from ._exceptions import StudyError


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
