"""Helpers shared by several test modules."""

import numpy as np


def fitted_weights(est):
    """The fitted weights and intercepts of ``est`` as a list of arrays."""
    if hasattr(est, "coef_"):
        return [np.asarray(est.coef_), np.asarray(est.intercept_)]
    return [*est.coefs_, *est.intercepts_]
