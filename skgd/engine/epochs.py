"""The epoch kernels of one linear model: dense rows, and CSR rows.

:func:`dense_epoch` and :func:`csr_epoch` run the mini-batches of one pass
in the order they are given: for each batch the forward pass, the loss and
its gradient, the L2 penalty, the divergence check, the optimizer's update
and the average of the iterates (the pieces of :mod:`skgd.engine.kernels`),
the arithmetic of the numpy path with sums in another order. The layout of
the parameters and the codes are those of :mod:`skgd.engine.kernels`.
"""

from .kernels import (
    DIVERGED,
    OK,
    SCALE_HIGH,
    SCALE_LOW,
    SGD,
    elementwise_loss,
    fold_scale,
    inlined,
    intercept_grad,
    judge,
    kernel,
    loss_grad,
    penalty,
    squares,
    update,
)


@kernel
def dense_epoch(X, offset, Y, order, sw, batch, P, G, z, g, rates, codes, hyper, state):
    """One pass over dense rows ``X[order]`` in batches of ``batch``; a status.

    The model sees the rows less ``offset`` (centered features, see
    :class:`skgd._layers.Center`), zeros for none.

    ``codes`` holds the loss, the optimizer, nesterov and whether there is
    an intercept; ``state`` is ``(velocity, m_, v_, mean, counts, sums)``
    (empty arrays for what is not used; ``mean`` empty without averaging).
    ``sw`` holds relative sample weights, empty without them. ``z`` and
    ``g`` are scratch of n_outputs each.
    """
    n, o = order.size, Y.shape[1]
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        for q in range(G.size):  # a loop, not G[:], which makes a view
            G[q] = 0.0
        if o == 1:  # scalar sums: twice as fast as the loops over outputs
            value = _one_output_batch(
                X, offset, Y, order, sw, start, stop, P, G, codes, hyper
            )
        else:
            value = _dense_batch(
                X, offset, Y, order, sw, start, stop, P, G, z, g, codes, hyper
            )
        n_weights, m = X.shape[1] * o, stop - start
        if not _step(P, G, value, i, m, n_weights, rates[i], codes, hyper, state):
            return DIVERGED
    return OK


@inlined
def _step(P, G, value, i, m, n_weights, rate, codes, hyper, state):
    """The penalty, the divergence check, the update and the epoch's sums of
    batch ``i`` of ``m`` rows, whose loss is ``value``; False if it diverged."""
    velocity, m_, v_, mean, counts, sums = state
    value += penalty(P, G, n_weights, hyper[0])
    if not judge(value, sums, hyper, i):
        return False
    update(P, G, rate, codes, hyper, velocity, m_, v_, counts, mean)
    sums[1] += m * value
    sums[2] += m
    return True


@inlined
def _one_output_batch(X, offset, Y, order, sw, start, stop, P, G, codes, hyper):
    """The loss of rows ``order[start:stop]`` of one output; its gradient in G."""
    d, value = X.shape[1], 0.0
    for r in range(start, stop):
        row = order[r]
        c = (sw[row] if sw.size else 1.0) / (stop - start)
        t = P[d] if codes[3] else 0.0
        for j in range(d):
            t += (X[row, j] - offset[j]) * P[j]
        loss, gk = elementwise_loss(codes[0], hyper[1], t, Y[row, 0])
        value += c * loss
        gk *= c
        for j in range(d):
            G[j] += (X[row, j] - offset[j]) * gk
        if codes[3]:
            G[d] += gk
    return value


@inlined
def _dense_batch(X, offset, Y, order, sw, start, stop, P, G, z, g, codes, hyper):
    """:func:`_one_output_batch` for several outputs."""
    d, o, value = X.shape[1], Y.shape[1], 0.0
    n_weights = d * o
    for r in range(start, stop):
        row = order[r]
        c = (sw[row] if sw.size else 1.0) / (stop - start)
        x = X[row]
        for k in range(o):
            z[k] = P[n_weights + k] if codes[3] else 0.0
        for j in range(d):
            for k in range(o):
                z[k] += (x[j] - offset[j]) * P[j * o + k]
        value += c * loss_grad(codes[0], hyper[1], z, Y[row], g)
        for k in range(o):
            g[k] *= c
        for j in range(d):
            for k in range(o):
                G[j * o + k] += (x[j] - offset[j]) * g[k]
        intercept_grad(G, n_weights, g, o, codes[3])
    return value


@kernel
def csr_epoch(
    data, indices, indptr, Y, order, sw, batch, P, G, z, g, rates, codes, hyper, state
):
    """:func:`dense_epoch` over the rows of a CSR matrix.

    The forward pass and the data's share of the gradient touch only each
    row's nonzeros. With plain SGD and no average (no momentum, no Adam, an
    empty ``mean``), the update does too (:func:`_csr_lazy`); otherwise the
    penalty and the update are dense, as in :func:`dense_epoch`. ``g`` is
    scratch of ``batch * n_outputs``.
    """
    o = Y.shape[1]
    n_weights = P.size - (o if codes[3] else 0)
    lazy = codes[1] == SGD and hyper[2] == 0.0 and state[3].size == 0
    for r in range(rates.size):
        lazy = lazy and rates[r] * hyper[0] < 0.5  # the decay stays positive
    if lazy:
        return _csr_lazy(
            data, indices, indptr, Y, order, sw, batch, P, z, g, rates, codes, hyper,
            state[5], n_weights,
        )  # fmt: skip
    n = order.size
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        for q in range(G.size):
            G[q] = 0.0
        value = 0.0
        for r in range(start, stop):
            row = order[r]
            c = (sw[row] if sw.size else 1.0) / (stop - start)
            _csr_outputs(data, indices, indptr, row, P, 1.0, z, n_weights, codes[3])
            value += c * _row_loss(codes[0], hyper[1], z, Y, row, g)
            for k in range(o):
                gk = c * g[k]
                for p in range(indptr[row], indptr[row + 1]):
                    G[indices[p] * o + k] += data[p] * gk
                if codes[3]:
                    G[n_weights + k] += gk
        m = stop - start
        if not _step(P, G, value, i, m, n_weights, rates[i], codes, hyper, state):
            return DIVERGED
    return OK


@inlined
def _csr_outputs(data, indices, indptr, row, P, scale, z, n_weights, intercept):
    """Outputs ``z`` of CSR row ``row`` for weights ``scale * P[:n_weights]``."""
    o = z.size
    for k in range(o):
        t = 0.0
        for p in range(indptr[row], indptr[row + 1]):
            t += data[p] * P[indices[p] * o + k]
        z[k] = scale * t + (P[n_weights + k] if intercept else 0.0)


@inlined
def _row_loss(code, delta, z, Y, row, g):
    """:func:`loss_grad` of outputs ``z`` for the targets ``Y[row]``."""
    if z.size == 1:  # without a view of the row
        loss, g[0] = elementwise_loss(code, delta, z[0], Y[row, 0])
        return loss
    return loss_grad(code, delta, z, Y[row], g)


@kernel
def _csr_lazy(
    data, indices, indptr, Y, order, sw, batch, P, z, g, rates, codes, hyper, sums,
    n_weights,
):  # fmt: skip
    """Plain SGD over CSR rows, each update touching only the nonzeros.

    The weights are kept as ``W = s * V`` (scikit-learn's ``wscale``), ``V``
    in ``P``: the penalty's decay ``1 - lr * alpha`` multiplies ``s`` alone,
    and ``||V||**2`` is kept up to date as the nonzeros change. ``g`` holds a
    batch's output gradients, row after row.
    """
    n, o, alpha = order.size, Y.shape[1], hyper[0]
    s, norm = 1.0, squares(P, n_weights)  # ||V||**2
    status = OK
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        value = 0.5 * alpha * s * s * norm
        for r in range(start, stop):
            row = order[r]
            c = (sw[row] if sw.size else 1.0) / (stop - start)
            _csr_outputs(data, indices, indptr, row, P, s, z, n_weights, codes[3])
            at = (r - start) * o
            value += c * _row_loss(codes[0], hyper[1], z, Y, row, g[at:])
            for k in range(o):
                g[at + k] *= c
        if not judge(value, sums, hyper, i):
            status = DIVERGED
            break
        lr = rates[i]
        s *= 1.0 - lr * alpha
        rate = lr / s
        for r in range(start, stop):
            row, at = order[r], (r - start) * o
            for k in range(o):
                gk = rate * g[at + k]
                if alpha:  # the penalty's value needs ||V||**2
                    for p in range(indptr[row], indptr[row + 1]):
                        q = indices[p] * o + k
                        old = P[q]
                        P[q] = old - data[p] * gk
                        norm += P[q] * P[q] - old * old
                else:
                    for p in range(indptr[row], indptr[row + 1]):
                        P[indices[p] * o + k] -= data[p] * gk
                if codes[3]:
                    P[n_weights + k] -= lr * g[at + k]
        if not SCALE_LOW < s < SCALE_HIGH:
            norm = fold_scale(P, n_weights, s)
            s = 1.0
        sums[1] += (stop - start) * value
        sums[2] += stop - start
    fold_scale(P, n_weights, s)
    return status
