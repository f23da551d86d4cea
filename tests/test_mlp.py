"""MLPRegressor: gradients, exact steps, regularization, approximation, inputs."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold, cross_validate

from skgd import DivergenceError, MLPRegressor
from skgd._activations import ACTIVATIONS
from skgd._losses import LOSSES
from skgd._network import Network
from skgd.engine.trainer import Objective

EXACT = dict(tol=None, random_state=0)


@pytest.fixture
def small_data(rng):
    X = rng.normal(size=(120, 3))
    y = np.tanh(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=120)
    return X, y


# -- gradients -------------------------------------------------------------------


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_gradient_matches_finite_differences(activation, loss, rng, check_gradient):
    """The network MLPRegressor builds, with alpha, weights and dropout masks."""
    mlp = MLPRegressor(
        (5, 4),
        activation=activation,
        dropout=[0.3, 0.2],
        input_dropout=0.25,
        random_state=0,
    )
    net = Network(mlp._build_layers(3, 2), 3, np.float64)
    net.initialize(np.random.default_rng(1))
    X, Y = rng.normal(size=(7, 3)), 2 * rng.normal(size=(7, 2))
    s = rng.uniform(0.2, 2, size=(7, 1))
    c = s / s.sum()
    loss_function = LOSSES[loss](0.5) if loss == "huber" else LOSSES[loss]()
    objective = Objective(loss_function, alpha=0.1)

    check_gradient(net, objective, X, Y, c, seed=3)


def _backprop_step(X, y, coefs, intercepts, lr):
    """One full-batch SGD step on 0.5 * mean squared error, written out by hand."""
    h1 = np.tanh(X @ coefs[0] + intercepts[0])
    out = h1 @ coefs[1] + intercepts[1]
    d_out = (out - y[:, None]) / len(X)
    d_h1 = (d_out @ coefs[1].T) * (1 - h1**2)
    grads = [X.T @ d_h1, h1.T @ d_out], [d_h1.sum(0), d_out.sum(0)]
    new_coefs = [W - lr * g for W, g in zip(coefs, grads[0])]
    new_intercepts = [b - lr * g for b, g in zip(intercepts, grads[1])]
    return new_coefs, new_intercepts


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_one_full_batch_sgd_step_from_weights_set_by_hand(small_data, rng, how):
    X, y = small_data
    mlp = MLPRegressor(
        (4,),
        activation="tanh",
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=None,
        epochs=1,
        warm_start=True,
        scale_target=False,  # the textbook step
        **EXACT,
    )
    mlp.fit(X, y)
    coefs = [rng.normal(size=(3, 4)), rng.normal(size=(4, 1))]
    intercepts = [rng.normal(size=4), rng.normal(size=1)]
    mlp.coefs_ = [c.copy() for c in coefs]
    mlp.intercepts_ = [b.copy() for b in intercepts]
    mlp.fit(X, y) if how == "warm_start" else mlp.partial_fit(X, y)
    expected = _backprop_step(X, y, coefs, intercepts, 0.1)
    for got, want in zip(mlp.coefs_ + mlp.intercepts_, expected[0] + expected[1]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# -- what the network can do -----------------------------------------------------


def test_universal_approximation_of_sin_3x(rng):
    X = rng.uniform(-2, 2, size=(1000, 1))
    y = np.sin(3 * X).ravel()
    mlp = MLPRegressor(
        (64, 64), learning_rate=0.01, batch_size=32, epochs=100, **EXACT
    ).fit(X, y)
    grid = np.linspace(-2, 2, 400)[:, None]
    assert mlp.score(grid, np.sin(3 * grid).ravel()) > 0.99


def _cross_validated(X, y, **params):
    """Mean (train R², test R²) over 5 folds of a wide (128, 128) network."""
    mlp = MLPRegressor(
        (128, 128), learning_rate=1e-3, batch_size=16, epochs=100, **EXACT, **params
    )
    cv = KFold(5, shuffle=True, random_state=0)
    scores = cross_validate(mlp, X, y, cv=cv, return_train_score=True)
    return scores["train_score"].mean(), scores["test_score"].mean()


def test_dropout_and_alpha_shrink_the_generalization_gap():
    # A wide network on 80 noisy samples over-fits: train R² ~1, test R² ~0.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 8))
    y = X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + rng.normal(size=80)
    train, test = _cross_validated(X, y)
    assert train - test > 0.8
    for params in (dict(dropout=0.5), dict(alpha=0.03)):
        reg_train, reg_test = _cross_validated(X, y, **params)
        assert reg_train - reg_test < train - test - 0.2
        assert reg_test > test + 0.1


# -- fitted attributes, continuing, randomness -----------------------------------


def test_attributes_have_scikit_learn_shapes(small_data):
    X, y = small_data
    mlp = MLPRegressor((7, 5), epochs=2, **EXACT).fit(X, np.c_[y, y])
    assert [W.shape for W in mlp.coefs_] == [(3, 7), (7, 5), (5, 2)]
    assert [b.shape for b in mlp.intercepts_] == [(7,), (5,), (2,)]
    assert (mlp.n_layers_, mlp.n_outputs_, mlp.out_activation_) == (4, 2, "identity")
    assert mlp.predict(X).shape == (120, 2)
    assert MLPRegressor((3,), epochs=2, **EXACT).fit(X, y).predict(X).shape == (120,)


@pytest.mark.parametrize("weight_init", ["glorot_uniform", "he_uniform"])
def test_weight_initialization(weight_init):
    X = np.zeros((10, 400))
    mlp = MLPRegressor(
        (300,), weight_init=weight_init, learning_rate=1e-12, epochs=1, **EXACT
    ).fit(X, np.zeros(10))
    W, b = mlp.coefs_[0], mlp.intercepts_[0]
    bound = np.sqrt(6 / 700) if weight_init == "glorot_uniform" else np.sqrt(6 / 400)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    assert np.abs(W).mean() == pytest.approx(bound / 2, rel=0.02)
    if weight_init == "he_uniform":
        assert not b.any()


def test_partial_fit_is_fit_one_epoch_at_a_time_even_with_dropout(small_data):
    X, y = small_data
    params = dict(
        hidden_layer_sizes=(8,), dropout=0.3, input_dropout=0.1, batch_size=16, **EXACT
    )
    fitted = MLPRegressor(epochs=3, **params).fit(X, y)
    stream = MLPRegressor(**params)
    for _ in range(3):
        stream.partial_fit(X, y)
    for a, b in zip(stream.coefs_, fitted.coefs_):
        np.testing.assert_array_equal(a, b)
    assert stream.loss_curve_ == fitted.loss_curve_


def test_warm_start_continues(small_data):
    X, y = small_data
    mlp = MLPRegressor((8,), learning_rate=0.01, epochs=5, warm_start=True, **EXACT)
    first = mlp.fit(X, y).loss_curve_[-1]
    mlp.fit(X, y)
    assert mlp.n_iter_ == 10 and mlp.loss_curve_[5] < first * 1.05


def test_same_seed_same_network_other_seed_other_network(small_data):
    X, y = small_data
    kw = dict(hidden_layer_sizes=(8,), dropout=0.2, epochs=3, tol=None)
    a = MLPRegressor(random_state=1, **kw).fit(X, y)
    b = MLPRegressor(random_state=1, **kw).fit(X, y)
    c = MLPRegressor(random_state=2, **kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    np.testing.assert_array_equal(a.predict(X), a.predict(X))  # dropout is off


def test_dropout_rates_per_layer_and_their_errors(small_data):
    X, y = small_data
    mlp = MLPRegressor((4, 4), dropout=[0.5, 0.0], epochs=1, **EXACT).fit(X, y)
    rates = [layer.rate for layer in mlp._build_layers(3, 1) if hasattr(layer, "rate")]
    assert rates == [0.5]
    with pytest.raises(ValueError, match="dropout has 3 rates but there are 2"):
        MLPRegressor((4, 4), dropout=[0.1, 0.2, 0.3]).fit(X, y)
    with pytest.raises(ValueError, match=r"dropout rates must be in \[0, 1\)"):
        MLPRegressor((4, 4), dropout=[0.1, 1.0]).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a sequence"):
        MLPRegressor((4, 0)).fit(X, y)


def test_early_stopping_restores_the_best_epoch(rng):
    X = rng.normal(size=(100, 10))
    y = X[:, 0] + rng.normal(size=100)
    mlp = MLPRegressor(
        (128,),
        learning_rate=0.01,
        batch_size=16,
        epochs=300,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=8,
        random_state=0,
    ).fit(X, y)
    assert mlp.n_iter_ < 300
    val_losses = [r["val_loss"] for r in mlp.history_]
    best = int(np.argmin(val_losses))
    assert best < mlp.n_iter_ - 1
    again = MLPRegressor(
        (128,),
        learning_rate=0.01,
        batch_size=16,
        epochs=best + 1,
        early_stopping=True,
        validation_fraction=0.3,
        tol=None,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_array_equal(again.coefs_[0], mlp.coefs_[0])


# -- inputs ----------------------------------------------------------------------


def test_float32_end_to_end(small_data):
    X, y = small_data
    mlp = MLPRegressor((8,), dropout=0.1, epochs=3, **EXACT)
    mlp.fit(X.astype(np.float32), y.astype(np.float32))
    assert all(W.dtype == np.float32 for W in mlp.coefs_ + mlp.intercepts_)
    assert mlp.predict(X.astype(np.float32)).dtype == np.float32


def test_sparse_matches_dense(small_data):
    X, y = small_data
    X[np.abs(X) < 0.7] = 0.0
    kw = dict(
        hidden_layer_sizes=(8,), input_dropout=0.2, batch_size=10, epochs=3, **EXACT
    )
    dense = MLPRegressor(**kw).fit(X, y)
    sparse = MLPRegressor(**kw).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-10)
    np.testing.assert_allclose(
        sparse.predict(sp.csc_matrix(X)), dense.predict(X), rtol=1e-10
    )


def test_sample_weight_of_zero_is_like_removing_the_sample_in_full_batch(small_data):
    X, y = small_data
    sw = np.ones(120)
    sw[:20] = 0.0
    kw = dict(hidden_layer_sizes=(6,), batch_size=None, epochs=20, **EXACT)
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=sw)
    removed = MLPRegressor(**kw).fit(X[20:], y[20:])
    np.testing.assert_allclose(weighted.coefs_[1], removed.coefs_[1], rtol=1e-10)


def test_divergence_raises_and_keeps_the_model(small_data):
    X, y = small_data
    mlp = MLPRegressor(
        (8,), optimizer="sgd", learning_rate=0.01, epochs=2, warm_start=True, **EXACT
    ).fit(X, y)
    before = [W.copy() for W in mlp.coefs_]
    with pytest.raises(DivergenceError):
        mlp.set_params(learning_rate=1e4).fit(X * 100, y)
    for a, b in zip(mlp.coefs_, before):
        np.testing.assert_array_equal(a, b)


def test_pickle_holds_weights_and_history_only(small_data):
    X, y = small_data
    mlp = MLPRegressor((512,), epochs=2, **EXACT).fit(X, y)
    blob = pickle.dumps(mlp)
    params = sum(W.size for W in mlp.coefs_ + mlp.intercepts_)
    # The weights and Adam's two moments, plus a few kB; no data, no buffers.
    assert len(blob) < 3 * 8 * params + 8000
    np.testing.assert_array_equal(pickle.loads(blob).predict(X), mlp.predict(X))


def test_a_changed_architecture_is_refused_not_misread(small_data):
    X, y = small_data
    mlp = MLPRegressor((4,), epochs=1, warm_start=True, **EXACT).fit(X, y)
    before = mlp.predict(X)
    mlp.set_params(hidden_layer_sizes=(5,), activation="tanh")
    with pytest.raises(ValueError, match=r"shapes \[\(3, 4\), \(4, 1\)\] but .*"):
        mlp.fit(X, y)
    # predict uses the fitted architecture, not the current parameters.
    np.testing.assert_array_equal(mlp.predict(X), before)
    mlp.set_params(activation="relu")
    mlp.set_params(hidden_layer_sizes=(4,)).fit(X, y)
    assert mlp.n_iter_ == 2


def test_a_one_column_target_on_a_multi_output_model_is_a_value_error(small_data):
    X, y = small_data
    mlp = MLPRegressor((4,), epochs=1, **EXACT).fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match=r"y has 1 outputs but .* fitted with 2"):
        mlp.partial_fit(X, y)


def test_a_warm_start_holds_out_the_same_samples(small_data):
    X, y = small_data
    kw = dict(hidden_layer_sizes=(4,), epochs=1, validation_fraction=0.2, **EXACT)
    mlp = MLPRegressor(**kw).fit(X, y)
    # The warm call draws no initial weights, yet must split as the cold one did:
    # with (almost) unchanged weights, its validation loss is then unchanged.
    mlp.set_params(warm_start=True, learning_rate=1e-12).fit(X, y)
    assert mlp.history_[1]["val_loss"] == pytest.approx(
        mlp.history_[0]["val_loss"], rel=1e-6
    )
