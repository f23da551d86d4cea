"""MLPRegressor: a fully connected network trained by mini-batch gradient descent."""

from functools import partial
from numbers import Integral, Real

import numpy as np

from ._activations import ACTIVATIONS, Activation
from ._base import BaseGD
from ._compat import Interval, StrOptions
from ._docs import shared_docs
from ._layers import Dense, Dropout, glorot_uniform, he_uniform


@shared_docs
class MLPRegressor(BaseGD):
    r"""Multilayer perceptron regressor trained by mini-batch gradient descent.

    The network maps ``x`` through the hidden layers
    :math:`h_k = \sigma(h_{k-1} W_k + b_k)` (with :math:`h_0 = x` and the
    activation :math:`\sigma`) to the identity output
    :math:`f(x) = h_K W_{K+1} + b_{K+1}`. Training minimizes, on each
    mini-batch :math:`B`,

    .. math::

        J = \frac{\sum_{i \in B} s_i \, \ell(y_i - f(x_i))}{\sum_{i \in B} s_i}
            + \frac{\alpha}{2} \sum_k \lVert W_k \rVert^2

    exactly as :class:`~skgd.GDRegressor` does, with the L2 penalty on every
    weight matrix and none on the intercepts. (scikit-learn's
    ``MLPRegressor`` divides its ``alpha`` by the batch size; here ``alpha``
    means the same at every batch size.) During training, inverted dropout
    zeroes hidden activations (and optionally inputs) at random; prediction
    is deterministic.

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model (on which
        ``dropout`` has no layer to act).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers. The output layer is the identity.
    learning_rate : float or "auto", default=1e-3
        Step size of the optimizer (scaled by the schedule). ``"auto"`` means
        ``1e-3``, scikit-learn's ``learning_rate_init``; no curvature bound
        exists for a network. The step used is stored in ``learning_rate_``.
    batch_size : int or None, default=200
        Samples per mini-batch; ``None`` means full-batch gradient descent. A
        value above the number of training samples is clipped to it.
    {{epochs}}
    alpha : float, default=0.0
        Strength of the L2 penalty :math:`\frac{\alpha}{2}\sum_k\lVert W_k
        \rVert^2`.
    dropout : float in [0, 1) or array-like of float, default=0.0
        Inverted dropout rate of the hidden activations in training: one rate
        for every hidden layer, or one per hidden layer. Kept activations are
        scaled by :math:`1 / (1 - p)`; rates are rounded to a multiple of
        1/65536 (masks use 16 random bits per entry).
    input_dropout : float in [0, 1), default=0.0
        Inverted dropout rate of the input features in training.
    weight_init : {"glorot_uniform", "he_uniform"}, default="glorot_uniform"
        Initial weights. ``"glorot_uniform"`` follows scikit-learn's MLP
        (weights and intercepts uniform in :math:`\pm\sqrt{6 / (n_{in} +
        n_{out})}`, with 2 instead of 6 for ``"logistic"``);
        ``"he_uniform"`` draws weights in :math:`\pm\sqrt{6 / n_{in}}` and
        starts intercepts at zero.
    {{loss huber_delta}}
    optimizer : {"sgd", "adam"}, default="adam"
        Update rule.
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t}}
    {{shuffle}}
    random_state : int, RandomState instance or None, default=None
        Seeds the one random generator used for initialization, shuffling,
        the validation split and dropout.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from
        ``coefs_`` and ``intercepts_`` (including ones assigned by hand after
        the fit), with a fresh optimizer and schedule; the history grows. The
        architecture must stay the one the weights were fitted with.
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{record_trajectory epoch_size}}

    Attributes
    ----------
    coefs_ : list of ndarray
        Weight matrices; ``coefs_[k]`` has shape (n_in, n_out) of layer k.
    intercepts_ : list of ndarray
        Intercept vectors; ``intercepts_[k]`` has shape (n_out,).
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        Always ``"identity"``.
    {{learning_rate_ n_features_in_ feature_names_in_ n_iter_ t_ loss_curve_}}
    {{best_loss_ validation_scores_ best_validation_score_ history_}}
    trajectory_ : ndarray of shape (``n_iter_`` + 1, n_params) or None
        With ``record_trajectory=True``, the parameters before training (row
        0) and after each epoch, each row layer by layer the weight matrix
        (``coefs_[k]`` flattened row by row) followed by ``intercepts_[k]``.
        A warm start or ``partial_fit`` appends its epochs. None otherwise.

    See Also
    --------
    GDRegressor : The linear model on the same engine.
    sklearn.neural_network.MLPRegressor : scikit-learn's network, without
        dropout.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(500, 1))
    >>> y = np.sin(3 * X).ravel()
    >>> net = MLPRegressor((32, 32), learning_rate=0.01, batch_size=32,
    ...                    epochs=150, tol=None, random_state=0).fit(X, y)
    >>> net.score(X, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [BaseGD._rate_constraint, "array-like"],
        "input_dropout": [BaseGD._rate_constraint],
        "weight_init": [StrOptions({"glorot_uniform", "he_uniform"})],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        learning_rate=1e-3,
        batch_size=200,
        epochs=200,
        alpha=0.0,
        dropout=0.0,
        *,
        input_dropout=0.0,
        weight_init="glorot_uniform",
        loss="squared_error",
        huber_delta=1.0,
        optimizer="adam",
        momentum=0.0,
        nesterov=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
        power_t=0.5,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.weight_init = weight_init
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

    def _hidden_sizes(self):
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not all(
            isinstance(h, Integral) and h >= 1 for h in sizes.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}; e.g. hidden_layer_sizes=(64, 64)."
            )
        return sizes.tolist()

    def _dropout_rates(self, n_hidden):
        try:
            rates = np.asarray(self.dropout, dtype=float)
        except (TypeError, ValueError):
            rates = np.array([np.nan])
        if rates.ndim > 1 or np.isnan(rates).any():
            raise ValueError(
                "dropout must be a float or a sequence of floats, one per hidden "
                f"layer, got {self.dropout!r}; e.g. dropout=0.2."
            )
        if rates.ndim == 1 and len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(self.dropout)} rates but there are {n_hidden} "
                "hidden layers; give one rate per hidden layer, or a single float."
            )
        rates = np.broadcast_to(rates, (n_hidden,))
        if not np.all((rates >= 0) & (rates < 1)):
            raise ValueError(
                f"dropout rates must be in [0, 1), got {self.dropout!r}; 0 keeps "
                "every unit."
            )
        return rates.tolist()

    def _build_layers(self, n_features, n_outputs):
        sizes = self._hidden_sizes()
        if self.weight_init == "he_uniform":
            init = he_uniform
        else:
            factor = 2.0 if self.activation == "logistic" else 6.0
            init = partial(glorot_uniform, factor=factor)
        layers = [Dropout(self.input_dropout)] if self.input_dropout else []
        widths = [n_features, *sizes]
        for n_in, n_out, rate in zip(widths, sizes, self._dropout_rates(len(sizes))):
            layers.append(Dense(n_in, n_out, init=init))
            if self.activation != "identity":
                layers.append(Activation(self.activation))
            if rate:
                layers.append(Dropout(rate))
        layers.append(Dense(widths[-1], n_outputs, init=init))
        return layers

    def _get_weights(self):
        return list(zip(self.coefs_, self.intercepts_))

    def _weight_attributes(self, weights, y_ndim):
        return {
            "coefs_": [W for W, _ in weights],
            "intercepts_": [b for _, b in weights],
            "n_layers_": len(weights) + 1,
            "n_outputs_": weights[-1][0].shape[1],
            "out_activation_": "identity",
            "_y_ndim": y_ndim,
        }

    def _predicts_1d(self):
        return self._y_ndim == 1

    def _auto_learning_rate(self, X, sample_weight, rows):
        return 1e-3
