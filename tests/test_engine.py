"""The objective's gradient against finite differences, and the trainer."""

import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone

import skgd._data
from skgd import DivergenceError, GDRegressor, MLPRegressor
from skgd._data import Batches, MemoryEpochs
from skgd._layers import Dense, Dropout
from skgd._losses import LOSSES
from skgd._network import Network
from skgd._optimizers import SGD
from skgd._schedules import Constant
from skgd._tasks import Regression
from skgd.engine.callbacks import EarlyStopping
from skgd.engine.session import (
    TrainingConfig,
    _add_streams,
    dropout_streams,
    make_rng,
    run_epochs,
)
from skgd.engine.stack.run import Trainer
from skgd.engine.trainer import Objective, TrainingState


def _network(layers, n_features, rng):
    net = Network(layers, n_features, np.float64)
    net.params[:] = rng.normal(size=net.params.shape)
    return net


LAYOUTS = {
    "linear": lambda: [Dense(4, 2)],
    "linear, no intercept": lambda: [Dense(4, 2, bias=False)],
    "input dropout": lambda: [Dropout(0.3), Dense(4, 2)],
    "two dense layers": lambda: [Dense(4, 3), Dropout(0.5), Dense(3, 2)],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_objective_gradient_matches_finite_differences(
    layout, loss, alpha, weighted, rng, check_gradient
):
    X, Y = rng.normal(size=(9, 4)), 3 * rng.normal(size=(9, 2))
    c = rng.uniform(0, 2, size=(9, 1)) if weighted else 1.0 / 9
    if weighted:
        c /= c.sum()
    net = _network(LAYOUTS[layout](), 4, rng)
    # Training mode with the same seed at every evaluation: a fixed dropout mask.
    check_gradient(net, Objective(LOSSES[loss](), alpha), X, Y, c, seed=7)


def test_objective_value_is_the_documented_formula(rng):
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    net = _network([Dense(3, 1)], 3, rng)
    W, b = net.layers[0].W.copy(), net.layers[0].b.copy()
    s = rng.uniform(0.5, 2, size=6)
    value = Objective(LOSSES["squared_error"](), 0.25)(
        net, X, Y, (s / s.sum())[:, None]
    )
    residual = (X @ W + b - Y).ravel()
    expected = 0.5 * np.sum(s * residual**2) / s.sum() + 0.125 * np.sum(W**2)
    assert value == pytest.approx(expected, rel=1e-12)


def test_penalty_covers_every_weight_matrix_and_no_intercept(rng):
    net = _network([Dense(3, 4), Dense(4, 1)], 3, rng)
    assert sum(w.size for w, _, _ in net.penalized) == 3 * 4 + 4 * 1
    for w, _, _ in net.penalized:
        assert any(np.shares_memory(w, layer.W) for layer in net.layers)
        assert not any(np.shares_memory(w, layer.b) for layer in net.layers)


def _trainer(net, lr, source, baseline=1.0, val=None, stopping=None):
    """A stack of one: ``net`` trained by SGD at the constant rate ``lr``."""
    optimizer = SGD()
    optimizer.init(net.params)
    state = TrainingState(optimizer, Constant(lr), np.random.default_rng(0))
    params = GDRegressor(batch_size=10, shuffle=False, alpha=0.0).get_params()
    config = TrainingConfig(Regression(LOSSES["squared_error"]()), params, None)
    return Trainer([net], [config], [(state, source, val)], [stopping], [baseline])


def test_epoch_loss_is_the_weighted_mean_of_batch_objectives(rng):
    X, Y = rng.normal(size=(25, 3)), rng.normal(size=(25, 1))
    net = Network([Dense(3, 1)], 3, np.float64)
    source = MemoryEpochs(X, Y)
    trainer = _trainer(net, 0.0, source)  # parameters stay at zero
    record = trainer.train_part(source)
    assert record["train_loss"] == pytest.approx(0.5 * np.mean(Y**2))
    assert trainer.t == 3 and record["t"] == 3 and record["epoch"] == 1


def test_divergence_raises_with_the_learning_rate_in_the_message(rng):
    X = 100 * rng.normal(size=(50, 3))
    Y = X @ [[1.0], [2.0], [3.0]]
    net = Network([Dense(3, 1)], 3, np.float64)
    source = MemoryEpochs(X, Y)
    trainer = _trainer(net, 1.0, source, baseline=float(np.var(Y)))
    with pytest.raises(DivergenceError, match=r"epoch 1.*learning_rate=1\."):
        run_epochs(trainer, source.parts(trainer, 5), [], catch=False)


def test_the_loop_stops_on_a_plateau_and_restores_the_best(rng):
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    net = Network([Dense(2, 1)], 2, np.float64)
    rows = np.arange(40)
    train, val = MemoryEpochs(X, Y, rows=rows[:30]), Batches(X, Y, rows=rows[30:])
    stopping = EarlyStopping(1e-3, 3, monitor="val_loss", restore_best=True)
    trainer = _trainer(net, 0.1, train, val=val, stopping=stopping)
    records, stopped = run_epochs(trainer, train.parts(trainer, 500), [], catch=False)
    assert stopped and stopping.stopped and len(records) < 500
    best = min(r["val_loss"] for r in records)
    net.params[...] = trainer._result(0, stopped)[0]  # as the fit ends
    val_loss = 0.5 * np.mean((net.predict(X[30:]) - Y[30:]) ** 2)
    assert val_loss == pytest.approx(best, rel=1e-12)
    assert best < records[-1]["val_loss"]  # the last epoch was not the best


@pytest.mark.parametrize(
    "estimator",
    [
        GDRegressor(epochs=2, early_stopping=True, tol=None, random_state=0),
        MLPRegressor(
            (16,),
            dropout=0.1,
            epochs=1,
            validation_fraction=0.2,
            tol=None,
            random_state=0,
        ),
    ],
    ids=["GDRegressor", "MLPRegressor"],
)
def test_fit_holds_no_copy_of_the_data(estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40_000, 50))  # 16 MB
    y = X[:, 0] + rng.normal(size=40_000)
    clone(estimator).fit(X[:100], y[:100])  # the kernels loaded (numba's memory)
    tracemalloc.start()
    clone(estimator).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Batch buffers, the network and a few vectors of n_samples, no more.
    assert peak < X.nbytes / 8


# -- randomness: one stream for the split, weights and shuffles, one per dropout --


def test_dropout_streams_are_jumps_of_the_generator_and_draw_nothing_from_it():
    rng = make_rng(5)
    before = rng.bit_generator.state
    streams = dropout_streams(rng, 3)
    assert rng.bit_generator.state == before
    for i, stream in enumerate(streams):
        assert stream.bit_generator.state == rng.bit_generator.jumped(i + 1).state
    draws = [stream.integers(2**63, size=4).tolist() for stream in streams]
    assert draws[0] != draws[1] != draws[2] != rng.integers(2**63, size=4).tolist()
    assert dropout_streams(rng, 0) == []


def _record_randomness(monkeypatch):
    """Record the held-out splits, initial weights and shuffles of later fits."""
    seen = {"split": [], "init": [], "order": []}
    split_rows, shuffled_range = skgd._data.split_rows, skgd._data.shuffled_range
    initialize = Network.initialize

    def recording_split(*args, **kwargs):
        rows = split_rows(*args, **kwargs)
        seen["split"].append(rows)
        return rows

    def recording_shuffle(n, rng):
        order = shuffled_range(n, rng)
        seen["order"].append(order.copy())
        return order

    def recording_init(net, rng):
        initialize(net, rng)
        seen["init"].append(net.params.copy())

    monkeypatch.setattr(skgd._data, "split_rows", recording_split)
    monkeypatch.setattr(skgd._data, "shuffled_range", recording_shuffle)
    monkeypatch.setattr(Network, "initialize", recording_init)
    return seen


def _assert_same_records(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key]):
            if isinstance(x, tuple):
                for u, v in zip(x, y, strict=True):
                    np.testing.assert_array_equal(u, v)
            else:
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "estimator, dropped",
    [
        (MLPRegressor((8,), batch_size=16), dict(dropout=0.2)),
        (MLPRegressor((8, 8), batch_size=16), dict(dropout=(0.0, 0.4))),
        (MLPRegressor((8,), batch_size=16), dict(input_dropout=0.3, dropout=0.2)),
        (MLPRegressor((8,), batch_size=16, validation_fraction=0.2), {"dropout": 0.2}),
        (GDRegressor(batch_size=16, early_stopping=True), dict(dropout=0.3)),
    ],
    ids=["mlp", "mlp-second-layer", "mlp-input", "mlp-split", "gd-split"],
)
def test_dropout_rates_change_no_split_weight_or_shuffle(
    estimator, dropped, linear_data, monkeypatch
):
    X, y = linear_data
    estimator = clone(estimator).set_params(epochs=3, tol=None, random_state=4)
    runs = []
    for params in ({}, dropped):
        seen = _record_randomness(monkeypatch)
        model = clone(estimator).set_params(**params).fit(X, y)
        monkeypatch.undo()
        runs.append((model, seen))
    (plain, plain_seen), (dropping, dropping_seen) = runs
    assert len(plain_seen["init"]) == 1
    assert len(plain_seen["order"]) == 3 or len(plain_seen["split"]) == 1
    _assert_same_records(dropping_seen, plain_seen)
    states = [m._training_state["rng"].bit_generator.state for m in (plain, dropping)]
    assert states[0] == states[1]
    # Not vacuous: dropout was on, so the fits differ.
    assert plain._training_state["streams"] == []
    assert dropping._training_state["streams"]
    assert not np.array_equal(plain.predict(X), dropping.predict(X))


def _stream_states(model):
    return [s.bit_generator.state for s in model._training_state["streams"]]


def test_each_dropout_position_draws_the_same_masks_whatever_the_other_rates(
    linear_data,
):
    X, y = linear_data
    kw = dict(hidden_layer_sizes=(8, 8), batch_size=16, epochs=3, tol=None)
    initial = [s.bit_generator.state for s in dropout_streams(make_rng(7), 3)]
    first = MLPRegressor(dropout=(0.0, 0.3), random_state=7, **kw).fit(X, y)
    second = MLPRegressor(dropout=(0.2, 0.3), random_state=7, **kw).fit(X, y)
    a, b = _stream_states(first), _stream_states(second)
    assert len(a) == len(b) == 3
    assert a[2] == b[2] != initial[2]  # the same masks after the second layer
    assert a[1] == initial[1] != b[1]  # drawn from only where the rate is > 0
    assert a[0] == b[0] == initial[0]  # no input dropout
    third = MLPRegressor(dropout=(0.2, 0.0), random_state=7, **kw).fit(X, y)
    c = _stream_states(third)
    assert c[1] == b[1] and len(c) == 2  # the same masks after the first layer


def test_partial_fit_after_fit_goes_on_drawing_from_the_stored_streams(linear_data):
    X, y = linear_data
    kw = dict(batch_size=16, dropout=0.3, input_dropout=0.1, tol=None, random_state=2)
    continued = MLPRegressor((8,), epochs=2, **kw).fit(X, y)
    after_fit = _stream_states(continued)
    continued.partial_fit(X, y)
    whole = MLPRegressor((8,), epochs=3, **kw).fit(X, y)
    assert _stream_states(continued) == _stream_states(whole) != after_fit
    for a, b in zip(
        continued.coefs_ + continued.intercepts_, whole.coefs_ + whole.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert continued.loss_curve_ == whole.loss_curve_


def test_dropout_set_between_partial_fit_calls_gets_its_own_stream(linear_data):
    X, y = linear_data
    kw = dict(batch_size=16, tol=None, random_state=2)
    models = []
    for _ in range(2):
        model = MLPRegressor((8, 8), **kw).partial_fit(X, y)
        assert model._training_state["streams"] == []
        model.set_params(dropout=(0.0, 0.2), input_dropout=0.1).partial_fit(X, y)
        assert len(model._training_state["streams"]) == 3
        models.append(model)
    assert _stream_states(models[0]) == _stream_states(models[1])  # deterministic
    np.testing.assert_array_equal(models[0].predict(X), models[1].predict(X))


def test_added_streams_are_those_of_a_fresh_start_and_the_stored_go_on():
    rng = make_rng(3)
    rng.integers(10, size=5)  # a generator that has drawn
    kept = np.random.default_rng(9)
    state = TrainingState(SGD(), Constant(0.1), rng, streams=[kept])
    before = rng.bit_generator.state
    _add_streams(state, 3)
    assert state.streams[0] is kept and len(state.streams) == 3
    expected = [g.bit_generator.state for g in dropout_streams(rng, 3)[1:]]
    assert [g.bit_generator.state for g in state.streams[1:]] == expected
    assert rng.bit_generator.state == before
    _add_streams(state, 1)
    assert len(state.streams) == 3
