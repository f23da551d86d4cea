"""The epoch kernel of one linear model on CSR rows.

:func:`csr_epoch` is :func:`skgd.engine.epochs.dense_epoch` over the rows
of a CSR matrix: a step touches only the row's nonzeros, with the L2 decay
kept as a scale of the weights, applied lazily (as scikit-learn's
``_sgd_fast`` does).
"""

from numba import uint64

from .kernels import (
    DIVERGED,
    OK,
    SCALE_HIGH,
    SCALE_LOW,
    SGD,
    batch_step,
    elementwise_loss,
    fold_scale,
    inlined,
    judge,
    kernel,
    loss_grad,
    prefetch_row,
    squares,
)


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
            _prefetch_next(data, indices, indptr, order, r)
            c = (sw[row] if sw.size else 1.0) / (stop - start)
            _csr_outputs(data, indices, indptr, row, P, 1.0, z, n_weights, codes[3])
            value += c * _row_loss(codes[0], hyper[1], z, Y, row, g)
            for k in range(o):
                gk = c * g[k]
                for p in _nonzeros(indptr, row):
                    G[_column(indices, p, o, k)] += data[p] * gk
                if codes[3]:
                    G[n_weights + k] += gk
        m = stop - start
        if not batch_step(P, G, value, i, m, n_weights, rates[i], codes, hyper, state):
            return DIVERGED
    return OK


@inlined
def _nonzeros(indptr, row):
    """The positions of row ``row``'s nonzeros, as unsigned integers.

    numba wraps a signed index that is negative around the array's end, at
    the cost of a test at every access: on unsigned ones it has none to make,
    and a loop over the nonzeros runs about 1.6 times as fast.
    """
    return range(uint64(indptr[row]), uint64(indptr[row + 1]))


@inlined
def _column(indices, p, o, k):
    """Where output ``k`` of nonzero ``p``'s weight is in ``P``, unsigned."""
    return uint64(indices[p]) * uint64(o) + uint64(k)


@inlined
def _prefetch_next(data, indices, indptr, order, r):
    """Ask for row ``order[r + 1]`` (if any) while row ``order[r]`` is worked on.

    In shuffled order each row would otherwise begin with a miss to memory:
    on rows of a hundred nonzeros, half an epoch's time.
    """
    if r + 1 < order.size:
        prefetch_row(data, indices, indptr, order[r + 1])


@inlined
def _csr_outputs(data, indices, indptr, row, P, scale, z, n_weights, intercept):
    """Outputs ``z`` of CSR row ``row`` for weights ``scale * P[:n_weights]``."""
    o = z.size
    for k in range(o):
        t = 0.0
        for p in _nonzeros(indptr, row):
            t += data[p] * P[_column(indices, p, o, k)]
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
    if Y.shape[1] == 1:  # scalar outputs: no loops over them
        return _csr_lazy_one(
            data, indices, indptr, Y, order, sw, batch, P, g, rates, codes, hyper,
            sums, n_weights,
        )  # fmt: skip
    n, o, alpha = order.size, Y.shape[1], hyper[0]
    s, norm = 1.0, squares(P, n_weights)  # ||V||**2
    status = OK
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        value = 0.5 * alpha * s * s * norm
        for r in range(start, stop):
            row = order[r]
            _prefetch_next(data, indices, indptr, order, r)
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
                    for p in _nonzeros(indptr, row):
                        q = _column(indices, p, o, k)
                        old = P[q]
                        P[q] = old - data[p] * gk
                        norm += P[q] * P[q] - old * old
                else:
                    for p in _nonzeros(indptr, row):
                        P[_column(indices, p, o, k)] -= data[p] * gk
                if codes[3]:
                    P[n_weights + k] -= lr * g[at + k]
        if not SCALE_LOW < s < SCALE_HIGH:
            norm = fold_scale(P, n_weights, s)
            s = 1.0
        sums[1] += (stop - start) * value
        sums[2] += stop - start
    fold_scale(P, n_weights, s)
    return status


@inlined
def _csr_lazy_one(
    data, indices, indptr, Y, order, sw, batch, P, g, rates, codes, hyper, sums,
    n_weights,
):  # fmt: skip
    """:func:`_csr_lazy` for one output, the arithmetic the same.

    The hot loop of sparse SGD (scikit-learn's ``_plain_sgd``): a row's
    product and its update are plain loops over its nonzeros, and the
    per-row work (loss, weight, intercept) is scalar.
    """
    n, alpha, intercept = order.size, hyper[0], codes[3]
    s, norm = 1.0, squares(P, n_weights)  # ||V||**2
    status = OK
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        m = stop - start
        value = 0.5 * alpha * s * s * norm
        for r in range(start, stop):
            row = order[r]
            _prefetch_next(data, indices, indptr, order, r)
            c = (sw[row] if sw.size else 1.0) / m
            t = 0.0
            for p in _nonzeros(indptr, row):
                t += data[p] * P[uint64(indices[p])]
            t = s * t + (P[n_weights] if intercept else 0.0)
            loss, gk = elementwise_loss(codes[0], hyper[1], t, Y[row, 0])
            value += c * loss
            g[r - start] = gk * c
        if not judge(value, sums, hyper, i):
            status = DIVERGED
            break
        lr = rates[i]
        s *= 1.0 - lr * alpha
        rate = lr / s
        for r in range(start, stop):
            row, gk = order[r], g[r - start]
            step = rate * gk
            if alpha:  # the penalty's value needs ||V||**2
                for p in _nonzeros(indptr, row):
                    q = uint64(indices[p])
                    old = P[q]
                    P[q] = old - data[p] * step
                    norm += P[q] * P[q] - old * old
            else:
                for p in _nonzeros(indptr, row):
                    P[uint64(indices[p])] -= data[p] * step
            if intercept:
                P[n_weights] -= lr * gk
        if not SCALE_LOW < s < SCALE_HIGH:
            norm = fold_scale(P, n_weights, s)
            s = 1.0
        sums[1] += m * value
        sums[2] += m
    fold_scale(P, n_weights, s)
    return status
