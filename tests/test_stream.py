"""Streams of partial_fit calls (``epoch_size``): batches and epochs across calls.

The reference is ``fit`` over the concatenated chunks: without shuffling the
stream must make the same updates in the same order, so results are compared
bit for bit.
"""

import itertools
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from skgd import DivergenceError, GDRegressor, MLPRegressor

N = 300


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.3 + 0.1 * rng.normal(size=N)
    # Weights of mean exactly 1 over the data and over every first epoch: the
    # stream's mean weight (that of its first chunk) is fit's.
    sw = rng.permutation(np.tile([0.25, 1.75, 2.0, 0.0, 1.5, 0.5], N // 6))
    return X, y, sw


def chunk_bounds(n, epochs, seed, first=0):
    """Random cut points over ``epochs`` passes, with chunks of 1 row and
    chunks longer than an epoch among them, none before ``first``."""
    rng = np.random.default_rng(seed)
    total = n * epochs
    cuts = set(rng.integers(1, total, size=12)) | {1, 2, n - 1, n + 1, total - 1}
    cuts = {c for c in cuts if first < c < total} | (
        {first} if 0 < first < total else set()
    )
    return [0, *sorted(cuts), total]


def stream(model, X, y, sw, epochs, seed=0):
    """Feed ``epochs`` passes over the data to ``model.partial_fit`` in chunks.

    With weights, or a target scaled (``scale_target``), the first chunk is a
    whole epoch: it sets the stream's mean weight, and its target's mean and
    scale, to fit's.
    """
    n = len(y)
    rows = np.tile(np.arange(n), epochs)
    whole = sw is not None or model.get_params().get("scale_target", False)
    bounds = chunk_bounds(n, epochs, seed, first=n if whole else 0)
    for a, b in itertools.pairwise(bounds):
        part = rows[a:b]
        model.partial_fit(X[part], y[part], None if sw is None else sw[part])
    return model


@pytest.fixture
def assert_same_training(fitted_weights):
    def check(actual, expected):
        for a, b in zip(fitted_weights(actual), fitted_weights(expected)):
            np.testing.assert_array_equal(a, b)
        assert actual.loss_curve_ == expected.loss_curve_
        assert (actual.n_iter_, actual.t_) == (expected.n_iter_, expected.t_)
        learning_rates = [r["learning_rate"] for r in expected.history_]
        assert [r["learning_rate"] for r in actual.history_] == learning_rates

    return check


CASES = {
    "gd": (GDRegressor, dict(learning_rate=0.02)),
    "gd-full-batch": (GDRegressor, dict(learning_rate=0.1, batch_size=None)),
    "gd-dropout-nesterov": (
        GDRegressor,
        dict(learning_rate=0.01, dropout=0.3, momentum=0.9, nesterov=True),
    ),
    "gd-adam-invscaling": (
        GDRegressor,
        dict(learning_rate=0.05, optimizer="adam", lr_schedule="invscaling"),
    ),
    "mlp-dropout-cosine": (
        MLPRegressor,
        dict(hidden_layer_sizes=(8, 6), dropout=0.2, lr_schedule="cosine"),
    ),
    "mlp-sgd-alpha": (
        MLPRegressor,
        dict(hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=0.05, alpha=1e-3),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES)
def test_chunks_train_exactly_like_fit_over_their_concatenation(
    data, case, weighted, dtype, assert_same_training
):
    X, y, sw = data
    X = X.astype(dtype)
    sw = sw if weighted else None
    Est, params = CASES[case]
    params = dict(dict(batch_size=32), **params)
    # epochs is the period of the cosine schedule, streamed or not.
    common = dict(epochs=3, shuffle=False, random_state=0, **params)
    expected = Est(tol=None, **common).fit(X, y, sw)
    actual = stream(Est(epoch_size=N, **common), X, y, sw, epochs=3)
    assert_same_training(actual, expected)


def test_a_call_that_ends_no_epoch_adds_no_record_but_its_updates(data):
    X, y, _ = data
    model = GDRegressor(learning_rate=0.02, batch_size=32, epoch_size=N)
    model.partial_fit(X[:100], y[:100])
    assert model.history_ == [] and model.n_iter_ == 0
    assert model.t_ == 3  # 100 rows: three batches of 32, four rows wait
    assert model._training_state["stream"]["pending"][0].shape == (4, 4)
    model.partial_fit(X[100:], y[100:])
    assert model.n_iter_ == 1 and len(model.history_) == 1
    assert model.t_ == 10  # ceil(300 / 32)
    assert model._training_state["stream"]["pending"] is None


def test_a_stream_reports_and_records_each_epoch_as_fit_does(data, capsys):
    X, y, _ = data
    common = dict(learning_rate=0.02, batch_size=32, shuffle=False, verbose=1)
    common["record_trajectory"] = True
    expected = GDRegressor(epochs=2, tol=None, **common).fit(X, y)
    fit_lines = capsys.readouterr().out.splitlines()
    actual = stream(GDRegressor(epoch_size=N, **common), X, y, None, epochs=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(fit_lines) == 2
    untimed = [line.rsplit(" - ", 1)[0] for line in lines]  # the seconds differ
    assert untimed == [line.rsplit(" - ", 1)[0] for line in fit_lines]
    np.testing.assert_array_equal(actual.trajectory_, expected.trajectory_)


def test_weights_of_very_different_scales_across_chunks_are_kept_relative(
    data, assert_same_training, fitted_weights
):
    # The first chunk sets the mean weight; later chunks keep their ratio to
    # it, however different their scale, and the same stream scaled by a
    # power of two trains bit for bit the same.
    X, y, sw = data
    sw = sw * np.where(np.arange(N) < 150, 2.0**-90, 2.0**-88)
    # The weights' arithmetic, without a target scale of the first chunk.
    common = dict(learning_rate=0.005, batch_size=32, shuffle=False)
    common["scale_target"] = False

    def run(weights):
        model = GDRegressor(epoch_size=N, **common)
        for a, b in [(0, 140), (140, 170), (170, N)]:
            model.partial_fit(X[a:b], y[a:b], weights[a:b])
        return model

    actual, scaled = run(sw), run(sw * 2.0**1000)
    assert_same_training(scaled, actual)
    # Relative to the first chunk's mean weight, every weight is
    # mean(sw) / mean(sw[:140]) times its weight relative to fit's mean:
    # without penalty, the same as fit with a learning rate that much larger.
    common["learning_rate"] *= np.mean(sw) / np.mean(sw[:140])
    expected = GDRegressor(epochs=1, tol=None, **common).fit(X, y, sw)
    for a, b in zip(fitted_weights(actual), fitted_weights(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_unweighted_chunks_weigh_one_among_weighted_ones(data, assert_same_training):
    X, y, sw = data
    common = dict(learning_rate=0.02, batch_size=32, shuffle=False)
    common["scale_target"] = False  # the first chunk's scale would not be fit's
    sw = np.tile([0.25, 1.75, 2.0, 0.0, 1.5, 0.5], N // 6)
    sw[96:204] = 1.0  # the mean stays 1, in the first chunk too
    expected = GDRegressor(epochs=1, tol=None, **common).fit(X, y, sw)
    actual = GDRegressor(epoch_size=N, **common)
    actual.partial_fit(X[:120], y[:120], sw[:120])
    actual.partial_fit(X[120:204], y[120:204])
    actual.partial_fit(X[204:], y[204:], sw[204:])
    assert_same_training(actual, expected)


def test_a_chunk_of_weightless_rows_is_part_of_the_stream(data, fitted_weights):
    # scikit-learn refuses weights that are all zero; a stream's chunk may
    # have them, as long as the stream is weighted elsewhere. The first chunk
    # with weights sets the mean weight: here that of the rows from 140 on,
    # 300 / 160 times fit's mean over all rows.
    X, y, sw = data
    sw = sw.copy()
    sw[:140] = 0.0
    sw[140:] = 1.0 + (np.arange(160) % 2 - 0.5)  # mean 1
    common = dict(batch_size=32, shuffle=False, scale_target=False)
    expected = GDRegressor(learning_rate=0.02 * 160 / 300, epochs=1, tol=None, **common)
    expected.fit(X, y, sw)
    actual = GDRegressor(learning_rate=0.02, epoch_size=N, **common)
    for a, b in [(0, 70), (70, 140), (140, N)]:
        actual.partial_fit(X[a:b], y[a:b], sw[a:b])
    for a, b in zip(fitted_weights(actual), fitted_weights(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert actual.t_ == expected.t_
    with pytest.raises(ValueError, match="non-zero"):  # outside a stream
        GDRegressor().partial_fit(X[:70], y[:70], sw[:70])


def test_sparse_chunks_train_like_dense_ones(data):
    X, y, _ = data
    X = np.where(np.abs(X) > 0.8, X, 0.0)
    common = dict(learning_rate=0.02, batch_size=32, shuffle=False, epoch_size=N)
    common["scale_target"] = False  # which centers dense features only
    dense = stream(GDRegressor(**common), X, y, None, epochs=2)
    sparse = stream(GDRegressor(**common), sp.csr_matrix(X), y, None, epochs=2)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-12)
    assert sparse.t_ == dense.t_


def test_one_shuffled_call_per_epoch_is_fit_with_shuffling(data, assert_same_training):
    X, y, _ = data
    common = dict(learning_rate=0.02, batch_size=32, dropout=0.2, random_state=3)
    expected = GDRegressor(epochs=2, tol=None, **common).fit(X, y)
    actual = GDRegressor(epoch_size=N, **common)
    actual.partial_fit(X, y).partial_fit(X, y)
    assert_same_training(actual, expected)


def test_a_stream_pickled_mid_epoch_resumes_exactly(data, assert_same_training):
    X, y, _ = data
    common = dict(hidden_layer_sizes=(5,), batch_size=32, dropout=0.2, shuffle=False)
    common["scale_target"] = False  # a first chunk of 50 rows would scale apart
    expected = MLPRegressor(epochs=1, tol=None, random_state=0, **common).fit(X, y)
    actual = MLPRegressor(epoch_size=N, random_state=0, **common)
    actual.partial_fit(X[:50], y[:50])
    actual = pickle.loads(pickle.dumps(actual)).partial_fit(X[50:], y[50:])
    assert_same_training(actual, expected)


@pytest.mark.parametrize(
    "change", [dict(epoch_size=200), dict(epoch_size=None), dict(batch_size=16)]
)
def test_sizes_change_only_between_epochs(data, change):
    X, y, _ = data
    model = GDRegressor(learning_rate=0.02, batch_size=32, epoch_size=N)
    model.partial_fit(X[:100], y[:100])
    before = pickle.dumps(model)
    model.set_params(**change)
    with pytest.raises(ValueError, match="100 rows into a streamed epoch"):
        model.partial_fit(X[100:], y[100:])
    assert pickle.dumps(model.set_params(epoch_size=N, batch_size=32)) == before
    model.partial_fit(X[100:], y[100:]).set_params(**change)
    model.partial_fit(X, y)  # a new epoch may use other sizes


def test_a_diverging_chunk_changes_nothing(data, assert_same_training):
    X, y, _ = data
    common = dict(learning_rate=0.02, batch_size=32, shuffle=False, epoch_size=N)
    common["scale_target"] = False  # a first chunk of 100 rows would scale apart
    expected = GDRegressor(**common)
    stream(expected, X, y, None, epochs=1)
    actual = GDRegressor(**common).partial_fit(X[:100], y[:100])
    with pytest.raises(DivergenceError):
        actual.partial_fit(X[100:200] * 1e8, y[100:200])
    actual.partial_fit(X[100:], y[100:])
    assert_same_training(actual, expected)


def test_fit_starts_afresh_and_drops_an_unfinished_streamed_epoch(data):
    X, y, _ = data
    common = dict(learning_rate=0.02, batch_size=32, epochs=2, tol=None)
    common["random_state"] = 0
    model = GDRegressor(epoch_size=N, **common).partial_fit(X[:100], y[:100])
    model.fit(X, y)
    assert model._training_state["stream"] is None
    np.testing.assert_array_equal(model.coef_, GDRegressor(**common).fit(X, y).coef_)
