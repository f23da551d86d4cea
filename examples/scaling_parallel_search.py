"""A grid search on a dask cluster gives the serial search's result, bit for bit.

Every fit is seeded by ``random_state``, so where it runs does not matter:
the search below runs once in this process and once on a two-worker
``distributed.LocalCluster`` through joblib's dask backend, and the best
models agree in every bit. Point ``Client`` at a real scheduler's address to
use a cluster instead. Needs ``pip install "skgd[dask]"``.

skgd's own :class:`skgd.model_selection.GridSearchCV` takes the same route:
it trains the candidates of each fold that differ only in numbers (here the
learning rate and the dropout rate) as one stacked run, and hands those runs
to joblib (its ``n_jobs``, or the dask backend); the fits of scikit-learn's
search then only take their results, in this process. Its scores agree with
scikit-learn's to rounding, and on the cluster they are those of its serial
run, bit for bit.
"""

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV

from skgd import MLPRegressor
from skgd.model_selection import GridSearchCV as StackedGridSearchCV

X, y = make_regression(n_samples=300, n_features=8, noise=10.0, random_state=0)
y /= y.std()
model = MLPRegressor(hidden_layer_sizes=(16,), epochs=30, tol=None, random_state=0)
grid = {"learning_rate": [1e-3, 1e-2], "dropout": [0.0, 0.2]}


def search(search_cv=GridSearchCV):
    return search_cv(model, grid, cv=3).fit(X, y)


def scores(search):
    return search.cv_results_["mean_test_score"]


if __name__ == "__main__":  # worker processes import this file
    serial, stacked_serial = search(), search(StackedGridSearchCV)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        distributed = search()
        stacked = search(StackedGridSearchCV)  # its stacked runs on the workers
    same = all(
        np.array_equal(a, b)
        for a, b in zip(
            serial.best_estimator_.coefs_, distributed.best_estimator_.coefs_
        )
    )
    print("best parameters:", distributed.best_params_)
    print("same scores:", np.array_equal(scores(serial), scores(distributed)))
    print("same best weights:", same)
    print(
        "stacked: same scores as scikit-learn's search (to 1e-9):",
        np.allclose(scores(stacked), scores(serial), rtol=0, atol=1e-9),
    )
    print(
        "stacked: same scores as its serial run:",
        np.array_equal(scores(stacked), scores(stacked_serial)),
    )
