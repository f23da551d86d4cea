"""Compiled kernels: a whole epoch of a linear model in one call.

Each kernel is a plain top-level function of arrays and numbers, compiled
by numba on first use (never at import) and cached on disk (see
:func:`kernel`). It never raises: it returns a status, and the engine turns
a diverged status into :class:`~skgd.DivergenceError`. Every kernel has a
numpy reference in the tests that it must match.

The epoch kernels, :func:`dense_epoch` and :func:`csr_epoch`, run the
mini-batches of one pass in the order they are given: for each batch the
forward pass, the loss and its gradient (:func:`loss_grad`), the L2
penalty, the divergence check, the optimizer's update (:func:`step`) and the
average of the iterates (:func:`average`), exactly the arithmetic of the
numpy path (:class:`skgd._trainer.Trainer`), with sums in another order.

The parameters are one flat vector ``P``: the weight matrix ``W`` of shape
(n_features, n_outputs), row-major, then the intercepts (if any), as
:class:`skgd._layers.Dense` lays out ``[W; b]``. ``G`` is scratch of the
same size.

Codes shared with the engine (:mod:`skgd.engine.fused`):

- losses: ``SQUARED``, ``HUBER``, ``LOG`` (binary logistic, on the margin),
  ``HINGE``, ``MODIFIED_HUBER``, ``SOFTMAX`` (multinomial log-loss);
- optimizers: ``SGD`` (with ``mu`` the momentum, 0 for none, and
  ``nesterov``), ``ADAM``;
- ``hyper``, float64: alpha, huber delta, momentum, beta_1, beta_2,
  epsilon, averaging power, baseline (the data's scale for the first
  batch's divergence limit);
- ``counts``, int64, in and out: Adam's step count, the count of averaged
  updates;
- ``sums``, float64, in and out: the divergence limit, the epoch's weighted
  loss total and weight, the failing value, the failing batch.
"""

import math
import warnings

import numba
import numpy as np

SQUARED, HUBER, LOG, HINGE, MODIFIED_HUBER, SOFTMAX = range(6)
SGD, ADAM = range(2)
OK, DIVERGED = range(2)
# The objective may grow this many times over its first value before the run
# counts as diverged (see skgd._trainer.DIVERGENCE_FACTOR).
DIVERGENCE_FACTOR = 1e6
# The lazy scale of sparse weights is folded into them beyond these bounds.
SCALE_LOW, SCALE_HIGH = 1e-9, 1e9


def kernel(function=None, **options):
    """``numba.njit(cache=True)``, or without the disk cache where it can't be.

    Two options hold for every kernel. ``_nrt=False``: the kernels allocate
    nothing, so they need none of numba's reference counting, whose atomic
    counts on every array view and call cost an epoch three to five times
    its arithmetic (numba refuses to compile a kernel that allocates under
    it). ``error_model="numpy"``: a division by zero gives inf or NaN, which
    the divergence checks catch, instead of an exception.

    numba refuses ``cache=True`` when it finds no writable cache directory
    (the package's ``__pycache__``, then the user's cache directory): the
    kernel is then compiled in every process, with a warning that says how
    to keep it (``NUMBA_CACHE_DIR``). ``options`` go to ``numba.njit``.
    """
    if function is None:
        return lambda function: kernel(function, **options)
    options = {"_nrt": False, "error_model": "numpy", **options}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError as error:  # no locator can write the cache
        warnings.warn(
            f"skgd's compiled kernels cannot be cached on disk ({error}); they "
            "are compiled anew in every process. Set NUMBA_CACHE_DIR to a "
            "writable directory to keep them.",
            RuntimeWarning,
            stacklevel=2,
        )
        return numba.njit(**options)(function)


# The helpers of the epoch kernels are inlined into them (in numba's IR), so
# that the compiler sees each epoch's loops whole.
inlined = kernel(inline="always")


@inlined
def loss_grad(code, delta, z, y, g):
    """Per-sample loss of outputs ``z`` for target row ``y``; its gradient in ``g``.

    The same losses as :mod:`skgd._losses`, on one row: the margin losses
    see targets ``-s`` (see :class:`skgd._losses._MarginLoss`), the softmax
    one-hot rows.
    """
    value = 0.0
    if code == SOFTMAX:
        top = z[0]
        for k in range(1, z.size):
            top = max(top, z[k])
        total = 0.0
        for k in range(z.size):
            g[k] = math.exp(z[k] - top)
            total += g[k]
        for k in range(z.size):
            g[k] = g[k] / total - y[k]
            value -= y[k] * (z[k] - top)
        return value + math.log(total)
    for k in range(z.size):
        loss, g[k] = elementwise_loss(code, delta, z[k], y[k])
        value += loss
    return value


@inlined
def elementwise_loss(code, delta, z, y):
    """``(loss, d loss / d z)`` of one output ``z`` and its target ``y``.

    The margin losses see the target ``-s`` (so ``z * y`` is ``-m``).
    """
    r = z - y
    if code == SQUARED:
        return 0.5 * r * r, r
    if code == HUBER:
        clipped = min(max(r, -delta), delta)
        return clipped * (r - 0.5 * clipped), clipped
    minus_m = z * y
    if code == LOG:
        if minus_m > 0:  # log(1 + e^x) = x + log(1 + e^-x), without overflow
            return minus_m + math.log1p(math.exp(-minus_m)), y / (
                1.0 + math.exp(-minus_m)
            )
        e = math.exp(minus_m)
        return math.log1p(e), y * e / (1.0 + e)
    u = 1.0 + minus_m
    if code == HINGE:
        return max(u, 0.0), y if u > 0 else 0.0
    clipped = min(max(u, 0.0), 2.0)  # modified Huber
    return clipped * (2.0 * u - clipped), 2.0 * y * clipped


@inlined
def step(code, P, G, lr, hyper, velocity, m_, v_, counts, nesterov):
    """One update of ``P`` along the gradient ``G`` (spent), at rate ``lr``.

    The rules of :mod:`skgd._optimizers`: SGD with (Nesterov) momentum
    ``v <- mu v + g``, and Adam with its moments kept divided by
    ``1 - beta``.
    """
    if code == ADAM:
        b1, b2, eps = hyper[3], hyper[4], hyper[5]
        counts[0] += 1
        t = counts[0]
        correction = math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        rate = lr * correction * (1.0 - b1) / math.sqrt(1.0 - b2)
        shifted = eps / math.sqrt(1.0 - b2)
        for i in range(P.size):
            m_[i] = b1 * m_[i] + G[i]
            v_[i] = b2 * v_[i] + G[i] * G[i]
            P[i] -= rate * m_[i] / (math.sqrt(v_[i]) + shifted)
        return
    mu = hyper[2]
    if mu == 0.0:
        for i in range(P.size):
            P[i] -= lr * G[i]
        return
    for i in range(P.size):
        velocity[i] = mu * velocity[i] + G[i]
        if nesterov:
            P[i] -= lr * (G[i] + mu * velocity[i])
        else:
            P[i] -= lr * velocity[i]


@inlined
def average(P, mean, counts, power):
    """Fold the iterate ``P`` into the polynomial-decay average ``mean``."""
    counts[1] += 1
    rho = (power + 1.0) / (counts[1] + power)
    for i in range(P.size):
        mean[i] += rho * (P[i] - mean[i])


@inlined
def _penalty(P, G, n_weights, alpha):
    """Add ``alpha * W`` to the gradient; return ``(alpha / 2) ||W||**2``."""
    if alpha == 0.0:
        return 0.0
    total = 0.0
    for i in range(n_weights):
        G[i] += alpha * P[i]
        total += P[i] * P[i]
    return 0.5 * alpha * total


@inlined
def _judge(value, sums, hyper, index):
    """Whether the batch's objective ``value`` is within the limit (see Trainer).

    The first batch sets the limit; a value above it (or NaN) is recorded
    in ``sums`` with its batch, and the epoch stops.
    """
    if value <= sums[0]:
        return True
    if sums[0] == -math.inf and math.isfinite(value):
        sums[0] = DIVERGENCE_FACTOR * max(value, hyper[7])
        return True
    sums[3], sums[4] = value, index
    return False


@inlined
def _intercept_grad(G, n_weights, g, n_outputs, intercept):
    if intercept:
        for k in range(n_outputs):
            G[n_weights + k] += g[k]


@inlined
def _update(P, G, lr, codes, hyper, velocity, m_, v_, counts, mean):
    """The optimizer's step, then the average when ``mean`` is not empty."""
    step(codes[1], P, G, lr, hyper, velocity, m_, v_, counts, codes[2] != 0)
    if mean.size:
        average(P, mean, counts, hyper[6])


@kernel
def dense_epoch(X, Y, order, sw, batch, P, G, z, g, rates, codes, hyper, state):
    """One pass over dense rows ``X[order]`` in batches of ``batch``; a status.

    ``codes`` holds the loss, the optimizer, nesterov and whether there is
    an intercept; ``state`` is ``(velocity, m_, v_, mean, counts, sums)``
    (empty arrays for what is not used; ``mean`` empty without averaging).
    ``sw`` holds relative sample weights, empty without them. ``z`` and
    ``g`` are scratch of n_outputs each.
    """
    velocity, m_, v_, mean, counts, sums = state
    n, o = order.size, Y.shape[1]
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        for q in range(G.size):  # a loop, not G[:], which makes a view
            G[q] = 0.0
        if o == 1:  # scalar sums: twice as fast as the loops over outputs
            value = _one_output_batch(X, Y, order, sw, start, stop, P, G, codes, hyper)
        else:
            value = _dense_batch(X, Y, order, sw, start, stop, P, G, z, g, codes, hyper)
        value += _penalty(P, G, X.shape[1] * o, hyper[0])
        if not _judge(value, sums, hyper, i):
            return DIVERGED
        _update(P, G, rates[i], codes, hyper, velocity, m_, v_, counts, mean)
        sums[1] += (stop - start) * value
        sums[2] += stop - start
    return OK


@inlined
def _one_output_batch(X, Y, order, sw, start, stop, P, G, codes, hyper):
    """The loss of rows ``order[start:stop]`` of one output; its gradient in G."""
    d, value = X.shape[1], 0.0
    for r in range(start, stop):
        row = order[r]
        c = (sw[row] if sw.size else 1.0) / (stop - start)
        t = P[d] if codes[3] else 0.0
        for j in range(d):
            t += X[row, j] * P[j]
        loss, gk = elementwise_loss(codes[0], hyper[1], t, Y[row, 0])
        value += c * loss
        gk *= c
        for j in range(d):
            G[j] += X[row, j] * gk
        if codes[3]:
            G[d] += gk
    return value


@inlined
def _dense_batch(X, Y, order, sw, start, stop, P, G, z, g, codes, hyper):
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
                z[k] += x[j] * P[j * o + k]
        value += c * loss_grad(codes[0], hyper[1], z, Y[row], g)
        for k in range(o):
            g[k] *= c
        for j in range(d):
            for k in range(o):
                G[j * o + k] += x[j] * g[k]
        _intercept_grad(G, n_weights, g, o, codes[3])
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
    velocity, m_, v_, mean, counts, sums = state
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
        value += _penalty(P, G, n_weights, hyper[0])
        if not _judge(value, sums, hyper, i):
            return DIVERGED
        _update(P, G, rates[i], codes, hyper, velocity, m_, v_, counts, mean)
        sums[1] += (stop - start) * value
        sums[2] += stop - start
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
    s, squares = 1.0, _squares(P, n_weights)  # ||V||**2
    status = OK
    for i in range((n + batch - 1) // batch):
        start, stop = i * batch, min((i + 1) * batch, n)
        value = 0.5 * alpha * s * s * squares
        for r in range(start, stop):
            row = order[r]
            c = (sw[row] if sw.size else 1.0) / (stop - start)
            _csr_outputs(data, indices, indptr, row, P, s, z, n_weights, codes[3])
            at = (r - start) * o
            value += c * _row_loss(codes[0], hyper[1], z, Y, row, g[at:])
            for k in range(o):
                g[at + k] *= c
        if not _judge(value, sums, hyper, i):
            status = DIVERGED
            break
        lr = rates[i]
        s *= 1.0 - lr * alpha
        rate = lr / s
        for r in range(start, stop):
            row, at = order[r], (r - start) * o
            for k in range(o):
                gk = rate * g[at + k]
                for p in range(indptr[row], indptr[row + 1]):
                    q = indices[p] * o + k
                    old = P[q]
                    P[q] = old - data[p] * gk
                    if alpha:  # the penalty's value needs ||V||**2
                        squares += P[q] * P[q] - old * old
                if codes[3]:
                    P[n_weights + k] -= lr * g[at + k]
        if not SCALE_LOW < s < SCALE_HIGH:
            squares = _fold_scale(P, n_weights, s)
            s = 1.0
        sums[1] += (stop - start) * value
        sums[2] += stop - start
    _fold_scale(P, n_weights, s)
    return status


@inlined
def _squares(P, n):
    total = 0.0
    for i in range(n):
        total += P[i] * P[i]
    return total


@inlined
def _fold_scale(P, n_weights, s):
    """``V <- s * V``; return the new ``||V||**2``."""
    for i in range(n_weights):
        P[i] *= s
    return _squares(P, n_weights)


def empty(dtype):
    """A zero-length array: the stand-in for an unused state array."""
    return np.zeros(0, dtype)
