import numpy as np
import pytest
import scipy.sparse as sp

from skgd._data import (
    Batches,
    iter_rows,
    relative_weights,
    split_rows,
)


def _epoch(batches, batch_size, rng=None):
    return [
        (x.copy(), y.copy(), np.copy(c), w) for x, y, c, w in batches(batch_size, rng)
    ]


@pytest.fixture
def data(rng):
    X = rng.normal(size=(103, 4))
    Y = np.arange(103.0)[:, None]  # the target names its row
    return X, Y


@pytest.mark.parametrize("batch_size", [1, 10, 32, 103, 500, None])
@pytest.mark.parametrize("shuffle", [False, True])
def test_an_epoch_visits_every_row_once(data, batch_size, shuffle):
    X, Y = data
    batches = Batches(X, Y)
    batches.chunk_bytes = 512  # several chunks, to cross their boundaries
    epoch = _epoch(batches, batch_size, np.random.default_rng(0) if shuffle else None)
    rows = np.concatenate([y[:, 0] for _, y, _, _ in epoch]).astype(int)
    assert sorted(rows) == list(range(103))
    assert (rows == np.arange(103)).all() != (shuffle and batch_size in (1, 10, 32))
    for x, y, c, w in epoch:
        np.testing.assert_array_equal(x, X[y[:, 0].astype(int)])
        assert c == 1.0 / len(y) and w == len(y)
    size = min(batch_size or 103, 103)
    assert [len(y) for _, y, _, _ in epoch[:-1]] == [size] * (len(epoch) - 1)


def test_rows_subset_and_sparse(data):
    X, Y = data
    rows = np.array([5, 7, 50, 60, 100])
    for matrix in (X, sp.csr_matrix(X)):
        epoch = _epoch(Batches(matrix, Y, rows=rows), 2)
        assert [list(y[:, 0]) for _, y, _, _ in epoch] == [[5, 7], [50, 60], [100]]
        np.testing.assert_array_equal(epoch[1][0], X[[50, 60]])


def test_sparse_is_densified_one_batch_at_a_time(data):
    X, Y = data
    batches = Batches(sp.csr_matrix(X), Y)
    _epoch(batches, 8, np.random.default_rng(0))
    assert batches._buffers[0].shape == (8, 4)


def test_sample_weights_are_divided_by_batch_rows_without_touching_input(data):
    X, Y = data
    sw = np.linspace(0.0, 2.0, 103)
    before = sw.copy()
    for rng in (None, np.random.default_rng(1)):
        for _, y, c, w in _epoch(Batches(X, Y, sw), 16, rng):
            rows = y[:, 0].astype(int)
            assert w == len(rows)
            np.testing.assert_allclose(c[:, 0], sw[rows] / len(rows))
    np.testing.assert_array_equal(sw, before)


def test_a_batch_of_zero_weights_gets_zero_weights(data):
    X, Y = data
    sw = np.ones(103)
    sw[:10] = 0.0
    (_, _, c, w), *_ = _epoch(Batches(X, Y, sw), 10)
    assert w == 10 and not c.any()  # the batch counts, with no loss in it


def test_full_batch_rows_are_gathered_once(data):
    X, Y = data
    batches = Batches(X, Y, rows=np.arange(0, 103, 2))
    first = _epoch(batches, None)
    X[:] = 0.0  # a second gather would see this
    second = _epoch(batches, None)
    np.testing.assert_array_equal(first[0][0], second[0][0])


def test_iter_rows_covers_rows_in_order(data):
    X, _ = data
    rows = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    for matrix in (X, sp.csr_matrix(X)):
        blocks = [(part, b.copy()) for part, b in iter_rows(matrix, 3, X.dtype, rows)]
        assert [part for part, _ in blocks] == [slice(0, 3), slice(3, 6), slice(6, 8)]
        np.testing.assert_array_equal(np.vstack([b for _, b in blocks]), X[rows])


def test_split_rows_is_a_partition():
    train, val = split_rows(50, 0.2, np.random.default_rng(0))
    assert len(val) == 10 and len(train) == 40
    assert sorted(np.concatenate([train, val])) == list(range(50))


def test_split_rows_refuses_an_empty_split():
    with pytest.raises(ValueError, match="n_samples=1"):
        split_rows(1, 0.1, np.random.default_rng(0))


def test_relative_weights_have_mean_one_over_the_chosen_rows():
    sw = np.array([0.0, 3.0, 1e-3, 700.0, 1e300, 1e300])
    rows = np.array([0, 1, 2, 3])
    relative = relative_weights(sw, rows)
    np.testing.assert_allclose(relative[rows].mean(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(relative[rows], sw[rows] / sw[rows].mean())
    assert np.isfinite(relative_weights(sw)).all()  # no overflow of the mean
    tiny = np.array([5e-324, 1e-323, 0.0])  # subnormal: no overflow of 1 / scale
    np.testing.assert_array_equal(relative_weights(tiny), [1.0, 2.0, 0.0])
    assert relative_weights(None) is None
    assert relative_weights(np.full(5, 0.1)) is None  # the same as no weights
    np.testing.assert_array_equal(relative_weights(np.zeros(3)), np.zeros(3))


def test_batch_weights_are_relative_weights_over_the_batch_rows():
    X, Y = np.ones((5, 1)), np.ones((5, 1))
    sw = np.array([1.0, 3.0, 0.0, 2.0, 4.0])  # mean 2
    batches = list(Batches(X, Y, relative_weights(sw))(2))
    for (_, _, c, m), rows in zip(batches, [[0, 1], [2, 3], [4]]):
        assert m == len(rows)
        np.testing.assert_allclose(c.ravel(), sw[rows] / (2.0 * len(rows)))


@pytest.mark.parametrize("seed", range(5))
def test_a_stratified_split_puts_every_class_on_both_sides(seed):
    strata = np.repeat([0, 1, 2, 3], [2, 3, 40, 55])
    rng = np.random.default_rng(seed)
    train, val = split_rows(100, 0.1, rng, strata)
    assert len(val) == 10 and len(train) == 90
    assert sorted(np.concatenate([train, val])) == list(range(100))
    for part in (train, val):
        assert set(strata[part]) == {0, 1, 2, 3}
    counts = np.bincount(strata[val])
    assert counts[2] + counts[3] == 8 and abs(counts[3] - counts[2]) <= 2


def test_a_stratified_split_holds_out_a_row_of_each_class_at_least():
    strata = np.repeat([0, 1, 2], [3, 3, 14])
    train, val = split_rows(20, 0.05, np.random.default_rng(0), strata)
    assert len(val) == 3 and set(strata[val]) == set(strata[train]) == {0, 1, 2}
    train, val = split_rows(20, 0.95, np.random.default_rng(0), strata)
    assert len(train) == 3 and set(strata[train]) == {0, 1, 2}


def test_a_stratified_split_refuses_a_class_it_cannot_put_on_both_sides():
    strata = np.repeat([0, 1], [1, 20])
    with pytest.raises(ValueError, match="rarest class has 1 sample; give it"):
        split_rows(21, 0.2, np.random.default_rng(0), strata)
