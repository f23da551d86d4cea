"""skgd: scikit-learn estimators trained by mini-batch gradient descent."""

from ._exceptions import DivergenceError, FitInterruptedWarning
from ._linear import GDClassifier, GDRegressor
from ._mlp import MLPClassifier, MLPRegressor
from ._plotting import LossLandscapeDisplay, TrainingCurveDisplay
from ._version import __version__


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
    estimators = GDRegressor, GDClassifier, MLPRegressor, MLPClassifier
    return [f"{c.__module__}.{c.__qualname__}" for c in estimators]


__all__ = [
    "DivergenceError",
    "FitInterruptedWarning",
    "GDClassifier",
    "GDRegressor",
    "LossLandscapeDisplay",
    "MLPClassifier",
    "MLPRegressor",
    "TrainingCurveDisplay",
    "__version__",
    "trusted_types",
]
