"""Bad input, bad hyperparameters and numeric overflow, for both estimators.

Every bad call must raise the documented exception type with a message that
says what is wrong, and leave an estimator that was fitted before the call
exactly as it was (weights, history, counters, training state, input
attributes), still predicting what it predicted before. A fresh estimator
stays unfitted.
"""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skgd import DivergenceError, GDRegressor, MLPRegressor

# -- estimators, data and state snapshots -----------------------------------------


def gd(**params):
    return GDRegressor(**{"epochs": 3, "tol": None, "random_state": 0, **params})


def mlp(**params):
    defaults = {"hidden_layer_sizes": (4,), "epochs": 3, "tol": None, "random_state": 0}
    return MLPRegressor(**{**defaults, **params})


ESTIMATORS = {"gd": gd, "mlp": mlp}
KINDS = list(ESTIMATORS)
METHODS = ["fit", "partial_fit"]
STATES = ["fresh", "fitted"]

# Attributes a failed call must keep: the snapshot holds every attribute,
# these are only checked to be among them.
FITTED_ATTRIBUTES = ["history_", "n_iter_", "t_", "n_features_in_", "learning_rate_"]
WEIGHTS = {"gd": ["coef_", "intercept_"], "mlp": ["coefs_", "intercepts_"]}


def make_data(n=20, d=3, dtype=np.float64, n_outputs=None, seed=0):
    """A small, well-scaled linear problem: X (n, d), y (n,) or (n, n_outputs)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef = rng.normal(size=(d,) if n_outputs is None else (d, n_outputs))
    y = X @ coef + 0.5
    return X.astype(dtype), y.astype(dtype)


def snapshot(est):
    """Every attribute, pickled one by one (their order does not matter)."""
    return {name: pickle.dumps(value) for name, value in vars(est).items()}


def assert_unchanged(est, before):
    after = snapshot(est)
    changed = sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
    )
    assert changed == [], f"the failed call changed {changed}"


def prepare(kind, state, X=None, y=None, **params):
    """An estimator (fitted on ``X, y`` when ``state == "fitted"``).

    Returns the estimator, its snapshot and its predictions on ``X`` (None
    when fresh).
    """
    est = ESTIMATORS[kind](**params)
    pred = None
    if state == "fitted":
        if X is None:
            X, y = make_data()
        est.fit(X, y)
        pred = est.predict(X)
        assert np.isfinite(pred).all()
        names = set(vars(est))
        assert names.issuperset(FITTED_ATTRIBUTES + WEIGHTS[kind])
    return est, snapshot(est), pred


def assert_kept(est, before, pred, X):
    """The failed call changed nothing; a fitted estimator predicts as before."""
    assert_unchanged(est, before)
    if pred is None:
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
    else:
        np.testing.assert_array_equal(est.predict(X), pred)


def _set(a, index, value):
    a = np.array(a, copy=True)
    a[index] = value
    return a


# -- bad data for fit and partial_fit -----------------------------------------------

# id -> (make (X, y, fit kwargs) from good (X, y), key phrase of the message)
BAD_DATA = {
    "X_nan": (lambda X, y: (_set(X, (3, 1), np.nan), y, {}), "Input X contains NaN"),
    "X_inf": (lambda X, y: (_set(X, (3, 1), np.inf), y, {}), "X contains infinity"),
    "X_minus_inf": (lambda X, y: (_set(X, (0, 0), -np.inf), y, {}), "X contains inf"),
    "y_nan": (lambda X, y: (X, _set(y, 5, np.nan), {}), "Input y contains NaN"),
    "y_inf": (lambda X, y: (X, _set(y, 5, np.inf), {}), "Input y contains infinity"),
    "no_samples": (lambda X, y: (X[:0], y[:0], {}), r"0 sample\(s\)"),
    "no_features": (lambda X, y: (X[:, :0], y, {}), r"0 feature\(s\)"),
    "lengths_differ": (
        lambda X, y: (X, y[:-1], {}),
        r"inconsistent numbers of samples: \[20, 19\]",
    ),
    "X_3d": (lambda X, y: (X[:, :, None], y, {}), "dim 3"),
    "X_1d": (lambda X, y: (X[:, 0], y, {}), "Expected 2D array, got 1D array"),
    "X_strings": (
        lambda X, y: (np.full(X.shape, "a", dtype=object), y, {}),
        "could not convert string to float",
    ),
    "y_strings": (
        lambda X, y: (X, np.array(["a"] * len(y)), {}),
        "could not convert string to float",
    ),
    "X_complex": (lambda X, y: (X + 1j, y, {}), "Complex data not supported"),
    "y_complex": (lambda X, y: (X, y + 1j, {}), "Complex data not supported"),
    "y_none": (lambda X, y: (X, None, {}), "requires y to be passed"),
    "y_3d": (lambda X, y: (X, y[:, None, None], {}), "dim 3"),
    "y_no_outputs": (lambda X, y: (X, y[:, None][:, :0], {}), r"shape=\(20, 0\)"),
    "X_ragged": (lambda X, y: ([[1.0, 2.0, 3.0], [1.0]], [1.0, 2.0], {}), "inhomogen"),
    "sw_negative": (
        lambda X, y: (X, y, {"sample_weight": _set(np.ones(len(y)), 2, -1.0)}),
        "Negative values in data passed to `sample_weight`",
    ),
    "sw_nan": (
        lambda X, y: (X, y, {"sample_weight": _set(np.ones(len(y)), 2, np.nan)}),
        "sample_weight contains NaN",
    ),
    "sw_inf": (
        lambda X, y: (X, y, {"sample_weight": _set(np.ones(len(y)), 2, np.inf)}),
        "sample_weight contains infinity",
    ),
    "sw_wrong_length": (
        lambda X, y: (X, y, {"sample_weight": np.ones(len(y) - 1)}),
        r"sample_weight.shape == \(19,\), expected \(20,\)",
    ),
    "sw_all_zero": (
        lambda X, y: (X, y, {"sample_weight": np.zeros(len(y))}),
        "at least one non-zero",
    ),
    "sw_2d": (
        lambda X, y: (X, y, {"sample_weight": np.ones((len(y), 1))}),
        "1D array or scalar",
    ),
    "sw_strings": (
        lambda X, y: (X, y, {"sample_weight": np.array(["a"] * len(y))}),
        "could not convert string to float",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
def test_bad_training_data_is_refused_and_changes_nothing(kind, method, state, case):
    X, y = make_data()
    est, before, pred = prepare(kind, state, X, y)
    build, match = BAD_DATA[case]
    X_bad, y_bad, kwargs = build(X, y)
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(X_bad, y_bad, **kwargs)
    assert_kept(est, before, pred, X)


BAD_PREDICT_DATA = {
    name: BAD_DATA[name]
    for name in [
        "X_nan",
        "X_inf",
        "X_minus_inf",
        "no_samples",
        "no_features",
        "X_3d",
        "X_1d",
        "X_strings",
        "X_complex",
    ]
}


@pytest.mark.parametrize("case", list(BAD_PREDICT_DATA))
@pytest.mark.parametrize("kind", KINDS)
def test_bad_data_at_predict_is_refused_and_changes_nothing(kind, case):
    X, y = make_data()
    est, before, pred = prepare(kind, "fitted", X, y)
    build, match = BAD_PREDICT_DATA[case]
    X_bad, _, _ = build(X, y)
    with pytest.raises(ValueError, match=match):
        est.predict(X_bad)
    assert_kept(est, before, pred, X)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_before_fit_is_a_not_fitted_error(kind):
    X, _ = make_data()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ESTIMATORS[kind]().predict(X)


@pytest.mark.parametrize("n_features", [2, 4])
@pytest.mark.parametrize("call", ["predict", "partial_fit", "warm_fit"])
@pytest.mark.parametrize("kind", KINDS)
def test_another_number_of_features_is_refused(kind, call, n_features):
    X, y = make_data()
    est, before, pred = prepare(kind, "fitted", X, y)
    X_other, _ = make_data(d=n_features)
    match = (
        f"X has {n_features} features, but {type(est).__name__} is expecting "
        "3 features as input"
    )
    with pytest.raises(ValueError, match=match):
        if call == "predict":
            est.predict(X_other)
        elif call == "partial_fit":
            est.partial_fit(X_other, y)
        else:
            est.set_params(warm_start=True)
            before = snapshot(est)
            est.fit(X_other, y)
    assert_kept(est, before, pred, X)


@pytest.mark.parametrize(
    ("fitted_outputs", "new_outputs"), [(None, 2), (2, 3), (2, None), (1, 3)]
)
@pytest.mark.parametrize("call", ["partial_fit", "warm_fit"])
@pytest.mark.parametrize("kind", KINDS)
def test_another_number_of_outputs_is_refused(kind, call, fitted_outputs, new_outputs):
    X, y = make_data(n_outputs=fitted_outputs)
    est, before, pred = prepare(kind, "fitted", X, y)
    _, y_other = make_data(n_outputs=new_outputs)
    n_new, n_fitted = new_outputs or 1, fitted_outputs or 1
    match = rf"y has {n_new} outputs but .* fitted with {n_fitted}; pass y"
    if call == "warm_fit":
        est.set_params(warm_start=True)
        before = snapshot(est)
    with pytest.raises(ValueError, match=match):
        if call == "partial_fit":
            est.partial_fit(X, y_other)
        else:
            est.fit(X, y_other)
    assert_kept(est, before, pred, X)


# -- feature names ------------------------------------------------------------------


def _frame(X, names):
    return pd.DataFrame(X, columns=list(names))


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ("abd", r"(?s)feature names should match.*unseen at fit time:\n- d"),
        ("bca", "Feature names must be in the same order as they were in fit"),
    ],
    ids=["other_names", "reordered"],
)
@pytest.mark.parametrize("call", ["predict", "partial_fit", "warm_fit"])
@pytest.mark.parametrize("kind", KINDS)
def test_other_feature_names_are_refused(kind, call, names, match):
    X, y = make_data()
    est, before, pred = prepare(kind, "fitted", _frame(X, "abc"), y)
    if call == "warm_fit":
        est.set_params(warm_start=True)
        before = snapshot(est)
    with pytest.raises(ValueError, match=match):
        if call == "predict":
            est.predict(_frame(X, names))
        else:
            getattr(est, "fit" if call == "warm_fit" else call)(_frame(X, names), y)
    assert_kept(est, before, pred, _frame(X, "abc"))
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])


@pytest.mark.parametrize("kind", KINDS)
def test_names_dropped_or_added_at_predict_only_warn(kind):
    # scikit-learn warns, and predicts, when names are missing on one side.
    X, y = make_data()
    named = ESTIMATORS[kind]().fit(_frame(X, "abc"), y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_allclose(named.predict(X), named.predict(_frame(X, "abc")))
    plain = ESTIMATORS[kind]().fit(X, y)
    with pytest.warns(UserWarning, match="X has feature names, but .* without feature"):
        np.testing.assert_allclose(plain.predict(_frame(X, "abc")), plain.predict(X))


# -- sparse input -------------------------------------------------------------------

# scikit-learn's validate_data converts any other sparse format to CSR (the
# first accepted one) instead of refusing it: the result must be the same as
# with dense data.
SPARSE_FORMATS = {
    "coo_matrix": sp.coo_matrix,
    "dia_matrix": sp.dia_matrix,
    "lil_matrix": sp.lil_matrix,
    "dok_matrix": sp.dok_matrix,
    "bsr_matrix": sp.bsr_matrix,
    "coo_array": sp.coo_array,
    "lil_array": sp.lil_array,
    "csr_matrix": sp.csr_matrix,
    "csc_array": sp.csc_array,
}


@pytest.mark.parametrize("fmt", list(SPARSE_FORMATS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
def test_other_sparse_formats_are_converted_not_misread(kind, method, fmt):
    X, y = make_data()
    X[X < 0] = 0.0  # some structure for the sparse formats
    to_sparse = SPARSE_FORMATS[fmt]
    # Without target scaling, which centers dense features only (GDRegressor).
    params = {"scale_target": False} if kind == "gd" else {}
    dense = getattr(ESTIMATORS[kind](**params), method)(X, y)
    sparse = getattr(ESTIMATORS[kind](**params), method)(to_sparse(X), y)
    expected = dense.predict(X)
    np.testing.assert_allclose(sparse.predict(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense.predict(to_sparse(X)), expected, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_sparse_y_is_converted_or_refused_clearly(kind):
    X, y = make_data()
    try:
        sparse = ESTIMATORS[kind]().fit(X, sp.csr_matrix(y[:, None]))
    except (ValueError, TypeError) as exc:
        assert "sparse" in str(exc).lower(), exc
        return
    dense = ESTIMATORS[kind]().fit(X, y[:, None])
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X))


# -- one sample, and splits that leave nothing --------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", KINDS)
def test_one_sample_is_enough_without_a_held_out_split(kind, method):
    X, y = make_data(n=1)
    est = getattr(ESTIMATORS[kind](), method)(X, y)
    assert est.n_iter_ == (3 if method == "fit" else 1)
    pred = est.predict(make_data(n=5)[0])
    assert pred.shape == (5,) and np.isfinite(pred).all()


@pytest.mark.parametrize("split", ["early_stopping", "validation_fraction"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_one_sample_cannot_be_split(kind, state, split):
    params = (
        dict(early_stopping=True)
        if split == "early_stopping"
        else dict(validation_fraction=0.5)
    )
    est, before, pred = prepare(kind, state, **params)
    X1, y1 = make_data(n=1)
    with pytest.raises(ValueError, match="with n_samples=1 leaves an empty training"):
        est.fit(X1, y1)
    assert_kept(est, before, pred, make_data()[0])
    # partial_fit holds nothing out, so one sample is fine there.
    est.partial_fit(X1, y1)


@pytest.mark.parametrize("early_stopping", [True, False])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_validation_fraction_that_leaves_no_training_data(
    kind, state, early_stopping
):
    params = dict(validation_fraction=0.95, early_stopping=early_stopping)
    est, before, pred = prepare(kind, state, **params)
    X, y = make_data(n=10)
    match = "validation_fraction=0.95 with n_samples=10 leaves an empty"
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert_kept(est, before, pred, make_data()[0])


@pytest.mark.parametrize("kind", KINDS)
def test_a_small_validation_fraction_still_holds_out_one_sample(kind):
    # validation_fraction=0.01 of 10 samples rounds up to one held-out sample
    # (as train_test_split does), so it is not an empty split.
    X, y = make_data(n=10)
    est = ESTIMATORS[kind](early_stopping=True, validation_fraction=0.01).fit(X, y)
    assert all(math.isfinite(r["val_loss"]) for r in est.history_)


@pytest.mark.parametrize("positive", [0, 1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_split_without_positive_weight_is_refused_clearly(kind, positive):
    # One positive weight among 10 samples, 9 of them held out: either the
    # training or the validation split has no positive weight at all.
    X, y = make_data(n=10)
    sample_weight = _set(np.zeros(10), positive, 1.0)
    est = ESTIMATORS[kind](validation_fraction=0.9)
    with pytest.raises(ValueError, match=r"(?i)(training|validation) split"):
        est.fit(X, y, sample_weight=sample_weight)


# -- hyperparameters ----------------------------------------------------------------

# (parameters, the name the message must give)
COMMON_BAD_PARAMS = [
    (dict(learning_rate=0), "learning_rate"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(learning_rate="fast"), "learning_rate"),
    (dict(learning_rate=None), "learning_rate"),
    (dict(learning_rate=math.nan), "learning_rate"),
    (dict(learning_rate=math.inf), "learning_rate"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(batch_size=-1), "batch_size"),
    (dict(batch_size="32"), "batch_size"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=2.0), "epochs"),
    (dict(dropout=1), "dropout"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(dropout=math.nan), "dropout"),
    (dict(alpha=-1.0), "alpha"),
    (dict(alpha=math.nan), "alpha"),
    (dict(loss="absolute_error"), "loss"),
    (dict(huber_delta=0.0), "huber_delta"),
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(momentum=1.0), "momentum"),
    (dict(momentum=-0.1), "momentum"),
    (dict(nesterov="yes"), "nesterov"),
    (dict(beta_1=1.0), "beta_1"),
    (dict(beta_2=1.0), "beta_2"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(lr_schedule="step"), "lr_schedule"),
    (dict(power_t=-1.0), "power_t"),
    (dict(shuffle=None), "shuffle"),
    (dict(random_state="seed"), "random_state"),
    (dict(warm_start=1.5), "warm_start"),
    (dict(verbose="loud"), "verbose"),
    (dict(early_stopping="no"), "early_stopping"),
    (dict(validation_fraction=0.0), "validation_fraction"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(tol=-1.0), "tol"),
]

GD_BAD_PARAMS = [(dict(fit_intercept="yes"), "fit_intercept")]

MLP_BAD_PARAMS = [
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(4, -2)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=0), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=-3), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(2.5,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="abc"), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=((3,),)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(4,), dropout=[0.1, 0.2]), "dropout has 2 rates"),
    (dict(hidden_layer_sizes=(4, 4), dropout=[0.1]), "dropout has 1 rates"),
    (dict(hidden_layer_sizes=(), dropout=[0.5]), "dropout has 1 rates"),
    (dict(hidden_layer_sizes=(4,), dropout=[1.0]), "dropout"),
    (dict(hidden_layer_sizes=(4,), dropout=[-0.1]), "dropout"),
    (dict(hidden_layer_sizes=(4,), dropout=[math.nan]), "dropout"),
    (dict(hidden_layer_sizes=(4, 4), dropout=[0.1, 1.0]), "dropout"),
    (dict(hidden_layer_sizes=(4,), dropout=[[0.1]]), "dropout"),
    (dict(hidden_layer_sizes=(4,), dropout=["a"]), "dropout"),
    (dict(input_dropout=1.0), "input_dropout"),
    (dict(input_dropout=-0.5), "input_dropout"),
    (dict(activation="softmax"), "activation"),
    (dict(weight_init="zeros"), "weight_init"),
]


def _bad_param_cases():
    cases = []
    for kind, extra in [("gd", GD_BAD_PARAMS), ("mlp", MLP_BAD_PARAMS)]:
        for params, name in COMMON_BAD_PARAMS + extra:
            shown = ",".join(f"{k}={v!r}" for k, v in params.items())
            cases.append(pytest.param(kind, params, name, id=f"{kind}-{shown}"))
    return cases


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("kind", "params", "name"), _bad_param_cases())
def test_bad_hyperparameters_are_named_and_change_nothing(
    kind, params, name, method, state
):
    X, y = make_data()
    est, _, pred = prepare(kind, state, X, y)
    est.set_params(**params)
    before = snapshot(est)
    with pytest.raises(ValueError, match=name):
        getattr(est, method)(X, y)
    assert_unchanged(est, before)
    if pred is None:
        with pytest.raises(NotFittedError):
            check_is_fitted(est)


# -- overflow and divergence --------------------------------------------------------

# What a DivergenceError says: training diverged, or the data overflow.
DIVERGED = "Training diverged|overflows"

# A feature column whose products overflow the dtype in the forward pass.
HUGE_COLUMNS = {
    "float64_1e200": (np.float64, 1e200),
    "float32_1e30": (np.float32, 1e30),
}


def _overflow_cases():
    cases = []
    for kind in KINDS:
        for column in HUGE_COLUMNS:
            for rate in ["default", 0.01]:
                for method in METHODS:
                    for state in STATES:
                        cases.append(
                            pytest.param(
                                kind,
                                column,
                                rate,
                                method,
                                state,
                                id=f"{kind}-{column}-lr_{rate}-{method}-{state}",
                            )
                        )
    return cases


@pytest.mark.parametrize(
    ("kind", "column", "rate", "method", "state"), _overflow_cases()
)
def test_a_huge_feature_column_is_a_divergence(kind, column, rate, method, state):
    dtype, value = HUGE_COLUMNS[column]
    X, y = make_data(dtype=dtype)
    params = {} if rate == "default" else dict(learning_rate=rate)
    est, before, pred = prepare(kind, state, X, y, **params)
    X_huge = _set(X, (slice(None), 1), value)
    assert np.isfinite(X_huge).all()
    with pytest.raises(DivergenceError, match=DIVERGED):
        getattr(est, method)(X_huge, y)
    assert_kept(est, before, pred, X)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_learning_rate_of_a_million_is_a_divergence(kind, state):
    X, y = make_data()
    est, before, pred = prepare(kind, state, X, y)
    est.set_params(learning_rate=1e6)
    before = snapshot(est)
    with pytest.raises(DivergenceError, match="learning_rate=1e\\+06"):
        est.fit(X, y)
    assert_kept(est, before, pred, X)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_partial_fit_with_a_learning_rate_of_a_million_never_returns_nan(kind, state):
    # One step cannot always be seen to diverge; it must never leave a model
    # predicting NaN or inf, and a failure must keep the previous model.
    X, y = make_data()
    est, _, pred = prepare(kind, state, X, y)
    est.set_params(learning_rate=1e6)
    before = snapshot(est)
    try:
        est.partial_fit(X, y)
    except DivergenceError:
        assert_kept(est, before, pred, X)
    else:
        assert np.isfinite(est.predict(X)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_partial_fit_detects_a_divergence_as_fit_does(kind):
    X, y = make_data()
    with pytest.raises(DivergenceError):
        ESTIMATORS[kind](learning_rate=1e6).fit(X, y)  # epochs=3
    est = ESTIMATORS[kind](learning_rate=1e6)
    with pytest.raises(DivergenceError):
        for _ in range(3):
            est.partial_fit(X, y)


@pytest.mark.parametrize(
    "kind",
    ["gd", "mlp"],
)
def test_one_epoch_on_a_huge_column_is_a_divergence(kind):
    X, y = make_data()
    X_huge = _set(X, (slice(None), 1), 1e200)
    with pytest.raises(DivergenceError, match=DIVERGED):
        ESTIMATORS[kind](learning_rate=0.01, epochs=1).fit(X_huge, y)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_a_feature_whose_square_overflows_is_refused_by_name(kind, optimizer, sparse):
    X, y = make_data()
    X = _set(X, (slice(None), 2), 1e160)  # finite; its square is not
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    est = ESTIMATORS[kind](optimizer=optimizer, learning_rate=1e-3)
    with pytest.raises(DivergenceError, match=r"Feature 2 \('x2'\) .* 1e\+160"):
        est.fit(frame, y)
    data = sp.csr_matrix(X) if sparse else X
    with pytest.raises(DivergenceError, match="Feature 2 holds values up to 1e"):
        est.fit(data, y)
    assert not hasattr(est, "coef_") and not hasattr(est, "coefs_")


# One step from the initial weights makes the held-out predictions overflow,
# while the training loss of that step was still finite.
VALIDATION_OVERFLOW = {
    "gd": (dict(learning_rate=1.0), lambda X, y: (_set(X, (slice(None), 1), 1e200), y)),
    "mlp": (  # a huge target: a scaled one trains (see test_target_scale.py)
        dict(
            hidden_layer_sizes=(4, 4),
            optimizer="sgd",
            learning_rate=0.01,
            scale_target=False,
        ),
        lambda X, y: (X, 1e150 * y),
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_overflow_in_the_validation_split_is_a_divergence(kind):
    params, make_huge = VALIDATION_OVERFLOW[kind]
    X, y = make_huge(*make_data())
    est = ESTIMATORS[kind](validation_fraction=0.5, **params)
    with pytest.raises(DivergenceError, match=DIVERGED):
        est.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_predict_never_returns_non_finite_values(kind, dtype):
    X, y = make_data(dtype=dtype)
    # A linear map (for the MLP: no hidden layer), to aim at with X_far.
    params = dict(hidden_layer_sizes=(), learning_rate=0.05) if kind == "mlp" else {}
    est = ESTIMATORS[kind](epochs=300, **params).fit(X, y)  # near the true map
    w = est.coef_ if kind == "gd" else est.coefs_[0][:, 0]
    assert np.abs(w).sum() > 1.5
    # Finite entries (the largest of the dtype) whose sum x @ w overflows.
    X_far = np.tile(np.sign(w) * np.finfo(dtype).max, (3, 1)).astype(dtype)
    try:
        pred = est.predict(X_far)
    except ValueError as exc:
        assert "overflow" in str(exc) or "finite" in str(exc), exc
    else:
        assert np.isfinite(pred).all(), pred


@pytest.mark.parametrize("scale", [1e308, 1e-320])
@pytest.mark.parametrize("kind", KINDS)
def test_sample_weights_are_scale_free_or_refused_clearly(kind, scale):
    X, y = make_data()
    unweighted = ESTIMATORS[kind]().fit(X, y)
    try:
        weighted = ESTIMATORS[kind]().fit(X, y, sample_weight=np.full(len(y), scale))
    except ValueError as exc:
        assert "sample_weight" in str(exc), exc
    else:
        np.testing.assert_allclose(
            weighted.predict(X), unweighted.predict(X), rtol=1e-6
        )


@pytest.mark.parametrize(
    "kind",
    [
        "gd",
        "mlp",
    ],
)
def test_all_zero_features_fit_or_are_refused_clearly(kind):
    X, y = make_data()
    params = dict(fit_intercept=False) if kind == "gd" else {}
    est = ESTIMATORS[kind](**params)
    try:
        est.fit(np.zeros_like(X), y)
    except ValueError as exc:
        assert "feature" in str(exc), exc
    else:
        assert np.isfinite(est.predict(X)).all()
