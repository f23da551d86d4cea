"""The epoch kernels of one linear model: dense rows, and CSR rows.

:func:`dense_epoch` and :func:`csr_epoch` run the mini-batches of one pass
in the order they are given: for each batch the forward pass, the loss and
its gradient, the L2 penalty, the divergence check, the optimizer's update
and the average of the iterates (the pieces of :mod:`skgd.engine.kernels`),
the arithmetic of the numpy path with sums in another order. The layout of
the parameters and the codes are those of :mod:`skgd.engine.kernels`.
"""

from numba import uint64

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
    prefetch_row,
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
    """The loss of rows ``order[start:stop]`` of one output; its gradient in G.

    The weights are the same for every row of a batch, so the rows' outputs
    are computed eight at a time, in step: each output is still a sum over
    the features in order, but the eight chains of additions overlap instead
    of each waiting on the last (the same sums, several times faster). Then
    each row's loss and share of the gradient, in row order.
    """
    d, value, m = X.shape[1], 0.0, stop - start
    t0 = P[d] if codes[3] else 0.0
    r = start
    while r + 8 <= stop:
        r0, r1, r2, r3 = order[r], order[r + 1], order[r + 2], order[r + 3]
        r4, r5, r6, r7 = order[r + 4], order[r + 5], order[r + 6], order[r + 7]
        z0 = z1 = z2 = z3 = z4 = z5 = z6 = z7 = t0
        for j in range(0, d - d % 4, 4):
            z0 = _add_terms(X, r0, offset, P, j, z0)
            z1 = _add_terms(X, r1, offset, P, j, z1)
            z2 = _add_terms(X, r2, offset, P, j, z2)
            z3 = _add_terms(X, r3, offset, P, j, z3)
            z4 = _add_terms(X, r4, offset, P, j, z4)
            z5 = _add_terms(X, r5, offset, P, j, z5)
            z6 = _add_terms(X, r6, offset, P, j, z6)
            z7 = _add_terms(X, r7, offset, P, j, z7)
        for j in range(d - d % 4, d):
            z0 += (X[r0, j] - offset[j]) * P[j]
            z1 += (X[r1, j] - offset[j]) * P[j]
            z2 += (X[r2, j] - offset[j]) * P[j]
            z3 += (X[r3, j] - offset[j]) * P[j]
            z4 += (X[r4, j] - offset[j]) * P[j]
            z5 += (X[r5, j] - offset[j]) * P[j]
            z6 += (X[r6, j] - offset[j]) * P[j]
            z7 += (X[r7, j] - offset[j]) * P[j]
        v0, g0 = _weighted_loss(Y, sw, r0, z0, m, codes, hyper)
        v1, g1 = _weighted_loss(Y, sw, r1, z1, m, codes, hyper)
        v2, g2 = _weighted_loss(Y, sw, r2, z2, m, codes, hyper)
        v3, g3 = _weighted_loss(Y, sw, r3, z3, m, codes, hyper)
        v4, g4 = _weighted_loss(Y, sw, r4, z4, m, codes, hyper)
        v5, g5 = _weighted_loss(Y, sw, r5, z5, m, codes, hyper)
        v6, g6 = _weighted_loss(Y, sw, r6, z6, m, codes, hyper)
        v7, g7 = _weighted_loss(Y, sw, r7, z7, m, codes, hyper)
        value = value + v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7
        # The eight rows' shares of each gradient entry, added in row order,
        # each sum rounded to G's type as the row-by-row loop rounds it.
        for j in range(d):
            oj = offset[j]
            G[j] += (X[r0, j] - oj) * g0
            G[j] += (X[r1, j] - oj) * g1
            G[j] += (X[r2, j] - oj) * g2
            G[j] += (X[r3, j] - oj) * g3
            G[j] += (X[r4, j] - oj) * g4
            G[j] += (X[r5, j] - oj) * g5
            G[j] += (X[r6, j] - oj) * g6
            G[j] += (X[r7, j] - oj) * g7
        if codes[3]:
            for gk in (g0, g1, g2, g3, g4, g5, g6, g7):
                G[d] += gk
        r += 8
    for rest in range(r, stop):
        row, t = order[rest], t0
        for j in range(0, d - d % 4, 4):
            t = _add_terms(X, row, offset, P, j, t)
        for j in range(d - d % 4, d):
            t += (X[row, j] - offset[j]) * P[j]
        value += _row_grad(X, offset, Y, sw, row, t, m, G, codes, hyper)
    return value


@inlined
def _add_terms(X, row, offset, P, j, t):
    """``t`` plus the terms ``j`` to ``j + 3`` of row ``row``'s output, in order."""
    a = (X[row, j] - offset[j]) * P[j]
    b = (X[row, j + 1] - offset[j + 1]) * P[j + 1]
    c = (X[row, j + 2] - offset[j + 2]) * P[j + 2]
    e = (X[row, j + 3] - offset[j + 3]) * P[j + 3]
    return t + a + b + c + e


@kernel
def _weighted_loss(Y, sw, row, t, m, codes, hyper):
    """Row ``row``'s loss at output ``t`` and its gradient, weighted by its
    share of a batch of ``m`` rows.

    A kernel of its own, not inlined in numba's IR: a block calls it eight
    times, and eight copies of the losses' branches made the epoch's
    compilation take twice the memory (480 MB) and time. LLVM inlines the
    calls all the same.
    """
    c = (sw[row] if sw.size else 1.0) / m
    loss, gk = elementwise_loss(codes[0], hyper[1], t, Y[row, 0])
    return c * loss, gk * c


@inlined
def _row_grad(X, offset, Y, sw, row, t, m, G, codes, hyper):
    """Row ``row``'s weighted loss at output ``t``; its gradient added to G."""
    d = X.shape[1]
    value, gk = _weighted_loss(Y, sw, row, t, m, codes, hyper)
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
        if not _step(P, G, value, i, m, n_weights, rates[i], codes, hyper, state):
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
