"""Fitted state that skgd did not write: loaded files, weights assigned by hand."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone, is_classifier

from skgd import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor, trusted_types

ESTIMATORS = [
    GDRegressor(epochs=2, tol=None, random_state=0),
    MLPRegressor((4,), epochs=2, tol=None, random_state=0),
    GDClassifier(epochs=2, tol=None, random_state=0),
    MLPClassifier((4,), epochs=2, tol=None, random_state=0),
]


@pytest.fixture(params=ESTIMATORS, ids=lambda est: type(est).__name__)
def fitted(request):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5]
    y = y > 0 if is_classifier(request.param) else y
    return clone(request.param).fit(X, y), X, y


def test_a_crafted_file_cannot_shadow_a_method(fitted):
    skops_io = pytest.importorskip("skops.io")
    model = fitted[0]
    model.predict = np.negative  # a numpy ufunc: skops trusts it by default
    data = skops_io.dumps(model)
    with pytest.raises(ValueError, match=r"not an skgd .*predict=ufunc"):
        skops_io.loads(data, trusted=trusted_types())
    with pytest.raises(ValueError, match="not an skgd"):
        pickle.loads(pickle.dumps(model))


def test_a_file_with_an_unknown_attribute_is_refused(fitted):
    model, _, _ = fitted
    state = model.__getstate__()
    state["surprise_"] = 1
    with pytest.raises(ValueError, match="surprise_=int, which no"):
        type(model).__new__(type(model)).__setstate__(state)


def test_a_file_with_weights_of_the_wrong_shape_is_refused(fitted):
    model, _, _ = fitted
    state = model.__getstate__()
    if "coef_" in state:
        state["coef_"] = np.zeros(7)
    else:
        state["coefs_"] = [np.zeros((5, 4)), *state["coefs_"][1:]]
    with pytest.raises(ValueError, match="not those of a model it could have fitted"):
        type(model).__new__(type(model)).__setstate__(state)


@pytest.mark.parametrize("method", ["predict", "warm fit", "partial_fit"])
def test_hand_assigned_weights_are_checked_wherever_they_are_read(fitted, method):
    model, X, y = fitted
    if hasattr(model, "coef_"):
        model.coef_ = np.arange(6.0)  # six values for three features
    else:
        model.coefs_ = [np.ones((3, 5)), model.coefs_[1]]
    with pytest.raises(ValueError, match="layer 0 has weights of shape"):
        if method == "predict":
            model.predict(X)
        elif method == "warm fit":
            model.set_params(warm_start=True).fit(X, y)
        else:
            model.partial_fit(X, y)


@pytest.mark.parametrize("method", ["predict", "warm fit", "partial_fit", "load"])
@pytest.mark.parametrize(
    ("make", "y_kind", "intercept"),
    [
        (GDClassifier, "3 classes", np.zeros(1)),  # was stretched to (3,)
        (GDClassifier, "3 classes", 0.0),
        (GDClassifier, "3 classes", np.zeros((1, 3))),
        (GDClassifier, "2 classes", np.zeros(2)),
        (GDRegressor, "2 outputs", np.zeros(1)),
        (GDRegressor, "2 outputs", np.zeros(3)),
        (GDRegressor, "1 output", np.zeros(1)),
        (GDRegressor, "1 output", np.zeros(2)),
    ],
)
def test_a_hand_assigned_intercept_of_the_wrong_shape_is_refused(
    make, y_kind, intercept, method
):
    """As a coef_ of the wrong shape is: never broadcast to the fitted shape."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = {
        "3 classes": np.arange(60) % 3,
        "2 classes": np.arange(60) % 2,
        "2 outputs": X @ rng.normal(size=(3, 2)),
        "1 output": X @ rng.normal(size=3),
    }[y_kind]
    model = make(epochs=2, tol=None, random_state=0).fit(X, y)
    model.intercept_ = intercept
    before = pickle.dumps(model)
    shape = np.shape(intercept)
    match = rf"intercept_ has shape {re.escape(str(shape))}, where coef_ of shape"
    with pytest.raises(ValueError, match=match):
        if method == "predict":
            model.predict(X)
        elif method == "warm fit":
            model.set_params(warm_start=True).fit(X, y)
        elif method == "partial_fit":
            model.partial_fit(X, y)
        else:
            pickle.loads(before)
    if method != "load":  # nothing was fitted: the model is as it was
        model.set_params(warm_start=False)
        assert pickle.dumps(model) == before


@pytest.mark.parametrize("dtype", [np.complex128, np.longdouble, np.int64])
def test_hand_assigned_weights_of_another_type_are_refused(fitted, dtype):
    model, X, _ = fitted
    if np.dtype(dtype) == np.float64:  # longdouble, on some platforms
        pytest.skip("longdouble is float64 on this platform")
    if hasattr(model, "coef_"):
        model.coef_ = model.coef_.astype(dtype)
    else:
        model.coefs_ = [W.astype(dtype) for W in model.coefs_]
    with pytest.raises(ValueError, match="not float32 or float64"):
        model.predict(X)


def test_weights_that_are_not_finite_are_named_as_the_cause(fitted):
    model, X, _ = fitted
    if hasattr(model, "coef_"):
        model.coef_ = np.full_like(model.coef_, np.nan)
    else:
        model.coefs_[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="layer 0 holds values that are not finite"):
        model.predict(X)


def test_predict_uses_the_fitted_architecture(fitted):
    model, X, _ = fitted
    before = model.predict(X)
    if hasattr(model, "fit_intercept"):
        model.set_params(fit_intercept=False, dropout=0.5)
    else:  # sizes that would need terabytes if predict built them
        model.set_params(hidden_layer_sizes=(10**7, 10**7), activation="tanh")
    np.testing.assert_array_equal(model.predict(X), before)


def test_a_range_of_hidden_sizes_is_stored_in_plain_types():
    skops_io = pytest.importorskip("skops.io")
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = MLPRegressor(range(3, 5), epochs=2, tol=None).fit(X, X[:, 0])
    data = skops_io.dumps(model)
    assert skops_io.get_untrusted_types(data=data) == ["skgd._mlp.MLPRegressor"]
    loaded = skops_io.loads(data, trusted=trusted_types())
    assert loaded.hidden_layer_sizes == (3, 4)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_learning_rate_set_between_partial_fit_calls_takes_effect():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5]
    model = GDRegressor(learning_rate=0.01, random_state=0).partial_fit(X, y)
    model.set_params(learning_rate=0.02).partial_fit(X, y)
    assert [r["learning_rate"] for r in model.history_] == [0.01, 0.02]
    auto = GDRegressor(random_state=0).partial_fit(X, y)
    auto.set_params(learning_rate="auto").partial_fit(X, y)  # the step it resolved
    assert auto.history_[1]["learning_rate"] == auto.history_[0]["learning_rate"]


# -- the divergence limit follows the data ------------------------------------------


def test_a_first_chunk_of_zero_targets_does_not_refuse_later_chunks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5]
    model = GDRegressor(random_state=0).partial_fit(X[:50], np.zeros(50))
    for chunk in np.array_split(np.arange(50, 200), 3):
        model.partial_fit(X[chunk], 1e4 * y[chunk])  # larger and larger scales
    glitch = y[:50].copy()
    glitch[7] = 5e4
    model.partial_fit(X[:50], glitch)  # as fit accepts these rows
    GDRegressor(random_state=0).fit(X[:50], glitch)


def test_the_scale_is_the_largest_one_sample_loss():
    from skgd._losses import SquaredError
    from skgd._tasks import Regression

    # 1.1 M rows with one non-zero target: the mean loss is a millionth of
    # that sample's, which at batch_size=1 looked like a divergence.
    Y = np.zeros((1_100_000, 1))
    Y[123] = 3.0
    scale = Regression(SquaredError()).baseline(Y, None)
    mean = 3.0 / len(Y)
    assert scale == pytest.approx(0.5 * (3.0 - mean) ** 2)
    u = np.ones(len(Y))
    u[123] = 4.0
    assert Regression(SquaredError()).baseline(Y, u) > 3.9 * scale


def test_a_diverging_stream_is_still_refused():
    from skgd import DivergenceError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, -2.0, 0.5]
    model = GDRegressor(learning_rate=0.01, random_state=0).partial_fit(X, y)
    with pytest.raises(DivergenceError, match="Training diverged"):
        model.set_params(learning_rate=50.0).partial_fit(X, y)


def test_messages_name_the_real_cause():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="sequence of positive integers, got True"):
        MLPRegressor(True).fit(X, X[:, 0])
    small = GDRegressor(epochs=1, tol=None).fit(X.astype(np.float32), X[:, 0])
    huge = X * 1e39
    with pytest.raises(ValueError, match="beyond float32, the dtype this model"):
        small.partial_fit(huge, X[:, 0])


def test_stream_weights_beyond_the_float_range_of_the_mean_are_a_clear_error():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = X[:, 0]
    model = GDRegressor(epoch_size=40, random_state=0)
    model.partial_fit(X[:20], y[:20], np.full(20, 1e-300))
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match="beyond 1e308 times the stream's mean"):
        model.partial_fit(X[20:], y[20:], np.full(20, 1e300))
    np.testing.assert_array_equal(model.coef_, coef)


def test_a_model_with_metadata_requests_pickles(fitted):
    import sklearn

    model, X, _ = fitted
    with sklearn.config_context(enable_metadata_routing=True):
        model.set_fit_request(sample_weight=True)
        copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))


def test_saving_leaves_the_estimator_as_it_was():
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = MLPRegressor(range(3, 5), epochs=2, tol=None).fit(X, X[:, 0])
    before = dict(vars(model))
    pickle.dumps(model)
    assert vars(model).keys() == before.keys()
    assert model.hidden_layer_sizes == range(3, 5)  # the parameter as given


@pytest.mark.parametrize("streams", [None, (), [1], [np.random.default_rng(0), "x"]])
def test_a_state_whose_dropout_streams_are_no_generators_is_refused(fitted, streams):
    model, _, _ = fitted
    state = model.__getstate__()
    state["_training_state"] = dict(state["_training_state"], streams=streams)
    with pytest.raises(ValueError, match="_training_state that is not a list of ran"):
        type(model).__new__(type(model)).__setstate__(state)
