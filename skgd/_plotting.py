"""Displays in scikit-learn's convention: ``from_estimator``, then ``plot(ax=...)``.

matplotlib is imported only when something is drawn, so importing skgd never
needs it (``pip install "skgd[plot]"``).
"""

import numpy as np

from ._history import curve


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


class TrainingCurveDisplay:
    """Per-epoch training and validation loss of a fitted estimator.

    The training loss is the objective minimized during each epoch (with the
    penalty, and dropout active); the validation loss is the loss on the
    held-out split (``validation_fraction`` or ``early_stopping``). Build it
    with :meth:`from_estimator`.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    train_loss : ndarray of shape (n_epochs,)
        Training objective per epoch.
    val_loss : ndarray of shape (n_epochs,) or None
        Loss on the held-out split per epoch.
    val_r2 : ndarray of shape (n_epochs,) or None
        R² on the held-out split per epoch.
    name : str or None
        Name of the estimator, for the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    r2_ax_ : matplotlib Axes or None
        The twin axes of the validation R², when it is drawn.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict of str to matplotlib Line2D
        ``"train_loss"``, and ``"val_loss"`` and ``"val_r2"`` when drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skgd import GDRegressor, TrainingCurveDisplay
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> model = GDRegressor(epochs=5, validation_fraction=0.2, tol=None,
    ...                     random_state=0).fit(X, X[:, 0])
    >>> display = TrainingCurveDisplay.from_estimator(model)
    >>> sorted(display.lines_)
    ['train_loss', 'val_loss', 'val_r2']
    """

    def __init__(self, epochs, train_loss, val_loss=None, val_r2=None, name=None):
        self.epochs, self.train_loss = epochs, train_loss
        self.val_loss, self.val_r2, self.name = val_loss, val_r2, name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, show_r2=True, logy=False):
        """Draw the curves of a fitted skgd estimator's ``history_``.

        Parameters
        ----------
        estimator : GDRegressor or MLPRegressor
            A fitted estimator.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        show_r2 : bool, default=True
            Also draw the validation R² on a twin axis, when there is one.
        logy : bool, default=False
            Use a logarithmic scale for the losses.

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
        display = cls(
            np.array(curve(history, "epoch")),
            np.array(curve(history, "train_loss")),
            np.array(curve(history, "val_loss")) if held_out else None,
            np.array(curve(history, "val_r2")) if held_out else None,
            type(estimator).__name__,
        )
        return display.plot(ax=ax, show_r2=show_r2, logy=logy)

    def plot(self, ax=None, *, show_r2=True, logy=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        show_r2 : bool, default=True
            Also draw the validation R² on a twin axis, when there is one.
        logy : bool, default=False
            Use a logarithmic scale for the losses.

        Returns
        -------
        display : TrainingCurveDisplay
            ``self``, with ``ax_``, ``r2_ax_``, ``figure_`` and ``lines_`` set.
        """
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
        self.r2_ax_ = None
        if show_r2 and self.val_r2 is not None:
            self.r2_ax_ = ax.twinx()
            (self.lines_["val_r2"],) = self.r2_ax_.plot(
                self.epochs, self.val_r2, "k:", label="validation R²"
            )
            self.r2_ax_.set_ylabel("validation R²")
        ax.legend(handles=list(self.lines_.values()), loc="best")
        if self.name:
            ax.set_title(self.name)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LossLandscapeDisplay:
    """The objective over ``(w, b)`` of a one-feature linear model, with its path.

    Each point of the plane is a model ``f(x) = w x + b``; its height is the
    training objective (the mean loss over the data, plus the L2 penalty).
    The path is where gradient descent stood after each epoch: the "walk
    down the mountain". Build it with :meth:`from_estimator` from a
    :class:`~skgd.GDRegressor` fitted on one feature with
    ``record_trajectory=True``.

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
    >>> from skgd import GDRegressor, LossLandscapeDisplay
    >>> x = np.linspace(0, 10, 50).reshape(-1, 1)
    >>> model = GDRegressor(epochs=20, tol=None, record_trajectory=True,
    ...                     random_state=0).fit(x, 2 * x.ravel() + 1)
    >>> display = LossLandscapeDisplay.from_estimator(model, x, 2 * x.ravel() + 1)
    >>> display.path.shape
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
        estimator : GDRegressor
            Fitted on one feature and one output, with an intercept and
            ``record_trajectory=True``.
        X : array-like of shape (n_samples, 1)
            The data the objective is measured on (usually the training data).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the objective.
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
        y = np.asarray(y, dtype=float).reshape(-1)
        s = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight)
        axes = [
            _span(path[:, k], margin, grid_size) for k in range(2)
        ]  # slopes, intercepts
        w_grid, b_grid = np.meshgrid(*axes)
        residual = y - (w_grid[..., None] * x + b_grid[..., None])
        loss = _pointwise_loss(estimator, residual)
        objective = loss @ s / s.sum() + 0.5 * estimator.alpha * w_grid**2
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
    trajectory = getattr(estimator, "trajectory_", None)
    coef = getattr(estimator, "coef_", None)
    if coef is None or np.shape(coef) != (1,) or not estimator.fit_intercept:
        raise ValueError(
            "LossLandscapeDisplay needs a GDRegressor fitted on one feature and "
            "one output, with fit_intercept=True: its parameters are (w, b)."
        )
    if trajectory is None:
        raise ValueError(
            "The estimator recorded no trajectory: fit it with record_trajectory=True."
        )
    return trajectory


def _span(values, margin, size):
    low, high = values.min(), values.max()
    pad = margin * max(high - low, 1e-3 * max(abs(low), abs(high), 1.0))
    return np.linspace(low - pad, high + pad, size)


def _pointwise_loss(estimator, residual):
    if estimator.loss == "huber":
        clipped = np.clip(residual, -estimator.huber_delta, estimator.huber_delta)
        return clipped * (residual - 0.5 * clipped)
    return 0.5 * residual**2
