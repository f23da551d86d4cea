"""The compiled kernels, each against its numpy reference.

The pieces (a loss on one row, an optimizer's step, the average) against
:mod:`skgd._losses` and :mod:`skgd._optimizers`; whole fits of the linear
models through the fused epoch against the same fits through the numpy
path, which the rest of the suite checks against Ridge, LogisticRegression,
finite differences and hand-computed steps.
"""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import skgd._activations
import skgd.engine.stack
import skgd.engine.stack.network
import skgd.engine.stack.optimizer
import skgd.engine.stack.run
import skgd.engine.trainer
from skgd import DivergenceError, GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skgd._activations import ACTIVATIONS, Activation
from skgd._layers import Dense
from skgd._losses import (
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    SoftmaxLogLoss,
    SquaredError,
)
from skgd._network import Network
from skgd._optimizers import SGD, Adam, IterateAverage
from skgd.engine import activate, kernels
from skgd.engine.linear_pass import LOSS_CODES
from skgd.engine.trainer import add_penalty


def numpy_path(monkeypatch):
    """Make every fit take the numpy path: no fused epochs, the optimizers'
    own numpy steps (:mod:`skgd._optimizers`), numpy activations."""
    stack = skgd.engine.stack
    monkeypatch.setattr(stack.run, "stacked_fused_epochs", lambda *args: None)
    monkeypatch.setattr(stack.optimizer, "compiled_optimizer", lambda *args: False)
    monkeypatch.setattr(skgd._activations, "compiled_passes", ACTIVATIONS.get)


def fit_both(monkeypatch, estimator, X, y, **fit_params):
    """``(fused fit, numpy-path fit)`` of copies of ``estimator``."""
    fused = clone(estimator).fit(X, y, **fit_params)
    with monkeypatch.context() as patch:
        numpy_path(patch)
        reference = clone(estimator).fit(X, y, **fit_params)
    return fused, reference


# -- the pieces ----------------------------------------------------------------


@pytest.mark.parametrize(
    "loss", [SquaredError(), Huber(0.7), LogLoss(), Hinge(), ModifiedHuber()]
)
def test_loss_grad_matches_the_numpy_loss(loss, rng):
    z = 3.0 * rng.standard_normal((1, 4))
    if hasattr(loss, "encode"):  # a margin loss: targets of -1 and +1
        y = loss.encode((rng.random((1, 4)) < 0.5).astype(float))
    else:
        y = rng.standard_normal((1, 4))
    grad = np.empty_like(z)
    expected = loss.value_and_grad(z.copy(), y, np.array(1.0), grad)
    g = np.empty(4)
    value = kernels.loss_grad(LOSS_CODES[type(loss)], 0.7, z[0], y[0], g)
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(g, grad[0], rtol=1e-13, atol=1e-15)


def test_softmax_loss_grad_matches_and_does_not_overflow(rng):
    loss = SoftmaxLogLoss()
    for scale in (1.0, 1e3):  # 1e3: the exponentials overflow unshifted
        z = scale * rng.standard_normal((1, 5))
        y = np.eye(5)[[2]]
        grad = np.empty_like(z)
        expected = loss.value_and_grad(z.copy(), y, np.array(1.0), grad)
        g = np.empty(5)
        value = kernels.loss_grad(kernels.SOFTMAX, 1.0, z[0], y[0], g)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(g, grad[0], rtol=1e-12, atol=1e-15)


def test_log_loss_of_large_margins_is_finite():
    g = np.empty(1)
    for z, target in ((800.0, 1.0), (-800.0, 1.0), (800.0, -1.0)):
        value = kernels.loss_grad(
            kernels.LOG, 1.0, np.array([z]), np.array([target]), g
        )
        assert np.isfinite(value) and np.isfinite(g).all()


HYPER = np.array([0.0, 1.0, 0.0, 0.9, 0.999, 1e-8, 3.0, 1.0])


@pytest.mark.parametrize(
    "optimizer", [SGD(), SGD(momentum=0.9), SGD(momentum=0.8, nesterov=True), Adam()]
)
def test_step_matches_the_optimizer(optimizer, rng):
    params = rng.standard_normal(6)
    expected = params.copy()
    optimizer.init(expected)
    hyper = HYPER.copy()
    hyper[2] = getattr(optimizer, "momentum", 0.0)
    velocity = np.zeros(6) if hyper[2] else np.zeros(0)
    m_, v_, counts = np.zeros(6), np.zeros(6), np.zeros(2, np.int64)
    code = kernels.ADAM if isinstance(optimizer, Adam) else kernels.SGD
    nesterov = getattr(optimizer, "nesterov", False)
    for _ in range(3):
        grads = rng.standard_normal(6)
        optimizer.step(expected, grads.copy(), 0.05)
        kernels.step(
            code, params, grads, 0.05, hyper, velocity, m_, v_, counts, nesterov
        )
    np.testing.assert_allclose(params, expected, rtol=1e-13)


def test_average_matches_the_iterate_average(rng):
    params = rng.standard_normal(5)
    reference = IterateAverage()
    reference.begin(params.copy())  # the mean starts at the first iterate
    mean, counts = params.copy(), np.zeros(2, np.int64)
    for _ in range(4):
        iterate = rng.standard_normal(5)
        reference.update(iterate, np.empty(5))
        kernels.average(iterate, mean, counts, 3.0)
    np.testing.assert_allclose(mean, reference.mean, rtol=1e-14)
    assert counts[1] == reference.count == 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 4), (9, 1), (300, 33)])
def test_column_extremes_are_numpys(rng, dtype, shape):
    X = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-15, 15, shape)).astype(dtype)
    X[-1, 0] = -np.inf
    top, bottom = np.empty(shape[1], dtype), np.empty(shape[1], dtype)
    kernels.column_extremes(X, top, bottom)
    np.testing.assert_array_equal(top, X.max(axis=0))
    np.testing.assert_array_equal(bottom, X.min(axis=0))


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": lambda: SGD(momentum=0.9),
    "nesterov": lambda: SGD(momentum=0.8, nesterov=True),
    "adam": Adam,
}


def small_network():
    """Two dense layers with intercepts: two penalized blocks, apart."""
    layers = [Dense(3, 4), Activation("tanh"), Dense(4, 2)]
    return Network(layers, 3, np.float64)


@pytest.mark.parametrize(
    "name, settings",
    [
        ("sgd", {}),
        ("sgd", {"momentum": 0.9}),
        ("sgd", {"momentum": 0.8, "nesterov": True}),
        ("adam", {"beta_1": 0.8}),
    ],
)
@pytest.mark.parametrize("K", [3, 1])
def test_stacked_network_step_is_each_candidates_own_step(rng, name, settings, K):
    """Each candidate of the stacked step gets its own penalty and update, as
    its own optimizer (skgd._optimizers) and add_penalty make them (a stack
    of one: its own step's loops)."""
    alphas, rates = [0.3, 0.0, 1.2][:K], [0.05, 0.01, 0.2][:K]
    nets = [small_network() for _ in range(K)]
    stack = skgd.engine.stack.network.StackedNetwork(nets)
    stack.params[:] = rng.standard_normal(stack.params.size)
    params = [
        {"optimizer": name, "nesterov": False, "alpha": alpha,
         "momentum": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
         **settings}
        for alpha in alphas
    ]  # fmt: skip
    params[-1] = {**params[-1], "beta_2": 0.99} if name == "adam" else params[-1]
    optimizer = skgd.engine.stack.optimizer.StackedOptimizer(params, stack)
    singles = [small_network() for _ in range(K)]
    references = []
    for k, (net, setting) in enumerate(zip(singles, params)):
        net.params[:] = stack.candidate_params(k)
        wanted = OPTIMIZERS[name].settings
        references.append(OPTIMIZERS[name](**{key: setting[key] for key in wanted}))
        references[k].init(net.params)
    for _ in range(3):
        stack.grads[:] = rng.standard_normal(stack.grads.size)
        grads = [stack.candidate_params(k, stack.grads) for k in range(K)]
        penalties = optimizer.step(stack.params, stack.grads, np.array(rates))
        for k, net in enumerate(singles):
            net.grads[:] = grads[k]
            expected = add_penalty(net, alphas[k], 0.0) if alphas[k] else 0.0
            assert penalties[k] == pytest.approx(expected, rel=1e-12, abs=1e-15)
            references[k].step(net.params, net.grads, rates[k])
    for k, net in enumerate(singles):
        np.testing.assert_allclose(stack.candidate_params(k), net.params, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_passes_match_the_numpy_ones(rng, name, dtype):
    # The input is a view beside a column of ones, as the network lays it out.
    x = np.ones((9, 6), dtype)
    x[:, :5] = 3.0 * rng.standard_normal((9, 5))
    x[0, :3] = np.nan, 0.0, -0.0
    x = x[:, :5]
    function, gradient = activate.compiled(name, ACTIVATIONS[name])
    reference, reference_gradient = ACTIVATIONS[name]
    y, expected = np.empty((9, 5), dtype), np.empty((9, 5), dtype)
    zeros, scratch = np.zeros((9, 5), dtype), np.empty((9, 5), dtype)
    function(x, y, zeros)
    reference(x, expected, zeros)
    np.testing.assert_array_equal(y, expected)  # NaN where the reference has it
    grad_out = rng.standard_normal((9, 5)).astype(dtype)
    grad_out[1, 0] = np.nan
    grad_in, expected_in = np.empty((9, 5), dtype), np.empty((9, 5), dtype)
    gradient(y, grad_out, grad_in, scratch)
    reference_gradient(y, grad_out, expected_in, scratch)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(grad_in, expected_in, rtol=rtol, atol=0)


MLP_SETTINGS = {
    "sgd": {"optimizer": "sgd", "learning_rate": 0.05},
    "momentum": {"optimizer": "sgd", "learning_rate": 0.02, "momentum": 0.9},
    "nesterov": {
        "optimizer": "sgd", "learning_rate": 0.02, "momentum": 0.9, "nesterov": True
    },
    "adam": {"optimizer": "adam", "learning_rate": 0.01},
}  # fmt: skip


@pytest.mark.parametrize("optimizer", list(MLP_SETTINGS))
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_fused_mlp_steps_equal_the_numpy_path(
    monkeypatch, multi_output_data, optimizer, dropout
):
    X, y = multi_output_data
    estimator = MLPRegressor(
        (8, 6), batch_size=16, epochs=5, alpha=0.01, dropout=dropout, tol=None,
        validation_fraction=0.2, random_state=0, **MLP_SETTINGS[optimizer],
    )  # fmt: skip
    fused, reference = fit_both(monkeypatch, estimator, X, y)
    for W, W0 in zip(fused.coefs_ + fused.intercepts_,
                     reference.coefs_ + reference.intercepts_):  # fmt: skip
        np.testing.assert_allclose(W, W0, rtol=1e-10, atol=1e-13)
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(
            [r[key] for r in fused.history_],
            [r[key] for r in reference.history_],
            rtol=1e-11,
        )


def test_fused_mlp_classifier_equals_the_numpy_path(monkeypatch, rng):
    X = rng.standard_normal((150, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    estimator = MLPClassifier((7,), batch_size=20, epochs=4, alpha=1e-3, tol=None,
                              random_state=0)  # fmt: skip
    fused, reference = fit_both(monkeypatch, estimator, X, y)
    np.testing.assert_allclose(
        fused.predict_proba(X), reference.predict_proba(X), rtol=1e-10
    )


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_averaged_steps_with_dropout_equal_the_numpy_path(
    monkeypatch, linear_data, optimizer
):
    # Dropout keeps a linear model off the fused epoch: it trains step by step.
    X, y = linear_data
    estimator = GDRegressor(
        learning_rate=0.02, batch_size=10, epochs=4, alpha=0.01, dropout=0.1,
        average=True, optimizer=optimizer, tol=None, random_state=0,
    )  # fmt: skip
    fused, reference = fit_both(monkeypatch, estimator, X, y)
    np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=1e-11)
    np.testing.assert_allclose(fused.intercept_, reference.intercept_, rtol=1e-11)


def test_a_diverging_mlp_raises_as_the_numpy_path(monkeypatch, multi_output_data):
    X, y = multi_output_data
    estimator = MLPRegressor(
        (8,), optimizer="sgd", learning_rate=50.0, batch_size=16, epochs=20,
        tol=None, random_state=0,
    )  # fmt: skip
    with pytest.raises(DivergenceError) as fused:
        clone(estimator).fit(X, y)
    with monkeypatch.context() as patch, pytest.raises(DivergenceError) as reference:
        numpy_path(patch)
        clone(estimator).fit(X, y)
    assert str(fused.value) == str(reference.value)


# -- whole fits, fused and not ---------------------------------------------------

SETTINGS = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "adam": {"optimizer": "adam"},
}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("optimizer", list(SETTINGS))
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_fused_fit_equals_the_numpy_path(
    monkeypatch, linear_data, sparse, optimizer, average, batch_size
):
    X, y = linear_data
    X = sp.csr_matrix(X) if sparse else X
    sw = np.random.default_rng(1).uniform(0.0, 2.0, len(y))
    estimator = GDRegressor(
        learning_rate=0.02,
        batch_size=batch_size,
        epochs=6,
        alpha=0.01,
        average=average,
        tol=None,
        random_state=0,
        **SETTINGS[optimizer],
    )
    fused, reference = fit_both(monkeypatch, estimator, X, y, sample_weight=sw)
    # Sums in another order. Adam's ratios carry their rounding further: on
    # CSR rows (not centered) the intercept is trained from the target's
    # mean, where its gradient is small and Adam's normalized steps are not
    # (2.7e-11 and 8.2e-11 measured, full-batch Adam on CSR rows).
    rtol = 1e-9 if optimizer == "adam" else 1e-11
    np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=rtol)
    np.testing.assert_allclose(fused.intercept_, reference.intercept_, rtol=rtol)
    train_losses = [r["train_loss"] for r in fused.history_]
    expected = [r["train_loss"] for r in reference.history_]
    np.testing.assert_allclose(train_losses, expected, rtol=rtol)
    assert fused.n_iter_ == reference.n_iter_ == 6


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_classifier_equals_the_numpy_path(
    monkeypatch, rng, loss, n_classes, dtype
):
    X = rng.standard_normal((120, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (n_classes == 3) * (X[:, 1] > 0.5)
    estimator = GDClassifier(
        loss=loss,
        learning_rate=0.05,
        lr_schedule="invscaling",
        epochs=4,
        alpha=1e-3,
        tol=None,
        validation_fraction=0.2,
        random_state=0,
    )
    fused, reference = fit_both(monkeypatch, estimator, X, y)
    rtol = 1e-11 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(
        fused.intercept_, reference.intercept_, rtol=rtol, atol=rtol
    )
    np.testing.assert_array_equal(fused.predict(X), reference.predict(X))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_fused_huber_multi_output_without_intercept(
    monkeypatch, multi_output_data, sparse
):
    X, y = multi_output_data
    X = sp.csr_matrix(X) if sparse else X
    estimator = GDRegressor(
        loss="huber", huber_delta=0.5, fit_intercept=False, epochs=5, tol=None,
        random_state=0,
    )  # fmt: skip
    fused, reference = fit_both(monkeypatch, estimator, X, y)
    np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=1e-11)


def test_lazy_sparse_scale_is_folded_into_the_weights(monkeypatch, linear_data):
    # lr * alpha = 0.4 a step: the scale of the weights falls below 1e-9
    # within a pass and must be folded back without losing the weights.
    X, y = linear_data
    estimator = GDRegressor(
        learning_rate=0.04, alpha=10.0, batch_size=1, average=False, epochs=3,
        tol=None, random_state=0,
    )  # fmt: skip
    fused, reference = fit_both(monkeypatch, estimator, sp.csr_matrix(X), y)
    assert np.abs(reference.coef_).max() > 1e-3  # not all decayed away
    np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=1e-9)


# -- the edges ---------------------------------------------------------------------


def test_csr_with_empty_rows_and_a_batch_larger_than_the_data(monkeypatch, rng):
    X = sp.random(30, 8, density=0.2, format="csr", random_state=0)
    X = sp.csr_matrix(X.toarray() * (np.arange(30) % 3 != 0)[:, None])  # empty rows
    assert (np.diff(X.indptr) == 0).sum() >= 10
    y = rng.standard_normal(30)
    for batch_size in (1, 1000):
        estimator = GDRegressor(
            batch_size=batch_size, epochs=3, tol=None, random_state=0
        )
        fused, reference = fit_both(monkeypatch, estimator, X, y)
        np.testing.assert_allclose(fused.coef_, reference.coef_, rtol=1e-11)


def test_a_diverging_fused_fit_raises_and_changes_nothing(linear_data):
    X, y = linear_data
    estimator = GDRegressor(learning_rate=50.0, batch_size=1, tol=None, epochs=5)
    with pytest.raises(DivergenceError, match="Training diverged in epoch 1"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "coef_")


def test_import_compiles_nothing():
    code = "import sys, skgd; print('numba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_kernel_falls_back_where_the_cache_cannot_be_written(monkeypatch):
    def njit(cache=False, **options):  # numba without a writable cache
        if cache:
            raise RuntimeError("no locator available")
        return lambda function: function

    monkeypatch.setattr(kernels.numba, "njit", njit)
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        compiled = kernels.kernel(abs)
    assert compiled(-2) == 2


# -- stacks of candidates --------------------------------------------------------


def stacked_and_alone(monkeypatch, candidates, X, y, **fit_params):
    """Each candidate's stacked fit, and its own fit, as fitted estimators.

    The stack trains in the stacked kernel; the same candidates' stacked
    numpy path is checked to give the same parameters.
    """

    def fitted(**patches):
        with monkeypatch.context() as patch:
            for name, value in patches.items():
                patch.setattr(skgd.engine.stack.run, name, value)
            copies = [clone(candidate) for candidate in candidates]
            stack = skgd.engine.stack.train_group(copies, X, y, **fit_params)
        return [outcome.take() for outcome in stack[0]]

    unfused = []  # the stacks the numpy path trained (the patch took effect)
    kernel = fitted()
    numpy = fitted(stacked_fused_epochs=lambda run: unfused.append(run))
    assert unfused, "the stack was not kept from its kernel"
    pairs = []
    for candidate, stacked, numpy_stacked in zip(candidates, kernel, numpy):
        np.testing.assert_allclose(stacked.coef_, numpy_stacked.coef_, rtol=1e-10)
        pairs.append((stacked, clone(candidate).fit(X, y, **fit_params)))
    return pairs


@pytest.mark.parametrize("optimizer", list(SETTINGS))
@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("batch_size", [2, 16])  # row by row, gathered
def test_a_candidate_in_a_stack_of_25_equals_its_own_fit(
    monkeypatch, linear_data, optimizer, average, batch_size
):
    X, y = linear_data
    low, high = skgd.engine.fused.GATHERED_ROWS  # the kernel: gathered or not
    assert (low <= batch_size <= high) == (batch_size == 16)
    base = GDRegressor(
        batch_size=batch_size, epochs=4, tol=None, random_state=0, average=average,
        **SETTINGS[optimizer],
    )  # fmt: skip
    candidates = [
        clone(base).set_params(learning_rate=lr, alpha=alpha)
        for lr in np.geomspace(1e-3, 3e-2, 5)
        for alpha in (0.0, 1e-3, 1e-2, 1e-1, 1.0)
    ]
    for stacked, alone in stacked_and_alone(monkeypatch, candidates, X, y):
        expected = alone.predict(X)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(stacked.predict(X), expected, atol=1e-12 * scale)
        assert [r["train_loss"] for r in stacked.history_] == pytest.approx(
            [r["train_loss"] for r in alone.history_], rel=1e-12
        )


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_stacked_classifiers_with_class_weights(monkeypatch, rng, loss):
    X = rng.standard_normal((90, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    weights = [None, "balanced", {0: 1.0, 1: 3.0, 2: 0.5}]
    candidates = [
        GDClassifier(loss=loss, class_weight=w, learning_rate=lr, batch_size=8,
                     epochs=3, tol=None, validation_fraction=0.2, random_state=0)
        for w in weights for lr in (0.01, 0.1)
    ]  # fmt: skip
    sw = rng.uniform(0.5, 2.0, len(y))
    pairs = stacked_and_alone(monkeypatch, candidates, X, y, sample_weight=sw)
    for stacked, alone in pairs:
        np.testing.assert_allclose(stacked.coef_, alone.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(stacked.predict(X), alone.predict(X))


def test_a_stack_of_200_with_diverging_candidates(monkeypatch, linear_data):
    X, y = linear_data
    rates = np.geomspace(1e-4, 100.0, 200)  # the largest diverge (2 / L is ~1)
    candidates = [
        GDRegressor(
            learning_rate=lr,
            batch_size=None,
            epochs=6,
            tol=None,
            average=False,
            random_state=0,
            scale_target=False,
        )
        for lr in rates
    ]  # fmt: skip  (unscaled: the stacked parameters are the fitted ones)
    copies = [clone(candidate) for candidate in candidates]
    outcomes, _, _ = skgd.engine.stack.train_group(copies, X, y)
    diverged = 0
    for candidate, outcome in zip(candidates, outcomes, strict=True):
        try:
            alone = candidate.fit(X, y)
        except DivergenceError as error:
            diverged += 1
            assert isinstance(outcome.error, DivergenceError)
            assert str(outcome.error) == str(error)
        else:
            np.testing.assert_allclose(outcome.take().coef_, alone.coef_, rtol=1e-12)
    assert 0 < diverged < 200


def test_a_stack_of_one_equals_its_own_fit(monkeypatch, multi_output_data):
    X, y = multi_output_data
    candidate = GDRegressor(
        loss="huber", batch_size=32, epochs=3, tol=None, random_state=0
    )
    ((stacked, alone),) = stacked_and_alone(monkeypatch, [candidate], X, y)
    np.testing.assert_allclose(stacked.coef_, alone.coef_, rtol=1e-12)


# -- the compiled shuffle --------------------------------------------------------


def _generators(seed, half_words):
    """Two equal generators, each having drawn ``half_words`` 32-bit words."""
    pair = [np.random.default_rng(seed) for _ in range(2)]
    for rng in pair:
        for _ in range(half_words):
            rng.integers(10, dtype=np.uint32)
    return pair


@pytest.mark.parametrize("n", [2, 4096, 20_001, 65_537])
@pytest.mark.parametrize("dtype", [np.intp, np.uint32])
@pytest.mark.parametrize("half_words", [0, 1, 2])
def test_compiled_shuffle_is_numpys(n, dtype, half_words):
    # The same order and the generator left in the same state (its pending
    # half-word included), so the rest of a fit draws the same numbers.
    from skgd.engine.shuffle import shuffle

    for seed in range(3):
        ours, numpys = _generators(seed, half_words)
        order = np.arange(n, dtype=dtype)
        expected = order.copy()
        shuffle(order, ours)
        numpys.shuffle(expected)
        np.testing.assert_array_equal(order, expected)
        assert ours.bit_generator.state == numpys.bit_generator.state
        assert ours.integers(10, dtype=np.uint32) == numpys.integers(
            10, dtype=np.uint32
        )


@pytest.mark.parametrize("bits", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_compiled_shuffle_is_numpys_with_every_bit_generator(bits):
    from skgd.engine import shuffle as module

    assert module.next_uint32 is not None  # the compiled loop, not numpy's call
    ours, numpys = (np.random.Generator(bits(3)) for _ in range(2))
    numpys.integers(10, dtype=np.uint32)  # a pending half-word, where kept
    ours.integers(10, dtype=np.uint32)
    order, expected = np.arange(10_000), np.arange(10_000)
    module.shuffle(order, ours)
    numpys.shuffle(expected)
    np.testing.assert_array_equal(order, expected)
    # The states hold arrays: compare what each draws next, half-words first.
    np.testing.assert_array_equal(
        ours.integers(2**32, size=3, dtype=np.uint32),
        numpys.integers(2**32, size=3, dtype=np.uint32),
    )
    np.testing.assert_array_equal(ours.random(3), numpys.random(3))
