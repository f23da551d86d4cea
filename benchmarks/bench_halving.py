"""Benchmark skgd's halving search against scikit-learn's, as ratios.

The workload: ``make_pipeline(StandardScaler(), MLPRegressor(
hidden_layer_sizes=(32,), batch_size=32, tol=None, random_state=0))`` on
scikit-learn's diabetes data (442 rows, 10 features), the grid
``learning_rate`` {1e-3, 3e-3, 1e-2, 3e-2} x ``alpha`` {0, 1e-4, 1e-3,
1e-2} x ``dropout`` {0, 0.1, 0.2}: 48 candidates, ``cv=KFold(5)``,
``resource="mlpregressor__epochs"``, ``max_resources=243``, ``factor=3``
(rungs of 9, 27, 81 and 243 epochs for 48, 16, 6 and 2 candidates).
Measured in one run, interleaved:

1. ``skgd.model_selection.HalvingGridSearchCV``: each rung's candidates of
   a fold train as stacks, and the survivors go on in them to the next
   rung's epochs.
2. scikit-learn's ``HalvingGridSearchCV`` over the same skgd pipeline:
   every fit of every rung trained anew, one at a time. Target: 1. at least
   5 times faster than 2.

Agreement: ``cv_results_``'s scores of 1. must equal 2.'s to 1e-9, else the
script exits with status 1 (the timing target prints PASS/FAIL but never
changes the exit status).

Usage::

    python benchmarks/bench_halving.py
    python benchmarks/bench_halving.py --quick   # max_resources=27, 1 repeat
    python benchmarks/bench_halving.py --profile # where skgd's search spends its time
"""

import math
import sys
import warnings

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    print_run_header,
    profile_fit,
    time_interleaved,
    verdict,
)
from sklearn.datasets import load_diabetes
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV as SklearnHalving
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import MLPRegressor
from skgd.model_selection import HalvingGridSearchCV

GRID = {
    "mlpregressor__learning_rate": [1e-3, 3e-3, 1e-2, 3e-2],
    "mlpregressor__alpha": [0.0, 1e-4, 1e-3, 1e-2],
    "mlpregressor__dropout": [0.0, 0.1, 0.2],
}
TARGET = 5.0


def contenders(X, y, max_resources):
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(hidden_layer_sizes=(32,), batch_size=32, tol=None, random_state=0),
    )
    settings = {
        "resource": "mlpregressor__epochs",
        "max_resources": max_resources,
        "factor": 3,
        "cv": KFold(5),
    }
    return {
        "skgd HalvingGridSearchCV": lambda: HalvingGridSearchCV(
            model, GRID, **settings
        ).fit(X, y),
        "sklearn HalvingGridSearchCV": lambda: SklearnHalving(
            model, GRID, **settings
        ).fit(X, y),
    }


def main(argv=None):
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions (default 3, 1 with --quick)",
        quick_help="max_resources=27 instead of 243",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timings, profile one fit of skgd's search (per "
        "stacked batch: folds x max_resources epochs x batches of a fold)",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or (1 if args.quick else 3)
    max_resources = 27 if args.quick else 243
    X, y = load_diabetes(return_X_y=True)
    print_run_header(
        "skgd benchmark: a 48-candidate x 5-fold halving search over epochs",
        "benchmarks/bench_halving.py",
        sys.argv[1:] if argv is None else argv,
        [
            ("data", "diabetes, 442 x 10, float64"),
            ("search", f"factor=3, max_resources={max_resources} epochs"),
            ("timing", f"{repeats} interleaved repeats after a warm-up, min"),
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times, results = time_interleaved(contenders(X, y, max_resources), repeats)
    ours, theirs = (min(seconds) for seconds in times.values())
    speedup = theirs / ours
    for name, seconds in times.items():
        print(f"   {name:<30} {min(seconds):8.3f} s")
    print(f"   speed-up {speedup:.2f}x  >= {TARGET:g} {verdict(-speedup, -TARGET)}")
    ours, theirs = (result.cv_results_ for result in results.values())
    worst = max(
        np.nanmax(np.abs(ours[key] - theirs[key]))
        for key in theirs
        if key.startswith("split") and key.endswith("_score")
    )
    same_rungs = ours["n_resources"].tolist() == theirs["n_resources"].tolist()
    print(
        f"   scores vs scikit-learn's: max |diff| {worst:.2g}; same rungs: {same_rungs}"
    )
    if args.profile:
        print()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search = contenders(X, y, max_resources)["skgd HalvingGridSearchCV"]
            n_train = X.shape[0] - X.shape[0] // 5  # KFold(5)'s largest training fold
            n_batches = 5 * max_resources * math.ceil(n_train / 32)
            profile_fit("skgd HalvingGridSearchCV", search, n_batches, top=20)
    return 0 if worst <= 1e-9 and same_rungs else 1


if __name__ == "__main__":
    sys.exit(main())
