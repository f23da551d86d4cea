"""Benchmark a stacked grid of linear models against scikit-learn's grid, as ratios.

The workload: ``GDRegressor(batch_size=32, epochs=20, tol=None,
average=False, random_state=0)`` on ``n=20,000, d=32`` standard-normal
features (``y = X @ w + N(0, 1)``), the grid ``learning_rate`` {1e-4, 3e-4,
1e-3, 3e-3, 1e-2} x ``alpha`` {0, 1e-4, 1e-3, 1e-2, 1e-1}: 25 candidates,
``cv=KFold(5)``, so 125 fits and a refit. Measured in one run, interleaved:

1. ``skgd.model_selection.GridSearchCV``: each fold's 25 candidates train
   as one stack, every pass one call of a compiled kernel.
2. scikit-learn's ``GridSearchCV`` over the same skgd estimator (125 single
   fits, each pass also compiled).
3. scikit-learn's ``GridSearchCV`` over ``SGDRegressor(learning_rate=
   "constant", max_iter=20, tol=None)`` with ``eta0`` and ``alpha`` on the
   same values: the reference. Target: 1. <= 0.2 x 3.

Agreement: the ``cv_results_`` scores of 1. must equal 2.'s to 1e-9; a
disagreement makes the script exit with status 1 (the timing target prints
PASS/FAIL but never changes the exit status).

Usage::

    python benchmarks/bench_linear_grid.py
    python benchmarks/bench_linear_grid.py --quick   # 2,000 rows, 1 repeat
"""

import sys
import warnings

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    print_run_header,
    time_interleaved,
    verdict,
)
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import GridSearchCV as SklearnGridSearchCV
from sklearn.model_selection import KFold

from skgd import GDRegressor
from skgd.model_selection import GridSearchCV

RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
ALPHAS = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
EPOCHS, TARGET = 20, 0.2


def contenders(X, y):
    cv = KFold(5)
    gd = GDRegressor(
        batch_size=32, epochs=EPOCHS, tol=None, average=False, random_state=0
    )
    sgd = SGDRegressor(
        learning_rate="constant", max_iter=EPOCHS, tol=None, random_state=0
    )
    grid = {"learning_rate": RATES, "alpha": ALPHAS}
    return {
        "skgd GridSearchCV (stacked)": lambda: GridSearchCV(gd, grid, cv=cv).fit(X, y),
        "sklearn GridSearchCV, GDRegressor": lambda: SklearnGridSearchCV(
            gd, grid, cv=cv
        ).fit(X, y),
        "sklearn GridSearchCV, SGDRegressor": lambda: SklearnGridSearchCV(
            sgd, {"eta0": RATES, "alpha": ALPHAS}, cv=cv
        ).fit(X, y),
    }


def main(argv=None):
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions (default 3, 1 with --quick)",
        quick_help="2,000 rows instead of 20,000",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or (1 if args.quick else 3)
    n = 2_000 if args.quick else 20_000
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 32))
    y = X @ rng.standard_normal(32) + rng.standard_normal(n)
    print_run_header(
        "skgd benchmark: a 25-candidate x 5-fold linear grid",
        "benchmarks/bench_linear_grid.py",
        sys.argv[1:] if argv is None else argv,
        [
            ("data", f"n={n}, d=32, float64, y = X @ w + N(0, 1), default_rng(0)"),
            ("timing", f"{repeats} interleaved repeats after a warm-up, min"),
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times, results = time_interleaved(contenders(X, y), repeats)
    names = list(times)
    base = min(times[names[2]])
    for name in names:
        ratio = min(times[name]) / base
        line = f"   {name:<36} {min(times[name]):8.3f} s {ratio:7.2f}"
        if name == names[0]:
            line += f"  <= {TARGET:g} {verdict(ratio, TARGET)}"
        print(line)
    ours, theirs = (results[name].cv_results_ for name in names[:2])
    worst = max(
        np.nanmax(np.abs(ours[key] - theirs[key]))
        for key in theirs
        if key.startswith("split") and key.endswith("_test_score")
    )
    agree = worst <= 1e-9
    print(f"   scores of the stacked search vs scikit-learn's: max |diff| {worst:.2g}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
