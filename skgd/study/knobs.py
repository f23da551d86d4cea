"""The knobs of a study in words: which matter, and what each one does.

A knob is a parameter that the grid varies. Along one knob, the other knobs
stay at the best candidate's values (:func:`knob_rows`). How much the mean
validation score moves along it ranks the knobs (:func:`rank_knobs`), and
:func:`knob_sentence` says what the curve shows: where the score is highest,
and on each side of it whether the score hardly changes, the model underfits
(the training score falls too) or overfits (the training score holds while
the validation score falls: the gap widens), and where the fits diverge.

The best candidate's nearest neighbours along the first knob that
regularizes (:data:`REGULARIZERS`) are picked by :func:`neighbours`, for
their learning curves.
"""

import math
from typing import NamedTuple

from .tables import format_value, is_number

#: A validation score (R² or accuracy) that moves by less than this along a
#: knob "hardly changes": the third decimal the tables show, rounded up to
#: what a reader would call a difference.
FLAT = 0.01

#: The knobs that regularize, in the order the learning curves prefer them,
#: with the direction of more regularization: +1 when a larger value holds
#: the model back more (the penalty, dropout), -1 when it frees it (the width
#: of the hidden layers, the epochs).
REGULARIZERS = {"alpha": 1, "dropout": 1, "hidden_layer_sizes": -1, "epochs": -1}


class Point(NamedTuple):
    """One candidate along a knob: its value and mean scores over the folds.

    Attributes
    ----------
    value : object
        The knob's value.
    val, train, gap : float
        Mean validation and training score, and training minus validation
        (NaN when the candidate failed).
    failed : bool
        Whether some fold raised.
    diverged : bool
        Whether every error was a divergence.
    """

    value: object
    val: float
    train: float
    gap: float
    failed: bool = False
    diverged: bool = False


def _order(value):
    """A sort key: a number, or the total units of a tuple of layer sizes."""
    return value if is_number(value) else sum(value)


def knob_rows(study, param):
    """The candidates equal to the best in every parameter but ``param``.

    Parameters
    ----------
    study : EstimatorStudy
        With a best candidate.
    param : str
        A parameter of the grid.

    Returns
    -------
    rows : list of dict
        In the order of ``param``'s values when they are numbers or tuples of
        numbers (layer sizes, by their total units), else in grid order.
    """
    best = study.rows[study.best]["params"]
    rows = [
        row
        for row in study.rows
        if all(row["params"][k] == v for k, v in best.items() if k != param)
    ]
    values = [row["params"][param] for row in rows]
    if all(is_number(v) or _is_sizes(v) for v in values):
        rows.sort(key=lambda row: _order(row["params"][param]))
    return rows


def _is_sizes(value):
    return isinstance(value, tuple | list) and all(map(is_number, value))


def knob_points(study, param):
    """The candidates along ``param`` (see :func:`knob_rows`) as points.

    Returns
    -------
    points : list of Point
    """
    keys = ("mean_val_score", "mean_train_score", "gap", "failed", "diverged")
    return [
        Point(row["params"][param], *(row[key] for key in keys))
        for row in knob_rows(study, param)
    ]


def movement(points):
    """How much the mean validation score moves along a knob.

    Parameters
    ----------
    points : list of Point

    Returns
    -------
    spread : float
        The highest minus the lowest validation score of the points that did
        not fail; NaN when none did.

    Examples
    --------
    >>> movement([Point(0, 0.5, 0.6, 0.1), Point(1, 0.2, 0.2, 0.0)])
    0.3
    """
    scores = [p.val for p in points if not p.failed and math.isfinite(p.val)]
    return round(max(scores) - min(scores), 12) if scores else math.nan


def rank_knobs(study):
    """The varied parameters of a study, the one that matters most first.

    Parameters
    ----------
    study : EstimatorStudy
        With a best candidate.

    Returns
    -------
    ranked : list of tuple
        ``(param, spread)``, by decreasing :func:`movement` of the validation
        score along the knob (the other knobs at their best); ties keep the
        grid's order.
    """
    spreads = [(p, movement(knob_points(study, p))) for p in study.varied]
    return sorted(
        spreads, key=lambda item: -item[1] if item[1] == item[1] else math.inf
    )


def _at(param, value):
    return f"{param} = {format_value(value)}"


#: Why a model underfits on one side of the best learning rate.
_UNDERFIT_WHY = {
    ("learning_rate", "below"): ": the steps are too small to converge in the "
    "epochs given",
    ("learning_rate", "above"): ": the steps overshoot",
}


def _side(peak, end, param, label, side):
    """What happens between the peak and the farthest point on one side."""
    at = f"{end.val:.3f} at {_at(param, end.value)}"
    if peak.val - end.val < FLAT:
        return f"it hardly changes ({at})"
    if peak.train - end.train > FLAT:
        falls = f"training {label} falls too, to {end.train:.3f}"
        why = _UNDERFIT_WHY.get((param, side), "")
        return f"the model underfits{why} ({at}; {falls})"
    return (
        f"the model overfits ({at}; the gap widens from {peak.gap:.3f} to "
        f"{end.gap:.3f})"
    )


def _failures(points, param):
    """``"; at learning_rate = 1 and 10 the fits diverge"``, or ``""``."""
    failed = [p for p in points if p.failed]
    if not failed:
        return ""
    values = [format_value(p.value) for p in failed]
    listed = values[0] if len(values) == 1 else ", ".join(values[:-1])
    listed += f" and {values[-1]}" if len(values) > 1 else ""
    verb = "diverge" if all(p.diverged for p in failed) else "fail"
    return f"; at {param} = {listed} the fits {verb}"


def knob_sentence(param, points, label="R²"):
    """One sentence saying what the validation score does along a knob.

    Parameters
    ----------
    param : str
        The knob.
    points : list of Point
        Its candidates, in the order of its values (see :func:`knob_points`).
    label : str, default="R²"
        The score, in words.

    Returns
    -------
    sentence : str
        Where the validation score is highest; on each side, whether it hardly
        changes (by less than :data:`FLAT`), underfits or overfits (for
        values in order: numbers, layer sizes; other values are listed with
        their scores); which values failed. "Does not matter much" when the
        score moves by less than :data:`FLAT`.

    Examples
    --------
    >>> points = [Point(0.0, 0.48, 0.60, 0.12), Point(0.1, 0.50, 0.55, 0.05),
    ...           Point(10.0, 0.20, 0.21, 0.01)]
    >>> print(knob_sentence("alpha", points))
    Validation R² peaks at alpha = 0.1 (0.500); below that the model overfits \
(0.480 at alpha = 0; the gap widens from 0.050 to 0.120); above that the model \
underfits (0.200 at alpha = 10; training R² falls too, to 0.210).
    """
    ok = [p for p in points if not p.failed]
    failures = _failures(points, param)
    if not ok:
        return f"Every value of {param} tried failed{failures}."
    peak = max(ok, key=lambda p: p.val)
    spread = movement(ok)
    if len(ok) == 1:
        text = f"Only {_at(param, peak.value)} trains ({label} {peak.val:.3f})"
    elif spread < FLAT:
        text = (
            f"{param} does not matter much here: validation {label} stays within "
            f"{spread:.3f} of {peak.val:.3f} over the values tried"
        )
    elif not all(is_number(p.value) or _is_sizes(p.value) for p in ok):
        others = ", ".join(
            f"{format_value(p.value)} {p.val:.3f}" for p in ok if p != peak
        )
        text = (
            f"Validation {label} is highest at {_at(param, peak.value)} "
            f"({peak.val:.3f}); the others: {others}"
        )
    else:
        text = _shape(peak, ok, param, label)
    return f"{text}{failures}."


def _shape(peak, ok, param, label):
    """Where the validation score peaks, and what each side does."""
    i = ok.index(peak)
    below, above = ok[:i], ok[i + 1 :]
    where = f"({peak.val:.3f})"
    if not below:
        text = f"Validation {label} is highest at the smallest {param} tried, "
        text += f"{format_value(peak.value)} {where}"
    elif not above:
        text = f"Validation {label} is highest at the largest {param} tried, "
        text += f"{format_value(peak.value)} {where}"
    else:
        text = f"Validation {label} peaks at {_at(param, peak.value)} {where}"
    if below:
        text += f"; below that {_side(peak, below[0], param, label, 'below')}"
    if above:
        text += f"; above that {_side(peak, above[-1], param, label, 'above')}"
    return text


def rank_text(ranked, label="R²"):
    """The knobs ranked, in a sentence.

    Parameters
    ----------
    ranked : list of tuple
        From :func:`rank_knobs`.
    label : str, default="R²"

    Returns
    -------
    text : str

    Examples
    --------
    >>> rank_text([("learning_rate", 1.6), ("alpha", 0.005)])
    'The knobs, by how much the validation R² moves along each (the others \
at their best): learning_rate 1.600, alpha 0.005.'
    """
    listed = ", ".join(
        f"{param} {spread:.3f}" if math.isfinite(spread) else f"{param} (failed)"
        for param, spread in ranked
    )
    return (
        f"The knobs, by how much the validation {label} moves along each (the "
        f"others at their best): {listed}."
    )


def neighbours(study):
    """The best candidate's nearest less and more regularized neighbours.

    Along the first knob of :data:`REGULARIZERS` that the grid varies, the
    other knobs at their best: the nearest candidate on each side of the
    best that did not fail.

    Parameters
    ----------
    study : EstimatorStudy
        With a best candidate.

    Returns
    -------
    param : str or None
        The knob; None when the grid varies none of them.
    rows : dict of str to dict
        ``"less regularized"`` and ``"more regularized"`` rows of the study,
        those that exist.
    """
    param = next((p for p in REGULARIZERS if p in study.varied), None)
    if param is None:
        return None, {}
    rows = knob_rows(study, param)
    i = rows.index(study.rows[study.best])
    lower = next((r for r in reversed(rows[:i]) if not r["failed"]), None)
    upper = next((r for r in rows[i + 1 :] if not r["failed"]), None)
    if REGULARIZERS[param] < 0:
        lower, upper = upper, lower
    found = {"less regularized": lower, "more regularized": upper}
    return param, {label: row for label, row in found.items() if row is not None}
