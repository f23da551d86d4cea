"""
Successive halving over epochs, the survivors trained on in their stacks
========================================================================

Most candidates of a grid are clearly bad after a few epochs. Successive
halving gives every candidate a small budget, keeps the best third, gives
those three times the budget, and so on. scikit-learn's
:class:`~sklearn.model_selection.HalvingGridSearchCV` does this with
``resource`` set to the epochs parameter, but it fits every survivor anew
at each rung: a candidate that reaches 27 epochs was trained for 3, then 9,
then 27 epochs from scratch.

:class:`skgd.model_selection.HalvingGridSearchCV` takes the same arguments
and gives the same ``cv_results_``. Within each rung, the candidates of a
fold that differ only in numbers (here the learning rate, ``alpha`` and the
dropout rate) train as one stack, and the survivors go on in their stack
from where they stopped: the rung costs only the epochs it adds.
"""

# %%
# The two searches
# ----------------
#
# An ``MLPRegressor`` after a ``StandardScaler`` on the diabetes data, 24
# candidates, rungs of 9, 27 and 81 epochs. ``tol=None`` makes every fit run
# exactly its epochs, so a fit that goes on from 9 to 27 epochs ends where a
# fresh fit of 27 epochs ends.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV as SklearnHalving
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import MLPRegressor
from skgd.model_selection import HalvingGridSearchCV

X, y = load_diabetes(return_X_y=True)
model = make_pipeline(
    StandardScaler(),
    MLPRegressor(hidden_layer_sizes=(16,), batch_size=32, tol=None, random_state=0),
)
grid = {
    "mlpregressor__learning_rate": [1e-3, 3e-3, 1e-2, 3e-2],
    "mlpregressor__alpha": [0.0, 1e-2, 1e-1],
    "mlpregressor__dropout": [0.0, 0.2],
}
settings = dict(
    resource="mlpregressor__epochs",
    max_resources=81,
    factor=3,
    cv=KFold(5, shuffle=True, random_state=0),
)

searches = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, search in [
        ("skgd", HalvingGridSearchCV(model, grid, **settings)),
        ("scikit-learn", SklearnHalving(model, grid, **settings)),
    ]:
        start = time.perf_counter()
        searches[name] = search.fit(X, y)
        print(f"{name:>12}'s halving search: {time.perf_counter() - start:.2f} s")

ours, theirs = searches["skgd"], searches["scikit-learn"]
difference = np.nanmax(
    np.abs(ours.cv_results_["mean_test_score"] - theirs.cv_results_["mean_test_score"])
)
print(f"rungs: {ours.n_resources_} epochs for {ours.n_candidates_} candidates")
print(f"largest difference of the mean scores: {difference:.1e}")
print(f"best: {ours.best_params_}, R² {ours.best_score_:.3f}")

# %%
# The race
# --------
#
# Each line is a candidate: its mean validation R² at each rung it reached.
# The survivors of a rung are the third with the best scores.

results = ours.cv_results_
fig, ax = plt.subplots()
for params in {repr(sorted(p.items())) for p in results["params"]}:
    rows = [
        i for i, p in enumerate(results["params"]) if repr(sorted(p.items())) == params
    ]
    epochs = results["n_resources"][rows]
    ax.plot(epochs, results["mean_test_score"][rows], "o-", alpha=0.6)
ax.set_xscale("log")
ax.set_xticks(ours.n_resources_, [str(r) for r in ours.n_resources_])
ax.set_xlabel("epochs (the rung's resource)")
ax.set_ylabel("mean validation R²")
ax.set_ylim(max(-1.0, np.nanmin(results["mean_test_score"]) - 0.05), None)
ax.set_title("Successive halving over epochs")
plt.show()
