"""The scikit-learn side of every skgd estimator: parameters, data, commit.

``fit`` and ``partial_fit`` validate the parameters and the data, build the
network and the epoch source, hand them to the engine
(:func:`skgd.engine.session.fit_session`) and commit what it returns, all at once.
A concrete estimator says how to build its network (``_build_layers``), how
to read and store its fitted weights (``_get_weights`` /
``_weight_attributes``) and what ``learning_rate="auto"`` means for it
(``_auto_learning_rate``). :class:`RegressorGD` here and
:class:`skgd._classifier.ClassifierGD` say what the targets are: their
task (:mod:`skgd._tasks`), checked and encoded by ``_training_task``.
"""

import functools
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ._activations import Activation
from ._compat import (
    CallbackSupportMixin,
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    fit_context,
)
from ._data import MemoryEpochs
from ._exceptions import DivergenceError, FitInterruptedWarning
from ._history import curve
from ._layers import Dense
from ._losses import LOSSES, weighted_loss
from ._network import Network
from ._optimizers import OPTIMIZERS
from ._registry import build
from ._schedules import SCHEDULES
from ._state import check_optimizer_state, check_state
from ._stream import StreamEpochs
from ._tasks import Regression, TargetScale
from ._version import __version__
from .engine.callbacks import FitTask
from .engine.session import TrainingConfig, fit_session
from .engine.trainer import divergence_error

# The layout of a fitted estimator's attributes. A pickle written with another
# layout is refused with a clear message instead of being loaded wrongly.
STATE_FORMAT = 5

# Every attribute a saved skgd estimator may hold: see skgd._state.


@dataclass
class PreparedFit:
    """A training call's checked data, network, epoch source and configuration.

    ``X`` is the validated data, ``y`` the checked targets, ``Y`` their
    encoding for the loss and ``sample_weight`` the weights training uses
    (times the class weights, for a classifier); ``context`` holds the
    scikit-learn callbacks of the call, or None. ``checked`` is ``(X, y,
    sample_weight, inputs)`` as the input checks left them, before the
    task, ``inputs`` the attributes they set (``n_features_in_``...).
    """

    X: object
    y: object
    Y: object
    sample_weight: object
    net: object
    source: object
    config: object
    context: object
    checked: tuple


class BaseGD(CallbackSupportMixin, BaseEstimator):
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
        net = self._prediction_network(weights, dtype)
        # Sparse rows are densified one training-sized batch at a time.
        block = self.batch_size if sp.issparse(X) and self.batch_size else 4096
        with np.errstate(over="ignore", invalid="ignore"):
            output = net.predict(X.astype(dtype, copy=False), block=block)
        if not np.isfinite(output).all():
            raise ValueError(
                f"The predictions overflow {dtype} for some samples (X holds "
                f"values up to {abs(X).max():.3g}); scale X as the training data "
                "was scaled."
            )
        return output

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

    # -- training -------------------------------------------------------------

    def _network(self, n_features, n_outputs, dtype, weights=None, scale=None):
        """The network to train, in training's units (see
        :class:`~skgd._tasks.TargetScale`): on centered features, without the
        output intercept that centering fixes."""
        units = {}
        if scale is not None and scale.x_mean is not None:
            units["offset"] = scale.x_mean.astype(dtype)
            units["bias"] = False if scale.fixed_intercept else None
        layers = self._build_layers(n_features, n_outputs, **units)
        net = Network(layers, n_features, dtype)
        if weights is not None:
            net.set_weights(weights)
        return net

    def _train(self, X, y, sample_weight, start, classes=None):
        """Train from ``start`` and commit the result only once it succeeded."""
        resumes = start != "fresh" and hasattr(self, "history_")
        with _input_attributes_kept_on_error(self):
            run = self._prepare(X, y, sample_weight, start, resumes, classes)
            stored = self._training_state if resumes else None
            result = fit_session(run.net, run.source, run.config, start, stored)
            self._end_fit(run, result, start, resumes)
        if run.context is not None:
            run.context.end()
        return self

    def _adopt(self, run, params, result):
        """Become the fit whose training ``run`` prepared and another trained.

        A stacked run (:mod:`skgd._stacked`) trains many candidates at once,
        each prepared by its own estimator (``run``, see :meth:`_prepare`):
        its final ``params`` and :class:`~skgd.engine.session.SessionResult` are
        checked, warned of and committed here as this estimator's own fit
        would have done. Its input attributes (``n_features_in_``...) are
        those ``run``'s checks set.
        """
        with _input_attributes_kept_on_error(self):
            run.net.params[...] = params
            self._end_fit(run, result, "fresh", False)
        return self

    def _end_fit(self, run, result, start, resumes):
        """Check, warn of and commit a training call's ``result``."""
        _check_outputs_fit(run, result)
        self._warn(result, start, run)
        self._commit(run.net, result, run.y.ndim, run.config.task, resumes)

    def _prepare(self, X, y, sample_weight, start, resumes, classes=None, like=None):
        """Everything a training call needs, checked, as a :class:`PreparedFit`.

        ``like`` is the :class:`PreparedFit` of a fresh fit of an estimator
        of the same class and the same data (a stack's first candidate,
        whose parameters this one shares but for numbers): this fit takes
        its checked data, and its target scale where their training weights
        are the same, instead of checking and reducing the data again.
        """
        weights = self._fitted_weights() if resumes else None
        if like is None:
            checked = self._validate_training_data(
                X, y, sample_weight, weights, start == "stream"
            )
            checked += (input_attributes(self),)
        else:
            checked = like.checked
            vars(self).update(checked[3])
        X, y, sw = checked[:3]
        task, y, sw = self._training_task(y, sw, resumes, classes)
        Y = task.encode(y, X.dtype)
        if weights is not None:
            self._check_outputs(Y.shape[1], weights[-1][0].shape[1])
        scale = None if like is None else like.config.task.target_scale
        if scale is not None and sw is like.sample_weight:  # the same targets' scale
            task = Regression(task.loss, scale)
        else:
            task = self._scaled_task(task, X, Y, sw, start, resumes)
        context = self._callback_context(start, X, y, sw, task)
        if task.target_scale is not None:  # training's units (see TargetScale)
            Y = task.target_scale.transform(Y)
            if weights is not None:
                weights = self._trained_weights(weights, task.target_scale, start)
        net = self._network(X.shape[1], Y.shape[1], X.dtype, weights, task.target_scale)
        source = self._epoch_source(X, Y, sw, start, task.strata(y))
        callbacks = [] if context is None else [context]
        auto = self._auto_learning_rate
        if task.target_scale is not None and task.target_scale.x_mean is not None:
            offset = task.target_scale.x_mean.astype(X.dtype)
            auto = functools.partial(auto, offset=offset)  # the centered features
        config = TrainingConfig(task, self.get_params(deep=False), auto, callbacks)
        return PreparedFit(X, y, Y, sw, net, source, config, context, checked)

    def _trained_weights(self, weights, scale, start):
        """The fitted ``weights`` in training's units (see TargetScale):
        ``partial_fit`` goes on exactly from the trained ones."""
        if start not in ("continue", "stream"):
            return scale.to_training(weights)
        stored = self._training_state.get("target_scale") or {}
        return scale.resumed(weights, stored.get("intercepts"))

    def _partial_start(self):
        """How ``partial_fit`` continues: one epoch, or a chunk of a stream."""
        return "continue" if self.epoch_size is None else "stream"

    def _epoch_source(self, X, Y, sw, start, strata):
        if start == "stream":
            return StreamEpochs(X, Y, sw, self.epoch_size, self.batch_size)
        return MemoryEpochs(X, Y, sw, strata=strata)

    def _check_outputs(self, n_y, n_outputs):
        """Refuse targets of another width than the model continued from."""
        if n_y != n_outputs:
            raise ValueError(
                f"y has {n_y} outputs but {type(self).__name__} was "
                f"fitted with {n_outputs}; pass y with {n_outputs} outputs, or "
                "fit a new estimator with warm_start=False."
            )

    def _callback_context(self, start, X, y, sample_weight, task):
        """scikit-learn's callbacks of this call, or None when there are none."""
        if not (
            getattr(self, "_skl_callbacks", None)
            or hasattr(self, "_parent_callback_ctx")
        ):
            return None
        partial = start in ("continue", "stream")
        epochs = None if start == "stream" else 1 if partial else self.epochs
        name = "partial_fit" if partial else "fit"
        ndim = y.ndim

        def attributes(weights):  # weights in training's units (see _prepare)
            weights = _user_weights(weights, task)
            return {**self._weight_attributes(weights, ndim), **task.attributes()}

        data = X, y, sample_weight
        return FitTask(self, name, epochs, data, attributes, not partial)

    def _warn(self, result, start, run):
        name = type(self).__name__
        intercept = getattr(self, "fit_intercept", True)
        stuck = _above_the_mean(result, run) if result.stopped and intercept else None
        if result.interrupted:
            kept = (
                "the weights of the last one (or the best one, with early "
                "stopping), and history_ ends there"
                if result.records
                else "the weights it started this call with"
            )
            warnings.warn(
                f"{name}.fit was interrupted after {len(result.records)} complete "
                f"epochs; the model keeps {kept}.",
                FitInterruptedWarning,
                stacklevel=5,
            )
        elif start in ("fresh", "warm") and not result.stopped and self.tol is not None:
            warnings.warn(
                f"{name} ran all epochs={self.epochs} without the monitored loss "
                f"settling (tol={self.tol}); increase epochs or tol, or set "
                "tol=None to run exactly `epochs` epochs.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif stuck is not None:
            warnings.warn(
                f"{name} stopped on a plateau, but its loss on the training data, "
                f"{stuck[0]:.4g}, is above the {stuck[1]:.4g} of predicting the "
                "mean of y: it settled far from any optimum. Standardize the "
                "features, lower learning_rate, or set scale_target=True.",
                ConvergenceWarning,
                stacklevel=5,
            )

    # How validate_data checks y (see RegressorGD and ClassifierGD).
    _y_checks = {"multi_output": True, "y_numeric": True}

    def _validate_training_data(self, X, y, sample_weight, weights, streaming=False):
        """``(X, y, sample_weight)`` checked; ``X`` in the dtype of ``weights``.

        ``weights`` are the fitted weights a call continues from (None for a
        fit from scratch, which resets ``n_features_in_``).
        """
        X, y = validate_data(
            self,
            X,
            y,
            reset=weights is None,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            **self._y_checks,
        )
        if weights is not None:  # keep the fitted model's dtype
            X = _cast(X, weights[0][0].dtype)
        X = X.tocsr() if sp.issparse(X) else X
        _check_feature_scale(X, getattr(self, "feature_names_in_", None))
        sw = None
        if (
            streaming
            and np.shape(sample_weight) == (X.shape[0],)
            and not np.any(sample_weight)
        ):  # a chunk of weightless rows: the stream's other chunks have weight
            sw = np.zeros(X.shape[0])
        elif sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        return X, y, sw

    def _commit(self, net, result, y_ndim, task, keep_history):
        """Store the result of a successful training call, all at once.

        Everything is computed first and written with one ``dict.update``,
        which an interrupt cannot split.
        """
        state = result.state.to_dict()
        if isinstance(task, Regression):  # partial_fit goes on in the same units
            scale = task.target_scale
            state["target_scale"] = None if scale is None else scale.to_dict()
            if scale is not None:  # resumed exactly (see TargetScale.resumed)
                b = net.get_weights()[-1][1]
                intercepts = None if b is None else b.tolist()
                state["target_scale"]["intercepts"] = intercepts
        history = (self.history_ if keep_history else []) + result.records
        losses = curve(history, "train_loss")
        scores = curve(history, f"val_{task.score_name}")
        val_losses = curve(history, "val_loss")
        attributes = {
            **self._weight_attributes(_user_weights(net.get_weights(), task), y_ndim),
            "_training_state": state,
            "learning_rate_": result.state.schedule.lr0,
            "history_": history,
            "n_iter_": result.state.n_iter,
            "t_": result.state.t,
            "loss_curve_": losses,
            "best_loss_": min(losses, default=None),
            "validation_scores_": scores or None,
            "best_validation_score_": (
                scores[int(np.argmin(val_losses))] if scores else None
            ),
            "trajectory_": self._grown_trajectory(
                self._user_trajectory(net, task, result.trajectory), keep_history
            ),
        }
        vars(self).update(attributes, **task.attributes())

    def _user_trajectory(self, net, task, trajectory):
        """The recorded parameters (flat, as training saw them) in y's units,
        laid out as the fitted model's."""
        if trajectory is None or task.target_scale is None:
            return trajectory
        W = net.get_weights()[-1][0]
        user = self._network(net.widths[0], W.shape[1], W.dtype)
        final, rows = net.params.copy(), []
        for row in trajectory:
            net.params[...] = row
            user.set_weights(_user_weights(net.get_weights(), task))
            rows.append(user.params.copy())
        net.params[...] = final
        return rows

    def _grown_trajectory(self, trajectory, keep_history):
        """The recorded parameters, after those of earlier calls when continuing."""
        if trajectory is None:
            return None
        rows = np.array(trajectory)
        previous = getattr(self, "trajectory_", None) if keep_history else None
        if previous is not None and previous.shape[1] == rows.shape[1]:
            rows = np.concatenate([previous, rows[1:]])  # row 0 repeats their end
        return rows


class RegressorGD(RegressorMixin, BaseGD):
    """Base class of the regressors: real targets and a regression loss."""

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "loss": [StrOptions(set(LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "scale_target": ["boolean"],
    }

    @fit_context
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current state.

        Weights, optimizer state, schedule and random generators carry over
        from the previous ``fit`` or ``partial_fit``; ``epochs``,
        ``early_stopping``, ``validation_fraction``, ``random_state`` and
        ``warm_start`` do not apply, and no data is held out. Every other
        parameter changed in between takes effect in the next call (a float
        ``learning_rate`` too; ``"auto"`` keeps the step it resolved first).
        With ``epoch_size``, the calls are chunks of one stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._train(X, y, sample_weight, self._partial_start())

    def predict(self, X):
        """Predict with the trained model (dropout is off).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, float32 when both ``X`` and the model are float32.
        """
        output = self._output(X)  # checks that the model is fitted first
        return self._task().decode(output, self._predicts_1d())

    def _predicts_1d(self):
        raise NotImplementedError

    def _task(self):
        """Regression with the estimator's loss."""
        return Regression(build(LOSSES, self.loss, self.get_params(deep=False)))

    def _training_task(self, y, sample_weight, resumes, classes):
        return self._task(), y, sample_weight

    # Whether a linear model centers dense features (see TargetScale).
    _centers_features = False

    def _scaled_task(self, task, X, Y, sample_weight, start, resumes):
        """The task on standardized targets (see :class:`~skgd._tasks.TargetScale`).

        ``partial_fit`` goes on with the scale its first call took (none for
        a model fitted with ``scale_target=False``, or before targets were
        scaled); a ``fit`` takes that of the data it is given, when
        ``scale_target`` is set.
        """
        if resumes and start in ("continue", "stream"):
            stored = self._training_state.get("target_scale")
            scale = TargetScale.from_dict(stored)
        elif self.scale_target:
            intercept = getattr(self, "fit_intercept", True)
            squared = self.loss == "squared_error"
            scale = TargetScale.of(
                X, Y, sample_weight, intercept, self._centers_features, squared
            )
        else:
            scale = None
        return task if scale is None else Regression(task.loss, scale)


def _user_weights(weights, task):
    """Trained weights ``[(W, b), ...]`` in y's units (see TargetScale)."""
    scale = task.target_scale
    return weights if scale is None else scale.from_training(weights)


def _check_outputs_fit(run, result):
    """Refuse a float32 model whose predictions in y's units overflow float32.

    Training sees the standardized target, whose outputs fit; multiplied by
    the target's scale they may not (float64 outputs cannot get there: their
    loss in y's units would overflow first, see ``Trainer.end_epoch``).
    """
    scale, dtype = run.config.task.target_scale, run.net.dtype
    if scale is None or dtype == np.float64 or not result.records:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        pred = run.net.predict(run.X, block=1024)
        top = float(np.max(np.abs(pred), initial=0.0)) * scale.scale
        top += float(np.max(np.abs(scale.mean), initial=0.0))
    if not top <= float(np.finfo(dtype).max):
        epoch, lr = result.records[-1]["epoch"], result.records[-1]["learning_rate"]
        what = f"the predictions on the training data reach {top:.3g}, beyond {dtype}"
        raise divergence_error(epoch, what, lr)


def _above_the_mean(result, run):
    """``(loss, mean's loss)`` in y's units when a regressor's loss on its
    training data is above that of predicting the weighted mean of y; None
    otherwise.

    Predicting the mean is what zero weights and the best intercept give,
    so every optimum is at or below it (with ``alpha``, too): a fit that
    stops above it settled nowhere near one. The model's own loss is
    taken (one pass over the data), not the recorded one, which with
    averaging is that of the iterates.
    """
    task = run.config.task
    if not (result.records and isinstance(task, Regression)):
        return None
    Y, sw = run.Y, run.sample_weight
    if sw is not None and not sw.any():
        return None
    mean = np.average(Y, axis=0, weights=sw)
    with np.errstate(over="ignore", invalid="ignore"):
        constant = weighted_loss(task.loss, np.broadcast_to(mean, Y.shape), Y, sw)
        pred = run.net.predict(run.X, block=1024)  # in little memory
        loss = weighted_loss(task.loss, pred, Y, sw)
    if not loss > constant * (1.0 + 1e-6):
        return None
    return loss * task.loss_scale, constant * task.loss_scale


FLOATS = (np.float32, np.float64)


def _cast(X, dtype):
    """``X`` in the fitted model's ``dtype``; refused if the cast overflows."""
    with np.errstate(over="ignore"):  # checked below
        cast = X.astype(dtype, copy=False)
    values = cast.data if sp.issparse(cast) else cast
    if cast.dtype != X.dtype and not np.isfinite(values).all():
        raise ValueError(
            f"X holds values up to {abs(X).max():.3g}, beyond {dtype}, the dtype "
            f"this model was fitted in; scale X, or fit a new model on {X.dtype} "
            "data (warm_start=False)."
        )
    return cast


def _check_feature_scale(X, names=None):
    """Refuse a feature whose square overflows the dtype of ``X``.

    A gradient step multiplies a feature by a residual that is itself of the
    feature's scale, and Adam squares the gradient: with any optimizer, the
    first steps on such a feature overflow.
    """
    limit = math.sqrt(np.finfo(X.dtype).max)
    values = X.data if sp.issparse(X) else X
    # The largest and the smallest values: two whole-array reductions, no
    # temporary; the columns are looked at only to name the one at fault.
    if not values.size or max(values.max(), -values.min()) <= limit:
        return
    if sp.issparse(X):
        largest = abs(X).max(axis=0).toarray().ravel()
    else:
        largest = np.maximum(X.max(axis=0), -X.min(axis=0))
    huge = np.flatnonzero(largest > limit)
    if huge.size:
        j = int(huge[0])
        name = f"{j} ({names[j]!r})" if names is not None else f"{j}"
        raise DivergenceError(
            f"Feature {name} holds values up to {float(largest[j]):.3g}, whose "
            f"square overflows {X.dtype}: the first gradient steps on it "
            "overflow with any optimizer. Standardize the features "
            "(sklearn.preprocessing.StandardScaler)."
        )


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


# What input validation writes to an estimator.
_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")


def input_attributes(estimator):
    """The attributes input validation wrote to ``estimator``, as a dict."""
    return {k: vars(estimator)[k] for k in _INPUT_ATTRIBUTES if k in vars(estimator)}


@contextmanager
def _input_attributes_kept_on_error(estimator):
    """Undo what input validation wrote to ``estimator`` if the call fails."""
    saved = input_attributes(estimator)
    try:
        yield
    except BaseException:
        for name in _INPUT_ATTRIBUTES:
            if name in saved:
                vars(estimator)[name] = saved[name]
            else:
                vars(estimator).pop(name, None)
        raise
