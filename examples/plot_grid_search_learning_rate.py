"""
Grid search over the learning rate and the batch size
=====================================================

The learning rate is the user's choice: too large and the steps overshoot
and never come down (divergence); too small and the descent is slow. Picking
it takes experiments. This example runs them with ``GridSearchCV`` on
:class:`skgd.GDRegressor` (after a ``StandardScaler``) on scikit-learn's
bundled diabetes data: for each learning rate and batch size, 5-fold
cross-validation reports the R² on the data the model was trained on, the R²
on the held-out fold, and the gap between them. A candidate whose training
diverges is reported as diverged, and the search goes on.
"""

# %%
# The search
# ----------
#
# Every candidate runs exactly 30 epochs (``tol=None``). A diverging fit
# raises, and ``error_score=np.nan`` records it as a failed candidate
# instead of stopping the search.

import warnings

import matplotlib.pyplot as plt
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
learning_rates = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
batch_sizes = [8, 64, None]
grid = {
    "gdregressor__learning_rate": learning_rates,
    "gdregressor__batch_size": batch_sizes,
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

# %%
# Train and validation R² of every candidate
# ------------------------------------------

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

# %%
# Validation R² against the learning rate
# ---------------------------------------
#
# One line per batch size; a diverged candidate is a gap in its line. With
# the same number of epochs, smaller batches make more updates, so they
# reach a good fit at a smaller learning rate; full-batch descent needs a
# larger step to get as far in 30 epochs. Every batch size diverges at a
# learning rate of 1 or more.

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for batch in batch_sizes:
    mask = [p["gdregressor__batch_size"] == batch for p in results["params"]]
    lrs = np.array([p["gdregressor__learning_rate"] for p in results["params"]])
    scores = results["mean_test_score"][mask]
    # NaN (diverged) leaves a gap in the line.
    ax.plot(lrs[mask], scores, "o-", label=f"batch_size={batch}")
ax.set_xscale("log")
ax.set_xlim(min(learning_rates) / 2, max(learning_rates) * 2)
ax.set_ylim(-1, 1)
ax.set_xlabel("learning rate")
ax.set_ylabel("mean validation R² (5 folds)")
ax.set_title("GDRegressor, 30 epochs, diabetes data")
ax.axhline(0, color="black", linewidth=0.8)
ax.axvspan(0.5, max(learning_rates) * 2, color="gray", alpha=0.15)
ax.text(3, 0.05, "all diverged", ha="center", color="gray")
ax.legend()
plt.show()

# %%
# Validation R² below -1 (too small a step to get anywhere in 30 epochs) is
# clipped by the axis limits; the table above has the values.
