"""The figures of ``skgd study``, and their captions.

Every figure has its legend below the axes, off the curves; a candidate
that failed is a cross at the foot of the axes. matplotlib is imported only
by the functions that draw, and draws without pyplot.
"""

import numpy as np

from .axes import XAxis, limit_scores, outside_legend
from .tables import is_number

#: Size of every figure, in inches, and the resolution of its PNG.
FIGSIZE = (6.4, 4.0)


DPI = 150


def _figure():
    from matplotlib.figure import Figure  # Agg renders it: no pyplot, no GUI

    return Figure(figsize=FIGSIZE, layout="constrained")


def _slice(study, param):
    """Rows equal to the best candidate in every parameter but ``param``."""
    best = study.rows[study.best]["params"]
    rows = [
        row
        for row in study.rows
        if all(row["params"][k] == v for k, v in best.items() if k != param)
    ]
    if all(is_number(row["params"][param]) for row in rows):
        rows.sort(key=lambda row: row["params"][param])
    return rows


def _failed(rows, param):
    return [row["params"][param] for row in rows if row["failed"]]


def _failed_label(rows):
    """ "diverged" when every failed candidate diverged, else "failed"."""
    diverged = all(row["diverged"] for row in rows if row["failed"])
    return "diverged" if diverged else "failed"


def validation_curve_figure(study, param):
    """Mean training and validation score (±1 std) against one parameter.

    The score is R² or accuracy; the distance between the two curves is the
    generalization gap. The other parameters stay at the best candidate's values, whose
    setting is a dashed line; a candidate that failed is a cross at the foot of the
    axes. A parameter spanning decades is on a log axis, with 0 apart at its left (see
    :func:`~skgd.study.axes.x_scale`), and the legend is below the axes.

    Parameters
    ----------
    study : EstimatorStudy
        With a best candidate; the other parameters stay at its values.
    param : str
        A varied parameter of the grid.

    Returns
    -------
    figure : matplotlib Figure
    """
    figure = _figure()
    rows = _slice(study, param)
    values = [row["params"][param] for row in rows]
    axis = XAxis(figure, param, values)
    bands = []
    for split, label in (("train", "training"), ("val", "validation")):
        mean = np.array([row[f"mean_{split}_score"] for row in rows])
        std = np.array([row[f"std_{split}_score"] for row in rows])
        axis.plot(values, mean, std, label=label)
        bands += [mean - std, mean + std]
    axis.vline(study.rows[study.best]["params"][param], label="best setting")
    if _failed(rows, param):
        axis.mark(_failed(rows, param), label=_failed_label(rows))
    limit_scores(axis.ax, study.task, np.concatenate(bands))
    axis.axes[0].set_ylabel(study.task.label)
    axis.title(f"{study.name}: {study.task.label} against {param}")
    outside_legend(figure)
    return figure


def training_curve_figure(study):
    """Per-epoch training and validation loss of the refitted best model.

    The validation score of each epoch (R² or accuracy) is on a twin axis;
    the legend is below the axes.

    Parameters
    ----------
    study : EstimatorStudy
        With ``model`` set.

    Returns
    -------
    figure : matplotlib Figure
    """
    from .._plotting import TrainingCurveDisplay

    figure = _figure()
    ax = figure.add_subplot()
    TrainingCurveDisplay.from_estimator(study.model[-1], ax=ax, logy=True)
    ax.set_title("")
    figure.suptitle(f"{study.name}: best candidate, 20% held out", fontsize="medium")
    outside_legend(figure)
    return figure


def learning_rate_figure(studies):
    """Validation score against the learning rate, one line per estimator.

    On a log axis, the other parameters of each estimator at its best
    candidate's values; a candidate that failed is a cross at the foot of
    the axes, and the legend is below them.

    Parameters
    ----------
    studies : list of EstimatorStudy
        Those with a best candidate and a varied ``learning_rate``, all of
        one task.

    Returns
    -------
    figure : matplotlib Figure
    """
    figure = _figure()
    task = studies[0].task
    slices = [_slice(study, "learning_rate") for study in studies]
    every = [row["params"]["learning_rate"] for rows in slices for row in rows]
    axis = XAxis(figure, "learning_rate", every)
    scores = []
    for study, rows in zip(studies, slices):
        values = [row["params"]["learning_rate"] for row in rows]
        y = [row["mean_val_score"] for row in rows]
        color = axis.plot(values, y, label=study.name)
        if _failed(rows, "learning_rate"):
            label = f"{study.name}: {_failed_label(rows)}"
            axis.mark(_failed(rows, "learning_rate"), label=label, color=color)
        scores += y
    limit_scores(axis.ax, task, scores)
    axis.axes[0].set_ylabel(f"validation {task.label}")
    axis.title(f"Validation {task.label} against the learning rate")
    outside_legend(figure, ncols=2)
    return figure


def _lr_studies(studies):
    return [
        study
        for study in studies
        if study.best is not None
        and "learning_rate" in study.varied
        and all(is_number(v) and v >= 0 for v in study.grid["learning_rate"])
    ]


def figures(studies):
    """Every figure of the report, by file name.

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    figures : dict of str to matplotlib Figure
    """
    drawn = {}
    for study in studies:
        if study.best is None:
            continue
        for param in study.varied:
            name = f"{study.key}_validation_{param}.png"
            drawn[name] = validation_curve_figure(study, param)
        if study.model is not None:
            drawn[f"{study.key}_training_curve.png"] = training_curve_figure(study)
    if _lr_studies(studies):
        drawn["learning_rate_sweep.png"] = learning_rate_figure(_lr_studies(studies))
    return drawn


def _failed_text(rows, param):
    """The caption's sentence on the crosses of failed candidates, or ""."""
    failed = _failed(rows, param)
    if not failed:
        return ""
    return f" A cross marks each candidate that {_failed_label(rows)} ({len(failed)})."


def captions(studies, n_splits):
    """The caption of each figure of :func:`figures`, by file name.

    Parameters
    ----------
    studies : list of EstimatorStudy
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    captions : dict of str to str
    """
    label = studies[0].task.label
    text = {}
    for study in studies:
        if study.best is None:
            continue
        for param in study.varied:
            rows = _slice(study, param)
            text[f"{study.key}_validation_{param}.png"] = (
                f"{study.name}: training and validation {label} against {param}, "
                "the other parameters at the best setting (dashed line): mean over "
                f"the {n_splits} folds, shaded ±1 standard deviation. The distance "
                "between the curves is the generalization gap."
                + _failed_text(rows, param)
            )
        if study.model is None:
            continue
        text[f"{study.key}_training_curve.png"] = (
            f"{study.name}: the best setting refitted on all the data with 20% held "
            "out: training and validation loss per epoch (log scale, left axis) "
            f"and validation {label} (right axis)."
        )
    lr = _lr_studies(studies)
    if lr:
        failed = any(
            _failed(_slice(study, "learning_rate"), "learning_rate") for study in lr
        )
        text["learning_rate_sweep.png"] = (
            f"Validation {label} against the learning rate, each estimator with its "
            "other parameters at its best setting."
            + (" A cross marks each candidate that failed." if failed else "")
        )
    return text
