"""Activation functions, each with its derivative, and the layer applying them.

Every derivative is written in terms of the activation's *output* ``y``, so the
backward pass needs no copy of the layer's input.

These numpy functions are the reference; the layer trains with the compiled
passes of :mod:`skgd.engine.activate` where there are some (see
:func:`compiled_passes`).
"""

import numpy as np
from scipy.special import expit

from ._layers import Elementwise


def _relu(x, out, zeros):
    np.maximum(x, zeros, out=out)  # an array of zeros beats the scalar 0


def _relu_grad(y, grad_out, grad_in, scratch):
    np.greater(y, 0, scratch)  # 1.0 where the unit is active
    np.multiply(grad_out, scratch, grad_in)


def _tanh(x, out, zeros):
    np.tanh(x, out)


def _tanh_grad(y, grad_out, grad_in, scratch):
    np.multiply(y, y, scratch)
    np.subtract(1.0, scratch, scratch)  # 1 - y**2
    np.multiply(grad_out, scratch, grad_in)


def _logistic(x, out, zeros):
    expit(x, out=out)


def _logistic_grad(y, grad_out, grad_in, scratch):
    np.subtract(1.0, y, scratch)
    np.multiply(scratch, y, scratch)  # y * (1 - y)
    np.multiply(grad_out, scratch, grad_in)


def _identity(x, out, zeros):
    np.copyto(out, x)


def _identity_grad(y, grad_out, grad_in, scratch):
    np.copyto(grad_in, grad_out)


ACTIVATIONS = {
    "relu": (_relu, _relu_grad),
    "tanh": (_tanh, _tanh_grad),
    "logistic": (_logistic, _logistic_grad),
    "identity": (_identity, _identity_grad),
}


def compiled_passes(name):
    """``(function, gradient)`` of ``name``, compiled where that pays.

    Imports numba (so it is called on a network's first batch, never by
    ``import skgd``).
    """
    from .engine.activate import compiled

    return compiled(name, ACTIVATIONS[name])


class Activation(Elementwise):
    """Layer applying an activation function elementwise.

    Parameters
    ----------
    name : {"relu", "tanh", "logistic", "identity"}
    """

    def __init__(self, name):
        self.name = name
        self._function, self._gradient = ACTIVATIONS[name]

    def make_cache(self, m, n_in, dtype):
        """Scratch space for the backward pass, and an array of zeros.

        The first batch also switches the layer to its compiled passes.
        """
        self._function, self._gradient = compiled_passes(self.name)
        return np.empty((m, n_in), dtype=dtype), np.zeros((m, n_in), dtype=dtype)

    def forward(self, x, out, cache, rng):
        self._function(x, out, cache[1])

    def backward(self, x, y, grad_out, grad_in, cache):
        if grad_in is not None:
            self._gradient(y, grad_out, grad_in, cache[0])
