"""The epoch kernel of one linear model on dense rows.

:func:`dense_epoch` (and :func:`skgd.engine.sparse_epochs.csr_epoch`, its
counterpart for CSR rows) runs the mini-batches of one pass
in the order they are given: for each batch the forward pass, the loss and
its gradient, the L2 penalty, the divergence check, the optimizer's update
and the average of the iterates (the pieces of :mod:`skgd.engine.kernels`),
the arithmetic of the numpy path with sums in another order. The layout of
the parameters and the codes are those of :mod:`skgd.engine.kernels`.
"""

from .kernels import (
    DIVERGED,
    OK,
    batch_step,
    elementwise_loss,
    inlined,
    intercept_grad,
    kernel,
    loss_grad,
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
        if not batch_step(P, G, value, i, m, n_weights, rates[i], codes, hyper, state):
            return DIVERGED
    return OK


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
