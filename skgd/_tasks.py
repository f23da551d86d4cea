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
    The loss of the best constant prediction: the scale of the problem.
``score(Y, output, sample_weight)``
    The score recorded for held-out data (``score_name`` names it in the
    history, as ``val_<score_name>``).
``decode(output, one_d)``
    Predictions from the network's output.

:class:`Regression` is the task of the regressors; a classifier plugs in a
task with a cross-entropy loss, a label encoding and accuracy.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import r2_score

from ._losses import weighted_loss


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

    def baseline(self, Y, sample_weight):
        """The loss of the (weighted) mean prediction; NaN or inf on overflow."""
        with np.errstate(over="ignore", invalid="ignore"):
            weighted = sample_weight is not None and sample_weight.any()
            sw = sample_weight if weighted else None
            mean = (sw @ Y) / sw.sum() if weighted else Y.mean(axis=0)
            return weighted_loss(self.loss, np.broadcast_to(mean, Y.shape), Y, sw)

    def score(self, Y, output, sample_weight):
        """R² of ``output``; NaN for fewer than two samples, where it is undefined."""
        if len(Y) < 2:
            return math.nan
        return float(r2_score(Y, output, sample_weight=sample_weight))

    def decode(self, output, one_d):
        """The output, raveled when the targets were one-dimensional."""
        return output.ravel() if one_d else output
