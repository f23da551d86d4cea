"""Seeded data and helpers shared by the tests."""

import contextlib
import signal
import threading

import numpy as np
import pytest

from skgd.engine.session import dropout_streams


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


@pytest.fixture
def default_sigint():
    """SIGINT raises KeyboardInterrupt during the test, as Python sets it up.

    A test run started with SIGINT ignored (``nohup pytest &``, a shell without
    job control) would otherwise never see the Ctrl-C that the test sends,
    and neither would the processes it starts, which inherit the ignoring.
    The handler in force before is restored after the test.
    """
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread; this test sends one")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def time_limit():
    """A context manager: ``with time_limit(seconds):`` fails the test past it.

    For a block that waits on a signal (such as a fit that runs until a Ctrl-C
    arrives): if the signal never comes, the test fails instead of hanging.
    It uses SIGALRM, so the test is skipped where there is none.
    """
    if not hasattr(signal, "setitimer"):
        pytest.skip("no SIGALRM on this platform, to bound the wait with")
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread; this test waits on one")

    @contextlib.contextmanager
    def limit(seconds):
        def expire(signum, frame):
            pytest.fail(f"still waiting after {seconds} s: the signal never came")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return limit
