"""Benchmark skgd.MLPRegressor against scikit-learn's, in one run, as ratios.

Both networks get the same data, architecture (relu hidden layers, identity
output), batch size and Adam settings (step 1e-3, betas 0.9/0.999, epsilon
1e-8, no L2 penalty, reshuffling every epoch, ``random_state=0``), and both
run every epoch: skgd with ``tol=None``, scikit-learn with ``tol=0`` and
``n_iter_no_change=10**9``, which its stopping test (more than
``n_iter_no_change`` epochs without improvement) can never reach; each fit
checks ``n_iter_ == epochs``. The data are a nonlinear regression problem,
``y = sin(X @ a) + 0.5 (X @ b)**2 / d + noise``, split 80/20 into training
and test rows; the test R² of every fit is shown.

Cases and targets (ratios of fit times measured in this run):

1. main: n=20,000, d=32, hidden (64, 64), batch 64, 20 epochs, float64.
   skgd <= 0.4 x scikit-learn, and skgd's test R² at most 0.01 below
   scikit-learn's.
2. the main case in float32: skgd float32 <= 0.7 x skgd float64.
3. small: n=1,000, d=8, hidden (64, 64), batch 64, 20 epochs:
   skgd <= 0.5 x scikit-learn.
4. wide: n=50,000, d=32, hidden (256, 256), batch 64, 5 epochs:
   skgd <= 0.8 x scikit-learn.
5. the main case with ``dropout=0.2`` on the hidden layers:
   skgd with dropout <= 1.4 x skgd without.

Cases 1, 2 and 5 share one set of interleaved timings. The machine this was
written for has 2 noisy cores, so every timing is repeated (``--repeats``),
the contenders are interleaved (A, B, A, B, ...) rather than run in blocks,
the garbage collector is off inside each timed call, and the minimum is
reported (the median is shown as a noise gauge). Timing targets print
PASS/FAIL but never change the exit status; the R² check of case 1 is a
correctness check and makes a full run exit with status 1 when it fails.

Usage::

    python benchmarks/bench_mlp.py                  # full run (~1.5 min, 2 cores)
    python benchmarks/bench_mlp.py --quick          # smoke run on less data
    python benchmarks/bench_mlp.py --blas-threads 1 # single-threaded BLAS
    python benchmarks/bench_mlp.py --profile        # where skgd's time goes
"""

import contextlib
import cProfile
import math
import os
import pstats
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    load_average,
    print_run_header,
    time_interleaved,
    verdict,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor as SklearnMLP

from skgd import MLPRegressor

LEARNING_RATE = 1e-3  # Adam's step for both libraries
NOISE = 0.1  # standard deviation of the noise added to y
TRAIN_FRACTION = 0.8  # the first 80% of the rows train, the rest test
R2_TOLERANCE = 0.01  # skgd's test R² may be this much below scikit-learn's
WIDE_MAX_REPEATS = 3  # the wide case takes ~10 s per round of both fits


# -- data -----------------------------------------------------------------------


def make_data(n_samples, n_features, noise=NOISE, seed=0):
    """Standard-normal ``X`` and ``y = sin(X @ a) + 0.5 (X @ b)**2 / d + noise``.

    ``a`` and ``b`` are standard normal, ``a`` scaled by ``1 / sqrt(d)`` so that
    ``X @ a`` has unit variance (unscaled, the sine of a variable with
    variance ``d`` would be noise to any network). Everything is drawn from
    ``numpy.random.default_rng(seed)``; float64.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    a = rng.standard_normal(n_features) / math.sqrt(n_features)
    b = rng.standard_normal(n_features)
    y = np.sin(X @ a) + 0.5 * (X @ b) ** 2 / n_features
    y += noise * rng.standard_normal(n_samples)
    return X, y


def split(X, y, train_fraction=TRAIN_FRACTION):
    """``(X_train, X_test, y_train, y_test)``, ``y`` standardized.

    The rows are independent draws, so the first ``train_fraction`` of them
    train and the rest test. ``y`` is centred and scaled with the training
    mean and standard deviation (both libraries start from output weights of
    order one); ``X`` is standard normal already.
    """
    n_train = int(train_fraction * len(y))
    mean, scale = y[:n_train].mean(), y[:n_train].std()
    y = (y - mean) / scale
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


# -- the two estimators -----------------------------------------------------------


def sklearn_mlp(hidden, batch_size, epochs):
    """scikit-learn's MLPRegressor, set to run exactly ``epochs`` epochs.

    It stops when the training loss has not improved by ``tol`` for more than
    ``n_iter_no_change`` consecutive epochs; with ``n_iter_no_change=10**9``
    that never happens, and it warns (ConvergenceWarning) after the last one.
    """
    return SklearnMLP(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        learning_rate_init=LEARNING_RATE,
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        alpha=0.0,
        shuffle=True,
        random_state=0,
        early_stopping=False,
    )


def skgd_mlp(hidden, batch_size, epochs, dropout=0.0):
    """skgd's MLPRegressor with the same settings; ``tol=None`` runs all epochs."""
    return MLPRegressor(
        hidden_layer_sizes=hidden,
        activation="relu",
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        batch_size=batch_size,
        epochs=epochs,
        tol=None,
        alpha=0.0,
        dropout=dropout,
        shuffle=True,
        random_state=0,
    )


def fit_all_epochs(model, X, y, epochs):
    """Fit ``model`` (ConvergenceWarning silenced); check it ran ``epochs``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    if model.n_iter_ != epochs:
        raise RuntimeError(
            f"{type(model).__module__}.{type(model).__name__} ran "
            f"{model.n_iter_} epochs instead of {epochs}"
        )
    return model


# -- cases ------------------------------------------------------------------------


@dataclass
class Contender:
    """One fit in a case: which library, dtype and dropout, and its target.

    ``versus`` names the contender whose time is the denominator of this
    one's ratio, and ``target`` the largest ratio that passes (None: shown
    for reference only).
    """

    name: str
    library: str  # "sklearn" or "skgd"
    dtype: type = np.float64
    dropout: float = 0.0
    versus: str | None = None
    target: float | None = None
    label: str = ""  # the number of the target in the docstring, e.g. "2"


@dataclass
class Case:
    """A data set, a network and the contenders timed together on it."""

    title: str
    n_samples: int
    n_features: int
    hidden: tuple
    batch_size: int
    epochs: int
    contenders: list = field(default_factory=list)
    max_repeats: int | None = None
    r2_check: tuple | None = None  # (skgd name, sklearn name) for the R² test


def make_cases(quick):
    """The benchmark cases, on less data and fewer epochs when ``quick``."""
    main = [
        Contender("sklearn float64", "sklearn"),
        Contender(
            "skgd float64", "skgd", versus="sklearn float64", target=0.4, label="1"
        ),
        Contender(
            "skgd float32",
            "skgd",
            dtype=np.float32,
            versus="skgd float64",
            target=0.7,
            label="2",
        ),
        Contender(
            "skgd float64 dropout=0.2",
            "skgd",
            dropout=0.2,
            versus="skgd float64",
            target=1.4,
            label="5",
        ),
        Contender(
            "sklearn float32 (reference)",
            "sklearn",
            dtype=np.float32,
            versus="sklearn float64",
        ),
    ]

    def versus_sklearn(target, label):
        return [
            Contender("sklearn float64", "sklearn"),
            Contender(
                "skgd float64",
                "skgd",
                versus="sklearn float64",
                target=target,
                label=label,
            ),
        ]

    return [
        Case(
            "Cases 1, 2, 5 -- main",
            4_000 if quick else 20_000,
            32,
            (64, 64),
            64,
            5 if quick else 20,
            main,
            r2_check=("skgd float64", "sklearn float64"),
        ),
        Case(
            "Case 3 -- small",
            1_000,
            8,
            (64, 64),
            64,
            5 if quick else 20,
            versus_sklearn(0.5, "3"),
        ),
        Case(
            "Case 4 -- wide",
            5_000 if quick else 50_000,
            32,
            (256, 256),
            64,
            2 if quick else 5,
            versus_sklearn(0.8, "4"),
            max_repeats=WIDE_MAX_REPEATS,
        ),
    ]


def case_data(case):
    """Training and test arrays of ``case`` in float64 and in float32."""
    X, y = make_data(case.n_samples, case.n_features)
    data64 = split(X, y)
    data32 = tuple(a.astype(np.float32) for a in data64)
    return {np.float64: data64, np.float32: data32}


def fit_function(case, contender, data):
    """A callable fitting a new estimator of ``contender`` on ``case``'s data."""
    X_train, _, y_train, _ = data[contender.dtype]
    if contender.library == "sklearn" and contender.dropout:
        raise ValueError("scikit-learn's MLPRegressor has no dropout")

    def fit():
        if contender.library == "sklearn":
            model = sklearn_mlp(case.hidden, case.batch_size, case.epochs)
        else:
            model = skgd_mlp(
                case.hidden, case.batch_size, case.epochs, contender.dropout
            )
        return fit_all_epochs(model, X_train, y_train, case.epochs)

    return fit


def run_case(case, repeats):
    """Time the contenders of ``case``, print a table and return its verdicts.

    Returns ``(targets, r2_ok)``: a list of ``(label, description, ratio,
    target)`` for the contenders with a target, and whether the R² check
    passed (True when the case has none).
    """
    if case.max_repeats is not None:
        repeats = min(repeats, case.max_repeats)
    data = case_data(case)
    n_train = len(data[np.float64][2])
    n_batches = case.epochs * math.ceil(n_train / case.batch_size)
    contenders = {c.name: fit_function(case, c, data) for c in case.contenders}
    times, models = time_interleaved(contenders, repeats)
    best = {name: min(t) for name, t in times.items()}
    r2 = {}
    for c in case.contenders:
        _, X_test, _, y_test = data[c.dtype]
        r2[c.name] = r2_score(y_test, models[c.name].predict(X_test))

    print(
        f"{case.title}: n_samples={case.n_samples} ({n_train} train, "
        f"{case.n_samples - n_train} test), n_features={case.n_features}, "
        f"hidden={case.hidden}, batch_size={case.batch_size}, "
        f"epochs={case.epochs}"
    )
    print(
        f"   {n_batches} batches per fit ({n_batches // case.epochs} per epoch); "
        f"{repeats} interleaved repeats; us/batch = fit time / batches"
    )
    print(
        f"   {'contender':<28} {'ms/fit':>18} {'us/batch':>9} {'test R2':>8} "
        f"{'ratio':>7}  {'versus':<16} target"
    )
    targets = []
    for c in case.contenders:
        t = np.array(times[c.name])
        line = (
            f"   {c.name:<28} {1e3 * t.min():8.1f} [{1e3 * np.median(t):7.1f}] "
            f"{1e6 * t.min() / n_batches:9.1f} {r2[c.name]:8.4f}"
        )
        if c.versus is not None:
            ratio = best[c.name] / best[c.versus]
            line += f" {ratio:7.2f}  {c.versus:<16}"
            if c.target is not None:
                line += f" <= {c.target:g} {verdict(ratio, c.target)}"
                targets.append((c.label, f"{c.name} / {c.versus}", ratio, c.target))
        print(line.rstrip())
    r2_ok = True
    if case.r2_check is not None:
        ours, theirs = case.r2_check
        delta = r2[ours] - r2[theirs]
        r2_ok = delta >= -R2_TOLERANCE
        print(
            f"   test R2 of {ours} minus {theirs}: {delta:+.4f} "
            f"(>= {-R2_TOLERANCE:g}) {'PASS' if r2_ok else 'FAIL'}"
        )
    print()
    return targets, r2_ok


# -- profile ----------------------------------------------------------------------


def profile_case(case, repeats=3, top=14):
    """Profile one skgd fit of ``case`` with cProfile; print the top functions.

    Functions are sorted by their own time (``tottime``), shown per batch.
    numpy's ufuncs are not seen by cProfile, so their time counts as the own
    time of the Python function calling them (e.g. the activation functions,
    the optimizer's ``step``); ``np.dot`` is mostly inside the layers' own
    time too. cProfile's per-call overhead inflates Python-heavy entries:
    compare with the unprofiled us/batch (the best of ``repeats`` fits).
    """
    data = case_data(case)
    skgd_fit = next(c for c in case.contenders if c.library == "skgd")
    fit = fit_function(case, skgd_fit, data)
    n_train = len(data[np.float64][2])
    n_batches = case.epochs * math.ceil(n_train / case.batch_size)
    times, _ = time_interleaved({"fit": fit}, repeats)
    plain = min(times["fit"])
    profiler = cProfile.Profile()
    profiler.enable()
    fit()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(
        f"Profile of {case.title} ({skgd_fit.name}): {1e6 * plain / n_batches:.1f} "
        f"us/batch unprofiled, {1e6 * total / n_batches:.1f} under cProfile"
    )
    print(f"   {'own time':>8} {'calls':>7}  function (per batch)")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, name), (_, ncalls, tottime, _, _) in rows:
        where = f"{os.path.basename(filename)}:{line}({name})" if line else f"{name}"
        print(f"   {1e6 * tottime / n_batches:8.1f} {ncalls / n_batches:7.2f}  {where}")
    print()


# -- header ---------------------------------------------------------------------


def print_header(args, repeats):
    """Versions, machine, settings and the command that reproduces the run."""
    print_run_header(
        "skgd benchmark: MLPRegressor vs scikit-learn's MLPRegressor",
        "benchmarks/bench_mlp.py",
        args,
        [
            (
                "data",
                "X ~ N(0, 1), y = sin(X @ a) + 0.5 (X @ b)^2 / d + "
                f"N(0, {NOISE:g}^2), a ~ N(0, 1/d), b ~ N(0, 1), default_rng(0); "
                f"first {TRAIN_FRACTION:.0%} of rows train, y standardized",
            ),
            (
                "networks",
                f"relu hidden layers, Adam lr={LEARNING_RATE:g}, betas "
                "0.9/0.999, eps 1e-8, alpha=0, shuffle, random_state=0, all "
                "epochs run",
            ),
            (
                "timing",
                f"time.perf_counter, {repeats} interleaved repeats (at most "
                f"{WIDE_MAX_REPEATS} in the wide case) after a warm-up, min "
                "reported (median in brackets), gc off while timed",
            ),
        ],
    )


# -- main -------------------------------------------------------------------------


def main(argv=None):
    """Parse the command line and run the cases.

    Returns 0, or 1 when the R² check of the main case fails in a full run.
    """
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions of each contender (default 5, 3 with "
        f"--quick; at most {WIDE_MAX_REPEATS} in the wide case)",
        quick_help="fast smoke run: fewer samples and epochs",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS to this many threads (threadpoolctl), for both libraries",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timings, profile one skgd fit of the main and wide cases",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    if args.blas_threads is not None and args.blas_threads < 1:
        parser.error("--blas-threads must be at least 1")
    repeats = args.repeats or (3 if args.quick else 5)

    limit = contextlib.nullcontext()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.blas_threads, user_api="blas")
    with limit:
        print_header(sys.argv[1:] if argv is None else argv, repeats)
        cases = make_cases(args.quick)
        targets, r2_ok = [], True
        for case in cases:
            case_targets, case_r2_ok = run_case(case, repeats)
            targets += case_targets
            r2_ok = r2_ok and case_r2_ok
        print("Summary (timing targets; never change the exit status):")
        for label, what, ratio, target in sorted(targets):
            print(
                f"   {label}. {what:<42} {ratio:5.2f} <= {target:<4g} "
                f"{verdict(ratio, target)}"
            )
        print(f"   load average {load_average()} at the end")
        print()
        if args.profile:
            for case in (cases[0], cases[2]):
                profile_case(case)
    if args.quick:
        print("(--quick: too little data for the ratios to mean much)")
    if not r2_ok:
        print("R2 check FAILED: skgd's test R2 is too far below scikit-learn's")
        if args.quick:
            print("(not enforced with --quick: too few epochs to converge)")
            return 0
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
