"""What every skgd estimator shares: parameters, validation, fit and predict.

A concrete estimator says how to build its network (``_build_layers``), how to
read and store its fitted weights (``_get_weights`` / ``_weight_attributes``), the
shape of its predictions (``_predicts_1d``) and what ``learning_rate="auto"``
means for it (``_auto_learning_rate``).
Everything else -- checking the input, splitting off validation data,
training, keeping the history -- happens here and in the shared engine.
"""

import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._data import Batches, scaled_weights, shuffled_range, split_rows
from ._engine import Objective, Trainer, TrainingState, interrupts_caught
from ._exceptions import DivergenceError
from ._history import Plateau, curve, print_record
from ._losses import LOSSES, weighted_loss
from ._network import Network
from ._optimizers import OPTIMIZERS
from ._schedules import make_schedule
from ._stream import Stream, check_unchanged
from ._version import __version__

# The layout of a fitted estimator's attributes. A pickle written with another
# layout is refused with a clear message instead of being loaded wrongly.
STATE_FORMAT = 1


def make_rng(random_state):
    """One numpy Generator from a scikit-learn ``random_state``."""
    if random_state is None or isinstance(random_state, Integral):
        return np.random.default_rng(random_state)
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


class BaseGD(RegressorMixin, BaseEstimator):
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
        "loss": [StrOptions(set(LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "record_trajectory": ["boolean"],
        "epoch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __getstate__(self):
        state = super().__getstate__()
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
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    # -- public API ---------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train by mini-batch gradient descent for up to ``epochs`` epochs.

        With ``warm_start=True`` and a fitted estimator, training starts from
        the current weights (with a fresh optimizer and schedule) and the
        history grows; otherwise it starts from scratch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32, sparse CSR/CSC stays sparse.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each batch's loss is their weighted mean.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current state.

        Weights, optimizer state, schedule and random generator carry over
        from the previous ``fit`` or ``partial_fit``; ``epochs``,
        ``early_stopping`` and ``warm_start`` do not apply, and no data is
        held out.

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
        self._validate_params()
        return self._fit(X, y, sample_weight, partial=True)

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
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=False,
        )
        weights = self._get_weights()
        dtype = np.result_type(X.dtype, weights[0][0].dtype)
        net = self._network(X.shape[1], weights[-1][0].shape[1], dtype, weights)
        # Sparse rows are densified one training-sized batch at a time.
        block = self.batch_size if sp.issparse(X) and self.batch_size else 4096
        with np.errstate(over="ignore", invalid="ignore"):
            pred = net.predict(X.astype(dtype, copy=False), block=block)
        if not np.isfinite(pred).all():
            raise ValueError(
                f"The predictions overflow {dtype} for some samples (X holds "
                f"values up to {abs(X).max():.3g}); scale X as the training data "
                "was scaled."
            )
        return pred.ravel() if self._predicts_1d() else pred

    # -- hooks of the concrete estimators -------------------------------------

    def _build_layers(self, n_features, n_outputs):
        """The layers of the network, before weights are set."""
        raise NotImplementedError

    def _get_weights(self):
        """Fitted ``[(W, b), ...]`` of the dense layers, ``W`` (n_in, n_out)."""
        raise NotImplementedError

    def _weight_attributes(self, weights, y_ndim):
        """The public fitted attributes holding ``[(W, b), ...]``, as a dict."""
        raise NotImplementedError

    def _predicts_1d(self):
        raise NotImplementedError

    def _auto_learning_rate(self, X, sample_weight, rows):
        """The step used for ``learning_rate="auto"``."""
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------

    def _network(self, n_features, n_outputs, dtype, weights=None):
        net = Network(self._build_layers(n_features, n_outputs), n_features, dtype)
        if weights is not None:
            dense = _dense_layers(net)
            expected = [layer.W.shape for layer in dense]
            fitted = [np.shape(W) for W, _ in weights]
            if fitted != expected:
                raise ValueError(
                    f"The fitted weights have shapes {fitted} but the current "
                    f"parameters build layers of shapes {expected}; "
                    "restore the parameters the model was fitted with, or fit a new "
                    "model with warm_start=False."
                )
            for layer, (W, b) in zip(dense, weights):
                layer.W[...] = W
                if layer.bias:
                    layer.b[...] = b
        return net

    def _fit(self, X, y, sample_weight, partial):
        """Train on new state and commit it only once training succeeded."""
        fitted = hasattr(self, "history_")
        warm = fitted and (partial or self.warm_start)
        with _input_attributes_kept_on_error(self):
            streaming = partial and self.epoch_size is not None
            X, Y, sw, y_ndim = self._validate_training_data(
                X, y, sample_weight, warm, streaming
            )
            sw, exponent = scaled_weights(sw)
            weights = self._get_weights() if warm else None
            net = self._network(X.shape[1], Y.shape[1], X.dtype, weights)
            if partial and fitted:  # continue from a copy: a failure changes nothing
                state = self._continued_state(net)
                train, val = self._split(X, Y, sw, state.rng, partial)
            else:
                rng = make_rng(self.random_state)
                # The split comes first, so a warm start holds out the same data.
                train, val = self._split(X, Y, sw, rng, partial)
                if not warm:
                    net.initialize(rng)
                state = self._new_state(net, train, rng, warm)
            callbacks = [print_record] if self.verbose else []
            trajectory = None
            if self.record_trajectory:
                trajectory = [net.params.copy()]
                callbacks.append(lambda record: trajectory.append(net.params.copy()))
            trainer = Trainer(
                net,
                Objective(self._loss(), self.alpha),
                state,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                baseline=_baseline_loss(self._loss(), Y, sw, X.dtype),
                callbacks=callbacks,
            )
            if streaming:
                records = self._stream(trainer, X, Y, sw, exponent)
            else:
                records = self._run(trainer, train, val, partial)
        self._commit(net, state, records, y_ndim, warm, trajectory)
        return self

    def _run(self, trainer, train, val, partial):
        """Run the training loop: one epoch for ``partial_fit``, else ``epochs``."""
        plateau = None if partial else Plateau(self.tol or 0.0, self.n_iter_no_change)
        # fit ends cleanly on Ctrl-C; partial_fit lets it through (and keeps
        # the state of the call before, as on any failure).
        catching = nullcontext() if partial else interrupts_caught(trainer)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"), catching:
            records, stopped = trainer.fit_loop(
                train,
                1 if partial else self.epochs,
                val=val,
                plateau=plateau,
                stop=self.tol is not None,
                restore_best=self.early_stopping and not partial,
            )
        if trainer.interrupted:
            kept = (
                "the weights of the last one (or the best one, with early "
                "stopping), and history_ ends there"
                if records
                else "the weights it started this call with"
            )
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted after {len(records)} "
                f"complete epochs; the model keeps {kept}.",
                UserWarning,
                stacklevel=4,
            )
        elif not (partial or stopped or self.tol is None):
            warnings.warn(
                f"{type(self).__name__} ran all epochs={self.epochs} without the "
                f"monitored loss settling (tol={self.tol}); increase epochs or "
                "tol, or set tol=None to run exactly `epochs` epochs.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return records

    def _stream(self, trainer, X, Y, sw, exponent):
        """``partial_fit`` with ``epoch_size``: the chunk continues the stream."""
        state = trainer.state
        stream = Stream(self.epoch_size, self.batch_size, state.stream)
        order = shuffled_range(X.shape[0], state.rng) if self.shuffle else None
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            records = stream.feed(trainer, X, Y, sw, exponent, order)
            trainer.check_params()
            trainer.judge_last_step()
        state.stream = stream.to_dict()
        return records

    def _validate_training_data(self, X, y, sample_weight, warm, streaming=False):
        X, y = validate_data(
            self,
            X,
            y,
            reset=not warm,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=True,
        )
        if warm:  # keep the fitted model's dtype and number of outputs
            weights = self._get_weights()
            X = X.astype(weights[0][0].dtype, copy=False)
            n_outputs = weights[-1][0].shape[1]
            n_y = 1 if y.ndim == 1 else y.shape[1]
            if n_y != n_outputs:
                raise ValueError(
                    f"y has {n_y} outputs but {type(self).__name__} was "
                    f"fitted with {n_outputs}; pass y with {n_outputs} outputs, or "
                    "fit a new estimator with warm_start=False."
                )
        X = X.tocsr() if sp.issparse(X) else X
        y = y.toarray() if sp.issparse(y) else y
        Y = np.asarray(y, dtype=X.dtype).reshape(X.shape[0], -1)
        sw = None
        if (
            streaming
            and np.shape(sample_weight) == (len(Y),)
            and not np.any(sample_weight)
        ):  # a chunk of weightless rows: the stream's other chunks have weight
            sw = np.zeros(len(Y))
        elif sample_weight is not None:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        return X, Y, sw, y.ndim

    def _split(self, X, Y, sw, rng, partial):
        """Training batches and, when one is asked for, the held-out split."""
        fraction = self.validation_fraction
        if partial or not (self.early_stopping or fraction is not None):
            return Batches(X, Y, sw), None
        train_rows, val_rows = split_rows(X.shape[0], fraction or 0.1, rng)
        if sw is not None and not (sw[train_rows].any() and sw[val_rows].any()):
            raise ValueError(
                f"validation_fraction={fraction or 0.1} leaves a training or "
                "validation split whose sample weights are all zero; give more "
                "samples a positive weight, or use another validation_fraction."
            )
        return Batches(X, Y, sw, train_rows), Batches(X, Y, sw, val_rows)

    def _loss(self):
        loss = LOSSES[self.loss]
        return loss(self.huber_delta) if self.loss == "huber" else loss()

    def _optimizer(self, params):
        if self.optimizer == "adam":
            optimizer = OPTIMIZERS["adam"](self.beta_1, self.beta_2, self.epsilon)
        else:
            optimizer = OPTIMIZERS["sgd"](self.momentum, self.nesterov)
        optimizer.init(params)
        return optimizer

    def _schedule(self, lr0):
        return make_schedule(
            self.lr_schedule, float(lr0), power_t=self.power_t, epochs=self.epochs
        )

    def _new_state(self, net, train, rng, warm):
        lr0 = self.learning_rate
        if lr0 == "auto":
            lr0 = self._auto_learning_rate(train.X, train.sample_weight, train.rows)
        counters = (self.n_iter_, self.t_) if warm else (0, 0)
        return TrainingState(
            self._optimizer(net.params), self._schedule(lr0), rng, *counters
        )

    def _continued_state(self, net):
        """The stored training state, for the current optimizer and schedule."""
        stored = self._training_state
        check_unchanged(stored.get("stream"), self.epoch_size, self.batch_size)
        return TrainingState.from_dict(
            stored, self._optimizer(net.params), self._schedule(stored["lr0"])
        )

    def _commit(self, net, state, records, y_ndim, keep_history, trajectory):
        """Store the result of a successful training call, all at once.

        Everything is computed first and written with one ``dict.update``,
        which an interrupt cannot split.
        """
        weights = [
            (layer.W.copy(), layer.b[0].copy() if layer.bias else None)
            for layer in _dense_layers(net)
        ]
        history = (self.history_ if keep_history else []) + records
        losses, scores = curve(history, "train_loss"), curve(history, "val_r2")
        val_losses = curve(history, "val_loss")
        attributes = {
            **self._weight_attributes(weights, y_ndim),
            "_training_state": state.to_dict(),
            "learning_rate_": state.schedule.lr0,
            "history_": history,
            "n_iter_": state.n_iter,
            "t_": state.t,
            "loss_curve_": losses,
            "best_loss_": min(losses, default=None),
            "validation_scores_": scores or None,
            "best_validation_score_": (
                scores[int(np.argmin(val_losses))] if scores else None
            ),
            "trajectory_": self._grown_trajectory(trajectory, keep_history),
        }
        vars(self).update(attributes)

    def _grown_trajectory(self, trajectory, keep_history):
        """The recorded parameters, after those of earlier calls when continuing."""
        if trajectory is None:
            return None
        rows = np.array(trajectory)
        previous = getattr(self, "trajectory_", None) if keep_history else None
        if previous is not None and previous.shape[1] == rows.shape[1]:
            rows = np.concatenate([previous, rows[1:]])  # row 0 repeats their end
        return rows


@contextmanager
def _input_attributes_kept_on_error(estimator):
    """Undo what input validation wrote to ``estimator`` if the call fails."""
    names = ("n_features_in_", "feature_names_in_")
    saved = {name: vars(estimator)[name] for name in names if name in vars(estimator)}
    try:
        yield
    except BaseException:
        for name in names:
            if name in saved:
                vars(estimator)[name] = saved[name]
            else:
                vars(estimator).pop(name, None)
        raise


def _baseline_loss(loss, Y, sw, dtype):
    """Loss of the mean prediction, the scale of the problem (it must be finite)."""
    with np.errstate(over="ignore", invalid="ignore"):
        weighted = sw is not None and sw.any()
        mean = (sw @ Y) / sw.sum() if weighted else Y.mean(axis=0)
        value = weighted_loss(
            loss, np.broadcast_to(mean, Y.shape), Y, sw if weighted else None
        )
    if not np.isfinite(value):
        raise DivergenceError(
            f"The loss of y overflows {dtype} (|y| reaches {np.abs(Y).max():.3g}); "
            "scale y, e.g. with sklearn.compose.TransformedTargetRegressor."
        )
    return value


def _dense_layers(net):
    return [layer for layer in net.layers if hasattr(layer, "Wb")]
