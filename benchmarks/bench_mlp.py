"""Benchmark skgd's MLPs against scikit-learn's, in one run, as ratios.

Two tasks, chosen with ``--task``: regression (the default), skgd's
``MLPRegressor`` against scikit-learn's, and classification, skgd's
``MLPClassifier`` against scikit-learn's. Both networks get the same data,
architecture (relu hidden layers; an identity output and the squared error
for regression, a softmax output and the cross-entropy for classification),
batch size and Adam settings (step 1e-3, betas 0.9/0.999, epsilon 1e-8, no
L2 penalty, reshuffling every epoch, ``random_state`` the seed of the data:
0 except in the accuracy check of case 6), and both run every epoch: skgd
with ``tol=None``, scikit-learn with ``tol=0`` and
``n_iter_no_change=10**9``, which its stopping test (more than
``n_iter_no_change`` epochs without improvement) can never reach; each fit
checks ``n_iter_ == epochs``. (With ``alpha=0`` the two libraries' penalties
agree whatever their scaling: scikit-learn divides its ``alpha`` by the
batch size, skgd does not.)

The data, split 80/20 into training and test rows:

* regression: ``y = sin(X @ a) + 0.5 (X @ b)**2 / d + noise``, ``y``
  standardized; the test R² of every fit is shown;
* classification: ``make_classification(n_samples, n_features=32,
  n_informative=20, n_classes=10, random_state=seed)`` (balanced classes,
  rows in random order), the features standardized with the training rows'
  means and standard deviations; the test accuracy of every fit is shown.

Cases and targets (ratios of fit times measured in this run). Regression
(``--task regression``, the default):

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

Classification (``--task classification``), 10 classes:

6. main: n=20,000, d=32, hidden (64, 64), batch 64, 20 epochs, float64.
   skgd <= 0.4 x scikit-learn, and skgd's test accuracy, averaged over the
   seeds 0, 1 and 2 (of the data and of both networks), at most 0.01 below
   scikit-learn's. The timings are those of seed 0; the fits of seeds 1 and
   2 are untimed.
7. small: n=1,000, d=32, otherwise as case 6: skgd <= 0.5 x scikit-learn.

Cases 1, 2 and 5 share one set of interleaved timings. The machine this was
written for has 2 noisy cores, so every timing is repeated (``--repeats``),
the contenders are interleaved (A, B, A, B, ...) rather than run in blocks,
the garbage collector is off inside each timed call, and the minimum is
reported (the median is shown as a noise gauge). Timing targets print
PASS/FAIL but never change the exit status; the score checks of cases 1 and
6 are correctness checks and make a full run exit with status 1 when they
fail.

Usage::

    python benchmarks/bench_mlp.py                  # regression (~1.5 min, 2 cores)
    python benchmarks/bench_mlp.py --task classification  # cases 6, 7 (~30 s)
    python benchmarks/bench_mlp.py --task all       # every case (~2 min)
    python benchmarks/bench_mlp.py --quick          # smoke run on less data
    python benchmarks/bench_mlp.py --blas-threads 1 # single-threaded BLAS
    python benchmarks/bench_mlp.py --profile        # where skgd's time goes
"""

import contextlib
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    load_average,
    print_run_header,
    profile_fit,
    time_interleaved,
    verdict,
)
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from skgd import MLPClassifier, MLPRegressor

LEARNING_RATE = 1e-3  # Adam's step for both libraries
NOISE = 0.1  # standard deviation of the noise added to y
N_CLASSES = 10  # classes of the classification data
N_INFORMATIVE = 20  # informative features of the classification data
TRAIN_FRACTION = 0.8  # the first 80% of the rows train, the rest test
SCORE_TOLERANCE = 0.01  # skgd's test score may be this much below scikit-learn's
ACCURACY_SEEDS = (0, 1, 2)  # seeds whose mean test accuracy is compared
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


def regression_split(n_samples, n_features, seed):
    """The regression data of ``make_data``, split by ``split``."""
    return split(*make_data(n_samples, n_features, seed=seed))


def classification_split(n_samples, n_features, seed, train_fraction=TRAIN_FRACTION):
    """``(X_train, X_test, y_train, y_test)`` of ``N_CLASSES`` balanced classes.

    ``make_classification`` returns its rows in random order, so the first
    ``train_fraction`` of them train and the rest test. Its redundant
    features have standard deviations up to ~8, so ``X`` is standardized with
    the training rows' means and standard deviations.
    """
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=N_INFORMATIVE,
        n_classes=N_CLASSES,
        random_state=seed,
    )
    n_train = int(train_fraction * n_samples)
    X = (X - X[:n_train].mean(axis=0)) / X[:n_train].std(axis=0)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


# -- tasks: the two estimators, the data and the score --------------------------------


@dataclass(frozen=True)
class Task:
    """What the networks of a case learn: data, estimators and test score.

    ``make_split(n_samples, n_features, seed)`` returns float64
    ``(X_train, X_test, y_train, y_test)``; ``score(y_true, y_pred)`` is the
    test score, headed ``score_label`` in the tables.
    """

    name: str
    skgd_class: type
    sklearn_class: type
    make_split: Callable
    score: Callable
    score_name: str
    score_label: str
    data: str  # the data, for the header
    output: str  # the output layer and loss, for the header


REGRESSION = Task(
    "regression",
    MLPRegressor,
    SklearnMLPRegressor,
    regression_split,
    r2_score,
    "R2",
    "R2",
    "X ~ N(0, 1), y = sin(X @ a) + 0.5 (X @ b)^2 / d + "
    f"N(0, {NOISE:g}^2), a ~ N(0, 1/d), b ~ N(0, 1), default_rng(0); "
    f"first {TRAIN_FRACTION:.0%} of rows train, y standardized",
    "identity output, squared error",
)
CLASSIFICATION = Task(
    "classification",
    MLPClassifier,
    SklearnMLPClassifier,
    classification_split,
    accuracy_score,
    "accuracy",
    "acc",
    f"make_classification(n_classes={N_CLASSES}, n_informative={N_INFORMATIVE}, "
    "random_state=seed), seed 0 timed; "
    f"first {TRAIN_FRACTION:.0%} of rows train, X standardized",
    "softmax output, cross-entropy",
)
TASKS = {task.name: task for task in (REGRESSION, CLASSIFICATION)}


def sklearn_mlp(task, hidden, batch_size, epochs, seed=0):
    """scikit-learn's MLP of ``task``, set to run exactly ``epochs`` epochs.

    It stops when the training loss has not improved by ``tol`` for more than
    ``n_iter_no_change`` consecutive epochs; with ``n_iter_no_change=10**9``
    that never happens, and it warns (ConvergenceWarning) after the last one.
    """
    return task.sklearn_class(
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
        random_state=seed,
        early_stopping=False,
    )


def skgd_mlp(task, hidden, batch_size, epochs, dropout=0.0, seed=0):
    """skgd's MLP of ``task`` with the same settings; ``tol=None`` runs all epochs."""
    return task.skgd_class(
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
        random_state=seed,
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
    """A task, a data set, a network and the contenders timed together on it.

    ``score_check`` names the skgd and the scikit-learn contender whose test
    scores, averaged over ``score_seeds`` (the first is the timed one), are
    compared; ``profile`` says whether ``--profile`` profiles the case.
    """

    title: str
    task: Task
    n_samples: int
    n_features: int
    hidden: tuple
    batch_size: int
    epochs: int
    contenders: list = field(default_factory=list)
    max_repeats: int | None = None
    score_check: tuple | None = None  # (skgd name, sklearn name)
    score_seeds: tuple = (0,)
    profile: bool = False


def versus_sklearn(target, label):
    """An skgd float64 fit timed against scikit-learn's, with its target."""
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


def regression_cases(quick):
    """Cases 1 to 5, on less data and fewer epochs when ``quick``."""
    main = [
        *versus_sklearn(0.4, "1"),
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
    return [
        Case(
            "Cases 1, 2, 5 -- main",
            REGRESSION,
            4_000 if quick else 20_000,
            32,
            (64, 64),
            64,
            5 if quick else 20,
            main,
            score_check=("skgd float64", "sklearn float64"),
            profile=True,
        ),
        Case(
            "Case 3 -- small",
            REGRESSION,
            1_000,
            8,
            (64, 64),
            64,
            5 if quick else 20,
            versus_sklearn(0.5, "3"),
        ),
        Case(
            "Case 4 -- wide",
            REGRESSION,
            5_000 if quick else 50_000,
            32,
            (256, 256),
            64,
            2 if quick else 5,
            versus_sklearn(0.8, "4"),
            max_repeats=WIDE_MAX_REPEATS,
            profile=True,
        ),
    ]


def classification_cases(quick):
    """Cases 6 and 7, on less data and fewer epochs when ``quick``."""
    return [
        Case(
            "Case 6 -- classification main",
            CLASSIFICATION,
            4_000 if quick else 20_000,
            32,
            (64, 64),
            64,
            5 if quick else 20,
            versus_sklearn(0.4, "6"),
            score_check=("skgd float64", "sklearn float64"),
            score_seeds=ACCURACY_SEEDS,
            profile=True,
        ),
        Case(
            "Case 7 -- classification small",
            CLASSIFICATION,
            1_000,
            32,
            (64, 64),
            64,
            5 if quick else 20,
            versus_sklearn(0.5, "7"),
            profile=True,
        ),
    ]


CASES = {"regression": regression_cases, "classification": classification_cases}


def make_cases(tasks, quick):
    """The cases of the named ``tasks``, in order."""
    return [case for name in tasks for case in CASES[name](quick)]


def case_data(case, seed=0):
    """Training and test arrays of ``case`` in float64 and in float32.

    In float32, class labels stay as they are; only floats are converted.
    """
    data64 = case.task.make_split(case.n_samples, case.n_features, seed)
    data32 = tuple(a.astype(np.float32) if a.dtype.kind == "f" else a for a in data64)
    return {np.float64: data64, np.float32: data32}


def fit_function(case, contender, data, seed=0):
    """A callable fitting a new estimator of ``contender`` on ``case``'s data.

    ``seed`` is the networks' ``random_state``.
    """
    X_train, _, y_train, _ = data[contender.dtype]
    if contender.library == "sklearn" and contender.dropout:
        raise ValueError("scikit-learn's MLPs have no dropout")
    task, hidden, batch_size, epochs = (
        case.task,
        case.hidden,
        case.batch_size,
        case.epochs,
    )

    def fit():
        if contender.library == "sklearn":
            model = sklearn_mlp(task, hidden, batch_size, epochs, seed)
        else:
            model = skgd_mlp(task, hidden, batch_size, epochs, contender.dropout, seed)
        return fit_all_epochs(model, X_train, y_train, epochs)

    return fit


def test_score(case, contender, model, data):
    """The test score of a model fitted on ``data`` by ``contender``."""
    _, X_test, _, y_test = data[contender.dtype]
    return float(case.task.score(y_test, model.predict(X_test)))


def check_scores(case, contenders, first_scores):
    """Print and judge ``case.score_check``; return whether it passed.

    ``first_scores`` are the test scores of the timed fits (the first seed);
    the other seeds are fitted here, untimed, each on its own data.
    """
    task, seeds = case.task, case.score_seeds
    checked = [contenders[name] for name in case.score_check]
    scores = {c.name: [first_scores[c.name]] for c in checked}
    for seed in seeds[1:]:
        data = case_data(case, seed)
        for c in checked:
            model = fit_function(case, c, data, seed)()
            scores[c.name].append(test_score(case, c, model, data))
    if len(seeds) > 1:
        print(
            f"   test {task.score_name} by seed of the data and the networks "
            f"({', '.join(map(str, seeds))}; seed {seeds[0]} is the timed fit):"
        )
        for name, values in scores.items():
            print(
                f"      {name:<25} "
                + " ".join(f"{v:.4f}" for v in values)
                + f"   mean {np.mean(values):.4f}"
            )
    ours, theirs = case.score_check
    delta = float(np.mean(scores[ours]) - np.mean(scores[theirs]))
    ok = delta >= -SCORE_TOLERANCE
    over = f", mean over {len(seeds)} seeds" if len(seeds) > 1 else ""
    print(
        f"   test {task.score_name} of {ours} minus {theirs}{over}: {delta:+.4f} "
        f"(>= {-SCORE_TOLERANCE:g}) {'PASS' if ok else 'FAIL'}"
    )
    return ok


def run_case(case, repeats):
    """Time the contenders of ``case``, print a table and return its verdicts.

    Returns ``(targets, score_ok)``: a list of ``(label, description, ratio,
    target)`` for the contenders with a target, and whether the score check
    passed (True when the case has none).
    """
    if case.max_repeats is not None:
        repeats = min(repeats, case.max_repeats)
    data = case_data(case, case.score_seeds[0])
    n_train = len(data[np.float64][2])
    n_batches = case.epochs * math.ceil(n_train / case.batch_size)
    fits = {
        c.name: fit_function(case, c, data, case.score_seeds[0])
        for c in case.contenders
    }
    times, models = time_interleaved(fits, repeats)
    best = {name: min(t) for name, t in times.items()}
    scores = {
        c.name: test_score(case, c, models[c.name], data) for c in case.contenders
    }

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
    heading = f"test {case.task.score_label}"
    print(
        f"   {'contender':<28} {'ms/fit':>18} {'us/batch':>9} {heading:>8} "
        f"{'ratio':>7}  {'versus':<16} target"
    )
    targets = []
    for c in case.contenders:
        t = np.array(times[c.name])
        line = (
            f"   {c.name:<28} {1e3 * t.min():8.1f} [{1e3 * np.median(t):7.1f}] "
            f"{1e6 * t.min() / n_batches:9.1f} {scores[c.name]:8.4f}"
        )
        if c.versus is not None:
            ratio = best[c.name] / best[c.versus]
            line += f" {ratio:7.2f}  {c.versus:<16}"
            if c.target is not None:
                line += f" <= {c.target:g} {verdict(ratio, c.target)}"
                targets.append((c.label, f"{c.name} / {c.versus}", ratio, c.target))
        print(line.rstrip())
    score_ok = True
    if case.score_check is not None:
        contenders = {c.name: c for c in case.contenders}
        score_ok = check_scores(case, contenders, scores)
    print()
    return targets, score_ok


# -- profile ----------------------------------------------------------------------


def profile_case(case, repeats=3, top=14):
    """Profile one skgd fit of ``case`` with cProfile (see ``_timing.profile_fit``)."""
    data = case_data(case)
    skgd_fit = next(c for c in case.contenders if c.library == "skgd")
    n_train = len(data[np.float64][2])
    n_batches = case.epochs * math.ceil(n_train / case.batch_size)
    profile_fit(
        f"{case.title} ({skgd_fit.name})",
        fit_function(case, skgd_fit, data),
        n_batches,
        repeats,
        top,
    )


# -- header ---------------------------------------------------------------------


def print_header(args, repeats, tasks):
    """Versions, machine, settings and the command that reproduces the run."""
    chosen = [TASKS[name] for name in tasks]
    estimators = " and ".join(task.skgd_class.__name__ for task in chosen)
    data = [
        ("data", task.data if len(chosen) == 1 else f"{task.name}: {task.data}")
        for task in chosen
    ]
    outputs = "; ".join(f"{task.output} ({task.name})" for task in chosen)
    print_run_header(
        f"skgd benchmark: {estimators} vs scikit-learn's",
        "benchmarks/bench_mlp.py",
        args,
        [
            *data,
            (
                "networks",
                f"relu hidden layers, {outputs}, Adam lr={LEARNING_RATE:g}, betas "
                "0.9/0.999, eps 1e-8, alpha=0, shuffle, random_state=the seed "
                "of the data (0 in the timed fits), all epochs run",
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

    Returns 0, or 1 when the score check of a main case fails in a full run.
    """
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions of each contender (default 5, 3 with "
        f"--quick; at most {WIDE_MAX_REPEATS} in the wide case)",
        quick_help="fast smoke run: fewer samples and epochs",
    )
    parser.add_argument(
        "--task",
        choices=[*TASKS, "all"],
        default="regression",
        help="which estimators to compare: MLPRegressor (cases 1-5, the "
        "default), MLPClassifier (cases 6, 7) or all",
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
        help="after the timings, profile one skgd fit of the main and wide "
        "cases (regression) and of cases 6 and 7 (classification)",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    if args.blas_threads is not None and args.blas_threads < 1:
        parser.error("--blas-threads must be at least 1")
    repeats = args.repeats or (3 if args.quick else 5)
    tasks = list(TASKS) if args.task == "all" else [args.task]

    limit = contextlib.nullcontext()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.blas_threads, user_api="blas")
    with limit:
        print_header(sys.argv[1:] if argv is None else argv, repeats, tasks)
        cases = make_cases(tasks, args.quick)
        targets, score_ok = [], True
        for case in cases:
            case_targets, case_score_ok = run_case(case, repeats)
            targets += case_targets
            score_ok = score_ok and case_score_ok
        print("Summary (timing targets; never change the exit status):")
        for label, what, ratio, target in sorted(targets, key=lambda t: int(t[0])):
            print(
                f"   {label}. {what:<42} {ratio:5.2f} <= {target:<4g} "
                f"{verdict(ratio, target)}"
            )
        print(f"   load average {load_average()} at the end")
        print()
        if args.profile:
            for case in cases:
                if case.profile:
                    profile_case(case)
    if args.quick:
        print("(--quick: too little data for the ratios to mean much)")
    if not score_ok:
        print("Score check FAILED: skgd's test score is too far below scikit-learn's")
        if args.quick:
            print("(not enforced with --quick: too few epochs to converge)")
            return 0
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
