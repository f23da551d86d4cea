"""What the linear models share: their network, weights and automatic step.

:class:`_LinearModel` is the part of :class:`~skgd.GDRegressor` and
:class:`~skgd.GDClassifier` that does not depend on the task: the network
(an optional input dropout and one dense layer, the features centered or
not), reading and writing ``coef_`` and ``intercept_``, and the step of
``learning_rate="auto"``, from the curvature of the objective
(:func:`curvatures`) or, for Adam, the scale of the parameters
(:func:`parameter_scale`).
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from ._exceptions import DivergenceError
from ._layers import Center, Dense, Dropout


class _LinearModel:
    """The network, the weights and the automatic step of a linear model."""

    # A regressor with scale_target centers dense features (see TargetScale).
    _centers_features = True

    def _build_layers(self, n_features, n_outputs, bias=None, offset=None):
        """The layers; ``bias`` and ``offset`` as training's units ask (see
        :class:`~skgd._tasks.TargetScale`): features centered by ``offset``."""
        bias = self.fit_intercept if bias is None else bias
        layers = [] if offset is None else [Center(offset)]
        if self.dropout:
            layers.append(Dropout(self.dropout, 0))
        return [*layers, Dense(n_features, n_outputs, bias=bias)]

    def _get_weights(self):
        coef, b = np.asarray(self.coef_), np.asarray(self.intercept_)
        if coef.ndim not in (1, 2):
            return [(coef, b)]  # refused by the base's check
        W = coef[:, None] if coef.ndim == 1 else coef.T
        # A scalar beside a 1-D coef_, one intercept per row of a 2-D one: of
        # the fitted shape, never broadcast (a (1,) intercept_ for 3 classes
        # would be stretched to (3,)).
        expected = () if coef.ndim == 1 else (W.shape[1],)
        if b.shape == expected:
            return [(W, b.reshape(W.shape[1]))]
        if W.shape[0] != getattr(self, "n_features_in_", None):
            return [(W, b)]  # coef_ is wrong too: the base's check names it
        raise ValueError(
            f"intercept_ has shape {b.shape}, where coef_ of shape {coef.shape} "
            f"needs {expected or 'a scalar'}"
        )

    def _dense_attributes(self, weights):
        """``(coef_, intercept_)`` of shapes (n_outputs, n_features), (n_outputs,)."""
        W, b = weights[0]
        return W.T.copy(), np.zeros(W.shape[1], W.dtype) if b is None else b

    def _auto_learning_rate(self, X, Y, sample_weight, rows, loss, offset=None):
        """The step of ``learning_rate="auto"``: from curvature, or Adam's scale.

        For ``"sgd"``, ``1 / L(b)``, the inverse of the expected smoothness of
        a batch of ``b`` of the ``n`` training samples drawn without
        replacement (Gower et al., "SGD: General Analysis and Improved
        Rates", ICML 2019), with ``L`` the curvature of the whole training
        objective and ``L_max`` the largest curvature of a one-sample
        objective (see :func:`curvatures`):

            ``L(b) = n (b - 1) / (b (n - 1)) * L + (n - b) / (b (n - 1)) * L_max``

        which is ``L`` for full-batch descent and ``L_max`` for ``b = 1``;
        ``alpha`` adds to it. Full-batch descent, free of gradient noise,
        takes ``FULL_BATCH_FACTOR / L`` instead: every step below ``2 / L``
        descends, and the directions of least curvature, which take longest,
        converge in proportion to the step. With momentum ``beta`` the step
        is multiplied by ``1 - beta``: the velocity sums past gradients with
        weights adding up to ``1 / (1 - beta)``, so the effective step stays
        the same.

        For ``"adam"``, ``ADAM_FRACTION * S * sqrt(b / n)``, ``S`` the scale
        of the parameters (:func:`parameter_scale`).

        Both are those of the features training sees: ``X - offset`` when
        the model centers them (see :class:`~skgd._layers.Center`).
        """
        n = X.shape[0] if rows is None else len(rows)
        b = n if self.batch_size is None else min(self.batch_size, n)
        if self.optimizer == "adam":
            scale = parameter_scale(
                X, Y, sample_weight, rows, self.dropout, self.fit_intercept, loss,
                offset,
            )  # fmt: skip
            return ADAM_FRACTION * scale * math.sqrt(b / n) if scale > 0 else 1e-3
        L, L_max = curvatures(
            X, sample_weight, rows, self.dropout, self.fit_intercept, loss.curvature,
            offset,
        )  # fmt: skip
        if n > 1:
            L = (n * (b - 1) * L + (n - b) * L_max) / (b * (n - 1))
        L += self.alpha
        step = 1.0 / L if L > 0 else 1.0  # all-zero features: nothing to learn
        if b == n:  # no gradient noise: a longer step, still well inside 2 / L
            step *= FULL_BATCH_FACTOR
        return (1.0 - self.momentum) * step


# The curvature of the whole objective is estimated on at most this many rows.
CURVATURE_ROWS = 2**14

# Full-batch descent's automatic step, in units of 1 / L: inside the stable
# range (0, 2 / L), with a margin for the estimate of L (from below, and on a
# sample of the rows of large data).
FULL_BATCH_FACTOR = 1.5

# Adam's automatic step at full batch, as a fraction of the parameters' scale.
ADAM_FRACTION = 0.3


def _sampled(X, sample_weight, rows):
    """``(step, u)``: every ``step``-th row is used, with the weights ``u``.

    At most :data:`CURVATURE_ROWS` rows (``X[::step]`` is a view of dense
    data, no copy); ``u`` are their relative weights divided by the number of
    sampled training rows, held-out rows weighing 0, so ``u`` sums to about 1.
    """
    n = X.shape[0]
    step = -(-n // CURVATURE_ROWS)
    # Only the sampled rows' weights are made (n_samples / step of them).
    u = np.ones(len(range(0, n, step))) if sample_weight is None else sample_weight
    u = u if sample_weight is None else u[::step]
    if rows is None:
        return step, u / len(u)
    kept = _training_mask(n, rows)[::step]
    return step, np.where(kept, u, 0.0) / max(kept.sum(), 1)


def _sample_rows(X, step):
    """Every ``step``-th row of ``X``: a view of C-ordered or sparse data, a
    C-ordered copy of the sample otherwise (a data frame's columns), so that
    its products are the same whatever the layout of ``X``."""
    rows = X[::step]
    if sp.issparse(rows) or rows.strides[1] == rows.itemsize:
        return rows
    return np.ascontiguousarray(rows)


def _training_mask(n, rows):
    training = np.zeros(n, dtype=bool)
    training[rows] = True
    return training


def _squared_norms(X, offset, block=256):
    """``||x_i - offset||**2`` of every row (``||x_i||**2`` for no offset).

    Centered a block of rows at a time: no centered copy of ``X``, and the
    same sums whatever its memory layout.
    """
    if offset is None:
        return row_norms(X, squared=True)
    norms = np.empty(X.shape[0], np.result_type(X.dtype, offset.dtype))
    for start in range(0, X.shape[0], block):
        rows = X[start : start + block]
        rows = rows.toarray() if sp.issparse(rows) else np.ascontiguousarray(rows)
        norms[start : start + block] = row_norms(rows - offset, squared=True)
    return norms


def _mean_squares(X, u, offset=None):
    """``E[u (x_j - offset_j)**2]`` for each feature ``j``, in float64 (float32
    squares overflow); ``E[u x_j**2]`` for no offset."""
    if offset is not None:
        return _centered_products(X, u[:, None], offset, squared=True)[:, 0]
    if sp.issparse(X):
        X = X.astype(np.float64, copy=False)
        return np.ravel(X.multiply(X).T @ u)
    return np.ravel(np.square(X, dtype=np.float64).T @ u)


def _centered_products(X, G, offset, squared=False, block=256):
    """``(X - offset).T @ G`` (of the squares with ``squared``), in float64.

    A block of rows at a time: no centered copy of ``X``, and no cancellation
    of large uncentered sums.
    """
    out = np.zeros((X.shape[1], G.shape[1]))
    for start in range(0, X.shape[0], block):
        rows = X[start : start + block]
        rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows, np.float64)
        rows = rows - offset
        if squared:
            np.square(rows, out=rows)
        out += rows.T @ G[start : start + block]
    return out


def curvatures(X, sample_weight, rows, dropout, intercept, k, offset=None):
    """``(L, L_max)``: the curvature of the mean and of one-sample objectives.

    For the linear model's input ``z = [x, 1]`` (the ``1`` with an
    intercept), relative sample weights ``u`` and a loss of curvature at
    most ``k`` in the output, ``L = k * lambda_max(E[u z z^T] + D)`` with
    ``D`` the dropout's expected extra curvature, ``p / (1 - p) * E[u
    x_j**2]`` on the diagonal of the features, and ``L_max = k * max_i u_i
    (||x_i||**2 / (1 - p)**2 + 1)``, which bounds every dropout mask.
    ``lambda_max`` is found by power iteration, on the rows of
    :func:`_sampled`. With an ``offset``, of the rows ``x - offset``.
    """
    sq_norms = _squared_norms(X, offset)  # in place from here: n_samples long
    sq_norms /= (1.0 - dropout) ** 2
    sq_norms += intercept
    if sample_weight is not None:
        sq_norms *= sample_weight
    where = True if rows is None else _training_mask(X.shape[0], rows)
    L_max = k * float(np.max(sq_norms, where=where, initial=0.0))
    if not np.isfinite(L_max):
        raise DivergenceError(
            f"The squared norm of a sample overflows {X.dtype}: no learning "
            "rate can train on features this large. Standardize them "
            "(sklearn.preprocessing.StandardScaler)."
        )
    step, u = _sampled(X, sample_weight, rows)
    Xs = _sample_rows(X, step)
    extra = 0.0
    if dropout:
        extra = dropout / (1.0 - dropout) * _mean_squares(Xs, u, offset)
    return k * _top_eigenvalue(Xs, u, extra, intercept, offset), L_max


def parameter_scale(X, Y, sample_weight, rows, dropout, intercept, loss, offset=None):
    """The scale of the parameters: their largest one-at-a-time optimum.

    From zero weights, each parameter's own Newton step (the gradient ``g_j
    = E[u z_j dl/df(0)]`` of the mean loss over its curvature bound ``k
    E[u z_j**2]``; ``z = [x, 1]``, with dropout's ``1 / (1 - p)`` on the
    features' curvature) is the size that parameter takes when fitted
    alone. The largest of them, over the features, the intercept and the
    outputs, is the size of the steps Adam must be able to take: Adam moves
    every parameter by about its learning rate per update, whatever the
    gradient's scale, so its rate carries the units of the parameters.
    Computed on the rows of :func:`_sampled`.
    """
    step, u = _sampled(X, sample_weight, rows)
    Xs, Ys = _sample_rows(X, step), Y[::step]
    grad = np.empty(Ys.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # judged below
        loss.value_and_grad(np.zeros(Ys.shape), Ys, u[:, None], grad)
        curvature = loss.curvature * _mean_squares(Xs, u, offset) / (1.0 - dropout)
        used = curvature > 0
        if offset is None:
            products = np.asarray(Xs.T @ grad)
        else:  # of the centered features
            products = _centered_products(Xs, grad, offset)
        sizes = np.abs(products[used]) / curvature[used, None]
    if intercept:
        sizes = np.append(sizes, np.abs(grad.sum(0)) / loss.curvature)
    sizes = sizes[np.isfinite(sizes)]  # overflowing data: training judges it
    return float(np.max(sizes, initial=0.0))


def _top_eigenvalue(X, u, extra, intercept, offset=None, iterations=100, rtol=1e-4):
    """The largest eigenvalue of ``Z^T diag(u) Z + diag(extra, 0)``, ``Z = [X, 1]``
    (``X`` less ``offset``, without a centered copy).

    Power iteration from a vector of ones; the Rayleigh quotient it returns
    approaches the eigenvalue from below.
    """
    d = X.shape[1]
    m = np.zeros(d) if offset is None else offset.astype(np.float64)
    v = np.ones(d + intercept) / np.sqrt(d + intercept)
    value = 0.0
    for _ in range(iterations):
        r = u * (X @ v[:d] - m @ v[:d] + (v[d] if intercept else 0.0))
        Xr = X.T @ r - m * r.sum()
        w = np.concatenate([Xr + extra * v[:d], [r.sum()] if intercept else []])
        previous, value = value, float(v @ w)
        largest = np.max(np.abs(w))
        if largest == 0 or abs(value - previous) <= rtol * value:
            break
        w /= largest  # so that the norm cannot overflow
        v = w / np.linalg.norm(w)
    return value
