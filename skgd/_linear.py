"""Linear models ``f(x) = x @ W + b`` fitted by gradient descent.

:class:`GDRegressor` and :class:`GDClassifier` share their network (an
optional input dropout and one dense layer) and the step of
``learning_rate="auto"`` (:class:`_LinearModel`); they differ in their task
and in the shapes of ``coef_`` and ``intercept_``.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from ._base import BaseGD, RegressorGD
from ._classifier import ClassifierGD
from ._compat import StrOptions
from ._docs import shared_docs
from ._exceptions import DivergenceError
from ._layers import Center, Dense, Dropout
from ._losses import CLASSIFICATION_LOSSES


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


@shared_docs
class GDRegressor(_LinearModel, RegressorGD):
    r"""Linear regression trained by mini-batch gradient descent.

    The model is :math:`f(x) = x^\top w + b`. Training minimizes, on each
    mini-batch :math:`B` of :math:`m` samples of the training set,

    .. math::

        J(w, b) = \frac{1}{m} \sum_{i \in B} \frac{s_i}{\bar s}
                  \, \ell(y_i - f(x_i)) + \frac{\alpha}{2} \lVert w \rVert^2

    with sample weights :math:`s_i` (all 1 by default), :math:`\bar s` their
    mean over the training samples (held-out ones excluded) and, for
    ``loss="squared_error"``, :math:`\ell(r) = \tfrac12 \lVert r \rVert^2`
    (summed over the outputs, so each output column is its own problem). The
    expected mini-batch objective, and gradient, is at every batch size that
    of the whole training set,
    :math:`J = \frac{1}{2n} \sum_i s_i \lVert y_i - f(x_i) \rVert^2 / \bar s
    + \frac{\alpha}{2} \lVert w \rVert^2`, so a weight of 2 counts as a
    repeated sample (in expectation; a weight of 0 as a removed one, exactly).
    The intercept is not penalized. ``alpha`` means the same at every batch
    size, and full-batch gradient descent converges to
    ``Ridge(alpha=alpha * sum(sample_weight))``, i.e. ``Ridge(alpha=n_samples *
    alpha)`` without weights. (scikit-learn's ``MLPRegressor`` divides its
    ``alpha`` by the batch size instead; ``SGDRegressor`` averages the penalty
    per sample, like here.)

    Parameters
    ----------
    learning_rate : float or "auto", default="auto"
        Step size :math:`\eta` of :math:`w \leftarrow w - \eta\,\partial J /
        \partial w` (scaled by the schedule). A float is used as given.
        ``"auto"`` takes, with ``optimizer="sgd"``, the step
        :math:`(1 - \beta) / L(b)` with :math:`\beta` the momentum and
        :math:`L(b)` the expected smoothness of a mini-batch of :math:`b`
        of the :math:`n` training samples (Gower et al., "SGD: General
        Analysis and Improved Rates", ICML 2019):
        :math:`L(b) = \frac{n (b - 1)}{b (n - 1)} L + \frac{n - b}{b (n - 1)}
        L_{max} + \alpha`. Here :math:`L` is the largest eigenvalue of the
        expected curvature :math:`\frac1n \sum_i \frac{s_i}{\bar s} z_i
        z_i^\top` (:math:`z_i = [x_i, 1]`, the 1 only with an intercept,
        plus the dropout's :math:`\frac{p}{1-p}` times its diagonal),
        found by power iteration (on at most 16,384 evenly spaced samples),
        and :math:`L_{max} = \max_i \frac{s_i}{\bar s} (\lVert x_i \rVert^2 /
        (1 - p)^2 + 1)` bounds every one-sample objective. ``batch_size=1``
        thus takes the :math:`1 / L_{max}` of scikit-learn's SAG solver and
        mini-batches lie between it and :math:`1 / L`; full-batch descent,
        free of gradient noise, takes :math:`1.5 / L`, inside the range
        :math:`(0, 2 / L)` where every step descends. With
        ``optimizer="adam"``, whose updates move each parameter by about the
        step whatever the gradient's scale, it takes :math:`0.3\,S
        \sqrt{b / n}`: :math:`S` is the scale of the parameters, the largest
        of their one-at-a-time optima from zero (:math:`|\bar{g}_j| /
        \overline{z_j^2}` for the squared error, :math:`g` the loss's
        gradient at zero output, the curvature with the dropout's
        :math:`1 / (1 - p)` on the features), and :math:`\sqrt{b / n}` the
        square-root scaling of adaptive methods' steps with the batch size
        (Malladi et al., NeurIPS 2022). With ``scale_target`` (the default)
        both are computed on the problem training sees: centered dense
        features and the standardized target. The step used is stored in
        ``learning_rate_``.
    batch_size : int or None, default=32
        Samples per mini-batch; ``None`` means full-batch gradient descent. A
        value above the number of training samples is clipped to it.
    epochs : int, default=1000
        Passes over the training set, at most: at the defaults training stops
        once the objective settles (see ``tol``), which most problems reach
        far sooner. 1000 as in scikit-learn's ``SGDRegressor`` and
        ``SGDClassifier`` (``max_iter``), so that a slowly converging
        problem (unscaled features, extreme class weights) is still fitted:
        scikit-learn's estimator checks pass with the estimator as built.
    alpha : float, default=0.0
        Strength of the L2 penalty :math:`\frac{\alpha}{2}\lVert w\rVert^2`.
    dropout : float in [0, 1), default=0.0
        Inverted dropout on the input features during training: each feature
        of each sample is zeroed with this probability and the kept ones are
        scaled by :math:`1 / (1 - p)` (:math:`p` is rounded to a multiple of
        1/65536, as masks use 16 random bits per entry). Prediction uses all
        features and is deterministic. For a linear model with the squared
        error this acts,
        in expectation, as an extra penalty
        :math:`\frac{p}{2(1-p)} \sum_j w_j^2\,\overline{x_j^2}`.
    {{loss huber_delta}}
    optimizer : {"sgd", "adam"}, default="sgd"
        Update rule. ``"sgd"`` is plain (or momentum) gradient descent;
        ``"adam"`` is Adam.
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t average}}
    fit_intercept : bool, default=True
        Whether to learn the intercept :math:`b`; if False, :math:`b = 0`.
    {{shuffle}}
    random_state : int, RandomState instance or None, default=None
        Seeds the random generator of the validation split and the
        shuffles, which depend on it alone, never on ``dropout``: the
        dropout masks come from a stream of their own derived from the seed,
        so changing the dropout rate changes no shuffle or split (common
        random numbers when comparing fits). Pass an int for reproducible
        results.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the
        fitted coefficients (including ones assigned by hand after the fit)
        instead of starting from zero; the optimizer state and the schedule
        start afresh, and the history grows.
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{scale_target record_trajectory epoch_size}}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        Weights :math:`w`, shaped as in :class:`~sklearn.linear_model.Ridge`.
    intercept_ : float or ndarray of shape (n_outputs,)
        Intercept :math:`b`; 0.0 (or zeros) when ``fit_intercept=False``.
    {{learning_rate_ n_features_in_ feature_names_in_ n_iter_ t_ loss_curve_}}
    {{best_loss_ validation_scores_ best_validation_score_ history_}}
    trajectory_ : ndarray of shape (``n_iter_`` + 1, n_params) or None
        With ``record_trajectory=True``, the parameters before training (row
        0) and after each epoch, each row the weight matrix of shape
        (n_features, n_outputs) flattened row by row, then the intercepts:
        ``[w_1, ..., w_d, b]`` for one output. A warm start or
        ``partial_fit`` appends its epochs. None otherwise.

    See Also
    --------
    sklearn.linear_model.SGDRegressor : Linear model fitted one sample at a time.
    sklearn.linear_model.Ridge : The closed-form solution of the same objective.

    Notes
    -----
    Coefficients start at zero, and the intercept at the weighted mean of ``y``
    (see ``scale_target``). Training raises :class:`~skgd.DivergenceError`
    as soon as the objective stops being finite or grows a million times above
    its start, and the estimator then keeps its previous state. ``fit`` warns
    with :class:`~sklearn.exceptions.ConvergenceWarning` when ``tol`` is set
    and all ``epochs`` ran without the monitored loss settling.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import GDRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 3.0
    >>> model = GDRegressor(batch_size=16, epochs=50, tol=None, random_state=0)
    >>> model.fit(X, y).coef_.round(3)
    array([ 1. , -2. ,  0.5])
    >>> round(float(model.intercept_), 3)
    3.0
    """

    def __init__(
        self,
        learning_rate="auto",
        batch_size=32,
        epochs=1000,
        alpha=0.0,
        dropout=0.0,
        *,
        loss="squared_error",
        huber_delta=1.0,
        optimizer="sgd",
        momentum=0.0,
        nesterov=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
        power_t=0.5,
        average="auto",
        fit_intercept=True,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        record_trajectory=False,
        epoch_size=None,
        scale_target=True,
    ):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.dropout = dropout
        self.loss = loss
        self.huber_delta = huber_delta
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        self.average = average
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.record_trajectory = record_trajectory
        self.epoch_size = epoch_size
        self.scale_target = scale_target

    _parameter_constraints = {
        **RegressorGD._parameter_constraints,
        "dropout": [BaseGD._rate_constraint],
        "average": ["boolean", StrOptions({"auto"})],
        "fit_intercept": ["boolean"],
    }

    def _weight_attributes(self, weights, y_ndim):
        coef, intercept = self._dense_attributes(weights)
        if y_ndim == 1:
            return {
                "coef_": coef[0],
                "intercept_": intercept[0] if self.fit_intercept else 0.0,
            }
        return {"coef_": coef, "intercept_": intercept}

    def _predicts_1d(self):
        return np.ndim(self.coef_) == 1


@shared_docs
class GDClassifier(_LinearModel, ClassifierGD):
    r"""Linear classifier trained by mini-batch gradient descent.

    The model's decision values are :math:`z = x^\top W + b`: one column for
    two classes (positive for ``classes_[1]``), one per class for more.
    Training minimizes, on each mini-batch :math:`B` of :math:`m` samples,

    .. math::

        J(W, b) = \frac{1}{m} \sum_{i \in B} \frac{s_i}{\bar s}
                  \,\ell(y_i, z_i) + \frac{\alpha}{2} \lVert W \rVert^2

    with :math:`s_i` the sample weight times the class weight of
    :math:`y_i` (both 1 by default) and :math:`\bar s` the mean of
    :math:`s_i` over the training samples: the expected mini-batch gradient
    is the gradient of the weighted objective over all of them, at every
    batch size. The intercepts are not penalized. The losses:

    ``"log_loss"``
        Logistic regression: :math:`\ell = \log(1 + e^{-\sigma z})` with
        :math:`\sigma = \pm 1` the sign of the class, for two classes; the
        multinomial (softmax) cross-entropy :math:`\ell = \log \sum_k e^{z_k}
        - z_y` for more. Full-batch descent converges to
        ``LogisticRegression(C=1 / (alpha * sum(s)))``, i.e. ``C=1 /
        (n_samples * alpha)`` without weights.
    ``"hinge"``
        A linear support vector machine, :math:`\ell = \max(0, 1 - \sigma z)`
        per class (one-vs-rest for more than two classes).
    ``"modified_huber"``
        :math:`\max(0, 1 - \sigma z)^2` for :math:`\sigma z \ge -1` and
        :math:`-4 \sigma z` below, per class: smooth, robust to outliers, and
        with probability estimates, as in ``SGDClassifier``.

    Parameters
    ----------
    learning_rate : float or "auto", default="auto"
        Step size :math:`\eta` (scaled by the schedule). ``"auto"`` takes the
        step of :class:`GDRegressor`, :math:`(1 - \beta) / L(b)` from the
        expected smoothness of a mini-batch, with :math:`L` and
        :math:`L_{max}` multiplied by the loss's largest curvature in the
        decision values: 1/4 for the binary log-loss, 1/2 for the softmax, 2
        for ``"modified_huber"`` and 1 for ``"hinge"`` (not smooth: the bound
        of a loss of slope 1); full-batch descent takes :math:`1.5 / L`. With
        ``optimizer="adam"`` it takes :math:`0.3\,S \sqrt{b / n}` as
        :class:`GDRegressor` does, the scale :math:`S` of the parameters from
        the loss's gradient at zero decision values over the same
        curvature. The step used is stored in ``learning_rate_``.
    batch_size : int or None, default=32
        Samples per mini-batch; ``None`` means full-batch gradient descent. A
        value above the number of training samples is clipped to it.
    epochs : int, default=1000
        Passes over the training set, at most: at the defaults training stops
        once the objective settles (see ``tol``), which most problems reach
        far sooner. 1000 as in scikit-learn's ``SGDRegressor`` and
        ``SGDClassifier`` (``max_iter``), so that a slowly converging
        problem (unscaled features, extreme class weights) is still fitted:
        scikit-learn's estimator checks pass with the estimator as built.
    alpha : float, default=0.0
        Strength of the L2 penalty :math:`\frac{\alpha}{2}\lVert W\rVert^2`.
    dropout : float in [0, 1), default=0.0
        Inverted dropout on the input features during training: each feature
        of each sample is zeroed with this probability and the kept ones are
        scaled by :math:`1 / (1 - p)` (:math:`p` is rounded to a multiple of
        1/65536). Prediction uses all features and is deterministic.
    loss : {"log_loss", "hinge", "modified_huber"}, default="log_loss"
        The per-sample loss :math:`\ell` (see above).
    {{class_weight}}
    optimizer : {"sgd", "adam"}, default="sgd"
        Update rule. ``"sgd"`` is plain (or momentum) gradient descent;
        ``"adam"`` is Adam.
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t average}}
    fit_intercept : bool, default=True
        Whether to learn the intercepts :math:`b`; if False, :math:`b = 0`.
    {{shuffle}}
    random_state : int, RandomState instance or None, default=None
        Seeds the random generator of the validation split and the
        shuffles, which depend on it alone, never on ``dropout``: the
        dropout masks come from a stream of their own derived from the seed,
        so changing the dropout rate changes no shuffle or split (common
        random numbers when comparing fits). Pass an int for reproducible
        results.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the
        fitted coefficients (including ones assigned by hand after the fit)
        instead of starting from zero, keeping ``classes_``; the optimizer
        state and the schedule start afresh, and the history grows.
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{record_trajectory epoch_size}}

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights :math:`W^\top`, shaped as in
        :class:`~sklearn.linear_model.LogisticRegression`: one row for two
        classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts :math:`b`; zeros when ``fit_intercept=False``.
    {{classes_}}
    {{learning_rate_ n_features_in_ feature_names_in_ n_iter_ t_ loss_curve_}}
    {{best_loss_ validation_scores_ best_validation_score_ history_}}
    trajectory_ : ndarray of shape (``n_iter_`` + 1, n_params) or None
        With ``record_trajectory=True``, the parameters before training (row
        0) and after each epoch, each row the weight matrix :math:`W` of
        shape (n_features, n_outputs) flattened row by row, then the
        intercepts: ``[w_1, ..., w_d, b]`` for two classes. None otherwise.

    See Also
    --------
    sklearn.linear_model.SGDClassifier : Linear model fitted one sample at a time.
    sklearn.linear_model.LogisticRegression : The exact optimum of the log-loss.
    MLPClassifier : The network on the same engine.

    Notes
    -----
    Coefficients start at zero. Training raises :class:`~skgd.DivergenceError`
    as soon as the objective stops being finite or grows a million times above
    its start, and the estimator then keeps its previous state. Early stopping
    monitors the validation loss, not the accuracy: the loss changes with
    every step that makes the model more or less confident, while the
    accuracy moves in steps of one sample and stalls long before the model
    stops improving. The held-out split is stratified: every class is on both
    sides, or training refuses with an error saying why.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgd import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = GDClassifier(epochs=100, tol=None, random_state=0).fit(X, y)
    >>> model.coef_.shape
    (3, 4)
    >>> model.score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        learning_rate="auto",
        batch_size=32,
        epochs=1000,
        alpha=0.0,
        dropout=0.0,
        *,
        loss="log_loss",
        class_weight=None,
        optimizer="sgd",
        momentum=0.0,
        nesterov=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
        power_t=0.5,
        average="auto",
        fit_intercept=True,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        record_trajectory=False,
        epoch_size=None,
    ):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.dropout = dropout
        self.loss = loss
        self.class_weight = class_weight
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        self.average = average
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.record_trajectory = record_trajectory
        self.epoch_size = epoch_size

    _parameter_constraints = {
        **ClassifierGD._parameter_constraints,
        "dropout": [BaseGD._rate_constraint],
        "average": ["boolean", StrOptions({"auto"})],
        "fit_intercept": ["boolean"],
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
    }

    def decision_function(self, X):
        """Decision values :math:`x^\\top W + b` (dropout is off).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive values predict ``classes_[1]``.
        """
        output = self._output(X)
        return output.ravel() if output.shape[1] == 1 else output

    def _weight_attributes(self, weights, y_ndim):
        coef, intercept = self._dense_attributes(weights)
        return {"coef_": coef, "intercept_": intercept}
