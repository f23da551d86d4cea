"""The displays draw what the estimator recorded; skgd never needs matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

from skgd import GDRegressor, LossLandscapeDisplay, MLPRegressor, TrainingCurveDisplay
from skgd._losses import LOSSES
from skgd._network import Network
from skgd._trainer import Objective

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
    np.testing.assert_array_equal(model.trajectory_[0], [0.0, 0.0])
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
    # The path goes downhill: the objective at its end is below its start.
    heights = []
    for w, b in display.path[[0, -1]]:
        net.set_weights([([[w]], [b])])
        heights.append(objective(net, x, y[:, None], 1.0 / len(y)))
    assert heights[1] < 0.1 * heights[0]


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
