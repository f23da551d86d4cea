"""The learning-rate range test (LearningRateRangeDisplay)."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import (
    GDClassifier,
    GDRegressor,
    LearningRateRangeDisplay,
    MLPClassifier,
    MLPRegressor,
)
from skgd._losses import weighted_loss
from skgd._range_test import suggest

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib

    matplotlib.use("Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_suggestion_is_the_rate_of_the_lowest_validation_loss():
    rates = np.array([1e-3, 1e-2, 1e-1, 1.0, 10.0])
    val = np.array([5.0, 2.1, 2.0, 2.3, 0.5])
    diverged = np.array([False, False, False, False, True])
    assert suggest(rates, val, diverged) == 0.1  # 10 diverged, whatever its loss
    assert suggest(rates, np.array([5.0, 2.0, 2.0, 2.3, 3.0]), diverged) == 0.1
    assert suggest(rates, val, np.ones(5, bool)) is None


def test_full_batch_least_squares_diverges_beyond_two_over_l():
    """Gradient descent on a least-squares objective diverges for rates
    above 2 / L, L the largest eigenvalue of its Hessian: GDRegressor trains
    the weights of the centered features (the intercept follows, as
    Ridge's), so that is the Hessian of the centered training rows."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5)) * [1.0, 2.0, 0.5, 3.0, 1.0] + 1.0
    y = X @ rng.standard_normal(5) + rng.standard_normal(400)
    train, test = train_test_split(np.arange(400), test_size=0.25, random_state=0)
    design = X[train] - X[train].mean(axis=0)
    L = np.linalg.eigvalsh(design.T @ design / len(train)).max()
    rates = (2.0 / L) * np.array([0.05, 0.3, 0.7, 0.9, 1.1, 1.5, 3.0])
    model = GDRegressor(batch_size=None, optimizer="sgd", learning_rate=0.1)
    display = LearningRateRangeDisplay.from_estimator(
        model, X, y, learning_rates=rates, epochs=100, cv=[(train, test)]
    )
    assert display.diverged.tolist() == [False] * 4 + [True] * 3
    assert display.suggested_learning_rate_ < 2.0 / L
    # The largest steps that converge reach the lowest loss in 100 epochs.
    assert display.suggested_learning_rate_ in rates[2:4]


@pytest.mark.parametrize(
    "model",
    [
        GDRegressor(batch_size=16, random_state=0),
        MLPRegressor(hidden_layer_sizes=(8,), batch_size=16, random_state=0),
        GDClassifier(batch_size=16, random_state=0),
        MLPClassifier(hidden_layer_sizes=(8,), batch_size=16, random_state=0),
    ],
    ids=lambda model: type(model).__name__,
)
def test_each_candidate_is_its_own_fit(model):
    """A candidate's losses are those of the estimator fitted alone at its rate."""
    classifier = "Classifier" in type(model).__name__
    X, y = load_iris(return_X_y=True) if classifier else load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0)
    rates = [1e-4, 1e-3, 1e-2, 1e-1]
    display = LearningRateRangeDisplay.from_estimator(
        model, X, y, learning_rates=rates, epochs=4, cv=[(train, test)]
    )
    for j, rate in enumerate(rates):
        alone = clone(model).set_params(learning_rate=rate, epochs=4, tol=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone.fit(X[train], y[train])
        task, y_val, _ = alone._training_task(y[test], None, True, None)
        output = alone._output(X[test])
        loss = weighted_loss(task.loss, output, task.encode(y_val, output.dtype), None)
        assert display.val_loss[j] == pytest.approx(loss, rel=1e-9)
    assert not display.diverged.any()
    assert display.suggested_learning_rate_ in rates


def test_pipeline_and_default_rates():
    X, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDRegressor(batch_size=32, random_state=0))
    display = LearningRateRangeDisplay.from_estimator(model, X, y)
    assert len(display.learning_rates) == 30
    assert display.learning_rates[0] == pytest.approx(1e-5)
    assert display.learning_rates[-1] == pytest.approx(10.0)
    # Small rates learn little in 5 epochs; the largest ones diverge.
    assert display.diverged[-1] and not display.diverged[:10].any()
    assert display.val_loss[0] > 1.4 * np.nanmin(display.val_loss)
    assert 1e-3 < display.suggested_learning_rate_ < 10.0
    assert display.ax_.get_xscale() == "log"
    labels = display.ax_.get_legend_handles_labels()[1]
    assert "diverged" in labels
    assert display.name == "GDRegressor"


def test_every_rate_diverging_suggests_nothing():
    X, y = load_diabetes(return_X_y=True)
    X = X * 1e3  # unscaled: every one of these rates diverges
    with pytest.warns(UserWarning, match="no rate is suggested"):
        display = LearningRateRangeDisplay.from_estimator(
            GDRegressor(batch_size=32, random_state=0),
            X,
            y,
            learning_rates=[1.0, 10.0, 100.0],
        )
    assert display.diverged.all()
    assert display.suggested_learning_rate_ is None
