"""A grid search on a dask cluster gives the serial search's result, bit for bit.

Every fit is seeded by ``random_state``, so where it runs does not matter:
the search below runs once in this process and once on a two-worker
``distributed.LocalCluster`` through joblib's dask backend, and the best
models agree in every bit. Point ``Client`` at a real scheduler's address to
use a cluster instead. Needs ``pip install "skgd[dask]"``.
"""

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV

from skgd import MLPRegressor

X, y = make_regression(n_samples=300, n_features=8, noise=10.0, random_state=0)
y /= y.std()
model = MLPRegressor(hidden_layer_sizes=(16,), epochs=30, tol=None, random_state=0)
grid = {"learning_rate": [1e-3, 1e-2], "dropout": [0.0, 0.2]}


def search():
    return GridSearchCV(model, grid, cv=3).fit(X, y)


if __name__ == "__main__":  # worker processes import this file
    serial = search()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        distributed = search()
    same = all(
        np.array_equal(a, b)
        for a, b in zip(
            serial.best_estimator_.coefs_, distributed.best_estimator_.coefs_
        )
    )
    print("best parameters:", distributed.best_params_)
    print(
        "same scores:",
        np.array_equal(
            serial.cv_results_["mean_test_score"],
            distributed.cv_results_["mean_test_score"],
        ),
    )
    print("same best weights:", same)
