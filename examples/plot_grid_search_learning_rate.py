"""
Grid search over the learning rate and the batch size
=====================================================

The learning rate is the user's choice: too large and the steps overshoot
and never come down (divergence); too small and the descent is slow. Picking
it takes experiments. This example runs them with
:class:`skgd.model_selection.GridSearchCV` on :class:`skgd.GDRegressor`
(after a ``StandardScaler``) on scikit-learn's bundled diabetes data: for
each learning rate and batch size, 5-fold cross-validation reports the R² on
the data the model was trained on, the R² on the held-out fold, and the gap
between them. A candidate whose training diverges is reported as diverged,
and the search goes on.

skgd's ``GridSearchCV`` takes scikit-learn's arguments and gives its
``cv_results_``, but trains the candidates of each fold that differ only in
the learning rate as one stacked run; the batch size makes groups, each
trained apart. The example runs scikit-learn's search beside it and checks
that both give the same scores.
"""

# %%
# The two searches
# ----------------
#
# Every candidate runs exactly 30 epochs (``tol=None``). A diverging fit
# raises, and ``error_score=np.nan`` records it as a failed candidate
# instead of stopping the search. In the stacked run, a diverged candidate
# leaves the stack at the end of that epoch and the others go on.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import model_selection
from sklearn.datasets import load_diabetes
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor
from skgd.model_selection import GridSearchCV

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
arguments = dict(
    cv=KFold(5, shuffle=True, random_state=0),
    return_train_score=True,
    error_score=np.nan,
)


def timed_fit(search):
    """Fit ``search`` on the data; return it and the wall time of its fit."""
    with warnings.catch_warnings():
        # A diverging candidate is recorded as NaN; the table below shows it.
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.simplefilter("ignore", UserWarning)
        start = time.perf_counter()
        search.fit(X, y)
    return search, time.perf_counter() - start


reference, sklearn_seconds = timed_fit(
    model_selection.GridSearchCV(model, grid, **arguments)
)
search, stacked_seconds = timed_fit(GridSearchCV(model, grid, **arguments))
print(f"scikit-learn's GridSearchCV: {sklearn_seconds:.2f} s")
print(f"skgd's stacked GridSearchCV: {stacked_seconds:.2f} s")
print(f"ratio: {sklearn_seconds / stacked_seconds:.2f}")

# %%
# Every candidate goes through the arithmetic of its own fit, with the same
# splits and shuffles, so the scores agree with scikit-learn's to rounding
# (only the order of some sums differs), NaN where a candidate diverged.

same = all(
    np.allclose(
        search.cv_results_[key],
        reference.cv_results_[key],
        rtol=0,
        atol=1e-9,
        equal_nan=True,
    )
    for key in ("mean_test_score", "mean_train_score")
)
difference = (
    search.cv_results_["mean_test_score"] - reference.cv_results_["mean_test_score"]
)
print("same mean scores as scikit-learn's (to 1e-9):", same)
print(f"largest difference of a mean test score: {np.nanmax(np.abs(difference)):.1e}")
print("same best parameters:", search.best_params_ == reference.best_params_)
assert same

# %%
# The fits of this linear model take milliseconds, and much of both
# searches' time goes to what scikit-learn does around each fit (checking
# the data, fitting the scaler, scoring), which stacking does not change;
# and the batch size splits the 15 candidates into three groups of five. So
# the ratio printed above is modest here. Stacking saves the most where the
# steps cost more, as for the networks of :class:`skgd.MLPRegressor`, and
# where many candidates share a group; ``benchmarks/bench_stacked.py``
# measures such a search.
#
# Train and validation R² of every candidate
# ------------------------------------------
#
# The fit time is each candidate's share of its stacked run (the run's time
# divided by its candidates) plus the time its fit took to take the result.

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
