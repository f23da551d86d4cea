import numpy as np
import pytest

from skgd._losses import LOSSES, Huber, SquaredError, weighted_loss


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
