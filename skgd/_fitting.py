"""The training side of an estimator: a call prepared, trained, committed.

Contract: a training call (``fit``, ``partial_fit``, or a stacked
candidate's, see :meth:`TrainingMixin._adopt`) either commits its whole
result or changes nothing. :meth:`TrainingMixin._prepare` checks the data
and the targets, builds the network (from the fitted weights when the call
resumes) and the epoch source and gathers the
:class:`~skgd.engine.session.TrainingConfig`, as a :class:`PreparedFit`;
the engine (:func:`skgd.engine.session.fit_session`) trains it; and
:meth:`TrainingMixin._end_fit` checks the result, warns of it and writes
the fitted attributes with one ``dict.update``, which an interrupt cannot
split. A call that fails leaves the estimator as it was, its input
attributes (``n_features_in_``...) included.

:class:`TrainingMixin` is a base of :class:`skgd._base.BaseGD`, whose hooks
it calls (``_fitted_weights``, ``_build_layers``, ``_weight_attributes``,
``_auto_learning_rate``, ``_training_task``, ``_scaled_task``). A
regressor with ``scale_target`` trains on standardized targets (see
:class:`~skgd._tasks.TargetScale`), training's units, which the commit
turns back into y's. The checks of the data are in :mod:`skgd._inputs`.
"""

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data

from ._compat import _check_sample_weight
from ._data import MemoryEpochs
from ._exceptions import FitInterruptedWarning
from ._fit_results import _above_the_mean, _check_outputs_fit
from ._history import curve
from ._inputs import (
    _cast,
    _check_feature_scale,
    _input_attributes_kept_on_error,
    input_attributes,
)
from ._network import Network
from ._stream import StreamEpochs
from ._tasks import Regression
from .engine.callbacks import FitTask
from .engine.session import TrainingConfig, fit_session


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


class TrainingMixin:
    """How a training call is prepared for the engine and its result committed."""

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

        A stacked run (:mod:`skgd.engine.stack`) trains many candidates at once,
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
        auto = self._auto_rate(task, X.dtype)
        config = TrainingConfig(task, self.get_params(deep=False), auto, callbacks)
        return PreparedFit(X, y, Y, sw, net, source, config, context, checked)

    def _prepare_sibling(self, like, params):
        """The :class:`PreparedFit` of a fresh fit that differs from ``like``'s
        (an earlier candidate's of its stack) in its optimizer's numbers
        alone (see :func:`skgd.engine.stack.stack_group`): ``like``'s checked data,
        targets, task and epoch source, shared (what :meth:`_prepare` would
        make again, equal), with a network of its own and its parameters,
        ``params`` (``get_params(deep=False)``). No callbacks."""
        vars(self).update(like.checked[3])
        X, y, Y, sw, checked = like.X, like.y, like.Y, like.sample_weight, like.checked
        task = like.config.task
        net = self._network(X.shape[1], Y.shape[1], X.dtype, None, task.target_scale)
        config = TrainingConfig(task, params, self._auto_rate(task, X.dtype), [])
        return PreparedFit(X, y, Y, sw, net, like.source, config, None, checked)

    def _auto_rate(self, task, dtype):
        """``learning_rate="auto"``'s rule, on the features training sees."""
        scale = task.target_scale
        if scale is None or scale.x_mean is None:
            return self._auto_learning_rate
        offset = scale.x_mean.astype(dtype)  # the centered features
        return functools.partial(self._auto_learning_rate, offset=offset)

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
        if not self._has_callbacks():
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

    def _has_callbacks(self):
        """Whether scikit-learn's callbacks hear of this estimator's fits."""
        return bool(
            getattr(self, "_skl_callbacks", None)
            or hasattr(self, "_parent_callback_ctx")
        )

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
            order="C",  # the kernels read rows, in one compiled layout
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


def _user_weights(weights, task):
    """Trained weights ``[(W, b), ...]`` in y's units (see TargetScale)."""
    scale = task.target_scale
    return weights if scale is None else scale.from_training(weights)
