"""Helpers shared by several test modules."""

import numpy as np

from skgd import GDRegressor


def fitted_weights(est):
    """The fitted weights and intercepts of ``est`` as a list of arrays."""
    if isinstance(est, GDRegressor):
        return [np.asarray(est.coef_), np.asarray(est.intercept_)]
    return [*est.coefs_, *est.intercepts_]
