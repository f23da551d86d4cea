"""Where skgd's halving search spends its time: its parts, timed apart.

The workload of ``bench_halving.py`` (diabetes, ``make_pipeline(
StandardScaler(), MLPRegressor((32,), batch_size=32))``, 48 candidates,
``KFold(5)``, ``resource="mlpregressor__epochs"``, ``max_resources=243``,
``factor=3``). Each of ``--repeats`` rounds runs skgd's search once, with
the garbage collector off, split into:

* stacking: :func:`skgd.engine.stack.stack_group` (each fold's candidates
  checked, prepared and stacked);
* training, by rung: the stacks' ``train`` to the rung's epochs;
* ending the fits: the rest of the stacks' ``run`` (each candidate's
  outcome at the end of a rung, its estimator fitted);
* scoring: each rung's scores of the stacked fits on their folds;
* refit: the best candidate's fit on all the rows (``refit_time_``);
* the rest: scikit-learn's search around them (splitting the data for
  each fit it replays, its bookkeeping, the results) and the stacks'
  bookkeeping between rungs.

Then one scikit-learn ``HalvingGridSearchCV`` on the same grid gives the
ratio. Each part is its least time over the rounds; the total is the least
total, so the parts need not add up to it exactly.

Usage::

    python benchmarks/profile_halving.py
    python benchmarks/profile_halving.py --repeats 5
"""

import argparse
import gc
import time
import warnings
from collections import defaultdict

from _timing import timed, timed_parts
from bench_halving import contenders
from sklearn.datasets import load_diabetes

import skgd.engine.stack as stack
import skgd.model_selection._stacking as stacking
from skgd.engine.stack.run import Trainer

# (owner, attribute, part): the functions timed, and the part each counts to.
TIMED = [
    (stack, "stack_group", "stacking"),
    (Trainer, "run", "training and ending"),
    (stacking, "score_outcomes", "scoring"),
]


def rung_timed(train, seconds):
    """``Trainer.train`` (``train``), timed into ``seconds["training to E
    epochs"]``, ``E`` the epochs it trains to (a rung's)."""

    def timed_train(self, epochs=None):
        target = self.params[0]["epochs"] if epochs is None else epochs
        return timed(train, f"training to {target} epochs", seconds)(self, epochs)

    return timed_train


def one_round(search):
    """The parts of one run of ``search`` (a callable), in seconds."""
    seconds = defaultdict(float)
    gc.collect()
    gc.disable()
    saved_train = Trainer.train
    try:
        Trainer.train = rung_timed(saved_train, seconds)
        start = time.perf_counter()
        with timed_parts(TIMED, seconds):
            fitted = search()
        seconds["total"] = time.perf_counter() - start
    finally:
        Trainer.train = saved_train
        gc.enable()
    rungs = [part for part in seconds if part.startswith("training to")]
    training = sum(seconds[part] for part in rungs)
    seconds["ending the fits"] = seconds.pop("training and ending") - training
    seconds["refit"] = fitted.refit_time_
    named = training + sum(
        seconds[part] for part in ("stacking", "ending the fits", "scoring", "refit")
    )
    seconds["the rest"] = seconds["total"] - named
    return seconds


def report(rounds, theirs):
    """Print each part's least time and its share of the least total."""
    best = {part: min(r[part] for r in rounds) for part in rounds[0]}
    total = best.pop("total")
    print(
        f"skgd HalvingGridSearchCV {1e3 * total:.0f} ms, scikit-learn's "
        f"{1e3 * theirs:.0f} ms: {theirs / total:.2f}x faster"
    )
    rungs = sorted(
        (p for p in best if p.startswith("training to")),
        key=lambda p: int(p.split()[2]),
    )
    others = ["stacking", "ending the fits", "scoring", "refit", "the rest"]
    for part in rungs + others:
        share = 100 * best[part] / total
        print(f"   {part:<28} {1e3 * best[part]:7.1f} ms {share:5.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    X, y = load_diabetes(return_X_y=True)
    searches = contenders(X, y, 243)
    ours, sklearns = searches.values()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours()  # compiles or loads the kernels
        rounds = [one_round(ours) for _ in range(args.repeats)]
        start = time.perf_counter()
        sklearns()
        theirs = time.perf_counter() - start
    report(rounds, theirs)


if __name__ == "__main__":
    main()
