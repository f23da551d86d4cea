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
    """

    score_name = "r2"

    def __init__(self, loss):
        self.loss = loss

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
