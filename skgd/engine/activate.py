"""Compiled elementwise passes of the activations (see :mod:`skgd._activations`).

Each kernel takes the arguments of its numpy reference in
:data:`skgd._activations.ACTIVATIONS` and makes one pass over a batch's
activations where numpy makes two or three (and an array of zeros or
scratch space goes unused). The arithmetic is the reference's, in its order:
NaN propagates as it does there, so the divergence checks still see it.
Only the passes that pay are compiled: ``np.tanh`` and ``expit`` are
already one vectorized pass each, and identity a copy.
"""

from .kernels import kernel


@kernel
def relu(x, out, zeros):
    """``out = max(x, 0)``, NaN kept (the reference's ``np.maximum``)."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[i, j]
            out[i, j] = 0.0 if v < 0.0 else v


@kernel
def relu_grad(y, grad_out, grad_in, scratch):
    """``grad_in = grad_out * (y > 0)``."""
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            grad_in[i, j] = grad_out[i, j] * (1.0 if y[i, j] > 0.0 else 0.0)


@kernel
def tanh_grad(y, grad_out, grad_in, scratch):
    """``grad_in = grad_out * (1 - y**2)``."""
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            v = y[i, j]
            grad_in[i, j] = grad_out[i, j] * (1.0 - v * v)


@kernel
def logistic_grad(y, grad_out, grad_in, scratch):
    """``grad_in = grad_out * ((1 - y) * y)``."""
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            v = y[i, j]
            grad_in[i, j] = grad_out[i, j] * ((1.0 - v) * v)


def compiled(name, reference):
    """``(function, gradient)`` of activation ``name``: the kernels where
    there are some, else the numpy ``reference`` pair."""
    function, gradient = reference
    if name == "relu":
        return relu, relu_grad
    return function, {"tanh": tanh_grad, "logistic": logistic_grad}.get(name, gradient)
