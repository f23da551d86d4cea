"""Seeded data shared by the tests."""

import numpy as np
import pytest

from skgd._engine import dropout_streams


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture
def linear_data(rng):
    """A well-conditioned linear problem with noise: X (200, 5), y (200,)."""
    X = rng.normal(size=(200, 5))
    coef = np.array([1.5, -2.0, 0.0, 0.7, 3.0])
    y = X @ coef + 0.5 + 0.1 * rng.normal(size=200)
    return X, y


@pytest.fixture
def multi_output_data(rng):
    """X (150, 4) and y (150, 3)."""
    X = rng.normal(size=(150, 4))
    y = (
        X @ rng.normal(size=(4, 3))
        + rng.normal(size=3)
        + 0.1 * rng.normal(size=(150, 3))
    )
    return X, y


def _check_gradient(net, objective, X, Y, c, seed=0):
    """Compare the gradient left in ``net.grads`` with central differences.

    Every evaluation draws dropout masks from streams derived from the same
    seed, so the masks are fixed while the parameters move.
    """

    def value():
        streams = dropout_streams(np.random.default_rng(seed), net.n_streams)
        return objective(net, X, Y, c, streams)

    value()
    analytic = net.grads.copy()
    h = 1e-6
    for i in range(net.params.size):
        saved = net.params[i]
        net.params[i] = saved + h
        up = value()
        net.params[i] = saved - h
        down = value()
        net.params[i] = saved
        assert (up - down) / (2 * h) == pytest.approx(analytic[i], rel=1e-5, abs=1e-7)


@pytest.fixture
def check_gradient():
    return _check_gradient


def _fitted_weights(est):
    """The fitted weights and intercepts of ``est`` as a list of arrays."""
    if hasattr(est, "coef_"):
        return [np.asarray(est.coef_), np.asarray(est.intercept_)]
    return [*est.coefs_, *est.intercepts_]


@pytest.fixture
def fitted_weights():
    """A function: the fitted weights and intercepts of an estimator, as arrays.

    A fixture rather than a module to import: the test directory is no package,
    and a top-level module name of its own (``tests``, ``_helpers``) could be
    taken by another installed distribution, which would then shadow it.
    """
    return _fitted_weights
