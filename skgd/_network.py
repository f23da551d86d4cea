"""A feed-forward network over one flat parameter vector.

All parameters live in ``params`` and all gradients in ``grads``; each layer
gets views into them, penalized parameters (weight matrices) first, so that
an optimizer step or the L2 penalty is a handful of vectorized calls on
contiguous memory. Buffers for the activations of a mini-batch are allocated
once per batch size and reused, so training allocates nothing per batch.
"""

import numpy as np

from ._data import iter_rows


class Network:
    """A stack of layers with a flat parameter vector.

    Parameters
    ----------
    layers : list of layer objects
        Applied in order; see :mod:`skgd._layers` for the protocol.
    n_features : int
        Width of the input.
    dtype : numpy dtype
        Floating-point type of parameters, activations and gradients.
    """

    def __init__(self, layers, n_features, dtype):
        self.layers, self.dtype = layers, np.dtype(dtype)
        self.widths = [n_features]
        for layer in layers:
            self.widths.append(layer.n_out(self.widths[-1]))
        slots = [
            (i, name, shape, penalized)
            for i, layer in enumerate(layers)
            for name, shape, penalized in layer.param_shapes()
        ]
        slots.sort(key=lambda slot: not slot[3])  # stable: penalized first
        sizes = [int(np.prod(shape)) for _, _, shape, _ in slots]
        self.params = np.zeros(sum(sizes), dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        self.n_penalized = sum(s for s, slot in zip(sizes, slots) if slot[3])
        views = [({}, {}) for _ in layers]
        offset = 0
        for (i, name, shape, _), size in zip(slots, sizes):
            part = slice(offset, offset + size)
            views[i][0][name] = self.params[part].reshape(shape)
            views[i][1][name] = self.grads[part].reshape(shape)
            offset += size
        for layer, (params, grads) in zip(layers, views):
            layer.bind(params, grads)
        # The first layer that has parameters needs no gradient for its input.
        has_params = [bool(layer.param_shapes()) for layer in layers]
        self._needs_grad_in = [any(has_params[:i]) for i in range(len(layers))]
        self._workspaces = {}

    @property
    def penalized(self):
        """View of the penalized parameters (all weight matrices, flattened)."""
        return self.params[: self.n_penalized]

    @property
    def penalized_grads(self):
        """View of the gradients of the penalized parameters."""
        return self.grads[: self.n_penalized]

    def initialize(self, rng):
        """Draw initial parameters from ``rng``."""
        for layer in self.layers:
            layer.initialize(rng)

    def _workspace(self, m):
        ws = self._workspaces.get(m)
        if ws is None:
            outs = [np.empty((m, w), dtype=self.dtype) for w in self.widths[1:]]
            caches = [
                layer.make_cache(m, w, self.dtype)
                for layer, w in zip(self.layers, self.widths)
            ]
            ws = self._workspaces[m] = (outs, caches, [None] * len(self.layers))
        return ws

    def forward(self, X, rng=None):
        """Output of the network for a batch ``X``; training mode if ``rng``.

        The returned array is a workspace buffer, overwritten by the next call
        with the same number of rows.
        """
        outs, caches, inputs = self._workspace(X.shape[0])
        x = X
        for i, layer in enumerate(self.layers):
            inputs[i] = x
            x = layer.forward(x, outs[i], caches[i], rng)
        return x

    def output_grad_buffer(self, m):
        """Buffer for the gradient of the objective w.r.t. the output."""
        return self._grad_buffers(m)[-1]

    def _grad_buffers(self, m):
        key = ("grad", m)
        bufs = self._workspaces.get(key)
        if bufs is None:
            bufs = [np.empty((m, w), dtype=self.dtype) for w in self.widths[1:]]
            self._workspaces[key] = bufs
        return bufs

    def backward(self, grad_out):
        """Fill ``grads`` from the gradient w.r.t. the last forward's output."""
        m = grad_out.shape[0]
        outs, caches, inputs = self._workspace(m)
        grad_bufs = self._grad_buffers(m)
        for i in range(len(self.layers) - 1, -1, -1):
            grad_in = grad_bufs[i - 1] if self._needs_grad_in[i] else None
            self.layers[i].backward(inputs[i], outs[i], grad_out, grad_in, caches[i])
            grad_out = grad_in

    def predict(self, X, rows=None, batch_size=4096):
        """Evaluation-mode output for the chosen rows of ``X`` (all by default)."""
        n = X.shape[0] if rows is None else len(rows)
        out = np.empty((n, self.widths[-1]), dtype=self.dtype)
        for part, Xb in iter_rows(X, batch_size, self.dtype, rows):
            out[part] = self.forward(Xb)
        return out
