"""Stacked training: the candidates of a search that differ only in numbers.

Candidates that share an architecture, a batch size, a number of epochs, an
optimizer, a schedule and a ``random_state`` see the same data in the same
order, so their networks can be trained side by side, as one:

* the parameters of ``K`` candidates live in one flat buffer, each dense
  layer a block of shape ``(n_in + 1, K, n_out)`` (the last row holds the
  intercepts), so that the first layers of all candidates are one matrix
  product, ``X @ W`` with ``W`` of shape ``(n_in + 1, K * n_out)``, and the
  later layers one batched product;
* activations have shape ``(m, K, width)`` and the losses of
  :mod:`skgd._losses` give one value per candidate;
* the optimizer updates the whole buffer at once, with the learning rates,
  penalties, momenta, Adam settings and dropout rates of the candidates as
  arrays.

Each candidate goes through exactly the arithmetic of its own fit: the same
split, initial weights and shuffles (from the same ``random_state``), the
same dropout draws (every dropout position has its own stream, see
:func:`skgd.engine.session.dropout_streams`; a candidate with a rate of 0 at a
position keeps all its units there), the same updates. Only the order of
some sums differs (a matrix product of ``K`` candidates against one of
one), so results agree with separate fits to rounding, not bit for bit.

One candidate's failure is its own: a candidate whose loss diverges gets
the :class:`~skgd.DivergenceError` its own fit would have raised, and one
that stops early (``tol``, ``early_stopping``) keeps the state its own fit
would have ended with; both leave the stack at the end of that epoch and
cost nothing more.

:func:`train_group` trains a group; each candidate's fit ends as its own
fit would (:meth:`~skgd._fitting.TrainingMixin._adopt`): its estimator fitted, or
the error its training raised, in an :class:`Outcome`.
"""

import copy
import math
import time
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from ._activations import Activation, compiled_passes
from ._compat import validate_parameter_constraints
from ._data import Batches, iter_rows
from ._exceptions import DivergenceError
from ._layers import Center, Dense, Dropout
from ._losses import _add, weighted_loss
from ._optimizers import OPTIMIZERS, Averaged, IterateAverage
from .engine.fused import (
    compiled_optimizer,
    spread_settings,
    stacked_fused_epochs,
)
from .engine.session import (
    SessionResult,
    _baseline,
    _early_stopping,
    _starting_state,
)
from .engine.threads import one_blas_thread
from .engine.trainer import DIVERGENCE_FACTOR, divergence_error

# The parameters that only change numbers: candidates differing in them alone
# are trained stacked. Every other parameter splits candidates into groups.
STACKED = (
    "learning_rate",
    "alpha",
    "dropout",
    "input_dropout",
    "momentum",
    "beta_1",
    "beta_2",
    "epsilon",
    "huber_delta",
    "power_t",
    "class_weight",
)


class Outcome:
    """How one candidate's stacked fit ended, as its own fit would have.

    ``estimator`` is the candidate's estimator, fitted, or None when its
    training raised ``error``; ``warnings`` are those its fit gave (caught,
    to be given where the fit is taken, see :meth:`take`).
    """

    __slots__ = ("error", "estimator", "warnings")

    def __init__(self, estimator, error=None, caught=()):
        self.estimator, self.error = estimator, error
        self.warnings = [(caught.message, caught.category) for caught in caught]

    def take(self):
        """Give the fit's warnings again; raise its error or return the estimator."""
        for message, category in self.warnings:
            warnings.warn(message, category, stacklevel=2)
        if self.error is not None:
            raise self.error
        return self.estimator


# -- the stacked network -------------------------------------------------------


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
        self._allocate(len(nets))

    def _allocate(self, K):
        self.K = K
        shapes = [(layer.Wb.shape[0], K, layer.n_outputs) for layer in self.dense]
        sizes = [math.prod(shape) for shape in shapes]
        self.params = np.zeros(sum(sizes), self.dtype)
        self.grads = np.zeros_like(self.params)
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
            from .engine.stacked import (
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


def _on_rows(elementwise):
    """``elementwise`` (of 2-D arrays) applied to contiguous 3-D arrays."""

    def on_rows(*arrays):
        elementwise(*(a.reshape(a.shape[0], -1) for a in arrays))

    return on_rows


def _flat(block):
    """A block ``(n_in + 1, K, n_out)`` as one ``(n_in + 1, K * n_out)`` matrix."""
    return block.reshape(block.shape[0], -1)


# No dropout draw (see stacked_relu_dropout); no intercepts (stacked_relu_backward).
_NO_BITS = np.zeros((0, 0), np.uint16)
# Stacks of at most this many outputs a layer (K * n_out) take its product in
# one compiled call (stacked_dense) rather than a batched matrix product.
SMALL_PRODUCTS = 8
# A relu network's first product with at least this many columns (K * width)
# calls np.matmul, a smaller one np.dot (which costs less to call).
WIDE_PRODUCTS = 256
_NO_INTERCEPTS = np.zeros((0, 0))


def _bits(stream, m, w):
    """A dropout position's draw for ``(m, w)`` units, 16 bits each, as
    :class:`~skgd._layers.Dropout` draws it: ``(m, w)`` uint16."""
    bits = stream.bit_generator.random_raw((m * w + 3) // 4).view(np.uint16)
    return bits[: m * w].reshape(m, w)


def _keep_rules(runs, K, dtype):
    """``(thresholds, scales)``: each candidate's dropout threshold (int64) and
    scale at a position of ``runs`` (see :func:`_rate_runs`); 0 and 1 where
    it keeps everything."""
    thresholds, scales = np.zeros(K, np.int64), np.ones(K, dtype)
    for part, threshold, scale in runs:
        if threshold is not None:
            thresholds[part], scales[part] = threshold, scale
    return thresholds, scales


def _rate_runs(rates, dtype):
    """``[(slice, threshold, scale), ...]``: the runs of equal dropout rates.

    Empty when no candidate drops anything at this position; a run of rate
    0 has threshold None. Thresholds and scales are those of
    :class:`~skgd._layers.Dropout`.
    """
    if not rates.any():
        return []
    runs, start = [], 0
    for stop in range(1, len(rates) + 1):
        if stop == len(rates) or rates[stop] != rates[start]:
            layer = Dropout(rates[start])
            threshold = layer._threshold if rates[start] else None
            scale = np.array(layer._scale, dtype)
            runs.append((slice(start, stop), threshold, scale))
            start = stop
    return runs


class StackedOptimizer:
    """SGD or Adam over a stacked buffer, with each candidate's own settings.

    Each step is one call of
    :func:`skgd.engine.stacked.stacked_network_step`: each candidate's L2
    penalty and update, with the arithmetic of its own fit's compiled step.

    Parameters
    ----------
    params : list of dict
        The candidates' parameters (``optimizer`` and ``nesterov`` equal).
    net : StackedNetwork
    averaged : bool, default=False
        Whether the model is the average of the iterates.
    """

    def __init__(self, params, net, averaged=False):
        self.name, self.nesterov = params[0]["optimizer"], params[0]["nesterov"]
        self.average = IterateAverage() if averaged else None
        settings = [key for key in OPTIMIZERS[self.name].settings if key != "nesterov"]
        self.values = {
            key: np.array([float(p[key]) for p in params])
            for key in (*settings, "alpha")
        }
        self.net, self.t = net, 0
        names = ("m_", "v_") if self.name == "adam" else ("velocity",)
        if self.name == "sgd" and not self.values["momentum"].any():
            names = ()
        self.buffers = {name: np.zeros_like(net.params) for name in names}
        self.codes = np.array([0, self.name == "adam", self.nesterov, 0], np.int64)
        from .engine.stacked import stacked_network_step  # numba: with the stack

        self._kernel = stacked_network_step
        self._settle()

    def _settle(self):
        """The kernel's settings for the candidates now in the stack."""
        spread = self.spread = spread_settings(self.values["alpha"], self.values)
        self.blocks = self.net.block_table()
        widths, K = self.blocks[:, 3], spread.shape[1]
        # Each column's settings, layer after layer (see stacked_network_step).
        self.columns = np.concatenate([np.repeat(spread, o, axis=1) for o in widths], 1)
        self._scratch = np.empty(2 * K * int(widths.max()) + K)
        empty = np.zeros(0, self.net.dtype)
        names = ("velocity", "m_", "v_")
        self._buffers = [self.buffers.get(name, empty) for name in names]

    def keep(self, kept, select):
        """Keep the candidates ``kept``; ``select`` maps an old buffer to the new."""
        self.values = {key: value[kept] for key, value in self.values.items()}
        self.buffers = {name: select(buffer) for name, buffer in self.buffers.items()}
        if self.average is not None and self.average.iterate is not None:
            self.average.iterate = select(self.average.iterate)
        self._settle()

    def step(self, params, grads, lr, values=None):
        """One update of every candidate at its rate ``lr[k]``, its penalty
        included; returns each candidate's ``(alpha / 2) ||W||**2``, or adds
        them to ``values`` (float64, by candidate) and returns it."""
        if self.name == "adam":
            self.t += 1
        if values is None:
            values = np.zeros(len(lr))
        self._kernel(
            params, grads, self.blocks, np.asarray(lr, dtype=float), self.t,
            self.spread, self.columns, self.codes, *self._buffers, values,
            self._scratch,
        )  # fmt: skip
        if self.average is not None:
            self.average.update(params, grads)  # the gradients are spent
        return values

    def candidate_state(self, k):
        """Candidate ``k``'s state, as its own optimizer's ``state_dict``."""
        net, state = self.net, {}
        if self.average is not None:
            iterate = self.average.iterate
            state["iterate"] = (
                None if iterate is None else net.candidate_params(k, iterate)
            )
            state["count"] = self.average.count
        if self.name == "adam":
            return {
                **state,
                "t": self.t,
                "m_": net.candidate_params(k, self.buffers["m_"]),
                "v_": net.candidate_params(k, self.buffers["v_"]),
            }
        v = self.buffers.get("velocity")
        return {**state, "velocity": None if v is None else net.candidate_params(k, v)}


# -- training a group ----------------------------------------------------------


class _CandidateView:
    """What :class:`~skgd.engine.callbacks.EarlyStopping` reads of one candidate:
    ``trainer.net.params`` and ``trainer.state.schedule``."""

    def __init__(self, run, k):
        self.net, self.state = self, run.states[k]
        self._run, self._k = run, k

    @property
    def params(self):
        return self._run.net.candidate_params(self._run.position[self._k])


class _GroupRun:
    """The stacked training of one group's candidates on one data set."""

    def __init__(self, runs, estimators):
        # Candidate k was prepared by estimators[k] (runs[k]); its fit ends
        # in outcomes[k] (an Outcome), its estimator fitted.
        self.runs, self.estimators, self.outcomes = runs, list(estimators), {}
        # The warnings of preparing each fit (see stack_group).
        self.warned = [[] for _ in runs]
        self.params = [run.config.params for run in runs]
        self.tasks = [run.config.task for run in runs]
        self.baseline = np.array(
            [_baseline(t, r.source) for t, r in zip(self.tasks, runs)]
        )
        # Each candidate starts as its own fit does (the engine's own start):
        # the same split, initial weights and generators, from one seed.
        _one_seed(self.params)
        starts = [
            _starting_state(run.net, run.source, run.config, "fresh", None)
            for run in runs
        ]
        self.states = [state for state, _, _ in starts]
        self.initial_streams = [copy.deepcopy(s.streams) for s in self.states]
        widest = max(self.states, key=lambda state: len(state.streams))
        self.rng, self.streams = widest.rng, widest.streams
        sources = [source for _, source, _ in starts]
        self.val = None if starts[0][2] is None else [val for _, _, val in starts]
        self.net = StackedNetwork([run.net for run in runs])
        self.net.set_all(runs[0].net.params)
        self.schedules = [state.schedule for state in self.states]
        self.stopping = [
            _early_stopping(run.config.params, run.net, sources[0]) for run in runs
        ]
        self.views = [_CandidateView(self, k) for k in range(len(runs))]
        if not compiled_optimizer(self.states[0].optimizer):
            # An optimizer added to the registry: only its own fit knows it.
            raise ValueError("A stack trains only SGD and Adam (averaged or not).")
        averaged = isinstance(self.states[0].optimizer, Averaged)
        self.optimizer = StackedOptimizer(self.params, self.net, averaged)
        self.batches = _shared_batches(runs[0], sources)
        self.alpha = np.array([float(p["alpha"]) for p in self.params])
        self.deltas = [getattr(t.loss, "delta", None) for t in self.tasks]
        self.K = len(runs)
        self.position = np.arange(self.K)  # candidate -> index in the stack
        self.active = list(range(self.K))  # stack index -> candidate
        self.limit = np.full(self.K, -math.inf)
        self.records = [[] for _ in range(self.K)]
        self.errors = {}
        self.n_iter = self.t = 0
        self.lr = np.full(self.K, math.nan)
        self.loss = copy.copy(self.tasks[0].loss)
        self._stacked_loss()
        # Linear models train each pass in one compiled call.
        self.fused = stacked_fused_epochs(self)

    def _stacked_loss(self):
        """The loss of the stack: Huber thresholds by candidate."""
        deltas = [self.deltas[k] for k in self.active]
        if deltas[0] is not None:
            self.loss.delta = np.array(deltas, self.net.dtype)[:, None]

    def learning_rates(self):
        """The rate of each candidate in the stack for the next update."""
        return np.array([self.schedules[k](self.t, self.n_iter) for k in self.active])

    def run(self, epochs=None, keep=False):
        """Train to ``epochs`` epochs in all (the candidates' own by default).

        The candidates still in the stack then finish: each gets the result
        a fit of that many epochs ends with. With ``keep`` they stay in the
        stack, so that :meth:`run` can take them further (the rungs of a
        halving search), as one longer fit would.
        """
        self.train(epochs)
        active = list(self.active)
        with _quiet():
            self._finish(active, stopped=[False] * len(active), keep=keep)

    def train(self, epochs=None):
        """Train to ``epochs`` epochs in all, ending no candidate's fit."""
        epochs = self.params[0]["epochs"] if epochs is None else epochs
        per_update = self.schedules[0].per_update  # the rate changes each update
        with _quiet():
            while self.active and self.n_iter < epochs:
                self._epoch(per_update)

    def diverged(self):
        """The candidates (group indices) whose training diverged so far,
        their last update judged as their fit's end would judge it."""
        with _quiet():
            return {**self.errors, **self._judge_last(self.active)}

    def losses(self, X, y):
        """The loss of each candidate in the stack on ``(X, y)`` (unweighted).

        ``X`` is in the stack's dtype and layout (as its training data);
        ``y`` holds the targets as its fits take them.
        """
        pred = self.net.predict(X, None, self.params[0]["batch_size"] or len(y))
        losses = np.empty(len(self.active))
        for i, k in enumerate(self.active):
            task = self.tasks[k]
            Y = task.encode(y, pred.dtype)
            if task.target_scale is not None:  # training's units (see TargetScale)
                Y = task.target_scale.transform(Y)
            loss = weighted_loss(task.loss, pred[:, i, :], Y, None)
            losses[i] = loss * task.loss_scale  # in y's units
        return losses

    def rebind(self, k, estimator):
        """Let candidate ``k``'s next outcome fit ``estimator``: the same
        candidate, to be trained longer (a halving search's next rung)."""
        vars(estimator).update(self.runs[k].checked[3])  # what its run's checks set
        self.estimators[k] = estimator

    def retain(self, candidates):
        """Keep only ``candidates`` (indices of the group) in the stack."""
        kept = set(candidates)
        dropped = [k for k in self.active if k not in kept]
        self._drop(dropped)

    def _epoch(self, per_update):
        start = time.perf_counter()
        shuffle = self.params[0]["shuffle"]
        batch_size = self.params[0]["batch_size"]
        net, step, streams = self.net, self.optimizer.step, self.streams
        lr = self.learning_rates()
        limits = self.limit[self.active]
        total, weight, last = np.zeros(len(self.active)), 0.0, None
        average = self.optimizer.average
        if average is not None:  # the pass trains the iterates (see Averaged)
            average.begin(net.params)
        part = self.batches(batch_size, self.rng if shuffle else None)
        if self.fused is not None and self.fused.accepts(part):
            total, weight, lr, last = self.fused.train_pass(part)
        else:
            params, grads, batch = net.params, net.grads, None
            for X, y, c, w in part:
                if per_update:
                    lr = self.learning_rates()
                value = self._objective(X, y, c, streams)
                step(params, grads, lr, value)  # adds the penalty to the value
                within = value <= limits  # false for NaN
                if not _all(within):
                    self._check(value, lr, np.flatnonzero(~within))
                    limits = self.limit[self.active]
                self.t += 1
                value *= w
                total += value
                weight += w
                batch = X, y, c
            if batch is not None:
                last = _returning(batch)
        if average is not None:
            average.end(net.params)
        self.lr[self.active] = lr
        # A finite sum has finite terms: each candidate's only checked if not.
        if not math.isfinite(_add(net.params)):
            finite = net.sums(~np.isfinite(net.params)) == 0
            for i, k in enumerate(self.active):
                if not finite[i] and k not in self.errors:
                    what = "the parameters are no longer finite"
                    self.errors[k] = divergence_error(self.n_iter + 1, what, lr[i])
        self.n_iter += 1
        seconds = (time.perf_counter() - start) / len(self.active)
        finishing, stopped = self._end_epoch(total / weight, seconds)
        self._last = last
        self._finish(finishing, stopped)

    def _objective(self, X, y, c, streams):
        net = self.net
        pred = net.forward(X, streams)
        grad = net._ws["g"][-1]
        compiled = self.__dict__.get("_compiled_loss")
        if compiled is None:
            compiled = self._compiled_loss = _compiled_loss(self.loss)
        if compiled:  # the loss's kernel: one pass instead of a few numpy calls
            kernel, code = compiled
            value = np.empty(pred.shape[1])
            delta = getattr(self.loss, "delta", None)  # by candidate (see Huber)
            deltas = _ONE if delta is None else delta.reshape(-1)
            kernel(code, deltas, pred, y, self._kernel_weights(c), grad, value)
        else:
            c = self._weights(c)
            value = np.asarray(
                self.loss.value_and_grad(pred, y[:, None, :], c, grad), float
            )
        net.backward()
        return value

    def _kernel_weights(self, c):
        """A batch's ``c`` for :func:`~skgd.engine.stacked.stacked_loss`."""
        if not getattr(c, "ndim", 0):
            return c.reshape(1, 1)
        if len(self.active) == self.K:  # one column a candidate, all in the stack
            return c
        return c[:, self.active]

    def _weights(self, c):
        """A batch's ``c`` for the loss of the stack (see :class:`Batches`)."""
        if not getattr(c, "ndim", 0):
            return c
        if len(self.active) == self.K:  # one column a candidate, all in the stack
            return c[:, :, None]
        return c[:, self.active, None]

    def _check(self, value, lr, beyond):
        """Set the limits on the first batch; a candidate beyond its limit diverged.

        ``beyond`` are the stack indices whose value is not below their limit.
        A diverged candidate stays in the stack, unjudged, to the end of the epoch.
        """
        for i in beyond:
            k = self.active[i]
            if self.limit[k] == -math.inf and math.isfinite(value[i]):
                self.limit[k] = DIVERGENCE_FACTOR * max(value[i], self.baseline[k])
            elif k not in self.errors:
                what = f"the training loss reached {value[i]:.3g}"
                self.errors[k] = divergence_error(self.n_iter + 1, what, lr[i])
                self.limit[k] = math.inf

    def _end_epoch(self, train_loss, seconds):
        """Each candidate's record and stopping rule; who finishes now."""
        outputs = None
        if self.val is not None:
            val = self.val[0]
            block = self.params[0]["batch_size"] or val.n
            outputs = self.net.predict(val.X, val.rows, block)
        finishing, stopped = [], []
        largest = float(np.finfo(self.net.dtype).max)
        for i, k in enumerate(self.active):
            if k in self.errors:
                finishing.append(k)
                stopped.append(False)
                continue
            loss = float(train_loss[i]) * self.tasks[k].loss_scale  # in y's units
            if not _within(loss, largest):  # as Trainer.end_epoch
                what = f"the training loss reached {loss:.3g}"
                self.errors[k] = divergence_error(self.n_iter, what, self.lr[k])
                finishing.append(k)
                stopped.append(False)
                continue
            record = {"epoch": self.n_iter, "t": self.t, "train_loss": loss}
            if outputs is not None:
                try:
                    self._validate(k, outputs[:, i, :], record)
                except DivergenceError as error:
                    self.errors[k] = error
                    finishing.append(k)
                    stopped.append(False)
                    continue
            record["learning_rate"] = float(self.lr[k])
            record["seconds"] = seconds
            self.records[k].append(record)
            if self.stopping[k].on_epoch_end(self.views[k], record):
                finishing.append(k)
                stopped.append(True)
        return finishing, stopped

    def _validate(self, k, pred, record):
        """As :meth:`~skgd.engine.trainer.Trainer.validate`, for candidate ``k``."""
        split, task = self.val[k], self.tasks[k]
        lr, epoch = self.lr[k], self.n_iter
        if not np.isfinite(pred).all():
            what = "the predictions on the held-out data are no longer finite"
            raise divergence_error(epoch, what, lr)
        y = split.Y[split.rows]
        sw = None if split.sample_weight is None else split.sample_weight[split.rows]
        loss = weighted_loss(task.loss, pred, y, sw) * task.loss_scale  # y's units
        if not math.isfinite(loss):
            what = "the loss on the held-out data overflows"
            raise divergence_error(epoch, what, lr, "scale the features and y")
        record["val_loss"] = loss
        record[f"val_{task.score_name}"] = task.score(y, pred, sw)

    def _finish(self, finishing, stopped, keep=False):
        """End the fits of the candidates that finish (see :attr:`outcomes`),
        and drop them.

        With ``keep``, they stay in the stack: a last update that their fit
        would judge diverged is their outcome's error, but the stack, like a
        longer fit, judges it with the next batch.
        """
        if not finishing:
            return
        errors = {**self.errors, **self._judge_last(finishing)}
        for k, was_stopped in zip(finishing, stopped):
            error = errors.get(k)
            if error:
                fit = Outcome(None, error, self.warned[k])
            else:
                fit = self._fitted(k, was_stopped, keep)
            self.outcomes[k] = fit
        if not keep:
            self.errors = errors
            self._drop(finishing)

    def _fitted(self, k, stopped, copied):
        """Candidate ``k``'s :class:`Outcome`: its estimator, fitted with its
        result (see :meth:`_result`), or the error that raised."""
        params, result = self._result(k, stopped, copied)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                estimator = self.estimators[k]._adopt(self.runs[k], params, result)
            except (ValueError, DivergenceError) as error:  # its outputs' check
                return Outcome(None, error, [*self.warned[k], *caught])
        return Outcome(estimator, None, [*self.warned[k], *caught])

    def _judge_last(self, candidates):
        """The errors of ``candidates`` whose last update went beyond their
        limit, judged on its own batch (as ``Trainer.check_last_step``)."""
        done = [k for k in candidates if k not in self.errors]
        if not done or self._last is None:
            return {}
        X, y, c = self._last()
        pred = self.net.forward(X)
        value = self.loss.value_and_grad(
            pred, y[:, None, :], self._weights(c), self.net._ws["g"][-1]
        )
        errors = {}
        for k in done:
            i = self.position[k]
            if not value[i] <= self.limit[k]:
                what = f"the training loss reached {value[i]:.3g}"
                errors[k] = divergence_error(self.n_iter, what, self.lr[k])
        return errors

    def _drop(self, leaving):
        """Take the candidates ``leaving`` out of the stack."""
        kept = [i for i, k in enumerate(self.active) if k not in leaving]
        if kept:
            select = self.net.keep(kept)
            self.optimizer.keep(kept, select)
        self.active = [self.active[i] for i in kept]
        self.position[self.active] = np.arange(len(self.active))
        if self.active:
            self._stacked_loss()

    def _result(self, k, stopped, copied=False):
        """Candidate ``k``'s ``(params, SessionResult)``, as its own fit ends.

        Its training state is the one its start made, carried forward: the
        optimizer's state, the counters, the limit, and the generators as
        its own fit would have left them (a dropout stream it never drew
        from is as it started). ``copied``: a copy of that state, for a
        candidate that trains on.
        """
        i, state = self.position[k], self.states[k]
        if copied:
            state = copy.deepcopy(state)
        weights = self.stopping[k].best_params
        final = self.net.candidate_params(i) if weights is None else weights
        state.optimizer.load_state_dict(self.optimizer.candidate_state(i))
        state.n_iter, state.t, state.limit = self.n_iter, self.t, float(self.limit[k])
        state.rng = copy.deepcopy(self.rng)
        rates = self.net.rates[:, i]
        state.streams = [
            copy.deepcopy(self.streams[j] if rates[j] else initial)
            for j, initial in enumerate(self.initial_streams[k])
        ]
        return final, SessionResult(list(self.records[k]), state, False, stopped)


_all = np.logical_and.reduce  # cheaper than ndarray.all
_ONE = np.ones(1)  # the Huber threshold of the losses without one


def _compiled_loss(loss):
    """``(kernel, code)``: :func:`~skgd.engine.stacked.stacked_loss` and the
    code of ``loss``, or False for a loss the kernels do not know."""
    from .engine.fused import LOSS_CODES
    from .engine.stacked import stacked_loss

    code = LOSS_CODES.get(type(loss))
    return False if code is None else (stacked_loss, code)


def _within(loss, largest):
    """:func:`~skgd.engine.trainer.within_dtype`, with the dtype's largest value."""
    return math.isfinite(loss) and math.sqrt(2.0 * abs(loss)) <= largest


def _quiet():
    """numpy's floating-point warnings off: divergence is judged, not warned of."""
    return np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore")


def _returning(value):
    """A callable that returns ``value`` (the last batch, already gathered)."""
    return lambda: value


def _one_seed(params):
    """Give candidates without a ``random_state`` one drawn seed, shared.

    Their own fits would each draw anew; in a stack they share one draw
    (common random numbers).
    """
    if params[0]["random_state"] is None:
        seed = int(np.random.default_rng().integers(2**32))
        for candidate in params:
            candidate["random_state"] = seed


def _shared_batches(run, sources):
    """The mini-batches of the stack: the shared rows, a weight column each.

    Candidates whose relative weights are all equal (None) get a column of
    ones, which gives the ``c`` of no weights exactly.
    """
    weights = [source.batches.sample_weight for source in sources]
    matrix = None
    if any(w is not None for w in weights):
        ones = np.ones(run.X.shape[0])
        matrix = np.column_stack([ones if w is None else w for w in weights])
    return Batches(run.X, run.Y, matrix, sources[0].rows)


def train_group(estimators, X, y, sample_weight=None, keep=False):
    """Train ``estimators`` (one group, fresh) stacked on ``(X, y)``.

    Returns ``(outcomes, seconds, group)``: ``outcomes[i]`` is the
    :class:`Outcome` of ``estimators[i]``, fitted in place, or None where
    its parameters or data are refused (its own fit raises the same error
    before training: scikit-learn's ``InvalidParameterError`` for a value
    its constraints refuse). With ``keep``, ``group`` is the
    :class:`_GroupRun`, its candidates still in the stack (see
    :meth:`_GroupRun.run`; None when none could train); else None.
    """
    start = time.perf_counter()
    group = stack_group(estimators, X, y, sample_weight, catch=True)
    outcomes = [None] * len(estimators)
    if group is not None:
        # Small matrix products run fastest on one thread; workers run in parallel.
        with one_blas_thread():
            group.run(keep=keep)
        for k, index in enumerate(group.candidates):
            outcomes[index] = group.outcomes[k]
    return outcomes, time.perf_counter() - start, group if keep else None


def stack_group(estimators, X, y, sample_weight=None, catch=False):
    """The stacked run of ``estimators`` (one group, fresh), ready to train.

    Returns the :class:`_GroupRun`, or None when no candidate can train. Its
    candidates are numbered in the order of ``estimators``, those refused
    left out (``group.candidates`` maps its numbers to their indices in
    ``estimators``). With ``catch``, the warnings of preparing each fit are
    caught, to be given with its outcome (see :class:`Outcome`), not now.
    """
    runs, indices, caught = [], [], []
    for index, estimator in enumerate(estimators):
        like = runs[0] if runs else None
        with warnings.catch_warnings(record=True) if catch else _given() as given:
            if catch:
                warnings.simplefilter("always")
            run = _prepared(estimator, X, y, sample_weight, like)
        if run is not None:
            runs.append(run)
            indices.append(index)
            caught.append(given)
    if not runs:
        return None
    # Candidates of equal dropout rates side by side: one mask for each run.
    order = sorted(range(len(runs)), key=lambda i: _rates_by_position(runs[i].net))
    try:
        group = _GroupRun(
            [runs[i] for i in order], [estimators[indices[i]] for i in order]
        )
    except (ValueError, DivergenceError):
        return None  # each fit meets it alone
    group.candidates = [indices[i] for i in order]
    # A later candidate took the first's checked data: and its warnings.
    group.warned = [_once([*caught[0], *caught[i]]) for i in order]
    return group


@contextmanager
def _given():
    """Warnings given as they come: no warning is kept (an empty list)."""
    yield []


def _once(caught):
    """The warnings ``caught``, each message once."""
    return list({(str(w.message), w.category): w for w in caught}.values())


def _prepared(estimator, X, y, sample_weight, like):
    """``estimator``'s fit, prepared (``like`` the first candidate's, whose
    checked data it takes); None when its parameters or data are refused."""
    try:
        if like is None:
            estimator._validate_params()  # InvalidParameterError is a ValueError
        else:  # it shares all parameters with the first but the stacked ones
            _validate_stacked(estimator)
        return estimator._prepare(X, y, sample_weight, "fresh", False, like=like)
    except (ValueError, TypeError):
        return None


def _validate_stacked(estimator):
    """Check the parameters in which ``estimator`` may differ from the first
    candidate of its group (they share all others, checked with the first)."""
    constraints = estimator._parameter_constraints
    params = estimator.get_params(deep=False)
    names = [name for name in STACKED if name in constraints]
    validate_parameter_constraints(
        {name: constraints[name] for name in names},
        {name: params[name] for name in names},
        caller_name=type(estimator).__name__,
    )


def _rates_by_position(net):
    """The dropout rate at each position of ``net`` (0 where it has none)."""
    rates = {
        layer.stream: layer.rate for layer in net.layers if isinstance(layer, Dropout)
    }
    return [rates.get(j, 0.0) for j in range(net.n_streams)]
