"""The loop's callbacks, and scikit-learn's callback API (scikit-learn >= 1.9)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, MLPRegressor

callback = pytest.importorskip("sklearn.callback")

KW = dict(tol=None, random_state=0)
ESTIMATORS = {
    "gd": GDRegressor(batch_size=16, epochs=6, **KW),
    "mlp": MLPRegressor((8,), batch_size=16, epochs=6, dropout=0.1, **KW),
}


class StopAfter:
    """A callback that asks to stop at the end of epoch ``k`` (counted from 1)."""

    def __init__(self, k, wants_estimator=False):
        self.k, self.wants_estimator, self.ended = k, wants_estimator, []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, X=None, y=None):
        if context.task_name != "epoch":
            return False
        self.ended.append((context.task_id, None if X is None else X.shape))
        return len(self.ended) == self.k


@pytest.fixture
def _assert_same_model(fitted_weights):
    def check(a, b):
        for u, v in zip(fitted_weights(a), fitted_weights(b), strict=True):
            np.testing.assert_array_equal(u, v)
        drop = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
        assert drop(a.history_) == drop(b.history_)

    return check


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_scoring_monitor_scores_each_epoch_as_if_training_stopped_there(
    kind, linear_data
):
    X, y = linear_data
    monitor = callback.ScoringMonitor(scoring="r2")
    est = clone(ESTIMATORS[kind]).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in rows] == list(range(est.n_iter_))
    for k, row in enumerate(rows, start=1):
        stopped = clone(ESTIMATORS[kind]).set_params(epochs=k).fit(X, y)
        assert row["r2"] == stopped.score(X, y)


class Predictions(StopAfter):
    """Keeps each epoch's ``fitted_estimator.predict(X)``."""

    def __init__(self, X):
        self.X, self.predictions = X, []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.predictions.append(fitted_estimator.predict(self.X))


def test_with_early_stopping_an_epoch_s_estimator_has_the_weights_fit_would_keep(
    linear_data,
):
    X, y = linear_data
    params = dict(learning_rate=0.5, early_stopping=True, epochs=8, **KW)
    spy = Predictions(X)
    est = GDRegressor(**params).set_callbacks(spy).fit(X, y)
    assert len(spy.predictions) == 8
    # A noisy large step: the best epoch is not always the last one.
    losses = [r["val_loss"] for r in est.history_]
    assert any(loss > min(losses[:k]) for k, loss in enumerate(losses) if k)
    for k, predicted in enumerate(spy.predictions, start=1):
        stopped = GDRegressor(**{**params, "epochs": k}).fit(X, y)
        np.testing.assert_array_equal(predicted, stopped.predict(X))


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_a_callback_asking_to_stop_ends_training_as_fit_with_fewer_epochs(
    kind, linear_data, _assert_same_model
):
    X, y = linear_data
    stop = StopAfter(3)
    est = clone(ESTIMATORS[kind]).set_callbacks(stop).fit(X, y)
    assert est.n_iter_ == 3 and [task for task, _ in stop.ended] == [0, 1, 2]
    _assert_same_model(est, clone(ESTIMATORS[kind]).set_params(epochs=3).fit(X, y))


def test_epoch_hooks_get_the_training_rows_without_the_held_out_split(linear_data):
    X, y = linear_data
    stop = StopAfter(100)
    GDRegressor(validation_fraction=0.25, epochs=2, **KW).set_callbacks(stop).fit(X, y)
    assert [shape for _, shape in stop.ended] == [(150, X.shape[1])] * 2


def test_no_fitted_estimator_is_built_unless_a_callback_asks(linear_data, monkeypatch):
    X, y = linear_data
    built = []
    original = GDRegressor._weight_attributes

    def counting(self, weights, y_ndim):
        built.append(1)
        return original(self, weights, y_ndim)

    monkeypatch.setattr(GDRegressor, "_weight_attributes", counting)
    GDRegressor(epochs=4, **KW).set_callbacks(StopAfter(100)).fit(X, y)
    assert len(built) == 1  # the commit's only
    monitor = callback.ScoringMonitor(scoring="r2")
    GDRegressor(epochs=4, **KW).set_callbacks(monitor).fit(X, y)
    assert len(built) == 1 + 4 + 1  # one per epoch end, then the commit


def test_callbacks_change_no_result(linear_data, _assert_same_model):
    X, y = linear_data
    for est in ESTIMATORS.values():
        plain = clone(est).fit(X, y)
        monitor = callback.ScoringMonitor(scoring="r2")
        _assert_same_model(clone(est).set_callbacks(monitor).fit(X, y), plain)


def test_partial_fit_reports_its_epochs_and_a_stream_closes_its_open_epoch(
    linear_data,
    _assert_same_model,
):
    X, y = linear_data
    stop = StopAfter(1)
    est = GDRegressor(epoch_size=150, shuffle=False, **KW).set_callbacks(stop)
    est.partial_fit(X[:100], y[:100])  # no epoch ends: an empty task (no X)
    # The first 50 rows end an epoch (asking to stop there changes nothing);
    # the last 50 begin one that stays open: an empty task again.
    est.partial_fit(X[100:], y[100:])
    assert [shape for _, shape in stop.ended] == [None, (100, 5), None]
    assert est.n_iter_ == 1
    _assert_same_model(
        est,
        GDRegressor(epoch_size=150, shuffle=False, **KW)
        .partial_fit(X[:100], y[:100])
        .partial_fit(X[100:], y[100:]),
    )


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_progress_bar_alone_in_a_pipeline_and_in_a_search(
    kind, linear_data, _assert_same_model
):
    pytest.importorskip("rich")
    X, y = linear_data
    est = clone(ESTIMATORS[kind])
    plain = clone(est).fit(X, y)
    _assert_same_model(
        clone(est).set_callbacks(callback.ProgressBar()).fit(X, y), plain
    )
    pipe = make_pipeline(StandardScaler(), clone(est))
    pipe.set_callbacks(callback.ProgressBar(max_propagation_depth=None)).fit(X, y)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), clone(est)),
        {f"{type(est).__name__.lower()}__alpha": [0.0, 0.1]},
        cv=2,
    )
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None)).fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == est.epochs
