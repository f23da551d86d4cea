"""The displays draw what the estimator recorded; skgd never needs matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

from skgd import (
    GDClassifier,
    GDRegressor,
    LossLandscapeDisplay,
    MLPClassifier,
    MLPRegressor,
    TrainingCurveDisplay,
)
from skgd._losses import LOSSES
from skgd._network import Network
from skgd.engine.trainer import Objective

pytest.importorskip("matplotlib")


@pytest.fixture
def line_data(rng):
    x = rng.uniform(0, 5, size=(60, 1))
    return x, 2.0 * x.ravel() - 1.0 + 0.3 * rng.normal(size=60)


def test_importing_skgd_does_not_import_matplotlib():
    code = "import sys, skgd; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_training_curve_draws_the_history(Estimator, linear_data):
    X, y = linear_data
    model = Estimator(epochs=6, validation_fraction=0.2, tol=None, random_state=0)
    display = TrainingCurveDisplay.from_estimator(model.fit(X, y))
    history = model.history_
    lines = display.lines_
    np.testing.assert_array_equal(lines["train_loss"].get_ydata(), model.loss_curve_)
    np.testing.assert_array_equal(
        lines["val_loss"].get_ydata(), [r["val_loss"] for r in history]
    )
    np.testing.assert_array_equal(lines["val_r2"].get_ydata(), model.validation_scores_)
    np.testing.assert_array_equal(lines["train_loss"].get_xdata(), range(1, 7))
    assert display.ax_.get_xlabel() == "epoch" and display.r2_ax_ is not None


def test_training_curve_without_held_out_data_and_on_given_axes(linear_data):
    import matplotlib.pyplot as plt

    X, y = linear_data
    _, ax = plt.subplots()
    model = GDRegressor(epochs=3, tol=None, random_state=0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(model, ax=ax, logy=True)
    assert display.ax_ is ax and set(display.lines_) == {"train_loss"}
    assert ax.get_yscale() == "log" and display.r2_ax_ is None
    with pytest.raises(ValueError, match="fit it first"):
        TrainingCurveDisplay.from_estimator(GDRegressor())


def test_trajectory_is_recorded_only_when_asked(line_data):
    x, y = line_data
    plain = GDRegressor(epochs=4, tol=None, random_state=0).fit(x, y)
    assert plain.trajectory_ is None
    model = GDRegressor(epochs=4, tol=None, record_trajectory=True, random_state=0)
    model.fit(x, y)
    assert model.trajectory_.shape == (5, 2)
    # From zero on the standardized target: the intercept starts at y's mean.
    np.testing.assert_allclose(model.trajectory_[0], [0.0, np.mean(y)], rtol=1e-15)
    np.testing.assert_array_equal(
        model.trajectory_[-1], [*model.coef_, model.intercept_]
    )
    np.testing.assert_array_equal(model.coef_, plain.coef_)  # recording changes nothing
    model.partial_fit(x, y)
    assert model.trajectory_.shape == (6, 2)
    np.testing.assert_array_equal(
        model.trajectory_[-1], [*model.coef_, model.intercept_]
    )


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_landscape_is_the_objective_and_the_path_is_the_trajectory(line_data, loss):
    x, y = line_data
    model = GDRegressor(
        epochs=15,
        alpha=0.1,
        loss=loss,
        tol=None,
        record_trajectory=True,
        random_state=0,
    ).fit(x, y)
    display = LossLandscapeDisplay.from_estimator(model, x, y, grid_size=7)
    np.testing.assert_array_equal(display.path, model.trajectory_)
    np.testing.assert_array_equal(
        display.path_line_.get_xdata(), model.trajectory_[:, 0]
    )
    # Each grid point's height is the engine's own objective at that (w, b).
    net = Network(model._build_layers(1, 1), 1, np.float64)
    objective = Objective(LOSSES[loss](), 0.1)
    for i, j in [(0, 0), (3, 5), (6, 2)]:
        net.set_weights([([[display.w_grid[i, j]]], [display.b_grid[i, j]])])
        expected = objective(net, x, y[:, None], 1.0 / len(y))
        assert display.objective[i, j] == pytest.approx(expected, rel=1e-10)
    # The path goes downhill: the objective at its end is below its start
    # (the intercept at y's mean, see scale_target), and far below zero
    # weights'.
    heights = []
    for w, b in [(0.0, 0.0), *display.path[[0, -1]]]:
        net.set_weights([([[w]], [b])])
        heights.append(objective(net, x, y[:, None], 1.0 / len(y)))
    zero, start, end = heights
    assert end < start and end < 0.1 * zero


def test_landscape_refuses_what_it_cannot_draw(line_data, linear_data):
    x, y = line_data
    with pytest.raises(ValueError, match="record_trajectory=True"):
        LossLandscapeDisplay.from_estimator(
            GDRegressor(epochs=2, tol=None).fit(x, y), x, y
        )
    X, y5 = linear_data
    wide = GDRegressor(epochs=2, tol=None, record_trajectory=True).fit(X, y5)
    with pytest.raises(ValueError, match="one feature"):
        LossLandscapeDisplay.from_estimator(wide, X, y5)


def test_training_curve_of_a_history_with_and_without_held_out_data(linear_data):
    X, y = linear_data
    model = GDRegressor(epochs=2, tol=None, warm_start=True, random_state=0)
    model.fit(X, y).set_params(validation_fraction=0.2).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(model)
    assert set(display.lines_) == {"train_loss"}
    assert len(display.lines_["train_loss"].get_xdata()) == 4


@pytest.fixture
def labeled_data(rng):
    """Three classes that two features separate, most of the time."""
    X = rng.normal(size=(150, 2))
    return X, np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])


@pytest.mark.parametrize("Estimator", [GDClassifier, MLPClassifier])
def test_training_curve_of_a_classifier_shows_the_validation_accuracy(
    Estimator, labeled_data
):
    X, y = labeled_data
    model = Estimator(epochs=5, validation_fraction=0.2, tol=None, random_state=0)
    display = TrainingCurveDisplay.from_estimator(model.fit(X, y))
    lines = display.lines_
    assert set(lines) == {"train_loss", "val_loss", "val_accuracy"}
    np.testing.assert_array_equal(lines["train_loss"].get_ydata(), model.loss_curve_)
    np.testing.assert_array_equal(
        lines["val_accuracy"].get_ydata(), model.validation_scores_
    )
    np.testing.assert_array_equal(display.val_score, model.validation_scores_)
    assert display.score_name == "accuracy"
    assert display.score_ax_.get_ylabel() == "validation accuracy"
    assert lines["val_accuracy"].get_label() == "validation accuracy"
    # The names from before the classifiers are about R² only.
    assert display.r2_ax_ is None and display.val_r2 is None


def test_training_curve_keeps_the_r2_names_of_the_regressors(linear_data):
    X, y = linear_data
    model = GDRegressor(epochs=4, validation_fraction=0.2, tol=None, random_state=0)
    display = TrainingCurveDisplay.from_estimator(model.fit(X, y))
    assert display.score_name == "r2" and display.r2_ax_ is display.score_ax_
    assert display.val_r2 is display.val_score
    assert display.score_ax_.get_ylabel() == "validation R²"
    # show_r2, the old name of show_score, still switches the twin axis off.
    for hidden in [
        TrainingCurveDisplay.from_estimator(model, show_r2=False),
        TrainingCurveDisplay.from_estimator(model, show_score=False),
        display.plot(show_r2=False),
    ]:
        assert hidden.score_ax_ is None and hidden.r2_ax_ is None
        assert set(hidden.lines_) == {"train_loss", "val_loss"}
    # The constructor takes the validation R² by its old name or by position.
    epochs, loss = np.arange(1, 5), np.ones(4)
    by_name = TrainingCurveDisplay(epochs, loss, loss, val_r2=loss / 2)
    by_position = TrainingCurveDisplay(epochs, loss, loss, loss / 2)
    for built in (by_name, by_position):
        assert built.score_name == "r2"
        np.testing.assert_array_equal(built.val_r2, loss / 2)
        assert "val_r2" in built.plot().lines_
    with pytest.raises(ValueError, match="not both"):
        TrainingCurveDisplay(epochs, loss, loss, loss, val_r2=loss)


def _margin_loss(loss, m):
    """The classification losses in the margin, from their definitions."""
    if loss == "log_loss":
        return np.log1p(np.exp(-m))
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - m)
    return np.where(m >= -1, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_landscape_of_a_binary_classifier_is_its_weighted_objective(rng, loss):
    x = rng.normal(size=(80, 1))
    y = np.where(x.ravel() + 0.7 * rng.normal(size=80) > 0.3, "yes", "no")
    sample_weight = rng.uniform(0.5, 2.0, size=80)
    class_weight = {"no": 1.0, "yes": 3.0}
    model = GDClassifier(
        epochs=12,
        alpha=0.05,
        loss=loss,
        class_weight=class_weight,
        tol=None,
        record_trajectory=True,
        random_state=0,
    ).fit(x, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(
        model.trajectory_[-1], [model.coef_[0, 0], model.intercept_[0]]
    )
    display = LossLandscapeDisplay.from_estimator(
        model, x, y, sample_weight=sample_weight, grid_size=6
    )
    np.testing.assert_array_equal(display.path, model.trajectory_)
    # J = sum_i s_i loss(m_i) / sum_i s_i + alpha / 2 * w**2, with s_i the
    # sample weight times the class weight and m_i = ±(w x_i + b), + for "yes".
    s = sample_weight * np.where(y == "yes", 3.0, 1.0)
    sign = np.where(y == "yes", 1.0, -1.0)

    def objective(w, b):
        margins = sign * (w * x.ravel() + b)
        return s @ _margin_loss(loss, margins) / s.sum() + 0.025 * w**2

    for i, j in [(0, 0), (2, 5), (5, 3)]:
        expected = objective(display.w_grid[i, j], display.b_grid[i, j])
        assert display.objective[i, j] == pytest.approx(expected, rel=1e-10)
    start, end = (objective(w, b) for w, b in display.path[[0, -1]])
    assert end < start


def test_landscape_refuses_a_classifier_of_more_than_two_classes(rng):
    x = rng.normal(size=(60, 1))
    y = np.digitize(x.ravel(), [-0.5, 0.5])
    model = GDClassifier(epochs=2, tol=None, record_trajectory=True).fit(x, y)
    with pytest.raises(ValueError, match="two classes"):
        LossLandscapeDisplay.from_estimator(model, x, y)
    with pytest.raises(ValueError, match="one feature"):
        LossLandscapeDisplay.from_estimator(GDClassifier(), x, y)
