"""Benchmark skgd's GDRegressor and GDClassifier against scikit-learn, as ratios.

Two figures, each a ratio of skgd's time to scikit-learn's on the same data
in the same process:

1. Mini-batch epochs. The cost of one epoch (fit time / epochs) of
   ``GDRegressor`` at ``batch_size=1``, ``32`` and ``256``, against one
   epoch of ``SGDRegressor``, both unpenalized with the same constant step
   and the same plain update (``average=False``, scikit-learn's default;
   skgd's default averages the iterates of mini-batches). A linear model's
   epoch is one call of a compiled kernel (``skgd.engine.kernels``).
   Targets: ratio <= 1.0 at batch 1, <= 0.6 at batch 32 and <= 0.35 at
   batch 256.
   The same for ``GDClassifier`` (the default log-loss) against
   ``SGDClassifier(loss="log_loss")`` on a two-class problem of the same
   size (the same ``X``, labels ``y > 0``), timed in the same interleaved
   rounds. Target: at each batch size, the classifier's ratio at most the
   regressor's ratio of the same run (classifying costs skgd no more,
   relative to scikit-learn, than regressing).
   The same at batch 1 on a sparse CSR input (n_samples rows, 10,000
   features, 1% nonzero, ``y`` linear in them plus noise), where a step
   touches only the row's nonzeros. Target: ratio <= 1.0.
2. Full-batch gradient descent to the Ridge solution. The time of a
   ``GDRegressor(batch_size=None)`` fit that runs just enough epochs to match
   ``Ridge(solver="cholesky")`` within a relative error of 1e-6, against the
   Ridge fit itself. Target: ratio <= 5.

The machine this was written for has 2 noisy cores, so every timing is
repeated (``--repeats``), the contenders are interleaved (A, B, A, B, ...)
rather than run in blocks, the garbage collector is off inside each timed
call, and the minimum is reported (the median is shown as a noise gauge).
Timing targets print PASS/FAIL but never change the exit status.

Usage::

    python benchmarks/bench_gd.py            # full run (~15 s, 2 cores)
    python benchmarks/bench_gd.py --quick    # smoke run on fewer samples
    python benchmarks/bench_gd.py --profile  # where skgd's mini-batch time goes,
                                             # and what shuffling costs it
"""

import math
import sys

import numpy as np
import scipy.sparse as sp
from _timing import (
    benchmark_parser,
    check_repeats,
    print_run_header,
    profile_fit,
    time_interleaved,
    verdict,
)
from sklearn.linear_model import Ridge, SGDClassifier, SGDRegressor

from skgd import GDClassifier, GDRegressor

EPOCHS = 20  # epochs of both fits in the mini-batch benchmark
ETA0 = 1e-3  # the constant step of both fits in the mini-batch benchmark
BATCH_TARGETS = {1: 1.0, 32: 0.6, 256: 0.35}  # batch size -> max GD/SGD ratio
SPARSE_TARGET = 1.0  # max GD/SGD epoch ratio at batch 1 on sparse CSR input
SPARSE_FEATURES, SPARSE_DENSITY = 10_000, 0.01
ALPHA = 1e-3  # L2 penalty in skgd's units: Ridge(alpha=n_samples * ALPHA)
RTOL = 1e-6  # relative error to the Ridge solution that counts as converged
RIDGE_TARGET = 5.0  # max GD/Ridge time ratio


# -- data and header ------------------------------------------------------------


def make_data(n_samples, n_features, noise=1.0, seed=0):
    """Standard-normal ``X`` and ``y = X @ w + noise``, w standard normal.

    Everything is drawn from ``numpy.random.default_rng(seed)``; float64.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features)
    y = X @ w + noise * rng.standard_normal(n_samples)
    return X, y


def print_header(args, n_samples, n_features, repeats):
    """Versions, machine, settings and the command that reproduces the run."""
    print_run_header(
        "skgd benchmark: GDRegressor and GDClassifier vs scikit-learn",
        "benchmarks/bench_gd.py",
        args,
        [
            (
                "data",
                f"n_samples={n_samples}, n_features={n_features}, float64, "
                "X ~ N(0, 1), y = X @ w + N(0, 1), default_rng(0); for the "
                "classifiers, 2 classes: y > 0",
            ),
            (
                "timing",
                f"time.perf_counter, {repeats} interleaved repeats after a "
                "warm-up, min reported (median in brackets), gc off while timed",
            ),
        ],
    )


# -- 1. mini-batch epochs versus SGDRegressor --------------------------------------


def minibatch_contenders(sgd_class, gd_class, X, y, batch_sizes, **sgd_params):
    """Fits of ``sgd_class`` and of ``gd_class`` at ``batch_sizes``, by name.

    Both fit ``EPOCHS`` epochs without penalty, with the constant step
    ``ETA0``, shuffling, no early stopping; ``sgd_params`` go to
    ``sgd_class`` (e.g. its loss). scikit-learn's fit comes first.
    """
    settings = ", ".join(f"{k}={v!r}" for k, v in sgd_params.items())

    def sgd():
        sgd_class(
            **sgd_params,
            penalty=None,
            alpha=0,
            learning_rate="constant",
            eta0=ETA0,
            max_iter=EPOCHS,
            tol=None,
            shuffle=True,
            random_state=0,
        ).fit(X, y)

    contenders = {sgd_class.__name__ + (f"({settings})" if settings else ""): sgd}
    for b in batch_sizes:
        name = f"{gd_class.__name__}(batch_size={b}, average=False)"
        contenders[name] = gd_fit(gd_class, X, y, b)
    return contenders


def gd_fit(gd_class, X, y, batch_size, **params):
    """A fit of ``gd_class`` as the mini-batch benchmark makes it: ``EPOCHS``
    epochs at the constant step ``ETA0``, unpenalized, without averaging
    (scikit-learn's update: its ``average=False`` too); ``params`` added."""
    return lambda: gd_class(
        learning_rate=ETA0, batch_size=batch_size, epochs=EPOCHS, tol=None,
        alpha=0.0, average=False, random_state=0, **params,
    ).fit(X, y)  # fmt: skip


def minibatch_families(X, y, y_class, batch_sizes):
    """``{task: minibatch_contenders(...)}``, regression then classification."""
    return {
        "regression": minibatch_contenders(
            SGDRegressor, GDRegressor, X, y, batch_sizes
        ),
        "classification": minibatch_contenders(
            SGDClassifier, GDClassifier, X, y_class, batch_sizes, loss="log_loss"
        ),
    }


def profile_minibatch(X, y, y_class, batch_sizes=tuple(BATCH_TARGETS)):
    """Profile one fit of skgd's regressor and classifier at ``batch_sizes``,
    then time the regressor at the largest batch with and without shuffling."""
    for family in minibatch_families(X, y, y_class, batch_sizes).values():
        skgd_fits = list(family.items())[1:]  # scikit-learn's comes first
        for b, (name, fit) in zip(batch_sizes, skgd_fits):
            profile_fit(name, fit, EPOCHS * math.ceil(X.shape[0] / b))
    print_shuffle_cost(X, y, max(batch_sizes))


def print_shuffle_cost(X, y, batch_size, repeats=7):
    """What shuffling costs a fit: the same fit with ``shuffle=False``.

    The difference is the shuffle (numpy's, compiled: skgd.engine.shuffle)
    and the kernel's reads of the rows in shuffled order, which the
    processor's prefetcher cannot foresee (the kernel asks for them a few
    rows ahead: skgd.engine.kernels.prefetch_dense).
    """
    contenders = {
        "in order": gd_fit(GDRegressor, X, y, batch_size, shuffle=False),
        "shuffled": gd_fit(GDRegressor, X, y, batch_size, shuffle=True),
    }
    times, _ = time_interleaved(contenders, repeats)
    best = {name: min(seconds) for name, seconds in times.items()}
    per_epoch = (best["shuffled"] - best["in order"]) / EPOCHS
    print(
        f"GDRegressor(batch_size={batch_size}), {EPOCHS} epochs: shuffled "
        f"{1e3 * best['shuffled']:.2f} ms, in order {1e3 * best['in order']:.2f} ms"
        f" (shuffle=False): shuffling costs {1e3 * per_epoch:.3f} ms an epoch"
    )


def bench_minibatch(X, y, y_class, repeats, batch_sizes=tuple(BATCH_TARGETS)):
    """Time one epoch of scikit-learn's SGD estimators and of skgd's at ``batch_sizes``.

    The regressors fit ``(X, y)``, the classifiers ``(X, y_class)``, all in
    the same interleaved rounds; the epoch cost is fit time / ``EPOCHS``
    (fixed per-fit costs, such as input validation, included). Prints a
    table and returns ``{(task, batch_size): ratio to scikit-learn}``.
    """
    families = minibatch_families(X, y, y_class, batch_sizes)
    contenders = {k: v for family in families.values() for k, v in family.items()}
    times, _ = time_interleaved(contenders, repeats)
    per_epoch = {name: np.array(t) / EPOCHS for name, t in times.items()}

    print(
        f"1. One epoch, no penalty, constant step {ETA0:g}, {EPOCHS} epochs per "
        "fit (epoch = fit time / epochs)"
    )
    print(f"   {'contender':<44} {'ms/epoch':>18} {'ratio':>7}  target")
    ratios = {}
    for task, family in families.items():
        base_name = next(iter(family))
        base = per_epoch[base_name].min()
        for b, name in zip([None, *batch_sizes], family):
            t = per_epoch[name]
            ratio = t.min() / base
            line = (
                f"   {name:<44} {1e3 * t.min():8.3f} [{1e3 * np.median(t):7.3f}] "
                f"{ratio:7.2f}"
            )
            if b is not None:
                ratios[task, b] = ratio
                if task == "regression":
                    target, what = BATCH_TARGETS[b], f"{BATCH_TARGETS[b]:g}"
                else:  # the regressor's ratio at this batch size, printed above
                    target = ratios["regression", b]
                    what = f"{target:.2f} (GDRegressor's)"
                line += f"  <= {what} {verdict(ratio, target)}"
            print(line)
    n = X.shape[0]
    print(
        f"   (per epoch the SGD estimators make {n} updates, skgd's "
        + ", ".join(f"{math.ceil(n / b)} at batch {b}" for b in batch_sizes)
        + ")"
    )
    print()
    return ratios


def make_sparse_data(n_samples, seed=0):
    """CSR ``X`` (``SPARSE_DENSITY`` nonzero) and ``y = X @ w + N(0, 1)``."""
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_samples, SPARSE_FEATURES, density=SPARSE_DENSITY, format="csr", rng=rng
    )
    y = X @ rng.standard_normal(SPARSE_FEATURES) + rng.standard_normal(n_samples)
    return X, y


def profile_sparse(n_samples):
    """Profile one fit of skgd's regressor at batch 1 on the sparse CSR data."""
    X, y = make_sparse_data(n_samples)
    ((name, fit),) = list(
        minibatch_contenders(SGDRegressor, GDRegressor, X, y, [1]).items()
    )[1:]
    profile_fit(f"{name} on sparse CSR", fit, EPOCHS * X.shape[0])


def bench_sparse(n_samples, repeats):
    """One epoch at batch 1 on sparse CSR input, against SGDRegressor's."""
    X, y = make_sparse_data(n_samples)
    contenders = minibatch_contenders(SGDRegressor, GDRegressor, X, y, [1])
    times, _ = time_interleaved(contenders, repeats)
    (base_name, base), (name, gd) = times.items()
    ratio = min(gd) / min(base)
    print(
        f"   sparse CSR, {n_samples} x {SPARSE_FEATURES}, {SPARSE_DENSITY:.0%} "
        "nonzero, batch 1 (ms/epoch, ratio):"
    )
    for label, t in ((base_name, base), (name, gd)):
        t = np.array(t) / EPOCHS
        line = f"   {label:<44} {1e3 * t.min():8.3f} [{1e3 * np.median(t):7.3f}]"
        if label == name:
            line += f" {ratio:7.2f}  <= {SPARSE_TARGET:g} "
            line += verdict(ratio, SPARSE_TARGET)
        print(line)
    print()
    return ratio


# -- 2. full-batch GD versus Ridge ------------------------------------------------


def hessian_extremes(X, alpha):
    """Largest and smallest eigenvalue ``(L, mu)`` of the full-batch Hessian.

    The objective of ``GDRegressor(batch_size=None)`` is
    ``J(w, b) = ||X w + b - y||**2 / (2 n) + alpha / 2 ||w||**2``, a quadratic
    whose Hessian with respect to ``(w, b)`` is the constant matrix
    ``[[X.T X / n + alpha I, X.T 1 / n], [1.T X / n, 1]]``. Gradient descent
    with step ``1 / L`` contracts the error by at least ``1 - mu / L`` per
    epoch; ``kappa = L / mu`` is the condition number.
    """
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    H = Xb.T @ Xb / n
    H[np.arange(d), np.arange(d)] += alpha
    eigenvalues = np.linalg.eigvalsh(H)
    return float(eigenvalues[-1]), float(eigenvalues[0])


def relative_errors(model, reference):
    """Relative errors of ``(coef_, intercept_)`` against the reference model.

    Returns ``(elementwise, normwise)``: ``max_i |t_i - r_i| / |r_i|`` over the
    stacked coefficients and intercept (the convergence criterion, strict even
    for small entries such as the intercept, whose true value is 0 here), and
    ``max_i |t_i - r_i| / max_i |r_i|`` for information.
    """
    t = np.append(model.coef_, model.intercept_)
    r = np.append(reference.coef_, reference.intercept_)
    diff = np.abs(t - r)
    return float(np.max(diff / np.abs(r))), float(diff.max() / np.abs(r).max())


def min_epochs(params, X, y, reference, rtol, max_epochs):
    """Smallest ``epochs`` for which ``GDRegressor(**params)`` is within ``rtol``.

    Untimed. Full-batch descent is deterministic, so ``partial_fit`` after
    ``fit(epochs=1)`` follows the same trajectory one epoch per call (it keeps
    the weights and the optimizer's velocity); the error is checked after each
    epoch, which finds the smallest K even where momentum makes the error
    non-monotone. K is then checked with fresh fits: ``fit(epochs=K)`` must be
    within ``rtol`` and ``fit(epochs=K - 1)`` not (K is moved if, unexpectedly,
    they disagree with the scan). Returns ``(K, elementwise, normwise error)``.
    """

    def fresh(k):
        model = GDRegressor(**params, epochs=k).fit(X, y)
        return relative_errors(model, reference)

    model = GDRegressor(**params, epochs=1).fit(X, y)
    k = 1
    while relative_errors(model, reference)[0] > rtol and k < max_epochs:
        model.partial_fit(X, y)
        k += 1
    while (errors := fresh(k))[0] > rtol:
        if k >= max_epochs:
            raise RuntimeError(f"{params}: not within {rtol} in {max_epochs} epochs")
        k += 1
    while k > 1 and (previous := fresh(k - 1))[0] <= rtol:
        k, errors = k - 1, previous
    return (k, *errors)


def bench_full_batch(X, y, repeats, alpha=ALPHA, rtol=RTOL, max_epochs=100_000):
    """Time full-batch GD to within ``rtol`` of Ridge against Ridge's fit.

    Prints a table and returns ``{configuration: ratio to Ridge}``.
    """
    n = X.shape[0]

    def ridge():
        return Ridge(alpha=n * alpha, solver="cholesky").fit(X, y)

    reference = ridge()

    # The step is derived from the data, outside the timed region: lr = 1 / L
    # with L the largest eigenvalue of the (constant) Hessian of the full-batch
    # objective, the classic safe step of gradient descent on an L-smooth
    # function. Nesterov's momentum takes the classic setting for a mu-strongly
    # convex quadratic, (sqrt(kappa) - 1) / (sqrt(kappa) + 1), kappa = L / mu.
    # Forming that Hessian costs about as much as a Ridge fit (it is X.T X), so
    # its time is shown as a separate line, and skgd's own learning_rate="auto"
    # (which needs only the row norms) is shown for reference.
    L, mu = hessian_extremes(X, alpha)
    kappa = L / mu
    momentum = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    common = {"batch_size": None, "alpha": alpha, "tol": None, "optimizer": "sgd"}
    configs = {
        "GD, lr=1/L": {**common, "learning_rate": 1 / L},
        "GD+Nesterov, lr=1/L": {
            **common,
            "learning_rate": 1 / L,
            "momentum": momentum,
            "nesterov": True,
        },
        "GD, lr='auto' (reference)": {**common, "learning_rate": "auto"},
    }
    epochs, errors = {}, {}
    for name, params in configs.items():
        k, elementwise, normwise = min_epochs(params, X, y, reference, rtol, max_epochs)
        epochs[name], errors[name] = k, (elementwise, normwise)
    auto_lr = GDRegressor(**configs["GD, lr='auto' (reference)"], epochs=1)
    auto_lr = auto_lr.fit(X, y).learning_rate_

    def gd(name):
        return lambda: GDRegressor(**configs[name], epochs=epochs[name]).fit(X, y)

    contenders = {"Ridge(solver='cholesky')": ridge}
    contenders.update({name: gd(name) for name in configs})
    contenders["(lr derivation: Hessian eigs)"] = lambda: hessian_extremes(X, alpha)
    times, _ = time_interleaved(contenders, repeats)
    base = min(times["Ridge(solver='cholesky')"])

    print(
        f"2. Full-batch GD to within {rtol:g} of Ridge: GDRegressor(batch_size=None,"
        f" alpha={alpha:g}) vs Ridge(alpha=n_samples*{alpha:g}={n * alpha:g}, "
        "solver='cholesky')"
    )
    print(
        f"   Hessian of J = ||Xw + b - y||^2/(2n) + alpha/2 ||w||^2 w.r.t. (w, b): "
        f"L = {L:.6g}, mu = {mu:.6g}, kappa = {kappa:.6g}"
    )
    print(
        f"   step lr = 1/L = {1 / L:.6g}; Nesterov momentum = "
        f"(sqrt(kappa)-1)/(sqrt(kappa)+1) = {momentum:.6g}; skgd's "
        f"lr='auto' = {auto_lr:.6g}"
    )
    print(
        "   K = fewest epochs with max_i |theta_i - ridge_i| / |ridge_i| <= "
        f"{rtol:g} over theta = (coef_, intercept_), found untimed"
    )
    print(
        f"   {'contender':<30} {'K':>5} {'rel.err':>9} {'norm.err':>9} "
        f"{'ms':>18} {'ratio':>7}  target"
    )
    ratios = {}
    for name, t in times.items():
        t = np.array(t)
        ratio = t.min() / base
        k, err, nerr = (
            (f"{epochs[name]:5d}", *(f"{e:9.2e}" for e in errors[name]))
            if name in configs
            else ("", "", "")
        )
        line = (
            f"   {name:<30} {k:>5} {err:>9} {nerr:>9} {1e3 * t.min():8.3f} "
            f"[{1e3 * np.median(t):7.3f}] {ratio:7.2f}"
        )
        if name in configs and "reference" not in name:
            ratios[name] = ratio
            line += f"  <= {RIDGE_TARGET:g} {verdict(ratio, RIDGE_TARGET)}"
        print(line)
    print()
    return ratios


# -- main -------------------------------------------------------------------------


def main(argv=None):
    """Parse the command line and run both benchmarks; always returns 0."""
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed repetitions of each contender (default 7, 3 with --quick)",
        quick_help="fast smoke run: 2,000 samples instead of 20,000",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timings, profile one fit of GDRegressor and of "
        "GDClassifier at each mini-batch size, and of GDRegressor on the "
        "sparse data",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    repeats = args.repeats or (3 if args.quick else 7)
    n_samples, n_features = (2_000 if args.quick else 20_000), 32
    X, y = make_data(n_samples, n_features)
    y_class = (y > 0).astype(np.intp)

    print_header(sys.argv[1:] if argv is None else argv, n_samples, n_features, repeats)
    bench_minibatch(X, y, y_class, repeats)
    bench_sparse(n_samples, repeats)
    bench_full_batch(X, y, repeats)
    if args.profile:
        profile_minibatch(X, y, y_class)
        profile_sparse(n_samples)
    if args.quick:
        print("(--quick: too few samples for the ratios to mean much)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
