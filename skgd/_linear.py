"""Linear models ``f(x) = x @ W + b`` fitted by gradient descent.

:class:`GDRegressor` and :class:`GDClassifier` share their network (an
optional input dropout and one dense layer) and the step of
``learning_rate="auto"`` (:class:`~skgd._linear_model._LinearModel`); they
differ in their task and in the shapes of ``coef_`` and ``intercept_``.
:class:`GDClassifier` is written in :mod:`skgd._linear_classifier` and
lives here: this module's name is the one pickles and skops files record
for both.
"""

import numpy as np

from ._base import BaseGD
from ._compat import StrOptions
from ._docs import shared_docs
from ._linear_classifier import GDClassifier
from ._linear_model import _LinearModel
from ._regressor import RegressorGD

__all__ = ["GDClassifier", "GDRegressor"]


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
