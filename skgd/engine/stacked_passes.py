"""The compiled passes of a stack of networks around its matrix products.

:func:`stacked_relu_dropout`, :func:`stacked_dense`,
:func:`stacked_relu_backward` and :func:`stacked_relu_grad` are the passes
of the relu layers of ``K`` stacked candidates (the products of the first
layers, of wide layers and of a stack of one stay with BLAS, see
:func:`skgd.engine.stack.parts.plan_passes`), and :func:`stacked_loss`
their loss and its gradient, each candidate with the arithmetic of its own
fit (:mod:`skgd.engine.stack`); :func:`batch_totals` the trainer's check of
each candidate's batch objective against its limit, and its loss sums.
"""

from .kernels import elementwise_loss, kernel, loss_grad


@kernel
def stacked_relu_dropout(z, out, bits, thresholds, scales):
    """``out = relu(z)``, then inverted dropout, for ``K`` stacked candidates.

    ``z`` and ``out`` have shape ``(m, K, w)``. ``bits`` (uint16, ``(m,
    w)``) is the dropout draw of the position, shared by the candidates
    (empty for none); candidate ``k`` keeps a unit where its bits are at
    least ``thresholds[k]`` and scales it by ``scales[k]`` (a threshold of 0
    and a scale of 1 for a rate of 0). The arithmetic of the relu and
    :class:`~skgd._layers.Dropout` layers: ``max(z, 0)`` (NaN kept) times a
    mask of ``scale`` or 0.
    """
    m, K, w = out.shape
    for i in range(m):
        for k in range(K):
            row, source = out[i, k], z[i, k]
            if bits.size:
                threshold, scale, drawn = thresholds[k], scales[k], bits[i]
                for h in range(w):
                    v = source[h]
                    kept = scale if drawn[h] >= threshold else 0.0
                    row[h] = (0.0 if v < 0.0 else v) * kept
            else:
                for h in range(w):
                    v = source[h]
                    row[h] = 0.0 if v < 0.0 else v


@kernel
def stacked_relu_backward(a, g, W, dW, db, out, scales, Wt, dWt, ga):
    """The backward pass of a stacked dense layer after relu (and dropout).

    ``a`` (m, K, w) is the layer's input, relu's output dropped out;
    ``g`` (m, K, o) the gradient of its outputs; ``W`` (w, K, o) its
    weights. Writes the gradient of the weights into ``dW`` (w, K, o) and
    of the intercepts into ``db`` (K, o; empty without intercepts), and the
    gradient before relu and dropout into ``out`` (m, K, w): ``(g W^T) *
    (a > 0) * scales[k]`` (where ``a`` is positive the unit was active and
    kept: the product of dropout's mask and relu's derivative, in fewer
    passes, and exactly, the mask being 0 or ``scale``).
    ``Wt`` and ``dWt`` are scratch of shape (K, o, w), ``ga`` of ``w``
    values.
    """
    m, K, w = a.shape
    o = g.shape[2]
    for k in range(K):
        for q in range(o):
            for h in range(w):
                Wt[k, q, h] = W[h, k, q]
                dWt[k, q, h] = 0.0
            if db.size:
                db[k, q] = 0.0
    for i in range(m):  # the gradients of the weights and intercepts
        for k in range(K):
            x = a[i, k]
            for q in range(o):
                gv, grads = g[i, k, q], dWt[k, q]
                if db.size:
                    db[k, q] += gv
                for h in range(w):
                    grads[h] += x[h] * gv
    for i in range(m):  # the gradient before relu and dropout
        for k in range(K):
            x, back, gk, scale = a[i, k], out[i, k], g[i, k], scales[k]
            gv, weights = gk[0], Wt[k, 0]
            if o == 1:
                for h in range(w):
                    back[h] = gv * weights[h] * (1.0 if x[h] > 0.0 else 0.0) * scale
                continue
            for h in range(w):
                ga[h] = gv * weights[h]
            for q in range(1, o):
                gv, weights = gk[q], Wt[k, q]
                for h in range(w):
                    ga[h] += gv * weights[h]
            for h in range(w):
                back[h] = ga[h] * (1.0 if x[h] > 0.0 else 0.0) * scale
    for h in range(w):
        for k in range(K):
            for q in range(o):
                dW[h, k, q] = dWt[k, q, h]


@kernel
def stacked_loss(code, deltas, pred, Y, c, grad, values):
    """The loss of ``K`` stacked candidates' outputs, and its gradient.

    ``pred`` and ``grad`` have shape ``(m, K, o)``, ``Y`` (the targets, as
    the losses encode them) ``(m, o)``; ``c`` holds the rows' weights
    divided by ``m`` (see :class:`skgd._data.Batches`), of shape ``(m, K)``,
    ``(m, 1)`` or ``(1, 1)`` (one for all rows). ``code`` is the loss's
    (see :mod:`skgd.engine.kernels`), ``deltas`` the candidates' Huber
    thresholds (or one for all). Writes ``values[k] = sum_i c_ik loss_ik``
    and the gradient of that value, as the losses of :mod:`skgd._losses`
    give them (``grad = c * dloss / dpred``), with sums in another order.
    """
    m, K, o = pred.shape
    rows, columns = c.shape
    for k in range(K):
        values[k] = 0.0
    for i in range(m):
        for k in range(K):
            weight = c[i if rows > 1 else 0, k if columns > 1 else 0]
            delta = deltas[k if deltas.size > 1 else 0]
            z, g = pred[i, k], grad[i, k]
            if o == 1:
                loss, g[0] = elementwise_loss(code, delta, z[0], Y[i, 0])
            else:
                loss = loss_grad(code, delta, z, Y[i], g)
            values[k] += weight * loss
            for q in range(o):
                g[q] *= weight


@kernel
def stacked_dense(a, W, b, z):
    """``z = a @ W + b`` for each of ``K`` stacked candidates, summed in order.

    ``a`` has shape ``(m, K, w)``, ``W`` ``(w, K, o)``, ``b`` ``(K, o)``
    (empty without intercepts) and ``z`` ``(m, K, o)``. For small stacks,
    where a batched matrix product costs more in calls than in arithmetic.
    """
    m, K, w = a.shape
    o = z.shape[2]
    for i in range(m):
        for k in range(K):
            x = a[i, k]
            for q in range(o):
                total = 0.0
                for h in range(w):
                    total += x[h] * W[h, k, q]
                z[i, k, q] = total + b[k, q] if b.size else total


@kernel
def stacked_relu_grad(a, ga, out, scales):
    """The gradient before relu and dropout, from ``ga`` after them.

    ``a`` (m, K, w) is relu's output dropped out, ``ga`` the gradient of the
    objective with respect to it: ``out = ga * (a > 0) * scales[k]`` (where
    ``a`` is positive the unit was active and kept). The elementwise part of
    :func:`stacked_relu_backward`, for the layers whose products BLAS makes.
    """
    m, K, w = a.shape
    for i in range(m):
        for k in range(K):
            x, grad, back, scale = a[i, k], ga[i, k], out[i, k], scales[k]
            for h in range(w):
                back[h] = grad[h] * (1.0 if x[h] > 0.0 else 0.0) * scale


@kernel
def batch_totals(values, limits, rows, totals):
    """Whether every candidate's batch objective is within its limit (False
    for NaN); adds each objective times the batch's ``rows`` to ``totals``.

    One call for the trainer's check and sums after each step (four numpy
    calls), with their arithmetic: ``values <= limits``, then ``totals +=
    values * rows``.
    """
    within = True
    for k in range(values.size):
        within &= values[k] <= limits[k]
        totals[k] += values[k] * rows
    return within
