"""The kernels of a stack of candidates that share their data.

:func:`stacked_dense_epoch` is the epoch of a stack of linear models;
:func:`stacked_network_step` the step of a stack of networks after their
backward pass.

The candidates of a stacked search (:mod:`skgd._stacked`) that differ only
in numbers (rates, penalties, optimizer settings, sample or class weights)
train in one pass over the data: each row's products run over all
candidates at once, the candidates innermost in memory, and so do the
penalty and the update, with each candidate's numbers spread over its
columns. The arithmetic of each candidate is that of
:func:`skgd.engine.epochs.dense_epoch`.
"""

import math

from .kernels import (
    ADAM,
    DIVERGENCE_FACTOR,
    OK,
    elementwise_loss,
    inlined,
    kernel,
    loss_grad,
)

# The rows of ``spread``: each column's numbers (see stacked_dense_epoch).
ALPHA, MOMENTUM, BETA_1, BETA_2, EPSILON = range(5)


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
    velocity, m_, v_, mean, counts, columns, limits, values, totals, failed, z, g = (
        state
    )
    n, d, K = order.size, X.shape[1], limits.size
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        for q in range(G.size):
            G[q] = 0.0
        for k in range(K):
            values[k] = 0.0
        for r in range(start, stop):
            _stacked_row(
                X, offset, Y, order[r], SW, columns, stop - start, P, G, z, g, codes,
                hyper, values,
            )  # fmt: skip
        _stacked_penalty(P, G, d, spread, values, g)
        for k in range(K):
            _stacked_judge(values[k], limits, hyper[k, 2], failed, k, i)
            totals[k] += (stop - start) * values[k]
        _stacked_update(P, G, rates[i], spread, codes, velocity, m_, v_)
        if mean.size:
            counts[1] += 1
            rho = (hyper[0, 1] + 1.0) / (counts[1] + hyper[0, 1])
            for q in range(P.size):
                mean[q] += rho * (P[q] - mean[q])
    return OK


@inlined
def _stacked_row(X, offset, Y, row, SW, columns, m, P, G, z, g, codes, hyper, values):
    """One row's outputs, losses and share of the gradient, for every candidate."""
    d, KO, o = X.shape[1], z.size, Y.shape[1]
    for q in range(KO):
        z[q] = P[d * KO + q] if codes[3] else 0.0
    for j in range(d):
        x, base = X[row, j] - offset[j], j * KO
        for q in range(KO):
            z[q] += x * P[base + q]
    for k in range(KO // o):
        c = (SW[row, columns[k]] if SW.size else 1.0) / m
        at = k * o
        if o == 1:
            loss, g[k] = elementwise_loss(codes[0], hyper[k, 0], z[k], Y[row, 0])
        else:
            loss = loss_grad(
                codes[0], hyper[k, 0], z[at : at + o], Y[row], g[at : at + o]
            )
        values[k] += c * loss
        for q in range(at, at + o):
            g[q] *= c
    for j in range(d):
        x, base = X[row, j] - offset[j], j * KO
        for q in range(KO):
            G[base + q] += x * g[q]
    if codes[3]:
        for q in range(KO):
            G[d * KO + q] += g[q]


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


@kernel
def stacked_network_step(P, G, blocks, rates, spread, codes, velocity, m_, v_, values):
    """The step of ``K`` stacked networks after their backward pass.

    Adds each candidate's L2 penalty to ``G`` and ``(alpha / 2) ||W||**2``
    to its objective ``values[k]``, then makes its update, with the
    arithmetic of :func:`skgd.engine.kernels.network_step`. ``blocks`` has
    a row per dense layer: its offset in ``P``, its rows (inputs, then the
    intercepts), the rows penalized (the inputs) and its outputs ``o``; a
    layer's parameters are laid out ``(rows, K, o)``. ``rates[k]`` is
    candidate ``k``'s step (Adam's bias correction and constant factor
    folded in), ``spread[:, k]`` its alpha, momentum, betas and Adam's
    epsilon divided by ``sqrt(1 - beta_2)``; ``codes`` as in
    :func:`stacked_dense_epoch`. The optimizer's buffers are empty when
    unused.
    """
    K = rates.size
    for j in range(blocks.shape[0]):
        offset, rows, penalized, o = (
            blocks[j, 0],
            blocks[j, 1],
            blocks[j, 2],
            blocks[j, 3],
        )
        for k in range(K):
            alpha = spread[ALPHA, k]
            if alpha != 0.0:
                total = 0.0
                for r in range(penalized):
                    at = offset + (r * K + k) * o
                    for q in range(at, at + o):
                        G[q] += alpha * P[q]
                        total += P[q] * P[q]
                values[k] += 0.5 * alpha * total
        for r in range(rows):
            for k in range(K):
                at = offset + (r * K + k) * o
                _run_update(
                    P, G, at, at + o, rates[k], spread, k, codes, velocity, m_, v_
                )


@inlined
def _run_update(P, G, start, stop, lr, spread, k, codes, velocity, m_, v_):
    """:func:`step` on ``P[start:stop]``, with candidate ``k``'s settings."""
    if codes[1] == ADAM:
        b1, b2, eps = spread[BETA_1, k], spread[BETA_2, k], spread[EPSILON, k]
        for q in range(start, stop):
            m_[q] = b1 * m_[q] + G[q]
            v_[q] = b2 * v_[q] + G[q] * G[q]
            P[q] -= lr * m_[q] / (math.sqrt(v_[q]) + eps)
    elif velocity.size == 0:
        for q in range(start, stop):
            P[q] -= lr * G[q]
    else:
        mu = spread[MOMENTUM, k]
        for q in range(start, stop):
            velocity[q] = mu * velocity[q] + G[q]
            if codes[2]:
                P[q] -= lr * (G[q] + mu * velocity[q])
            else:
                P[q] -= lr * velocity[q]
