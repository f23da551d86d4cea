"""What a training call's result is checked for before it is committed.

:func:`_check_outputs_fit` refuses a float32 model whose predictions
overflow in y's units; :func:`_above_the_mean` finds a regressor that
stopped above the loss of predicting the mean (a warning, see
:meth:`skgd._fitting.TrainingMixin._warn`).
"""

import numpy as np

from ._losses import weighted_loss
from ._tasks import Regression
from .engine.trainer import divergence_error


def _check_outputs_fit(run, result):
    """Refuse a float32 model whose predictions in y's units overflow float32.

    Training sees the standardized target, whose outputs fit; multiplied by
    the target's scale they may not (float64 outputs cannot get there: their
    loss in y's units would overflow first, see ``Trainer.end_epoch``).
    """
    scale, dtype = run.config.task.target_scale, run.net.dtype
    if scale is None or dtype == np.float64 or not result.records:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        pred = run.net.predict(run.X, block=1024)
        top = float(np.max(np.abs(pred), initial=0.0)) * scale.scale
        top += float(np.max(np.abs(scale.mean), initial=0.0))
    if not top <= float(np.finfo(dtype).max):
        epoch, lr = result.records[-1]["epoch"], result.records[-1]["learning_rate"]
        what = f"the predictions on the training data reach {top:.3g}, beyond {dtype}"
        raise divergence_error(epoch, what, lr)


def _above_the_mean(result, run):
    """``(loss, mean's loss)`` in y's units when a regressor's loss on its
    training data is above that of predicting the weighted mean of y; None
    otherwise.

    Predicting the mean is what zero weights and the best intercept give,
    so every optimum is at or below it (with ``alpha``, too): a fit that
    stops above it settled nowhere near one. The model's own loss is
    taken (one pass over the data), not the recorded one, which with
    averaging is that of the iterates.
    """
    task = run.config.task
    if not (result.records and isinstance(task, Regression)):
        return None
    Y, sw = run.Y, run.sample_weight
    if sw is not None and not sw.any():
        return None
    mean = np.average(Y, axis=0, weights=sw)
    with np.errstate(over="ignore", invalid="ignore"):
        constant = weighted_loss(task.loss, np.broadcast_to(mean, Y.shape), Y, sw)
        pred = run.net.predict(run.X, block=1024)  # in little memory
        loss = weighted_loss(task.loss, pred, Y, sw)
    if not loss > constant * (1.0 + 1e-6):
        return None
    return loss * task.loss_scale, constant * task.loss_scale
