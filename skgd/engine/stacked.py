"""The epoch kernel of a stack of linear models that share their data.

The candidates of a stacked search (:mod:`skgd._stacked`) that differ only
in numbers (rates, penalties, optimizer settings, sample or class weights)
train in one pass over the data: each row's products run over all
candidates at once, the candidates innermost in memory. The arithmetic of
each candidate is that of :func:`skgd.engine.epochs.dense_epoch`.
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


@kernel
def stacked_dense_epoch(X, Y, order, SW, batch, P, G, z, g, rates, codes, hyper, state):
    """:func:`dense_epoch` for ``K`` candidates that share the data and the order.

    ``P`` and ``G`` have shape ``(n_features [+ 1], K * n_outputs)``: the
    stacked networks' layout ``(rows, K, n_outputs)``, candidates innermost,
    so that a row's products run over all candidates in one contiguous loop;
    the last row holds the intercepts. Each candidate ``k`` has its own rates
    (``rates[:, k]``; Adam's bias correction and constant factor already
    folded in), its own ``hyper[k]`` (alpha, huber delta, momentum, beta_1,
    beta_2, Adam's epsilon divided by ``sqrt(1 - beta_2)``, averaging power,
    baseline) and its own column of sample weights (``SW[:, columns[k]]``;
    ``SW`` empty without weights). ``state`` is ``(velocity, m_, v_, mean,
    counts, columns, limits, values, totals, failed)``: the optimizer's
    buffers in the layout of ``P`` (empty when unused), the count of
    averaged updates (``counts[1]``), the candidates' limits, scratch for
    their batch objectives, their loss totals over the epoch, and for each
    the value and the batch where it diverged (``failed``, shape (K, 2);
    batch -1 while it has not). A diverged candidate's limit becomes inf:
    it trains on, unjudged, as in the numpy path. ``z`` and ``g`` are
    scratch of ``K * n_outputs``.
    """
    velocity, m_, v_, mean, counts, columns, limits, values, totals, failed = state
    n, d, K = order.size, X.shape[1], limits.size
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        for j in range(G.shape[0]):
            for q in range(G.shape[1]):
                G[j, q] = 0.0
        for k in range(K):
            values[k] = 0.0
        m = stop - start
        for r in range(start, stop):
            _stacked_row(
                X, Y, order[r], SW, columns, m, P, G, z, g, codes, hyper, values
            )
        _stacked_penalty(P, G, d, hyper, values)
        for k in range(K):
            _stacked_judge(values[k], limits, hyper[k, 7], failed, k, i)
            totals[k] += (stop - start) * values[k]
        _stacked_update(P, G, rates[i], codes, hyper, velocity, m_, v_)
        if mean.size:
            counts[1] += 1
            rho = (hyper[0, 6] + 1.0) / (counts[1] + hyper[0, 6])
            for j in range(P.shape[0]):
                for q in range(P.shape[1]):
                    mean[j, q] += rho * (P[j, q] - mean[j, q])
    return OK


@inlined
def _stacked_row(X, Y, row, SW, columns, m, P, G, z, g, codes, hyper, values):
    """One row's outputs, losses and share of the gradient, for every candidate."""
    d, KO, o = X.shape[1], P.shape[1], Y.shape[1]
    for q in range(KO):
        z[q] = P[d, q] if codes[3] else 0.0
    for j in range(d):
        x = X[row, j]
        for q in range(KO):
            z[q] += x * P[j, q]
    for k in range(KO // o):
        c = (SW[row, columns[k]] if SW.size else 1.0) / m
        if o == 1:
            loss, g[k] = elementwise_loss(codes[0], hyper[k, 1], z[k], Y[row, 0])
        else:
            at = k * o
            loss = loss_grad(
                codes[0], hyper[k, 1], z[at : at + o], Y[row], g[at : at + o]
            )
        values[k] += c * loss
        for q in range(k * o, (k + 1) * o):
            g[q] *= c
    for j in range(d):
        x = X[row, j]
        for q in range(KO):
            G[j, q] += x * g[q]
    if codes[3]:
        for q in range(KO):
            G[d, q] += g[q]


@inlined
def _stacked_penalty(P, G, d, hyper, values):
    """Each candidate's ``alpha W`` into ``G`` and ``(alpha / 2) ||W||**2``."""
    K = values.size
    o = P.shape[1] // K
    for j in range(d):
        for k in range(K):
            alpha = hyper[k, 0]
            if alpha:
                for q in range(k * o, (k + 1) * o):
                    G[j, q] += alpha * P[j, q]
                    values[k] += 0.5 * alpha * P[j, q] * P[j, q]


@inlined
def _stacked_judge(value, limits, baseline, failed, k, index):
    """:func:`_judge` for candidate ``k``; a diverged one is recorded once."""
    if value <= limits[k] or limits[k] == math.inf:
        return
    if limits[k] == -math.inf and math.isfinite(value):
        limits[k] = DIVERGENCE_FACTOR * max(value, baseline)
        return
    failed[k, 0], failed[k, 1] = value, index
    limits[k] = math.inf


@inlined
def _stacked_update(P, G, lr, codes, hyper, velocity, m_, v_):
    """:func:`step` for every candidate, with its own rate and settings."""
    K = lr.size
    o = P.shape[1] // K
    for j in range(P.shape[0]):
        for k in range(K):
            rate, mu = lr[k], hyper[k, 2]
            for q in range(k * o, (k + 1) * o):
                if codes[1] == ADAM:
                    m_[j, q] = hyper[k, 3] * m_[j, q] + G[j, q]
                    v_[j, q] = hyper[k, 4] * v_[j, q] + G[j, q] * G[j, q]
                    P[j, q] -= rate * m_[j, q] / (math.sqrt(v_[j, q]) + hyper[k, 5])
                elif velocity.size == 0:
                    P[j, q] -= rate * G[j, q]
                else:
                    velocity[j, q] = mu * velocity[j, q] + G[j, q]
                    if codes[2]:
                        P[j, q] -= rate * (G[j, q] + mu * velocity[j, q])
                    else:
                        P[j, q] -= rate * velocity[j, q]
