r"""
Dropout and the L2 penalty on a wide classifier
===============================================

A wide network has far more weights than it needs to classify the training
set, so it can also learn things about the training set that do not hold
elsewhere: in the extreme, it memorizes every training label. The gap
between its accuracy on the training data and on unseen data measures how
much of that it did. Two knobs of :class:`~skgd.MLPClassifier` act against
it:

* the L2 penalty ``alpha`` adds :math:`\frac{\alpha}{2}\sum_k \lVert W_k
  \rVert^2` to the cost, so the fit also keeps the weights small;
* dropout zeroes each hidden unit with probability ``dropout`` at every
  update (and scales the others by :math:`1 / (1 - p)`), so the network
  cannot rely on any single unit. Prediction uses every unit.

This example trains one wide network, two hidden layers of 128 units, on
600 images of scikit-learn's bundled digits data, and measures its accuracy
on those images and on the 1197 it never saw: first with the true labels,
then with 30% of the training labels replaced at random, which gives the
network something to memorize.
"""

# %%
# Digits, split in two
# --------------------
#
# 8×8 images of handwritten digits, 1797 in all, with pixel values from 0
# to 16, scaled to [0, 1]. The split is stratified: each digit has its share
# on both sides.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skgd import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, train_size=600, stratify=y, random_state=0
)

# For the second experiment, 30% of the training labels are replaced by a
# digit drawn at random (which is the true one a tenth of the time). The test
# labels stay true.
rng = np.random.default_rng(0)
relabeled = rng.random(len(y_train)) < 0.3
y_noisy = np.where(relabeled, rng.integers(0, 10, len(y_train)), y_train)
print(f"{np.mean(y_noisy != y_train):.0%} of the training labels are now wrong")

# %%
# Train and test accuracy of each setting
# ---------------------------------------
#
# The same network and the same 100 epochs of Adam, in mini-batches of 16, in
# every setting: no regularization, two dropout rates and three penalties.
# Training accuracy is measured against the labels the network was trained
# on.

settings = {
    "none": {},
    "dropout=0.2": {"dropout": 0.2},
    "dropout=0.5": {"dropout": 0.5},
    "alpha=0.003": {"alpha": 0.003},
    "alpha=0.01": {"alpha": 0.01},
    "alpha=0.03": {"alpha": 0.03},
}
accuracy = {}  # (labels, setting) -> (train, test)
for labels, y_fit in [("true labels", y_train), ("30% random labels", y_noisy)]:
    print(f"\n{labels:<20}{'train':>7}{'test':>7}{'gap':>7}")
    for name, params in settings.items():
        model = MLPClassifier(
            (128, 128), epochs=100, batch_size=16, tol=None, random_state=0, **params
        ).fit(X_train, y_fit)
        train = model.score(X_train, y_fit)
        test = model.score(X_test, y_test)
        accuracy[labels, name] = train, test
        print(f"{name:<20}{train:>7.3f}{test:>7.3f}{train - test:>7.3f}")

# %%
# The gap, setting by setting
# ---------------------------
#
# With the true labels (left) there is little to close: the network fits every
# training image, and gets about 96% of the test images right. Dropout leaves
# the test accuracy within a point of where it was; the penalties lower the
# test accuracy, and the larger ones the training accuracy by about as much,
# so the gap stays about the same.
#
# With random labels (right) the unregularized network memorizes them too: its
# training accuracy is 1, wrong labels included, while its test accuracy falls
# far below that of the left panel. Every setting lowers the training accuracy
# and raises the test accuracy. The stronger ones, ``dropout=0.5`` and
# ``alpha=0.01``, bring the training accuracy down to around the share of
# training labels that are right (dotted) and the test accuracy most of the
# way back, though not to that of the clean data; their gap is negative, since
# a quarter of the training labels are wrong. ``alpha=0.03`` goes further: the
# training accuracy falls below the dotted line, and the test accuracy falls
# again, as too strong a penalty underfits. What regularization buys depends
# on what there is to memorize. (One split and one seed: differences of a
# point or two are within the noise.)

names = list(settings)
positions = np.arange(len(names))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for ax, labels in zip(axes, ["true labels", "30% random labels"]):
    train, test = np.array([accuracy[labels, name] for name in names]).T
    ax.vlines(positions, test, train, color="0.7", linewidth=3, label="gap")
    ax.plot(positions, train, "o", markersize=8, label="train")
    ax.plot(positions, test, "s", markersize=8, label="test")
    ax.set_xticks(positions, names, rotation=30)
    ax.set_title(f"MLPClassifier (128, 128), {labels}")
right = np.mean(y_noisy == y_train)
axes[1].axhline(right, color="black", linestyle=":", linewidth=1)
axes[1].text(1.15, right, "training labels that are right", va="bottom")
axes[0].set_ylabel("accuracy")
axes[0].legend(loc="lower left")
plt.show()
