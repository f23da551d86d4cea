"""Benchmark a grid search over skgd.MLPRegressor: serial, loky and dask.

One ``GridSearchCV`` of ``MLPRegressor`` (48 candidates: learning_rate x
batch_size x dropout x alpha = 3 x 2 x 4 x 2, 5 folds, so 240 fits and a
refit of the best candidate) runs three ways in the same process:

* serial: ``n_jobs=1``;
* loky: ``n_jobs=2``, joblib's default backend (two worker processes);
* dask: joblib's dask backend (``parallel_config(backend="dask")``) on a
  ``distributed.LocalCluster`` of two single-threaded worker processes,
  what ``skgd study --scheduler local:2`` starts.

The wall time of each search is reported with its ratio to the serial one.
Starting the cluster and the first task of each pool of worker processes
(loky's and dask's) are timed apart, before the searches, and not counted in
them. Each network has ``random_state=0`` and runs every epoch
(``tol=None``), so the three searches must agree to the last bit: the
script checks that the fold scores of every candidate (computed in the
workers) and the weights of the three ``best_estimator_`` are bitwise equal,
and exits with status 1 when they are not. The BLAS threads of this process
and of the workers are shown: the serial search runs with this process's
BLAS threads, the workers with one each.

The contenders are interleaved (serial, loky, dask, serial, ...) when
``--repeats`` is above 1, and the minimum is reported (the median in
brackets). The machine this was written for has 2 noisy cores.

Usage::

    python benchmarks/bench_search.py            # full run (~1.5 min, 2 cores)
    python benchmarks/bench_search.py --quick    # smoke run: 4 candidates
"""

import itertools
import sys
import time
from contextlib import ExitStack

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    load_average,
    print_run_header,
)
from joblib import Parallel, delayed, parallel_config
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV, KFold

from skgd import MLPRegressor

N_SAMPLES, N_FEATURES, NOISE = 4_000, 20, 10.0
HIDDEN, EPOCHS, FOLDS, WORKERS = (32,), 40, 5, 2
GRID = {
    "learning_rate": [1e-3, 3e-3, 1e-2],
    "batch_size": [32, 64],
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "alpha": [0.0, 1e-3],
}
QUICK = {
    "n_samples": 1_000,
    "epochs": 10,
    "folds": 3,
    "grid": {"learning_rate": [1e-3, 1e-2], "batch_size": [32], "dropout": [0, 0.2]},
}


def settings(quick):
    """Data size, epochs, folds and grid of a full or a ``--quick`` run."""
    full = {"n_samples": N_SAMPLES, "epochs": EPOCHS, "folds": FOLDS, "grid": GRID}
    return QUICK if quick else full


def make_data(n_samples):
    """``make_regression`` data with ``y`` standardized."""
    X, y = make_regression(
        n_samples=n_samples, n_features=N_FEATURES, noise=NOISE, random_state=0
    )
    return X, (y - y.mean()) / y.std()


def make_search(config, n_jobs):
    """The grid search, with ``n_jobs`` fits at once."""
    estimator = MLPRegressor(HIDDEN, epochs=config["epochs"], tol=None, random_state=0)
    cv = KFold(config["folds"], shuffle=True, random_state=0)
    return GridSearchCV(estimator, config["grid"], cv=cv, n_jobs=n_jobs)


# -- worker processes -------------------------------------------------------------


def blas_threads():
    """``(pid, threads of each BLAS library)`` of the calling process.

    It imports skgd first, which is what the first task of a worker pays for.
    """
    import os

    from threadpoolctl import threadpool_info

    import skgd  # noqa: F401

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return os.getpid(), tuple(p["num_threads"] for p in pools)


def first_tasks(n_jobs):
    """Run the first tasks of a pool of workers.

    Returns ``(seconds, processes, threads)``: the time taken, how many
    processes ran the tasks and the BLAS threads they have.
    """
    start = time.perf_counter()
    tasks = (delayed(blas_threads)() for _ in range(4 * n_jobs))
    pids, threads = zip(*Parallel(n_jobs=n_jobs)(tasks))
    return time.perf_counter() - start, len(set(pids)), sorted(set(threads))


def start_cluster(stack, workers):
    """Start a LocalCluster and its client in ``stack``; return the seconds.

    The settings of ``skgd study --scheduler local:N``: single-threaded worker
    processes on the loopback, no dashboard.
    """
    import distributed

    from skgd.study.cluster import _local_cluster

    start = time.perf_counter()
    cluster = stack.enter_context(_local_cluster(distributed, workers))
    stack.enter_context(distributed.Client(cluster))
    return time.perf_counter() - start


# -- the searches -----------------------------------------------------------------


def contenders(config, X, y, workers):
    """Name -> a callable running the search that way."""

    def serial():
        return make_search(config, 1).fit(X, y)

    def loky():
        return make_search(config, workers).fit(X, y)

    def dask():
        with parallel_config(backend="dask"):
            return make_search(config, -1).fit(X, y)

    return {
        "serial (n_jobs=1)": serial,
        f"loky (n_jobs={workers})": loky,
        f"dask ({workers} workers x 1 thread)": dask,
    }


def time_searches(runs, repeats):
    """Run each search ``repeats`` times, interleaved; return times and searches."""
    times = {name: [] for name in runs}
    searches = {}
    for _, (name, run) in itertools.product(range(repeats), runs.items()):
        start = time.perf_counter()
        searches[name] = run()
        times[name].append(time.perf_counter() - start)
    return times, searches


def weights(search):
    """The weight matrices and intercepts of the best estimator."""
    model = search.best_estimator_
    return [*model.coefs_, *model.intercepts_]


def bitwise_equal(search, reference):
    """``(scores equal, weights equal)``, bit for bit, to ``reference``."""
    keys = [k for k in reference.cv_results_ if k.endswith("_test_score")]
    keys = [k for k in keys if not k.startswith("rank")]
    scores = all(
        np.array_equal(search.cv_results_[k], reference.cv_results_[k]) for k in keys
    )
    pairs = zip(weights(search), weights(reference), strict=True)
    same = all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in pairs)
    return scores and search.best_params_ == reference.best_params_, same


# -- report -----------------------------------------------------------------------


def print_header(args, config, repeats):
    """Versions, machine, settings and the command that reproduces the run."""
    import dask
    import distributed
    import joblib

    grid = config["grid"]
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    n_fits = n_candidates * config["folds"]
    print_run_header(
        "skgd benchmark: GridSearchCV over MLPRegressor -- serial, loky, dask",
        "benchmarks/bench_search.py",
        args,
        [
            (
                "parallel",
                f"joblib {joblib.__version__}, dask {dask.__version__}, "
                f"distributed {distributed.__version__}",
            ),
            (
                "data",
                f"make_regression(n_samples={config['n_samples']}, n_features="
                f"{N_FEATURES}, noise={NOISE:g}, random_state=0), y standardized",
            ),
            (
                "search",
                f"GridSearchCV(MLPRegressor({HIDDEN}, epochs={config['epochs']}, "
                f"tol=None, random_state=0), KFold({config['folds']}, shuffle)): "
                f"{n_candidates} candidates x {config['folds']} folds = {n_fits} "
                "fits, then the refit of the best",
            ),
            ("grid", " x ".join(f"{k} {v}" for k, v in grid.items())),
            (
                "timing",
                f"time.perf_counter around fit, {repeats} interleaved repeat(s), "
                "min reported (median in brackets)",
            ),
        ],
    )


def print_start_up(cluster_seconds, first, this_process):
    """The start-up costs left out of the search times, and the BLAS threads."""
    print("Start-up (not in the search times):")
    print(f"   dask LocalCluster and client     {cluster_seconds:6.2f} s")
    for name, (seconds, processes, threads) in first.items():
        print(
            f"   first tasks on {name:<17} {seconds:6.2f} s  (ran in {processes} "
            f"processes; BLAS threads per library {threads})"
        )
    print(
        "   BLAS threads per library in this process, which runs the serial "
        f"search: {this_process}"
    )
    print()


def print_times(times, searches, reference):
    """The table of wall times, ratios and bitwise checks; return if all equal."""
    serial = min(times[reference])
    print(
        f"   {'contender':<32} {'wall s':>16} {'ratio':>6} {'speed-up':>8}  "
        "bitwise = serial (scores, weights)"
    )
    ok = True
    for name, t in times.items():
        best, median = min(t), np.median(t)
        line = f"   {name:<32} {best:7.2f} [{median:6.2f}] {best / serial:6.2f} "
        line += f"{serial / best:8.2f}"
        if name != reference:
            scores, same = bitwise_equal(searches[name], searches[reference])
            ok = ok and scores and same
            line += f"  {'yes' if scores else 'NO'}, {'yes' if same else 'NO'}"
        print(line)
    search = searches[reference]
    print(
        f"   best: {search.best_params_}, mean validation R2 {search.best_score_:.4f}"
    )
    print()
    return ok


# -- main -------------------------------------------------------------------------


def main(argv=None):
    """Parse the command line and run the searches.

    Returns 0, or 1 when a parallel search differs from the serial one.
    """
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed runs of each search, interleaved (default 1)",
        quick_help="fast smoke run: 4 candidates x 3 folds on less data",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or 1
    config = settings(args.quick)
    X, y = make_data(config["n_samples"])
    print_header(sys.argv[1:] if argv is None else argv, config, repeats)
    with ExitStack() as stack:
        cluster_seconds = start_cluster(stack, WORKERS)
        first = {f"{WORKERS} loky workers": first_tasks(WORKERS)}
        with parallel_config(backend="dask"):
            first[f"{WORKERS} dask workers"] = first_tasks(WORKERS)
        print_start_up(cluster_seconds, first, blas_threads()[1])
        runs = contenders(config, X, y, WORKERS)
        times, searches = time_searches(runs, repeats)
        ok = print_times(times, searches, next(iter(runs)))
    print(f"   load average {load_average()} at the end")
    if args.quick:
        print("(--quick: too little work for the ratios to mean much)")
    if not ok:
        print("FAILED: a parallel search differs from the serial one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
