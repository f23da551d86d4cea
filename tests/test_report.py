"""The report of ``skgd study``: the summary, the axes, the legends, the HTML.

The studies here are built from made-up fold scores (no fit), except for the
training curves, which need a fitted model: a few epochs on 40 rows.
"""

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, GDRegressor, MLPRegressor
from skgd.study.axes import x_scale
from skgd.study.figures import (
    captions,
    figures,
    learning_curves_figure,
    learning_rate_figure,
    validation_curve_figure,
)
from skgd.study.folds import best_index, summarize
from skgd.study.page import report_html
from skgd.study.report import write_report
from skgd.study.run import EstimatorStudy, refit_best, refit_neighbours
from skgd.study.story import standing_text
from skgd.study.tables import format_summary, summary_cells, summary_rows
from skgd.study.task import REGRESSION, make_task

pytest.importorskip("matplotlib")

#: Mean validation score of each (learning_rate, alpha) of the GD study:
#: learning_rate=1 diverges; the best is (0.1, 0.01).
VAL = {
    (1e-3, 0.0): 0.20, (1e-2, 0.0): 0.80, (1e-1, 0.0): 0.85,
    (1e-3, 1e-4): 0.21, (1e-2, 1e-4): 0.81, (1e-1, 1e-4): 0.86,
    (1e-3, 1e-2): 0.22, (1e-2, 1e-2): 0.82, (1e-1, 1e-2): 0.90,
    (1e-3, 1.0): 0.10, (1e-2, 1.0): 0.50, (1e-1, 1.0): 0.55,
}  # fmt: skip


def _pipeline(estimator):
    return Pipeline([("scale", StandardScaler()), ("model", estimator)])


def _outcomes(val, gap, n_folds=3, error=None):
    """Fold outcomes of mean validation score ``val``, training ``val + gap``."""
    spread = np.linspace(-0.01, 0.01, n_folds)
    return [({"train": val + gap + d, "val": val + d}, 0.01, error) for d in spread]


def _study(key, estimator, grid, score, task=REGRESSION):
    """A study of ``estimator`` over ``grid``, scored by ``score(params)``.

    ``score`` returns the mean validation score, or None for a candidate
    that diverges; the gap of each candidate is 0.05.
    """
    from sklearn.model_selection import ParameterGrid

    rows = []
    for params in ParameterGrid(grid):
        val = score(params)
        if val is None:
            outcomes = _outcomes(np.nan, np.nan, error=(True, "diverged"))
        else:
            outcomes = _outcomes(val, 0.05)
        rows.append(summarize(params, outcomes))
    return EstimatorStudy(key, task, _pipeline(estimator), grid, rows, best_index(rows))


def _gd_study():
    grid = {"learning_rate": [1e-3, 1e-2, 1e-1, 1.0], "alpha": [0.0, 1e-4, 1e-2, 1.0]}
    return _study(
        "gd",
        GDRegressor(epochs=50),
        grid,
        lambda p: VAL.get((p["learning_rate"], p["alpha"])),
    )


def _mlp_study():
    grid = {"learning_rate": [1e-3, 1e-2], "dropout": [0.0, 0.1, 0.2]}
    return _study(
        "mlp",
        MLPRegressor(epochs=100),
        grid,
        lambda p: 0.7 + p["learning_rate"] - p["dropout"] / 10,
    )


@pytest.fixture
def studies():
    return [_gd_study(), _mlp_study()]


# ----------------------------------------------------------------- summary


def test_summary_gives_the_best_setting_its_score_and_gap(studies):
    gd, mlp = summary_rows(studies)
    assert gd["name"] == "GDRegressor"
    assert gd["setting"] == {"learning_rate": 0.1, "alpha": 0.01}
    assert gd["val"] == pytest.approx(0.90)
    assert gd["train"] == pytest.approx(0.95)
    assert gd["gap"] == pytest.approx(0.05)
    assert gd["val_std"] == pytest.approx(np.std([-0.01, 0.0, 0.01]))
    assert (gd["candidates"], gd["failed"]) == (16, 4)
    assert mlp["setting"] == {"learning_rate": 0.01, "dropout": 0.0}
    assert mlp["val"] == pytest.approx(0.71)
    assert mlp["notes"] == []  # dropout=0 is the smallest, but 0 is its bound


def test_summary_notes_a_best_value_at_the_edge_of_the_grid():
    grid = {"alpha": [1e-3, 1e-2, 1e-1]}
    study = _study("gd", GDRegressor(), grid, lambda p: p["alpha"])
    assert summary_rows([study])[0]["notes"] == ["alpha: the largest tried"]
    header, rows = summary_cells([study])
    assert header[-1] == "notes" and rows[0][-1] == "alpha: the largest tried"


def test_summary_cells_and_text(studies):
    header, rows = summary_cells(studies)
    assert header[:5] == [
        "estimator", "best setting", "valid R² ± std", "train R²", "gap",
    ]  # fmt: skip
    assert "notes" not in header  # no estimator has one
    assert rows[0][:5] == [
        "GDRegressor", "learning_rate=0.1, alpha=0.01", "0.900 ± 0.008", "0.950",
        "0.050",
    ]  # fmt: skip
    assert rows[0][-1] == "16 (4 failed)" and rows[1][-1] == "6"
    text = format_summary(studies)
    assert text.splitlines()[0] == (
        "GDRegressor: best learning_rate=0.1, alpha=0.01, valid R2 0.900 +/- 0.008, "
        "gap 0.050"
    )


def test_summary_of_a_classification_has_the_log_loss():
    task = make_task(np.array([0, 1] * 10))
    grid = {"learning_rate": [1e-2, 1e-1]}
    study = _study("gd", GDClassifier(), grid, lambda p: 0.8, task=task)
    for row in study.rows:
        row["mean_val_log_loss"] = 0.4
    header, rows = summary_cells([study])
    assert "valid accuracy ± std" in header and "valid log-loss" in header
    assert rows[0][header.index("valid log-loss")] == "0.400"


def test_summary_when_every_candidate_failed():
    study = _study(
        "gd", GDRegressor(), {"learning_rate": [10.0, 100.0]}, lambda p: None
    )
    (row,) = summary_rows([study])
    assert row["setting"] is None and row["failed"] == 2
    header, rows = summary_cells([study])
    assert rows[0][1] == "every candidate failed" and len(rows[0]) == len(header)
    assert format_summary([study]) == "GDRegressor: every candidate failed"


def test_the_report_opens_with_the_summary(studies):
    page = report_html(studies, [], "toy data (40 samples, 2 features)", 3)
    summary = page.index("<h2 id='summary'>Summary</h2>")
    assert summary < page.index("<h2 id='gd'>") < page.index("<h2 id='mlp'>")
    table = page[summary : page.index("<h2 id='gd'>")]
    setting = "<span class=kv>learning_rate=0.1</span>, <span class=kv>alpha=0.01"
    assert setting in table  # wraps between the pairs only
    assert "0.900 ± 0.008" in table and "<td>0.050</td>" in table
    assert "Best overall: <b>GDRegressor</b>, validation R² 0.900." in table
    assert "<p>toy data (40 samples, 2 features); 3-fold cross-validation" in page


def test_the_summary_table_stays_narrow_its_notes_below():
    """No notes column nor fit time, which widened the table past the page."""
    grid = {"alpha": [1e-3, 1e-2, 1e-1]}
    study = _study("gd", GDRegressor(), grid, lambda p: p["alpha"])
    page = report_html([study], [], "toy data", 3)
    summary = page[page.index("<h2 id='summary'>") : page.index("<h2 id='gd'>")]
    table = summary[: summary.index("</table>")]
    assert "notes" not in table and "fit s" not in table
    assert (
        "<ul class='notes'><li>GDRegressor: best at an edge of the grid, alpha: "
        in (summary)
    )


# ------------------------------------------------------------ description


def test_a_multi_line_description_is_preformatted(studies):
    description = (
        "my.csv (40 samples, 2 features)\n"
        "Pipeline(steps=[('prepare', ColumnTransformer(...)),\n"
        "                ('model', <estimator>)])"
    )
    page = report_html(studies, [], description, 3)
    assert "<pre>my.csv (40 samples, 2 features)\nPipeline(" in page
    assert "&lt;estimator&gt;)])</pre>" in page  # escaped
    assert page.index("<pre>") < page.index("<h2 id='gd'>")
    one_line = report_html(studies, [], "a & b", 3)
    assert "<pre>" not in one_line and "<p>a &amp; b; 3-fold" in one_line


def test_the_scoring_sentence_names_the_steps_of_the_pipeline(studies):
    page = report_html(studies, [], "data", 5)
    assert "R² of a StandardScaler + estimator pipeline" in page
    assert "Set apart from the defaults: epochs=50.</p>" in page


# ------------------------------------------------------------------- axes


@pytest.mark.parametrize(
    ("param", "values", "scale"),
    [
        ("learning_rate", [1e-3, 1e-2, 1e-1], "log"),
        ("alpha", [0.0, 1e-4, 1e-2, 1.0], "log0"),
        ("alpha", [0, 0.01], "log0"),
        ("epochs", [10, 100, 1000], "log"),  # spans decades
        ("epochs", [50, 100], "linear"),
        ("dropout", [0.0, 0.1, 0.2], "linear"),
        ("alpha", [-1.0, 1.0], "linear"),
        ("hidden_layer_sizes", [(8,), (32,)], "category"),
        ("shuffle", [True, False], "category"),
    ],
)
def test_x_scale(param, values, scale):
    assert x_scale(param, values) == scale


def _curve_points(ax):
    """(x, y) of the lines of data of ``ax``, break marks left out."""
    lines = [line for line in ax.get_lines() if line.get_label() != "_break"]
    lines = [line for line in lines if line.get_linestyle() != "--"]  # best
    return [(list(line.get_xdata()), list(line.get_ydata())) for line in lines]


def test_alpha_is_on_a_log_axis_with_zero_apart(studies):
    figure = validation_curve_figure(studies[0], "alpha")
    zero_ax, ax = figure.axes
    assert ax.get_xscale() == "log" and zero_ax.get_xscale() == "linear"
    assert [t.get_text() for t in zero_ax.get_xticklabels()] == ["0"]
    # The positive values on the log axis, the zero candidate on its own axis.
    main = _curve_points(ax)
    assert [x for x, _ in main] == [[1e-4, 1e-2, 1.0]] * 2
    assert main[1][1] == pytest.approx([0.86, 0.90, 0.55])  # validation
    zero = _curve_points(zero_ax)
    assert all(len(x) == 1 and -1 < x[0] < 1 for x, _ in zero)
    assert sorted(y[0] for _, y in zero) == pytest.approx([0.85, 0.90])
    left, right = zero_ax.get_xlim()
    assert left < min(x[0] for x, _ in zero) and max(x[0] for x, _ in zero) < right
    # One y axis: the zero axes holds the label, the log axes shares its limits.
    assert zero_ax.get_ylim() == ax.get_ylim() and zero_ax.get_ylabel() == "R²"


def test_learning_rate_is_on_a_log_axis_with_the_diverged_marked(studies):
    figure = validation_curve_figure(studies[0], "learning_rate")
    (ax,) = figure.axes
    assert ax.get_xscale() == "log"
    crosses = [line for line in ax.get_lines() if line.get_label() == "diverged"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [1.0]
    best = [line for line in ax.get_lines() if line.get_label() == "best setting"]
    assert list(best[0].get_xdata()) == [0.1, 0.1]


def test_a_linear_parameter_keeps_one_linear_axis(studies):
    figure = validation_curve_figure(studies[1], "dropout")
    (ax,) = figure.axes
    assert ax.get_xscale() == "linear"
    assert [x for x, _ in _curve_points(ax)] == [[0.0, 0.1, 0.2]] * 2


def test_the_sweep_of_the_learning_rate(studies):
    figure = learning_rate_figure(studies)
    (ax,) = figure.axes
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["GDRegressor", "GDRegressor: diverged", "MLPRegressor"]


# ---------------------------------------------------------------- legends


@pytest.fixture
def fitted(studies):
    """The studies, the best GD candidate and its neighbours along alpha
    refitted for their learning curves."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -2.0]
    studies[0].model = refit_best(studies[0], X, y)
    studies[0].neighbours = refit_neighbours(studies[0], X, y)
    return studies


def test_legends_are_outside_every_axes(fitted):
    drawn = figures(fitted)
    assert set(drawn) == {
        "gd_validation_learning_rate.png", "gd_validation_alpha.png",
        "gd_learning_curves.png", "mlp_validation_learning_rate.png",
        "mlp_validation_dropout.png", "learning_rate_sweep.png",
    }  # fmt: skip
    for name, figure in drawn.items():
        figure.draw_without_rendering()
        assert len(figure.legends) == 1, name
        assert all(ax.get_legend() is None for ax in figure.axes), name
        legend = figure.legends[0].get_window_extent()
        page = figure.bbox
        assert page.x0 <= legend.x0 and legend.x1 <= page.x1, name  # in the figure
        assert page.y0 <= legend.y0, name
        for ax in figure.axes:
            box = ax.get_window_extent()
            assert not legend.overlaps(box), name
            assert legend.y1 <= box.y0, name  # below the axes


def test_the_learning_curves_are_the_best_and_its_neighbours(fitted):
    """Along alpha (0, 1e-4, 1e-2, 1), the best 1e-2 has 1e-4 below, 1 above."""
    gd = fitted[0]
    assert {label: row["params"] for label, (row, _) in gd.neighbours.items()} == {
        "less regularized": {"learning_rate": 0.1, "alpha": 1e-4},
        "more regularized": {"learning_rate": 0.1, "alpha": 1.0},
    }
    figure = learning_curves_figure(gd)
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == [
        "best: alpha=0.01", "less regularized: alpha=0.0001",
        "more regularized: alpha=1", "training loss (dashed)",
    ]  # fmt: skip
    (ax,) = figure.axes
    assert len(ax.get_lines()) == 3 * 2 + 1  # validation and training, + the key
    figure.draw_without_rendering()
    low, high = ax.get_ylim()
    for line in ax.get_lines():  # every curve inside the axes
        y = np.asarray(line.get_ydata(), dtype=float)
        assert y.size == 0 or (low <= y.min() and y.max() <= high)
    caption = captions(fitted, 3)["gd_learning_curves.png"]
    assert "the best setting (alpha=0.01) and its nearest less regularized " in caption


# ----------------------------------------------------------------- files


def test_captions_name_the_crosses_only_where_some_failed(fitted):
    text = captions(fitted, 3)
    assert set(text) == set(figures(fitted))
    assert (
        "A cross marks each candidate that diverged (1)."
        in (text["gd_validation_learning_rate.png"])
    )
    assert "cross" not in text["gd_validation_alpha.png"]
    assert "cross" not in text["mlp_validation_dropout.png"]
    assert "mean over the 3 folds" in text["mlp_validation_dropout.png"]


def test_write_report(fitted, tmp_path):
    paths = write_report(fitted, tmp_path / "out", "toy data", 3)
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(paths) - 3 == 6
    assert page.count("<figcaption>") == 6
    assert page.index("Summary") < page.index("<img")
    assert 'src="http' not in page and "<link" not in page


def _baselines(linear, boosting, dummy):
    """Baselines of these mean validation scores (gap 0.05), or NaN (failed)."""
    from skgd.study.baselines import Baseline

    scores = [
        ("linear", "RidgeCV", "", linear),
        ("boosting", "HistGradientBoostingRegressor", "", boosting),
        ("dummy", "DummyRegressor", "the mean", dummy),
    ]
    return [
        Baseline(kind, name, what, summarize({}, _outcomes(val, 0.05)))
        for kind, name, what, val in scores
    ]


def test_standing_text_says_where_the_best_candidate_stands():
    study = _study("gd", GDRegressor(), {"alpha": [0.0, 1.0]}, lambda p: 0.5)
    text = standing_text([study], _baselines(0.512, 0.4, -0.01))
    assert text == (
        "The best skgd candidate, GDRegressor with alpha=0, has a validation R² "
        "of 0.500 ± 0.008: 0.012 below RidgeCV (0.512), 0.100 above "
        "HistGradientBoostingRegressor (0.400) and 0.510 above the dummy model "
        "(the mean: -0.010). The closed-form linear model, RidgeCV, does at "
        "least as well."
    )
    text = standing_text([study], _baselines(0.4996, 0.45, 0.0))
    assert "of 0.500 ± 0.008: level with RidgeCV (0.500), 0.050 above" in text
    assert "does at least as well" in text  # 0.4996 rounds to the same 0.500


def test_standing_text_when_boosting_or_the_dummy_does_better():
    study = _study("mlp", MLPRegressor(), {"alpha": [0.0, 1.0]}, lambda p: 0.3)
    text = standing_text([study], _baselines(0.2, 0.6, 0.0))
    assert "0.300 below HistGradientBoostingRegressor (0.600)" in text
    assert text.endswith("as trees often do on tabular data: a model trained by "
                         "gradient descent is worth it where it comes close, or "
                         "where it must be one (for partial_fit, say).")  # fmt: skip
    worse = _study("gd", GDRegressor(), {"alpha": [0.0]}, lambda p: -0.03)
    text = standing_text([worse], _baselines(-0.02, -0.05, -0.01))
    assert "0.020 below the dummy model (the mean: -0.010)" in text
    assert text.endswith(
        "It does no better than the dummy model, which predicts the mean without "
        "looking at the features: as the study uses them, the features predict "
        "nothing it could find."
    )


def test_standing_text_picks_the_best_estimator_and_names_a_failed_baseline():
    gd = _study("gd", GDRegressor(), {"alpha": [0.0]}, lambda p: 0.6)
    mlp = _study("mlp", MLPRegressor(), {"alpha": [0.0, 0.1]}, lambda p: 0.7)
    text = standing_text([gd, mlp], _baselines(np.nan, 0.5, 0.0))
    assert text.startswith("The best skgd candidate, MLPRegressor with alpha=0,")
    assert "of 0.700 ± 0.008: RidgeCV, which failed, 0.200 above" in text
    failed = _study("gd", GDRegressor(), {"alpha": [0.0]}, lambda p: None)
    assert standing_text([failed], _baselines(0.5, 0.5, 0.0)) == (
        "Every skgd candidate failed: only the baselines have scores."
    )


def test_a_score_far_below_zero_stays_in_view():
    """R² far below -1 goes on a log scale below -1: every point is in view,
    and the others keep a linear scale in [-1, 1]."""
    grid = {"learning_rate": [1e-3, 1e-2, 1e-1], "alpha": [0.0, 1e-2, 1.0]}
    scores = {1e-3: -500.0, 1e-2: 0.5, 1e-1: 0.6}

    def score(p):  # far below 0 at the smallest rate, and without a penalty
        return -500.0 if p["alpha"] == 0 else scores[p["learning_rate"]]

    study = _study("gd", GDRegressor(), grid, score)
    for param in ("learning_rate", "alpha"):  # alpha has an axes of its own at 0
        figure = validation_curve_figure(study, param)
        for ax in figure.axes:
            assert ax.get_yscale() == "symlog"
            low, high = ax.get_ylim()
            assert low < -500.01 and 0.6 < high < 1
            ticks = ax.get_yticks()
            assert {-100.0, -10.0, -1.0, -0.5, 0.0, 0.5} <= set(ticks)
    figure = learning_rate_figure([study])
    assert figure.axes[0].get_ylim()[0] < -500
    mild = _study("gd", GDRegressor(), grid, lambda p: scores[p["learning_rate"]] / 600)
    ax = validation_curve_figure(mild, "learning_rate").axes[0]
    assert ax.get_yscale() == "linear" and -0.9 < ax.get_ylim()[0] < -0.8
