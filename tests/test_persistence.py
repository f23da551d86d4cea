"""Pickle, joblib and skops round trips; refusing what cannot be read."""

import io
import pickle

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier

import skgd._base
from skgd import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor, trusted_types

skops_io = pytest.importorskip("skops.io")

ESTIMATORS = [
    GDRegressor(
        epochs=3,
        momentum=0.9,
        dropout=0.1,
        lr_schedule="adaptive",
        validation_fraction=0.2,
        tol=None,
        random_state=0,
    ),
    MLPRegressor(
        (6, 4), epochs=3, dropout=0.2, early_stopping=True, tol=None, random_state=0
    ),
    GDClassifier(
        epochs=3, momentum=0.9, validation_fraction=0.2, tol=None, random_state=0
    ),
    MLPClassifier(
        (6,), epochs=3, dropout=0.2, early_stopping=True, tol=None, random_state=0
    ),
]


@pytest.fixture(params=ESTIMATORS, ids=lambda est: type(est).__name__)
def fitted(request, linear_data):
    X, y = linear_data
    if is_classifier(request.param):  # string labels: an array skops must keep
        y = np.array(["low", "mid", "high"])[
            np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
        ]
    return clone(request.param).fit(X, y), X, y


def _round_trips(model):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    data = skops_io.dumps(model)
    return {
        "pickle": pickle.loads(pickle.dumps(model)),
        "joblib": joblib.load(buffer),
        "skops": skops_io.loads(data, trusted=trusted_types()),
    }


def test_round_trips_predict_and_continue_identically(fitted):
    model, X, y = fitted
    for name, copy in _round_trips(model).items():
        np.testing.assert_array_equal(copy.predict(X), model.predict(X), err_msg=name)
        assert copy.history_ == model.history_
    # Continuing a copy continues the training state too (optimizer, schedule,
    # random generator): bitwise the same as continuing the original.
    copies = _round_trips(model)
    model.partial_fit(X, y)
    for name, copy in copies.items():
        copy.partial_fit(X, y)
        np.testing.assert_array_equal(copy.predict(X), model.predict(X), err_msg=name)


def test_skops_sees_no_type_but_the_estimator_class(fitted):
    model, _, _ = fitted
    untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(model))
    assert untrusted == [f"{type(model).__module__}.{type(model).__name__}"]
    assert set(untrusted) <= set(trusted_types())


def test_saved_files_name_the_classes_where_they_always_lived():
    # Pickles and skops files name an estimator's class by its module: a
    # class moved to another module would break every model saved before.
    assert trusted_types() == [
        "skgd._linear.GDRegressor",
        "skgd._linear.GDClassifier",
        "skgd._mlp.MLPRegressor",
        "skgd._mlp.MLPClassifier",
    ]


def test_a_pickle_of_another_state_format_is_refused(fitted, monkeypatch):
    model = fitted[0]
    monkeypatch.setattr(skgd._base, "STATE_FORMAT", 99)
    data = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.raises(
        ValueError,
        match=rf"state format 99.*reads format {skgd._base.STATE_FORMAT}.*fit it",
    ):
        pickle.loads(data)


def test_concurrent_predictions_match_serial_ones(fitted):
    from concurrent.futures import ThreadPoolExecutor

    model, X, _ = fitted
    parts = np.array_split(X, 8)
    serial = [model.predict(part) for part in parts]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            results = list(pool.map(model.predict, parts))
            for got, want in zip(results, serial):
                np.testing.assert_array_equal(got, want)


# -- every attribute is checked for type and shape on load -----------------------


def _load(model, **changes):
    """Load ``model``'s state with ``changes`` (a value of None removes the key)."""
    state = model.__getstate__()
    for name, value in changes.items():
        if value is None:
            del state[name]
        else:
            state[name] = value
    return type(model).__new__(type(model)).__setstate__(state)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("_skl_callbacks", ["x"], "_skl_callbacks=\\['x'\\]; in .* FitCallback"),
        ("_skl_callbacks_to_teardown", [1], "FitCallback"),
        ("_callback_fit_ctx", "x", "CallbackContext"),
        ("n_iter_", "x", "n_iter_='x'; in \\w+, n_iter_ is an int >= 0"),
        ("n_iter_", -1, "n_iter_=-1"),
        ("n_iter_", True, "n_iter_=True"),
        ("t_", 2.5, "t_=2.5"),
        ("n_features_in_", 0, "n_features_in_=0"),
        ("feature_names_in_", "abc", "feature_names_in_='abc'; in .* 5 str"),
        ("feature_names_in_", np.array(["a", "b"], dtype=object), "5 str"),
        ("feature_names_in_", np.arange(5), "5 str"),
        ("_metadata_request", "x", "_metadata_request='x'; in .*MetadataRequest"),
        ("_sklearn_output_config", 1, "_sklearn_output_config=1; in .* dict"),
        ("_sklearn_output_config", {"transform": 1}, "dict of str to str"),
        ("_sklearn_version", 1.5, "_sklearn_version=1.5"),
        ("history_", "x", "history_='x'; in .* list of records"),
        ("history_", [{"epoch": "one"}], "list of records"),
        ("loss_curve_", [1.0, "x"], "loss_curve_="),
        ("loss_curve_", (1.0,), "loss_curve_="),
        ("best_loss_", np.nan, "best_loss_=nan"),
        ("validation_scores_", 0.5, "validation_scores_=0.5"),
        ("best_validation_score_", "0.5", "best_validation_score_="),
        ("learning_rate_", -1.0, "learning_rate_=-1.0; in .* positive"),
        ("learning_rate_", np.inf, "learning_rate_=inf"),
        ("trajectory_", np.zeros(3), "trajectory_=.*2-D float array"),
    ],
)
def test_a_known_attribute_of_the_wrong_type_or_shape_is_refused(
    fitted, name, value, match
):
    model = fitted[0]
    with pytest.raises(ValueError, match=rf"not an skgd \w+: its state .*{match}"):
        _load(model, **{name: value})


@pytest.mark.parametrize(
    ("kind", "name", "value", "match"),
    [
        ("mlp", "_activation", "bogus", "_activation='bogus'; in .* one of"),
        ("mlp", "out_activation_", "softplus", "out_activation_='softplus'"),
        ("mlp", "n_layers_", 7, "n_layers_=7 for 2 weight matrices"),
        ("mlp", "n_outputs_", "1", "n_outputs_='1'"),
        ("mlp", "coefs_", "abc", "coefs_='abc'"),
        ("mlp", "intercepts_", [[0.0]], "intercepts_="),
        ("mlp", "coef_", np.zeros(5), "coef_=ndarray, which no MLPRegressor has"),
        ("gd", "coef_", [1.0] * 5, "coef_=\\[1.0"),
        ("gd", "intercept_", "0", "intercept_='0'"),
        ("gd", "coefs_", [np.zeros((5, 1))], "coefs_=list, which no GDRegressor"),
        ("gd", "classes_", np.arange(2), "classes_=ndarray, which no GDRegressor"),
        ("gd", "n_iter_", 99, "n_iter_=99 and t_=.*, but its _training_state"),
        ("gd", "optimizer", "momentum", "invalid parameter \\(The 'optimizer'"),
        ("gd", "loss", "bogus", "invalid parameter \\(The 'loss'"),
        ("gd", "history_", None, "lacks history_"),  # unfitted, yet coef_
        ("gd", "coef_", None, "lacks coef_, which every fitted GDRegressor has"),
        ("gd", "alpha", None, "lacks the parameters alpha, which every GDRegressor"),
        ("gd-classifier", "classes_", "ab", "classes_='ab'"),
        ("gd-classifier", "_multilabel", "no", "_multilabel='no'"),
        ("gd-classifier", "_multilabel", None, "lacks _multilabel"),
    ],
)
def test_what_only_another_estimator_or_no_fit_writes_is_refused(
    linear_data, kind, name, value, match
):
    X, y = linear_data
    make = {"gd": GDRegressor, "mlp": MLPRegressor, "gd-classifier": GDClassifier}
    model = make[kind](epochs=2, tol=None, random_state=0)
    model.fit(X, y > 0 if kind == "gd-classifier" else y)
    if name == "history_":  # an unfitted state with the weights of a fit
        with pytest.raises(ValueError, match=r"holds .*coef_.* but no history_"):
            _load(model, **{name: value})
        return
    with pytest.raises(ValueError, match=rf"not an skgd \w+: its state .*{match}"):
        _load(model, **{name: value})


def test_an_optimizer_state_of_another_size_is_refused(fitted):
    model = fitted[0]
    training = dict(model._training_state)
    optimizer = dict(training["optimizer"])
    key = next(k for k, v in optimizer.items() if isinstance(v, np.ndarray))
    optimizer[key] = np.append(optimizer[key], np.zeros(7))
    with pytest.raises(ValueError, match=rf"optimizer's state \(its '{key}' has"):
        _load(model, _training_state={**training, "optimizer": optimizer})
    optimizer[key] = "x"  # not an array
    with pytest.raises(ValueError, match="optimizer's state, a dict of float arrays"):
        _load(model, _training_state={**training, "optimizer": optimizer})


def test_what_scikit_learn_sets_outside_fit_loads(fitted):
    """Metadata requests and callbacks, of the right types."""
    model, X, _ = fitted
    with sklearn.config_context(enable_metadata_routing=True):
        model.set_fit_request(sample_weight=True)
    if hasattr(model, "set_callbacks"):  # scikit-learn >= 1.9
        from sklearn.callback import ProgressBar

        model.set_callbacks(ProgressBar())
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    with sklearn.config_context(enable_metadata_routing=True):
        assert copy.get_metadata_routing().fit.requests["sample_weight"] is True
    # An unfitted model keeps them too.
    pickle.loads(pickle.dumps(clone(model)))


def test_a_crafted_callback_fails_at_load_not_in_fit(fitted):
    """The issue's example: a str among the callbacks once broke fit."""
    model = fitted[0]
    state = model.__getstate__()
    state["_skl_callbacks"] = ["x"]
    data = pickle.dumps(model)
    with pytest.raises(ValueError, match="FitCallback"):
        type(model).__new__(type(model)).__setstate__(state)
    pickle.loads(data)  # the untouched file loads
