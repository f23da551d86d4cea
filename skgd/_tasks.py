"""Tasks: what the engine is given to learn one kind of target.

A task holds everything that depends on what ``y`` is, and nothing of how
training runs:

``loss``
    The per-sample loss of the network's output (see :mod:`skgd._losses`);
    an output activation, if any, is fused into it.
``encode(y, dtype)``
    The targets as the float matrix ``Y`` of shape (n_samples, n_outputs)
    that the loss compares with the network's output.
``baseline(Y, sample_weight)``
    The scale of the problem: the largest loss of one sample, times its
    relative weight, under a constant prediction; no batch objective can be
    far above it at the start of training.
``score(Y, output, sample_weight)``
    The score recorded for held-out data (``score_name`` names it in the
    history, as ``val_<score_name>``).
``decode(output, one_d)``
    Predictions from the network's output.
``strata(y)``
    Class codes for a stratified held-out split, or None.
``attributes()``
    The fitted attributes the task adds to the estimator (``classes_``).
``loss_scale``
    What a loss of the targets training sees is in the user's units (a
    regression on standardized targets, see :class:`TargetScale`; 1 else).

:class:`Regression` is the task of the regressors, :class:`Classification`
that of the classifiers.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import r2_score

from ._losses import SoftmaxLogLoss, weighted_loss


class Regression:
    """Real-valued targets, an identity output and R² as the score.

    Parameters
    ----------
    loss : loss object
        A regression loss such as :class:`~skgd._losses.SquaredError`.
    target_scale : TargetScale or None, default=None
        Training sees the targets ``(y - mean) / scale`` (see
        :class:`TargetScale`): Huber's threshold is divided by ``scale`` and
        a loss is ``scale**2`` times larger in y's units. None: y as it is.
    """

    score_name = "r2"

    def __init__(self, loss, target_scale=None):
        self.loss, self.target_scale = loss, target_scale
        scale = 1.0 if target_scale is None else target_scale.scale
        self.loss_scale = scale * scale  # inf where y's loss overflows
        if target_scale is not None and hasattr(loss, "delta"):
            loss.delta /= target_scale.scale  # the threshold, in y / scale

    def encode(self, y, dtype):
        """``y`` as a dense (n_samples, n_outputs) array of ``dtype``."""
        y = y.toarray() if sp.issparse(y) else y
        return np.asarray(y, dtype=dtype).reshape(len(y), -1)

    def baseline(self, Y, sample_weight, block=8192):
        """The largest ``u_i * ||y_i - mean||**2 / 2``; NaN or inf on overflow.

        ``u_i`` are the relative sample weights and ``mean`` the weighted
        mean; the squared error bounds the Huber loss too. It goes through
        ``block`` rows at a time.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            weighted = sample_weight is not None and sample_weight.any()
            sw = sample_weight if weighted else None
            mean = (sw @ Y) / sw.sum() if weighted else Y.mean(axis=0)
            largest = 0.0
            for start in range(0, len(Y), block):
                rows = slice(start, start + block)
                loss = 0.5 * np.sum((Y[rows] - mean) ** 2, axis=1)
                if sw is not None:
                    loss *= sw[rows]
                largest = max(largest, float(np.max(loss, initial=0.0)))
            return largest if np.isfinite(mean).all() else math.inf

    def score(self, Y, output, sample_weight):
        """R² of ``output``; NaN for fewer than two samples, where it is undefined."""
        if len(Y) < 2:
            return math.nan
        return float(r2_score(Y, output, sample_weight=sample_weight))

    def decode(self, output, one_d):
        """The output, raveled when the targets were one-dimensional."""
        return output.ravel() if one_d else output

    def strata(self, y):
        return None

    def attributes(self):
        return {}


class TargetScale:
    """The affine maps between the user's units and those training works in.

    A regressor with ``scale_target`` trains on ``Y' = (Y - mean) / scale``
    (the weighted mean of each output, zero without an intercept; one
    ``scale`` for all outputs, the power of two nearest the root of their
    mean weighted variance, so that dividing and multiplying by it is exact)
    and, for a linear model with an intercept on dense data, on centered
    features ``X' = X - x_mean`` (their weighted means), as Ridge does,
    without a copy of ``X`` (see :class:`~skgd._layers.Center`).
    A trained output layer ``(W', b')`` is the fitted ``W = scale * W'``,
    ``b = mean + scale * (b' - x_mean @ W')``; hidden layers are unchanged.

    For every regression loss of :mod:`skgd._losses` (Huber's threshold
    divided by ``scale``), the loss in y's units is ``scale**2`` times that
    of the standardized targets, so the objective of the output layer's
    weights, with its penalty ``(alpha / 2) ||W||**2``, is ``scale**2``
    times that of the trained problem with the same ``alpha``: the same
    minimizer. Centering is a change of variables of the unpenalized
    intercept only.

    Parameters
    ----------
    mean : array-like of shape (n_outputs,)
    scale : float > 0
    x_mean : array-like of shape (n_features,) or None, default=None
        None: the features are not centered.
    fixed_intercept : bool, default=False
        The squared error of centered features and targets: the best
        intercept of the trained problem is 0 whatever the weights, so it is
        not trained (its gradient is only rounding, which Adam would turn
        into steps) and the fitted one is ``mean - x_mean @ W``, as in Ridge.
    """

    def __init__(self, mean, scale, x_mean=None, fixed_intercept=False):
        self.mean, self.scale = np.asarray(mean, dtype=np.float64), float(scale)
        self.x_mean = None if x_mean is None else np.asarray(x_mean, np.float64)
        self.fixed_intercept = bool(fixed_intercept)

    @classmethod
    def of(cls, X, Y, sample_weight, intercept, center, squared=False):
        """The scale of targets ``Y`` (and the centering of a dense ``X``
        when ``center``), weighted by ``sample_weight``.

        Without an intercept the targets are only scaled and ``X`` is left
        as it is (centering would change the model). A constant target
        takes the scale 1; targets whose mean overflows are left as they
        are (training then reports the overflow).
        """
        weights = sample_weight
        if weights is not None and (
            weights.min() == weights.max() or not weights.any()
        ):
            weights = None  # equal (a stream's weightless chunk too): as none
        elif weights is not None:  # relative: no sum overflows or underflows
            weights = weights / np.max(weights)
        dtype, Y = Y.dtype, np.asarray(Y, dtype=np.float64)
        n_outputs = Y.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            mean = np.average(Y, axis=0, weights=weights)
            if not np.isfinite(mean).all():
                return cls(np.zeros(n_outputs), 1.0)
            constant = Y.min(axis=0) == Y.max(axis=0)
            mean[constant] = Y[0, constant]  # exactly, not up to rounding
            R = Y - mean
            top = float(np.max(np.abs(R), initial=0.0))  # no overflow in squares
            variance = np.average((R / top) ** 2, axis=0, weights=weights) if top else 0
            scale = top * math.sqrt(float(np.mean(variance)))
        # Constant targets, or a spread within the rounding of their mean (as
        # scikit-learn's StandardScaler judges it), take the scale 1.
        rounding = len(Y) * np.finfo(np.float64).eps * float(np.max(np.abs(mean)))
        if not (math.isfinite(scale) and scale > rounding):
            scale = 1.0
        # Standardized targets whose squares fit the dtype (a target almost
        # constant but for rows of tiny weight would be standardized far out).
        scale = max(scale, 2.0 * top / math.sqrt(np.finfo(dtype).max))
        scale = 2.0 ** math.ceil(math.log2(scale) - 0.5)  # exact to divide by
        if not intercept:
            return cls(np.zeros(n_outputs), scale)
        x_mean = None
        if center and not sp.issparse(X):  # in X's dtype, as the network uses it
            x_mean = _column_means(X, weights).astype(X.dtype)
        return cls(mean, scale, x_mean, squared and x_mean is not None)

    @classmethod
    def from_dict(cls, state):
        if state is None:
            return None
        fixed = state.get("fixed_intercept", False)
        return cls(state["mean"], state["scale"], state.get("x_mean"), fixed)

    def to_dict(self):
        x_mean = None if self.x_mean is None else self.x_mean.tolist()
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale,
            "x_mean": x_mean,
            "fixed_intercept": self.fixed_intercept,
        }

    def resumed(self, weights, intercepts):
        """Fitted ``weights`` as training's, with the trained ``intercepts``
        (kept in the state) where they give the fitted ones exactly.

        The weight matrices convert exactly (``scale`` is a power of two),
        the intercepts not; weights assigned by hand are converted.
        """
        converted = self.to_training(weights)
        *hidden, (W, b) = converted
        if intercepts is None or b is None or len(intercepts) != len(b):
            return converted
        kept = [*hidden, (W, np.asarray(intercepts, W.dtype))]
        W2, b2 = self.from_training(kept)[-1]
        same = np.array_equal(W2, weights[-1][0]) and np.array_equal(b2, weights[-1][1])
        return kept if same else converted

    def transform(self, Y):
        """The targets ``Y'`` training sees, in ``Y``'s dtype (a copy).

        The features are centered by the network (its
        :class:`~skgd._layers.Center` layer), a batch at a time.
        """
        standardized = np.subtract(Y, self.mean, dtype=np.float64)
        standardized /= self.scale
        return standardized.astype(Y.dtype, copy=False)

    def to_training(self, weights):
        """Fitted weights ``[(W, b), ...]`` as training's (the output layer's)."""
        *hidden, (W, b) = weights
        W2 = W / self.scale
        if self.fixed_intercept:
            b = None
        elif b is not None:
            b2 = (b - self.mean) / self.scale
            if self.x_mean is not None:
                b2 = b2 + self.x_mean @ W2
            b = b2.astype(W.dtype)
        return [*hidden, (W2.astype(W.dtype), b)]

    def from_training(self, weights):
        """Training's weights ``[(W', b'), ...]`` as the fitted ones."""
        *hidden, (W, b) = weights
        if self.fixed_intercept:
            b = (self.mean - self.scale * (self.x_mean @ W)).astype(W.dtype)
        elif b is not None:
            b2 = b if self.x_mean is None else b - self.x_mean @ W
            b = (self.mean + self.scale * b2).astype(W.dtype)
        return [*hidden, ((W * self.scale).astype(W.dtype), b)]


def _column_means(X, weights, block=256):
    """The (weighted) mean of each column of dense ``X``, in float64.

    A C-ordered block of rows at a time: no copy of ``X``, and the same sums
    whatever its memory layout (a data frame's columns, a list's rows).
    Unweighted columns are summed by a compiled loop with the sums of
    numpy's (:func:`skgd.engine.kernels.column_sums`), but for one column,
    which numpy sums pairwise.
    """
    total = np.zeros(X.shape[1])
    if weights is None and X.shape[1] > 1:
        from .engine.kernels import column_sums  # numba: on the first call

        column_sums(np.asarray(X), block, np.empty(X.shape[1]), total)
        return total / X.shape[0]
    for start in range(0, X.shape[0], block):
        rows = np.ascontiguousarray(X[start : start + block], dtype=np.float64)
        if weights is None:
            total += rows.sum(axis=0)
        else:
            total += weights[start : start + block] @ rows
    return total / (X.shape[0] if weights is None else weights.sum())


class Classification:
    """Class labels, a classification loss on the raw output, and accuracy.

    Two classes are one output column (the second class positive); more are
    one column per class: a softmax for the log-loss, one-vs-rest binary
    problems for the margin losses. Multilabel targets (an indicator matrix)
    are one binary column per label.

    Parameters
    ----------
    loss : loss object
        A classification loss of :mod:`skgd._losses`.
    classes : ndarray
        The sorted class labels (``arange(n_labels)`` when multilabel).
    multilabel : bool, default=False
    """

    score_name = "accuracy"
    loss_scale = 1.0
    target_scale = None

    def __init__(self, loss, classes, multilabel=False):
        self.loss, self.classes, self.multilabel = loss, classes, multilabel

    def encode(self, y, dtype):
        """The loss's targets for labels ``y``, of shape (n_samples, n_outputs)."""
        if self.multilabel:
            indicator = y.toarray() if sp.issparse(y) else np.asarray(y)
            return self.loss.encode(indicator.astype(dtype))
        codes = np.searchsorted(self.classes, y)
        if len(self.classes) == 2:  # one column: the second class
            return self.loss.encode(codes.astype(dtype).reshape(-1, 1))
        indicator = np.zeros((len(codes), len(self.classes)), dtype)
        indicator[np.arange(len(codes)), codes] = 1.0
        return self.loss.encode(indicator)

    def baseline(self, Y, sample_weight):
        """The loss of the zero output (a linear model's first), times the
        largest relative weight: the zero output loses as much on every sample."""
        zero_output_loss = weighted_loss(self.loss, np.zeros_like(Y[:1]), Y[:1])
        largest = 1.0 if sample_weight is None else float(np.max(sample_weight))
        return largest * zero_output_loss

    def _codes(self, indicator):
        """Class codes of an indicator (per label when multilabel)."""
        if self.multilabel:
            return indicator
        if indicator.shape[1] == 1:
            return indicator[:, 0].astype(np.intp)
        return np.argmax(indicator, axis=1)

    def predicted_codes(self, output):
        """Codes of the predicted classes (a 0/1 matrix when multilabel)."""
        if self.multilabel or output.shape[1] == 1:
            return self._codes((output > 0).astype(np.intp))
        return np.argmax(output, axis=1)

    def score(self, Y, output, sample_weight):
        """Accuracy (of whole label sets when multilabel), weighted."""
        correct = self._codes(self.loss.indicator(Y)) == self.predicted_codes(output)
        if correct.ndim == 2:
            correct = correct.all(axis=1)
        return float(np.average(correct, weights=sample_weight))

    def decode(self, output, one_d=True):
        """Predicted labels (the indicator matrix when multilabel)."""
        codes = self.predicted_codes(output)
        return codes if self.multilabel else self.classes[codes]

    def proba(self, output):
        """Class probabilities of shape (n_samples, n_classes).

        With one output column, the columns are ``1 - p`` and ``p`` (but per
        label when multilabel). One-vs-rest estimates (``"modified_huber"``)
        are normalized to sum to one, uniform where they are all zero, as in
        scikit-learn's ``SGDClassifier``.
        """
        p = self.loss.proba(output)
        if self.multilabel or isinstance(self.loss, SoftmaxLogLoss):
            return p
        if p.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        none = total[:, 0] == 0
        p[none], total[none] = 1.0, p.shape[1]
        return p / total

    def strata(self, y):
        """Class codes for a stratified split (None when multilabel)."""
        return None if self.multilabel else np.searchsorted(self.classes, y)

    def attributes(self):
        return {"classes_": self.classes, "_multilabel": self.multilabel}
