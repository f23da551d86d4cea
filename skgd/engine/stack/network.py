"""The stacked network: ``K`` candidates' networks of one architecture in one
buffer (its dropout draws and the layout of its blocks: :mod:`.parts`)."""

import math

import numpy as np
import scipy.sparse as sp

from ..._activations import Activation, compiled_passes
from ..._data import iter_rows
from ..._layers import Center, Dense, Dropout
from ..._losses import _add
from .parts import _keep_rules, _rate_runs, plan_passes

# The memory of a forward pass's buffers of a block of rows, in evaluation:
# at most this many bytes (each layer's outputs, activations and the
# gradients' buffers of its workspace, for every candidate), about a core's
# L2 cache: the range test's losses of 30 networks of 32 units took 3.4
# times as long in blocks of 32 MiB (blocks of 33 rows here) as in these.
PASS_BYTES = 2**20


class StackedNetwork:
    """``K`` networks of one architecture, in one parameter buffer.

    Activations of a batch of ``m`` rows are arrays of shape ``(m, K,
    width)``. The batch itself gets a column of ones, so that the first
    layers of all candidates, intercepts included, are one matrix product;
    the later layers are a batched product and an added intercept, or one
    compiled call for small stacks. A stack of one candidate makes its
    products as its own network does: 2-D products, each layer's input with
    a column of ones. The passes are chosen by ``K`` and the layers' sizes
    (see :func:`.parts.plan_passes`). Dropout draws one mask per position
    and distinct rate: candidates are best ordered by their rates, so that
    each rate is one run of them.

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
        """The buffers of a batch of ``m`` rows and its passes' steps (see
        :func:`.parts.plan_passes`), made on first use."""
        ws = self._workspaces.get(m)
        if ws is not None:
            return ws
        # The activation's compiled passes (numba is imported on first use),
        # over each batch's (m, K, width) arrays seen as (m, K * width).
        self._passes = compiled_passes(self.activation)
        K, dtype, dense, L = self.K, self.dtype, self.dense, len(self.dense)
        ws = {"z": [np.empty((m, K, layer.n_outputs), dtype) for layer in dense]}
        ws["g"] = [np.empty_like(z) for z in ws["z"]]
        ws["full"], ws["a"] = self._inputs(m)
        # With dropout after a smooth activation, its output is kept apart
        # for the backward pass; relu's and identity's derivatives can be
        # read from the dropped-out output.
        smooth = self.activation != "relu"
        apart = smooth and self.activation != "identity"

        def later(make, wanted=True):  # a buffer like ``a``, for the later layers
            return [None] + [
                make(a.shape, dtype) if wanted else None for a in ws["a"][1:]
            ]

        ws["ga"] = later(np.empty)
        ws["zeros"], ws["scratch"] = later(np.zeros, smooth), later(np.empty, smooth)
        ws["pre"] = [
            buffer if apart and runs else None
            for buffer, runs in zip(later(np.empty), self.dropout)
        ]
        ws["masks"] = [None] * L
        ws["forward"], ws["backward"] = plan_passes(self, ws)
        self._workspaces[m] = ws
        return ws

    def _inputs(self, m):
        """Each dense layer's input: ``(full, a)``.

        A stack of one candidate reads each layer's input, as its own network
        does, from a buffer ``full`` with a column of ones (where the layer
        has intercepts) whose other columns, ``a`` of shape (m, 1, n_in),
        its activation and dropout write. A larger stack reads its first
        layer's input from such a buffer, shared by the candidates (``a``
        for its dropout), and its later layers' from ``a`` of shape (m, K,
        n_in).
        """
        full, inputs = [], []
        for j, (block, layer) in enumerate(zip(self.blocks, self.dense)):
            n_in = layer.n_in
            if self.K > 1 and j:
                full.append(None)
                inputs.append(np.empty((m, self.K, n_in), self.dtype))
                continue
            full.append(np.ones((m, len(block)), self.dtype))  # ones if intercepts
            if self.K == 1:
                inputs.append(full[-1][:, None, :n_in])
            elif self.dropout[0]:
                inputs.append(np.empty((m, self.K, n_in), self.dtype))
            else:
                inputs.append(None)
        return full, inputs

    def forward(self, X, streams=None):
        """Outputs ``(m, K, n_out)`` for a batch; training mode with ``streams``."""
        ws = self._ws = self._workspace(X.shape[0])
        if self.offset is not None:
            X = (X.toarray() if sp.issparse(X) else X) - self.offset
        for step in ws["forward"]:
            step(X, streams)
        return ws["z"][-1]

    def backward(self):
        """Fill ``grads`` from the gradient in the last layer's ``g`` buffer."""
        for step in self._ws["backward"]:
            step()

    def block_rows(self, most):
        """Rows of a block of :meth:`predict` whose buffers take at most
        :data:`PASS_BYTES`, and at most ``most`` rows."""
        widths = sum(layer.n_outputs for layer in self.dense)
        per_row = 4 * self.K * widths * self.dtype.itemsize
        return int(max(1, min(most, PASS_BYTES // per_row)))

    def predict(self, X, rows, block):
        """Evaluation-mode outputs ``(n, K, n_out)`` for ``rows`` of ``X``."""
        n = X.shape[0] if rows is None else len(rows)
        out = np.empty((n, self.K, self.dense[-1].n_outputs), self.dtype)
        for part, Xb in iter_rows(X, block, self.dtype, rows):
            out[part] = self.forward(Xb)
        return out
