"""The knobs in words: sentences, ranking and neighbours, from made-up scores.

Each study here is built from fold scores chosen so that the answer is known
(no fit): a peak inside the grid, a score that only rises, a flat one, fits
that diverge.
"""

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, MLPRegressor
from skgd.study.folds import best_index, summarize
from skgd.study.knobs import (
    FLAT,
    Point,
    knob_points,
    knob_rows,
    knob_sentence,
    movement,
    neighbours,
    rank_knobs,
    rank_text,
)
from skgd.study.page import report_html
from skgd.study.run import EstimatorStudy
from skgd.study.story import diverged_lines, recommended_text
from skgd.study.task import REGRESSION


def _points(values, val, train):
    """Points of these validation and training scores (None: diverged)."""
    return [
        Point(v, np.nan, np.nan, np.nan, True, True)
        if s is None
        else Point(v, s, t, t - s)
        for v, s, t in zip(values, val, train)
    ]


def _study(estimator, grid, score, key="gd"):
    """A study over ``grid`` whose candidates score ``score(params)``.

    ``score`` returns ``(validation, training)`` means, or None for a
    candidate that diverges; the folds spread ±0.01 around them.
    """
    rows = []
    for params in ParameterGrid(grid):
        scores = score(params)
        spread = np.linspace(-0.01, 0.01, 3)
        if scores is None:
            error = (True, "diverged")
            outcomes = [({"train": np.nan, "val": np.nan}, 0.0, error)] * 3
        else:
            val, train = scores
            outcomes = [
                ({"train": train + d, "val": val + d}, 0.0, None) for d in spread
            ]
        rows.append(summarize(params, outcomes))
    pipeline = Pipeline([("scale", StandardScaler()), ("model", estimator)])
    return EstimatorStudy(key, REGRESSION, pipeline, grid, rows, best_index(rows))


# ------------------------------------------------------------- sentences


def test_a_peak_inside_the_grid_overfits_below_and_underfits_above():
    """Less penalty: the training score holds and the gap widens; more: the
    training score falls with the validation score."""
    points = _points([0.0, 0.01, 0.1, 1.0, 10.0], [0.40, 0.45, 0.50, 0.42, 0.10],
                     [0.70, 0.65, 0.55, 0.44, 0.11])  # fmt: skip
    text = knob_sentence("alpha", points)
    assert text.startswith("Validation R² peaks at alpha = 0.1 (0.500); ")
    assert "below that the model overfits (0.400 at alpha = 0; the gap " in text
    assert "widens from 0.050 to 0.300)" in text
    assert "above that the model underfits (0.100 at alpha = 10; training R² " in text
    assert text.endswith("falls too, to 0.110).")


def test_a_score_that_only_rises_is_highest_at_the_largest_value():
    points = _points([1e-3, 1e-2, 1e-1], [0.1, 0.3, 0.5], [0.1, 0.3, 0.5])
    text = knob_sentence("learning_rate", points, "accuracy")
    assert text.startswith(
        "Validation accuracy is highest at the largest learning_rate tried, 0.1 "
        "(0.500); below that the model underfits: the steps are too small to "
        "converge in the epochs given (0.100 at learning_rate = 0.001"
    )
    assert "above that" not in text


def test_a_score_that_only_falls_is_highest_at_the_smallest_value():
    points = _points([0.0, 0.2, 0.5], [0.6, 0.5, 0.3], [0.6, 0.5, 0.3])
    text = knob_sentence("dropout", points)
    assert text.startswith("Validation R² is highest at the smallest dropout tried, 0")
    assert "below that" not in text and "above that the model underfits" in text


def test_a_flat_knob_does_not_matter_much():
    val = [0.500, 0.504, 0.498]
    points = _points([(8,), (32,), (128,)], val, [0.6, 0.7, 0.8])
    assert movement(points) < FLAT
    assert knob_sentence("hidden_layer_sizes", points) == (
        "hidden_layer_sizes does not matter much here: validation R² stays within "
        "0.006 of 0.504 over the values tried."
    )


def test_values_without_an_order_are_listed_with_their_scores():
    points = _points(["relu", "tanh", "logistic"], [0.45, 0.5, 0.3], [0.5, 0.55, 0.3])
    assert knob_sentence("activation", points) == (
        "Validation R² is highest at activation = tanh (0.500); the others: relu "
        "0.450, logistic 0.300."
    )


def test_a_side_that_barely_moves_hardly_changes():
    points = _points([0.0, 0.1, 10.0], [0.489, 0.490, 0.2], [0.51, 0.51, 0.2])
    text = knob_sentence("alpha", points)
    assert "below that it hardly changes (0.489 at alpha = 0)" in text


def test_the_values_that_diverge_are_named():
    points = _points([1e-3, 1e-2, 1e-1, 1.0, 10.0], [-1.1, 0.49, 0.487, None, None],
                     [-1.08, 0.51, 0.51, None, None])  # fmt: skip
    text = knob_sentence("learning_rate", points)
    assert text.startswith("Validation R² peaks at learning_rate = 0.01 (0.490)")
    assert text.endswith("; at learning_rate = 1 and 10 the fits diverge.")
    failed = [*points[:2], points[2]._replace(failed=True, diverged=False)]
    assert knob_sentence("learning_rate", failed).endswith(
        "; at learning_rate = 0.1 the fits fail."
    )
    only = knob_sentence("learning_rate", [points[1], *points[3:]])
    assert only.startswith("Only learning_rate = 0.01 trains (R² 0.490)")


# ----------------------------------------------------------------- ranks


def _gd_study():
    """learning_rate moves the score from -1 to 0.5, alpha from 0.3 to 0.5;
    learning_rate=10 diverges."""
    grid = {"learning_rate": [1e-3, 1e-1, 10.0], "alpha": [0.0, 0.1, 10.0]}

    def score(p):
        if p["learning_rate"] == 10.0:
            return None
        base = {1e-3: -1.0, 1e-1: 0.5}[p["learning_rate"]]
        val = base - {0.0: 0.05, 0.1: 0.0, 10.0: 0.2}[p["alpha"]]
        return val, val + {0.0: 0.1, 0.1: 0.03, 10.0: 0.0}[p["alpha"]]

    return _study(GDRegressor(), grid, score)


def test_knobs_are_ranked_by_how_much_the_validation_score_moves():
    study = _gd_study()
    ranked = rank_knobs(study)
    assert [param for param, _ in ranked] == ["learning_rate", "alpha"]
    assert ranked[0][1] == pytest.approx(1.5) and ranked[1][1] == pytest.approx(0.2)
    assert rank_text(ranked) == (
        "The knobs, by how much the validation R² moves along each (the others at "
        "their best): learning_rate 1.500, alpha 0.200."
    )


def test_knob_rows_hold_the_other_knobs_at_their_best():
    study = _gd_study()
    rows = knob_rows(study, "alpha")
    assert [row["params"] for row in rows] == [
        {"learning_rate": 0.1, "alpha": a} for a in (0.0, 0.1, 10.0)
    ]
    values = [p.value for p in knob_points(study, "learning_rate")]
    assert values == [1e-3, 1e-1, 10.0]


def test_layer_sizes_are_ordered_by_their_units():
    grid = {"hidden_layer_sizes": [(64,), (8, 8), (4,)]}
    study = _study(MLPRegressor(), grid, lambda p: (0.5, 0.6), key="mlp")
    values = [
        row["params"]["hidden_layer_sizes"]
        for row in knob_rows(study, "hidden_layer_sizes")
    ]
    assert values == [(4,), (8, 8), (64,)]


# ------------------------------------------------------------ neighbours


def test_the_neighbours_of_the_best_along_alpha():
    param, rows = neighbours(_gd_study())
    assert param == "alpha"
    assert {label: row["params"]["alpha"] for label, row in rows.items()} == {
        "less regularized": 0.0,
        "more regularized": 10.0,
    }


def test_wider_layers_are_less_regularized_and_failed_ones_are_skipped():
    sizes = [(8,), (16,), (32,), (64,)]

    def score(p):  # the best is 16 units; 32 diverges
        units = p["hidden_layer_sizes"][0]
        return None if units == 32 else (0.5 - abs(units - 16) / 1000, 0.6)

    study = _study(MLPRegressor(), {"hidden_layer_sizes": sizes}, score, key="mlp")
    param, rows = neighbours(study)
    assert param == "hidden_layer_sizes"
    assert {label: row["params"][param] for label, row in rows.items()} == {
        "less regularized": (64,),
        "more regularized": (8,),
    }


def test_a_best_at_the_edge_has_one_neighbour_and_no_knob_none():
    study = _study(
        GDRegressor(), {"alpha": [0.0, 1.0, 2.0]}, lambda p: (-p["alpha"], 0.0)
    )
    assert list(neighbours(study)[1]) == ["more regularized"]
    study = _study(GDRegressor(), {"learning_rate": [0.1, 1.0]}, lambda p: (0.5, 0.5))
    assert neighbours(study) == (None, {})


# ------------------------------------------------------------ the story


def test_the_diverged_candidates_are_listed_by_learning_rate():
    study = _gd_study()
    assert diverged_lines(study) == [
        "learning_rate = 10: 3 of 3 candidates diverged (alpha=0; alpha=0.1; alpha=10)"
    ]
    fixed = _study(
        GDRegressor(learning_rate=5.0), {"alpha": [0.0, 1.0]}, lambda p: None
    )
    assert diverged_lines(fixed) == [
        "learning_rate = 5: 2 of 2 candidates diverged (alpha=0; alpha=1)"
    ]
    assert (
        diverged_lines(_study(GDRegressor(), {"alpha": [0.0]}, lambda p: (0.5, 0.6)))
        == []
    )


def test_the_recommended_setting_has_its_spread_across_folds():
    text = recommended_text(_gd_study(), 3)
    assert text.startswith(
        "Recommended: learning_rate=0.1, alpha=0.1. Validation R² 0.500 ± 0.008 "
        "(mean ± standard deviation over the 3 folds); training R² 0.530, so a gap "
        "of 0.030."
    )


def test_the_page_tells_the_story_of_the_knobs_then_lists_the_candidates():
    study = _gd_study()
    page = report_html([study], [], "toy data", 3)
    section = page[page.index("<h2 id='gd'>") :]
    order = [
        "class='recommended'>Recommended: learning_rate=0.1, alpha=0.1.",
        "The knobs, by how much",
        "<h3 id='gd-learning_rate'>",
        "<h3 id='gd-alpha'>",
        "<h3 id='gd-diverged'>Diverged</h3>",
        "<h2 id='candidates'>All candidates</h2>",
        "<details id='gd-candidates'>",
        "<table class='sortable'>",
    ]
    positions = [section.index(text) for text in order]
    assert positions == sorted(positions)
    assert "<p>Validation R² peaks at alpha = 0.1 (0.500); " in section
    assert "<li>learning_rate = 10: 3 of 3 candidates diverged" in section
    assert "<th>valid R²</th>" in section  # the terminal's table reads R2
    assert page.count("<script>") == 1 and "src=" not in page  # inline, no network
    assert "<link" not in page and "http" not in page


def test_a_study_where_every_candidate_diverged_says_at_which_rates():
    study = _study(GDRegressor(), {"learning_rate": [10.0, 100.0]}, lambda p: None)
    page = report_html([study], [], "toy data", 3)
    assert "Every candidate failed" in page
    assert "<li>learning_rate = 10: 1 of 1 candidate diverged</li>" in page
    assert "<li>learning_rate = 100: 1 of 1 candidate diverged</li>" in page


def test_a_learning_rate_says_why_the_model_underfits_on_each_side():
    points = _points([1e-3, 1e-2, 1e-1], [0.1, 0.5, 0.3], [0.1, 0.55, 0.3])
    text = knob_sentence("learning_rate", points)
    assert "below that the model underfits: the steps are too small to " in text
    assert "above that the model underfits: the steps overshoot (0.300 at " in text
    assert ": the steps" not in knob_sentence("alpha", points)  # no such reason
