"""The stacked network: ``K`` candidates' networks of one architecture in one
buffer (its dropout draws and the layout of its blocks: :mod:`.parts`)."""

import math

import numpy as np
import scipy.sparse as sp

from ..._activations import Activation, compiled_passes
from ..._data import iter_rows
from ..._layers import Center, Dense, Dropout
from ..._losses import _add
from .parts import (
    _NO_BITS,
    _NO_INTERCEPTS,
    SMALL_PRODUCTS,
    WIDE_PRODUCTS,
    _bits,
    _flat,
    _keep_rules,
    _on_rows,
    _rate_runs,
)


class StackedNetwork:
    """``K`` networks of one architecture, in one parameter buffer.

    Activations of a batch of ``m`` rows are contiguous arrays of shape
    ``(m, K, width)``. The batch itself gets a column of ones, so that the
    first layers of all candidates, intercepts included, are one matrix
    product; the later layers are a batched product and an added intercept.
    Dropout draws one mask per position and distinct rate: candidates are
    best ordered by their rates, so that each rate is one run of them.

    Parameters
    ----------
    nets : list of Network
        The candidates' own networks (built by their estimators): the same
        dense layers and activation, dropout at any rates.
    """

    def __init__(self, nets):
        net = nets[0]
        self.dtype = net.dtype
        self.dense = [layer for layer in net.layers if isinstance(layer, Dense)]
        names = [layer.name for layer in net.layers if isinstance(layer, Activation)]
        # Centered features (see Center): one offset, as the data is one.
        centers = [layer.offset for layer in net.layers if isinstance(layer, Center)]
        self.offset = centers[0] if centers else None
        self.activation = names[0] if names else "identity"
        # Position j is the dropout before dense layer j (stream j).
        self.rates = np.zeros((len(self.dense), len(nets)))
        for k, candidate in enumerate(nets):
            for layer in candidate.layers:
                if isinstance(layer, Dropout):
                    self.rates[layer.stream, k] = layer.rate
        self._single_sizes = [layer.Wb.size for layer in self.dense]
        # relu (and the dropout after it) has kernels of its own, the dense
        # layer's backward pass fused with its derivative (see _relu_plan).
        self._relu = self.activation == "relu"
        # One candidate trains in its own network's buffers (the same layout).
        self._allocate(len(nets), nets[0] if len(nets) == 1 else None)

    def _allocate(self, K, own=None):
        """Buffers for ``K`` candidates; the network ``own``'s when given."""
        self.K = K
        shapes = [(layer.Wb.shape[0], K, layer.n_outputs) for layer in self.dense]
        sizes = [math.prod(shape) for shape in shapes]
        if own is None:
            self.params = np.zeros(sum(sizes), self.dtype)
            self.grads = np.zeros_like(self.params)
        else:
            self.params, self.grads = own.params, own.grads
        self.blocks, self.grad_blocks, offset = [], [], 0
        for shape, size in zip(shapes, sizes):
            part = slice(offset, offset + size)
            self.blocks.append(self.params[part].reshape(shape))
            self.grad_blocks.append(self.grads[part].reshape(shape))
            offset += size
        self.dropout = [_rate_runs(rates, self.dtype) for rates in self.rates]
        self._keeping = [_keep_rules(runs, K, self.dtype) for runs in self.dropout]
        self._workspaces = {}

    def block_table(self):
        """Each dense layer's offset, rows, penalized rows, outputs and first
        column (of the layers' ``K * n_out`` columns, one after the other),
        int64."""
        table, offset, first = [], 0, 0
        for block, layer in zip(self.blocks, self.dense):
            rows, K, o = block.shape
            table.append((offset, rows, layer.n_in, o, first))
            offset += block.size
            first += K * o
        return np.array(table, dtype=np.int64).reshape(-1, 5)

    def sums(self, flat):
        """Each candidate's sum of ``flat`` (a buffer of the parameters' layout)."""
        total, offset = 0.0, 0
        for block in self.blocks:
            part = flat[offset : offset + block.size].reshape(block.shape)
            total = total + _add(_add(part, 2), 0)
            offset += block.size
        return total

    def set_all(self, single):
        """Give every candidate the flat parameters ``single`` of one network."""
        offset = 0
        for block, size in zip(self.blocks, self._single_sizes):
            rows, _, n_out = block.shape
            block[...] = single[offset : offset + size].reshape(rows, 1, n_out)
            offset += size

    def candidate_params(self, k, flat=None):
        """Candidate ``k``'s parameters (or ``flat``'s) in its own network's layout."""
        parts, offset = [], 0
        flat = self.params if flat is None else flat
        for block in self.blocks:
            part = flat[offset : offset + block.size].reshape(block.shape)
            parts.append(part[:, k, :].ravel())
            offset += block.size
        return np.concatenate(parts)

    def keep(self, kept):
        """Keep only the candidates ``kept`` (stack indices), in that order.

        Returns ``select(flat)``, which does the same to another buffer of
        the old layout (an optimizer's state).
        """
        shapes = [block.shape for block in self.blocks]

        def select(flat):
            parts, offset = [], 0
            for shape in shapes:
                block = flat[offset : offset + math.prod(shape)].reshape(shape)
                parts.append(block[:, kept, :].ravel())
                offset += block.size
            return np.concatenate(parts)

        params = select(self.params)
        self.rates = self.rates[:, kept]
        self._allocate(len(kept))
        self.params[...] = params
        return select

    def _workspace(self, m):
        ws = self._workspaces.get(m)
        if ws is not None:
            return ws
        # The activation's compiled passes (numba is imported on first use),
        # over each batch's (m, K, width) arrays seen as (m, K * width).
        self._passes = [_on_rows(p) for p in compiled_passes(self.activation)]
        K, dtype, dense = self.K, self.dtype, self.dense
        if self._relu:
            from ..stacked_passes import (
                stacked_dense,
                stacked_relu_backward,
                stacked_relu_dropout,
            )

            self._relu_dropout = stacked_relu_dropout
            self._relu_backward = stacked_relu_backward
            self._dense = stacked_dense
        # With dropout after a smooth activation, its output is kept apart
        # for the backward pass; relu's and identity's derivatives can be
        # read from the dropped-out output.
        apart = self.activation not in ("relu", "identity")
        ws = {
            "x1": np.ones((m, dense[0].Wb.shape[0]), dtype),  # ones if a bias
            "z": [np.empty((m, K, layer.n_outputs), dtype) for layer in dense],
            "a": [None] + [np.empty((m, K, layer.n_in), dtype) for layer in dense[1:]],
            "pre": [None]
            + [
                np.empty((m, K, layer.n_in), dtype) if apart and runs else None
                for layer, runs in zip(dense[1:], self.dropout[1:])
            ],
            "zeros": [None]
            + [np.zeros((m, K, layer.n_in), dtype) for layer in dense[1:]],
        }
        ws["g"] = [np.empty_like(z) for z in ws["z"]]
        if self._relu:  # scratch of the fused backward pass
            shapes = [(K, layer.n_outputs, layer.n_in) for layer in dense]
            ws["Wt"] = [np.empty(shape, dtype) for shape in shapes]
            ws["dWt"] = [np.empty(shape, dtype) for shape in shapes]
            ws["ga"] = [np.empty(layer.n_in, dtype) for layer in dense]
            ws["zeros"] = ws["scratch"] = [None] * len(dense)
        else:
            ws["ga"] = [np.empty_like(a) if a is not None else None for a in ws["a"]]
            ws["scratch"] = [
                np.empty_like(a) if a is not None else None for a in ws["a"]
            ]
        if self.dropout[0]:
            ws["a"][0] = np.empty((m, K, dense[0].n_in), dtype)
        if self._relu:
            self._relu_plan(ws)
        self._workspaces[m] = ws
        return ws

    def _relu_plan(self, ws):
        """The views and arguments of the passes of a relu network, made once
        for a workspace: a step then walks them (see :meth:`_relu_forward`)."""
        x1, dense = ws["x1"], self.dense
        m = len(x1)
        ws["x_in"] = x1[:, : dense[0].n_in]
        z, g = ws["z"][0].reshape(m, -1), ws["g"][0].reshape(m, -1)
        # numpy's matmul calls BLAS faster than its dot, except for small products.
        product = np.matmul if z.shape[1] >= WIDE_PRODUCTS else np.dot
        ws["first"] = product, x1, _flat(self.blocks[0]), z
        ws["first_back"] = product, x1.T, g, _flat(self.grad_blocks[0])
        later, back = [], []
        for j in range(1, len(dense)):
            n_in, z, a, g = dense[j].n_in, ws["z"][j], ws["a"][j], ws["g"][j]
            block, dblock = self.blocks[j], self.grad_blocks[j]
            bias = len(block) > n_in  # a layer without intercepts has no row
            thresholds, scales = self._keeping[j]
            relu = (ws["z"][j - 1], a, thresholds, scales)
            if self.K * dense[j].n_outputs <= SMALL_PRODUCTS:  # one call, no BLAS
                intercepts = block[n_in] if bias else _NO_INTERCEPTS
                product = True, (a, block[:n_in], intercepts, z)
            else:
                product = False, (
                    a.transpose(1, 0, 2), block[:n_in].transpose(1, 0, 2),
                    z.transpose(1, 0, 2), z, block[n_in] if bias else None,
                )  # fmt: skip
            later.append((j, relu, product))
            intercepts = dblock[n_in] if bias else _NO_INTERCEPTS
            scratch = ws["Wt"][j], ws["dWt"][j], ws["ga"][j]
            gradients = (a, g, block[:n_in], dblock[:n_in], intercepts, ws["g"][j - 1])
            back.append((*gradients, scales, *scratch))
        ws["later"], ws["later_back"] = later, back[::-1]
        ws["inputs"] = [x1, *ws["a"][1:]]

    def _relu_forward(self, ws, X, streams):
        """:meth:`forward` of a relu network without dropout of its input."""
        if self.offset is not None:
            X = (X.toarray() if sp.issparse(X) else X) - self.offset
        np.copyto(ws["x_in"], X)
        product, x1, W, z = ws["first"]
        product(x1, W, z)
        relu = self._relu_dropout
        for j, (z, a, thresholds, scales), (small, product) in ws["later"]:
            bits = _NO_BITS
            if streams is not None and self.dropout[j]:
                bits = _bits(streams[j], a.shape[0], a.shape[2])
            relu(z, a, bits, thresholds, scales)
            if small:
                self._dense(*product)
                continue
            aT, WT, zT, z_out, b = product
            np.matmul(aT, WT, out=zT)
            if b is not None:
                np.add(z_out, b, z_out)
        self._inputs = ws["inputs"]
        return ws["z"][-1]

    def forward(self, X, streams=None):
        """Outputs ``(m, K, n_out)`` for a batch; training mode with ``streams``."""
        ws = self._ws = self._workspace(X.shape[0])
        self._planned = self._relu and (streams is None or not self.dropout[0])
        if self._planned:
            return self._relu_forward(ws, X, streams)
        function = self._passes[0]
        self._masks, self._inputs = [None] * len(self.dense), []
        for j, layer in enumerate(self.dense):
            runs = self.dropout[j] if streams is not None else []
            if j == 0 and self.offset is not None:
                X = (X.toarray() if sp.issparse(X) else X) - self.offset
            if j == 0 and not runs:
                x1 = ws["x1"]
                np.copyto(x1[:, : layer.n_in], X)
                self._inputs.append(x1)
                np.dot(x1, _flat(self.blocks[0]), ws["z"][0].reshape(len(X), -1))
                continue
            a = ws["a"][j]
            if j == 0:
                source = X[:, None, :]
            elif self._relu:
                m, _, w = a.shape
                bits = _bits(streams[j], m, w) if runs else _NO_BITS
                self._relu_dropout(ws["z"][j - 1], a, bits, *self._keeping[j])
                self._inputs.append(a)
                self._dense_forward(j, a, ws["z"][j])
                continue
            else:
                pre = ws["pre"][j] if runs else None
                source = a if pre is None else pre
                function(ws["z"][j - 1], source, ws["zeros"][j])
            if runs:
                self._masks[j] = self._drop(source, a, runs, streams[j])
            self._inputs.append(a)
            self._dense_forward(j, a, ws["z"][j])
        return ws["z"][-1]

    @staticmethod
    def _drop(x, out, runs, stream):
        """Inverted dropout, as :class:`~skgd._layers.Dropout` draws it.

        One draw of the position's bits serves every rate; each run of
        candidates of one rate is scaled by its mask (and a run of rate 0 is
        passed through). Returns the masks, by run.
        """
        m, _, w = out.shape
        kept = _bits(stream, m, w)[:, None, :]
        masks = []
        for part, threshold, scale in runs:
            if threshold is None:  # rate 0
                if x is not out:
                    np.copyto(out[:, part], x if x.shape[1] == 1 else x[:, part])
                masks.append(None)
                continue
            mask = np.greater_equal(kept, threshold).astype(out.dtype)
            np.multiply(mask, scale, mask)
            np.multiply(x if x.shape[1] == 1 else x[:, part], mask, out[:, part])
            masks.append(mask)
        return masks

    def _dense_forward(self, j, a, z):
        """``z = a @ W + b`` for each candidate, from ``a`` of shape (m, K, n_in)."""
        block, n_in = self.blocks[j], self.dense[j].n_in
        np.matmul(
            a.transpose(1, 0, 2),
            block[:n_in].transpose(1, 0, 2),
            out=z.transpose(1, 0, 2),
        )
        if len(block) > n_in:  # a layer without intercepts has no row for them
            np.add(z, block[n_in], z)

    def backward(self):
        """Fill ``grads`` from the gradient in the last layer's ``g`` buffer."""
        ws = self._ws
        if self._planned:  # a relu network: the fused passes, then one product
            backward = self._relu_backward
            for arguments in ws["later_back"]:
                backward(*arguments)
            product, x1T, g, dW = ws["first_back"]
            product(x1T, g, dW)
            return
        for j in range(len(self.dense) - 1, -1, -1):
            layer, g, a = self.dense[j], ws["g"][j], self._inputs[j]
            dblock, n_in = self.grad_blocks[j], layer.n_in
            if a.ndim == 2:  # the batch with its ones: one product
                np.dot(a.T, g.reshape(len(a), -1), _flat(dblock))
                return
            W = self.blocks[j][:n_in]
            if j and self._relu:  # the products and relu's derivative, fused
                self._relu_backward(
                    a, g, W, dblock[:n_in],
                    dblock[n_in] if len(dblock) > n_in else _NO_INTERCEPTS,
                    ws["g"][j - 1], self._keeping[j][1], ws["Wt"][j], ws["dWt"][j],
                    ws["ga"][j],
                )  # fmt: skip
                continue
            np.matmul(
                a.transpose(1, 2, 0),
                g.transpose(1, 0, 2),
                out=dblock[:n_in].transpose(1, 0, 2),
            )
            if len(dblock) > n_in:
                _add(g, 0, out=dblock[n_in])
            if j == 0:
                return
            ga = ws["ga"][j]
            if layer.n_outputs == 1:  # an outer product, as two fast passes
                np.copyto(ga, g)
                np.multiply(ga, np.ascontiguousarray(W[:, :, 0].T), ga)
            else:
                np.matmul(
                    g.transpose(1, 0, 2),
                    W.transpose(1, 2, 0),
                    out=ga.transpose(1, 0, 2),
                )
            self._activation_backward(j, a, ga, ws["g"][j - 1])

    def _activation_backward(self, j, a, ga, out):
        """The gradient before dropout and activation, from ``ga`` after them.

        After relu, where ``a`` (dropped out) is positive the unit was active
        and kept, so the mask is the run's scale there and 0 elsewhere:
        ``ga * (a > 0) * scale`` is the product of the mask and relu's
        derivative, in fewer passes (and exactly: the mask is 0 or ``scale``).
        """
        ws, runs, masks = self._ws, self.dropout[j], self._masks[j] or ()
        gradient = self._passes[1]
        if runs and self.activation == "relu":
            gradient(a, ga, out, ws["scratch"][j])
            for (part, threshold, scale), _ in zip(runs, masks):
                if threshold is not None:
                    np.multiply(out[:, part], scale, out[:, part])
            return
        for (part, _, _), mask in zip(runs, masks):
            if mask is not None:
                np.multiply(ga[:, part], mask, ga[:, part])
        pre = ws["pre"][j]
        gradient(a if pre is None else pre, ga, out, ws["scratch"][j])

    def predict(self, X, rows, block):
        """Evaluation-mode outputs ``(n, K, n_out)`` for ``rows`` of ``X``."""
        n = X.shape[0] if rows is None else len(rows)
        out = np.empty((n, self.K, self.dense[-1].n_outputs), self.dtype)
        for part, Xb in iter_rows(X, block, self.dtype, rows):
            out[part] = self.forward(Xb)
        return out
