"""One linear model's pass in a compiled kernel: the kernels' side of it.

The codes of the losses and optimizers the kernels know, the settings and
state of an optimizer as the kernels take them (``codes``, ``hyper``,
``state``: see :mod:`skgd.engine.kernels`), and :func:`linear_epoch`, the
call of a pass over dense or CSR rows, which a stack of one candidate (a
fit) makes (:class:`skgd.engine.fused.StackedLinearEpochs`).
"""

import numpy as np
import scipy.sparse as sp

from .._losses import Hinge, Huber, LogLoss, ModifiedHuber, SoftmaxLogLoss, SquaredError
from .._optimizers import SGD, Adam, Averaged, IterateAverage

# The kernels' codes of the losses (see skgd.engine.kernels).
LOSS_CODES = {
    SquaredError: 0,
    Huber: 1,
    LogLoss: 2,
    Hinge: 3,
    ModifiedHuber: 4,
    SoftmaxLogLoss: 5,
}
OPTIMIZER_CODES = {SGD: 0, Adam: 1}


def compiled_optimizer(optimizer):
    """Whether the kernels implement ``optimizer`` (SGD, Adam, averaged or not)."""
    inner = optimizer.inner if isinstance(optimizer, Averaged) else optimizer
    return type(inner) in OPTIMIZER_CODES and (
        not isinstance(optimizer, Averaged) or type(optimizer.average) is IterateAverage
    )


def fusable_data(X, dtype, centered, sparse=True):
    """Whether the kernels train on ``X``: dense, or CSR (with ``sparse``, and
    features not centered), of the network's ``dtype``."""
    if X is None or X.dtype != dtype:
        return False
    if not sp.issparse(X):
        return True
    return sparse and X.format == "csr" and not centered


def linear_epoch(batches, offset, order, sw, size, net, rates, codes, hyper, state):
    """One pass of one linear model (:func:`~skgd.engine.epochs.dense_epoch`
    or ``csr_epoch``) over ``batches.X[order]``; whether it diverged.

    ``sw`` holds the rows' relative weights (None for none); ``net`` has
    the flat ``params`` and ``grads`` of the kernels' layout; ``state`` is
    ``(velocity, m_, v_, mean, counts, sums)`` (see :func:`optimizer_state`).
    """
    from . import epochs, sparse_epochs  # numba: on the first fused pass

    X, Y = batches.X, batches.Y
    sw = _NO_WEIGHTS if sw is None else sw
    o = Y.shape[1]
    # z and g: a row's outputs and their gradients (a whole batch's, for the
    # lazy sparse step).
    z, g = np.empty(o), np.empty(size * o if sp.issparse(X) else o)
    common = (Y, order, sw, size, net.params, net.grads, z, g, rates)
    if sp.issparse(X):
        status = sparse_epochs.csr_epoch(
            X.data, X.indices, X.indptr, *common, codes, hyper, state
        )
    else:
        status = epochs.dense_epoch(np.asarray(X), offset, *common, codes, hyper, state)
    return status != epochs.OK


_NO_WEIGHTS = np.zeros(0)
