"""The kernels of the stacked networks' passes against their numpy references.

Each candidate of a stack must go through its own fit's arithmetic: the
relu and dropout of the stack against :mod:`skgd._activations` and
:class:`skgd._layers.Dropout` on each candidate alone (the same draws from
the same stream), and the fused backward pass against the products and
derivatives of the numpy path.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from skgd import (
    DivergenceError,
    GDClassifier,
    GDRegressor,
    MLPClassifier,
    MLPRegressor,
)
from skgd._activations import ACTIVATIONS, Activation
from skgd._layers import Dense, Dropout, glorot_uniform
from skgd._losses import (
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    SoftmaxLogLoss,
    SquaredError,
)
from skgd._network import Network
from skgd.engine.linear_pass import LOSS_CODES
from skgd.engine.stack import train_group
from skgd.engine.stack.network import StackedNetwork
from skgd.engine.stack.parts import _bits, _fused_backward, _keep_rules, _rate_runs
from skgd.engine.stacked_passes import (
    batch_totals,
    stacked_dense,
    stacked_loss,
    stacked_relu_backward,
    stacked_relu_dropout,
    stacked_relu_grad,
)

RATES = [0.0, 0.0, 0.1, 0.1, 0.1, 0.5]  # runs of equal rates, as a stack orders them


def relu_input(rng, shape, dtype):
    """Normal values with a NaN and zeros of both signs."""
    z = (3.0 * rng.standard_normal(shape)).astype(dtype)
    z[0, 0, :3] = np.nan, 0.0, -0.0
    return z


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rates", [RATES, [0.0] * 3, [0.3] * 4])
def test_relu_dropout_is_each_candidates_relu_and_dropout_layer(rng, dtype, rates):
    m, w, K = 7, 5, len(rates)
    z = relu_input(rng, (m, K, w), dtype)
    out = np.empty_like(z)
    runs = _rate_runs(np.array(rates), dtype)
    bits = _bits(np.random.default_rng(3), m, w) if runs else np.zeros((0, 0), "u2")
    stacked_relu_dropout(z, out, bits, *_keep_rules(runs, K, dtype))
    relu = ACTIVATIONS["relu"][0]
    for k, rate in enumerate(rates):
        expected, dropped = np.empty((m, w), dtype), np.empty((m, w), dtype)
        relu(z[:, k], expected, np.zeros((m, w), dtype))
        if rate:  # the candidate's own layer, drawing from the same stream
            layer, mask = Dropout(rate), np.empty((m, w), dtype)
            layer.forward(expected, dropped, mask, [np.random.default_rng(3)])
            expected = dropped
        # Equal values, NaN where it has it (the sign of a zero may differ).
        np.testing.assert_array_equal(out[:, k], expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("o, intercepts", [(1, True), (3, True), (2, False)])
def test_relu_backward_is_the_products_and_relu_dropout_derivative(
    rng, dtype, o, intercepts
):
    m, w, K = 6, 5, len(RATES)
    runs = _rate_runs(np.array(RATES), dtype)
    thresholds, scales = _keep_rules(runs, K, dtype)
    a = np.empty((m, K, w), dtype)
    bits = _bits(np.random.default_rng(4), m, w)
    stacked_relu_dropout(relu_input(rng, (m, K, w), dtype), a, bits, thresholds, scales)
    a[0, 0, 0] = 0.0  # the NaN of the input, not at issue here
    g = rng.standard_normal((m, K, o)).astype(dtype)
    W = rng.standard_normal((w, K, o)).astype(dtype)
    dW, out = np.empty((w, K, o), dtype), np.empty((m, K, w), dtype)
    db = np.empty((K, o), dtype) if intercepts else np.zeros((0, 0))
    scratch = [np.empty((K, o, w), dtype) for _ in range(2)]
    stacked_relu_backward(a, g, W, dW, db, out, scales, *scratch, np.empty(w, dtype))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    expected_dW = np.einsum("mkh,mkq->hkq", a.astype(float), g.astype(float))
    np.testing.assert_allclose(dW, expected_dW, rtol=rtol, atol=1e-12)
    if intercepts:
        np.testing.assert_allclose(db, g.astype(float).sum(0), rtol=rtol, atol=1e-12)
    # The numpy path: the products, relu's derivative, then each run's scale.
    ga = np.einsum("mkq,hkq->mkh", g, W)
    expected = np.empty_like(out)
    ACTIVATIONS["relu"][1](a, ga, expected, np.empty_like(a))
    for part, threshold, scale in runs:
        if threshold is not None:
            expected[:, part] *= scale
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=1e-12)
    assert (out[a <= 0] == 0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rates", [RATES, [0.2]])
def test_relu_grad_is_relu_and_dropout_derivative(rng, dtype, rates):
    m, w, K = 6, 5, len(rates)
    runs = _rate_runs(np.array(rates), dtype)
    thresholds, scales = _keep_rules(runs, K, dtype)
    # The input as a stack of one reads it: a view beside a column of ones.
    full = np.ones((m, K, w + 1), dtype)
    a = full[:, :, :w]
    bits = _bits(np.random.default_rng(4), m, w)
    stacked_relu_dropout(relu_input(rng, (m, K, w), dtype), a, bits, thresholds, scales)
    ga = rng.standard_normal((m, K, w)).astype(dtype)
    ga[1, 0, :2] = np.inf, np.nan
    out = np.empty_like(ga)
    stacked_relu_grad(a, ga, out, scales)
    # The numpy path: relu's derivative, then each run's scale.
    expected = np.empty_like(out)
    with np.errstate(invalid="ignore"):  # inf times 0: NaN, as the kernel has it
        ACTIVATIONS["relu"][1](a, ga, expected, np.empty_like(a))
    for part, threshold, scale in runs:
        if threshold is not None:
            expected[:, part] *= scale
    np.testing.assert_array_equal(out, expected)
    assert (full[..., w] == 1).all()  # the column of ones untouched


def test_fused_backward_where_it_wins():
    assert _fused_backward(48, 32, 1)  # one output: the fused kernel
    assert _fused_backward(4, 8, 8)  # a small stack of narrow layers
    assert not _fused_backward(1, 64, 64)  # BLAS's products
    assert not _fused_backward(25, 64, 64)
    assert not _fused_backward(1, 64, 1)  # a stack of one: its own network's passes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("o, intercepts", [(1, True), (3, False)])
def test_stacked_dense_is_the_batched_product(rng, dtype, o, intercepts):
    m, K, w = 5, 3, 7
    a = rng.standard_normal((m, K, w)).astype(dtype)
    W = rng.standard_normal((w, K, o)).astype(dtype)
    b = rng.standard_normal((K, o)).astype(dtype)
    z = np.empty((m, K, o), dtype)
    stacked_dense(a, W, b if intercepts else np.zeros((0, 0)), z)
    expected = np.einsum("mkh,hko->mko", a.astype(float), W.astype(float))
    if intercepts:
        expected += b
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(z, expected, rtol=rtol, atol=1e-12)


LOSSES = [SquaredError, Huber, LogLoss, Hinge, ModifiedHuber, SoftmaxLogLoss]


@pytest.mark.parametrize("weights", ["uniform", "shared", "by candidate"])
@pytest.mark.parametrize("loss", LOSSES)
def test_stacked_loss_is_the_numpy_loss(rng, loss, weights):
    m, K, o = 9, 4, 3
    pred = 2.0 * rng.standard_normal((m, K, o))
    classes = rng.integers(0, o, m)
    indicator = np.eye(o)[classes]
    Y = loss.encode(indicator) if hasattr(loss, "encode") else pred[:, 0] + 0.5
    reference = loss()
    deltas = np.ones(1)
    if loss is Huber:  # a threshold by candidate, as the stack's loss has them
        deltas = np.array([0.3, 1.0, 2.0, 5.0])
        reference.delta = deltas[:, None]
    c = {
        "uniform": np.full((1, 1), 1.0 / m),
        "shared": rng.uniform(0.5, 2.0, (m, 1)) / m,
        "by candidate": rng.uniform(0.5, 2.0, (m, K)) / m,
    }[weights]
    grad, values = np.empty_like(pred), np.empty(K)
    stacked_loss(LOSS_CODES[loss], deltas, pred, Y, c, grad, values)
    expected_grad = np.empty_like(pred)
    column = c[0, 0] if weights == "uniform" else c[:, :, None]
    expected = reference.value_and_grad(
        pred.copy(), Y[:, None, :], column, expected_grad
    )
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert (values > 0).all()


def test_stacked_loss_keeps_nan_and_inf(rng):
    pred = rng.standard_normal((3, 2, 1))
    pred[1, 1, 0] = np.nan
    grad, values = np.empty_like(pred), np.empty(2)
    c = np.full((1, 1), 1 / 3)
    stacked_loss(LOSS_CODES[SquaredError], np.ones(1), pred, np.zeros((3, 1)), c,
                 grad, values)  # fmt: skip
    assert np.isfinite(values[0]) and np.isnan(values[1])
    pred[0, 0, 0] = 1e300
    stacked_loss(LOSS_CODES[SquaredError], np.ones(1), pred, np.zeros((3, 1)), c,
                 grad, values)  # fmt: skip
    assert values[0] == np.inf


@pytest.mark.parametrize("rows", [32, 7.5])
def test_batch_totals_are_numpys_check_and_sums(rng, rows):
    values = rng.standard_normal(5)
    limits = values + np.array([1.0, 0.0, 1.0, 1.0, 1.0])  # equal: within
    totals = rng.standard_normal(5)
    expected = totals + values * rows
    assert batch_totals(values, limits, rows, totals)
    np.testing.assert_array_equal(totals, expected)
    for beyond in (np.nan, limits[2] + 1e-9):  # NaN is never within
        values[2] = beyond
        expected = totals + values * rows
        assert not batch_totals(values, limits, rows, totals)
        np.testing.assert_array_equal(totals, expected)


# -- stacked relu networks against their own fits ----------------------------------


def stacked_and_alone(candidates, X, y):
    """Each candidate's stacked fit and its own fit, as fitted estimators."""
    outcomes, _, _ = train_group([clone(c) for c in candidates], X, y)
    assert all(outcome is not None for outcome in outcomes)  # every one stacked
    return [
        (outcome.take(), clone(candidate).fit(X, y))
        for candidate, outcome in zip(candidates, outcomes, strict=True)
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "settings",
    [{"optimizer": "adam"}, {"optimizer": "sgd", "momentum": 0.9, "nesterov": True}],
)
def test_relu_stacks_with_dropout_equal_their_own_fits(rng, dtype, settings):
    X = rng.standard_normal((70, 5)).astype(dtype)
    y = X @ rng.standard_normal(5) + np.sin(3 * X[:, 0])
    base = MLPRegressor(
        hidden_layer_sizes=(7, 4), batch_size=16, epochs=4, tol=None,
        random_state=0, early_stopping=True, validation_fraction=0.2, **settings,
    )  # fmt: skip
    candidates = [
        clone(base).set_params(
            dropout=dropout, input_dropout=input_dropout, learning_rate=lr, alpha=alpha
        )
        for dropout in (0.0, 0.2, 0.5)
        for input_dropout in (0.0, 0.1)
        for lr, alpha in ((1e-3, 0.0), (1e-2, 1e-2))
    ]
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    # A large stack (batched products) and a small one (stacked_dense).
    pairs = stacked_and_alone(candidates, X, y) + stacked_and_alone(
        candidates[-4:], X, y
    )
    for stacked, alone in pairs:
        np.testing.assert_allclose(stacked.predict(X), alone.predict(X), rtol=rtol)
        for key in ("train_loss", "val_loss"):
            assert [r[key] for r in stacked.history_] == pytest.approx(
                [r[key] for r in alone.history_], rel=rtol
            )


@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_smooth_stacks_with_dropout_equal_their_own_fits(rng, activation):
    X = rng.standard_normal((60, 5))
    y = X @ rng.standard_normal(5) + np.sin(3 * X[:, 0])
    base = MLPRegressor(
        hidden_layer_sizes=(6, 3), batch_size=16, epochs=3, tol=None,
        random_state=0, activation=activation,
    )  # fmt: skip
    candidates = [
        clone(base).set_params(dropout=dropout, input_dropout=0.1, learning_rate=lr)
        for dropout in (0.0, 0.3)
        for lr in (1e-3, 1e-2)
    ]
    # Four (batched products), then two (stacked_dense for the last layer).
    pairs = stacked_and_alone(candidates, X, y) + stacked_and_alone(
        candidates[1:3], X, y
    )
    for stacked, alone in pairs:
        np.testing.assert_allclose(stacked.predict(X), alone.predict(X), rtol=1e-9)


def test_relu_classifier_stacks_with_dropout_equal_their_own_fits(rng):
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    base = MLPClassifier(
        hidden_layer_sizes=(6,), batch_size=8, epochs=3, tol=None, random_state=1
    )
    candidates = [
        clone(base).set_params(dropout=dropout, learning_rate=lr)
        for dropout in (0.0, 0.3)
        for lr in (1e-2, 1e-1)
    ]
    for stacked, alone in stacked_and_alone(candidates, X, y):
        np.testing.assert_allclose(
            stacked.predict_proba(X), alone.predict_proba(X), rtol=1e-9, atol=1e-12
        )


# -- a stack of one candidate: its own network's passes ---------------------------


def mlp_network(activation, rates, dtype, n_in=5, widths=(7, 4), n_out=2):
    """An MLP's network: dense layers, the activation, dropout at ``rates``
    (by position, the input's first)."""
    layers, n, rng = [], n_in, np.random.default_rng(0)
    for j, width in enumerate((*widths, n_out)):
        if j:
            layers.append(Activation(activation))
        if rates[j]:
            layers.append(Dropout(rates[j], stream=j))
        layers.append(Dense(n, width, init=glorot_uniform))
        n = width
    net = Network(layers, n_in, dtype)
    net.initialize(rng)
    return net


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("rates", [(0.0, 0.0, 0.0), (0.2, 0.3, 0.5)])
@pytest.mark.parametrize("kept", [False, True])
def test_stack_of_one_passes_are_its_own_networks(rng, dtype, activation, rates, kept):
    """Forward and backward of a stack of one are its network's, bitwise: from
    its own network's buffers, or kept as the one candidate of a stack."""
    own = mlp_network(activation, rates, dtype)
    if kept:  # the general layout, the candidate's parameters copied
        others = [mlp_network(activation, rates, dtype) for _ in range(2)]
        stack = StackedNetwork([others[0], own, others[1]])
        stack.params[:] = rng.standard_normal(stack.params.size)
        stack.keep([1])
        own.params[:] = stack.candidate_params(0)
    else:
        stack = StackedNetwork([own])
    reference = mlp_network(activation, rates, dtype)
    reference.params[:] = own.params
    X = rng.standard_normal((9, 5)).astype(dtype)
    for streams in (None, 3):  # evaluation, then training (dropout)
        draws = [[np.random.default_rng(seed) for seed in range(3)] for _ in range(2)]
        pred = stack.forward(X, None if streams is None else draws[0])
        expected = reference.forward(X, None if streams is None else draws[1])
        np.testing.assert_array_equal(pred[:, 0], expected)
    g = rng.standard_normal(expected.shape).astype(dtype)
    stack._ws["g"][-1][:, 0] = g
    stack.backward()
    reference.backward(g)
    np.testing.assert_array_equal(stack.grads, reference.grads)


def stack_of_one_and_alone(estimator, X, y):
    """A stack of one candidate's fit and its own fit."""
    (outcome,), _, _ = train_group([clone(estimator)], X, y)
    return outcome.take(), clone(estimator).fit(X, y)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"activation": "tanh", "alpha": 1e-2},
        {"activation": "logistic"},
        {"dropout": 0.2, "input_dropout": 0.1},
        {"activation": "tanh", "dropout": 0.3},
        {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "alpha": 1e-3},
        {"early_stopping": True, "validation_fraction": 0.2},
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stack_of_one_equals_its_own_fit(rng, settings, dtype):
    X = rng.standard_normal((90, 6)).astype(dtype)
    y = X @ rng.standard_normal(6) + np.sin(3 * X[:, 0])
    estimator = MLPRegressor(
        hidden_layer_sizes=(16, 8), batch_size=16, epochs=4, tol=None, random_state=0
    ).set_params(**settings)
    stacked, alone = stack_of_one_and_alone(estimator, X, y)
    atol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(stacked.predict(X), alone.predict(X), rtol=0, atol=atol)
    for key in ("train_loss", "val_loss"):
        got = [r[key] for r in stacked.history_ if key in r]
        expected = [r[key] for r in alone.history_ if key in r]
        assert got == pytest.approx(expected, rel=1e-12 if atol < 1e-6 else 1e-5)


def test_stack_of_one_classifier_equals_its_own_fit(rng):
    X = rng.standard_normal((200, 5))
    y = np.digitize(X @ rng.standard_normal(5), np.linspace(-2, 2, 9))  # 10 classes
    estimator = MLPClassifier(
        hidden_layer_sizes=(32,), batch_size=16, epochs=3, tol=None, random_state=1,
        dropout=0.2,
    )  # fmt: skip
    stacked, alone = stack_of_one_and_alone(estimator, X, y)
    assert len(alone.classes_) == 10
    np.testing.assert_allclose(
        stacked.predict_proba(X), alone.predict_proba(X), rtol=0, atol=1e-12
    )


# -- a stack of one linear model: its own fit's kernels --------------------------


def one_stacked_and_alone(estimator, X, y, sample_weight=None):
    """``estimator``'s fit in a stack of one, and its own fit."""
    outcomes, _, _ = train_group([clone(estimator)], X, y, sample_weight)
    return outcomes[0].take(), clone(estimator).fit(X, y, sample_weight=sample_weight)


def assert_same_fit(stacked, alone):
    """The same weights, bit for bit, and the same records."""
    np.testing.assert_array_equal(stacked.coef_, alone.coef_)
    np.testing.assert_array_equal(stacked.intercept_, alone.intercept_)
    assert stacked.n_iter_ == alone.n_iter_
    for key in ("train_loss", "learning_rate"):
        assert [r[key] for r in stacked.history_] == [r[key] for r in alone.history_]


LINEAR = dict(batch_size=16, epochs=3, tol=None, random_state=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"alpha": 1e-3, "loss": "huber", "huber_delta": 0.5},
        {"optimizer": "adam", "learning_rate": 1e-2, "alpha": 1e-4},
        {"momentum": 0.9, "nesterov": True, "alpha": 1e-3},
        {"average": True, "lr_schedule": "invscaling"},
    ],
)
def test_a_stack_of_one_linear_regressor_is_its_own_fit(rng, dtype, sparse, settings):
    X = rng.standard_normal((90, 6)).astype(dtype)
    X[X < 0.3] = 0.0
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(90)
    X = sp.csr_matrix(X) if sparse else X
    estimator = GDRegressor(**{**LINEAR, "learning_rate": 1e-2, **settings})
    assert_same_fit(*one_stacked_and_alone(estimator, X, y))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_stack_of_one_linear_classifier_is_its_own_fit(rng, sparse, loss, n_classes):
    X = rng.standard_normal((80, 5))
    y = (X[:, 0] > 0).astype(int) + (n_classes == 3) * (X[:, 1] > 0.5)
    X = sp.csr_matrix(X) if sparse else X
    estimator = GDClassifier(
        loss=loss, learning_rate=1e-2, class_weight="balanced", **LINEAR
    )
    assert_same_fit(*one_stacked_and_alone(estimator, X, y))


@pytest.mark.parametrize("sparse", [False, True])
def test_a_stack_of_one_is_its_own_fit_with_sample_weights(rng, sparse):
    X = rng.standard_normal((70, 4))
    y = X @ rng.standard_normal(4)
    weights = rng.uniform(0.0, 2.0, 70)
    X = sp.csr_matrix(X) if sparse else X
    estimator = GDRegressor(learning_rate=1e-2, alpha=1e-3, **LINEAR)
    assert_same_fit(*one_stacked_and_alone(estimator, X, y, weights))


def test_a_stack_of_one_trains_in_the_single_kernel(rng, monkeypatch):
    from skgd.engine import fused, stacked

    def refused(*args):
        raise AssertionError("a stack of one calls the single fit's kernel")

    monkeypatch.setattr(stacked, "stacked_dense_epoch", refused)
    passes = []
    real = fused.linear_epoch
    monkeypatch.setattr(fused, "linear_epoch", lambda *a: passes.append(1) or real(*a))
    X = sp.csr_matrix(rng.standard_normal((40, 3)))
    outcomes, _, _ = train_group([GDRegressor(**LINEAR)], X, np.ones(40))
    outcomes[0].take()
    assert len(passes) == LINEAR["epochs"]


def test_a_stack_of_one_diverges_as_its_own_fit(rng):
    X = 10.0 * rng.standard_normal((60, 4))
    y = X @ rng.standard_normal(4)
    estimator = GDRegressor(learning_rate=5.0, scale_target=False, **LINEAR)
    outcomes, _, _ = train_group([clone(estimator)], X, y)
    with pytest.raises(DivergenceError) as stacked:
        outcomes[0].take()
    with pytest.raises(DivergenceError) as alone:
        clone(estimator).fit(X, y)
    assert str(stacked.value) == str(alone.value)
