"""Fully connected networks trained by mini-batch gradient descent.

:class:`MLPRegressor` and :class:`MLPClassifier` share their network, built
by :class:`~skgd._mlp_model._MLPModel` from the hidden layer sizes, the
activation and the dropout rates; they differ in their task and output layer.
"""

from ._classifier import ClassifierGD
from ._docs import shared_docs
from ._mlp_model import _MLP_CONSTRAINTS, _MLPModel
from ._regressor import RegressorGD


@shared_docs
class MLPRegressor(_MLPModel, RegressorGD):
    r"""Multilayer perceptron regressor trained by mini-batch gradient descent.

    The network maps ``x`` through the hidden layers
    :math:`h_k = \sigma(h_{k-1} W_k + b_k)` (with :math:`h_0 = x` and the
    activation :math:`\sigma`) to the identity output
    :math:`f(x) = h_K W_{K+1} + b_{K+1}`. Training minimizes, on each
    mini-batch :math:`B` of :math:`m` samples,

    .. math::

        J = \frac{1}{m} \sum_{i \in B} \frac{s_i}{\bar s} \, \ell(y_i - f(x_i))
            + \frac{\alpha}{2} \sum_k \lVert W_k \rVert^2

    exactly as :class:`~skgd.GDRegressor` does, with the L2 penalty on every
    weight matrix and none on the intercepts. (scikit-learn's
    ``MLPRegressor`` divides its ``alpha`` by the batch size; here ``alpha``
    means the same at every batch size.) During training, inverted dropout
    zeroes hidden activations (and optionally inputs) at random; prediction
    is deterministic.

    Parameters
    ----------
    {{hidden_layer_sizes}}
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers. The output layer is the identity.
    {{learning_rate batch_size epochs}}
    alpha : float, default=0.0
        Strength of the L2 penalty :math:`\frac{\alpha}{2}\sum_k\lVert W_k
        \rVert^2`.
    {{dropout input_dropout weight_init}}
    {{loss huber_delta}}
    optimizer : {"sgd", "adam"}, default="adam"
        Update rule.
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t}}
    {{shuffle}}
    {{random_state warm_start}}
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{scale_target record_trajectory epoch_size}}

    Attributes
    ----------
    {{coefs_ intercepts_ n_layers_ n_outputs_}}
    out_activation_ : str
        Always ``"identity"``.
    {{learning_rate_ n_features_in_ feature_names_in_ n_iter_ t_ loss_curve_}}
    {{best_loss_ validation_scores_ best_validation_score_ history_}}
    {{trajectory_}}

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
        scale_target=True,
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
        self.scale_target = scale_target

    _parameter_constraints = {**RegressorGD._parameter_constraints, **_MLP_CONSTRAINTS}

    def _weight_attributes(self, weights, y_ndim):
        return {**self._mlp_attributes(weights, "identity"), "_y_ndim": y_ndim}

    def _n_outputs(self):
        return self.n_outputs_

    def _predicts_1d(self):
        return self._y_ndim == 1


@shared_docs
class MLPClassifier(_MLPModel, ClassifierGD):
    r"""Multilayer perceptron classifier trained by mini-batch gradient descent.

    The hidden layers are those of :class:`MLPRegressor`; the output layer
    gives the logits :math:`z = h_K W_{K+1} + b_{K+1}`: one column for two
    classes (a logistic output, positive for ``classes_[1]``), one per class
    for more (a softmax output), and one per label for multilabel targets (a
    0/1 indicator matrix ``y``: independent logistic outputs), as in
    scikit-learn's ``MLPClassifier``. Training minimizes, on each mini-batch
    :math:`B` of :math:`m` samples, the cross-entropy

    .. math::

        J = \frac{1}{m} \sum_{i \in B} \frac{s_i}{\bar s} \, \ell(y_i, z_i)
            + \frac{\alpha}{2} \sum_k \lVert W_k \rVert^2

    with :math:`\ell = \log(1 + e^{-\sigma z})` (:math:`\sigma = \pm 1`
    the sign of the class) for a logistic output, summed over the labels,
    and :math:`\ell = \log \sum_k e^{z_k} - z_y` for the softmax;
    :math:`s_i` is the sample weight times the class weight of :math:`y_i`
    and :math:`\bar s` their mean over the training samples, exactly as in
    :class:`GDClassifier`. The L2 penalty is on every weight matrix and
    none of the intercepts; ``alpha`` means the same at every batch size
    (scikit-learn's ``MLPClassifier`` divides its ``alpha`` by the number of
    samples of the batch). During training, inverted dropout zeroes hidden
    activations (and optionally inputs) at random; prediction is
    deterministic.

    Parameters
    ----------
    {{hidden_layer_sizes}}
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.
    {{learning_rate batch_size epochs}}
    alpha : float, default=0.0
        Strength of the L2 penalty :math:`\frac{\alpha}{2}\sum_k\lVert W_k
        \rVert^2`.
    {{dropout input_dropout weight_init class_weight}}
    optimizer : {"sgd", "adam"}, default="adam"
        Update rule.
    {{momentum nesterov beta_1 beta_2 epsilon lr_schedule power_t}}
    {{shuffle}}
    {{random_state warm_start}}
    {{verbose early_stopping validation_fraction n_iter_no_change tol}}
    {{record_trajectory epoch_size}}

    Attributes
    ----------
    {{classes_ coefs_ intercepts_ n_layers_ n_outputs_}}
    out_activation_ : {"logistic", "softmax"}
        The output activation: ``"softmax"`` for more than two classes,
        ``"logistic"`` otherwise.
    {{learning_rate_ n_features_in_ feature_names_in_ n_iter_ t_ loss_curve_}}
    {{best_loss_ validation_scores_ best_validation_score_ history_}}
    {{trajectory_}}

    See Also
    --------
    GDClassifier : The linear model on the same engine.
    sklearn.neural_network.MLPClassifier : scikit-learn's network, without
        dropout or class weights.

    Notes
    -----
    Early stopping monitors the validation loss, not the accuracy (see
    :class:`GDClassifier`), and restores the parameters of its best epoch.
    The held-out split is stratified (at random for multilabel targets).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgd import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = MLPClassifier((64,), dropout=0.2, epochs=30, tol=None,
    ...                     random_state=0).fit(X / 16, y)
    >>> net.out_activation_, net.coefs_[-1].shape
    ('softmax', (64, 10))
    >>> net.score(X / 16, y) > 0.95
    True
    """

    loss = "log_loss"  # not a parameter: the cross-entropy, as in scikit-learn
    _takes_multilabel = True

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
        class_weight=None,
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
        self.class_weight = class_weight
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

    _parameter_constraints = {**ClassifierGD._parameter_constraints, **_MLP_CONSTRAINTS}

    def _weight_attributes(self, weights, y_ndim):
        n_outputs = weights[-1][0].shape[1]
        softmax = n_outputs > 1 and y_ndim == 1
        return self._mlp_attributes(weights, "softmax" if softmax else "logistic")
