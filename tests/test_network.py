import numpy as np
import pytest
import scipy.sparse as sp

from skgd._activations import Activation
from skgd._layers import Dense, Dropout
from skgd._losses import LOSSES
from skgd._network import Network


def _net(rng):
    layers = [Dense(3, 4), Activation("tanh"), Dropout(0.5), Dense(4, 2)]
    net = Network(layers, 3, np.float64)
    net.params[:] = rng.normal(size=net.params.size)
    return net


def test_parameters_are_views_into_one_vector(rng):
    net = _net(rng)
    first, last = net.layers[0], net.layers[3]
    assert net.params.size == (3 + 1) * 4 + (4 + 1) * 2
    for layer in (first, last):
        assert np.shares_memory(layer.W, net.params)
        assert np.shares_memory(layer.b, net.params)
    net.params[:] = 0.0
    assert not first.W.any() and not last.b.any()


def test_forward_is_the_plain_formula_with_the_bias_trick(rng):
    net = _net(rng)
    X = rng.normal(size=(5, 3))
    first, last = net.layers[0], net.layers[3]
    expected = np.tanh(X @ first.W + first.b) @ last.W + last.b
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-14)
    # The hidden activations sit in a buffer with a last column of ones.
    assert last.input_has_ones and not first.input_has_ones


def test_predict_in_blocks_equals_one_forward(rng):
    net = _net(rng)
    X = rng.normal(size=(10, 3))
    whole = net.forward(X).copy()
    np.testing.assert_allclose(net.predict(X), whole, rtol=1e-14)
    rows = np.array([9, 0, 4])
    np.testing.assert_allclose(net.predict(X, rows), whole[rows], rtol=1e-14)


def test_sparse_input_is_densified_one_batch_at_a_time(rng):
    X = sp.random(50, 3, density=0.5, format="csr", random_state=0)
    net = _net(rng)
    pred = net.predict(X, block=8)
    assert set(net._workspaces) == {8, 2}  # blocks of 8 rows, then the rest
    np.testing.assert_allclose(pred, net.predict(X.toarray()), rtol=1e-14)


def test_weights_go_in_and_out_through_the_layers(rng):
    net = Network([Dense(3, 4), Activation("tanh"), Dense(4, 2, bias=False)], 3, float)
    weights = [
        (rng.normal(size=(3, 4)), rng.normal(size=4)),
        (rng.normal(size=(4, 2)), None),
    ]
    net.set_weights(weights)
    for (W, b), (W2, b2) in zip(weights, net.get_weights()):
        np.testing.assert_array_equal(W, W2)
        assert (b is None and b2 is None) or np.array_equal(b, b2)
    got = net.get_weights()
    got[0][0][...] = 0.0  # copies: the network is untouched
    assert net.get_weights()[0][0].any()


def test_weights_of_the_wrong_shape_are_refused_by_name(rng):
    net = Network([Dense(3, 4), Dense(4, 1)], 3, float)
    with pytest.raises(ValueError, match=r"shapes \[\(3, 4\), \(5, 1\)\].*warm_start"):
        net.set_weights([(np.ones((3, 4)), np.ones(4)), (np.ones((5, 1)), np.ones(1))])


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [Dense(4, 2)],
        lambda: [Dense(4, 2, bias=False)],
        lambda: [Dense(4, 1)],
        lambda: [Dense(4, 3), Activation("tanh"), Dense(3, 2)],
    ],
    ids=["dense", "dense without intercept", "one output", "two layers"],
)
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_grad_is_forward_loss_backward_to_the_bit(layers, loss, weighted, rng):
    X, Y = rng.normal(size=(7, 4)), 2 * rng.normal(size=(7, 2))
    c = rng.uniform(0.1, 1.0, size=(7, 1)) if weighted else np.array(1.0 / 7)
    results = []
    for walked in (True, False):
        net = Network(layers(), 4, np.float64)
        net.params[:] = np.random.default_rng(3).normal(size=net.params.size)
        y = Y[:, : net.widths[-1]]
        if walked:  # the plan walked layer by layer, as for any deeper network
            value = LOSSES[loss]().value_and_grad(net.forward(X), y, c, net.output_grad)
            net.backward(net.output_grad)
        else:
            value = net.loss_and_grad(LOSSES[loss](), X, y, c)
        results.append((value, net.grads.copy()))
    (v1, g1), (v2, g2) = results
    assert v1 == v2
    np.testing.assert_array_equal(g1, g2)


def test_n_streams_is_one_past_the_largest_dropout_position():
    from skgd import GDRegressor, MLPRegressor

    def n_streams(est, n_features=3):
        return Network(est._build_layers(n_features, 1), n_features, float).n_streams

    assert n_streams(MLPRegressor((4, 4))) == 0
    assert n_streams(MLPRegressor((4, 4), input_dropout=0.1)) == 1
    assert n_streams(MLPRegressor((4, 4, 4), dropout=(0.0, 0.2, 0.0))) == 3
    assert n_streams(MLPRegressor((4, 4), dropout=0.2, input_dropout=0.1)) == 3
    assert n_streams(GDRegressor()) == 0
    assert n_streams(GDRegressor(dropout=0.2)) == 1
    layers = MLPRegressor((4, 4, 4), dropout=(0.1, 0.0, 0.2))._build_layers(3, 1)
    assert [layer.stream for layer in layers if isinstance(layer, Dropout)] == [1, 3]
