"""One step of each optimizer, against a hand computation."""

import numpy as np
import pytest

from skgd._optimizers import SGD, Adam

W0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.3, -0.1, 2.0])
G2 = np.array([-0.2, 0.4, 1.0])


def _steps(optimizer, grads, lr, dtype=np.float64):
    params = W0.astype(dtype)
    optimizer.init(params)
    for g in grads:
        optimizer.step(params, g.astype(dtype), lr)
    return params


def test_plain_sgd_step():
    np.testing.assert_allclose(_steps(SGD(), [G1], 0.1), W0 - 0.1 * G1, rtol=1e-15)


def test_momentum_steps():
    # v1 = g1, w1 = w0 - lr v1;  v2 = mu v1 + g2, w2 = w1 - lr v2
    lr, mu = 0.1, 0.9
    v1 = G1
    v2 = mu * v1 + G2
    expected = W0 - lr * v1 - lr * v2
    got = _steps(SGD(momentum=mu), [G1, G2], lr)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_nesterov_steps():
    # w <- w - lr (g + mu v) with v <- mu v + g
    lr, mu = 0.1, 0.9
    v1 = G1
    w1 = W0 - lr * (G1 + mu * v1)
    v2 = mu * v1 + G2
    w2 = w1 - lr * (G2 + mu * v2)
    got = _steps(SGD(momentum=mu, nesterov=True), [G1, G2], lr)
    np.testing.assert_allclose(got, w2, rtol=1e-15)


def test_adam_steps():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    m = v = np.zeros(3)
    w = W0.copy()
    for t, g in enumerate([G1, G2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - lr_t * m / (np.sqrt(v) + eps)
    got = _steps(Adam(b1, b2, eps), [G1, G2], lr)
    np.testing.assert_allclose(got, w, rtol=1e-14)


def test_adam_first_step_has_size_lr_per_coordinate():
    # With bias correction the first step is lr * g s / (|g| s + eps) with
    # s = sqrt(1 - beta_2): lr * sign(g), up to epsilon.
    got = _steps(Adam(), [G1], 0.01)
    s = np.sqrt(1 - 0.999)
    np.testing.assert_allclose(W0 - got, 0.01 * G1 * s / (np.abs(G1) * s + 1e-8))
    np.testing.assert_allclose(W0 - got, 0.01 * np.sign(G1), rtol=1e-4)


@pytest.mark.parametrize("optimizer", [SGD(), SGD(0.9, True), Adam()])
def test_float32_state_stays_float32(optimizer):
    params = _steps(optimizer, [G1, G2], 0.1, dtype=np.float32)
    assert params.dtype == np.float32
    for value in vars(optimizer).values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
