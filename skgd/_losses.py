"""Losses: each supplies its value and its gradient together.

A loss sees a mini-batch of network outputs ``pred`` and targets ``y`` (both
of shape ``(m, n_outputs)``) and per-sample weights ``c`` (a column of shape
``(m, 1)``, or the scalar ``1 / m`` when all samples weigh the same; see
:class:`skgd._data.Batches`). It returns ``sum_i c_i * loss(y_i, pred_i)``
and writes the gradient of that value with respect to ``pred`` into
``grad``. Per-sample losses sum over the outputs, so each output column is
its own problem, except in the softmax cross-entropy.

The hot path works in place: ``pred`` is overwritten.

The same code trains ``K`` stacked candidates at once (see
:mod:`skgd.engine.stack`): ``pred`` then has shape ``(m, K, n_outputs)``, ``y``
shape ``(m, 1, n_outputs)`` and ``c`` is a scalar or of shape ``(m, 1, 1)``
or ``(m, K, 1)``; the gradient is the same elementwise arithmetic, and the
value is an array of ``K`` values, one per candidate.

Classification losses take the network's raw output (logits, or decision
values) and fuse the output activation into the loss. Each encodes a 0/1
class indicator matrix into its targets (``encode``) and back
(``indicator``), and says how sharply it can curve (``curvature``: the
largest second derivative in the output, which bounds a stable step).

The margin losses (:class:`LogLoss`, :class:`Hinge`, :class:`ModifiedHuber`)
work on each output column as a binary problem with the margin
``m = s * z`` of the decision value ``z`` and the sign ``s = +1`` for the
positive class, ``-1`` otherwise. Their targets are ``-s``, so that one
product gives ``-m``.
"""

import numpy as np
from scipy.special import expit


class SquaredError:
    """Half the squared error, ``0.5 * ||pred - y||**2`` per sample."""

    name = "squared_error"
    settings = ()
    curvature = 1.0

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``."""
        np.subtract(pred, y, pred)
        np.multiply(pred, c, grad)
        return 0.5 * _dot(grad, pred)


class Huber:
    """Huber loss with threshold ``delta``.

    Quadratic, ``0.5 * r**2``, for residuals ``|r| <= delta`` and linear,
    ``delta * (|r| - delta / 2)``, beyond; both equal ``g * (r - g / 2)``
    with ``g = clip(r, -delta, delta)``, which is also the gradient.
    """

    name = "huber"
    settings = ("huber_delta",)
    curvature = 1.0

    def __init__(self, huber_delta=1.0):
        self.delta = float(huber_delta)

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``."""
        np.subtract(pred, y, pred)
        np.clip(pred, -self.delta, self.delta, grad)
        np.multiply(grad, c, grad)
        value = _dot(grad, pred)  # sum c g r
        np.clip(pred, -self.delta, self.delta, pred)
        return value - 0.5 * _dot(grad, pred)  # minus sum c g**2 / 2


def weighted_loss(loss, pred, y, sample_weight=None, block=8192):
    """Weighted mean loss of whole arrays, without touching the inputs.

    It goes through ``block`` rows at a time, so its scratch memory stays
    small whatever the number of rows.
    """
    n = len(y)
    total = n if sample_weight is None else float(np.sum(sample_weight))
    value = 0.0
    # An exp may over- or underflow before its fallback takes over.
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, n, block):
            rows = slice(start, start + block)
            part = np.array(pred[rows], copy=True)
            c = 1.0 / n if sample_weight is None else sample_weight[rows, None] / total
            value += loss.value_and_grad(part, y[rows], c, np.empty_like(part))
    return value


_add, _largest = np.add.reduce, np.maximum.reduce  # cheaper than np.sum, np.max


def _dot(a, b):
    """``sum(a * b)``: a float, or one value per candidate of stacked arrays."""
    if a.ndim == 2:
        return float(np.vdot(a, b))
    return _add(np.multiply(a, b), (0, 2))


def _overflowed(value):
    """Whether a loss value (or any candidate's) is infinite or NaN."""
    return not np.isfinite(value).all()


def _weighted_sum(values, c):
    """``sum_i c_i * sum_k values_ik``, for a scalar or a column ``c``.

    Stacked ``values`` of shape ``(m, K, n)`` give one sum per candidate.
    """
    if values.ndim == 3:
        if not getattr(c, "ndim", 0):
            return float(c) * _add(values, (0, 2))
        return _add(_add(values, 2) * c[:, :, 0], 0)
    if not getattr(c, "ndim", 0):  # a 0-d array (in training) or a float
        return float(c) * float(_add(values, None))
    if values.shape[1] != 1:
        values = _add(values, 1)
    return float(np.vdot(c, values))


class _MarginLoss:
    """Binary losses of the margin, one problem per output column."""

    settings = ()

    @staticmethod
    def encode(indicator):
        """Targets ``-s``: -1 for the positive class, +1 for the negative."""
        return 1.0 - 2.0 * indicator

    @staticmethod
    def indicator(y):
        return (y < 0).astype(y.dtype)


class LogLoss(_MarginLoss):
    """The logistic loss ``log(1 + exp(-m))``: a sigmoid output and cross-entropy.

    Its gradient in ``z`` is ``sigmoid(z) - 1`` for the positive class and
    ``sigmoid(z)`` otherwise.
    """

    name = "log_loss"
    curvature = 0.25

    def __init__(self):
        self._buffers = {}  # scratch for the loss values, by batch shape

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``.

        The loss is ``log1p(exp(-m))``, exact to rounding and cheaper than
        ``logaddexp``, which takes over only where ``exp`` overflows.
        """
        np.multiply(pred, y, pred)  # -m
        expit(pred, grad)  # sigmoid(-m)
        np.multiply(grad, y, grad)  # d loss / dz = -s * sigmoid(-m)
        np.multiply(grad, c, grad)
        softplus = self._buffers.get(pred.shape)
        if softplus is None or softplus.dtype != pred.dtype:
            softplus = self._buffers[pred.shape] = np.empty_like(pred)
        np.exp(pred, softplus)
        np.log1p(softplus, softplus)
        value = _weighted_sum(softplus, c)
        if _overflowed(value):  # some -m above ~709: the form that cannot overflow
            value = _weighted_sum(np.logaddexp(0.0, pred, out=softplus), c)
        return value

    @staticmethod
    def proba(z):
        """The probability of the positive class."""
        return expit(z)


class Hinge(_MarginLoss):
    """The hinge loss ``max(0, 1 - m)`` of linear support vector machines."""

    name = "hinge"
    curvature = 1.0  # not smooth: the step bound of a loss of slope 1

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write a subgradient into ``grad``."""
        np.multiply(pred, y, pred)
        np.add(pred, 1.0, pred)  # 1 - m
        np.maximum(pred, 0.0, out=pred)
        np.greater(pred, 0.0, grad)  # 1 where the margin is short of 1
        np.multiply(grad, y, grad)
        np.multiply(grad, c, grad)
        return _weighted_sum(pred, c)


class ModifiedHuber(_MarginLoss):
    """The modified Huber loss of scikit-learn's ``SGDClassifier``.

    ``max(0, 1 - m)**2`` for ``m >= -1`` and ``-4 m`` below; both equal
    ``g * (2 u - g)`` with ``u = 1 - m`` and ``g = clip(u, 0, 2)``, and the
    gradient in ``z`` is ``-2 s g``. It is smooth, tolerates outliers like
    the hinge, and gives probability estimates.
    """

    name = "modified_huber"
    curvature = 2.0

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``."""
        np.multiply(pred, y, pred)
        np.add(pred, 1.0, pred)  # u
        np.clip(pred, 0.0, 2.0, grad)  # g
        np.multiply(pred, 2.0, pred)
        np.subtract(pred, grad, pred)
        np.multiply(pred, grad, pred)  # g * (2 u - g)
        np.multiply(grad, y, grad)
        np.multiply(grad, c, grad)
        np.add(grad, grad, grad)
        return _weighted_sum(pred, c)

    @staticmethod
    def proba(z):
        """scikit-learn's estimate ``(clip(z, -1, 1) + 1) / 2``."""
        return (np.clip(z, -1.0, 1.0) + 1.0) / 2.0


class SoftmaxLogLoss:
    """Multinomial cross-entropy of a softmax output, ``logsumexp(z) - z_y``.

    The targets are one-hot rows; the gradient is ``softmax(z) - y``.
    """

    name = "log_loss"
    settings = ()
    curvature = 0.5

    def __init__(self):
        self._scratch = {}

    @staticmethod
    def encode(indicator):
        return indicator

    @staticmethod
    def indicator(y):
        return y

    def value_and_grad(self, pred, y, c, grad):
        """Return the weighted loss and write its gradient into ``grad``.

        The exponentials are taken of the logits as they are, and the row
        sums by one matrix product with ones: four calls fewer than the
        usual shift by each row's maximum, which is taken only when an
        exponential over- or underflows.
        """
        key = pred.shape, pred.dtype
        if key not in self._scratch:  # row sums and a column of ones, per shape
            rows, k = pred.shape[:-1], pred.shape[-1]
            self._scratch[key] = np.empty(rows, pred.dtype), np.ones(k, pred.dtype)
        total, ones = self._scratch[key]
        np.exp(pred, out=grad)
        np.dot(grad, ones, out=total)
        value = self._finish(pred, y, c, grad, total)
        if _overflowed(value):  # overflowed: shift by the row maxima
            pred -= _largest(pred, -1, None, None, True)  # at most 0 now
            np.exp(pred, out=grad)
            np.dot(grad, ones, out=total)
            value = self._finish(pred, y, c, grad, total)
        return value

    @staticmethod
    def _finish(pred, y, c, grad, total):
        """The gradient from ``exp(pred)`` in ``grad``, and the loss."""
        np.divide(grad, total[..., None], grad)  # softmax
        np.subtract(grad, y, grad)
        np.multiply(grad, c, grad)
        np.log(total, out=total)
        # The loss: sum_i c_i (log total_i - pred_i . y_i), y one-hot.
        if pred.ndim == 3:  # stacked: one value per candidate
            return _weighted_sum(total[..., None], c) - _dot(pred, y * c)
        if not getattr(c, "ndim", 0):
            return float(c) * (float(_add(total, None)) - float(np.vdot(pred, y)))
        yc = np.multiply(y, c)
        return float(np.vdot(c, total)) - float(np.vdot(pred, yc))

    @staticmethod
    def proba(z):
        """Softmax of each row."""
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


LOSSES = {"squared_error": SquaredError, "huber": Huber}
CLASSIFICATION_LOSSES = {
    "log_loss": LogLoss,
    "hinge": Hinge,
    "modified_huber": ModifiedHuber,
}
