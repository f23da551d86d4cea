"""The scikit-learn side of every skgd estimator: parameters, state, prediction.

:class:`BaseGD` holds the parameters and their constraints, the checked
state a pickle or skops file loads (:mod:`skgd._state`), the tags, ``fit``
and what prediction needs: the fitted weights, checked
(:func:`check_weights`), and the fitted architecture. How a training call is
prepared for the engine and its result committed is
:class:`skgd._fitting.TrainingMixin`'s. A concrete estimator says how to
build its network (``_build_layers``), how to read and store its fitted
weights (``_get_weights`` / ``_weight_attributes``) and what
``learning_rate="auto"`` means for it (``_auto_learning_rate``).
:class:`skgd._regressor.RegressorGD` and
:class:`skgd._classifier.ClassifierGD` say what the targets are: their task
(:mod:`skgd._tasks`), checked and encoded by ``_training_task``.
"""

import functools
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._activations import Activation
from ._compat import CallbackSupportMixin, Interval, Options, StrOptions, fit_context
from ._fitting import TrainingMixin
from ._layers import Dense
from ._network import Network
from ._optimizers import OPTIMIZERS
from ._schedules import SCHEDULES
from ._state import check_optimizer_state, check_state
from ._version import __version__

# The layout of a fitted estimator's attributes. A pickle written with another
# layout is refused with a clear message instead of being loaded wrongly.
STATE_FORMAT = 5

# Dense rows are predicted this many at a time (the network's buffers of a block).
PREDICTION_BLOCK = 4096

# Every attribute a saved skgd estimator may hold: see skgd._state.


class BaseGD(TrainingMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of the estimators trained by mini-batch gradient descent."""

    _rate_constraint = Interval(Real, 0, 1, closed="left")

    _parameter_constraints = {
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "record_trajectory": ["boolean"],
        "epoch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads them from the signature of __init__ each time,
        # which costs more than a short fit's step; it cannot change.
        return list(_param_names(cls))

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be the instance's own __dict__
        for name, value in state.items():  # plain types only, e.g. for skops
            if isinstance(value, range):
                state[name] = tuple(value)
        state["_skgd_state_format"] = STATE_FORMAT
        state["_skgd_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        found = state.pop("_skgd_state_format", STATE_FORMAT)
        version = state.pop("_skgd_version", "unknown")
        if found != STATE_FORMAT:
            raise ValueError(
                f"This {type(self).__name__} was saved by skgd {version} in state "
                f"format {found}, but skgd {__version__} reads format "
                f"{STATE_FORMAT}; load it with skgd {version}, or fit it again."
            )
        self._check_state(state)
        super().__setstate__(state)
        if "history_" in state:  # fitted: weights a fit could have produced
            check_optimizer_state(self, self._fitted_weights())

    def _check_state(self, state):
        """Refuse a state that no skgd estimator of this class could hold.

        A file (a crafted ``.skops`` file, say) could otherwise set attributes
        that shadow methods, such as ``predict = numpy.negative``, or that
        break later with an unclear error; see :mod:`skgd._state`.
        """
        check_state(self, state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    @fit_context
    def fit(self, X, y, sample_weight=None):
        """Train by mini-batch gradient descent for up to ``epochs`` epochs.

        With ``warm_start=True`` and a fitted estimator, training starts from
        the current weights (with a fresh optimizer and schedule; a
        classifier keeps its ``classes_``) and the history grows; otherwise
        it starts from scratch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32, sparse CSR/CSC stays sparse.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values; for a classifier, class labels (or, for
            :class:`~skgd.MLPClassifier`, a 0/1 indicator matrix of
            multilabel targets).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (times the class weights, for a classifier);
            a sample weighs its weight divided by the mean weight of the
            training samples (see the class docstring).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "history_")
        return self._train(X, y, sample_weight, "warm" if warm else "fresh")

    def _output(self, X):
        """The trained network's raw output for ``X`` (dropout is off)."""
        X, weights = self._prediction_input(X)
        net = self._prediction_network(weights, X.dtype)
        # Sparse rows are densified one training-sized batch at a time.
        sparse = sp.issparse(X) and self.batch_size
        block = self.batch_size if sparse else PREDICTION_BLOCK
        with np.errstate(over="ignore", invalid="ignore"):
            output = net.predict(X, block=block)
        if not np.isfinite(output).all():
            raise ValueError(
                f"The predictions overflow {X.dtype} for some samples (X holds "
                f"values up to {abs(X).max():.3g}); scale X as the training data "
                "was scaled."
            )
        return output

    def _prediction_input(self, X):
        """``(X, weights)``: ``X`` checked as ``predict`` checks it, in the
        type the fitted weights (checked) and ``X`` make together."""
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=False,
        )
        weights = self._fitted_weights()
        dtype = np.result_type(X.dtype, weights[0][0].dtype)
        return X.astype(dtype, copy=False), weights

    def _fitted_weights(self):
        """The fitted ``[(W, b), ...]``, checked (see :func:`check_weights`).

        Weights may be assigned by hand, so they are checked wherever they are
        read: in ``predict``, a warm start and ``partial_fit``.
        """
        try:
            weights = [(np.asarray(W), np.asarray(b)) for W, b in self._get_weights()]
        except (TypeError, ValueError) as error:  # ragged, or cannot broadcast
            raise ValueError(
                f"The fitted weights of this {type(self).__name__} cannot be read "
                f"({error}); assign weights of the fitted shapes, or fit again."
            ) from None
        check_weights(weights, self.n_features_in_, self._n_outputs(), self)
        return [(W, b.astype(W.dtype, copy=False)) for W, b in weights]

    def _prediction_network(self, weights, dtype):
        """The fitted architecture, from the weights, not the current parameters.

        Dense layers of the weights' shapes, with the activation the network
        was fitted with between them; dropout, off in prediction, is left out.
        """
        activation = getattr(self, "_activation", "identity")
        layers = []
        for k, (W, _) in enumerate(weights):
            if k and activation != "identity":
                layers.append(Activation(activation))
            layers.append(Dense(*W.shape))
        net = Network(layers, weights[0][0].shape[0], dtype)
        net.set_weights(weights)
        return net

    # -- hooks of the concrete estimators -------------------------------------

    def _n_outputs(self):
        """The number of outputs the fitted model must have, or None if any."""
        return None

    def _build_layers(self, n_features, n_outputs):
        """The layers of the network, before weights are set."""
        raise NotImplementedError

    def _get_weights(self):
        """Fitted ``[(W, b), ...]`` of the dense layers, ``W`` (n_in, n_out)."""
        raise NotImplementedError

    def _weight_attributes(self, weights, y_ndim):
        """The public fitted attributes holding ``[(W, b), ...]``, as a dict."""
        raise NotImplementedError

    def _auto_learning_rate(self, X, Y, sample_weight, rows, loss):
        """The step used for ``learning_rate="auto"``."""
        raise NotImplementedError

    def _task(self):
        """What the fitted estimator's targets are (see :mod:`skgd._tasks`)."""
        raise NotImplementedError

    def _training_task(self, y, sample_weight, resumes, classes):
        """``(task, y, sample_weight)`` for training on ``y``, checked."""
        raise NotImplementedError

    def _scaled_task(self, task, X, Y, sample_weight, start, resumes):
        """The task training uses: the regressors standardize their targets."""
        return task


FLOATS = (np.float32, np.float64)


def check_weights(weights, n_features, n_outputs, estimator):
    """Refuse weights that no fit of ``estimator`` could have produced.

    They must be float32 or float64, the matrices all of one type, and
    finite; each ``W``
    two-dimensional with ``b`` of its width; the first taking
    ``n_features`` inputs, each the width of the one before, and the last
    giving ``n_outputs`` outputs (unless None).
    """
    name = type(estimator).__name__
    problem = None
    widths = [n_features] + [W.shape[1] if W.ndim == 2 else None for W, _ in weights]
    for k, (W, b) in enumerate(weights):
        if W.dtype not in FLOATS or b.dtype not in FLOATS:
            problem = f"layer {k} holds {W.dtype} and {b.dtype}, not float32 or float64"
        elif W.ndim != 2 or W.shape[0] != widths[k] or b.shape != (W.shape[1],):
            problem = (
                f"layer {k} has weights of shape {W.shape} and intercepts of shape "
                f"{b.shape}, where {widths[k]} inputs are expected"
            )
        elif W.dtype != weights[0][0].dtype:
            problem = f"layer {k} holds {W.dtype}, layer 0 {weights[0][0].dtype}"
        elif not (np.isfinite(W).all() and np.isfinite(b).all()):
            problem = f"layer {k} holds values that are not finite"
        if problem:
            break
    if problem is None and n_outputs is not None and widths[-1] != n_outputs:
        problem = f"they give {widths[-1]} outputs, where the model has {n_outputs}"
    if problem:
        raise ValueError(
            f"The fitted weights of this {name} are not those of a model it could "
            f"have fitted: {problem}. Assign weights of the fitted shapes and "
            "dtype, or fit again."
        )


@functools.cache
def _param_names(cls):
    return tuple(BaseEstimator._get_param_names.__func__(cls))
