"""Regression losses: each supplies its value and its gradient together.

A loss sees a mini-batch of predictions ``pred`` and targets ``y`` (both of
shape ``(m, n_outputs)``) and per-sample weights ``c`` that sum to one (a
column of shape ``(m, 1)``, or the scalar ``1 / m`` when all samples weigh
the same). It returns ``sum_i c_i * loss(y_i - pred_i)`` and writes the
gradient of that value with respect to ``pred`` into ``grad``. Per-sample
losses sum over the outputs, so each output column is its own problem.

The hot path works in place: ``pred`` is overwritten with the residual.
"""

import numpy as np


class SquaredError:
    """Half the squared error, ``0.5 * ||pred - y||**2`` per sample."""

    name = "squared_error"
    settings = ()

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``."""
        np.subtract(pred, y, pred)
        np.multiply(pred, c, grad)
        return 0.5 * float(np.vdot(grad, pred))


class Huber:
    """Huber loss with threshold ``delta``.

    Quadratic, ``0.5 * r**2``, for residuals ``|r| <= delta`` and linear,
    ``delta * (|r| - delta / 2)``, beyond; both equal ``g * (r - g / 2)``
    with ``g = clip(r, -delta, delta)``, which is also the gradient.
    """

    name = "huber"
    settings = ("huber_delta",)

    def __init__(self, huber_delta=1.0):
        self.delta = float(huber_delta)

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``."""
        np.subtract(pred, y, pred)
        np.clip(pred, -self.delta, self.delta, grad)
        np.multiply(grad, c, grad)
        value = float(np.vdot(grad, pred))  # sum c g r
        np.clip(pred, -self.delta, self.delta, pred)
        return value - 0.5 * float(np.vdot(grad, pred))  # minus sum c g**2 / 2


def weighted_loss(loss, pred, y, sample_weight=None, block=8192):
    """Weighted mean loss of whole arrays, without touching the inputs.

    It goes through ``block`` rows at a time, so its scratch memory stays
    small whatever the number of rows.
    """
    n = len(y)
    total = n if sample_weight is None else float(np.sum(sample_weight))
    value = 0.0
    for start in range(0, n, block):
        rows = slice(start, start + block)
        part = np.array(pred[rows], copy=True)
        c = 1.0 / n if sample_weight is None else sample_weight[rows, None] / total
        value += loss.value_and_grad(part, y[rows], c, np.empty_like(part))
    return value


LOSSES = {"squared_error": SquaredError, "huber": Huber}
