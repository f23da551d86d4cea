"""The epoch kernels of a stack of linear models that share their data.

:func:`stacked_dense_epoch` and :func:`stacked_gathered_epoch` are the
epoch of a stack of linear models, row by row or a batch's rows gathered
into two matrix products (a stack of networks has its kernels in
:mod:`skgd.engine.stacked_passes`).

The candidates of a stacked search (:mod:`skgd.engine.stack`) that differ only
in numbers (rates, penalties, optimizer settings, sample or class weights)
train in one pass over the data: each row's (or batch's) products run over
all candidates at once, the candidates innermost in memory, and so do the
penalty and the update, with each candidate's numbers spread over its
columns. The arithmetic of each candidate is that of
:func:`skgd.engine.epochs.dense_epoch`, with sums in another order.
"""

import math

import numpy as np

from .kernels import (
    ADAM,
    ALPHA,
    BETA_1,
    BETA_2,
    DIVERGENCE_FACTOR,
    EPSILON,
    MOMENTUM,
    OK,
    elementwise_loss,
    inlined,
    kernel,
    loss_grad,
)


@kernel
def stacked_dense_epoch(
    X, offset, Y, order, SW, batch, P, G, rates, spread, hyper, codes, state
):
    """:func:`dense_epoch` for ``K`` candidates that share the data and the order.

    The candidates see the rows less ``offset`` (zeros for none), as in
    :func:`dense_epoch`.

    ``P`` and ``G`` are the stacked networks' flat buffers, laid out
    ``(n_features [+ 1], K, n_outputs)``: candidates innermost, so that a
    row's products run over all candidates in one contiguous loop; the last
    row holds the intercepts. A candidate's ``n_outputs`` columns carry its
    numbers: ``rates[i]`` the rate of each column in batch ``i`` (Adam's
    bias correction and constant factor folded in), and the rows of
    ``spread`` its alpha, momentum, beta_1, beta_2 and Adam's epsilon
    divided by ``sqrt(1 - beta_2)``. ``hyper[k]`` holds candidate ``k``'s huber delta,
    averaging power and baseline; ``SW[:, columns[k]]`` its sample weights
    (``SW`` empty without weights). ``state`` is ``(velocity, m_, v_, mean,
    counts, columns, limits, values, totals, failed, z, g)``: the
    optimizer's buffers in the layout of ``P`` (empty when unused), the
    count of averaged updates (``counts[1]``), the candidates' limits,
    scratch for their batch objectives, their loss totals over the epoch,
    the value and the batch where each diverged (``failed``, shape (K, 2);
    batch -1 while it has not), and scratch of a row's outputs and their
    gradients. A diverged candidate's limit becomes inf: it trains on,
    unjudged, as in the numpy path.
    """
    columns, values, z, g = state[5], state[7], state[10], state[11]
    n, d = order.size, X.shape[1]
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        _batch_begins(G, values)
        for r in range(start, stop):
            _stacked_row(
                X, offset, Y, order[r], SW, columns, stop - start, P, G, z, g, codes,
                hyper, values,
            )  # fmt: skip
        _batch_ends(P, G, d, i, stop - start, rates, spread, hyper, codes, state)
    return OK


@kernel(_nrt=True)
def stacked_gathered_epoch(
    X, offset, Y, order, SW, batch, P, G, rates, spread, hyper, codes, state, scratch
):
    """:func:`stacked_dense_epoch` with each batch's rows gathered, so that
    their outputs and their gradient are two matrix products
    (:func:`_gathered_batch`): for batches of a few rows or more, where two
    BLAS calls a batch cost less than the rows' products one by one.

    ``scratch`` is ``(rows, outputs, gradients)`` of ``P``'s dtype: a
    batch's gathered rows, of shape ``(batch, P.size // (K * n_outputs))``,
    and its outputs and their gradients, of shape ``(batch, K * n_outputs)``.

    Unlike the other kernels it is compiled with numba's reference counting
    (``_nrt=True``): numba's ``np.dot`` into a given array returns that
    array, which numba refuses to compile without it. Its rows' loops take
    no array views, whose counting would cost more than their arithmetic
    (and which is why :func:`stacked_dense_epoch`, row by row, is compiled
    without it).
    """
    columns, values = state[5], state[7]
    n, d = order.size, X.shape[1]
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        _batch_begins(G, values)
        _gathered_batch(
            X, offset, Y, order, SW, columns, start, stop, P, G, scratch, codes, hyper,
            values,
        )  # fmt: skip
        _batch_ends(P, G, d, i, stop - start, rates, spread, hyper, codes, state)
    return OK


@inlined
def _batch_begins(G, values):
    """A batch's gradient and objectives, zeroed."""
    for q in range(G.size):
        G[q] = 0.0
    for k in range(values.size):
        values[k] = 0.0


@inlined
def _batch_ends(P, G, d, i, m, rates, spread, hyper, codes, state):
    """Batch ``i`` of ``m`` rows after its gradient: each candidate's penalty,
    divergence check and loss sum, the update and the average."""
    velocity, m_, v_, mean, counts, _, limits, values, totals, failed = state[:10]
    _stacked_penalty(P, G, d, spread, values, state[11])
    for k in range(limits.size):
        _stacked_judge(values[k], limits, hyper[k, 2], failed, k, i)
        totals[k] += m * values[k]
    _stacked_update(P, G, rates[i], spread, codes, velocity, m_, v_)
    if mean.size:
        counts[1] += 1
        rho = (hyper[0, 1] + 1.0) / (counts[1] + hyper[0, 1])
        for q in range(P.size):
            mean[q] += rho * (P[q] - mean[q])


@inlined
def _stacked_row(X, offset, Y, row, SW, columns, m, P, G, z, g, codes, hyper, values):
    """One row's outputs, losses and share of the gradient, for every candidate."""
    d, KO = X.shape[1], z.size
    for q in range(KO):
        z[q] = P[d * KO + q] if codes[3] else 0.0
    for j in range(d):
        x, base = X[row, j] - offset[j], j * KO
        for q in range(KO):
            z[q] += x * P[base + q]
    _row_losses(z, g, Y, row, SW, columns, m, codes, hyper, values)
    for j in range(d):
        x, base = X[row, j] - offset[j], j * KO
        for q in range(KO):
            G[base + q] += x * g[q]
    if codes[3]:
        for q in range(KO):
            G[d * KO + q] += g[q]


@inlined
def _gathered_batch(
    X, offset, Y, order, SW, columns, start, stop, P, G, scratch, codes, hyper, values
):
    """The rows ``order[start:stop]`` as :func:`_stacked_row` takes them, in
    two matrix products (BLAS's): the rows gathered, less ``offset`` and
    beside a column of ones for the intercepts, times the weights give every
    candidate's outputs; the rows' transpose times the outputs' gradients
    gives the gradient, the intercepts' included. Sums in BLAS's order."""
    d, m = X.shape[1], stop - start
    rows, outputs, grads = scratch[0][:m], scratch[1][:m], scratch[2][:m]
    width, KO = rows.shape[1], outputs.shape[1]  # width: d, + 1 with intercepts
    for i in range(m):
        row = order[start + i]
        for j in range(d):
            rows[i, j] = X[row, j] - offset[j]
        if width > d:
            rows[i, d] = 1.0
    np.dot(rows, P.reshape(width, KO), outputs)
    code, unweighted, o = codes[0], 1.0 / m, Y.shape[1]
    for i in range(m):
        row = order[start + i]
        if o > 1:
            _row_losses(
                outputs[i], grads[i], Y, row, SW, columns, m, codes, hyper, values
            )
            continue
        # One output a candidate: _row_losses's loop, written out, as this
        # kernel counts references: an inlined call's array arguments are
        # counted at each call (the range test's training took 1.5 times as
        # long), and a row's views would be too.
        y = Y[row, 0]
        for k in range(KO):
            c = SW[row, columns[k]] / m if SW.size else unweighted
            loss, gk = elementwise_loss(code, hyper[k, 0], outputs[i, k], y)
            values[k] += c * loss
            grads[i, k] = gk * c
    np.dot(rows.T, grads, G.reshape(width, KO))


@inlined
def _row_losses(z, g, Y, row, SW, columns, m, codes, hyper, values):
    """A row's loss for every candidate, from its outputs ``z``, added to
    ``values`` times ``c`` (the row's weight divided by ``m``), and the
    gradient of that into ``g``."""
    KO, o = z.size, Y.shape[1]
    code, unweighted = codes[0], 1.0 / m
    if o == 1:  # one output a candidate: no views of z and g
        y = Y[row, 0]
        for k in range(KO):
            c = SW[row, columns[k]] / m if SW.size else unweighted
            loss, gk = elementwise_loss(code, hyper[k, 0], z[k], y)
            values[k] += c * loss
            g[k] = gk * c
    else:
        for k in range(KO // o):
            c = SW[row, columns[k]] / m if SW.size else unweighted
            at = k * o
            loss = loss_grad(code, hyper[k, 0], z[at : at + o], Y[row], g[at : at + o])
            values[k] += c * loss
            for q in range(at, at + o):
                g[q] *= c


@inlined
def _stacked_penalty(P, G, d, spread, values, squares):
    """``alpha W`` into ``G``, and each candidate's ``(alpha / 2) ||W||**2``.

    ``squares`` is scratch of one value a column.
    """
    KO = squares.size
    for q in range(KO):
        squares[q] = 0.0
    for j in range(d):
        base = j * KO
        for q in range(KO):
            w = P[base + q]
            G[base + q] += spread[ALPHA, q] * w
            squares[q] += w * w
    o = KO // values.size
    for q in range(KO):
        values[q // o] += 0.5 * spread[ALPHA, q] * squares[q]


@inlined
def _stacked_judge(value, limits, baseline, failed, k, index):
    """:func:`judge` for candidate ``k``; a diverged one is recorded once."""
    if value <= limits[k] or limits[k] == math.inf:
        return
    if limits[k] == -math.inf and math.isfinite(value):
        limits[k] = DIVERGENCE_FACTOR * max(value, baseline)
        return
    failed[k, 0], failed[k, 1] = value, index
    limits[k] = math.inf


@inlined
def _stacked_update(P, G, lr, spread, codes, velocity, m_, v_):
    """:func:`step` for every column, with its candidate's rate and settings.

    The optimizer is chosen outside the loops, which run over contiguous
    columns.
    """
    KO = lr.size
    for base in range(0, P.size, KO):
        if codes[1] == ADAM:
            for q in range(KO):
                at = base + q
                m_[at] = spread[BETA_1, q] * m_[at] + G[at]
                v_[at] = spread[BETA_2, q] * v_[at] + G[at] * G[at]
                P[at] -= lr[q] * m_[at] / (math.sqrt(v_[at]) + spread[EPSILON, q])
        elif velocity.size == 0:
            for q in range(KO):
                P[base + q] -= lr[q] * G[base + q]
        else:
            for q in range(KO):
                at = base + q
                velocity[at] = spread[MOMENTUM, q] * velocity[at] + G[at]
                if codes[2]:
                    P[at] -= lr[q] * (G[at] + spread[MOMENTUM, q] * velocity[at])
                else:
                    P[at] -= lr[q] * velocity[at]
