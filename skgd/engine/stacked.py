"""The kernels of a stack of candidates that share their data.

:func:`stacked_dense_epoch` and :func:`stacked_gathered_epoch` are the
epoch of a stack of linear models, row by row or a batch's rows gathered
into two matrix products; :func:`stacked_network_step` the step of a stack
of networks after their backward pass (their relu layers' passes and their
loss are in :mod:`skgd.engine.stacked_passes`).

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
    DIVERGENCE_FACTOR,
    OK,
    adam_update,
    elementwise_loss,
    inlined,
    kernel,
    loss_grad,
    penalty,
    sgd_update,
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


@kernel
def stacked_network_step(
    P, G, blocks, rates, t, spread, columns, codes, velocity, m_, v_, values, scratch
):
    """The step of ``K`` stacked networks after their backward pass.

    Adds each candidate's L2 penalty to its gradient and ``(alpha / 2)
    ||W||**2`` to its objective ``values[k]``, then makes its update, with
    the arithmetic of :func:`skgd.engine.kernels.penalty` and
    :func:`~skgd.engine.kernels.step`. ``blocks``
    has a row per dense layer: its offset in ``P``, its rows (inputs, then
    the intercepts), the rows penalized (the inputs), its outputs ``o`` and
    its first column in ``columns``; a layer's parameters are laid out
    ``(rows, K, o)``. ``rates[k]`` is candidate ``k``'s learning rate, and
    ``t`` the update's number (from 1), for Adam's bias correction (made as
    :func:`skgd.engine.kernels.step` makes it). ``spread[:, k]`` holds
    candidate ``k``'s alpha, momentum, betas and Adam's epsilon divided by
    ``sqrt(1 - beta_2)`` (see :func:`skgd.engine.fused.spread_settings`);
    ``columns`` (5, sum of the layers' ``K * o``) the same, for each layer,
    by column, so that the penalty and the update run over a layer's rows of
    ``K * o`` contiguous columns in one pass; ``codes`` as in
    :func:`stacked_dense_epoch`. The
    optimizer's buffers are empty when unused; ``scratch`` holds at least
    ``2 * K * o`` values of the widest layer, and ``K`` more. ``G`` is spent.
    """
    K = rates.size
    steps = scratch[scratch.size - K :]
    for k in range(K):
        steps[k] = rates[k]
        if codes[1] == ADAM:
            b1, b2 = spread[BETA_1, k], spread[BETA_2, k]
            correction = math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
            steps[k] = rates[k] * correction * (1.0 - b1) / math.sqrt(1.0 - b2)
    if K == 1:  # scalar settings: the loops of the candidate's own step
        _one_step(P, G, blocks, steps[0], spread[:, 0], codes, velocity, m_, v_, values)
        return
    penalizing = False  # whether any candidate has a penalty
    for k in range(K):
        penalizing = penalizing or spread[ALPHA, k] != 0.0
    for j in range(blocks.shape[0]):
        offset, rows, penalized, o, first = (
            blocks[j, 0], blocks[j, 1], blocks[j, 2], blocks[j, 3], blocks[j, 4],
        )  # fmt: skip
        KO = K * o
        lr, squares = scratch[:KO], scratch[KO : 2 * KO]
        part = slice(first, first + KO)
        alphas, mus = columns[ALPHA, part], columns[MOMENTUM, part]
        b1, b2 = columns[BETA_1, part], columns[BETA_2, part]
        eps = columns[EPSILON, part]
        for k in range(K):
            for q in range(k * o, (k + 1) * o):
                lr[q] = steps[k]
        for q in range(KO):
            squares[q] = 0.0
        for r in range(rows):
            at = offset + r * KO
            if r < penalized and penalizing:
                _penalized_row(P[at : at + KO], G[at : at + KO], alphas, squares)
            rP, rG = P[at : at + KO], G[at : at + KO]
            if codes[1] == ADAM:
                _adam_row(rP, rG, lr, b1, b2, eps, m_[at : at + KO], v_[at : at + KO])
            elif velocity.size == 0:
                for q in range(KO):
                    rP[q] -= lr[q] * rG[q]
            else:
                _momentum_row(rP, rG, lr, mus, codes[2], velocity[at : at + KO])
        for k in range(K):
            alpha = spread[ALPHA, k]
            if alpha != 0.0:
                total = 0.0
                for q in range(k * o, (k + 1) * o):
                    total += squares[q]
                values[k] += 0.5 * alpha * total


@inlined
def _one_step(P, G, blocks, lr, settings, codes, velocity, m_, v_, values):
    """:func:`stacked_network_step` of one candidate, at rate ``lr``: its own
    fit's step (:func:`skgd.engine.kernels.penalty`, then the update of
    :func:`~skgd.engine.kernels.step`) over its parameters."""
    for j in range(blocks.shape[0]):
        start, n = blocks[j, 0], blocks[j, 2] * blocks[j, 3]
        values[0] += penalty(
            P[start : start + n], G[start : start + n], n, settings[ALPHA]
        )
    if codes[1] == ADAM:
        b1, b2 = settings[BETA_1], settings[BETA_2]
        adam_update(P, G, lr, b1, b2, settings[EPSILON], m_, v_)
    else:
        sgd_update(P, G, lr, settings[MOMENTUM], codes[2], velocity)


@inlined
def _penalized_row(P, G, alphas, squares):
    """``alpha W`` into a row of ``G`` (columns of alpha 0 untouched), and
    the squares of its weights into ``squares``."""
    for q in range(P.size):
        w, alpha = P[q], alphas[q]
        G[q] = G[q] + alpha * w if alpha != 0.0 else G[q]
        squares[q] += w * w


@inlined
def _adam_row(P, G, lr, b1, b2, eps, m_, v_):
    """Adam's update of a row of columns."""
    for q in range(P.size):  # the moments as stored (float32 or 64), as a fit does
        g = G[q]
        m_[q] = b1[q] * m_[q] + g
        v_[q] = b2[q] * v_[q] + g * g
        P[q] -= lr[q] * m_[q] / (math.sqrt(v_[q]) + eps[q])


@inlined
def _momentum_row(P, G, lr, mus, nesterov, velocity):
    """SGD with (Nesterov) momentum on a row of columns."""
    for q in range(P.size):  # the velocity as stored, as a fit does
        mu = mus[q]
        velocity[q] = mu * velocity[q] + G[q]
        if nesterov:
            P[q] -= lr[q] * (G[q] + mu * velocity[q])
        else:
            P[q] -= lr[q] * velocity[q]
