"""The report of ``skgd study``: tables, CSV and JSON, figures and one HTML page.

The files of a run are written to a new folder beside ``--out``, which then
takes the place of ``--out`` as a whole (see :func:`write_report`): a run that
fails or is interrupted leaves the previous study as it was.

It reads the :class:`~skgd._study.EstimatorStudy` results that
:mod:`skgd._study` computes, and names the score after the study's task: R²
for a regression, accuracy (and the validation log-loss) for a
classification. matplotlib is imported only by the functions that draw.
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

from ._exceptions import StudyError
from ._signals import sigint_handled
from ._study import FIXED_PARAMS, LOG_SCALE

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


def _ascii(label):
    return label.replace("²", "2")


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
    metric = _ascii(study.task.label)
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
    metric = _ascii(study.task.label)
    size = f"{len(rows)} candidate{plural} x {n_folds} folds"
    lines = [f"{study.name}: {size}, mean {metric}"]
    for cells in [header, *rows]:
        text = [c.rjust(w) for c, w in zip(cells[:-1], widths)]
        lines.append("  ".join([*text, cells[-1]]).rstrip())
    return "\n".join(lines)


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


def _figure():
    from matplotlib.figure import Figure  # Agg renders it: no pyplot, no GUI

    figure = Figure(figsize=(6, 4), layout="constrained")
    return figure, figure.add_subplot()


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


def _set_x(ax, param, values):
    """x positions of the values: numbers as such, others as categories."""
    if all(_is_number(v) for v in values):
        if param in LOG_SCALE and all(v > 0 for v in values):
            ax.set_xscale("log")
        return np.array(values, dtype=float)
    ax.set_xticks(range(len(values)), [format_value(v) for v in values])
    return np.arange(len(values))


def _limit_scores(ax, task, values):
    """Keep a huge negative R² of a near-divergent candidate off the scale.

    Only R² is unbounded below; accuracy stays in [0, 1] and keeps
    matplotlib's limits.
    """
    if task.metric != "r2":
        return
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        ax.set_ylim(max(finite.min(), -1.0) - 0.05, max(finite.max(), 0.0) + 0.05)


def validation_curve_figure(study, param):
    """Mean training and validation score (±1 std) against one parameter.

    The score is R² or accuracy; the distance between the two curves is the
    generalization gap.

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
    figure, ax = _figure()
    rows = _slice(study, param)
    x = _set_x(ax, param, [row["params"][param] for row in rows])
    bands = []
    for split, label in (("train", "training"), ("val", "validation")):
        mean = np.array([row[f"mean_{split}_score"] for row in rows])
        std = np.array([row[f"std_{split}_score"] for row in rows])
        ax.plot(x, mean, "o-", label=label)
        ax.fill_between(x, mean - std, mean + std, alpha=0.2)
        bands += [mean - std, mean + std]
    _limit_scores(ax, study.task, np.concatenate(bands))
    label = study.task.label
    ax.set(xlabel=param, ylabel=label, title=f"{study.name}: validation curve")
    ax.legend(loc="best")
    return figure


def training_curve_figure(study):
    """Per-epoch training and validation loss of the refitted best model.

    The validation score of each epoch (R² or accuracy) is on a twin axis.

    Parameters
    ----------
    study : EstimatorStudy
        With ``model`` set.

    Returns
    -------
    figure : matplotlib Figure
    """
    from ._plotting import TrainingCurveDisplay

    figure, ax = _figure()
    TrainingCurveDisplay.from_estimator(study.model[-1], ax=ax, logy=True)
    ax.set_title(f"{study.name}: best candidate, 20% held out")
    return figure


def learning_rate_figure(studies):
    """Validation score against the learning rate, one line per estimator.

    Parameters
    ----------
    studies : list of EstimatorStudy
        Those with a best candidate and a varied ``learning_rate``, all of
        one task.

    Returns
    -------
    figure : matplotlib Figure
    """
    figure, ax = _figure()
    values = []
    for study in studies:
        rows = _slice(study, "learning_rate")
        x = [row["params"]["learning_rate"] for row in rows]
        y = [row["mean_val_score"] for row in rows]
        ax.plot(x, y, "o-", label=study.name)
        values += y
    task = studies[0].task
    ax.set_xscale("log")
    _limit_scores(ax, task, values)
    ylabel = f"validation {task.label}"
    ax.set(xlabel="learning_rate", ylabel=ylabel, title="Learning rate")
    ax.legend(loc="best")
    return figure


def _lr_studies(studies):
    return [
        study
        for study in studies
        if study.best is not None
        and "learning_rate" in study.varied
        and all(_is_number(v) and v > 0 for v in study.grid["learning_rate"])
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


def _html_table(study, n_folds):
    header, rows = table_rows(study, n_folds)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        for cells in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _html_image(path):
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.stem)
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"></figure>'


_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:auto}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}"
    "tr:nth-child(even){background:#f0f0f0}img{max-width:100%}"
)


def scoring_text(task, n_splits):
    """How the study scores, in a sentence of the report.

    Parameters
    ----------
    task : Task
        The task of the study.
    n_splits : int
        Number of cross-validation folds.

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
    return (
        f"{n_splits}-fold{folds} cross-validation, {scores} of a StandardScaler + "
        f"estimator pipeline; the gap is training minus validation {label}."
    )


def report_html(studies, images, description, n_splits):
    """A self-contained HTML report: the tables and the PNGs as data URIs.

    Parameters
    ----------
    studies : list of EstimatorStudy
    images : list of Path
        PNG files to embed; each estimator's files (named ``<key>_*``) follow
        its table, the others come last.
    description : str
        The data, for the introduction.
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    text : str
    """
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>skgd study</title><style>{_STYLE}</style></head><body>",
        "<h1>skgd study</h1>",
        f"<p>{html.escape(description)}; "
        f"{html.escape(scoring_text(studies[0].task, n_splits))}</p>",
    ]
    placed = set()
    for study in studies:
        fixed = ", ".join(
            f"{k}={format_value(v)}"
            for k, v in FIXED_PARAMS[study.key].items()
            if k not in study.grid
        )
        parts += [f"<h2>{study.name}</h2>", f"<p>Fixed: {html.escape(fixed)}</p>"]
        parts.append(_html_table(study, n_splits))
        own = [path for path in images if path.name.startswith(f"{study.key}_")]
        parts += [_html_image(path) for path in own]
        placed.update(own)
    parts += [_html_image(path) for path in images if path not in placed]
    return "\n".join([*parts, "</body></html>"])


def write_report(studies, out, description, n_splits):
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
        The data, for the report.
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    paths : list of Path
        The files written, in ``out``.
    """
    out = check_out(out)  # again: the folder may have changed since
    with _staged(out) as folder:
        names = _write_files(studies, folder, description, n_splits)
    return [out / name for name in names]


def _write_files(studies, folder, description, n_splits):
    """Write every output into ``folder``; return their names, report last."""
    records = result_records(studies)
    write_csv(records, folder / "results.csv")
    write_json(records, folder / "results.json")
    images = []
    for name, figure in figures(studies).items():
        figure.savefig(folder / name, dpi=100)
        images.append(folder / name)
    report = folder / "report.html"
    report.write_text(report_html(studies, images, description, n_splits), "utf-8")
    return ["results.csv", "results.json", *(path.name for path in images), report.name]


# ------------------------------------------------------------ the out folder

#: The files that a study writes besides its figures (``*.png``).
STUDY_FILES = ("results.csv", "results.json", "report.html")


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
def _staged(out):
    """A new folder beside ``out``, which replaces ``out`` after the block.

    On an error or Ctrl-C before ``out`` is replaced, the folder is deleted
    instead; an OSError becomes a StudyError.

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
        _replace(folder, out)
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


def _replace(folder, out):
    """Put ``folder`` in place of ``out``, deleting the previous ``out``.

    Ctrl-C is ignored meanwhile (a few system calls): the study is complete,
    and stopping half-way would only leave ``out`` missing.
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
        shutil.rmtree(old, ignore_errors=True)
