"""Fingerprints of fixed-seed fits, to show that a refactoring changed no result.

``python benchmarks/fingerprints.py record FILE`` fits a set of fixed-seed
configurations (each estimator; fit, warm start, partial_fit, a stream of
chunks, early stopping, dropout, sample weights, float32, sparse input) and
pickles their parameters, history (without timings), counters and
predictions. ``python benchmarks/fingerprints.py compare FILE`` fits them
again and prints, per configuration, whether every value is bitwise equal,
and the largest relative difference where it is not. Record on the old code,
compare on the new one, on the same machine and under the same BLAS threads.
"""

import pickle
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_regression
from threadpoolctl import threadpool_limits

from skgd import GDRegressor, MLPRegressor


def _data(n=300, d=6, outputs=1, seed=0):
    X, y = make_regression(
        n_samples=n, n_features=d, n_targets=outputs, noise=5.0, random_state=seed
    )
    X = (X - X.mean(0)) / X.std(0)
    return X, y / y.std()


def _chunks(est, X, y, sizes, sample_weight=None):
    start = 0
    for size in sizes:
        rows = slice(start, start + size)
        start = (start + size) % len(y)
        sw = None if sample_weight is None else sample_weight[rows]
        est.partial_fit(X[rows], y[rows], sample_weight=sw)
    return est


def _configs():
    X, y = _data()
    Xm, ym = _data(outputs=3, seed=1)
    w = np.random.default_rng(3).uniform(0.1, 3.0, len(y))
    gd = dict(epochs=15, random_state=0)
    mlp = dict(hidden_layer_sizes=(16, 8), epochs=12, random_state=0)
    yield "gd sgd bs32", lambda: GDRegressor(**gd).fit(X, y), X
    yield "gd full batch", lambda: GDRegressor(batch_size=None, **gd).fit(X, y), X
    yield (
        "gd adam weighted",
        lambda: GDRegressor(optimizer="adam", learning_rate=0.05, **gd).fit(
            X, y, sample_weight=w
        ),
        X,
    )
    yield (
        "gd dropout nesterov cosine",
        lambda: GDRegressor(
            dropout=0.2, momentum=0.9, nesterov=True, lr_schedule="cosine", **gd
        ).fit(X, y),
        X,
    )
    yield (
        "gd early stopping huber adaptive",
        lambda: GDRegressor(
            early_stopping=True, loss="huber", lr_schedule="adaptive", **gd
        ).fit(X, y),
        X,
    )
    yield (
        "gd warm start",
        lambda: GDRegressor(warm_start=True, **gd).fit(X, y).fit(X[:200], y[:200]),
        X,
    )
    yield (
        "gd partial_fit invscaling",
        lambda: _chunks(
            GDRegressor(lr_schedule="invscaling", **gd), X, y, [100, 100, 100]
        ),
        X,
    )
    yield (
        "gd stream weighted",
        lambda: _chunks(
            GDRegressor(epoch_size=120, shuffle=False, record_trajectory=True, **gd),
            X,
            y,
            [50, 70, 45, 135],
            w,
        ),
        X,
    )
    yield (
        "gd multi-output validation",
        lambda: GDRegressor(validation_fraction=0.2, **gd).fit(Xm, ym),
        Xm,
    )
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    yield "gd sparse", lambda: GDRegressor(**gd).fit(Xs, y), Xs
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    yield "gd float32", lambda: GDRegressor(**gd).fit(X32, y32), X32
    yield "mlp adam", lambda: MLPRegressor(**mlp).fit(X, y), X
    yield (
        "mlp dropout weighted",
        lambda: MLPRegressor(dropout=0.2, input_dropout=0.1, batch_size=32, **mlp).fit(
            X, y, sample_weight=w
        ),
        X,
    )
    yield (
        "mlp early stopping tanh",
        lambda: MLPRegressor(
            early_stopping=True, activation="tanh", batch_size=32, **mlp
        ).fit(X, y),
        X,
    )
    yield (
        "mlp sgd nesterov invscaling",
        lambda: MLPRegressor(
            optimizer="sgd",
            learning_rate=0.01,
            momentum=0.9,
            nesterov=True,
            lr_schedule="invscaling",
            alpha=1e-3,
            **mlp,
        ).fit(X, y),
        X,
    )
    yield (
        "mlp warm start",
        lambda: MLPRegressor(warm_start=True, **mlp).fit(X, y).fit(X, y),
        X,
    )
    yield (
        "mlp partial_fit",
        lambda: _chunks(MLPRegressor(batch_size=32, **mlp), X, y, [150, 150]),
        X,
    )
    yield (
        "mlp stream dropout",
        lambda: _chunks(
            MLPRegressor(epoch_size=100, batch_size=16, dropout=0.1, **mlp),
            X,
            y,
            [64, 100, 36, 100],
        ),
        X,
    )
    yield (
        "mlp multi-output cosine",
        lambda: MLPRegressor(lr_schedule="cosine", batch_size=None, **mlp).fit(Xm, ym),
        Xm,
    )
    yield "mlp float32", lambda: MLPRegressor(**mlp).fit(X32, y32), X32


def fingerprint(est, X):
    """Everything a fit decides, as plain data."""
    if isinstance(est, GDRegressor):
        params = [np.asarray(est.coef_), np.asarray(est.intercept_)]
    else:
        params = [*est.coefs_, *est.intercepts_]
    history = [
        {k: v for k, v in record.items() if k != "seconds"} for record in est.history_
    ]
    return {
        "params": params,
        "history": history,
        "counters": (est.n_iter_, est.t_, est.learning_rate_),
        "predict": est.predict(X),
        "trajectory": est.trajectory_,
    }


def record():
    out = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make, X in _configs():
            out[name] = fingerprint(make(), X)
    return out


def _flat(value):
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _flat(value[k])]
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flat(item)]
    if value is None:
        return [np.nan]
    return list(np.ravel(np.asarray(value, dtype=float)))


def compare(old, new):
    worst = 0.0
    for name in old:
        a, b = np.array(_flat(old[name])), np.array(_flat(new[name]))
        if a.shape != b.shape:
            print(f"{name:36s} DIFFERENT SHAPE {a.shape} vs {b.shape}")
            worst = np.inf
            continue
        same = np.array_equal(a, b, equal_nan=True)
        scale = np.maximum(np.abs(a), 1e-300)
        rel = float(np.nanmax(np.abs(a - b) / scale)) if not same else 0.0
        worst = max(worst, rel)
        print(f"{name:36s} {'bitwise equal' if same else f'max rel diff {rel:.3g}'}")
    return worst


if __name__ == "__main__":
    command, path = sys.argv[1:3]
    if command == "record":
        with open(path, "wb") as f:
            pickle.dump(record(), f)
    else:
        with open(path, "rb") as f:
            old = pickle.load(f)
        print(f"largest relative difference: {compare(old, record()):.3g}")
