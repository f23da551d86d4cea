"""The sections of an estimator in the HTML page of ``skgd study``.

Each estimator's section tells the story of its knobs
(:func:`estimator_section`): the recommended setting and its validation
score with the spread across folds, the knobs ranked by how much the
validation score moves along each, then a first subsection on the
learning-rate range test that centred the grid (:mod:`skgd.study.rangetest`),
one short subsection per knob (a sentence and its figure,
:mod:`skgd.study.knobs`), the learning curves of the best candidate and its
nearest less and more regularized neighbours, and the candidates that
diverged. The full table of candidates comes last in the page, collapsed and
sortable (:func:`candidates_table`).
"""

import base64
import html

from .figures import captions
from .knobs import knob_points, knob_sentence, rank_knobs, rank_text
from .rangetest import range_alt, range_text
from .story import diverged_lines, recommended_text
from .tables import format_value, table_rows


def html_row(cells, tag="td", text=None):
    """Table cells of escaped HTML: ``<td>a</td><td class=text>b</td>``.

    Parameters
    ----------
    cells : iterable of str
        HTML, escaped.
    tag : {"td", "th"}, default="td"
    text : int or None, default=None
        The column of text, left-aligned and wrapping (``class=text``).

    Returns
    -------
    html : str
    """
    return "".join(
        f"<{tag}{' class=text' if j == text else ''}>{cell}</{tag}>"
        for j, cell in enumerate(cells)
    )


def html_image(path, caption="", alt=""):
    """A figure embedded as a data URI, with its caption.

    Parameters
    ----------
    path : Path
        A PNG file.
    caption : str, default=""
        What the figure shows, under it.
    alt : str, default=""
        The alt text: what the figure shows, for a reader who cannot see
        it; the caption when empty (the file name without a caption).

    Returns
    -------
    html : str
    """
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(alt or caption or path.stem.replace("_", " "), quote=True)
    caption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"{caption}</figure>"
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


def estimator_section(study, images, n_splits):
    """The section of one estimator, opening with its recommended setting.

    Parameters
    ----------
    study : EstimatorStudy
    images : dict of str to Path
        The PNG files of the report, by name (see
        :func:`skgd.study.figures.figures`).
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    parts : list of str
        HTML: the heading, the recommended setting, the fixed parameters, the
        knobs ranked, then the learning-rate range test run before the
        search (its sentences and figure), each knob's subsection, the
        learning curves and the candidates that diverged.
    """
    parts = [
        f"<h2 id='{study.key}'>{study.name}</h2>",
        f"<p class='recommended'>{html.escape(recommended_text(study, n_splits))}</p>",
        f"<p>Set apart from the defaults: {html.escape(_fixed_text(study))}.</p>",
    ]
    text = captions([study], n_splits)
    if study.best is None:  # no knob to tell of, but how it failed
        return parts + _range_section(study, images, text) + _diverged_section(study)
    ranked = rank_knobs(study)
    if len(ranked) > 1:
        parts.append(f"<p>{html.escape(rank_text(ranked, study.task.label))}</p>")
    parts += _range_section(study, images, text)
    for param, _ in ranked:
        parts += _knob_section(study, param, images, text)
    curves = images.get(f"{study.key}_learning_curves.png")
    if curves is not None:
        parts.append(f"<h3 id='{study.key}-curves'>Learning curves</h3>")
        parts.append(html_image(curves, text[curves.name]))
    return parts + _diverged_section(study)


def _range_section(study, images, text):
    """The range test's heading, its sentences and its figure; [] if none."""
    test = study.range_test
    if test is None:
        return []
    parts = [
        f"<h3 id='{study.key}-range-test'>Learning-rate range test</h3>",
        f"<p>{html.escape(range_text(test))}</p>",
    ]
    name = f"{study.key}_range_test.png"
    if name in images:
        alt = f"{range_alt(test)} {text[name]}"
        parts.append(html_image(images[name], text[name], alt=alt))
    return parts


def _knob_section(study, param, images, text):
    """A knob's heading, its sentence and its figure."""
    sentence = knob_sentence(param, knob_points(study, param), study.task.label)
    parts = [
        f"<h3 id='{study.key}-{param}'>{html.escape(param)}</h3>",
        f"<p>{html.escape(sentence)}</p>",
    ]
    name = f"{study.key}_validation_{param}.png"
    if name in images:
        alt = f"{sentence} {text[name]}"
        parts.append(html_image(images[name], text[name], alt=alt))
    return parts


def _diverged_section(study):
    """The candidates that diverged (or failed), by learning rate; [] if none."""
    lines = diverged_lines(study)
    if not lines:
        return []
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    mixed = not all(row["diverged"] for row in study.rows if row["failed"])
    return [
        f"<h3 id='{study.key}-diverged'>Diverged{' or failed' if mixed else ''}</h3>",
        "<p>The candidates whose fits raised, by learning rate: too large a "
        "step overshoots, and the loss grows without bound.</p>",
        f"<ul class='diverged'>{items}</ul>",
    ]


def candidates_table(study, n_folds):
    """Every candidate of a study in a collapsed, sortable table.

    Parameters
    ----------
    study : EstimatorStudy
    n_folds : int
        Number of cross-validation folds.

    Returns
    -------
    html : str
        A ``<details>`` element holding the table (see
        :func:`skgd.study.tables.table_rows`): the best row highlighted, the
        failed ones grey; a click on a column's header sorts by it (the
        page's script).
    """
    header, rows = table_rows(study, n_folds)
    body = []
    for i, cells in enumerate(rows):
        row = study.rows[i]
        kind = " class='best'" if i == study.best else ""
        kind = " class='failed'" if row["failed"] else kind
        cells = [*cells[:-1], "best" if i == study.best else ""]
        body.append(f"<tr{kind}>{html_row(map(html.escape, cells))}</tr>")
    head = html_row(map(html.escape, header), "th")
    table = (
        f"<table class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return (
        f"<details id='{study.key}-candidates'><summary>{study.name}: "
        f"{len(rows)} candidates (a click on a header sorts)</summary>"
        f"<div class='wide'>{table}</div></details>"
    )
