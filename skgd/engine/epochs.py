"""The epoch kernel of one linear model on dense rows.

:func:`dense_epoch` (and :func:`skgd.engine.sparse_epochs.csr_epoch`, its
counterpart for CSR rows) runs the mini-batches of one pass
in the order they are given: for each batch the forward pass, the loss and
its gradient, the L2 penalty, the divergence check, the optimizer's update
and the average of the iterates (the pieces of :mod:`skgd.engine.kernels`),
the arithmetic of the numpy path with sums in another order. The layout of
the parameters and the codes are those of :mod:`skgd.engine.kernels`.

:func:`dense_epoch` is compiled with numba's ``fastmath`` flags ``reassoc``
and ``contract`` (and no others: NaN and inf keep their meaning, so the
divergence checks hold): the compiler may regroup its sums and fuse
multiply-adds, and so runs each row's products over the features several at
a time in vector registers (an epoch of ``bench_gd`` 12% faster at batch
256, 17% at batch 1, than with its sums in order). Its sums then depend on
the processor's vector width, not on the data's layout (the estimators hand
it C-ordered rows).

Rows taken in shuffled order start with a miss to the cache, which the
processor's prefetcher cannot foresee: the kernel asks for the rows a few
ahead (:func:`~skgd.engine.kernels.prefetch_dense`), which took an epoch of
``bench_gd`` at batch 256 from 0.45 to 0.37 ms.
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
    prefetch_dense,
)


@kernel(fastmath={"reassoc", "contract"})
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

    Four rows at a time: their outputs (:func:`_outputs`), then each row's
    loss and its share of the gradient in row order, then the four shares
    added to the gradient (:func:`_add_shares`).
    """
    d, value, m = X.shape[1], 0.0, stop - start
    t0 = P[d] if codes[3] else 0.0
    r = start
    while r + 4 <= stop:
        for ahead in range(r + 8, r + 12):  # two blocks ahead, in shuffled order
            prefetch_dense(X, order, ahead)
        r0, r1, r2, r3 = order[r], order[r + 1], order[r + 2], order[r + 3]
        z0, z1, z2, z3 = _outputs(X, offset, P, r0, r1, r2, r3, t0)
        v0, g0 = _weighted_loss(Y, sw, r0, z0, m, codes, hyper)
        v1, g1 = _weighted_loss(Y, sw, r1, z1, m, codes, hyper)
        v2, g2 = _weighted_loss(Y, sw, r2, z2, m, codes, hyper)
        v3, g3 = _weighted_loss(Y, sw, r3, z3, m, codes, hyper)
        value = value + v0 + v1 + v2 + v3
        _add_shares(X, offset, G, r0, r1, r2, r3, g0, g1, g2, g3)
        if codes[3]:
            G[d] += g0 + g1 + g2 + g3
        r += 4
    for rest in range(r, stop):  # the last rows, fewer than four, one by one
        row = order[rest]
        z = t0
        for j in range(d):
            z += (X[row, j] - offset[j]) * P[j]
        v, gk = _weighted_loss(Y, sw, row, z, m, codes, hyper)
        value += v
        for j in range(d):
            G[j] += (X[row, j] - offset[j]) * gk
        if codes[3]:
            G[d] += gk
    return value


@inlined
def _outputs(X, offset, P, r0, r1, r2, r3, t0):
    """The outputs of rows ``r0`` to ``r3``: ``t0`` plus ``(x - offset) . P``."""
    z0 = z1 = z2 = z3 = 0.0
    for j in range(X.shape[1]):
        p, oj = P[j], offset[j]
        z0 += (X[r0, j] - oj) * p
        z1 += (X[r1, j] - oj) * p
        z2 += (X[r2, j] - oj) * p
        z3 += (X[r3, j] - oj) * p
    return z0 + t0, z1 + t0, z2 + t0, z3 + t0


@inlined
def _add_shares(X, offset, G, r0, r1, r2, r3, g0, g1, g2, g3):
    """Add rows ``r0`` to ``r3`` (less ``offset``) times ``g0`` to ``g3`` to G."""
    for j in range(X.shape[1]):
        oj = offset[j]
        G[j] += (
            (X[r0, j] - oj) * g0
            + (X[r1, j] - oj) * g1
            + (X[r2, j] - oj) * g2
            + (X[r3, j] - oj) * g3
        )


@kernel
def _weighted_loss(Y, sw, row, t, m, codes, hyper):
    """Row ``row``'s loss at output ``t`` and its gradient, weighted by its
    share of a batch of ``m`` rows.

    A kernel of its own, not inlined in numba's IR: a block calls it four
    times, and copies of the losses' branches made the epoch's
    compilation take twice the memory (480 MB) and time. LLVM inlines the
    calls all the same.
    """
    c = (sw[row] if sw.size else 1.0) / m
    loss, gk = elementwise_loss(codes[0], hyper[1], t, Y[row, 0])
    return c * loss, gk * c


@inlined
def _dense_batch(X, offset, Y, order, sw, start, stop, P, G, z, g, codes, hyper):
    """:func:`_one_output_batch` for several outputs."""
    d, o, value = X.shape[1], Y.shape[1], 0.0
    n_weights = d * o
    for r in range(start, stop):
        prefetch_dense(X, order, r + 4)  # four rows ahead, in shuffled order
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
