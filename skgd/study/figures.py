"""The figures of ``skgd study``, and their captions.

Each estimator has a figure of its learning-rate range test
(:func:`skgd.study.rangetest.range_figure`); each knob a figure of the
training and validation score against it, the other knobs at their best
(:func:`validation_curve_figure`); each estimator the learning curves of its
best candidate and of its nearest less and more regularized neighbours
(:func:`learning_curves_figure`); and the estimators together their
validation score against the learning rate (:func:`learning_rate_figure`).
Every figure has its legend below the axes, off the curves, and every finite
point inside them; a candidate that failed is a cross at the foot of the
axes. matplotlib is imported only by the functions that draw, and draws
without pyplot.
"""

import numpy as np

from .axes import XAxis, limit_scores, outside_legend, symlog_scores
from .knobs import knob_rows, neighbours
from .rangetest import range_caption, range_figure
from .tables import format_value, is_number

#: Size of every figure, in inches, and the resolution of its PNG.
FIGSIZE = (6.4, 4.0)
DPI = 150


def _figure():
    from matplotlib.figure import Figure  # Agg renders it: no pyplot, no GUI

    return Figure(figsize=FIGSIZE, layout="constrained")


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
    rows = knob_rows(study, param)
    values = [row["params"][param] for row in rows]
    axis = XAxis(figure, param, values)
    for split, label in (("train", "training"), ("val", "validation")):
        mean = np.array([row[f"mean_{split}_score"] for row in rows])
        std = np.array([row[f"std_{split}_score"] for row in rows])
        axis.plot(values, mean, std, label=label)
    axis.vline(study.rows[study.best]["params"][param], label="best setting")
    if _failed(rows, param):
        axis.mark(_failed(rows, param), label=_failed_label(rows))
    limit_scores(axis.ax, study.task, _bands(rows))
    axis.axes[0].set_ylabel(study.task.label)
    axis.title(f"{study.name}: {study.task.label} against {param}")
    outside_legend(figure)
    return figure


def curve_models(study):
    """The refitted models whose learning curves are drawn, by label.

    Parameters
    ----------
    study : EstimatorStudy

    Returns
    -------
    models : dict of str to Pipeline
        The best candidate's, then its less and more regularized
        neighbours', each label naming the knob's value (e.g. ``"best:
        alpha=0.1"``, ``"more regularized: alpha=1"``);
        empty when the best candidate has no refitted model.
    """
    if study.model is None:
        return {}
    best = study.rows[study.best]["params"]
    param, _ = neighbours(study)
    shown = f": {param}={format_value(best[param])}" if study.neighbours else ""
    models = {f"best{shown}": study.model}
    for label, (row, model) in study.neighbours.items():
        changed = {k: v for k, v in row["params"].items() if v != best[k]}
        setting = ", ".join(f"{k}={format_value(v)}" for k, v in changed.items())
        models[f"{label}: {setting}"] = model
    return models


def learning_curves_figure(study):
    """Per-epoch loss of the best candidate and its regularized neighbours.

    Each model refitted on all the data, 20% held out: its validation loss
    a solid line, its training loss (the objective, penalty included) a
    dashed one of the same colour, on a log axis when every loss is
    positive; the legend is below the axes.

    Parameters
    ----------
    study : EstimatorStudy
        With ``model`` set, and maybe ``neighbours``.

    Returns
    -------
    figure : matplotlib Figure
    """
    figure = _figure()
    ax = figure.add_subplot()
    losses = []
    for i, (label, model) in enumerate(curve_models(study).items()):
        history = model[-1].history_
        epochs = [record["epoch"] for record in history]
        for key, style in (("val_loss", "-"), ("train_loss", "--")):
            loss = [record[key] for record in history]
            name = label if key == "val_loss" else "_train"
            ax.plot(epochs, loss, style, color=f"C{i}", label=name)
            losses += loss
    ax.plot([], [], "--", color="0.4", label="training loss (dashed)")
    finite = np.asarray(losses, dtype=float)
    if np.all(finite[np.isfinite(finite)] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (solid)")
    figure.suptitle(f"{study.name}: learning curves, 20% held out", fontsize="medium")
    outside_legend(figure, ncols=2)
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
    slices = [knob_rows(study, "learning_rate") for study in studies]
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


def _range_tested(study):
    """Whether the study has a range test to draw."""
    return study.range_test is not None and study.range_test.display is not None


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
        if _range_tested(study):
            name = f"{study.key}_range_test.png"
            drawn[name] = range_figure(study.range_test, _figure())
        if study.best is None:
            continue
        for param in study.varied:
            name = f"{study.key}_validation_{param}.png"
            drawn[name] = validation_curve_figure(study, param)
        if study.model is not None:
            drawn[f"{study.key}_learning_curves.png"] = learning_curves_figure(study)
    if _lr_studies(studies):
        drawn["learning_rate_sweep.png"] = learning_rate_figure(_lr_studies(studies))
    return drawn


def _failed_text(rows, param):
    """The caption's sentence on the crosses of failed candidates, or ""."""
    failed = _failed(rows, param)
    if not failed:
        return ""
    return f" A cross marks each candidate that {_failed_label(rows)} ({len(failed)})."


def _symlog_text(task, values):
    """The caption's sentence on a symmetric log axis, or ""."""
    if not symlog_scores(task, values):
        return ""
    return (
        f" {task.label} below -1 is on a log scale (linear from -1 to 1), so "
        "that every point stays in the figure."
    )


def _bands(rows):
    """The edges of the ±1 std bands of the training and validation score."""
    edges = []
    for split in ("train", "val"):
        mean = np.array([row[f"mean_{split}_score"] for row in rows])
        std = np.array([row[f"std_{split}_score"] for row in rows])
        edges += [mean - std, mean + std]
    return np.concatenate(edges)


def validation_caption(study, param, n_splits):
    """The caption of :func:`validation_curve_figure`.

    Parameters
    ----------
    study : EstimatorStudy
    param : str
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    caption : str
    """
    label = study.task.label
    rows = knob_rows(study, param)
    return (
        f"{study.name}: training and validation {label} against {param}, the "
        "other knobs at the best setting (dashed line): mean over the "
        f"{n_splits} folds, shaded ±1 standard deviation. The distance between "
        "the curves is the generalization gap."
        + _failed_text(rows, param)
        + _symlog_text(study.task, _bands(rows))
    )


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
    text = {}
    for study in studies:
        if _range_tested(study):
            name = f"{study.key}_range_test.png"
            text[name] = range_caption(study.name, study.range_test)
        if study.best is None:
            continue
        for param in study.varied:
            name = f"{study.key}_validation_{param}.png"
            text[name] = validation_caption(study, param, n_splits)
        if study.model is not None:
            text[f"{study.key}_learning_curves.png"] = _curves_caption(study)
    lr = _lr_studies(studies)
    if lr:
        text["learning_rate_sweep.png"] = _sweep_caption(lr)
    return text


def _curves_caption(study):
    models = list(curve_models(study))
    named = [
        label.replace(": ", " (") + ")" if ": " in label else label for label in models
    ]
    shown = named[0].replace("best", "the best setting", 1)
    if len(named) > 1:
        shown += f" and its nearest {' and '.join(named[1:])} neighbours"
    return (
        f"{study.name}: learning curves of {shown}, each refitted on all the "
        "data with 20% held out: validation loss per epoch (solid) and "
        "training loss, the penalty included (dashed). Where the validation "
        "loss turns up while the training loss goes on down, the model "
        "overfits."
    )


def _sweep_caption(studies):
    label = studies[0].task.label
    slices = [knob_rows(study, "learning_rate") for study in studies]
    failed = any(_failed(rows, "learning_rate") for rows in slices)
    scores = [row["mean_val_score"] for rows in slices for row in rows]
    return (
        f"Validation {label} against the learning rate, each estimator with its "
        "other knobs at its best setting."
        + (" A cross marks each candidate that failed." if failed else "")
        + _symlog_text(studies[0].task, scores)
    )
