"""Timing and reporting helpers shared by the benchmark scripts.

Holds what ``bench_gd.py`` and ``bench_mlp.py`` have in common: interleaved
timing with the garbage collector off (``time_interleaved``), the PASS/FAIL
of a ratio against its target (``verdict``), a cProfile table of one fit per
batch (``profile_fit``), the command-line options both take
(``benchmark_parser``), and the header lines that describe the run: the
command that reproduces it, library versions, machine (CPU model, usable
cores, load average) and BLAS (``print_run_header`` and its helpers).

Not a benchmark itself; the scripts import it as ``_timing``, which works
from any working directory because Python puts a script's own folder first
on ``sys.path``.
"""

import argparse
import contextlib
import cProfile
import gc
import os
import platform
import pstats
import shlex
import time

import numpy as np
import scipy
import sklearn

import skgd

# -- timing -----------------------------------------------------------------------


def time_interleaved(contenders, repeats):
    """Time each callable ``repeats`` times, interleaved; return times and results.

    ``contenders`` maps a name to a callable without arguments. After one
    untimed warm-up call of each, round ``r`` calls every contender once, in
    order, so that slow phases of a noisy machine hit all of them alike.
    Returns ``(times, results)``: name -> list of seconds, and name -> what
    the last call returned.
    """
    results = {name: fn() for name, fn in contenders.items()}
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                results[name] = fn()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return times, results


def verdict(ratio, target):
    """``"PASS"`` if ``ratio <= target``, else ``"FAIL"``."""
    return "PASS" if ratio <= target else "FAIL"


def profile_fit(title, fit, n_batches, repeats=3, top=14):
    """Profile one call of ``fit`` with cProfile; print the top functions.

    Functions are sorted by their own time (``tottime``), shown per batch
    (``n_batches`` is the number of batches of one fit). numpy's ufuncs are
    not seen by cProfile, so their time counts as the own time of the Python
    function calling them (e.g. the activation functions, the losses'
    ``value_and_grad``, the optimizer's ``step``); ``np.dot`` is mostly
    inside the layers' own time too. cProfile's per-call overhead inflates
    Python-heavy entries: compare with the unprofiled us/batch (the best of
    ``repeats`` fits, timed first).
    """
    times, _ = time_interleaved({"fit": fit}, repeats)
    plain = min(times["fit"])
    profiler = cProfile.Profile()
    profiler.enable()
    fit()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(
        f"Profile of {title}: {1e6 * plain / n_batches:.1f} us/batch unprofiled, "
        f"{1e6 * total / n_batches:.1f} under cProfile"
    )
    print(f"   {'own time':>8} {'calls':>7}  function (per batch)")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, name), (_, ncalls, tottime, _, _) in rows:
        where = f"{os.path.basename(filename)}:{line}({name})" if line else f"{name}"
        print(f"   {1e6 * tottime / n_batches:8.1f} {ncalls / n_batches:7.2f}  {where}")
    print()


# -- command line -----------------------------------------------------------------


@contextlib.contextmanager
def timed_parts(functions, seconds):
    """Within, each of ``functions`` adds its time to ``seconds[part]``.

    ``functions`` holds ``(owner, attribute, part)``: the function
    ``owner.attribute``, replaced for the time of the block by one that
    times it (wall clock); ``seconds`` maps a part to its seconds (a
    ``defaultdict(float)``). A function called within another timed one
    counts to both parts.
    """
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in functions]
    for (owner, name, part), (_, _, function) in zip(functions, saved):
        setattr(owner, name, timed(function, part, seconds))
    try:
        yield
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def timed(function, part, seconds):
    """``function``, adding the time of each call to ``seconds[part]``."""

    def timed_function(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[part] += time.perf_counter() - start

    return timed_function


def benchmark_parser(description, repeats_help, quick_help):
    """An argument parser with the ``--repeats`` and ``--quick`` options.

    ``--repeats`` defaults to None (the script picks its default); check it
    with ``check_repeats`` after parsing.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=None, help=repeats_help)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def check_repeats(parser, args):
    """Exit with a usage error if ``args.repeats`` is given and below 1."""
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")


# -- header -----------------------------------------------------------------------


def blas_description():
    """A short description of the BLAS libraries loaded and their threads."""
    try:
        from threadpoolctl import threadpool_info  # a scikit-learn dependency
    except ImportError:  # pragma: no cover
        return "unknown"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return (
        ", ".join(
            f"{p.get('internal_api')} {p.get('version')} "
            f"({p.get('num_threads')} threads, "
            f"{os.path.basename(os.path.dirname(p.get('filepath', '')))})"
            for p in pools
        )
        or "unknown"
    )


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else ``platform.processor()``."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_average():
    """The 1-minute load average as text, or ``"n/a"``."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):  # not on Unix
        return "n/a"


def usable_cpus():
    """How many CPUs this process may run on (``os.cpu_count()`` off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count()


def print_run_header(title, script, args, details):
    """Print the header of a benchmark run.

    ``title`` first, then the command that reproduces the run (``script``, a
    path such as ``"benchmarks/bench_gd.py"``, and the command-line ``args``),
    the versions, the machine and the BLAS, then the script's own ``details``
    (``(label, text)`` pairs, e.g. the data and the timing), then a blank line.
    """
    command = " ".join(["python", script, *map(shlex.quote, args)])
    lines = [
        ("reproduce", command),
        (
            "versions",
            f"python {platform.python_version()}, numpy {np.__version__}, scipy "
            f"{scipy.__version__}, scikit-learn {sklearn.__version__}, skgd "
            f"{skgd.__version__}",
        ),
        (
            "machine",
            f"{platform.machine()}, {cpu_model()}, os.cpu_count()="
            f"{os.cpu_count()}, {usable_cpus()} usable by this process, load "
            f"average {load_average()} at start",
        ),
        ("BLAS", blas_description()),
        *details,
    ]
    print(title)
    for label, text in lines:
        print(f"  {label:<10}: {text}")
    print()
