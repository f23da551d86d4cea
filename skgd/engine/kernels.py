"""Compiled kernels: the shared pieces, and how a kernel is compiled.

Kernels are plain top-level functions of arrays and numbers, compiled by
numba on first use (never at import) and cached on disk (see
:func:`kernel`). They never raise: an epoch kernel returns a status, and the
engine turns a diverged one into :class:`~skgd.DivergenceError`. Every
kernel has a numpy reference in the tests that it must match.

This module holds what the epoch kernels share, each inlined into them:
a loss and its gradient on one row (:func:`loss_grad`,
:func:`elementwise_loss`), the L2 penalty, the divergence check
(:func:`judge`), an optimizer's update (:func:`step`) and the average of
the iterates (:func:`average`), with the arithmetic of :mod:`skgd._losses`,
:mod:`skgd._optimizers` and :class:`skgd.engine.trainer.Trainer`. The epochs are
in :mod:`skgd.engine.epochs` (one model) and :mod:`skgd.engine.stacked` (a
stack of candidates).

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
from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic

SQUARED, HUBER, LOG, HINGE, MODIFIED_HUBER, SOFTMAX = range(6)
SGD, ADAM = range(2)
OK, DIVERGED = range(2)
# The objective may grow this many times over its first value before the run
# counts as diverged (see skgd.engine.trainer.DIVERGENCE_FACTOR).
DIVERGENCE_FACTOR = 1e6
# The rows of a stack's ``spread`` settings: each candidate's (or column's)
# alpha, momentum, betas and Adam's epsilon divided by sqrt(1 - beta_2) (see
# skgd.engine.stacked and skgd.engine.stacked_passes).
ALPHA, MOMENTUM, BETA_1, BETA_2, EPSILON = range(5)
# The lazy scale of sparse weights is folded into them beyond these bounds.
SCALE_LOW, SCALE_HIGH = 1e-9, 1e9


def kernel(function=None, **options):
    """``numba.njit(cache=True)``, or without the disk cache where it can't be.

    Two options hold for every kernel (unless ``options`` say otherwise).
    ``_nrt=False``: the kernels allocate
    nothing, so they need none of numba's reference counting, whose atomic
    counts on every array view and call cost an epoch three to five times
    its arithmetic (numba refuses to compile a kernel that allocates under
    it; :func:`skgd.engine.stacked.stacked_dense_epoch` takes it for
    ``np.dot``). ``error_model="numpy"``: a division by zero gives inf or NaN, which
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


@intrinsic
def prefetch(typingctx, array, index):
    """Hint the cache to fetch ``array[index]`` for reading; no load, no fault.

    ``llvm.prefetch`` (read, high locality, data): the epochs over rows in
    shuffled order ask for the rows ahead while they work on these, each
    of which otherwise starts with a miss to memory.
    """
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        at = context.cast(builder, args[1], signature.args[1], types.intp)
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", fnty=fnty)
        address = builder.bitcast(builder.gep(data, [at]), byte)
        builder.call(fn, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@inlined
def prefetch_dense(X, order, r):
    """:func:`prefetch` the first four 64-byte lines of dense row
    ``X[order[r]]``, if there is an ``r``-th row.

    A shorter row's hints fall on the next row, or past the array's end,
    where a hint does nothing; the processor's own prefetcher follows a
    longer row once it is read. Four hints, not a loop over the row's
    lines: with a loop, the kernel of ``bench_gd``'s batch-256 fit took
    10-20% longer than without hints; with four it takes 15-20% less.
    """
    if r < order.size:
        x, line = X[order[r]], 64 // X.itemsize
        prefetch(x, 0)
        prefetch(x, line)
        prefetch(x, 2 * line)
        prefetch(x, 3 * line)


@inlined
def prefetch_row(data, indices, indptr, row):
    """:func:`prefetch` the values and column indices of CSR row ``row``."""
    start, stop = indptr[row], indptr[row + 1]
    if stop > start:
        for p in range(start, stop, 64 // data.itemsize):  # a hint a 64-byte line
            prefetch(data, p)
        prefetch(data, stop - 1)
        for p in range(start, stop, 64 // indices.itemsize):
            prefetch(indices, p)
        prefetch(indices, stop - 1)


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
        # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), without overflow; the
        # gradient y e^x / (1 + e^x), as y / (1 + e^-x) where x > 0. Without
        # a branch on the sign of x, which a processor mispredicts half the time.
        e = math.exp(-abs(minus_m))
        positive = minus_m > 0
        return max(minus_m, 0.0) + math.log1p(e), y * (1.0 if positive else e) / (
            1.0 + e
        )
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
        adam_update(P, G, rate, b1, b2, eps / math.sqrt(1.0 - b2), m_, v_)
        return
    sgd_update(P, G, lr, hyper[2], nesterov, velocity)


@inlined
def adam_update(P, G, rate, b1, b2, shifted, m_, v_):
    """Adam's update at ``rate`` (its bias correction and constant factor
    folded in) with ``shifted`` its epsilon divided by ``sqrt(1 - b2)``."""
    for i in range(P.size):
        m_[i] = b1 * m_[i] + G[i]
        v_[i] = b2 * v_[i] + G[i] * G[i]
        P[i] -= rate * m_[i] / (math.sqrt(v_[i]) + shifted)


@inlined
def sgd_update(P, G, lr, mu, nesterov, velocity):
    """SGD's update, with (Nesterov) momentum ``mu`` when it is not 0."""
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
def penalty(P, G, n_weights, alpha):
    """Add ``alpha * W`` to the gradient; return ``(alpha / 2) ||W||**2``."""
    if alpha == 0.0:
        return 0.0
    total = 0.0
    for i in range(n_weights):
        G[i] += alpha * P[i]
        total += P[i] * P[i]
    return 0.5 * alpha * total


@inlined
def judge(value, sums, hyper, index):
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
def intercept_grad(G, n_weights, g, n_outputs, intercept):
    if intercept:
        for k in range(n_outputs):
            G[n_weights + k] += g[k]


@inlined
def update(P, G, lr, codes, hyper, velocity, m_, v_, counts, mean):
    """The optimizer's step, then the average when ``mean`` is not empty."""
    step(codes[1], P, G, lr, hyper, velocity, m_, v_, counts, codes[2] != 0)
    if mean.size:
        average(P, mean, counts, hyper[6])


@inlined
def squares(P, n):
    total = 0.0
    for i in range(n):
        total += P[i] * P[i]
    return total


@inlined
def fold_scale(P, n_weights, s):
    """``V <- s * V``; return the new ``||V||**2``."""
    for i in range(n_weights):
        P[i] *= s
    return squares(P, n_weights)


@inlined
def batch_step(P, G, value, i, m, n_weights, rate, codes, hyper, state):
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


@kernel
def column_sums(X, block, partial, total):
    """Add the sums of the columns of ``X`` to ``total``, ``block`` rows at a time.

    Each block's sums are numpy's ``X[rows].sum(axis=0)`` on a C-ordered
    float64 copy of the rows of two columns or more (the first row, then
    each next row added, column by column), added to ``total`` (float64) as
    :func:`skgd._tasks._column_means` adds them: the same sums, without a
    copy and a numpy call a block. ``partial`` is scratch of one float64 a
    column.
    """
    n, d = X.shape
    for start in range(0, n, block):
        for j in range(d):
            partial[j] = X[start, j]
        for i in range(start + 1, min(start + block, n)):
            for j in range(d):
                partial[j] += X[i, j]
        for j in range(d):
            total[j] += partial[j]


@kernel
def column_extremes(X, top, bottom):
    """The largest and the smallest value of each column of ``X`` (of one
    row at least) into ``top`` and ``bottom``: one pass over C-ordered rows,
    each row's comparisons across the columns at once. A NaN (which input
    validation refuses) is kept only where it is a column's first value."""
    n, d = X.shape
    for j in range(d):
        top[j] = bottom[j] = X[0, j]
    for i in range(1, n):
        for j in range(d):
            x = X[i, j]
            top[j] = x if x > top[j] else top[j]
            bottom[j] = x if x < bottom[j] else bottom[j]
