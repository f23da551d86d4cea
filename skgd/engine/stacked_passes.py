"""The compiled passes and step of a stack of networks, around its matrix products.

:func:`stacked_relu_dropout`, :func:`stacked_dense`,
:func:`stacked_relu_backward` and :func:`stacked_relu_grad` are the passes
of the relu layers of ``K`` stacked candidates (the products of the first
layers, of wide layers and of a stack of one stay with BLAS, see
:func:`skgd.engine.stack.parts.plan_passes`), and :func:`stacked_loss`
their loss and its gradient, each candidate with the arithmetic of its own
fit (:mod:`skgd.engine.stack`); :func:`batch_totals` the trainer's check of
each candidate's batch objective against its limit, and its loss sums;
:func:`stacked_network_step` the step after the backward pass, each
candidate's penalty and update.
"""

import math

from .kernels import (
    ADAM,
    ALPHA,
    BETA_1,
    BETA_2,
    EPSILON,
    MOMENTUM,
    adam_update,
    elementwise_loss,
    inlined,
    kernel,
    loss_grad,
    penalty,
    sgd_update,
)


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
    :func:`skgd.engine.stacked.stacked_dense_epoch`. The
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
