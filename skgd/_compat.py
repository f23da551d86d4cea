"""The one place where skgd reaches into scikit-learn's private modules.

Everything skgd needs from ``sklearn.utils._*`` is imported here and nowhere
else, so that a change of scikit-learn's internals is mended in one file.
The same goes for features that only newer scikit-learn versions have: the
callback API (``sklearn.callback``, scikit-learn >= 1.9) is an empty mixin
here where it does not exist, so that ``set_callbacks`` is absent.

Where scikit-learn's behaviour changed between the oldest version skgd
supports (1.6) and the newest, the newest behaviour is given here, so that
skgd acts the same on every supported version:

- ``_check_sample_weight`` refuses sample weights that are all zero (with
  scikit-learn 1.9's message) unless ``allow_all_zero_weights=True``;
  scikit-learn < 1.9 accepts them and has no such argument.
"""

import functools
import inspect
from contextlib import nullcontext

import numpy as np
from sklearn import config_context, get_config
from sklearn.utils import validation as _validation
from sklearn.utils._metadata_requests import MetadataRequest
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackContext, CallbackSupportMixin, FitCallback
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - older scikit-learn
    CallbackContext = FitCallback = None  # no callback can be set: none is valid

    class CallbackSupportMixin:
        """Stands in for scikit-learn's callback support, absent before 1.9."""

    def callback_management_context(estimator):
        return nullcontext()


def fit_context(method):
    """Run a fitting method as scikit-learn's own ``_fit_context`` does.

    The parameters are validated first unless scikit-learn's
    ``skip_parameter_validation`` configuration says otherwise, the nested
    validation of the functions it calls is skipped, and the callbacks set on
    the estimator are torn down at the end, however it ends. Unlike
    ``_fit_context``, ``partial_fit`` validates on every call: a parameter
    changed between calls is checked like any other.
    """

    @functools.wraps(method)
    def wrapper(estimator, *args, **kwargs):
        if not get_config()["skip_parameter_validation"]:
            estimator._validate_params()
        with (
            config_context(skip_parameter_validation=True),
            callback_management_context(estimator),
        ):
            return method(estimator, *args, **kwargs)

    return wrapper


_sklearn_check_sample_weight = _validation._check_sample_weight
_check_sample_weight_args = inspect.signature(_sklearn_check_sample_weight).parameters

if "allow_all_zero_weights" in _check_sample_weight_args:  # scikit-learn >= 1.9
    _check_sample_weight = _sklearn_check_sample_weight
else:  # pragma: no cover - older scikit-learn

    def _check_sample_weight(
        sample_weight,
        X,
        *,
        dtype=None,
        ensure_non_negative=False,
        copy=False,
        allow_all_zero_weights=False,
    ):
        """scikit-learn's ``_check_sample_weight`` as in 1.9: all zeros refused."""
        sample_weight = _sklearn_check_sample_weight(
            sample_weight,
            X,
            dtype=dtype,
            copy=copy,
            ensure_non_negative=ensure_non_negative,
        )
        if not allow_all_zero_weights and np.all(sample_weight == 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        return sample_weight


__all__ = [
    "CallbackContext",
    "CallbackSupportMixin",
    "FitCallback",
    "Interval",
    "MetadataRequest",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "fit_context",
    "validate_parameter_constraints",
]
