"""Property-based tests: random valid hyperparameters on random small data sets.

Whatever the (valid) hyperparameters and the (finite) data, ``fit`` either
succeeds -- and then ``predict`` returns finite values of the right shape, in
the input's float dtype -- or raises one of the documented exceptions:

* :class:`skgd.DivergenceError`, after which the estimator is left as it was
  (unfitted after a first ``fit``, unchanged after a ``partial_fit``);
* :class:`ValueError` because the held-out split would be empty, or, in a
  stream, because a chunk's weights exceed 1e308 times the stream's mean
  weight (the data dependent ``ValueError`` that valid hyperparameters can
  meet).

Anything else -- an ``IndexError``, a ``ZeroDivisionError``, a
``RuntimeWarning`` escaping from skgd (pyproject turns those into errors), a
NaN or infinite prediction -- is a bug.

Run with ``pytest tests/test_hypothesis.py --hypothesis-show-statistics`` to
see how many examples ran and how often each outcome occurred.
"""

import itertools
import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skgd import DivergenceError, GDRegressor, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MAX_EXAMPLES = 300

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # No "explain" phase: it reruns a failure hundreds of times for a report.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)

# The ValueErrors that valid hyperparameters may meet on valid data: a split
# that leaves no samples, or no sample of positive weight, on one side.
EMPTY_SPLIT = (
    r"validation_fraction=.* with n_samples=\d+ leaves an empty"
    r"|validation_fraction=.* leaves a training or validation split whose sample"
    r" weights are all zero"
)
# The ValueError of a stream whose chunk weighs over 1e308 times the mean
# weight that its first weighted chunk set.
STREAM_WEIGHTS = r"beyond 1e308 times the stream's mean weight"
# What a DivergenceError says: training diverged, or the data overflow.
DIVERGED = "Training diverged|overflows"


# -- strategies ------------------------------------------------------------------


def log_uniform(low_exp, high_exp):
    """Floats 10**e with e uniform in [low_exp, high_exp]."""
    return st.floats(low_exp, high_exp).map(lambda e: 10.0**e)


learning_rates = st.one_of(st.just("auto"), log_uniform(-6, 7))
# Dropout rates; 0 (the default: no dropout layer at all) often.
rates = st.one_of(st.just(0.0), st.floats(0.0, 0.9))


@st.composite
def common_params(draw):
    """Hyperparameters shared by both estimators (all valid)."""
    return dict(
        learning_rate=draw(learning_rates),
        batch_size=draw(st.one_of(st.none(), st.integers(1, 64))),
        epochs=draw(st.integers(1, 5)),
        alpha=draw(st.one_of(st.just(0.0), log_uniform(-6, 2))),
        loss=draw(st.sampled_from(["squared_error", "huber"])),
        huber_delta=draw(log_uniform(-2, 2)),
        optimizer=draw(st.sampled_from(["sgd", "adam"])),
        momentum=draw(st.one_of(st.just(0.0), st.floats(0.0, 0.99))),
        nesterov=draw(st.booleans()),
        lr_schedule=draw(
            st.sampled_from(["constant", "invscaling", "adaptive", "cosine"])
        ),
        power_t=draw(st.floats(0.0, 2.0)),
        shuffle=draw(st.booleans()),
        early_stopping=draw(st.booleans()),
        validation_fraction=draw(st.one_of(st.none(), st.floats(0.01, 0.9))),
        n_iter_no_change=draw(st.integers(1, 3)),
        tol=draw(st.one_of(st.none(), st.just(1e-4))),
        random_state=draw(st.integers(0, 2**16)),
    )


@st.composite
def gd_estimators(draw):
    params = draw(common_params())
    params["dropout"] = draw(rates)
    params["fit_intercept"] = draw(st.booleans())
    return GDRegressor(**params)


@st.composite
def mlp_estimators(draw):
    params = draw(common_params())
    sizes = draw(st.lists(st.integers(1, 8), min_size=0, max_size=3).map(tuple))
    per_layer = st.lists(rates, min_size=len(sizes), max_size=len(sizes))
    params["dropout"] = draw(st.one_of(rates, per_layer))
    params["input_dropout"] = draw(rates)
    params["activation"] = draw(
        st.sampled_from(["relu", "tanh", "logistic", "identity"])
    )
    params["weight_init"] = draw(st.sampled_from(["glorot_uniform", "he_uniform"]))
    return MLPRegressor(hidden_layer_sizes=sizes, **params)


MAGNITUDES = {
    np.float32: [1.0, 1e3, 1e8, 1e15, 1e30],
    np.float64: [1.0, 1e3, 1e8, 1e15, 1e30, 1e100, 1e200],
}


def scaled_array(draw, dtype, shape):
    """Finite values of magnitude up to one of MAGNITUDES, in ``dtype``."""
    width = 32 if dtype is np.float32 else 64
    unit = hnp.arrays(dtype, shape, elements=st.floats(-1.0, 1.0, width=width))
    scale = draw(st.sampled_from(MAGNITUDES[dtype]))
    return draw(unit) * dtype(scale)


@st.composite
def data_sets(draw):
    """``(X, y, sample_weight)``: n in 2..40, d in 1..5, 1 to 3 outputs."""
    n = draw(st.integers(2, 40))
    d = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    X = scaled_array(draw, dtype, (n, d))
    n_outputs = draw(st.sampled_from([None, 1, 2, 3]))  # None: y is 1-D
    y = scaled_array(draw, dtype, (n,) if n_outputs is None else (n, n_outputs))
    sample_weight = None
    if draw(st.booleans()):
        sample_weight = draw(
            hnp.arrays(np.float64, n, elements=st.floats(0.0, 10.0))
        ) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
        if not sample_weight.any():
            sample_weight[draw(st.integers(0, n - 1))] = 1.0
    return X, y, sample_weight


# -- the property ------------------------------------------------------------------


def _snapshot(est):
    """Every attribute, pickled one by one (their order does not matter)."""
    return {name: pickle.dumps(value) for name, value in vars(est).items()}


def _describe(exc):
    """A short label of an outcome for hypothesis' statistics."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split()[:4])}"


def _check_fit_predict(est, X, y, sample_weight):
    """The property, for one estimator on one data set."""
    try:
        est.fit(X, y, sample_weight=sample_weight)
    except DivergenceError as exc:
        event("fit: DivergenceError")
        assert re.search(DIVERGED, str(exc)), exc
        # A failed first fit leaves the estimator unfitted.
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
        return
    except ValueError as exc:
        event(f"fit: {_describe(exc)}")
        # Valid hyperparameters on valid data: only the split may be refused.
        assert re.search(EMPTY_SPLIT, str(exc)), exc
        return
    event("fit: success")

    pred = est.predict(X)
    assert pred.shape == y.shape
    assert pred.dtype == X.dtype, (pred.dtype, X.dtype)
    assert np.isfinite(pred).all(), pred

    # One more epoch: it succeeds with finite predictions, or raises
    # DivergenceError and leaves the fitted model exactly as it was.
    before = _snapshot(est)
    try:
        est.partial_fit(X, y, sample_weight=sample_weight)
    except DivergenceError:
        event("partial_fit: DivergenceError")
        assert _snapshot(est) == before
        np.testing.assert_array_equal(est.predict(X), pred)
        return
    event("partial_fit: success")
    pred = est.predict(X)
    assert pred.shape == y.shape and pred.dtype == X.dtype
    assert np.isfinite(pred).all(), pred
    assert all(math.isfinite(loss) for loss in est.loss_curve_)


# The minimal examples that these properties found when they were written are
# the explicit tests below and tests in tests/test_bad_input.py.


@SETTINGS
@given(est=gd_estimators(), data=data_sets())
def test_gd_regressor_fits_or_raises_a_documented_error(est, data):
    _check_fit_predict(est, *data)


@SETTINGS
@given(est=mlp_estimators(), data=data_sets())
def test_mlp_regressor_fits_or_raises_a_documented_error(est, data):
    _check_fit_predict(est, *data)


# -- minimal examples found by the properties --------------------------------------


@pytest.mark.parametrize("hidden_layer_sizes", [(1,), (4,), (4, 3)])
def test_identity_activation_trains(hidden_layer_sizes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ [1.0, -2.0, 0.5]
    mlp = MLPRegressor(
        hidden_layer_sizes, activation="identity", epochs=3, tol=None, random_state=0
    ).fit(X, y)
    assert np.isfinite(mlp.predict(X)).all()


@pytest.mark.parametrize("estimator", [GDRegressor, MLPRegressor])
def test_tiny_positive_sample_weights_with_float32_data(estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    y = (X @ [1.0, -2.0, 0.5]).astype(np.float32)
    unweighted = estimator(epochs=3, tol=None, random_state=0).fit(X, y)
    try:
        weighted = estimator(epochs=3, tol=None, random_state=0).fit(
            X, y, sample_weight=np.full(20, 1e-67)
        )
    except ValueError as exc:
        assert re.search("float32|underflow|too small", str(exc)), exc
    else:
        np.testing.assert_allclose(weighted.predict(X), unweighted.predict(X))


# -- streams of partial_fit calls ------------------------------------------------


@SETTINGS
@given(
    est=st.one_of(gd_estimators(), mlp_estimators()),
    data=data_sets(),
    draw=st.data(),
)
def test_a_stream_of_chunks_trains_or_raises_a_documented_error(est, data, draw):
    """Any epoch_size and chunking: each call succeeds with a finite model, or
    raises DivergenceError and leaves the estimator as it was."""
    X, y, sample_weight = data
    n = len(y)
    est.set_params(epoch_size=draw.draw(st.integers(1, 2 * n), label="epoch_size"))
    cuts = draw.draw(st.sets(st.integers(1, n - 1)), label="cuts")
    bounds = [0, *sorted(cuts), n]
    for a, b in itertools.pairwise(bounds):
        sw = None if sample_weight is None else sample_weight[a:b]
        before = _snapshot(est)
        try:
            est.partial_fit(X[a:b], y[a:b], sample_weight=sw)
        except DivergenceError as exc:
            event("stream: DivergenceError")
            assert re.search(DIVERGED, str(exc)), exc
            assert _snapshot(est) == before
            return
        except ValueError as exc:  # a first chunk of subnormal weights sets s̄
            event("stream: weights beyond the stream's mean")
            assert re.search(STREAM_WEIGHTS, str(exc)), exc
            assert _snapshot(est) == before
            return
        # On the rows seen so far: a row not seen yet may lie beyond what the
        # model predicts in its dtype (an untrained weight of a float32 model
        # on a target of scale 1e30 times a feature of 1e15), which predict
        # refuses with a clear error (so on main too, for such data).
        pred = est.predict(X[:b])
        assert pred.shape == y[:b].shape and pred.dtype == X.dtype
        assert np.isfinite(pred).all(), pred
    event("stream: success")
    assert est.t_ == est._training_state["t"]
    assert all(math.isfinite(loss) for loss in est.loss_curve_)
