"""skgd: scikit-learn estimators trained by mini-batch gradient descent.

The estimators and displays are imported on first use (PEP 562): ``import
skgd`` itself takes milliseconds, so that ``skgd study`` (which Python
starts by importing this package) handles Ctrl-C from its first moment,
before scikit-learn loads.
"""

import importlib

from ._exceptions import DivergenceError, FitInterruptedWarning
from ._version import __version__

# The public names that live in heavier modules, and where.
_LAZY = {
    "GDClassifier": "_linear",
    "GDRegressor": "_linear",
    "MLPClassifier": "_mlp",
    "MLPRegressor": "_mlp",
    "LearningRateRangeDisplay": "_range_test",
    "LossLandscapeDisplay": "_plotting",
    "TrainingCurveDisplay": "_plotting",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skgd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def trusted_types():
    """Names of skgd's own types, to pass as ``trusted=`` to ``skops.io.load``.

    A fitted skgd estimator holds only arrays, numbers, lists, dicts, numpy
    random generators and its own class, so this list is all that a file saved
    with ``skops.io.dump`` needs to be loaded without trusting anything else.
    (Unpickling a file with :mod:`pickle` or :mod:`joblib` runs whatever code
    the file names: only do it for files you trust.)

    Returns
    -------
    names : list of str
        The qualified names of :class:`GDRegressor`, :class:`GDClassifier`,
        :class:`MLPRegressor` and :class:`MLPClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> import skops.io
    >>> from skgd import GDRegressor, trusted_types
    >>> X = np.arange(20.0).reshape(-1, 2)
    >>> model = GDRegressor(epochs=3, tol=None, random_state=0).fit(X, X[:, 0])
    >>> data = skops.io.dumps(model)
    >>> skops.io.get_untrusted_types(data=data)
    ['skgd._linear.GDRegressor']
    >>> loaded = skops.io.loads(data, trusted=trusted_types())
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    """
    from ._linear import GDClassifier, GDRegressor
    from ._mlp import MLPClassifier, MLPRegressor

    estimators = GDRegressor, GDClassifier, MLPRegressor, MLPClassifier
    return [f"{c.__module__}.{c.__qualname__}" for c in estimators]


__all__ = [
    "DivergenceError",
    "FitInterruptedWarning",
    "GDClassifier",
    "GDRegressor",
    "LearningRateRangeDisplay",
    "LossLandscapeDisplay",
    "MLPClassifier",
    "MLPRegressor",
    "TrainingCurveDisplay",
    "__version__",
    "trusted_types",
]
