"""One step of each optimizer, against a hand computation."""

import numpy as np
import pytest

from skgd._optimizers import SGD, Adam, Averaged

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


def test_the_average_weighs_iterate_s_as_the_binomial_s_plus_2_choose_3():
    # rho_t = 4 / (t + 3): a_1 = w_1, a_2 = w_1 / 5 + 4 w_2 / 5,
    # a_3 = a_2 / 3 + 2 w_3 / 3 = (w_1 + 4 w_2 + 10 w_3) / 15.
    lr, grads = 0.1, [G1, G2, G1 + G2]
    iterates = np.cumsum([W0] + [-lr * g for g in grads], axis=0)[1:]
    optimizer, params = Averaged(SGD()), W0.copy()
    optimizer.init(params)
    optimizer.average.begin(params)
    for g in grads:
        optimizer.step(params, g.copy(), lr)
    np.testing.assert_allclose(params, iterates[-1], rtol=1e-15)  # the iterate
    optimizer.average.end(params)
    expected = (iterates[0] + 4 * iterates[1] + 10 * iterates[2]) / 15
    np.testing.assert_allclose(params, expected, rtol=1e-14)
    # Between passes the network holds the average, the state the iterate.
    state = optimizer.state_dict()
    np.testing.assert_allclose(state["iterate"], iterates[-1], rtol=1e-15)
    assert state["count"] == 3


def test_averaging_goes_on_from_a_stored_state():
    lr, grads = 0.1, [G1, G2, -G1, G2]
    whole, params = Averaged(Adam()), W0.copy()
    whole.init(params)
    for g in grads:  # one pass per update
        whole.average.begin(params)
        whole.step(params, g.copy(), lr)
        whole.average.end(params)
    first, resumed = Averaged(Adam()), W0.copy()
    first.init(resumed)
    for g in grads[:2]:
        first.average.begin(resumed)
        first.step(resumed, g.copy(), lr)
        first.average.end(resumed)
    second = Averaged(Adam())
    second.init(resumed)
    second.load_state_dict(first.state_dict())
    for g in grads[2:]:
        second.average.begin(resumed)
        second.step(resumed, g.copy(), lr)
        second.average.end(resumed)
    np.testing.assert_array_equal(resumed, params)
