"""The scikit-learn side of the regressors: real targets, scaled for training.

:class:`RegressorGD` trains on real targets with a regression loss
(:class:`skgd._tasks.Regression`), standardized for training when
``scale_target`` is set (:class:`skgd._tasks.TargetScale`), and gives
``partial_fit`` and ``predict``. Everything else is
:class:`skgd._base.BaseGD`'s.
"""

from numbers import Real

from sklearn.base import RegressorMixin

from ._base import BaseGD
from ._compat import Interval, StrOptions, fit_context
from ._losses import LOSSES
from ._registry import build
from ._tasks import Regression, TargetScale


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
