"""Benchmark the learning-rate range test against one fit, as ratios.

The workload: scikit-learn's diabetes data (442 rows, 10 features) repeated
10 times (4,420 rows), ``make_pipeline(StandardScaler(), model)`` with
``model`` ``GDRegressor(batch_size=32)`` or ``MLPRegressor(
hidden_layer_sizes=(32,), batch_size=32)``, ``epochs=5``, measured in one
run, interleaved:

1. ``LearningRateRangeDisplay.from_estimator``: 30 rates from 1e-5 to 10,
   one stack trained on 80% of the rows and scored on both parts, drawn
   (matplotlib's Agg backend) on fresh axes, made before the timed call.
2. One ``fit`` of the same pipeline at one rate, on all the rows.

Target: 1. at most 3 times 2. The script always exits with status 0.

Usage::

    python benchmarks/bench_range_test.py
    python benchmarks/bench_range_test.py --quick   # 1 repeat
"""

import sys
import warnings

import matplotlib
import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    print_run_header,
    time_interleaved,
    verdict,
)
from sklearn.datasets import load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, LearningRateRangeDisplay, MLPRegressor

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TARGET = 3.0
MODELS = {
    "GDRegressor": GDRegressor(batch_size=32, epochs=5, random_state=0),
    "MLPRegressor (32,)": MLPRegressor(
        hidden_layer_sizes=(32,), batch_size=32, epochs=5, random_state=0
    ),
}


def contenders(model, X, y, repeats):
    pipeline = make_pipeline(StandardScaler(), model)
    # Each range test draws on fresh axes, made beforehand (as a user's
    # plt.subplots() before the call): clearing used axes in the timed call
    # charged it 6-10 ms that are not the range test's.
    axes = iter([plt.subplots()[1] for _ in range(repeats + 1)])

    def range_test():
        return LearningRateRangeDisplay.from_estimator(pipeline, X, y, ax=next(axes))

    return {"range test, 30 rates": range_test, "one fit": lambda: pipeline.fit(X, y)}


def main(argv=None):
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions (default 5, 1 with --quick)",
        quick_help="one repeat",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or (1 if args.quick else 5)
    X, y = load_diabetes(return_X_y=True)
    X, y = np.tile(X, (10, 1)), np.tile(y, 10)
    print_run_header(
        "skgd benchmark: the learning-rate range test vs one fit",
        "benchmarks/bench_range_test.py",
        sys.argv[1:] if argv is None else argv,
        [
            ("data", "diabetes x 10, 4,420 x 10, float64"),
            ("timing", f"{repeats} interleaved repeats after a warm-up, min"),
        ],
    )
    for name, model in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times, _ = time_interleaved(contenders(model, X, y, repeats), repeats)
        test, fit = (min(seconds) for seconds in times.values())
        ratio = test / fit
        print(
            f"   {name:<20} range test {test:7.3f} s, one fit {fit:7.3f} s: "
            f"{ratio:5.1f}x  <= {TARGET:g} {verdict(ratio, TARGET)}"
        )
        plt.close("all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
