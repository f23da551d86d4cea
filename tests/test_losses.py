import numpy as np
import pytest

from skgd._losses import (
    LOSSES,
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    SoftmaxLogLoss,
    SquaredError,
    weighted_loss,
)


def _value_and_grad(loss, pred, y, c):
    grad = np.empty_like(pred)
    return loss.value_and_grad(pred.copy(), y, c, grad), grad


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(name, weighted, rng):
    loss = LOSSES[name]()
    pred, y = rng.normal(size=(7, 2)) * 2, rng.normal(size=(7, 2))
    c = rng.uniform(0.1, 1, size=(7, 1)) if weighted else 1.0 / 7
    if weighted:
        c /= c.sum()
    _, grad = _value_and_grad(loss, pred, y, c)
    h = 1e-6
    for idx in np.ndindex(pred.shape):
        up, down = pred.copy(), pred.copy()
        up[idx] += h
        down[idx] -= h
        numeric = (
            _value_and_grad(loss, up, y, c)[0] - _value_and_grad(loss, down, y, c)[0]
        ) / (2 * h)
        assert numeric == pytest.approx(grad[idx], rel=1e-6, abs=1e-9)


def test_squared_error_value_by_hand():
    pred = np.array([[1.0], [3.0]])
    y = np.array([[0.0], [1.0]])
    value, grad = _value_and_grad(SquaredError(), pred, y, 0.5)
    assert value == pytest.approx(0.5 * (0.5 * 1 + 0.5 * 4))
    np.testing.assert_allclose(grad, [[0.5], [1.0]])


def test_huber_value_by_hand():
    pred = np.array([[0.5], [4.0], [-3.0]])
    y = np.zeros((3, 1))
    value, grad = _value_and_grad(Huber(huber_delta=1.0), pred, y, 1.0 / 3)
    per_sample = [0.5 * 0.25, 1.0 * (4.0 - 0.5), 1.0 * (3.0 - 0.5)]
    assert value == pytest.approx(np.mean(per_sample))
    np.testing.assert_allclose(grad, [[0.5 / 3], [1 / 3], [-1 / 3]])


def test_weighted_loss_leaves_inputs_alone(rng):
    pred, y = rng.normal(size=(5, 1)), rng.normal(size=(5, 1))
    before = pred.copy()
    weights = np.array([1.0, 2.0, 0.0, 1.0, 1.0])
    value = weighted_loss(SquaredError(), pred, y, weights)
    np.testing.assert_array_equal(pred, before)
    expected = 0.5 * np.average(((pred - y) ** 2).ravel(), weights=weights)
    assert value == pytest.approx(expected)


# -- classification losses: targets -s, value and gradient by hand ---------------

MARGIN = np.array([[-3.0], [-0.5], [0.2], [1.0], [2.5]])  # m = s * z


def _margin_case(loss):
    s = np.array([[1.0], [-1.0], [1.0], [-1.0], [1.0]])
    z = MARGIN * s
    indicator = (s > 0).astype(float)
    return z, loss.encode(indicator), s


@pytest.mark.parametrize(
    "loss, per_sample, slope",
    [
        (LogLoss(), np.log1p(np.exp(-MARGIN)), -1 / (1 + np.exp(MARGIN))),
        (Hinge(), np.maximum(0, 1 - MARGIN), -1.0 * (MARGIN < 1.0)),
        (
            ModifiedHuber(),
            np.where(MARGIN >= -1, np.maximum(0, 1 - MARGIN) ** 2, -4 * MARGIN),
            np.where(MARGIN >= -1, -2 * np.maximum(0, 1 - MARGIN), -4.0),
        ),
    ],
    ids=["log_loss", "hinge", "modified_huber"],
)
def test_margin_losses_by_hand(loss, per_sample, slope):
    z, y, s = _margin_case(loss)
    value, grad = _value_and_grad(loss, z, y, 0.2)
    assert value == pytest.approx(0.2 * per_sample.sum())
    np.testing.assert_allclose(grad, 0.2 * slope * s)  # d loss / dz = s dl/dm


def test_log_loss_does_not_overflow_on_huge_margins():
    z, y = np.array([[-800.0], [900.0]]), np.array([[-1.0], [1.0]])  # both wrong
    with np.errstate(over="ignore"):  # as in training: exp overflows, then falls back
        value, grad = _value_and_grad(LogLoss(), z, y, 0.5)
    assert value == pytest.approx(0.5 * (800 + 900))
    np.testing.assert_allclose(grad, [[-0.5], [0.5]])


@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_cross_entropy_by_hand(weighted, rng):
    from scipy.special import logsumexp, softmax

    z = 10 * rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    y = np.eye(4)[labels]
    c = rng.uniform(0, 1, (6, 1)) if weighted else 1 / 6
    value, grad = _value_and_grad(SoftmaxLogLoss(), z, y, c)
    per_sample = logsumexp(z, axis=1) - z[np.arange(6), labels]
    assert value == pytest.approx(
        float(np.sum(np.ravel(c * np.ones((6, 1))) * per_sample))
    )
    np.testing.assert_allclose(grad, c * (softmax(z, axis=1) - y))


def test_softmax_cross_entropy_of_huge_logits_is_finite():
    z = np.array([[1000.0, 0.0, -1000.0], [-900.0, -1000.0, -950.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with np.errstate(all="ignore"):  # as in training: overflow, then the fallback
        value, grad = _value_and_grad(SoftmaxLogLoss(), z, y, 0.5)
    assert value == pytest.approx(0.5 * 1000.0)  # the first row; the second is 0
    np.testing.assert_allclose(
        grad, 0.5 * (np.array([[1, 0, 0], [1, 0, 0]]) - y), atol=1e-15
    )


STACKABLE = {
    "squared_error": SquaredError,
    "huber": lambda: Huber(huber_delta=0.7),
    "log_loss": LogLoss,
    "hinge": Hinge,
    "modified_huber": ModifiedHuber,
    "softmax": SoftmaxLogLoss,
}


@pytest.mark.parametrize("name", sorted(STACKABLE))
@pytest.mark.parametrize("weights", ["none", "shared", "per candidate"])
def test_stacked_candidates_get_their_own_values_and_gradients(name, weights, rng):
    """(m, K, n) arrays: each candidate's value and gradient as if alone."""
    # The stacked losses of skgd.engine.stack; ``c`` of no weights, of weights
    # shared by the candidates, or of class weights of each candidate.
    loss, m, K, n = STACKABLE[name](), 6, 4, 3
    pred = rng.normal(size=(m, K, n)) * 3
    pred[0, 1] = 800.0  # an overflowing exponential in one candidate only
    if name == "softmax":
        y = np.eye(n)[rng.integers(0, n, m)]
    elif name in ("squared_error", "huber"):
        y = rng.normal(size=(m, n))
    else:
        y = loss.encode(rng.integers(0, 2, (m, n)).astype(float))
    c = {
        "none": np.array(1.0 / m),
        "shared": rng.uniform(0.1, 1, (m, 1, 1)),
        "per candidate": rng.uniform(0.1, 1, (m, K, 1)),
    }[weights]
    grad = np.empty_like(pred)
    with np.errstate(over="ignore", invalid="ignore"):  # the fallback takes over
        values = loss.value_and_grad(pred.copy(), y[:, None, :], c, grad)
    assert values.shape == (K,)
    for k in range(K):
        ck = c if c.ndim == 0 else c[:, min(k, c.shape[1] - 1)]
        with np.errstate(over="ignore", invalid="ignore"):
            alone, grad_k = _value_and_grad(STACKABLE[name](), pred[:, k], y, ck)
        # Equal but for rounding: one candidate's overflow makes the softmax
        # shift every row by its maximum, which a candidate alone skips.
        assert values[k] == pytest.approx(alone, rel=1e-13)
        np.testing.assert_allclose(grad[:, k], grad_k, rtol=1e-13, atol=1e-16)
