"""The learning-rate range test, run as a stack of constant rates.

fastai's ``lr_find`` (Smith, 2017) trains once while the rate grows each
step, and reads the loss against the rate. With stacked training the test
can run the real thing instead: one candidate per rate, each trained for
the given epochs at its constant rate, all in one pass over the data (see
:class:`skgd.model_selection.GridSearchCV`), and each judged on data it
did not train on.
"""

import warnings

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_array, indexable

from ._plotting import _axes
from .engine.stack import stack_group
from .engine.threads import one_blas_thread

#: The default rates: 30 from 1e-5 to 10, evenly spaced on a log scale.
DEFAULT_RATES = np.geomspace(1e-5, 10.0, 30)


class LearningRateRangeDisplay:
    """Training and validation loss against a constant learning rate.

    Build it with :meth:`from_estimator`, which trains one candidate of the
    estimator per learning rate for a few epochs, stacked, and scores each
    on held-out data.

    The suggested rate is the one with the lowest validation loss after the
    given epochs: the constant step that generalizes best within that
    training budget (so a test of as many epochs as the fits it prepares
    answers for them; a short test favours bold steps). It is None when
    every rate diverged.

    Parameters
    ----------
    learning_rates : ndarray of shape (n_rates,)
        The rates tried, increasing.
    train_loss : ndarray of shape (n_rates,)
        Each candidate's mean loss on the rows it trained on, after
        training: the estimator's loss (squared error, log-loss, ...),
        without the penalty, sample or class weights; NaN where it diverged.
    val_loss : ndarray of shape (n_rates,)
        The same on the held-out rows.
    diverged : ndarray of shape (n_rates,), dtype=bool
        The candidates whose training diverged (or whose loss is not finite).
    name : str or None, default=None
        The estimator's name, for the title.

    Attributes
    ----------
    suggested_learning_rate_ : float or None
        The suggested rate (see above).
    ax_ : matplotlib Axes
        The axes drawn on (after :meth:`plot`).
    figure_ : matplotlib Figure
        The figure drawn on (after :meth:`plot`).
    """

    def __init__(self, learning_rates, train_loss, val_loss, diverged, name=None):
        self.learning_rates = np.asarray(learning_rates, dtype=float)
        self.train_loss = np.asarray(train_loss, dtype=float)
        self.val_loss = np.asarray(val_loss, dtype=float)
        self.diverged = np.asarray(diverged, dtype=bool)
        self.name = name
        self.suggested_learning_rate_ = suggest(
            self.learning_rates, self.val_loss, self.diverged
        )

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, learning_rates=None, epochs=5, cv=None, ax=None
    ):
        """Train a stack of ``estimator``, one candidate per rate, and plot it.

        Parameters
        ----------
        estimator : estimator
            An skgd estimator, or a pipeline whose last step is one; its
            other parameters are kept (``epochs`` is set, and ``tol=None``
            so that every candidate runs all its epochs). The candidates
            are new estimators of its parameters: scikit-learn callbacks set
            on it hear nothing of them.
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        learning_rates : array-like of shape (n_rates,), default=None
            The rates to try; by default 30 from 1e-5 to 10, evenly spaced
            on a log scale.
        epochs : int, default=5
            Epochs each candidate trains.
        cv : int, cross-validation generator, iterable or None, default=None
            The held-out data, as in scikit-learn: None holds out 20% of the
            rows once (stratified for a classifier, ``random_state=0``); the
            losses are then means over the splits.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : LearningRateRangeDisplay
        """
        rates = np.sort(
            np.asarray(
                DEFAULT_RATES if learning_rates is None else learning_rates, dtype=float
            )
        )
        X, y = indexable(X, y)
        splits = check_cv(
            _held_out(estimator) if cv is None else cv,
            y,
            classifier=is_classifier(estimator),
        ).split(X, y)
        losses = np.mean(
            [_losses(estimator, X, y, rates, epochs, s) for s in splits], 0
        )
        train, val = losses
        diverged = ~(np.isfinite(train) & np.isfinite(val))
        name = type(_final_step(estimator)).__name__
        display = cls(rates, train, val, diverged, name)
        if not display.diverged.all():
            return display.plot(ax=ax)
        warnings.warn(
            f"Every learning rate from {rates[0]:.3g} to {rates[-1]:.3g} diverged "
            f"within {epochs} epochs, so no rate is suggested: try smaller rates, "
            "or standardize the features (sklearn.preprocessing.StandardScaler).",
            UserWarning,
            stacklevel=2,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw both losses against the rate (log axes), and mark the rest.

        Diverged candidates are crosses along the top of the axes; the
        suggested rate is a dotted vertical line.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : LearningRateRangeDisplay
        """
        ax = _axes(ax)
        ok = ~self.diverged
        rates = self.learning_rates
        # The scales first: the lines then autoscale once, on log axes.
        ax.set_xscale("log")
        if (
            ok.any()
            and (self.val_loss[ok] > 0).all()
            and (self.train_loss[ok] > 0).all()
        ):
            ax.set_yscale("log")
        handles = [
            *ax.plot(rates[ok], self.train_loss[ok], "o-", label="training loss"),
            *ax.plot(rates[ok], self.val_loss[ok], "s-", label="validation loss"),
        ]
        if self.diverged.any():
            top = ax.get_ylim()[1] if ok.any() else 1.0
            handles += ax.plot(
                rates[self.diverged],
                np.full(self.diverged.sum(), top),
                "x",
                color="red",
                label="diverged",
                clip_on=False,
            )
        if self.suggested_learning_rate_ is not None:
            rate = self.suggested_learning_rate_
            # axvline's line, across the axes, drawn as a plain line (cheaper).
            handles += ax.plot(
                [rate, rate],
                [0.0, 1.0],
                ":",
                color="black",
                label=f"suggested: {rate:.3g}",
                transform=ax.get_xaxis_transform(),
                scaley=False,
            )
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss after training")
        ax.set_title(
            "Learning-rate range test" + (f": {self.name}" if self.name else "")
        )
        ax.legend(handles=handles)
        self.ax_, self.figure_ = ax, ax.figure
        return self


def suggest(learning_rates, val_loss, diverged):
    """The rate of the lowest validation loss (the largest among equals), or
    None when every rate diverged."""
    ok = ~np.asarray(diverged) & np.isfinite(val_loss)
    if not ok.any():
        return None
    best = np.min(val_loss[ok])
    return float(np.max(np.asarray(learning_rates)[ok & (val_loss == best)]))


def _losses(estimator, X, y, rates, epochs, split):
    """Training and validation loss of each rate on one split: (2, n_rates).

    The candidates train as one stack on the split's training rows (through
    the pipeline's other steps, fitted there); NaN where one diverged.
    """
    pre, final = _steps(estimator)
    train, test = split
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_val, y_val = _safe_indexing(X, test), _safe_indexing(y, test)
    if pre is not None:
        X_train = pre.fit_transform(X_train, y_train)
        X_val = pre.transform(X_val)
    # The candidates share one clone's parameters (a fit never changes one):
    # building each from them costs a tenth of a clone.
    params = clone(final).set_params(epochs=epochs, tol=None).get_params(deep=False)
    candidates = [type(final)(**{**params, "learning_rate": lr}) for lr in rates]
    group = stack_group(candidates, X_train, y_train)
    if group is None:  # refused data or parameters: the fit says why
        candidates[0].fit(X_train, y_train)
        raise ValueError(
            f"{type(final).__name__}(optimizer={final.optimizer!r}) cannot be "
            "trained stacked, so it has no range test: the stacks train SGD "
            "and Adam only."
        )
    with one_blas_thread():
        group.train()
    losses = np.full((2, len(rates)), np.nan)
    trained = [group.candidates[k] for k in group.active]
    for row, (X_part, y_part) in enumerate([(X_train, y_train), (X_val, y_val)]):
        X_part = check_array(X_part, accept_sparse="csr", dtype=group.net.dtype)
        losses[row, trained] = group.losses(X_part, np.asarray(y_part))
    losses[:, [group.candidates[k] for k in group.diverged()]] = np.nan
    return losses


def _held_out(estimator):
    """One split holding out 20% of the rows (stratified for a classifier)."""
    split = StratifiedShuffleSplit if is_classifier(estimator) else ShuffleSplit
    return split(n_splits=1, test_size=0.2, random_state=0)


def _steps(estimator):
    """``(preprocessing or None, final estimator)``, fresh clones."""
    if isinstance(estimator, Pipeline):
        return clone(Pipeline(estimator.steps[:-1])), clone(estimator.steps[-1][1])
    return None, clone(estimator)


def _final_step(estimator):
    """The estimator trained: the last step of a pipeline (not cloned)."""
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
