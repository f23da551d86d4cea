"""The checks of a training call's data, and the attributes they write.

The data are refused where training could not go on from them: values
beyond the fitted model's dtype (:func:`_cast`), or a feature whose square
overflows (:func:`_check_feature_scale`). Input validation writes
``n_features_in_`` and ``feature_names_in_`` to the estimator before
training; :func:`_input_attributes_kept_on_error` undoes that when the call
fails.
"""

import math
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from ._exceptions import DivergenceError


def _cast(X, dtype):
    """``X`` in the fitted model's ``dtype``; refused if the cast overflows."""
    with np.errstate(over="ignore"):  # checked below
        cast = X.astype(dtype, copy=False)
    values = cast.data if sp.issparse(cast) else cast
    if cast.dtype != X.dtype and not np.isfinite(values).all():
        raise ValueError(
            f"X holds values up to {abs(X).max():.3g}, beyond {dtype}, the dtype "
            f"this model was fitted in; scale X, or fit a new model on {X.dtype} "
            "data (warm_start=False)."
        )
    return cast


def _check_feature_scale(X, names=None):
    """Refuse a feature whose square overflows the dtype of ``X``.

    A gradient step multiplies a feature by a residual that is itself of the
    feature's scale, and Adam squares the gradient: with any optimizer, the
    first steps on such a feature overflow.
    """
    limit = math.sqrt(np.finfo(X.dtype).max)
    values = X.data if sp.issparse(X) else X
    if not values.size:
        return
    if not sp.issparse(X) and X.flags.c_contiguous:
        # Each column's extremes in one compiled pass over the rows.
        from .engine.kernels import column_extremes  # numba: on the first call

        top, bottom = np.empty(X.shape[1], X.dtype), np.empty(X.shape[1], X.dtype)
        column_extremes(np.asarray(X), top, bottom)
        largest = np.maximum(top, -bottom)
    # Otherwise the largest and the smallest values: two whole-array
    # reductions, no temporary; the columns are looked at only to name the
    # one at fault.
    elif max(values.max(), -values.min()) <= limit:
        return
    elif sp.issparse(X):
        largest = abs(X).max(axis=0).toarray().ravel()
    else:
        largest = np.maximum(X.max(axis=0), -X.min(axis=0))
    huge = np.flatnonzero(largest > limit)
    if huge.size:
        j = int(huge[0])
        name = f"{j} ({names[j]!r})" if names is not None else f"{j}"
        raise DivergenceError(
            f"Feature {name} holds values up to {float(largest[j]):.3g}, whose "
            f"square overflows {X.dtype}: the first gradient steps on it "
            "overflow with any optimizer. Standardize the features "
            "(sklearn.preprocessing.StandardScaler)."
        )


# What input validation writes to an estimator.
_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")


def input_attributes(estimator):
    """The attributes input validation wrote to ``estimator``, as a dict."""
    return {k: vars(estimator)[k] for k in _INPUT_ATTRIBUTES if k in vars(estimator)}


@contextmanager
def _input_attributes_kept_on_error(estimator):
    """Undo what input validation wrote to ``estimator`` if the call fails."""
    saved = input_attributes(estimator)
    try:
        yield
    except BaseException:
        for name in _INPUT_ATTRIBUTES:
            if name in saved:
                vars(estimator)[name] = saved[name]
            else:
                vars(estimator).pop(name, None)
        raise
