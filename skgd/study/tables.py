"""The tables of ``skgd study``: the candidates, the summary, the baselines.

Each table is a header and rows of text cells, printed by the command line
(``format_*``) and shown in the HTML page (:mod:`skgd.study.page`). The
score is named after the study's task: R² for a regression, accuracy (and
the validation log-loss) for a classification.
"""

import math


def format_value(value):
    """Short text of a parameter value or score (``%g`` for floats)."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table_columns(study):
    """Parameters shown in the table: the varied ones, else the whole grid."""
    return study.varied or list(study.grid)


#: Column headers of the scores besides the metric, by score name.
EXTRA_HEADERS = {"val_log_loss": "valid log-loss"}


def extra_scores(task):
    """The scores of a task besides the metric, e.g. ``["val_log_loss"]``."""
    return [name for name in task.score_names if name not in ("train", "val")]


def ascii_text(text):
    """Text for any terminal: ``R2`` for ``R²``, ``+/-`` for ``±``."""
    return text.replace("²", "2").replace("±", "+/-")


def score_text(value):
    return f"{value:.3f}" if math.isfinite(value) else "n/a"


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    return [*cells, *map(score_text, scores), fit, "<- best" if is_best else ""]


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
    extras = extra_scores(study.task)
    metric = study.task.label
    header = [*columns, f"train {metric}", f"valid {metric}", "gap"]
    header += [*(EXTRA_HEADERS[name] for name in extras), "fit s", ""]
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
    header = [ascii_text(cell) for cell in header]  # for any terminal
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


def candidate_setting(study, row):
    """The candidate's values of the table's parameters, by name."""
    return {name: row["params"][name] for name in table_columns(study)}


def setting_text(setting):
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
        if len(values) < 3 or not all(is_number(v) for v in values):
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
        extras = extra_scores(study.task)
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
                setting=candidate_setting(study, best),
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
        score, gap, the other scores, candidates (with how many failed) and,
        when some estimator has any, the notes. (The fit time is in the
        table of candidates: the summary stays narrow.)
    """
    task = studies[0].task
    extras = extra_scores(task)
    label = task.label
    summaries = summary_rows(studies)
    notes = any(summary["notes"] for summary in summaries)
    header = ["estimator", "best setting", f"valid {label} ± std", f"train {label}"]
    header += ["gap", *(EXTRA_HEADERS[name] for name in extras)]
    header += ["candidates", *(["notes"] if notes else [])]
    rows = []
    for summary in summaries:
        if summary["setting"] is None:
            cells = [summary["name"], "every candidate failed"]
            cells += [""] * (len(extras) + 3) + [_candidates_text(summary)]
        else:
            val = score_text(summary["val"]) + " ± " + score_text(summary["val_std"])
            scores = [summary["train"], summary["gap"]]
            scores += [summary[name] for name in extras]
            cells = [summary["name"], setting_text(summary["setting"]), val]
            cells += [*map(score_text, scores), _candidates_text(summary)]
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
        val = f"{score_text(summary['val'])} +/- {score_text(summary['val_std'])}"
        lines.append(
            f"{summary['name']}: best {setting_text(summary['setting'])}, "
            f"valid {label} {val}, gap {score_text(summary['gap'])}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------- baselines


def format_baselines(baselines, task, n_folds):
    """The baselines as a text table, with a title line.

    Parameters
    ----------
    baselines : list of skgd.study.baselines.Baseline
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
    baselines : list of skgd.study.baselines.Baseline
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
    extras = extra_scores(task)
    metric = task.label
    header = ["model", f"train {metric}", f"valid {metric} ± std", "gap"]
    header += [*(EXTRA_HEADERS[name] for name in extras), "fit s"]
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
        train, gap, *others = map(score_text, scores)
        val = f"{score_text(mean)} ± {score_text(std)}"
        rows.append([name, train, val, gap, *others, f"{row['mean_fit_time']:.3f}"])
    return header, rows
