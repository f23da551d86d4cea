"""GDRegressor: a linear model ``f(x) = x @ w + b`` fitted by gradient descent."""

import numpy as np
from sklearn.utils.extmath import row_norms

from ._base import BaseGD
from ._docs import shared_docs
from ._exceptions import DivergenceError
from ._layers import Dense, Dropout


@shared_docs
class GDRegressor(BaseGD):
    r"""Linear regression trained by mini-batch gradient descent.

    The model is :math:`f(x) = x^\top w + b`. Training minimizes, on each
    mini-batch :math:`B` of the training set,

    .. math::

        J(w, b) = \frac{\sum_{i \in B} s_i \, \ell(y_i - f(x_i))}
                       {\sum_{i \in B} s_i}
                  + \frac{\alpha}{2} \lVert w \rVert^2

    with sample weights :math:`s_i` (all 1 by default) and, for
    ``loss="squared_error"``, :math:`\ell(r) = \tfrac12 \lVert r \rVert^2`
    (summed over the outputs, so each output column is its own problem). Over
    the whole training set this is
    :math:`J = \frac{1}{2n} \sum_i s_i \lVert y_i - f(x_i) \rVert^2 /
    \mathrm{mean}(s) + \frac{\alpha}{2} \lVert w \rVert^2`; the intercept is
    not penalized. ``alpha`` therefore means the same at every batch size, and
    full-batch gradient descent converges to
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
        :math:`1 / L` with :math:`L = \max_i \lVert x_i \rVert^2 / (1 - p)^2
        + 1 + \alpha` (the maximum over training samples of positive weight,
        the ``+ 1`` only with an intercept, :math:`p` the dropout rate). This
        bounds the curvature of every mini-batch objective, so the descent
        cannot diverge, as in scikit-learn's SAG solver; with
        ``optimizer="adam"`` it takes Adam's customary ``1e-3``. The step used
        is stored in ``learning_rate_``.
    batch_size : int or None, default=32
        Samples per mini-batch; ``None`` means full-batch gradient descent. A
        value above the number of training samples is clipped to it.
    {{epochs}}
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
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t}}
    fit_intercept : bool, default=True
        Whether to learn the intercept :math:`b`; if False, :math:`b = 0`.
    {{shuffle}}
    random_state : int, RandomState instance or None, default=None
        Seeds the one random generator used for shuffling, the validation
        split and dropout. Pass an int for reproducible results.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the
        fitted coefficients (including ones assigned by hand after the fit)
        instead of starting from zero; the optimizer state and the schedule
        start afresh, and the history grows.
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{record_trajectory epoch_size}}

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
    Coefficients start at zero. Training raises :class:`~skgd.DivergenceError`
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
        epochs=200,
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
        self.huber_delta = huber_delta
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lr_schedule = lr_schedule
        self.power_t = power_t
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
        **BaseGD._parameter_constraints,
        "dropout": [BaseGD._rate_constraint],
        "fit_intercept": ["boolean"],
    }

    def _build_layers(self, n_features, n_outputs):
        dense = Dense(n_features, n_outputs, bias=self.fit_intercept)
        return [Dropout(self.dropout), dense] if self.dropout else [dense]

    def _get_weights(self):
        W = np.reshape(self.coef_, (-1, self.n_features_in_)).T
        b = np.broadcast_to(self.intercept_, (W.shape[1],))
        return [(W, b)]

    def _weight_attributes(self, weights, y_ndim):
        W, b = weights[0]
        if b is None:
            b = np.zeros(W.shape[1], dtype=W.dtype)
        if y_ndim == 1:
            return {
                "coef_": W[:, 0].copy(),
                "intercept_": b[0] if self.fit_intercept else 0.0,
            }
        return {"coef_": W.T.copy(), "intercept_": b}

    def _predicts_1d(self):
        return np.ndim(self.coef_) == 1

    def _auto_learning_rate(self, X, sample_weight, rows):
        if self.optimizer == "adam":
            return 1e-3
        sq_norms = row_norms(X, squared=True)
        if sample_weight is not None:  # weightless samples add no curvature
            sq_norms[sample_weight == 0] = 0.0
        largest = float(np.max(sq_norms if rows is None else sq_norms[rows]))
        L = largest / (1.0 - self.dropout) ** 2 + self.fit_intercept + self.alpha
        if not np.isfinite(L):
            raise DivergenceError(
                f"The squared norm of a sample overflows {X.dtype}: no learning "
                "rate can train on features this large. Standardize them "
                "(sklearn.preprocessing.StandardScaler)."
            )
        return 1.0 / L if L > 0 else 1.0  # all-zero features: nothing to learn
