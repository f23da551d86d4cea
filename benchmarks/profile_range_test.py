"""Where the learning-rate range test's time goes: its parts, timed apart.

The workload of ``bench_range_test.py`` (diabetes x 10, ``make_pipeline(
StandardScaler(), model)``, batch 32, 5 epochs, 30 rates, matplotlib's Agg
backend). For each model, ``--repeats`` rounds each time one range test as
the benchmark does (``from_estimator`` on fresh axes) and one fit,
with the garbage collector off, and split the range test into:

* preparing: what ``skgd._range_test._losses`` does besides the engine
  (taking the rows of the split, fitting and applying the pipeline's other
  steps, cloning the candidates, checking the scored data);
* stacking: :func:`skgd.engine.stack.stack_group` (each candidate's checks
  and preparation, the stack built);
* training: the group's ``train()``;
* scoring: the group's ``losses()`` on the training and held-out rows, and
  its ``diverged()``;
* drawing: ``LearningRateRangeDisplay.plot``;
* the rest of ``from_estimator`` (the split, the display built).

Each part is its least time over the rounds; the total is the least total,
so the parts need not add up to it exactly. With ``--cprofile`` a cProfile
table of one range test follows each model's split.

Usage::

    python benchmarks/profile_range_test.py
    python benchmarks/profile_range_test.py --repeats 15 --cprofile
"""

import argparse
import cProfile
import gc
import pstats
import time
import warnings
from collections import defaultdict

import matplotlib
import numpy as np
from _timing import timed_parts
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgd._range_test as range_test
from skgd import GDRegressor, LearningRateRangeDisplay, MLPRegressor
from skgd.engine.stack.run import Trainer

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MODELS = {
    "GDRegressor": GDRegressor(batch_size=32, epochs=5, random_state=0),
    "MLPRegressor (32,)": MLPRegressor(
        hidden_layer_sizes=(32,), batch_size=32, epochs=5, random_state=0
    ),
}

# (owner, attribute, part): the functions timed, and the part each counts to.
TIMED = [
    (range_test, "_losses", "_losses"),
    (range_test, "stack_group", "stacking"),
    (Trainer, "train", "training"),
    (Trainer, "losses", "scoring"),
    (Trainer, "diverged", "scoring"),
    (LearningRateRangeDisplay, "plot", "drawing"),
]
PARTS = [
    "preparing",
    "stacking",
    "training",
    "scoring",
    "drawing",
    "the rest",
]


def one_round(pipeline, ax, X, y):
    """The parts of one range test and the time of one fit, in seconds."""
    seconds = defaultdict(float)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        with timed_parts(TIMED, seconds):
            LearningRateRangeDisplay.from_estimator(pipeline, X, y, ax=ax)
        seconds["total"] = time.perf_counter() - start
        start = time.perf_counter()
        pipeline.fit(X, y)
        seconds["one fit"] = time.perf_counter() - start
    finally:
        gc.enable()
    engine = seconds["stacking"] + seconds["training"] + seconds["scoring"]
    seconds["preparing"] = seconds.pop("_losses") - engine
    seconds["the rest"] = (
        seconds["total"] - seconds["preparing"] - engine - seconds["drawing"]
    )
    return seconds


def fresh_axes():
    """New axes to draw on, made before the timed call (as the benchmark's)."""
    return plt.subplots()[1]


def report(name, rounds):
    """Print each part's least time, its share of the total, and the ratio."""
    best = {part: min(r[part] for r in rounds) for part in rounds[0]}
    total, fit = best["total"], best["one fit"]
    print(
        f"{name}: range test {1e3 * total:.1f} ms, one fit {1e3 * fit:.1f} ms, "
        f"ratio {total / fit:.2f}x"
    )
    for part in PARTS:
        ms = 1e3 * best[part]
        print(
            f"   {part:<18} {ms:7.2f} ms {100 * best[part] / total:5.1f}% "
            f"{best[part] / fit:5.2f} fits"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    X, y = load_diabetes(return_X_y=True)
    X, y = np.tile(X, (10, 1)), np.tile(y, 10)
    for name, model in MODELS.items():
        pipeline = make_pipeline(StandardScaler(), model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one_round(pipeline, fresh_axes(), X, y)  # compiles or loads the kernels
            rounds = [
                one_round(pipeline, fresh_axes(), X, y) for _ in range(args.repeats)
            ]
            report(name, rounds)
            if args.cprofile:
                profile = cProfile.Profile()
                profile.runcall(
                    LearningRateRangeDisplay.from_estimator,
                    pipeline,
                    X,
                    y,
                    ax=fresh_axes(),
                )
                pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        plt.close("all")


if __name__ == "__main__":
    main()
