"""dask-ml's ``Incremental`` trains on a dask array one block at a time.

The array below (a million rows, 128 MB) is never in memory at once:
``Incremental`` hands its blocks to ``partial_fit`` in turn, and
``epoch_size`` makes them one epoch. dask-ml's own R² scorer fails with
current dask, so the model is scored with scikit-learn's ``r2_score`` on
computed predictions. Needs ``pip install "skgd[dask]"``.
"""

import dask
import dask.array as da
import numpy as np
from dask_ml.wrappers import Incremental
from sklearn.metrics import r2_score

from skgd import GDRegressor

n, d = 1_000_000, 16
rs = da.random.RandomState(0)
X = rs.normal(size=(n, d), chunks=(100_000, d))
y = X @ np.linspace(-1.0, 1.0, d) + 0.5 + 0.1 * rs.normal(size=n, chunks=100_000)

model = Incremental(
    GDRegressor(learning_rate=0.01, batch_size=256, epoch_size=n, random_state=0),
    random_state=0,  # blocks come in a random order each pass
)
for _ in range(2):  # each call is one more pass over the blocks
    model.partial_fit(X, y)

X_test, y_test = X[:100_000], y[:100_000]
y_test, y_pred = dask.compute(y_test, model.predict(X_test))
print(
    "epochs:", model.estimator_.n_iter_, "loss per epoch:", model.estimator_.loss_curve_
)
print("R² on the first block:", round(r2_score(y_test, y_pred), 4))
