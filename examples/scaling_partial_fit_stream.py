"""Training on a stream of chunks: ``partial_fit`` with ``epoch_size``.

With ``epoch_size`` set to the number of rows in a pass, consecutive
``partial_fit`` calls are chunks of one stream: mini-batches run across the
chunks' borders and an epoch ends every ``epoch_size`` rows. Without
shuffling, the stream makes exactly the updates of ``fit`` over the
concatenated chunks, here with dropout and a cosine schedule.
"""

import numpy as np

from skgd import MLPRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(1000, 5))
y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=1000)

params = dict(
    hidden_layer_sizes=(32,),
    batch_size=64,
    dropout=0.1,
    lr_schedule="cosine",
    epochs=3,
    shuffle=False,
    random_state=0,
)
in_memory = MLPRegressor(tol=None, **params).fit(X, y)

streamed = MLPRegressor(epoch_size=len(X), **params)
for _ in range(3):
    # Chunks of uneven sizes, as a reader of files or a queue would give them.
    for chunk in np.array_split(np.arange(len(X)), [150, 420, 437, 900]):
        streamed.partial_fit(X[chunk], y[chunk])

print("epochs:", streamed.n_iter_, "updates:", streamed.t_)
print("loss per epoch:", np.round(streamed.loss_curve_, 4))
print(
    "same weights as fit:",
    all(np.array_equal(a, b) for a, b in zip(streamed.coefs_, in_memory.coefs_)),
)
