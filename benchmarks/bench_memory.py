"""Peak memory of out-of-core training against the size of the data.

Two ways to train on data that need not fit in memory, each on X of 100,
200, 400 and 800 MB (float64, 20 features; MB = 10**6 bytes), with
``GDRegressor(batch_size=256, learning_rate=0.01, epochs=1, tol=None)`` and
``MLPRegressor(hidden_layer_sizes=(32,), batch_size=256, epochs=1,
tol=None)``, both ``random_state=0``:

1. memmap: ``fit`` on ``np.load(path, mmap_mode="r")`` of ``.npy`` files of
   X and y, which this script writes block by block (never whole in memory)
   and removes at the end. skgd reads a chunk of whole mini-batches (about
   256 KiB) at a time. The estimators keep their defaults otherwise
   (``shuffle=True``).
2. dask: dask-ml's ``Incremental(est, shuffle_blocks=False)`` over
   ``da.random.RandomState(0).normal(size=(n, 20), chunks=(100_000, 20))``
   and ``y = X @ w + noise``, with ``epoch_size=n`` (the ``partial_fit``
   calls, one per block, are chunks of one epoch) and ``shuffle=False``;
   once with dask's "synchronous" scheduler and once with its default
   "threads". With threads, dask may compute blocks ahead of the chain of
   ``partial_fit`` calls, so its peak is higher. The measured call includes
   generating the random blocks.

What is measured, each in a fresh child process (this script run with
``--child``), which imports skgd and first fits the same model on 2,000
in-memory rows (and, for dask, the same ``Incremental`` on a small dask
array), so that one-time costs (BLAS buffers, lazy imports, dask's thread
pool) belong to the baseline. The child then trains twice, on new
estimators:

- first pass: the wall time of the training call, and the peak growth of
  the process's resident memory above its value just before the call, read
  from /proc/self/status by a background thread every 1 ms (Python's
  thread switching may stretch the interval; the mean is shown). Two
  figures: RssAnon, the anonymous memory (heap and anonymous maps) that
  training holds, and VmRSS, all resident pages. For a memmap, VmRSS also
  counts the file's pages that the process has mapped, which the OS keeps in
  its page cache and may drop at will (they are reclaimable, not held), so
  it grows with the file; RssAnon is the figure that shows what training
  needs.
- second pass: the peak of Python's and numpy's allocations during the call
  (``tracemalloc``; numpy reports its data buffers to it), above their total
  when it starts. Kept apart from the first pass because tracing slows the
  call and its bookkeeping adds to the resident memory.

The table shows both peaks as a fraction of X's size; the summary the growth
of each peak per row of data between the smallest and the largest size
(X takes 160 bytes a row). Training that holds O(1) rows grows by about
zero bytes a row; a growth of 8 bytes a row is one float64 or int64 value
per row, e.g. a copy of y or a permutation of the row indices. Sampling can
miss a short-lived peak (then RssAnon reads below tracemalloc), and the
threads scheduler's peak varies from run to run with the machine's load.

Usage::

    python benchmarks/bench_memory.py           # full run (~2.5 min, 2 cores)
    python benchmarks/bench_memory.py --quick   # 25 and 50 MB
    python benchmarks/bench_memory.py --sizes 50 500 --tmpdir /scratch
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc

import numpy as np
from _timing import print_run_header

MB = 10**6  # bytes
N_FEATURES = 20
BLOCK_ROWS = 100_000  # rows of a dask block, and of a block of the memmap file
NOISE = 0.1  # standard deviation of the noise added to y
WARMUP_ROWS = 2_000
SAMPLE_INTERVAL = 1e-3  # seconds between two reads of /proc/self/status
SIZES = (100, 200, 400, 800)  # MB of X
QUICK_SIZES = (25, 50)
ESTIMATORS = {
    "GD": ("GDRegressor", dict(batch_size=256, learning_rate=0.01)),
    "MLP": ("MLPRegressor", dict(hidden_layer_sizes=(32,), batch_size=256)),
}
METHODS = ("memmap", "dask-sync", "dask-threads")


def n_rows(size_mb):
    """Rows of a float64 X with ``N_FEATURES`` columns taking ``size_mb`` MB."""
    return round(size_mb * MB / (8 * N_FEATURES))


def true_coef():
    """The coefficients of ``y = X @ w + noise``."""
    return np.linspace(-1.0, 1.0, N_FEATURES)


# -- the child: one measurement ---------------------------------------------------


class MemorySampler(threading.Thread):
    """Reads RssAnon and VmRSS (bytes) every ``interval`` s; keeps the peaks."""

    FIELDS = {"anon": rb"RssAnon:\s+(\d+) kB", "rss": rb"VmRSS:\s+(\d+) kB"}

    def __init__(self, interval=SAMPLE_INTERVAL):
        super().__init__(daemon=True)
        self.interval, self.samples = interval, 0
        self._fd = os.open("/proc/self/status", os.O_RDONLY)
        self._done = threading.Event()
        self.start_values = self.read()
        self.peaks = dict(self.start_values)

    def read(self):
        """The current ``{"anon": bytes, "rss": bytes}`` of this process."""
        status = os.pread(self._fd, 1 << 16, 0)
        return {
            key: 1024 * int(re.search(pattern, status).group(1))
            for key, pattern in self.FIELDS.items()
        }

    def sample(self):
        """Read once and update the peaks."""
        for key, value in self.read().items():
            self.peaks[key] = max(self.peaks[key], value)
        self.samples += 1

    def run(self):
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self):
        """Stop sampling (after a last sample); return the peak growths."""
        self._done.set()
        self.join()
        self.sample()
        os.close(self._fd)
        return {key: self.peaks[key] - self.start_values[key] for key in self.peaks}


def make_estimator(name, epoch_size=None):
    """A new skgd estimator ``name``; streamed in order if ``epoch_size``."""
    import skgd

    class_name, params = ESTIMATORS[name]
    params = dict(params, epochs=1, tol=None, random_state=0)
    if epoch_size is not None:
        params.update(epoch_size=epoch_size, shuffle=False)
    return getattr(skgd, class_name)(**params)


def memmap_data(folder):
    """``(X, y)`` mapped read-only from the files of ``write_memmap``."""
    return tuple(
        np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r")
        for name in ("X", "y")
    )


def dask_data(rows):
    """A lazy dask ``(X, y)``: ``y = X @ w + noise``, blocks of ``BLOCK_ROWS``."""
    import dask.array as da

    rs = da.random.RandomState(0)
    X = rs.normal(size=(rows, N_FEATURES), chunks=(BLOCK_ROWS, N_FEATURES))
    y = X @ true_coef() + NOISE * rs.normal(size=rows, chunks=BLOCK_ROWS)
    return X, y


def training_call(spec):
    """A callable that trains a new estimator of ``spec`` once.

    Builds the data (a mapping of the files, or a lazy dask graph) and warms
    up: one fit on ``WARMUP_ROWS`` in-memory rows and, for dask, one
    ``Incremental`` fit on a small dask array with the same scheduler.
    """
    method, name, rows = spec["method"], spec["estimator"], spec["rows"]
    if method == "memmap":
        X, y = memmap_data(spec["folder"])
    else:
        X, y = dask_data(rows)
    X_small = np.random.default_rng(1).normal(size=(WARMUP_ROWS, N_FEATURES))
    y_small = X_small @ true_coef()
    make_estimator(name).fit(X_small, y_small)
    if method == "memmap":
        return lambda: make_estimator(name).fit(X, y)

    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental

    scheduler = method.removeprefix("dask-").replace("sync", "synchronous")

    def fit(X, y, rows):
        model = Incremental(
            make_estimator(name, epoch_size=rows), shuffle_blocks=False, random_state=0
        )
        with dask.config.set(scheduler=scheduler):
            return model.fit(X, y)

    chunks = WARMUP_ROWS // 4
    fit(da.from_array(X_small, chunks), da.from_array(y_small, chunks), WARMUP_ROWS)
    return lambda: fit(X, y, rows)


def measure(spec):
    """Time, resident-memory and traced peaks of one training call of ``spec``."""
    train = training_call(spec)
    sampler = MemorySampler()
    sampler.start()
    start = time.perf_counter()
    train()
    seconds = time.perf_counter() - start
    growth = sampler.stop()

    tracemalloc.start()
    try:
        train()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {
        "seconds": seconds,
        "anon": growth["anon"],
        "rss": growth["rss"],
        "traced": peak,
        "interval_ms": 1e3 * seconds / max(sampler.samples, 1),
    }


# -- the parent: data files, children and the table -------------------------------


def write_memmap(folder, rows, seed=0):
    """Write ``X.npy`` and ``y.npy`` (``y = X @ w + noise``) block by block."""
    rng = np.random.default_rng(seed)

    def new_file(name, shape):
        path = os.path.join(folder, f"{name}.npy")
        return np.lib.format.open_memmap(path, "w+", np.float64, shape)

    X, y = new_file("X", (rows, N_FEATURES)), new_file("y", (rows,))
    for start in range(0, rows, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, rows)
        block = rng.normal(size=(stop - start, N_FEATURES))
        X[start:stop] = block
        y[start:stop] = block @ true_coef() + NOISE * rng.normal(size=stop - start)
    X.flush()
    y.flush()


def run_child(spec):
    """Measure ``spec`` in a fresh Python process; return its result dict."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{result.stderr[-3000:]}")
    return dict(spec, **json.loads(result.stdout.splitlines()[-1]))


def run_all(sizes, tmpdir):
    """Every measurement: each method, estimator and size, one child each."""
    results = []
    for size in sizes:
        folder = tempfile.mkdtemp(prefix="bench_memory_", dir=tmpdir)
        try:
            write_memmap(folder, n_rows(size))
            for method in METHODS:
                for name in ESTIMATORS:
                    spec = dict(method=method, estimator=name, size_mb=size)
                    spec.update(rows=n_rows(size), folder=folder)
                    print(f"  measuring {method} {name} {size} MB", file=sys.stderr)
                    results.append(run_child(spec))
        finally:
            shutil.rmtree(folder)
    return results


def table_order(result):
    """Sort key of a result: method, estimator, size."""
    return METHODS.index(result["method"]), result["estimator"], result["size_mb"]


def print_table(results):
    """One row per measurement, grouped by method and estimator."""
    print(
        f"{'method':<13} {'est':<4} {'data MB':>7} {'traced MB':>9} "
        f"{'anon MB':>8} {'RSS MB':>8} {'seconds':>7} {'traced/data':>11} "
        f"{'anon/data':>9}"
    )
    previous = None
    for r in sorted(results, key=table_order):
        if previous is not None and table_order(r)[:2] != previous:
            print()
        previous = table_order(r)[:2]
        data = r["size_mb"] * MB
        print(
            f"{r['method']:<13} {r['estimator']:<4} {r['size_mb']:>7} "
            f"{r['traced'] / MB:9.1f} {r['anon'] / MB:8.1f} {r['rss'] / MB:8.1f} "
            f"{r['seconds']:7.2f} {r['traced'] / data:11.3f} "
            f"{r['anon'] / data:9.3f}"
        )
    intervals = [r["interval_ms"] for r in results]
    print(
        f"\n(RSS sampled every {min(intervals):.1f} to {max(intervals):.1f} ms on "
        "average; memmap RSS includes the file's cached pages.)"
    )


def print_growth(results):
    """Peak growth per row between the smallest and largest size, in bytes."""
    sizes = sorted({r["size_mb"] for r in results})
    if len(sizes) < 2:
        return
    print("\nGrowth per row of data, smallest to largest size (bytes/row; X: 160):")
    print(f"  {'method':<13} {'est':<4} {'traced':>7} {'anon':>7} {'RSS':>7}")
    by_key = {(r["method"], r["estimator"], r["size_mb"]): r for r in results}
    for method in METHODS:
        for name in ESTIMATORS:
            small, large = (by_key[method, name, s] for s in (sizes[0], sizes[-1]))
            rows = large["rows"] - small["rows"]
            slopes = [(large[k] - small[k]) / rows for k in ("traced", "anon", "rss")]
            print(f"  {method:<13} {name:<4} " + " ".join(f"{s:7.1f}" for s in slopes))


def print_header(args, sizes):
    """Versions, machine, settings and the command that reproduces the run."""
    print_run_header(
        "skgd benchmark: peak memory of out-of-core training",
        "benchmarks/bench_memory.py",
        args,
        [
            (
                "data",
                f"X ~ N(0, 1) of {N_FEATURES} float64 features, y = X @ w + "
                f"N(0, {NOISE:g}^2); X of {', '.join(map(str, sizes))} MB "
                f"({', '.join(f'{n_rows(s):,}' for s in sizes)} rows)",
            ),
            (
                "estimators",
                "GD: GDRegressor(batch_size=256, learning_rate=0.01), MLP: "
                "MLPRegressor(hidden_layer_sizes=(32,), batch_size=256); "
                "epochs=1, tol=None, random_state=0",
            ),
            (
                "methods",
                "memmap: fit on np.load(mmap_mode='r') of X and y; dask-*: "
                "Incremental over blocks of 100,000 rows, epoch_size=n, "
                "shuffle=False, scheduler synchronous / threads",
            ),
            (
                "measures",
                "a fresh child per row; traced: tracemalloc peak; anon / RSS: "
                "peak growth of RssAnon / VmRSS, sampled every 1 ms; seconds: "
                "the call without tracemalloc",
            ),
        ],
    )


def main(argv=None):
    """Parse the command line; measure in children, or be one (``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="X of 25 and 50 MB")
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="sizes of X in MB (default 100 to 800)"
    )
    parser.add_argument(
        "--tmpdir",
        default=None,
        help="folder for the memmap files (default: the system's temporary one)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(json.loads(args.child))))
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    if min(sizes) < 1:
        parser.error("--sizes must be at least 1 MB")
    print_header(sys.argv[1:] if argv is None else argv, sizes)
    results = run_all(sizes, args.tmpdir)
    print_table(results)
    print_growth(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
