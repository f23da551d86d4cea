"""The pieces of a stacked network's passes (see :mod:`.network`): the layout
of its blocks, its dropout, drawn as :class:`~skgd._layers.Dropout` draws
it, one mask a position and rate, and the steps of its passes, chosen by
the number of candidates and the layers' sizes (:func:`plan_passes`)."""

from functools import partial

import numpy as np

from ..._layers import Dropout
from ..._losses import _add


def _rows(x):
    """A batch's ``(m, K, width)`` array as a view ``(m, K * width)``, for the
    activations' passes (None stays None)."""
    if x is None:
        return None
    return x[:, 0] if x.shape[1] == 1 else x.reshape(x.shape[0], -1)


def _flat(block):
    """A block ``(n_in + 1, K, n_out)`` as one ``(n_in + 1, K * n_out)`` matrix."""
    return block.reshape(block.shape[0], -1)


# No dropout draw (see stacked_relu_dropout); no intercepts (stacked_relu_backward).
_NO_BITS = np.zeros((0, 0), np.uint16)
# Stacks of at most this many outputs a layer (K * n_out) take its product in
# one compiled call (stacked_dense) rather than a batched matrix product.
SMALL_PRODUCTS = 8
# A stack's first product with at least this many columns (K * width) calls
# np.matmul, a smaller one np.dot (which costs less to call).
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


# A relu layer's backward pass is one compiled call (stacked_relu_backward)
# where the layer has one output, or at most this many weights in all
# (K * n_in * n_out); BLAS's products (then stacked_relu_grad) beat it beyond
# (measured with batches of 32 to 256 rows: 2 to 7 times faster for K of 1 to
# 48 and layers of 32 x 32 or more). A stack of one always takes its own
# network's products, so that it trains as its own fit does, bit for bit.
FUSED_BACKWARD = 256


def _fused_backward(K, n_in, n_out):
    """Whether a relu layer's backward pass is the fused kernel's (see above)."""
    return K > 1 and (n_out == 1 or K * n_in * n_out <= FUSED_BACKWARD)


def plan_passes(net, ws):
    """``(forward, backward)``: the steps of a batch's passes, made once for
    a workspace ``ws`` of ``net`` (a StackedNetwork), layer by layer.

    A forward step takes ``(X, streams)``; a backward step nothing. Each
    layer's products are chosen by ``K`` and its sizes: a stack of one
    candidate makes them as its own network does (2-D products, its inputs
    with a column of ones), a small stack in one compiled call, a wider one
    in a batched product; relu's backward pass is fused with the products
    where that wins (:func:`_fused_backward`). The first layer's forward
    step sets the last backward step (its input differs with dropout and
    in evaluation).
    """
    # The backward steps, last layer first; the first layer's is set by its
    # forward step (a list it is handed, not the workspace: no cycle keeps
    # a batch alive after training).
    n = len(net.dense)
    backward = [None] * n
    forward = [_first_layer(net, ws, backward)]
    for j in range(1, n):
        forward.append(_later_forward(net, ws, j))
        backward[n - 1 - j] = _later_backward(net, ws, j)
    return forward, backward


def _first_layer(net, ws, backward):
    """The first layer's forward step (see :func:`plan_passes`), which sets
    the last of the ``backward`` steps.

    A stack of one reads the batch itself, as its network does (a product,
    then the intercepts added); a larger one, or centered features, the
    batch copied beside a column of ones (one product, shared by the
    candidates). In training with dropout the layer reads the batch dropped
    out: beside the column of ones for a stack of one, else by candidate
    (a batched product).
    """
    block, dblock, n_in = net.blocks[0], net.grad_blocks[0], net.dense[0].n_in
    K, runs, full, a = net.K, net.dropout[0], ws["full"][0], ws["a"][0]
    z, g = ws["z"][0], ws["g"][0]
    z2, g2, W, dW = _flat(z), _flat(g), _flat(block), _flat(dblock)
    bias = len(block) > n_in
    # numpy's matmul calls BLAS faster than its dot, except for small products.
    product = np.matmul if K > 1 and z2.shape[1] >= WIDE_PRODUCTS else np.dot
    with_ones = partial(product, full.T, g2, dW)
    x_in, weights, intercepts = full[:, :n_in], W[:n_in], W[n_in:]
    ones, dweights, dintercepts = np.ones((1, len(z)), net.dtype), dW[:n_in], dW[n_in:]
    dropped = _batched_backward(a, g, dblock, n_in) if K > 1 and runs else None
    batched = _batched_forward(a, block, n_in, z) if K > 1 and runs else None
    direct = K == 1 and net.offset is None  # the batch itself, as a network reads it
    batch = [None]

    def direct_backward():
        np.dot(batch[0].T, g2, dweights)
        if bias:
            np.dot(ones, g2, dintercepts)

    def step(X, streams):
        if streams is not None and runs:
            _drop(X[:, None, :], a, runs, streams[0])
            if K > 1:
                batched()
                backward[-1] = dropped
                return
        elif direct:
            np.dot(X, weights, z2)
            if bias:
                np.add(z2, intercepts, z2)
            batch[0], backward[-1] = X, direct_backward
            return
        else:
            np.copyto(x_in, X)
        product(full, W, z2)
        backward[-1] = with_ones

    return step


def _later_forward(net, ws, j):
    """Layer ``j``'s forward step (``j >= 1``): the activation of the layer
    before (and dropout), then the product."""
    z_in, a, runs = ws["z"][j - 1], ws["a"][j], net.dropout[j]
    m, _, w = a.shape
    product = _forward_product(net, ws, j)
    if net.activation == "relu":
        from ..stacked_passes import stacked_relu_dropout as relu

        thresholds, scales = net._keeping[j]

        def step(X, streams):
            bits = _bits(streams[j], m, w) if runs and streams is not None else _NO_BITS
            relu(z_in, a, bits, thresholds, scales)
            product()

        return step
    function, masks, source = net._passes[0], ws["masks"], a
    if ws["pre"][j] is not None:  # kept apart for the backward pass
        source = ws["pre"][j]
    z_in2, a2, source2, zeros = (
        _rows(z_in),
        _rows(a),
        _rows(source),
        _rows(ws["zeros"][j]),
    )

    def step(X, streams):
        if streams is None or not runs:
            function(z_in2, a2, zeros)
            masks[j] = None
        else:
            function(z_in2, source2, zeros)
            masks[j] = _drop(source, a, runs, streams[j])
        product()

    return step


def _forward_product(net, ws, j):
    """Layer ``j``'s product (``j >= 1``), a function of no arguments."""
    a, z, block, n_in = ws["a"][j], ws["z"][j], net.blocks[j], net.dense[j].n_in
    K = a.shape[1]
    if K == 1:  # one product, intercepts included (a column of ones)
        return partial(np.dot, ws["full"][j], _flat(block), _flat(z))
    if K * net.dense[j].n_outputs <= SMALL_PRODUCTS:  # one call, no BLAS
        from ..stacked_passes import stacked_dense

        intercepts = block[n_in] if len(block) > n_in else _NO_INTERCEPTS
        return partial(stacked_dense, a, block[:n_in], intercepts, z)
    return _batched_forward(a, block, n_in, z)


def _later_backward(net, ws, j):
    """Layer ``j``'s backward step (``j >= 1``): the gradients of its
    parameters, then the gradient before the activation (and dropout)."""
    a, ga, out = ws["a"][j], ws["ga"][j], ws["g"][j - 1]
    K, o = a.shape[1], net.dense[j].n_outputs
    if net.activation == "relu" and _fused_backward(K, net.dense[j].n_in, o):
        return _fused_relu_backward(net, ws, j)
    gradients, inputs = _backward_products(net, ws, j)
    if net.activation == "relu":
        from ..stacked_passes import stacked_relu_grad

        scales = net._keeping[j][1]

        def step():
            gradients()
            inputs()
            stacked_relu_grad(a, ga, out, scales)

        return step
    gradient, runs, masks = net._passes[1], net.dropout[j], ws["masks"]
    pre = _rows(a if ws["pre"][j] is None else ws["pre"][j])
    ga2, out2, scratch = _rows(ga), _rows(out), _rows(ws["scratch"][j])

    def step():
        gradients()
        inputs()
        for (part, _, _), mask in zip(runs, masks[j] or ()):
            if mask is not None:
                np.multiply(ga[:, part], mask, ga[:, part])
        gradient(pre, ga2, out2, scratch)

    return step


def _fused_relu_backward(net, ws, j):
    """Layer ``j``'s backward step as one call of stacked_relu_backward."""
    from ..stacked_passes import stacked_relu_backward

    a, g, dblock, n_in = ws["a"][j], ws["g"][j], net.grad_blocks[j], net.dense[j].n_in
    _, K, w = a.shape
    intercepts = dblock[n_in] if len(dblock) > n_in else _NO_INTERCEPTS
    scratch = [np.empty((K, g.shape[2], w), a.dtype) for _ in range(2)]
    return partial(
        stacked_relu_backward, a, g, net.blocks[j][:n_in], dblock[:n_in],
        intercepts, ws["g"][j - 1], net._keeping[j][1], *scratch,
        np.empty(w, a.dtype),
    )  # fmt: skip


def _backward_products(net, ws, j):
    """``(gradients, inputs)``: functions of no arguments that make layer
    ``j``'s gradients of its parameters and of its input (``ga``)."""
    a, g, ga, full = ws["a"][j], ws["g"][j], ws["ga"][j], ws["full"][j]
    block, dblock, n_in = net.blocks[j], net.grad_blocks[j], net.dense[j].n_in
    if a.shape[1] == 1:  # as a network's dense layer: two 2-D products
        g2, W = _flat(g), _flat(block)[:n_in]
        return (
            partial(np.dot, full.T, g2, _flat(dblock)),
            partial(np.dot, g2, W.T, _flat(ga)),
        )
    return (
        _batched_backward(a, g, dblock, n_in),
        _batched_input_gradient(g, block[:n_in], ga),
    )


def _batched_forward(a, block, n_in, z):
    """``z = a @ W + b`` for each candidate, from ``a`` of shape (m, K, n_in):
    a function of no arguments."""
    aT, WT, zT = (
        a.transpose(1, 0, 2),
        block[:n_in].transpose(1, 0, 2),
        z.transpose(1, 0, 2),
    )
    if len(block) == n_in:  # a layer without intercepts has no row for them
        return partial(np.matmul, aT, WT, out=zT)
    b = block[n_in]

    def product():
        np.matmul(aT, WT, out=zT)
        np.add(z, b, z)

    return product


def _batched_backward(a, g, dblock, n_in):
    """Each candidate's gradients of its weights and intercepts: a function
    of no arguments."""
    aT, gT, dWT = (
        a.transpose(1, 2, 0),
        g.transpose(1, 0, 2),
        dblock[:n_in].transpose(1, 0, 2),
    )
    if len(dblock) == n_in:
        return partial(np.matmul, aT, gT, out=dWT)
    db = dblock[n_in]

    def gradients():
        np.matmul(aT, gT, out=dWT)
        _add(g, 0, out=db)

    return gradients


def _batched_input_gradient(g, W, ga):
    """``ga = g @ W.T`` for each candidate: a function of no arguments."""
    if g.shape[2] == 1:  # an outer product, as two fast passes

        def outer():
            np.copyto(ga, g)
            np.multiply(ga, np.ascontiguousarray(W[:, :, 0].T), ga)

        return outer
    return partial(
        np.matmul, g.transpose(1, 0, 2), W.transpose(1, 2, 0), out=ga.transpose(1, 0, 2)
    )


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
