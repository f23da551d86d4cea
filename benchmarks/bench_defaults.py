"""The defaults of GDRegressor on real data, against Ridge and SGDRegressor.

For each data set (those that the installed packages ship; nothing is
downloaded), the rows are split 80/20 (``random_state=0``), categorical
columns one-hot encoded and every column standardized on the training rows,
and these fit on the same data in the same run:

* ``Ridge(alpha=1e-8)``: the exact least-squares optimum, the reference;
* ``SGDRegressor()``: scikit-learn's defaults;
* ``GDRegressor()`` (mini-batches of 32, plain SGD, ``"auto"`` step);
* ``GDRegressor(batch_size=None)``: full-batch gradient descent;
* ``GDRegressor(optimizer="adam")`` at batch 32 and at full batch.

Each line gives the test R², its gap to Ridge's, the epochs run and the fit
time (the best of ``--repeats``), and the time relative to SGDRegressor's.
The issue's targets: ``GDRegressor()`` within 0.001 of Ridge in at most 3x
SGDRegressor's time; full batch and Adam within 0.005 of Ridge. A last line
gives the cost of ``learning_rate="auto"`` (the best of ``--repeats`` calls),
for sgd at batch 32 and for Adam, as a fraction of a 200-epoch default fit
(``tol=None``); the target is at most 10%.

Data sets: scikit-learn's diabetes (442 rows), statsmodels' ``fair``
(6,366 rows, affairs) and ``randhie`` (20,190 rows, medical visits), and
plotnine's ``diamonds`` (53,940 rows, log price, 3 categorical columns),
each where its package is installed (``pip install statsmodels plotnine``).

Usage::

    python benchmarks/bench_defaults.py [--repeats 3] [--data diamonds,fair]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skgd import GDRegressor
from skgd._losses import SquaredError


def _diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


def _statsmodels(name, target):
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas().data
    return data.drop(columns=target), data[target].astype(float)


def _diamonds():
    from plotnine.data import diamonds

    return diamonds.drop(columns="price"), np.log(diamonds["price"].astype(float))


DATASETS = {
    "diabetes": _diabetes,
    "fair": lambda: _statsmodels("fair", "affairs"),
    "randhie": lambda: _statsmodels("randhie", "mdvis"),
    "diamonds": _diamonds,
}

CONTENDERS = {
    "Ridge(alpha=1e-8)": lambda: Ridge(alpha=1e-8),
    "SGDRegressor()": lambda: SGDRegressor(random_state=0),
    "GDRegressor()": lambda: GDRegressor(random_state=0),
    "GDRegressor(batch_size=None)": lambda: GDRegressor(
        batch_size=None, random_state=0
    ),
    "GDRegressor(adam)": lambda: GDRegressor(optimizer="adam", random_state=0),
    "GDRegressor(adam, batch_size=None)": lambda: GDRegressor(
        optimizer="adam", batch_size=None, random_state=0
    ),
}


def prepared(X, y):
    """Train and test splits, one-hot encoded and standardized on the train rows."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0
    )
    categorical = [c for c in X.columns if X[c].dtype.kind not in "biuf"]
    numeric = [c for c in X.columns if c not in categorical]
    encode = make_column_transformer(
        (StandardScaler(), numeric),
        (OneHotEncoder(sparse_output=False), categorical),
    )
    train = StandardScaler().fit(encode.fit_transform(X_train))
    X_train = train.transform(encode.transform(X_train))
    X_test = train.transform(encode.transform(X_test))
    return X_train, X_test, np.asarray(y_train), np.asarray(y_test)


def run(name, repeats):
    try:
        X, y = DATASETS[name]()
    except ImportError as error:
        print(f"{name}: skipped ({error.name} is not installed)")
        return
    X_train, X_test, y_train, y_test = prepared(X, y)
    print(
        f"{name}: {X_train.shape[0]} train, {X_test.shape[0]} test rows, "
        f"{X_train.shape[1]} columns"
    )
    rows = {}
    for label, make in CONTENDERS.items():
        best = np.inf
        for _ in range(repeats):
            model = make()
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            best = min(best, time.perf_counter() - start)
        rows[label] = model.score(X_test, y_test), best, getattr(model, "n_iter_", "")
    ridge, sgd_time = rows["Ridge(alpha=1e-8)"][0], rows["SGDRegressor()"][1]
    for label, (score, seconds, epochs) in rows.items():
        print(
            f"   {label:36s} R2 {score:8.4f}  gap {ridge - score:+8.4f}  "
            f"epochs {epochs!s:>4}  {seconds:7.3f} s  {seconds / sgd_time:6.2f}x SGD"
        )
    auto_cost(X_train, y_train, repeats)


def _best_time(call, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def auto_cost(X, y, repeats):
    """Print the time of ``learning_rate="auto"`` against a 200-epoch default fit."""
    fit = _best_time(
        lambda: GDRegressor(tol=None, random_state=0).fit(X, y), max(1, repeats // 3)
    )
    Y, loss = y.reshape(-1, 1), SquaredError()
    costs = {
        optimizer: _best_time(
            lambda o=optimizer: GDRegressor(optimizer=o)._auto_learning_rate(
                X, Y, None, None, loss
            ),
            repeats,
        )
        for optimizer in ("sgd", "adam")
    }
    print(
        f"   learning_rate='auto': sgd {1e3 * costs['sgd']:.2f} ms, adam "
        f"{1e3 * costs['adam']:.2f} ms; a 200-epoch default fit {fit:.2f} s: "
        f"{costs['sgd'] / fit:.2%} and {costs['adam'] / fit:.2%} of it"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=",".join(DATASETS))
    args = parser.parse_args()
    for name in args.data.split(","):
        run(name, args.repeats)


if __name__ == "__main__":
    main()
