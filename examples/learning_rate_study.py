"""
Learning rate, batch size and the generalization gap
=====================================================

A small generalization study with :class:`skgd.GDRegressor` on scikit-learn's
bundled diabetes data: for each learning rate and batch size, 5-fold
cross-validation reports the R² on the data the model was trained on, the R²
on the held-out fold, and the gap between them. A learning rate that is too
large diverges: that candidate is reported as diverged, and the study goes on.

Run it with ``python examples/learning_rate_study.py``.
"""

import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor

X, y = load_diabetes(return_X_y=True)
model = make_pipeline(
    StandardScaler(), GDRegressor(epochs=30, tol=None, random_state=0)
)
grid = {
    "gdregressor__learning_rate": [1e-3, 1e-2, 1e-1, 1.0, 10.0],
    "gdregressor__batch_size": [8, 64, None],
}
search = GridSearchCV(
    model,
    grid,
    cv=KFold(5, shuffle=True, random_state=0),
    return_train_score=True,
    error_score=np.nan,
)
with warnings.catch_warnings():
    # A diverging candidate is recorded as NaN; the table below shows it.
    warnings.simplefilter("ignore", FitFailedWarning)
    warnings.simplefilter("ignore", UserWarning)
    search.fit(X, y)

results = search.cv_results_
print(
    f"{'learning_rate':>13} {'batch_size':>10} {'train R2':>9} {'valid R2':>9} "
    f"{'gap':>7} {'fit s':>6}"
)
for i, params in enumerate(results["params"]):
    lr = params["gdregressor__learning_rate"]
    batch = str(params["gdregressor__batch_size"])
    train, test = results["mean_train_score"][i], results["mean_test_score"][i]
    fit_time = results["mean_fit_time"][i]
    if np.isnan(test):
        print(f"{lr:>13g} {batch:>10} {'diverged':>9}")
        continue
    best = " <- best" if i == search.best_index_ else ""
    print(
        f"{lr:>13g} {batch:>10} {train:>9.3f} {test:>9.3f} {train - test:>7.3f} "
        f"{fit_time:>6.3f}{best}"
    )
