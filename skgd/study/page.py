"""The HTML page of ``skgd study``: self-contained, the figures as data URIs.

It opens with the task chosen and why, a summary (the best setting of each
estimator, its validation score and its generalization gap), where the best
candidate stands against the baselines and their table, then the
description of the data (preformatted when it spans several lines, such as
a printed pipeline). Then a section per estimator that tells the story of
its knobs (:mod:`skgd.study.sections`), the figures of all the estimators,
and last the full tables of candidates, collapsed and sortable. The page
loads nothing: its style and its small sorting script are inline.
"""

import html
import math

from .figures import captions
from .sections import candidates_table, estimator_section, html_image, html_row
from .story import standing_text
from .tables import (
    baseline_cells,
    format_value,
    score_text,
    summary_cells,
    summary_rows,
)


def _html_baselines(studies, baselines):
    """The baselines' paragraph and table, for the summary; [] without any."""
    if not baselines:
        return []
    header, rows = baseline_cells(baselines, studies[0].task)
    head = html_row(map(html.escape, header), "th", text=0)
    body = "".join(
        f"<tr>{html_row(map(html.escape, cells), text=0)}</tr>" for cells in rows
    )
    return [
        f"<p class='standing'>{html.escape(standing_text(studies, baselines))}</p>",
        "<h3 id='baselines'>Baselines</h3>",
        "<p>The same folds and the same preprocessing, each baseline in place "
        "of the estimator: a closed-form linear model, gradient boosting with "
        "its defaults, and the dummy model, which ignores the features.</p>",
        f"<div class='wide'><table class='summary'><tr>{head}</tr>{body}</table></div>",
    ]


def _summary_table(studies):
    """The summary's table, kept narrow, and its notes apart.

    Returns
    -------
    table : str
        HTML: each setting wraps between its ``name=value`` pairs; the best
        estimator's row is highlighted when there are several.
    notes : list of str
        "<estimator>: best at an edge of the grid, <note>".
    top : int or None
        The index of the best estimator, when there are several.
    """
    header, rows = summary_cells(studies)
    notes = []
    if header[-1] == "notes":  # below the table, which stays narrow
        header = header[:-1]
        notes = [f"{c[0]}: best at an edge of the grid, {c[-1]}" for c in rows if c[-1]]
        rows = [cells[:-1] for cells in rows]
    summaries = summary_rows(studies)
    scores = [summary["val"] for summary in summaries]
    finite = [i for i, value in enumerate(scores) if math.isfinite(value)]
    top = max(finite, key=scores.__getitem__) if len(finite) > 1 else None
    body = []
    for i, (cells, summary) in enumerate(zip(rows, summaries)):
        cells = [html.escape(cell) for cell in cells]
        if summary["setting"]:
            cells[1] = _setting_html(summary["setting"])
        best = " class=best" if i == top else ""
        body.append(f"<tr{best}>{html_row(cells, text=1)}</tr>")
    head = html_row(map(html.escape, header), "th", text=1)
    table = (
        f"<div class='wide'><table class='summary'><tr>{head}</tr>{''.join(body)}"
        "</table></div>"
    )
    return table, notes, top


def _html_summary(studies, baselines=None, timing=None):
    """The summary: its table, notes, the baselines and the time taken."""
    table, notes, top = _summary_table(studies)
    label = html.escape(studies[0].task.label)
    text = (
        f"The best setting of each estimator is the candidate of the highest mean "
        f"validation {label} over the folds; the gap is its training minus "
        f"validation {label}: the larger, the more it overfits."
    )
    if top is not None:
        best = studies[top].rows[studies[top].best]["mean_val_score"]
        text += (
            f" Best overall: <b>{html.escape(studies[top].name)}</b>, validation "
            f"{label} {score_text(best)}."
        )
    listed = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return [
        "<h2 id='summary'>Summary</h2>",
        table,
        *([f"<ul class='notes'>{listed}</ul>"] if notes else []),
        f"<p>{text}</p>",
        *_html_baselines(studies, baselines),
        *([f"<p class='time'>{html.escape(timing)}</p>"] if timing else []),
    ]


def _setting_html(setting):
    """``name=value`` pairs that wrap between pairs only, never inside one."""
    pairs = (html.escape(f"{name}={format_value(v)}") for name, v in setting.items())
    return ", ".join(f"<span class=kv>{pair}</span>" for pair in pairs)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:62em;margin:auto;"
    "padding:0 1em 2em;line-height:1.4;color:#222}"
    "h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "td,th{padding:2px 8px;text-align:right;white-space:nowrap}"
    "th{border-bottom:1px solid #888}tr:nth-child(even){background:#f3f3f3}"
    "table.summary{width:100%}"
    "table.summary td,table.summary th{white-space:normal;padding:2px 6px}"
    "table.summary th{vertical-align:bottom}"
    "table.summary .text{text-align:left;white-space:normal}.kv{white-space:nowrap}"
    "table.sortable th{cursor:pointer;white-space:normal;vertical-align:bottom}"
    "tr.best{background:#fff2c2;font-weight:bold}tr.failed{color:#999}"
    ".wide{overflow-x:auto;max-width:100%}"
    "p.task,p.standing,p.recommended{background:#eef4fb;"
    "border-left:3px solid #4a7fc1;padding:.4em .7em}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:.6em;"
    "white-space:pre-wrap;overflow-wrap:anywhere}"
    "figure{margin:1.2em 0}img{width:100%;max-width:48em;height:auto}"
    "figcaption{font-size:.9em;color:#555;max-width:48em}"
    "details{margin:.6em 0}summary{cursor:pointer;font-weight:bold}"
)

#: Sorts a table.sortable by the column whose header is clicked: by number
#: where both cells read as one, else as text; "diverged" rows go last.
_SCRIPT = (
    "document.querySelectorAll('table.sortable th').forEach(function(th,i){"
    "th.addEventListener('click',function(){"
    "var body=th.closest('table').tBodies[0],rows=Array.from(body.rows),"
    "up=th.dataset.dir!=='up';th.dataset.dir=up?'up':'down';"
    "rows.sort(function(a,b){var x=a.cells[i].textContent,"
    "y=b.cells[i].textContent,p=parseFloat(x),q=parseFloat(y);"
    "if(isNaN(p)||isNaN(q))return isNaN(p)-isNaN(q)||(up?1:-1)*x.localeCompare(y);"
    "return up?p-q:q-p});"
    "rows.forEach(function(row){body.appendChild(row)})})});"
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

    It opens with the summary (:func:`~skgd.study.tables.summary_cells`),
    then the description of the data when it spans several lines, then a
    section per estimator (:func:`~skgd.study.sections.estimator_section`),
    the figures of all the estimators, and last the tables of candidates
    (:func:`~skgd.study.sections.candidates_table`).

    Parameters
    ----------
    studies : list of EstimatorStudy
    images : list of Path
        PNG files to embed (see :func:`skgd.study.figures.figures`): each
        estimator's (named ``<key>_*``) in its section, the others after.
    description : str
        The data, for the introduction: one line (e.g. "scikit-learn's
        diabetes data (442 samples, 10 features)"), or several, shown as
        preformatted text.
    n_splits : int
        Number of cross-validation folds.
    task_text : str or None, default=None
        The task chosen and why (:func:`skgd.study.task.task_line`), shown
        under the title; None shows nothing.
    baselines : list of skgd.study.baselines.Baseline or None, default=None
        The baselines' scores, shown after the summary with a sentence on
        where the best candidate stands
        (:func:`~skgd.study.story.standing_text`).
    timing : str or None, default=None
        The time the study took (:func:`~skgd.study.story.time_text`), ending
        the summary.

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
    by_name = {path.name: path for path in images}
    for study in studies:
        parts += estimator_section(study, by_name, n_splits)
    keys = tuple(f"{study.key}_" for study in studies)
    rest = [path for path in images if not path.name.startswith(keys)]
    if rest:
        text = captions(studies, n_splits)
        parts.append("<h2 id='all'>All estimators</h2>")
        parts += [html_image(path, text.get(path.name, "")) for path in rest]
    parts.append("<h2 id='candidates'>All candidates</h2>")
    parts += [candidates_table(study, n_splits) for study in studies]
    return "\n".join([*parts, f"<script>{_SCRIPT}</script></body></html>"])
