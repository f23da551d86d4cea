"""Bitwise reproducibility: seeds, processes, joblib workers, pickles, threads.

``random_state`` is documented to seed the generator behind the validation
split, the shuffling and the initial weights, and the dropout streams derived
from it, so a fit is a pure function of the data and the parameters. These
tests hold skgd to that exactly -- equal bits, not merely close values --
wherever a fit may run: twice in one process, in a fresh interpreter, in
joblib's worker processes, after a pickle round trip, and with ``predict``
called from many threads.
"""

import pickle
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skgd import GDRegressor, MLPRegressor

# Small configurations that use every source of randomness: a held-out split,
# shuffled mini-batches, dropout masks and (for the network) initial weights.
# ``tol=None`` runs exactly ``epochs`` epochs without a ConvergenceWarning.
ESTIMATORS = {
    "GDRegressor": lambda: GDRegressor(
        epochs=5, dropout=0.2, validation_fraction=0.2, tol=None, random_state=0
    ),
    "MLPRegressor": lambda: MLPRegressor(
        (8,),
        batch_size=32,
        epochs=5,
        dropout=0.2,
        early_stopping=True,
        tol=None,
        random_state=0,
    ),
}

# Four candidates for GridSearchCV, each a fit that differs from the others.
GRIDS = {
    "GDRegressor": {"learning_rate": [0.003, 0.01, 0.03, 0.1]},
    "MLPRegressor": {"learning_rate": [1e-3, 3e-3, 1e-2, 3e-2]},
}


@pytest.fixture(params=sorted(ESTIMATORS))
def name(request):
    return request.param


def make(name, **params):
    return ESTIMATORS[name]().set_params(**params)


def history(est):
    """``history_`` without the wall time of each epoch."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in est.history_]


def history_table(records):
    """Keys and a float table of the records (for np.save across processes)."""
    keys = sorted(records[0])
    return keys, np.array([[r[k] for k in keys] for r in records], dtype=float)


def assert_bitwise(actual, expected):
    """Same dtype, shape and bits (unlike ==, tells -0.0 from 0.0)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    np.testing.assert_array_equal(actual, expected, strict=True)
    assert actual.tobytes() == expected.tobytes()


def assert_same_arrays(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_bitwise(a, e)


@pytest.fixture
def assert_same_model(fitted_weights):
    def check(actual, expected, X):
        assert_same_arrays(fitted_weights(actual), fitted_weights(expected))
        assert history(actual) == history(expected)
        assert_bitwise(actual.predict(X), expected.predict(X))

    return check


# -- 1. the same seed in one process ---------------------------------------------


def test_same_seed_same_fit(name, linear_data, assert_same_model):
    X, y = linear_data
    first = make(name).fit(X, y)
    second = make(name).fit(X, y)
    assert_same_model(second, first, X)
    # Not vacuous: another seed gives another model.
    other = make(name, random_state=1).fit(X, y)
    assert history(other) != history(first)
    assert not np.array_equal(other.predict(X), first.predict(X))


def test_refit_same_estimator_same_fit(name, linear_data, assert_same_model):
    """A second ``fit`` on the same instance starts over from the seed."""
    X, y = linear_data
    expected = make(name).fit(X, y)
    est = make(name).fit(X[::-1], y[::-1]).fit(X, y)
    assert_same_model(est, expected, X)


# -- 2. a fresh interpreter --------------------------------------------------------

SUBPROCESS_FIT = textwrap.dedent(
    """
    import pathlib
    import pickle
    import sys

    import numpy as np

    d = pathlib.Path(sys.argv[1])
    est = pickle.loads((d / "estimator.pkl").read_bytes())
    X, y = np.load(d / "X.npy"), np.load(d / "y.npy")
    est.fit(X, y)
    if hasattr(est, "coefs_"):
        arrays = [*est.coefs_, *est.intercepts_]
    else:
        arrays = [np.asarray(est.coef_), np.asarray(est.intercept_)]
    for i, a in enumerate(arrays):
        np.save(d / f"param_{i}.npy", a)
    np.save(d / "n_params.npy", len(arrays))
    np.save(d / "pred.npy", est.predict(X))
    records = [{k: v for k, v in r.items() if k != "seconds"} for r in est.history_]
    keys = sorted(records[0])
    np.save(d / "history_keys.npy", np.array(keys))
    np.save(d / "history.npy", np.array([[r[k] for k in keys] for r in records]))
    """
)


def test_same_fit_in_fresh_process(name, linear_data, tmp_path, fitted_weights):
    X, y = linear_data
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "estimator.pkl").write_bytes(pickle.dumps(make(name)))
    proc = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_FIT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr

    est = make(name).fit(X, y)
    n_params = int(np.load(tmp_path / "n_params.npy"))
    other = [np.load(tmp_path / f"param_{i}.npy") for i in range(n_params)]
    assert_same_arrays(other, fitted_weights(est))
    assert_bitwise(np.load(tmp_path / "pred.npy"), est.predict(X))
    keys, table = history_table(history(est))
    assert np.load(tmp_path / "history_keys.npy").tolist() == keys
    assert_bitwise(np.load(tmp_path / "history.npy"), table)


# -- 3. joblib workers ---------------------------------------------------------------


def test_grid_search_same_with_worker_processes(name, linear_data, assert_same_model):
    X, y = linear_data
    searches = [
        GridSearchCV(make(name), GRIDS[name], cv=3, n_jobs=n_jobs).fit(X, y)
        for n_jobs in (1, 2)
    ]
    serial, parallel = (s.cv_results_ for s in searches)
    assert_bitwise(parallel["mean_test_score"], serial["mean_test_score"])
    for k in range(3):
        key = f"split{k}_test_score"
        assert_bitwise(parallel[key], serial[key])
    # Not vacuous: the candidates are different models.
    assert len(set(serial["mean_test_score"].tolist())) == 4
    assert searches[1].best_params_ == searches[0].best_params_
    assert_same_model(searches[1].best_estimator_, searches[0].best_estimator_, X)


# -- 4. pickle and joblib round trips ------------------------------------------------


def test_round_trips_predict_and_continue_the_same(
    name, linear_data, tmp_path, assert_same_model, fitted_weights
):
    X, y = linear_data
    est = make(name).fit(X, y)
    by_pickle = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "model.joblib")
    by_joblib = joblib.load(tmp_path / "model.joblib")
    expected = est.predict(X)
    for restored in (by_pickle, by_joblib):
        assert_same_model(restored, est, X)

    # Continued training draws from the generator state that was saved.
    before = fitted_weights(est)
    X2, y2 = X[:150], y[:150]
    for model in (est, by_pickle, by_joblib):
        model.partial_fit(X2, y2).partial_fit(X2, y2)
    for restored in (by_pickle, by_joblib):
        assert_same_model(restored, est, X)
        assert restored.t_ == est.t_
    # Not vacuous: the continuation changed the model.
    assert not np.array_equal(est.predict(X), expected)
    assert not np.array_equal(fitted_weights(est)[0], before[0])


# -- 5. predict from many threads ----------------------------------------------------


def test_concurrent_predict_matches_serial(name, linear_data, rng):
    X, y = linear_data
    est = make(name).fit(X, y)
    X_new = rng.normal(size=(6000, X.shape[1]))
    # Different sizes and offsets; several cross predict's 4096-row blocks.
    slices = [slice(300 * i, 300 * i + 700 * (i + 1)) for i in range(8)]
    expected = [est.predict(X_new[s]) for s in slices]
    n_threads, repeats = 8, 10
    barrier = threading.Barrier(n_threads, timeout=60)

    def work(i):
        out = []
        for _ in range(repeats):
            barrier.wait()  # start every round together, to overlap the calls
            out.append(est.predict(X_new[slices[i]]))
        return out

    with ThreadPoolExecutor(n_threads) as pool:
        results = list(pool.map(work, range(n_threads)))
    for i, outputs in enumerate(results):
        for out in outputs:
            assert_bitwise(out, expected[i])
    # predict has no side effect on the model.
    assert_bitwise(est.predict(X_new[slices[0]]), expected[0])
