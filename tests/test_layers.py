import numpy as np
import pytest

from skgd._layers import Dense, Dropout, glorot_uniform, he_uniform


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.9])
def test_dropout_zeroes_the_rate_and_keeps_the_mean(rate):
    layer = Dropout(rate)
    x = np.ones((1000, 200))
    mask, out = np.empty_like(x), np.empty_like(x)
    layer.forward(x, out, mask, [np.random.default_rng(0)])
    dropped = np.mean(out == 0)
    assert dropped == pytest.approx(rate, abs=0.005)  # 200,000 draws
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    in_force = round(rate * 65536) / 65536  # rounded to 16 random bits
    assert abs(in_force - rate) <= 0.5 / 65536
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - in_force)], rtol=1e-15)


def test_dropout_masks_differ_between_batches_and_follow_the_seed():
    layer = Dropout(0.5)
    x = np.ones((8, 8))

    def mask(rng):
        m, out = np.empty_like(x), np.empty_like(x)
        layer.forward(x, out, m, [rng])
        return out.copy()

    rng = np.random.default_rng(1)
    first, second = mask(rng), mask(rng)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, mask(np.random.default_rng(1)))


def test_dropout_is_the_identity_outside_training(rng):
    x = rng.normal(size=(4, 3))
    out = np.empty_like(x)
    Dropout(0.5).forward(x, out, np.empty_like(x), None)
    np.testing.assert_array_equal(out, x)


def test_initializers_draw_within_their_bounds(rng):
    W, b = glorot_uniform(rng, 30, 20)
    assert np.abs(W).max() <= np.sqrt(6 / 50) and np.abs(b).max() <= np.sqrt(6 / 50)
    W, b = glorot_uniform(rng, 30, 20, factor=2.0)
    assert np.abs(W).max() <= np.sqrt(2 / 50)
    W, b = he_uniform(rng, 30, 20)
    assert np.abs(W).max() <= np.sqrt(6 / 30) and not b.any()


def test_dense_starts_from_zeros_without_an_initializer(rng):
    from skgd._network import Network

    net = Network([Dense(3, 2)], 3, np.float64)
    net.params[:] = 1.0
    net.initialize(rng)
    assert not net.params.any()


def test_dropout_draws_from_its_own_stream_only():
    x = np.ones((8, 8))
    rngs = [np.random.default_rng(i) for i in range(3)]
    untouched = [rng.bit_generator.state for rng in rngs[:2]]
    out = np.empty_like(x)
    Dropout(0.5, stream=2).forward(x, out, np.empty_like(x), rngs)
    assert [rng.bit_generator.state for rng in rngs[:2]] == untouched
    alone = np.empty_like(x)
    Dropout(0.5).forward(x, alone, np.empty_like(x), [np.random.default_rng(2)])
    np.testing.assert_array_equal(out, alone)
