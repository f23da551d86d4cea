"""A feed-forward network over one flat parameter vector.

All parameters live in ``params`` and all gradients in ``grads``; each layer
gets views into them, so an optimizer step is a handful of vectorized calls
on contiguous memory. Activations of a mini-batch go to buffers allocated
once per batch size and reused, so training allocates nothing per batch
(but the random bits of dropout masks, see :class:`~skgd._layers.Dropout`).

A layer that ``takes_ones_column`` (a dense layer with intercept) reads the
activations of the layer before it with one extra constant column of ones:
that buffer is one column wider. The raw data never get such a column
(copying rows into a wider buffer costs more than it saves).
"""

import itertools
import math

import numpy as np

from ._data import iter_rows
from ._layers import Dropout


class Network:
    """A stack of layers with a flat parameter vector.

    Parameters
    ----------
    layers : list of layer objects
        Applied in order; see :mod:`skgd._layers` for the protocol.
    n_features : int
        Width of the input, without the column of ones.
    dtype : numpy dtype
        Floating-point type of parameters, activations and gradients.

    Attributes
    ----------
    params, grads : ndarray of shape (n_params,)
        All parameters, and the gradient of the last backward pass.
    penalized : list of (ndarray, ndarray, ndarray)
        ``(params view, grads view, scratch)`` of each block the L2 penalty
        applies to, with scratch space of the same size.
    penalized_bounds : ndarray of shape (n_blocks, 2), int64
        ``(start, stop)`` of each of those blocks in ``params``.
    """

    def __init__(self, layers, n_features, dtype):
        self.layers, self.dtype = layers, np.dtype(dtype)
        self.widths = [n_features]
        for layer in layers:
            self.widths.append(layer.n_out(self.widths[-1]))
        # Output i is one column wider when layer i + 1 reads a column of ones,
        # unless layer i must write contiguous output (a matrix product): then
        # the next layer adds its intercept itself.
        self._extra = [
            int(nxt.takes_ones_column and not layer.contiguous_output)
            for layer, nxt in itertools.pairwise(layers)
        ] + [0]
        for i, layer in enumerate(layers):
            if layer.takes_ones_column:
                layer.input_has_ones = i > 0 and bool(self._extra[i - 1])
        shapes = [layer.param_shapes() for layer in layers]
        size = sum(math.prod(shape) for s in shapes for _, shape, _ in s)
        self.params = np.zeros(size, dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        self.penalized, bounds, offset = [], [], 0
        for layer, layer_shapes in zip(layers, shapes):
            params, grads = {}, {}
            for name, shape, n_penalized in layer_shapes:
                n = math.prod(shape)
                params[name] = self.params[offset : offset + n].reshape(shape)
                grads[name] = self.grads[offset : offset + n].reshape(shape)
                if n_penalized:
                    stop = offset + n_penalized
                    bounds.append((offset, stop))
                    self.penalized.append(
                        (
                            self.params[offset:stop],
                            self.grads[offset:stop],
                            np.empty(n_penalized, dtype=self.dtype),
                        )
                    )
                offset += n
            layer.bind(params, grads)
        self.penalized_bounds = np.array(bounds, dtype=np.int64).reshape(-1, 2)
        # The first layer with parameters needs no gradient for its input.
        has_params = [bool(s) for s in shapes]
        self._needs_grad_in = [any(has_params[:i]) for i in range(len(layers))]
        self._workspaces, self._rows, self._single = {}, None, {}

    def initialize(self, rng):
        """Draw initial parameters from ``rng``."""
        for layer in self.layers:
            layer.initialize(rng)

    @property
    def n_streams(self):
        """The number of dropout streams: 1 + the largest ``stream`` of its
        dropout layers, or 0 without any."""
        streams = [layer.stream for layer in self.layers if isinstance(layer, Dropout)]
        return 1 + max(streams) if streams else 0

    @property
    def weighted_layers(self):
        """The layers that have weights, in order."""
        return [layer for layer in self.layers if layer.has_weights]

    def get_weights(self):
        """Copies ``[(W, b), ...]`` of the layers with weights (see the layers)."""
        return [layer.get_weights() for layer in self.weighted_layers]

    def set_weights(self, weights):
        """Assign ``[(W, b), ...]``, one pair per layer with weights.

        Raises
        ------
        ValueError
            If the shapes of the weight matrices are not those of the layers.
        """
        layers = self.weighted_layers
        expected = [layer.weight_shape() for layer in layers]
        given = [np.shape(W) for W, _ in weights]
        if given != expected:
            raise ValueError(
                f"The fitted weights have shapes {given} but the current "
                f"parameters build layers of shapes {expected}; restore the "
                "parameters the model was fitted with, or fit a new model with "
                "warm_start=False."
            )
        for layer, (W, b) in zip(layers, weights):
            layer.set_weights(W, b)

    def _workspace(self, m):
        """Buffers for a batch of ``m`` rows, made on first use."""
        ws = self._workspaces.get(m)
        if ws is None:
            full = [
                np.ones((m, w + extra), dtype=self.dtype)
                for w, extra in zip(self.widths[1:], self._extra)
            ]
            outs = [f[:, :w] for f, w in zip(full, self.widths[1:])]
            grads = [np.empty((m, w), dtype=self.dtype) for w in self.widths[1:]]
            caches = [
                layer.make_cache(m, w, self.dtype)
                for layer, w in zip(self.layers, self.widths)
            ]
            grad_ins = [
                g if need else None
                for g, need in zip([None, *grads[:-1]], self._needs_grad_in)
            ]
            # Layer i reads full[i - 1]; None stands for the batch itself.
            inputs = [None, *full[:-1]]
            forward = list(zip(self.layers, inputs, outs, caches))
            backward = list(zip(self.layers, inputs, outs, grad_ins, caches))[::-1]
            ws = self._workspaces[m] = (forward, backward, grads[-1], full[-1])
        return ws

    def loss_and_grad(self, loss, X, y, c, rng=None):
        """``loss.value_and_grad`` of the output for a batch; fills ``grads``.

        Forward, loss and backward in one call. A network of one layer (a
        linear model) calls its layer directly, without walking the plan: its
        step is a handful of small numpy calls, which the walk would slow by a
        quarter. The calls and so the results are the same either way.
        """
        if len(self.layers) != 1:
            pred = self.forward(X, rng)
            value = loss.value_and_grad(pred, y, c, self.output_grad)
            self.backward(self.output_grad)
            return value
        buffers = self._single.get(X.shape[0])
        if buffers is None:
            ((_, _, out, cache),), _, grad, _ = self._workspace(X.shape[0])
            buffers = self._single[X.shape[0]] = out, grad, cache
        out, grad, cache = buffers
        layer = self.layers[0]
        layer.forward(X, out, cache, rng)
        value = loss.value_and_grad(out, y, c, grad)
        layer.backward(X, out, grad, None, cache)
        return value

    def forward(self, X, rng=None):
        """Output for a batch ``X``; training mode unless ``rng`` is None.

        In training, ``rng`` is the list of the dropout streams (see
        :mod:`skgd._layers`).

        The result is a buffer that the next call with as many rows overwrites,
        and the gradient w.r.t. it goes to ``self.output_grad`` for ``backward``.
        """
        if X.shape[0] != self._rows:  # a new batch size: switch buffers
            self._rows = X.shape[0]
            self._plan = self._workspace(self._rows)
        forward, self._backward, self.output_grad, output = self._plan
        self._X = X
        for layer, x, out, cache in forward:
            layer.forward(X if x is None else x, out, cache, rng)
        return output

    def backward(self, grad_out):
        """Fill ``grads``, given the gradient w.r.t. the last forward's output."""
        for layer, x, out, grad_in, cache in self._backward:
            layer.backward(self._X if x is None else x, out, grad_out, grad_in, cache)
            grad_out = grad_in

    def predict(self, X, rows=None, block=4096):
        """Evaluation-mode output for the chosen rows of ``X`` (all by default).

        Rows go through ``block`` at a time (a sparse ``X`` is densified one
        block at a time).
        """
        n = X.shape[0] if rows is None else len(rows)
        out = np.empty((n, self.widths[-1]), dtype=self.dtype)
        for part, Xb in iter_rows(X, block, self.dtype, rows):
            out[part] = self.forward(Xb)
        return out
