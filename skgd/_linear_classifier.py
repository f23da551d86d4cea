"""The linear classifier, :class:`~skgd.GDClassifier`.

It is defined here and lives in :mod:`skgd._linear`, beside
:class:`~skgd.GDRegressor`, with which it shares its network and its
automatic step (:class:`~skgd._linear_model._LinearModel`).
"""

from ._base import BaseGD
from ._classifier import ClassifierGD
from ._compat import StrOptions
from ._docs import shared_docs
from ._linear_model import _LinearModel
from ._losses import CLASSIFICATION_LOSSES


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

    # Its home is skgd._linear, which pickles and skops files name (with
    # GDRegressor's); this module only holds its text (see skgd._linear).
    __module__ = "skgd._linear"

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
