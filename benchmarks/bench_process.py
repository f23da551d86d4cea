"""Benchmark what a fresh process pays, and a small fit under load, as ratios.

Three figures, each measured in this run:

1. A fresh process that imports skgd and fits a small ``GDRegressor``
   (``n=200, d=5``, 20 epochs), with the compiled kernels already in numba's
   disk cache, against a fresh process that imports scikit-learn and fits
   ``SGDRegressor`` on the same data. Target: ratio <= 2.5.
2. The same skgd process with an empty kernel cache (a new
   ``NUMBA_CACHE_DIR``): the first fit compiles the kernels. Target: <= 20 s.
3. A small ``MLPRegressor`` fit (``n=2,000, d=20``, one hidden layer of 32,
   batch 32, 10 epochs) while two other processes keep both cores busy,
   against the same fit on a quiet machine. Target: ratio <= 3.5.

Each figure is the minimum over ``--repeats`` runs (the median in brackets).
Timing targets print PASS/FAIL but never change the exit status.

Usage::

    python benchmarks/bench_process.py
    python benchmarks/bench_process.py --quick   # fewer repeats
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from _timing import benchmark_parser, check_repeats, print_run_header, verdict

WARM_TARGET, COLD_TARGET, LOAD_TARGET = 2.5, 20.0, 3.5

FIT_SKGD = """
import numpy as np
from skgd import GDRegressor
X = np.random.default_rng(0).standard_normal((200, 5)); y = X.sum(1)
GDRegressor(epochs=20, tol=None).fit(X, y)
"""
FIT_SKLEARN = """
import numpy as np
from sklearn.linear_model import SGDRegressor
X = np.random.default_rng(0).standard_normal((200, 5)); y = X.sum(1)
SGDRegressor(max_iter=20, tol=None).fit(X, y)
"""


def time_process(code, env=None):
    """Seconds a fresh ``python -c code`` takes, start to exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def fresh_process_times(repeats):
    """``{name: [seconds]}`` of the three fresh-process contenders."""
    time_process(FIT_SKGD)  # fills the kernel cache if it is empty
    times = {"sklearn": [], "skgd, warm cache": [], "skgd, empty cache": []}
    for _ in range(repeats):
        times["sklearn"].append(time_process(FIT_SKLEARN))
        times["skgd, warm cache"].append(time_process(FIT_SKGD))
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            times["skgd, empty cache"].append(time_process(FIT_SKGD, env))
    return times


def busy(stop):
    """Keep a core busy until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for _ in range(10_000):
            x += 1


def small_mlp_fit():
    from skgd import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2_000, 20))
    y = X @ rng.standard_normal(20)
    start = time.perf_counter()
    MLPRegressor((32,), batch_size=32, epochs=10, tol=None, random_state=0).fit(X, y)
    return time.perf_counter() - start


def under_load_times(repeats):
    """``(quiet seconds, loaded seconds)`` of the small MLP fit."""
    small_mlp_fit()  # warm-up
    quiet = [small_mlp_fit() for _ in range(repeats)]
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=busy, args=(stop,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        loaded = [small_mlp_fit() for _ in range(repeats)]
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    return quiet, loaded


def line(name, t, ratio=None, target=None, unit="s"):
    text = f"   {name:<28} {min(t):8.3f} [{np.median(t):7.3f}] {unit}"
    if ratio is not None:
        text += f" {ratio:7.2f}  <= {target:g} {verdict(ratio, target)}"
    return text


def main(argv=None):
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="runs of each contender (default 5, 2 with --quick)",
        quick_help="fewer repeats",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or (2 if args.quick else 5)
    print_run_header(
        "skgd benchmark: fresh processes and a small fit under load",
        "benchmarks/bench_process.py",
        sys.argv[1:] if argv is None else argv,
        [("timing", f"wall clock, {repeats} runs, min reported (median)")],
    )
    times = fresh_process_times(repeats)
    base = min(times["sklearn"])
    print("1-2. A fresh process: import, then a small fit (seconds, ratio)")
    print(line("sklearn SGDRegressor", times["sklearn"]))
    warm = times["skgd, warm cache"]
    print(line("skgd GDRegressor, warm", warm, min(warm) / base, WARM_TARGET))
    cold = times["skgd, empty cache"]
    text = line("skgd GDRegressor, empty", cold)
    print(f"{text}          <= {COLD_TARGET:g} s {verdict(min(cold), COLD_TARGET)}")
    print()
    quiet, loaded = under_load_times(repeats)
    print("3. A small MLPRegressor fit, quiet and with both cores kept busy")
    print(line("quiet", quiet))
    ratio = min(loaded) / min(quiet)
    print(line("two busy processes", loaded, ratio, LOAD_TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
