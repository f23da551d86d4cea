import numpy as np
import pytest
from scipy.special import expit

from skgd._activations import ACTIVATIONS, Activation

REFERENCE = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "logistic": expit,
    "identity": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_values_and_derivative_from_the_output(name, rng):
    x = rng.normal(size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of relu's kink
    layer = Activation(name)
    cache = layer.make_cache(6, 4, x.dtype)
    y = np.empty_like(x)
    layer.forward(x, y, cache, None)
    np.testing.assert_allclose(y, REFERENCE[name](x), rtol=1e-15)
    grad_out = rng.normal(size=x.shape)
    grad_in = np.empty_like(x)
    layer.backward(x, y, grad_out, grad_in, cache)
    h = 1e-6
    numeric = (REFERENCE[name](x + h) - REFERENCE[name](x - h)) / (2 * h)
    np.testing.assert_allclose(grad_in, grad_out * numeric, rtol=1e-6, atol=1e-9)


def test_activation_writes_into_a_strided_view(rng):
    # Hidden activations go into a buffer with an extra column of ones.
    x = rng.normal(size=(5, 3))
    full = np.ones((5, 4))
    layer = Activation("relu")
    layer.forward(x, full[:, :3], layer.make_cache(5, 3, x.dtype), None)
    np.testing.assert_array_equal(full[:, :3], np.maximum(x, 0))
    np.testing.assert_array_equal(full[:, 3], 1.0)
