"""
The learning-rate range test
============================

Which learning rate should a grid be centred on? The range test (Smith,
2017; fastai's ``lr_find``) answers before any grid is run. fastai trains
once while the rate grows each step. With stacked training, skgd runs the
real thing: one candidate per constant rate, 30 rates from 1e-5 to 10, all
trained together for a few epochs and scored on held-out rows.

:class:`skgd.LearningRateRangeDisplay` plots the training and validation
loss after those epochs against the rate, crosses out the rates that
diverged, and suggests the rate of the lowest validation loss: the constant
step that generalizes best within the epochs given.
"""

# %%
# A linear model and a network on the diabetes data
# -------------------------------------------------

import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, LearningRateRangeDisplay, MLPRegressor

X, y = load_diabetes(return_X_y=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, final in zip(
    axes,
    [
        GDRegressor(batch_size=32, random_state=0),
        MLPRegressor(hidden_layer_sizes=(32,), batch_size=32, random_state=0),
    ],
):
    model = make_pipeline(StandardScaler(), final)
    start = time.perf_counter()
    display = LearningRateRangeDisplay.from_estimator(model, X, y, epochs=5, ax=ax)
    seconds = time.perf_counter() - start
    print(
        f"{display.name}: suggested learning rate "
        f"{display.suggested_learning_rate_:.3g} ({seconds:.2f} s for 30 rates)"
    )
fig.tight_layout()
plt.show()

# %%
# Below about 1e-3 the models barely move in 5 epochs; the losses fall as
# the rate grows, flatten, and then the steps overshoot: the linear model
# diverges (its loss would grow without bound, so those rates are crossed
# out), the network's loss rises again. A grid centred on the suggested rate
# spans both sides of it.
