"""Layers: each keeps its forward rule and its backward rule side by side.

The protocol every layer follows:

``n_out(n_in)``
    Width of the layer's output for an input of width ``n_in``.
``takes_ones_column``
    True if the layer can read its input with one extra, constant column of
    ones (the "bias trick": the intercept is the last row of the weight
    matrix, so a dense layer is one matrix product forwards and one
    backwards). The network plans where such columns go and sets
    ``input_has_ones`` on the layer: True for inputs it computes itself,
    False for the raw data, which it never copies just to add a column.
``contiguous_output``
    True if the layer must write into contiguous memory (a matrix product
    does), so that the next layer cannot find a column of ones beside it.
``get_weights()`` / ``set_weights(W, b)``
    For a layer with weights (``has_weights``), copies of its weight matrix
    ``W`` of shape (n_in, n_out) and intercepts ``b`` of shape (n_out,) (None
    without intercept), and assignment of them. Nothing else reads or writes
    a layer's parameters but the optimizer, through the flat vector.
``param_shapes()``
    ``(name, shape, n_penalized)`` for each parameter: the network allocates
    it as a view into its flat parameter vector, of which the first
    ``n_penalized`` entries take the L2 penalty, and hands it to ``bind``.
``make_cache(m, n_in, dtype)``
    Scratch memory for a mini-batch of ``m`` rows, made once per batch size.
``forward(x, out, cache, rng)``
    Writes the output for input ``x`` into ``out``. In training ``rng`` is
    the list of the dropout streams (numpy Generators, one per dropout
    position, see :func:`skgd.engine.session.dropout_streams`; possibly empty), and
    ``None`` in evaluation: test ``rng is None``, never its truth value.
``backward(x, y, grad_out, grad_in, cache)``
    Given the input ``x``, the output ``y`` and the gradient of the objective
    with respect to ``y``, writes the parameter gradients and, unless
    ``grad_in`` is ``None``, the gradient with respect to ``x``.
"""

import numpy as np
import scipy.sparse as sp


class Dense:
    """Fully connected layer ``y = x @ W + b``, with ``W`` of shape (n_in, n_out).

    With a bias, the parameter is the stacked matrix ``[W; b]`` of shape
    ``(n_in + 1, n_out)`` and the input carries a last column of ones.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    bias : bool, default=True
        Whether the layer has an intercept ``b`` (never penalized).
    init : callable or None, default=None
        ``init(rng, n_in, n_out)`` returns the initial ``(W, b)``; ``None``
        starts from zeros. See :func:`glorot_uniform` and :func:`he_uniform`.
    """

    has_weights = contiguous_output = True

    def __init__(self, n_in, n_out, *, bias=True, init=None):
        self.n_in, self.n_outputs, self.bias, self.init = n_in, n_out, bias, init
        self.takes_ones_column = self.input_has_ones = bias

    def n_out(self, n_in):
        return self.n_outputs

    def param_shapes(self):
        rows = self.n_in + self.bias
        return [("Wb", (rows, self.n_outputs), self.n_in * self.n_outputs)]

    def bind(self, params, grads):
        self.Wb, self.dWb = params["Wb"], grads["Wb"]
        self.W, self.dW = self.Wb[: self.n_in], self.dWb[: self.n_in]
        self.b = self.Wb[self.n_in :] if self.bias else None  # shape (1, n_out)
        self.db = self.dWb[self.n_in :] if self.bias else None
        # Adding a 0-d array is about twice as cheap as broadcasting a row.
        single = self.bias and self.n_outputs == 1
        self._b_added = self.Wb[self.n_in, 0, ...] if single else self.b

    def initialize(self, rng):
        self.Wb[...] = 0.0
        if self.init is not None:
            self.set_weights(*self.init(rng, self.n_in, self.n_outputs))

    def weight_shape(self):
        """Shape ``(n_in, n_out)`` of the weight matrix."""
        return self.n_in, self.n_outputs

    def get_weights(self):
        """Copies ``(W, b)``; ``b`` has shape (n_out,), None without intercept."""
        return self.W.copy(), self.b[0].copy() if self.bias else None

    def set_weights(self, W, b=None):
        """Assign ``W`` of shape (n_in, n_out) and, with an intercept, ``b``."""
        self.W[...] = W
        if self.bias:
            self.b[...] = b

    def make_cache(self, m, n_in, dtype):
        return np.ones((1, m), dtype=dtype)  # sums columns with one product

    def forward(self, x, out, cache, rng):
        if self.input_has_ones or self.b is None:
            np.dot(x, self.Wb, out)
        else:
            np.dot(x, self.W, out)
            np.add(out, self._b_added, out)

    def backward(self, x, y, grad_out, grad_in, ones):
        if self.input_has_ones or self.b is None:
            np.dot(x.T, grad_out, self.dWb)
        else:
            np.dot(x.T, grad_out, self.dW)
            np.dot(ones, grad_out, self.db)
        if grad_in is not None:
            np.dot(grad_out, self.W.T, grad_in)


def glorot_uniform(rng, n_in, n_out, factor=6.0):
    """Glorot & Bengio (2010) uniform initialization, as scikit-learn's MLP.

    ``W`` and ``b`` are drawn uniformly from ``[-r, r]`` with
    ``r = sqrt(factor / (n_in + n_out))``; scikit-learn uses ``factor=2`` for
    the logistic activation and 6 otherwise.
    """
    bound = np.sqrt(factor / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)


def he_uniform(rng, n_in, n_out):
    """He et al. (2015) uniform initialization for relu: ``r = sqrt(6 / n_in)``.

    Intercepts start at zero.
    """
    bound = np.sqrt(6.0 / n_in)
    return rng.uniform(-bound, bound, (n_in, n_out)), np.zeros(n_out)


class Elementwise:
    """Base of the layers without parameters that keep the input's shape.

    Their cache is one scratch array of the input's shape.
    """

    takes_ones_column = has_weights = contiguous_output = False

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


class Center(Elementwise):
    """Centered inputs ``y = x - offset``, a constant shift (no parameters).

    A linear model's first layer when it centers its features (see
    :class:`skgd._tasks.TargetScale`): the dense layer after it then fits
    ``(x - offset) @ W + b``, with the intercept decoupled from the weights,
    as Ridge fits it, without a centered copy of the data (a batch at a
    time). The compiled epochs subtract ``offset`` as they read each row.
    A sparse batch (a ``partial_fit`` call after a dense one) is densified.

    Parameters
    ----------
    offset : ndarray of shape (n_features,)
    """

    def __init__(self, offset):
        self.offset = offset

    def make_cache(self, m, n_in, dtype):
        return None  # no scratch

    def forward(self, x, out, cache, rng):
        np.subtract(x.toarray() if sp.issparse(x) else x, self.offset, out)

    def backward(self, x, y, grad_out, grad_in, cache):
        if grad_in is not None:
            np.copyto(grad_in, grad_out)


class Dropout(Elementwise):
    """Inverted dropout: zero each input with probability ``rate`` in training.

    Kept inputs are scaled by ``1 / (1 - rate)`` so that their expected value
    is unchanged; outside training the layer passes its input through.

    The mask is drawn from 16 random bits per entry (four per 64-bit draw of
    the generator, about four times cheaper than a uniform float each), so
    the rate in force is ``rate`` rounded to a multiple of ``1 / 65536``.

    Each dropout layer of a network has its own position, ``stream``, and
    draws its masks from that stream only (the list of streams is the
    ``rng`` of ``forward``), so its masks do not depend on the rates of the
    other dropout layers, and no dropout rate changes the shuffles.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of zeroing each entry.
    stream : int, default=0
        The layer's position: it draws from ``rngs[stream]`` in training.
    """

    def __init__(self, rate, stream=0):
        self.rate, self.stream = rate, stream
        self._threshold = np.uint16(min(round(rate * 65536), 65535))
        self._scale = 65536.0 / (65536 - int(self._threshold))  # 1 / (1 - rate)

    def forward(self, x, out, mask, rngs):
        if rngs is None:
            np.copyto(out, x)
            return
        raw = rngs[self.stream].bit_generator.random_raw
        bits = raw((mask.size + 3) // 4).view(np.uint16)
        kept = bits[: mask.size].reshape(mask.shape)
        np.greater_equal(kept, self._threshold, mask)  # 1.0 kept, 0.0 dropped
        np.multiply(mask, self._scale, mask)
        np.multiply(x, mask, out)

    def backward(self, x, y, grad_out, grad_in, mask):
        if grad_in is not None:
            np.multiply(grad_out, mask, grad_in)
