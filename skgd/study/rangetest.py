"""The learning-rate range test of ``skgd study``, and the grid it centres.

Before an estimator's grid is cross-validated, the study runs
:class:`skgd.LearningRateRangeDisplay` on the study's own pipeline (its
preprocessing, and the estimator with its fixed parameters): 30 constant
rates from 1e-5 to 10, trained as one stack on 80% of the rows for as many
epochs as the grid trains (:func:`range_epochs`) and scored on the other 20%
(:func:`run_range_test`). Where no ``--param learning_rate`` was given, the
grid is then centred on the suggested rate (:func:`centre_grid`). The
report shows the test first in each estimator's section
(:func:`range_figure`, :func:`range_text`), the terminal in one line
(:func:`range_line`), and ``range_test.json`` keeps its numbers
(:func:`range_record`).
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from .._range_test import LearningRateRangeDisplay
from .axes import outside_legend
from .folds import quiet_unless_interrupted
from .tables import format_value

#: Share of the rows the range test holds out to score each rate.
HELD_OUT = 0.2


@dataclass
class RangeTest:
    """An estimator's range test, and what it made of the learning rates.

    Attributes
    ----------
    display : LearningRateRangeDisplay or None
        The rates, their losses and the suggestion; None when the test could
        not run (``reason`` says why).
    epochs : int
        Epochs each rate trained.
    grid : {"centred", "fixed", "given", "default", "skipped"}
        What became of the grid's learning rates: centred on the suggestion
        (the default grid), fixed at it (a grid not varying the rate), kept
        as given by ``--param learning_rate``, kept as the default grid
        (nothing suggested), or kept as they were (the test failed).
    grid_rates : list
        The grid's learning rates after that; empty where the grid does not
        set the rate (the estimator's own default).
    random_state : int
        Seed of the held-out split.
    seconds : float
        The time the test took.
    reason : str or None
        Why the test could not run.
    """

    display: LearningRateRangeDisplay | None
    epochs: int
    grid: str
    grid_rates: list
    random_state: int
    seconds: float = math.nan
    reason: str | None = None

    @property
    def suggested(self):
        """The suggested rate, or None."""
        return None if self.display is None else self.display.suggested_learning_rate_


def range_epochs(pipeline, grid):
    """The epochs of the range test: as many as the grid's fits train.

    The rate of the lowest validation loss depends on the training budget
    (a short test favours bold steps that a longer fit would not need), so
    the test trains the epochs of the grid (the largest, when it varies
    them), else the estimator's own.

    Examples
    --------
    >>> from skgd import GDRegressor
    >>> range_epochs([GDRegressor(epochs=50)], {"epochs": [12]})
    12
    >>> range_epochs([GDRegressor(epochs=50)], {"alpha": [0.0, 1.0]})
    50
    """
    return max(grid.get("epochs", [pipeline[-1].epochs]))


def run_range_test(pipeline, X, y, random_state=0, epochs=None):
    """Run the range test on the study's pipeline; never raises a ValueError.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`~skgd.study.pipeline.make_pipeline`: the preprocessing is
        fitted on the training rows, the estimator keeps its parameters but
        the rate, ``epochs`` and ``tol``.
    X : ndarray or DataFrame of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    random_state : int, default=0
        Seed of the held-out split (stratified for a classification).
    epochs : int or None, default=None
        Epochs of each rate (see :func:`range_epochs`); None: the
        estimator's own.

    Returns
    -------
    test : RangeTest
        With ``grid="skipped"``; :func:`centre_grid` sets what becomes of the
        grid. A test that cannot run (data or parameters the stack refuses)
        has no display and says why.
    """
    start = time.perf_counter()
    epochs = pipeline[-1].epochs if epochs is None else epochs
    split = StratifiedShuffleSplit if is_classifier(pipeline) else ShuffleSplit
    cv = split(n_splits=1, test_size=HELD_OUT, random_state=random_state)
    from matplotlib.figure import Figure  # the display draws; kept off pyplot

    display, reason = None, None
    try:
        # Every rate diverged: the study says so. Ctrl-C stops the study.
        with quiet_unless_interrupted():
            display = LearningRateRangeDisplay.from_estimator(
                pipeline, X, y, epochs=epochs, cv=cv, ax=Figure().add_subplot()
            )
    except ValueError as exc:
        reason = " ".join(str(exc).split())
    seconds = time.perf_counter() - start
    return RangeTest(display, epochs, "skipped", [], random_state, seconds, reason)


def centre_rates(suggested, rates):
    """``rates`` moved so that their geometric middle is ``suggested``.

    The spread of the rates, in factors, is kept: the default grid of
    :class:`~skgd.GDRegressor`, 1e-3 to 10 around 0.1, becomes the
    suggestion times 1e-2 to 1e2. Each rate is rounded to two significant
    digits.

    Examples
    --------
    >>> centre_rates(0.356, [1e-3, 1e-2, 1e-1, 1.0, 10.0])
    [0.0036, 0.036, 0.36, 3.6, 36.0]
    >>> centre_rates(0.92, [1e-3, 1e-2, 1e-1])
    [0.092, 0.92, 9.2]
    """
    middle = np.exp(np.mean(np.log(rates)))
    suggested = _round(suggested)
    return [_round(suggested * rate / middle) for rate in rates]


def _round(value):
    return float(f"{value:.2g}")


def _shown(rate):
    """A rate as the study uses and prints it: two significant digits."""
    return format_value(_round(rate))


def centre_grid(grid, test, given):
    """The grid to study after the range test; sets ``test.grid``.

    Parameters
    ----------
    grid : dict of str to list
        The estimator's grid, by unprefixed parameter name.
    test : RangeTest or None
        None when the range test was not run: the grid is kept.
    given : bool
        Whether ``--param learning_rate`` gave the rates: they are kept.

    Returns
    -------
    grid : dict of str to list
        Without a suggestion, or with rates given, ``grid`` itself.
        Otherwise a copy whose learning rates are centred on the suggestion
        (:func:`centre_rates`) or, in a grid that does not set the rate,
        fixed at it (two significant digits).
    """
    if test is None:
        return grid
    if test.display is not None and not given and test.suggested is not None:
        rates = grid.get("learning_rate")
        test.grid = "fixed" if rates is None else "centred"
        # One rate centred on the suggestion is the suggestion, rounded.
        rates = [test.suggested] if rates is None else rates
        grid = {**grid, "learning_rate": centre_rates(test.suggested, rates)}
    elif test.display is not None:
        test.grid = "given" if given else "default"
    test.grid_rates = list(grid.get("learning_rate", []))
    return grid


def _rates_text(rates):
    """The rates in a list, or the estimator's own when the grid sets none."""
    if not rates:
        return "the estimator's default"
    return ", ".join(format_value(float(rate)) for rate in rates)


def _grid_text(test):
    """What became of the grid's learning rates, in a few words."""
    rates = _rates_text(test.grid_rates)
    return {
        "centred": f"grid centred on it: {rates}",
        "fixed": f"learning_rate set to it: {rates}",
        "given": f"--param learning_rate kept: {rates}",
        "default": f"default grid kept: {rates}",
    }[test.grid]


def range_line(name, test):
    """The terminal's line of an estimator's range test.

    E.g. ``"range test: GDRegressor suggests learning_rate=0.22 (30 rates
    from 1e-05 to 10, 50 epochs, 7 diverged); grid centred on it: 0.0022,
    0.022, 0.22, 2.2, 22"``.
    """
    if test.display is None:
        return f"range test: {name} could not run it ({test.reason}); grid kept"
    rates, diverged = test.display.learning_rates, test.display.diverged
    tried = (
        f"{len(rates)} rates from {format_value(rates[0])} to "
        f"{format_value(rates[-1])}, {test.epochs} epochs, {diverged.sum()} diverged"
    )
    if test.suggested is None:
        return f"range test: {name}: every rate diverged ({tried}); {_grid_text(test)}"
    return (
        f"range test: {name} suggests learning_rate={_shown(test.suggested)} "
        f"({tried}); {_grid_text(test)}"
    )


def _lowest(display):
    """The rate of the lowest validation loss."""
    ok = ~display.diverged
    return display.learning_rates[ok][np.argmin(display.val_loss[ok])]


def _diverged_text(display):
    """``"7 rates, from 0.57 up, diverged"``, or that none did."""
    n = int(display.diverged.sum())
    if n == 0:
        return "none diverged"
    first = _shown(display.learning_rates[display.diverged][0])
    above = display.learning_rates >= display.learning_rates[display.diverged][0]
    where = f", from {first} up," if display.diverged[above].all() else ""
    return f"{n} rate{'s' if n > 1 else ''}{where} diverged"


def range_text(test):
    """The report's sentences on an estimator's range test.

    They say how the test ran, where the validation loss is lowest, which
    rates diverged, the suggested rate and its rule, and what became of the
    grid's learning rates.
    """
    if test.display is None:
        return (
            f"The learning-rate range test could not run ({test.reason}), so the "
            "grid is kept as it was."
        )
    display = test.display
    rates = display.learning_rates
    text = (
        f"The range test trained {len(rates)} constant learning rates from "
        f"{format_value(rates[0])} to {format_value(rates[-1])} for {test.epochs} "
        f"epoch{'s' if test.epochs > 1 else ''} each, in one stacked run on "
        f"{1 - HELD_OUT:.0%} of the rows, and scored each on the other "
        f"{HELD_OUT:.0%}."
    )
    if test.suggested is None:
        return text + (
            " Every rate diverged, so nothing is suggested: the grid's learning "
            f"rates are kept ({_rates_text(test.grid_rates)})."
        )
    text += (
        f" The validation loss is lowest at {_shown(_lowest(display))}; "
        f"{_diverged_text(display)}. It suggests learning_rate = "
        f"{_shown(test.suggested)}, the rate of the lowest validation loss "
        "after as many epochs as the grid trains."
    )
    rates = _rates_text(test.grid_rates)
    if test.grid == "centred":
        span = (min(test.grid_rates), max(test.grid_rates))
        low, high = (_shown(rate / _round(test.suggested)) for rate in span)
        return text + (
            f" The grid's learning rates are centred on it: {rates}, from "
            f"{low} to {high} times the suggestion, as the default grid "
            "spreads them around its middle."
        )
    if test.grid == "fixed":
        return text + (
            " The grid does not vary the learning rate, so it is set to the "
            f"suggestion: {rates}."
        )
    return text + f" The learning rates given by --param are kept: {rates}."


def range_alt(test):
    """The alt text of the range test's figure: what it shows, in short."""
    display = test.display
    if test.suggested is None:
        return "Every learning rate diverged; nothing is suggested."
    lowest = _shown(_lowest(display))
    return (
        f"Validation loss is lowest near {lowest}; "
        f"{_diverged_text(display)}; suggested "
        f"{_shown(test.suggested)}."
    )


def range_caption(name, test):
    """The caption of the range test's figure."""
    return (
        f"{name}: learning-rate range test: training and validation loss after "
        f"{test.epochs} epoch{'s' if test.epochs > 1 else ''} at each constant "
        f"rate, {HELD_OUT:.0%} of the rows held out, on log axes. A cross marks "
        "each rate that diverged; the dotted line is the suggested rate, which "
        "the grid takes to two significant digits."
    )


def range_figure(test, figure):
    """Draw the range test on ``figure``, its legend below the axes."""
    test.display.plot(ax=figure.add_subplot())
    outside_legend(figure, ncols=2)
    return figure


def range_record(name, test):
    """The range test's numbers, for ``range_test.json``."""
    record = {
        "estimator": name,
        "epochs": test.epochs,
        "held_out": HELD_OUT,
        "random_state": test.random_state,
    }
    display = test.display
    if display is not None:
        record |= {
            "learning_rates": display.learning_rates.tolist(),
            "train_loss": display.train_loss.tolist(),
            "val_loss": display.val_loss.tolist(),
            "diverged": display.diverged.tolist(),
            "suggested_learning_rate": test.suggested,
        }
    return record | {
        "grid": test.grid,
        "grid_learning_rates": test.grid_rates,
        "seconds": test.seconds,
        "error": test.reason,
    }
