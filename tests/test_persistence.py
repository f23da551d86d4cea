"""Pickle, joblib and skops round trips; refusing what cannot be read."""

import io
import pickle

import joblib
import numpy as np
import pytest
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
