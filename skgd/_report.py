"""The report of ``skgd study``: tables, CSV and JSON, figures and one HTML page.

The files of a run are written to a new folder beside ``--out``, which then
takes the place of ``--out`` as a whole (see :func:`write_report`): a run that
fails or is interrupted leaves the previous study as it was.

It reads the :class:`~skgd._study.EstimatorStudy` results that
:mod:`skgd._study` computes, and names the score after the study's task: R²
for a regression, accuracy (and the validation log-loss) for a
classification. matplotlib is imported only by the functions that draw.

The HTML page is for people: it opens with the task chosen and why, a
summary (the best setting of each estimator, its validation score and its
generalization gap, see :func:`summary_rows`), where the best candidate
stands against the baselines (:func:`standing_text`) and their table, then
the description of the data (preformatted when it spans several lines, such
as a printed pipeline), then each estimator's
table and figures with captions. Every figure has its legend below the axes
(:func:`outside_legend`), off the curves; a parameter spanning decades is on
a log axis, with 0 on a narrow axis of its own at the left (:func:`x_scale`);
a candidate that failed is a cross at the foot of the axes.
"""

import base64
import csv
import html
import json
import math
import os
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._cli import format_seconds
from ._exceptions import StudyError
from ._signals import sigint_handled
from ._study import LOG_SCALE

# ------------------------------------------------------------------ tables


def format_value(value):
    """Short text of a parameter value or score (``%g`` for floats)."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table_columns(study):
    """Parameters shown in the table: the varied ones, else the whole grid."""
    return study.varied or list(study.grid)


#: Column headers of the scores besides the metric, by score name.
_EXTRA_HEADERS = {"val_log_loss": "valid log-loss"}


def _extra_scores(task):
    """The scores of a task besides the metric, e.g. ``["val_log_loss"]``."""
    return [name for name in task.score_names if name not in ("train", "val")]


def ascii_text(text):
    """Text for any terminal: ``R2`` for ``R²``, ``+/-`` for ``±``."""
    return text.replace("²", "2").replace("±", "+/-")


def _score_text(value):
    return f"{value:.3f}" if math.isfinite(value) else "n/a"


def _row_cells(row, columns, extras, n_folds, is_best):
    cells = [format_value(row["params"][name]) for name in columns]
    if row["failed"]:
        word = "diverged" if row["diverged"] else "failed"
        if row["failed_folds"] < n_folds:
            word += f" {row['failed_folds']}/{n_folds}"
        return [*cells, word, *[""] * (len(extras) + 4)]
    scores = [row["mean_train_score"], row["mean_val_score"], row["gap"]]
    scores += [row[f"mean_{name}"] for name in extras]
    fit = f"{row['mean_fit_time']:.3f}"
    return [*cells, *map(_score_text, scores), fit, "<- best" if is_best else ""]


def table_rows(study, n_folds):
    """The table of a study as a header and rows of text cells.

    Parameters
    ----------
    study : EstimatorStudy
    n_folds : int
        Number of cross-validation folds.

    Returns
    -------
    header : list of str
    rows : list of list of str
        One per candidate: the varied parameters, the mean training and
        validation score (R² or accuracy), their gap, the other scores (the
        validation log-loss of a classification, "n/a" without
        probabilities) and the fit time. A failed candidate reads "diverged"
        (or "failed", with "k/n" when only k of the n folds failed) instead of
        scores, and the best ends with "<- best".
    """
    columns = table_columns(study)
    extras = _extra_scores(study.task)
    metric = ascii_text(study.task.label)
    header = [*columns, f"train {metric}", f"valid {metric}", "gap"]
    header += [*(_EXTRA_HEADERS[name] for name in extras), "fit s", ""]
    rows = [
        _row_cells(row, columns, extras, n_folds, i == study.best)
        for i, row in enumerate(study.rows)
    ]
    return header, rows


def format_table(study, n_folds):
    """The text table of a study, with a title line.

    Parameters
    ----------
    study : EstimatorStudy
    n_folds : int
        Number of cross-validation folds.

    Returns
    -------
    text : str
    """
    header, rows = table_rows(study, n_folds)
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    plural = "s" if len(rows) != 1 else ""
    metric = ascii_text(study.task.label)
    size = f"{len(rows)} candidate{plural} x {n_folds} folds"
    lines = [f"{study.name}: {size}, mean {metric}"]
    for cells in [header, *rows]:
        text = [c.rjust(w) for c, w in zip(cells[:-1], widths)]
        lines.append("  ".join([*text, cells[-1]]).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------- summary


def _setting(study, row):
    """The candidate's values of the table's parameters, by name."""
    return {name: row["params"][name] for name in table_columns(study)}


def _setting_text(setting):
    return ", ".join(f"{name}={format_value(v)}" for name, v in setting.items())


def _edge_notes(study, best):
    """Parameters whose best value is the smallest or largest number tried.

    Only for a parameter of three values or more (with two, the best is
    always at an edge), and not for a smallest value of 0 (the natural
    bound of a learning rate, alpha or dropout): a hint to widen the grid.
    """
    notes = []
    for name in study.varied:
        values = study.grid[name]
        if len(values) < 3 or not all(_is_number(v) for v in values):
            continue
        value = best["params"][name]
        if value == max(values):
            notes.append(f"{name}: the largest tried")
        elif value == min(values) and value != 0:
            notes.append(f"{name}: the smallest tried")
    return notes


def summary_rows(studies):
    """The best candidate of each estimator, for the top of the report.

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    rows : list of dict
        One per study, in order: ``name``, ``setting`` (the best values of
        the table's parameters, by name; None when every candidate failed),
        ``val`` and ``val_std`` (mean and standard deviation over the folds
        of its validation score), ``train``, ``gap`` (training minus
        validation), the mean of each other score by name (e.g.
        ``val_log_loss``), ``fit_time``, ``candidates``, ``failed`` (how many
        candidates failed) and ``notes`` (parameters whose best value is at
        an edge of the grid); the scores are NaN without a best.
    """
    rows = []
    for study in studies:
        failed = sum(row["failed"] for row in study.rows)
        extras = _extra_scores(study.task)
        summary = {
            "name": study.name,
            "setting": None,
            "val": math.nan,
            "val_std": math.nan,
            "train": math.nan,
            "gap": math.nan,
            **dict.fromkeys(extras, math.nan),
            "fit_time": math.nan,
            "candidates": len(study.rows),
            "failed": failed,
            "notes": [],
        }
        if study.best is not None:
            best = study.rows[study.best]
            summary.update(
                setting=_setting(study, best),
                val=best["mean_val_score"],
                val_std=best["std_val_score"],
                train=best["mean_train_score"],
                gap=best["gap"],
                fit_time=best["mean_fit_time"],
                notes=_edge_notes(study, best),
                **{name: best[f"mean_{name}"] for name in extras},
            )
        rows.append(summary)
    return rows


def _candidates_text(summary):
    failed = f" ({summary['failed']} failed)" if summary["failed"] else ""
    return f"{summary['candidates']}{failed}"


def summary_cells(studies):
    """The summary as a header and rows of text cells (see :func:`summary_rows`).

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    header : list of str
    rows : list of list of str
        Estimator, best setting ("every candidate failed" without one),
        validation score ± its standard deviation over the folds, training
        score, gap, the other scores, fit time, candidates (with how many
        failed) and, when some estimator has any, the notes.
    """
    task = studies[0].task
    extras = _extra_scores(task)
    label = task.label
    summaries = summary_rows(studies)
    notes = any(summary["notes"] for summary in summaries)
    header = ["estimator", "best setting", f"valid {label} ± std", f"train {label}"]
    header += ["gap", *(_EXTRA_HEADERS[name] for name in extras)]
    header += ["fit s", "candidates", *(["notes"] if notes else [])]
    rows = []
    for summary in summaries:
        if summary["setting"] is None:
            cells = [summary["name"], "every candidate failed"]
            cells += [""] * (len(extras) + 4) + [_candidates_text(summary)]
        else:
            val = _score_text(summary["val"]) + " ± " + _score_text(summary["val_std"])
            scores = [summary["train"], summary["gap"]]
            scores += [summary[name] for name in extras]
            cells = [summary["name"], _setting_text(summary["setting"]), val]
            cells += [*map(_score_text, scores), f"{summary['fit_time']:.3f}"]
            cells.append(_candidates_text(summary))
        rows.append(cells + (["; ".join(summary["notes"])] if notes else []))
    return header, rows


def format_summary(studies):
    """The summary in plain text: one line per estimator.

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    text : str
        E.g. "GDRegressor: best learning_rate=0.1, valid R2 0.492 +/- 0.031,
        gap 0.017".
    """
    label = ascii_text(studies[0].task.label)
    lines = []
    for summary in summary_rows(studies):
        if summary["setting"] is None:
            lines.append(f"{summary['name']}: every candidate failed")
            continue
        val = f"{_score_text(summary['val'])} +/- {_score_text(summary['val_std'])}"
        lines.append(
            f"{summary['name']}: best {_setting_text(summary['setting'])}, "
            f"valid {label} {val}, gap {_score_text(summary['gap'])}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------- baselines


def _best_overall(studies):
    """The study whose best candidate has the highest validation score, or None."""
    found = [study for study in studies if study.best is not None]
    return max(found, key=lambda st: st.rows[st.best]["mean_val_score"], default=None)


def _against(value, baseline):
    """``"0.012 above RidgeCV (0.464)"``, ``"level with ..."``, to 3 decimals."""
    other = baseline.row["mean_val_score"]
    score = _score_text(other)
    if baseline.kind == "dummy":
        label = f"the dummy model ({baseline.what}: {score})"
    else:
        label = f"{baseline.name} ({score})"
    if not math.isfinite(other):
        return f"{baseline.name}, which failed"
    diff = round(value, 3) - round(other, 3)
    if abs(diff) < 5e-4:
        return f"level with {label}"
    return f"{abs(diff):.3f} {'above' if diff > 0 else 'below'} {label}"


def standing_text(studies, baselines):
    """Where the best skgd candidate stands against the baselines, in words.

    Parameters
    ----------
    studies : list of EstimatorStudy
    baselines : list of skgd._study.Baseline
        From :func:`skgd._study.run_baselines`.

    Returns
    -------
    text : str
        E.g. "The best skgd candidate, GDRegressor with learning_rate=0.01,
        alpha=0.1, has a validation R² of 0.480 ± 0.020: 0.007 below RidgeCV
        (0.487), 0.082 above HistGradientBoostingRegressor (0.398) and 0.481
        above the dummy model (the mean: -0.001)." Then a sentence when it
        does no better than the dummy model, when gradient boosting does best,
        or when the linear model does at least as well.
    """
    label = studies[0].task.label
    by_kind = {baseline.kind: baseline for baseline in baselines}
    study = _best_overall(studies)
    if study is None:
        return "Every skgd candidate failed: only the baselines have scores."
    row = study.rows[study.best]
    value, spread = row["mean_val_score"], row["std_val_score"]
    setting = _setting_text(_setting(study, row))
    comparisons = [_against(value, baseline) for baseline in baselines]
    text = (
        f"The best skgd candidate, {study.name}"
        + (f" with {setting}" if setting else "")
        + f", has a validation {label} of {_score_text(value)} ± "
        f"{_score_text(spread)}: {', '.join(comparisons[:-1])} and "
        f"{comparisons[-1]}."
    )
    # Compared as printed, to 3 decimals, so that the words match the numbers.
    scores = {kind: b.row["mean_val_score"] for kind, b in by_kind.items()}
    scores = {k: round(v, 3) for k, v in scores.items() if math.isfinite(v)}
    value = round(value, 3)
    if "dummy" in scores and value <= scores["dummy"]:
        return text + (
            f" It does no better than the dummy model, which predicts "
            f"{by_kind['dummy'].what} without looking at the features: as the "
            "study uses them, the features predict nothing it could find."
        )
    top = max(scores, key=scores.get, default=None)
    if top == "boosting" and scores[top] > value:
        text += (
            " Gradient boosting does best here, as trees often do on tabular "
            "data: a model trained by gradient descent is worth it where it "
            "comes close, or where it must be one (for partial_fit, say)."
        )
    elif top == "linear" and scores[top] >= value:
        text += (
            f" The closed-form linear model, {by_kind['linear'].name}, does at "
            "least as well."
        )
    return text


def time_text(studies, seconds, baseline_seconds=None):
    """The time the study took and how many fits it stacked, in a sentence.

    Parameters
    ----------
    studies : list of EstimatorStudy
    seconds : float
        The whole study's time, from loading the data to the last score.
    baseline_seconds : float or None, default=None
        The baselines' time, or None without baselines.

    Returns
    -------
    text : str
        E.g. "The study took 42 s: GDRegressor 3 s and MLPRegressor 35 s
        (search and refit), the baselines 4 s; 800 of its 800 fits were
        stacked, trained in runs of many candidates at once."

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> gd = S(name="GDRegressor", seconds=2.5, fits=125, stacked=125)
    >>> time_text([gd], 7.2, 3.1)
    'The study took 8 s: GDRegressor 3 s (search and refit), the baselines \
4 s; 125 of its 125 fits were stacked, trained in runs of many candidates \
at once.'
    """
    parts = [f"{study.name} {format_seconds(study.seconds)}" for study in studies]
    text = f"The study took {format_seconds(seconds)}: " + " and ".join(parts)
    text += " (search and refit)"
    if baseline_seconds is not None:
        text += f", the baselines {format_seconds(baseline_seconds)}"
    fits = sum(study.fits for study in studies)
    stacked = sum(study.stacked for study in studies)
    return (
        f"{text}; {stacked} of its {fits} fits were stacked, trained in runs "
        "of many candidates at once."
    )


def format_baselines(baselines, task, n_folds):
    """The baselines as a text table, with a title line.

    Parameters
    ----------
    baselines : list of skgd._study.Baseline
    task : Task
        The task of the study, for the score's name.
    n_folds : int
        Number of cross-validation folds.

    Returns
    -------
    text : str
    """
    header, rows = baseline_cells(baselines, task)
    widths = [max(len(ascii_text(c)) for c in column) for column in zip(header, *rows)]
    metric = ascii_text(task.label)
    lines = [f"Baselines: the same {n_folds} folds and preprocessing, mean {metric}"]
    for cells in [header, *rows]:
        cells = [ascii_text(cell) for cell in cells]
        text = [cells[0].ljust(widths[0])]
        text += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        lines.append("  ".join(text).rstrip())
    return "\n".join(lines)


def baseline_cells(baselines, task):
    """The baselines as a header and rows of text cells.

    Parameters
    ----------
    baselines : list of skgd._study.Baseline
    task : Task

    Returns
    -------
    header : list of str
        "model", the training and validation score, the gap, the other
        scores (the validation log-loss) and the fit time.
    rows : list of list of str
        One per baseline; "failed" instead of scores for one whose fit
        raised.
    """
    extras = _extra_scores(task)
    metric = task.label
    header = ["model", f"train {metric}", f"valid {metric} ± std", "gap"]
    header += [*(_EXTRA_HEADERS[name] for name in extras), "fit s"]
    rows = []
    for baseline in baselines:
        row = baseline.row
        name = baseline.name + (f" ({baseline.what})" if baseline.what else "")
        if row["failed"]:
            rows.append([name, "failed", *[""] * (len(header) - 2)])
            continue
        mean, std = row["mean_val_score"], row["std_val_score"]
        scores = [row["mean_train_score"], row["gap"]]
        scores += [row[f"mean_{extra}"] for extra in extras]
        train, gap, *others = map(_score_text, scores)
        val = f"{_score_text(mean)} ± {_score_text(std)}"
        rows.append([name, train, val, gap, *others, f"{row['mean_fit_time']:.3f}"])
    return header, rows


def baseline_records(baselines, task):
    """One flat record per baseline, for ``baselines.json``.

    Parameters
    ----------
    baselines : list of skgd._study.Baseline
    task : Task

    Returns
    -------
    records : list of dict
        ``model`` (class name), ``kind`` and the scores of
        :func:`skgd._study.summarize` named by the metric (``mean_val_r2``...).
    """
    return [
        {
            "model": baseline.name,
            "kind": baseline.kind,
            **_name_scores(
                {k: v for k, v in baseline.row.items() if k != "params"}, task.metric
            ),
        }
        for baseline in baselines
    ]


# ----------------------------------------------------------------- outputs


def result_records(studies):
    """One flat record per estimator and candidate, for CSV and JSON.

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    records : list of dict
        ``estimator`` (class name), ``params`` and the scores of
        :func:`skgd._study.summarize`, plus ``best``; the scores are named by
        the metric of the task, e.g. ``mean_val_r2`` or ``mean_val_accuracy``
        for ``mean_val_score``.
    """
    records = []
    for study in studies:
        for i, row in enumerate(study.rows):
            scores = _name_scores(row, study.task.metric)
            records.append({"estimator": study.name, **scores, "best": i == study.best})
    return records


def _name_scores(row, metric):
    """``row`` with each ``*_score`` key renamed ``*_<metric>``."""
    return {_score_key(key, metric): value for key, value in row.items()}


def _score_key(key, metric):
    """``"mean_val_score"`` becomes ``"mean_val_<metric>"``; others stay."""
    if key.endswith("_score"):
        return key.removesuffix("_score") + f"_{metric}"
    return key


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def write_json(records, path):
    """Write the records as a JSON list (NaN as null)."""
    path.write_text(json.dumps(_jsonable(records), indent=2) + "\n", "utf-8")


def write_csv(records, path):
    """Write the records as CSV: ``params`` as JSON, plus a ``param_<name>``
    column per parameter."""
    names = sorted({name for record in records for name in record["params"]})
    fields = ["estimator", "params", *(f"param_{n}" for n in names)]
    fields += [k for k in records[0] if k not in ("estimator", "params")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        for record in records:
            params = record["params"]
            columns = {f"param_{n}": format_value(params[n]) for n in params}
            params_json = json.dumps(_jsonable(params))
            writer.writerow({**record, "params": params_json, **columns})


# ----------------------------------------------------------------- figures

#: Size of every figure, in inches, and the resolution of its PNG.
FIGSIZE = (6.4, 4.0)
DPI = 150

#: Positive values spanning this ratio or more get a log axis, whatever the
#: parameter; those of :data:`skgd._study.LOG_SCALE` get one from two values.
_DECADES = 100.0


def _figure():
    from matplotlib.figure import Figure  # Agg renders it: no pyplot, no GUI

    return Figure(figsize=FIGSIZE, layout="constrained")


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _slice(study, param):
    """Rows equal to the best candidate in every parameter but ``param``."""
    best = study.rows[study.best]["params"]
    rows = [
        row
        for row in study.rows
        if all(row["params"][k] == v for k, v in best.items() if k != param)
    ]
    if all(_is_number(row["params"][param]) for row in rows):
        rows.sort(key=lambda row: row["params"][param])
    return rows


def x_scale(param, values):
    """How a parameter's values are laid out on the x axis.

    Parameters
    ----------
    param : str
        The parameter.
    values : list
        Its values.

    Returns
    -------
    scale : {"log", "log0", "linear", "category"}
        ``"category"`` unless every value is a number; ``"log"`` for
        non-negative numbers of :data:`skgd._study.LOG_SCALE` (learning rate,
        alpha), or whose positive values span a factor of 100 or more;
        ``"log0"`` for such a log axis when 0 is among the values too (drawn
        apart, at the left, as 0 cannot sit on a log axis); ``"linear"``
        otherwise.
    """
    if not values or not all(_is_number(v) for v in values):
        return "category"
    positive = sorted({float(v) for v in values if v > 0})
    if any(v < 0 for v in values) or not positive:
        return "linear"
    spans = len(positive) > 1 and positive[-1] / positive[0] >= _DECADES
    if param not in LOG_SCALE and not spans:
        return "linear"
    return "log0" if any(v == 0 for v in values) else "log"


#: Offsets of the successive curves' points at 0 on the narrow axes (-1 to 1).
_DODGE = (-0.3, 0.3, -0.6, 0.6, 0.0)


class _XAxis:
    """The x axis of a parameter: its axes, and where each value goes.

    On a ``"log0"`` scale (see :func:`x_scale`) the figure has two axes with
    one y axis: a narrow one at the left holding the points at 0, and the log
    axis of the positive values, with break marks between them.

    Attributes
    ----------
    ax : Axes
        The main axes, with the x label, the title and the points not at 0.
    zero_ax : Axes or None
        The axes of the points at 0, on a ``"log0"`` scale.
    axes : list of Axes
        Every axes, the left one first.
    """

    def __init__(self, figure, param, values):
        self.scale = x_scale(param, values)
        self._curves = 0
        if self.scale == "log0":
            self.zero_ax, self.ax = figure.subplots(
                1, 2, sharey=True, width_ratios=[1, 9]
            )
            self._break()
        else:
            self.zero_ax, self.ax = None, figure.add_subplot()
        self.axes = [ax for ax in (self.zero_ax, self.ax) if ax is not None]
        if self.scale in ("log", "log0"):
            self.ax.set_xscale("log")
        if self.scale == "category":
            self.categories = list(dict.fromkeys(map(format_value, values)))
            self.ax.set_xticks(range(len(self.categories)), self.categories)
        self.ax.set_xlabel(param)

    def _break(self):
        """The narrow axes at 0, with marks where the axis is broken."""
        zero, ax = self.zero_ax, self.ax
        zero.set_xlim(-1, 1)
        zero.set_xticks([0], ["0"])
        zero.spines["right"].set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", which="both", left=False, labelleft=False)
        marks = dict(
            marker=[(-1, -2), (1, 2)], markersize=8, linestyle="none",
            color="k", mec="k", mew=1, clip_on=False, label="_break",
        )  # fmt: skip
        zero.plot([1, 1], [0, 1], transform=zero.transAxes, **marks)
        ax.plot([0, 0], [0, 1], transform=ax.transAxes, **marks)

    def _split(self, values, *columns):
        """``(ax, x, *columns)`` for the points at 0 and for the others."""
        columns = [np.asarray(c, dtype=float) for c in columns]
        if self.scale == "category":
            x = np.array([self.categories.index(format_value(v)) for v in values])
            return [(self.ax, x, *columns)]
        x = np.asarray(values, dtype=float)
        if self.zero_ax is None:
            return [(self.ax, x, *columns)]
        at_zero = x == 0
        parts = [(self.zero_ax, at_zero), (self.ax, ~at_zero)]
        return [(ax, x[keep], *(c[keep] for c in columns)) for ax, keep in parts]

    def plot(self, values, y, std=None, *, label, color=None):
        """A curve with markers, and a band of ±``std`` when given.

        Returns
        -------
        color : str
            The colour of the curve.
        """
        std = np.zeros(len(values)) if std is None else std
        # The main axes first, which picks the colour of the points at 0 too.
        for ax, x, mean, dev in reversed(self._split(values, y, std)):
            if ax is self.zero_ax:  # side by side, not one over the other
                x = x + _DODGE[self._curves % len(_DODGE)]
                ax.errorbar(
                    x, mean, yerr=dev, fmt="o", color=color, ecolor=color,
                    elinewidth=6, alpha=0.8, label="_zero",
                )  # fmt: skip
                continue
            (line,) = ax.plot(x, mean, "o-", color=color, label=label)
            color = line.get_color()
            if np.any(dev > 0):
                ax.fill_between(x, mean - dev, mean + dev, color=color, alpha=0.2)
        self._curves += 1
        return color

    def mark(self, values, *, label, color="C3", marker="x"):
        """Markers at the foot of the axes, e.g. for the candidates that failed."""
        for ax, x in self._split(values):
            if x.size:
                y = np.full(x.shape, 0.04)
                ax.plot(
                    x, y, marker, color=color, mew=2, ms=8, linestyle="none",
                    transform=ax.get_xaxis_transform(), label=label, clip_on=False,
                )  # fmt: skip

    def vline(self, value, *, label):
        """A vertical line at ``value``, e.g. the best setting."""
        ((ax, x),) = [part for part in self._split([value]) if part[1].size]
        ax.axvline(x[0], color="0.5", linestyle="--", linewidth=1, label=label)

    def title(self, text):
        """The title of the figure, centred over every axes."""
        self.ax.figure.suptitle(text, fontsize="medium")


def outside_legend(figure, ncols=4):
    """One legend for the whole figure, below the axes, off every curve.

    The handles of every axes are gathered, once per label (those starting
    with "_" left out).

    Parameters
    ----------
    figure : matplotlib Figure
        With ``layout="constrained"``, which makes room for the legend.
    ncols : int, default=4
        Entries per row at most.

    Returns
    -------
    legend : Legend or None
        None when nothing is labelled.
    """
    handles = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not handles:
        return None
    return figure.legend(
        handles.values(), handles.keys(), loc="outside lower center",
        ncols=min(ncols, len(handles)), frameon=False,
    )  # fmt: skip


#: R² below -1 is drawn on a log scale (a symmetric log: linear in [-1, 1]).
_SYMLOG = {"linthresh": 1.0, "linscale": 2.0}


def _limit_scores(ax, task, values):
    """Show every R², however negative, without flattening the rest.

    R² in [-1, 1] is on a linear scale; when some value is below -1 (a
    candidate far from converged, or near divergence), the axis goes on
    below -1 on a log scale (matplotlib's ``symlog``), so that every curve
    stays in view. Only R² is unbounded below; accuracy stays in [0, 1] and
    keeps matplotlib's limits.
    """
    if task.metric != "r2":
        return
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return
    low, high = finite.min(), max(finite.max(), 0.0) + 0.05
    if low >= -1.0:
        ax.set_ylim(low - 0.05, high)
        return
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ax.set_yscale("symlog", **_SYMLOG)  # shared with the axes at 0
    ax.set_ylim(low * 1.3, high)
    # Plain numbers: the linear part every 0.5, then each decade below -1.
    decades = [-(10.0**k) for k in range(math.ceil(math.log10(-low * 1.3)))]
    ticks = [t for t in (-0.5, 0.0, 0.5, 1.0) if t <= high] + decades
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_locator(FixedLocator([]))


def _failed(rows, param):
    return [row["params"][param] for row in rows if row["failed"]]


def _failed_label(rows):
    """ "diverged" when every failed candidate diverged, else "failed"."""
    diverged = all(row["diverged"] for row in rows if row["failed"])
    return "diverged" if diverged else "failed"


def validation_curve_figure(study, param):
    """Mean training and validation score (±1 std) against one parameter.

    The score is R² or accuracy; the distance between the two curves is the
    generalization gap. The other parameters stay at the best candidate's
    values, whose setting is a dashed line; a candidate that failed is a
    cross at the foot of the axes. A parameter spanning decades is on a log
    axis, with 0 apart at its left (see :func:`x_scale`), and the legend is
    below the axes.

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
    axis = _XAxis(figure, param, values)
    bands = []
    for split, label in (("train", "training"), ("val", "validation")):
        mean = np.array([row[f"mean_{split}_score"] for row in rows])
        std = np.array([row[f"std_{split}_score"] for row in rows])
        axis.plot(values, mean, std, label=label)
        bands += [mean - std, mean + std]
    axis.vline(study.rows[study.best]["params"][param], label="best setting")
    if _failed(rows, param):
        axis.mark(_failed(rows, param), label=_failed_label(rows))
    _limit_scores(axis.ax, study.task, np.concatenate(bands))
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
    from ._plotting import TrainingCurveDisplay

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
    axis = _XAxis(figure, "learning_rate", every)
    scores = []
    for study, rows in zip(studies, slices):
        values = [row["params"]["learning_rate"] for row in rows]
        y = [row["mean_val_score"] for row in rows]
        color = axis.plot(values, y, label=study.name)
        if _failed(rows, "learning_rate"):
            label = f"{study.name}: {_failed_label(rows)}"
            axis.mark(_failed(rows, "learning_rate"), label=label, color=color)
        scores += y
    _limit_scores(axis.ax, task, scores)
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
        and all(_is_number(v) and v >= 0 for v in study.grid["learning_rate"])
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


# -------------------------------------------------------------------- HTML


def _html_cells(cells, tag="td"):
    return "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells)


def _html_table(study, n_folds):
    header, rows = table_rows(study, n_folds)
    body = []
    for i, cells in enumerate(rows):
        row = study.rows[i]
        kind = " class='best'" if i == study.best else ""
        kind = " class='failed'" if row["failed"] else kind
        cells = [*cells[:-1], "best" if i == study.best else ""]
        body.append(f"<tr{kind}>{_html_cells(cells)}</tr>")
    head = _html_cells(header, "th")
    return f"<div class='wide'><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _html_baselines(studies, baselines):
    """The baselines' paragraph and table, for the summary; [] without any."""
    if not baselines:
        return []
    header, rows = baseline_cells(baselines, studies[0].task)
    head = _html_cells(header, "th")
    body = "".join(f"<tr>{_html_cells(cells)}</tr>" for cells in rows)
    return [
        f"<p class='standing'>{html.escape(standing_text(studies, baselines))}</p>",
        "<h3 id='baselines'>Baselines</h3>",
        "<p>The same folds and the same preprocessing, each baseline in place "
        "of the estimator: a closed-form linear model, gradient boosting with "
        "its defaults, and the dummy model, which ignores the features.</p>",
        f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>",
    ]


def _html_summary(studies, baselines=None, timing=None):
    header, rows = summary_cells(studies)
    scores = [row["val"] for row in summary_rows(studies)]
    finite = [i for i, value in enumerate(scores) if math.isfinite(value)]
    top = max(finite, key=scores.__getitem__) if len(finite) > 1 else None
    text_columns = {1, len(header) - 1} if header[-1] == "notes" else {1}
    body = "".join(
        f"<tr{' class=best' if i == top else ''}>"
        + "".join(
            f"<td{' class=text' if j in text_columns else ''}>{html.escape(c)}</td>"
            for j, c in enumerate(cells)
        )
        + "</tr>"
        for i, cells in enumerate(rows)
    )
    head = "".join(
        f"<th{' class=text' if j in text_columns else ''}>{html.escape(c)}</th>"
        for j, c in enumerate(header)
    )
    table = (
        f"<div class='wide'><table class='summary'><tr>{head}</tr>{body}</table></div>"
    )
    label = html.escape(studies[0].task.label)
    text = (
        f"The best setting of each estimator is the candidate of the highest mean "
        f"validation {label} over the folds; the gap is its training minus "
        f"validation {label}: the larger, the more it overfits."
    )
    if top is not None:
        text += (
            f" Best overall: <b>{html.escape(studies[top].name)}</b>, validation "
            f"{label} {_score_text(scores[top])}."
        )
    return [
        "<h2 id='summary'>Summary</h2>",
        table,
        f"<p>{text}</p>",
        *_html_baselines(studies, baselines),
        *([f"<p class='time'>{html.escape(timing)}</p>"] if timing else []),
    ]


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


def _html_image(path, caption=""):
    """A figure embedded as a data URI; its alt text is its caption, which says
    what it shows (the file name without one)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(caption or path.stem.replace("_", " "), quote=True)
    caption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"{caption}</figure>"
    )


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:62em;margin:auto;"
    "padding:0 1em 2em;line-height:1.4;color:#222}"
    "h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "td,th{padding:2px 8px;text-align:right;white-space:nowrap}"
    "th{border-bottom:1px solid #888}tr:nth-child(even){background:#f3f3f3}"
    "table.summary th{white-space:normal;vertical-align:bottom}"
    "table.summary .text{text-align:left;white-space:normal;min-width:10em}"
    "tr.best{background:#fff2c2;font-weight:bold}tr.failed{color:#999}"
    ".wide{overflow-x:auto}"
    "p.task,p.standing{background:#eef4fb;border-left:3px solid #4a7fc1;"
    "padding:.4em .7em}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:.6em;"
    "white-space:pre-wrap;overflow-wrap:anywhere}"
    "figure{margin:1.2em 0}img{width:100%;max-width:48em;height:auto}"
    "figcaption{font-size:.9em;color:#555;max-width:48em}"
)


def scoring_text(task, n_splits, pipeline=None):
    """How the study scores, in a sentence of the report.

    Parameters
    ----------
    task : Task
        The task of the study.
    n_splits : int
        Number of cross-validation folds.
    pipeline : Pipeline or None, default=None
        The pipeline of a study, whose steps before the estimator are named;
        "StandardScaler" when None.

    Returns
    -------
    text : str
        E.g. "5-fold cross-validation, R² of a StandardScaler + estimator
        pipeline; the gap is training minus validation R²."
    """
    label = task.label
    if task.classes is None:
        folds, scores = "", label
    else:
        folds, scores = " stratified", f"{label} and validation log-loss"
    steps = "StandardScaler"
    if pipeline is not None and len(pipeline.steps) > 1:
        steps = " + ".join(type(step).__name__ for _, step in pipeline.steps[:-1])
    return (
        f"{n_splits}-fold{folds} cross-validation, {scores} of a {steps} + "
        f"estimator pipeline; the gap is training minus validation {label}."
    )


def _fixed_text(study):
    """The estimator's parameters set apart from the grid, e.g. "epochs=50"."""
    estimator = study.pipeline[-1]
    defaults = type(estimator)().get_params(deep=False)
    fixed = [
        f"{name}={format_value(value)}"
        for name, value in estimator.get_params(deep=False).items()
        if name not in study.grid and repr(value) != repr(defaults.get(name))
    ]
    return ", ".join(fixed) or "none"


def _html_description(description, task, n_splits, pipeline):
    """The introduction: the data and how it is scored.

    A one-line description opens the first paragraph; a longer one (such as
    the printed pipeline) is preformatted text after the summary.

    Returns
    -------
    intro : str
    details : list of str
    """
    scoring = html.escape(scoring_text(task, n_splits, pipeline))
    text = description.strip("\n")
    if "\n" not in text:
        return f"<p>{html.escape(text)}; {scoring}</p>", []
    details = [
        "<h2 id='data'>Data and pipeline</h2>",
        f"<pre>{html.escape(text)}</pre>",
    ]
    more = " The data and the pipeline are described after the summary."
    return f"<p>{scoring}{more}</p>", details


def report_html(
    studies,
    images,
    description,
    n_splits,
    task_text=None,
    baselines=None,
    timing=None,
):
    """A self-contained HTML report: the tables and the PNGs as data URIs.

    It opens with the summary (:func:`summary_cells`), then the description
    of the data when it spans several lines, then a section per estimator:
    its fixed parameters, its table and figures.

    Parameters
    ----------
    studies : list of EstimatorStudy
    images : list of Path
        PNG files to embed; each estimator's files (named ``<key>_*``) follow
        its table, the others come last.
    description : str
        The data, for the introduction: one line (e.g. "scikit-learn's
        diabetes data (442 samples, 10 features)"), or several, shown as
        preformatted text.
    n_splits : int
        Number of cross-validation folds.
    task_text : str or None, default=None
        The task chosen and why (:func:`skgd._study.task_line`), shown under
        the title; None shows nothing.
    baselines : list of skgd._study.Baseline or None, default=None
        The baselines' scores, shown after the summary with a sentence on
        where the best candidate stands (:func:`standing_text`).
    timing : str or None, default=None
        The time the study took (:func:`time_text`), ending the summary.

    Returns
    -------
    text : str
    """
    task = studies[0].task
    intro, details = _html_description(description, task, n_splits, studies[0].pipeline)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>skgd study</title><style>{_STYLE}</style></head><body>",
        "<h1>skgd study</h1>",
        *([f"<p class='task'>{html.escape(task_text)}</p>"] if task_text else []),
        intro,
        *_html_summary(studies, baselines, timing),
        *details,
    ]
    text = captions(studies, n_splits)
    placed = set()
    for study in studies:
        fixed = html.escape(_fixed_text(study))
        parts += [
            f"<h2 id='{study.key}'>{study.name}</h2>",
            f"<p>Set apart from the defaults: {fixed}</p>",
        ]
        parts.append(_html_table(study, n_splits))
        own = [path for path in images if path.name.startswith(f"{study.key}_")]
        parts += [_html_image(path, text.get(path.name, "")) for path in own]
        placed.update(own)
    rest = [path for path in images if path not in placed]
    if rest:
        parts.append("<h2 id='all'>All estimators</h2>")
    parts += [_html_image(path, text.get(path.name, "")) for path in rest]
    return "\n".join([*parts, "</body></html>"])


def write_report(
    studies,
    out,
    description,
    n_splits,
    task_text=None,
    written=None,
    baselines=None,
    timing=None,
):
    """Write results.csv, results.json, the PNG figures and report.html.

    The files go to a new folder beside ``out``, which replaces ``out`` (and
    everything in it) once they are all written; on an error or Ctrl-C before
    that, the new folder is deleted and ``out`` stays as it was.

    Parameters
    ----------
    studies : list of EstimatorStudy
    out : str or Path
        Directory, created with its parents if needed; refused (StudyError)
        by :func:`check_out`.
    description : str
        The data, for the report: one line, or several (such as the pipeline
        fitted), shown as preformatted text.
    n_splits : int
        Number of cross-validation folds.
    task_text : str or None, default=None
        The task chosen and why, for the report (see :func:`report_html`).
    written : list or None, default=None
        ``out`` is appended to it as soon as ``out`` holds the new study,
        Ctrl-C ignored meanwhile, so that a caller interrupted afterwards can
        tell that the study was written.
    baselines : list of skgd._study.Baseline or None, default=None
        The baselines' scores, for the report and ``baselines.json``.
    timing : str or None, default=None
        The time the study took, for the report's summary.

    Returns
    -------
    paths : list of Path
        The files written, in ``out``.
    """
    out = check_out(out)  # again: the folder may have changed since
    with _staged(out, written) as folder:
        names = _write_files(
            studies, folder, description, n_splits, task_text, baselines, timing
        )
    return [out / name for name in names]


def _write_files(
    studies, folder, description, n_splits, task_text=None, baselines=None, timing=None
):
    """Write every output into ``folder``; return their names, report last."""
    records = result_records(studies)
    write_csv(records, folder / "results.csv")
    write_json(records, folder / "results.json")
    extra = []
    if baselines:
        task = studies[0].task
        write_json(baseline_records(baselines, task), folder / "baselines.json")
        extra.append("baselines.json")
    images = []
    for name, figure in figures(studies).items():
        figure.savefig(folder / name, dpi=DPI)
        images.append(folder / name)
    report = folder / "report.html"
    page = report_html(
        studies, images, description, n_splits, task_text, baselines, timing
    )
    report.write_text(page, "utf-8")
    names = ["results.csv", "results.json", *extra, *(p.name for p in images)]
    return [*names, report.name]


# ------------------------------------------------------------ the out folder

#: The files that a study writes besides its figures (``*.png``).
STUDY_FILES = ("results.csv", "results.json", "baselines.json", "report.html")


def check_out(out):
    """Check that ``out`` can take the folder of a study, before any work.

    It must not be empty, nor a file, nor under a file; its parent (or the
    nearest existing folder above it) must be writable, and each name to
    create short enough. An existing folder is replaced by the study, so it
    may hold only the files of a previous study, and not the current folder.

    Parameters
    ----------
    out : str or Path
        The ``--out`` option.

    Returns
    -------
    path : Path
        ``out`` as an absolute path, its symbolic links resolved.

    Raises
    ------
    StudyError
        Saying what is wrong with ``out``.
    """
    if not out:
        raise StudyError("--out is empty: name the folder of the study")
    path = Path(out).resolve()
    existing = next(p for p in [path, *path.parents] if os.path.exists(p))
    if not existing.is_dir():
        where = "" if existing == path else f" is under {existing}, which"
        raise StudyError(f"--out {out}{where} is a file: choose a folder")
    if existing == path:
        _check_previous(path, out)
        existing = path.parent
    _check_writable(existing, out)
    _check_names(path.relative_to(existing).parts, existing, out)
    return path


def _check_previous(path, out):
    """Refuse an existing ``out`` holding more than a previous study."""
    if Path.cwd().is_relative_to(path):
        raise StudyError(f"--out {out} holds the current folder: choose another")
    _check_writable(path, out)
    for entry in path.iterdir():
        if not (entry.is_file() and _is_study_file(entry.name)):
            raise StudyError(
                f"--out {out} holds {entry.name}, which skgd study did not write, "
                "and the study would replace it: choose another --out"
            )


def _is_study_file(name):
    return name in STUDY_FILES or name.endswith(".png")


def _check_writable(folder, out):
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StudyError(f"--out {out}: cannot write in {folder}: choose another")


def _check_names(names, folder, out):
    """Refuse a name to create in ``folder`` that the file system refuses."""
    limit = os.pathconf(folder, "PC_NAME_MAX")
    for name in names:
        if len(os.fsencode(name)) > limit:
            raise StudyError(
                f"--out {out}: the name {name[:20]}... is longer than the "
                f"{limit} bytes allowed: choose a shorter one"
            )


@contextmanager
def _staged(out, written=None):
    """A new folder beside ``out``, which replaces ``out`` after the block.

    On an error or Ctrl-C before ``out`` is replaced, the folder is deleted
    instead; an OSError becomes a StudyError. Once ``out`` is replaced, it is
    appended to the list ``written`` (when not None).

    Yields
    ------
    folder : Path
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        folder = _new_folder(out.parent)
    except OSError as exc:
        raise _write_error(out, exc) from None
    try:
        yield folder
        _replace(folder, out, written)
    except BaseException as exc:
        with sigint_handled(signal.SIG_IGN):  # already ending the run
            shutil.rmtree(folder, ignore_errors=True)  # gone once it replaced out
        if isinstance(exc, OSError):
            raise _write_error(out, exc) from None
        raise


def _write_error(out, exc):
    return StudyError(f"cannot write to --out {out}: {exc.strerror or exc}")


def _new_folder(parent):
    """A new folder of a name of its own in ``parent``, with the usual mode."""
    while True:
        folder = parent / f".skgd-study-{secrets.token_hex(6)}"
        try:
            folder.mkdir()  # unlike tempfile.mkdtemp, honours the umask
            return folder
        except FileExistsError:
            continue


def _replace(folder, out, written=None):
    """Put ``folder`` in place of ``out``, deleting the previous ``out``.

    Ctrl-C is ignored meanwhile (a few system calls): the study is complete,
    and stopping half-way would only leave ``out`` missing. ``out`` is
    appended to ``written`` (a list, or None) before Ctrl-C is heeded again.
    """
    old = folder.with_name(folder.name + "-old")
    with sigint_handled(signal.SIG_IGN):
        # Two renames in one folder, then a deletion. A crash after the first
        # leaves no out, the previous study whole in `old` and the new one in
        # `folder` (both hidden, beside out); after the second, the new study
        # in out and the previous one in `old`, to delete by hand.
        moved = os.path.lexists(out)
        if moved:
            os.rename(out, old)
        try:
            os.rename(folder, out)
        except OSError:
            if moved:
                os.rename(old, out)
            raise
        if written is not None:
            written.append(out)
        shutil.rmtree(old, ignore_errors=True)
