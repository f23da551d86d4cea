"""The objective's gradient against finite differences, and the trainer."""

import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone

from skgd import DivergenceError, GDRegressor, MLPRegressor
from skgd._callbacks import EarlyStopping
from skgd._data import Batches, MemoryEpochs
from skgd._engine import run_epochs
from skgd._layers import Dense, Dropout
from skgd._losses import LOSSES
from skgd._network import Network
from skgd._optimizers import SGD
from skgd._schedules import Constant
from skgd._tasks import Regression
from skgd._trainer import Objective, Trainer, TrainingState


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


def _trainer(net, lr, baseline=1.0, val=None):
    optimizer = SGD()
    optimizer.init(net.params)
    state = TrainingState(optimizer, Constant(lr), np.random.default_rng(0))
    loss = LOSSES["squared_error"]()
    return Trainer(
        net,
        Objective(loss, 0.0),
        state,
        Regression(loss),
        batch_size=10,
        shuffle=False,
        baseline=baseline,
        val=val,
    )


def test_epoch_loss_is_the_weighted_mean_of_batch_objectives(rng):
    X, Y = rng.normal(size=(25, 3)), rng.normal(size=(25, 1))
    net = Network([Dense(3, 1)], 3, np.float64)
    trainer = _trainer(net, lr=0.0)  # parameters stay at zero
    record = trainer.train_part(MemoryEpochs(X, Y))
    assert record["train_loss"] == pytest.approx(0.5 * np.mean(Y**2))
    assert trainer.state.t == 3 and record["t"] == 3 and record["epoch"] == 1


def test_divergence_raises_with_the_learning_rate_in_the_message(rng):
    X = 100 * rng.normal(size=(50, 3))
    Y = X @ [[1.0], [2.0], [3.0]]
    net = Network([Dense(3, 1)], 3, np.float64)
    trainer = _trainer(net, lr=1.0, baseline=float(np.var(Y)))
    source = MemoryEpochs(X, Y)
    with pytest.raises(DivergenceError, match=r"epoch 1.*learning_rate=1\."):
        run_epochs(trainer, source.parts(trainer, 5), [], catch=False)


def test_the_loop_stops_on_a_plateau_and_restores_the_best(rng):
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    net = Network([Dense(2, 1)], 2, np.float64)
    rows = np.arange(40)
    train, val = MemoryEpochs(X, Y, rows=rows[:30]), Batches(X, Y, rows=rows[30:])
    trainer = _trainer(net, lr=0.1, val=val)
    stopping = EarlyStopping(1e-3, 3, monitor="val_loss", restore_best=True)
    records, stopped = run_epochs(
        trainer, train.parts(trainer, 500), [stopping], catch=False
    )
    assert stopped and stopping.stopped and len(records) < 500
    best = min(r["val_loss"] for r in records)
    assert trainer.validate(val)[0] == pytest.approx(best, rel=1e-12)
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
    tracemalloc.start()
    clone(estimator).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Batch buffers, the network and a few vectors of n_samples, no more.
    assert peak < X.nbytes / 8
