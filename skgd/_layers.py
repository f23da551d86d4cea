"""Layers: each keeps its forward rule and its backward rule side by side.

The protocol every layer follows:

``n_out(n_in)``
    Width of the layer's output for an input of width ``n_in``.
``param_shapes()``
    ``(name, shape, penalized)`` for each parameter; the network allocates them
    as views into its flat parameter vector and hands them to ``bind``.
``make_cache(m, n_in, dtype)``
    Scratch memory for a mini-batch of ``m`` rows, made once per batch size.
``forward(x, out, cache, rng)``
    Writes the output into ``out`` and returns it (or returns ``x`` itself when
    the layer does nothing). ``rng`` is ``None`` outside training.
``backward(x, y, grad_out, grad_in, cache)``
    Given the input ``x``, the output ``y`` and the gradient of the objective
    with respect to ``y``, writes the parameter gradients and, unless
    ``grad_in`` is ``None``, the gradient with respect to ``x``.
"""

import numpy as np


class Dense:
    """Fully connected layer ``y = x @ W + b`` with ``W`` of shape (n_in, n_out).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    bias : bool, default=True
        Whether the layer has an intercept ``b`` (never penalized).
    init : {"zeros", "glorot_uniform", "he_uniform"}, default="zeros"
        How ``initialize`` draws ``W``; the intercept always starts at zero.
    """

    def __init__(self, n_in, n_out, *, bias=True, init="zeros"):
        self.n_in, self.n_outputs, self.bias, self.init = n_in, n_out, bias, init

    def n_out(self, n_in):
        return self.n_outputs

    def param_shapes(self):
        shapes = [("W", (self.n_in, self.n_outputs), True)]
        if self.bias:
            shapes.append(("b", (self.n_outputs,), False))
        return shapes

    def bind(self, params, grads):
        self.W, self.dW = params["W"], grads["W"]
        if self.bias:
            self.b, self.db = params["b"], grads["b"][None, :]

    def initialize(self, rng):
        if self.init == "zeros":
            self.W[...] = 0.0
            return
        # Glorot & Bengio (2010) as in scikit-learn's MLP; He et al. (2015).
        factor = 6.0 if self.init == "glorot_uniform" else 12.0
        fan = self.n_in + self.n_outputs if factor == 6.0 else 2 * self.n_in
        bound = np.sqrt(factor / fan)
        self.W[...] = rng.uniform(-bound, bound, self.W.shape)
        if self.bias:
            self.b[...] = 0.0

    def make_cache(self, m, n_in, dtype):
        return np.ones((1, m), dtype=dtype) if self.bias else None

    def forward(self, x, out, cache, rng):
        np.dot(x, self.W, out)
        if self.bias:
            np.add(out, self.b, out)
        return out

    def backward(self, x, y, grad_out, grad_in, ones):
        np.dot(x.T, grad_out, self.dW)
        if self.bias:
            np.dot(ones, grad_out, self.db)  # column sums, cheaper than sum()
        if grad_in is not None:
            np.dot(grad_out, self.W.T, grad_in)


class Dropout:
    """Inverted dropout: zero each input with probability ``rate`` in training.

    Kept inputs are scaled by ``1 / (1 - rate)`` so that their expected value
    is unchanged, and the layer is the identity outside training.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of zeroing each entry.
    """

    def __init__(self, rate):
        self.rate = rate

    def n_out(self, n_in):
        return n_in

    def param_shapes(self):
        return []

    def bind(self, params, grads):
        pass

    def initialize(self, rng):
        pass

    def make_cache(self, m, n_in, dtype):
        return np.empty((m, n_in), dtype=dtype)

    def forward(self, x, out, mask, rng):
        if rng is None:
            return x
        rng.random(dtype=mask.dtype, out=mask)
        np.greater_equal(mask, self.rate, mask)  # 1.0 where kept, 0.0 where dropped
        np.multiply(mask, 1.0 / (1.0 - self.rate), mask)
        return np.multiply(x, mask, out)

    def backward(self, x, y, grad_out, grad_in, mask):
        if grad_in is not None:
            np.multiply(grad_out, mask, grad_in)
