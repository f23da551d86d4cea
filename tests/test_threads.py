"""The BLAS threads of a fit, chosen from the size of its matrix products."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import skgd.engine.stack.run
from skgd import GDRegressor, MLPRegressor
from skgd.engine.stack.network import StackedNetwork
from skgd.engine.threads import SMALL_PRODUCT, largest_product


def blas_threads():
    return [
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
    ]


def threads_seen_in_fit(monkeypatch, estimator, X, y):
    """The BLAS thread counts in force during the first forward pass of a fit."""
    seen, forward = [], StackedNetwork.forward

    def spy(self, *args):
        if not seen:
            seen.append(blas_threads())
        return forward(self, *args)

    monkeypatch.setattr(StackedNetwork, "forward", spy)
    estimator.fit(X, y)
    return seen[0]


@pytest.fixture
def outside():
    threads = blas_threads()
    if not threads or max(threads) < 2:
        pytest.skip("BLAS runs on one thread here: no limit to observe")
    return threads


def test_a_small_network_fits_on_one_blas_thread(monkeypatch, outside, rng):
    X, y = rng.normal(size=(300, 10)), rng.normal(size=300)
    estimator = MLPRegressor((16,), batch_size=32, epochs=1, tol=None)
    assert set(threads_seen_in_fit(monkeypatch, estimator, X, y)) == {1}
    assert blas_threads() == outside  # the limit ends with the fit


def test_a_large_network_keeps_the_thread_pool(monkeypatch, outside, rng):
    X, y = rng.normal(size=(600, 512)), rng.normal(size=600)
    estimator = MLPRegressor((512,), batch_size=512, epochs=1, tol=None)
    assert SMALL_PRODUCT < 512 * 512 * 512  # a batch's product, hidden layer
    assert threads_seen_in_fit(monkeypatch, estimator, X, y) == outside


def test_the_largest_product_of_a_batch():
    net = MLPRegressor((8, 3))._network(5, 1, np.float64)
    assert largest_product(net, 32) == 32 * max(5 * 8, 8 * 3, 3 * 1)


def test_a_linear_model_leaves_the_thread_pool_alone(monkeypatch, outside, rng):
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    estimator = GDRegressor(epochs=1, tol=None, batch_size=None)
    # The numpy path, whose forward pass the spy sees: still no limit.
    monkeypatch.setattr(skgd.engine.stack.run, "stacked_fused_epochs", lambda _: None)
    assert threads_seen_in_fit(monkeypatch, estimator, X, y) == outside
