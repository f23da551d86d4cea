"""Displays in scikit-learn's convention: ``from_estimator``, then ``plot(ax=...)``.

matplotlib is imported only when something is drawn, so importing skgd never
needs it (``pip install "skgd[plot]"``).
"""

import numpy as np

from ._history import curve
from ._losses import weighted_loss

# How a validation score of the history (``val_<name>``) is named on a plot.
_SCORE_LABELS = {"r2": "R²", "accuracy": "accuracy"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'skgd[plot]'."
        ) from exc
    return plt


def _axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def _score_name(record):
    """The name of the validation score of a history record (``val_<name>``)."""
    names = [key[4:] for key in record if key.startswith("val_") and key != "val_loss"]
    return names[0] if names else None


class TrainingCurveDisplay:
    """Per-epoch training and validation loss of a fitted estimator.

    The training loss is the objective minimized during each epoch (with the
    penalty, and dropout active); the validation loss is the loss on the
    held-out split (``validation_fraction`` or ``early_stopping``), and the
    validation score, drawn on a twin axis, is the estimator's score on that
    split: R² for the regressors, accuracy for the classifiers. Build it with
    :meth:`from_estimator`.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    train_loss : ndarray of shape (n_epochs,)
        Training objective per epoch.
    val_loss : ndarray of shape (n_epochs,) or None
        Loss on the held-out split per epoch.
    val_score : ndarray of shape (n_epochs,) or None
        Score on the held-out split per epoch, the one ``score_name`` names.
    name : str or None
        Name of the estimator, for the title.
    score_name : str, default="r2"
        Which score ``val_score`` holds, as the history names it (the key
        ``"val_" + score_name``): ``"r2"`` or ``"accuracy"``.
    val_r2 : ndarray of shape (n_epochs,) or None, default=None
        The validation R²: ``val_score`` with ``score_name="r2"``, under its
        name from before the classifiers, which keeps working. Give one of
        ``val_score`` and ``val_r2``, not both.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The twin axes of the validation score, when it is drawn.
    r2_ax_ : matplotlib Axes or None
        ``score_ax_`` when the score is R² (None otherwise): the name from
        before the classifiers, which keeps working.
    val_r2 : ndarray or None
        ``val_score`` when the score is R² (None otherwise), likewise.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict of str to matplotlib Line2D
        ``"train_loss"``, and ``"val_loss"`` and the score's history key
        (``"val_r2"`` or ``"val_accuracy"``) when drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import GDClassifier, GDRegressor, TrainingCurveDisplay
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> model = GDRegressor(epochs=5, validation_fraction=0.2, tol=None,
    ...                     random_state=0).fit(X, X[:, 0])
    >>> display = TrainingCurveDisplay.from_estimator(model)
    >>> sorted(display.lines_)
    ['train_loss', 'val_loss', 'val_r2']
    >>> classifier = GDClassifier(epochs=5, validation_fraction=0.2, tol=None,
    ...                           random_state=0).fit(X, X[:, 0] > 0)
    >>> display = TrainingCurveDisplay.from_estimator(classifier)
    >>> sorted(display.lines_)
    ['train_loss', 'val_accuracy', 'val_loss']
    >>> display.score_ax_.get_ylabel()
    'validation accuracy'
    """

    def __init__(
        self,
        epochs,
        train_loss,
        val_loss=None,
        val_score=None,
        name=None,
        *,
        score_name="r2",
        val_r2=None,
    ):
        if val_r2 is not None:
            if val_score is not None:
                raise ValueError(
                    "val_r2 is another name of val_score with score_name='r2'; "
                    "pass one of them, not both."
                )
            val_score, score_name = val_r2, "r2"
        self.epochs, self.train_loss = epochs, train_loss
        self.val_loss, self.val_score, self.name = val_loss, val_score, name
        self.score_name = score_name

    @property
    def val_r2(self):
        """``val_score`` when the score is R², None otherwise."""
        return self.val_score if self.score_name == "r2" else None

    @property
    def r2_ax_(self):
        """``score_ax_`` when the score is R², None otherwise."""
        return self.score_ax_ if self.score_name == "r2" else None

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, show_score=True, logy=False, show_r2=None
    ):
        """Draw the curves of a fitted skgd estimator's ``history_``.

        Parameters
        ----------
        estimator : GDRegressor, MLPRegressor, GDClassifier or MLPClassifier
            A fitted estimator.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        show_score : bool, default=True
            Also draw the validation score (R² or accuracy) on a twin axis,
            when there is one.
        logy : bool, default=False
            Use a logarithmic scale for the losses.
        show_r2 : bool or None, default=None
            The name of ``show_score`` from before the classifiers, which
            keeps working: when given, it is used in place of
            ``show_score``, whatever the score.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        history = getattr(estimator, "history_", None)
        if not history:
            raise ValueError(
                f"{type(estimator).__name__} has no training history: fit it first."
            )
        # Validation curves only when every epoch has one (a warm start may
        # have added epochs with held-out data to epochs without).
        held_out = all("val_loss" in record for record in history)
        score_name = _score_name(history[-1]) if held_out else None
        display = cls(
            np.array(curve(history, "epoch")),
            np.array(curve(history, "train_loss")),
            np.array(curve(history, "val_loss")) if held_out else None,
            np.array(curve(history, f"val_{score_name}")) if score_name else None,
            type(estimator).__name__,
            score_name=score_name or "r2",
        )
        return display.plot(ax=ax, show_score=show_score, logy=logy, show_r2=show_r2)

    def plot(self, ax=None, *, show_score=True, logy=False, show_r2=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        show_score : bool, default=True
            Also draw the validation score on a twin axis, when there is one.
        logy : bool, default=False
            Use a logarithmic scale for the losses.
        show_r2 : bool or None, default=None
            The name of ``show_score`` from before the classifiers: when
            given, it is used in place of ``show_score``.

        Returns
        -------
        display : TrainingCurveDisplay
            ``self``, with ``ax_``, ``score_ax_``, ``figure_`` and ``lines_``
            set.
        """
        if show_r2 is not None:
            show_score = show_r2
        ax = _axes(ax)
        self.lines_ = {
            "train_loss": ax.plot(self.epochs, self.train_loss, label="training")[0]
        }
        if self.val_loss is not None:
            (self.lines_["val_loss"],) = ax.plot(
                self.epochs, self.val_loss, label="validation"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if logy:
            ax.set_yscale("log")
        self.score_ax_ = None
        if show_score and self.val_score is not None:
            label = f"validation {_SCORE_LABELS.get(self.score_name, self.score_name)}"
            self.score_ax_ = ax.twinx()
            (self.lines_[f"val_{self.score_name}"],) = self.score_ax_.plot(
                self.epochs, self.val_score, "k:", label=label
            )
            self.score_ax_.set_ylabel(label)
        ax.legend(handles=list(self.lines_.values()), loc="best")
        if self.name:
            ax.set_title(self.name)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LossLandscapeDisplay:
    """The objective over ``(w, b)`` of a one-feature linear model, with its path.

    Each point of the plane is a model ``f(x) = w x + b``: the prediction of
    a regressor, the decision value of a binary classifier. Its height is
    the training objective: the weighted mean loss over the data (with the
    estimator's loss and, for a classifier, its class weights), plus the L2
    penalty, as the engine computes it (without dropout). The path is where
    gradient descent stood after each epoch: the "walk down the mountain".
    Build it with :meth:`from_estimator` from a :class:`~skgd.GDRegressor`
    fitted on one feature, or a :class:`~skgd.GDClassifier` fitted on one
    feature and two classes, with ``record_trajectory=True``.

    Parameters
    ----------
    w_grid, b_grid : ndarray of shape (n_b, n_w)
        The grid of slopes and intercepts (as from :func:`numpy.meshgrid`).
    objective : ndarray of shape (n_b, n_w)
        The objective at each grid point.
    path : ndarray of shape (n_epochs + 1, 2)
        ``(w, b)`` before training and after each epoch.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    contour_ : matplotlib ContourSet
        The filled contours of the objective (log scale).
    path_line_ : matplotlib Line2D
        The descent path, a marker per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import GDClassifier, GDRegressor, LossLandscapeDisplay
    >>> x = np.linspace(0, 10, 50).reshape(-1, 1)
    >>> model = GDRegressor(epochs=20, tol=None, record_trajectory=True,
    ...                     random_state=0).fit(x, 2 * x.ravel() + 1)
    >>> display = LossLandscapeDisplay.from_estimator(model, x, 2 * x.ravel() + 1)
    >>> display.path.shape
    (21, 2)
    >>> labels = np.where(x.ravel() > 4, "high", "low")
    >>> classifier = GDClassifier(epochs=20, tol=None, record_trajectory=True,
    ...                           random_state=0).fit(x, labels)
    >>> LossLandscapeDisplay.from_estimator(classifier, x, labels).path.shape
    (21, 2)
    """

    def __init__(self, w_grid, b_grid, objective, path):
        self.w_grid, self.b_grid = w_grid, b_grid
        self.objective, self.path = objective, path

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, sample_weight=None, grid_size=80, margin=0.5, ax=None
    ):
        """Evaluate the objective around the path of ``estimator`` and draw it.

        Parameters
        ----------
        estimator : GDRegressor or GDClassifier
            Fitted on one feature and one output (two classes, for a
            classifier), with an intercept and ``record_trajectory=True``.
        X : array-like of shape (n_samples, 1)
            The data the objective is measured on (usually the training data).
        y : array-like of shape (n_samples,)
            Targets (class labels, for a classifier).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the objective (multiplied by the class weights,
            for a classifier, as in training).
        grid_size : int, default=80
            Grid points along each axis.
        margin : float, default=0.5
            How far the grid extends beyond the path, as a fraction of the
            path's extent along each axis.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : LossLandscapeDisplay
        """
        path = _linear_path(estimator)
        x = np.asarray(X, dtype=float).reshape(-1)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
        # The task, targets and weights exactly as training makes them from
        # (y, sample_weight): the loss, the encoded targets, the class weights.
        task, y, weights = estimator._training_task(
            np.asarray(y), sample_weight, True, None
        )
        Y = task.encode(y, np.float64)
        axes = [
            _span(path[:, k], margin, grid_size) for k in range(2)
        ]  # slopes, intercepts
        w_grid, b_grid = np.meshgrid(*axes)
        loss = np.empty(w_grid.shape)
        for point in np.ndindex(w_grid.shape):
            output = (w_grid[point] * x + b_grid[point])[:, None]
            loss[point] = weighted_loss(task.loss, output, Y, weights)
        objective = loss + 0.5 * estimator.alpha * w_grid**2
        return cls(w_grid, b_grid, objective, path).plot(ax=ax)

    def plot(self, ax=None, *, levels=30):
        """Draw the contours and the path.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        levels : int, default=30
            Number of contour levels (spaced on a log scale).

        Returns
        -------
        display : LossLandscapeDisplay
            ``self``, with ``ax_``, ``figure_``, ``contour_`` and
            ``path_line_`` set.
        """
        ax = _axes(ax)
        height = np.log10(self.objective - self.objective.min() + 1e-12)
        self.contour_ = ax.contourf(self.w_grid, self.b_grid, height, levels=levels)
        ax.figure.colorbar(self.contour_, ax=ax, label="log10(J - min J)")
        (self.path_line_,) = ax.plot(
            self.path[:, 0], self.path[:, 1], "o-", color="white", markersize=3
        )
        ax.plot(*self.path[-1], "*", color="red", markersize=12)
        ax.set_xlabel("w (slope)")
        ax.set_ylabel("b (intercept)")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _linear_path(estimator):
    """``(w, b)`` per epoch of a one-feature, one-output linear model."""
    weights = estimator._get_weights() if hasattr(estimator, "history_") else None
    if (
        weights is None
        or len(weights) != 1
        or np.shape(weights[0][0]) != (1, 1)
        or not getattr(estimator, "fit_intercept", True)
    ):
        raise ValueError(
            "LossLandscapeDisplay needs a linear model fitted on one feature and "
            "one output (a GDRegressor, or a GDClassifier of two classes), with "
            "fit_intercept=True: its parameters are (w, b)."
        )
    trajectory = getattr(estimator, "trajectory_", None)
    if trajectory is None:
        raise ValueError(
            "The estimator recorded no trajectory: fit it with record_trajectory=True."
        )
    return trajectory


def _span(values, margin, size):
    low, high = values.min(), values.max()
    pad = margin * max(high - low, 1e-3 * max(abs(low), abs(high), 1.0))
    return np.linspace(low - pad, high + pad, size)
