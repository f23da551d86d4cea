"""Benchmark skgd's stacked grid search against scikit-learn's GridSearchCV.

``skgd.model_selection.GridSearchCV`` takes scikit-learn's arguments and
gives its ``cv_results_``, but trains all the candidates of one fold
together, "stacked": one matrix product for all first layers and one
optimizer update over a candidates x parameters buffer. The workload:

* ``Pipeline([("scale", StandardScaler()), ("mlp", MLPRegressor((32,),
  batch_size=32, epochs=100, tol=None, random_state=0))])`` (skgd's
  ``MLPRegressor``: relu, Adam, the squared error) on
  ``sklearn.datasets.load_diabetes()`` (442 rows, 10 features, ``y``
  unscaled);
* the grid ``mlp__learning_rate`` {1e-3, 3e-3, 1e-2, 3e-2} x ``mlp__alpha``
  {0, 1e-4, 1e-3, 1e-2} x ``mlp__dropout`` {0, 0.1, 0.2}: 48 candidates,
  ``cv=KFold(5, shuffle=True, random_state=0)``, the default scoring (R²),
  ``refit=True``; so 240 fits of 100 epochs x 12 steps, and a refit.

Measured in one run (search times are wall times of ``fit``, the refit and
the scoring included):

1. scikit-learn's ``GridSearchCV(pipe, grid, cv=cv, n_jobs=1)`` on the skgd
   pipeline: the reference.
2. ``skgd.model_selection.GridSearchCV``, same arguments, ``n_jobs=1``:
   speed-up 1. / 2., target >= 5.
3. the same with ``n_jobs=2``: speed-up 2. / 3., target > 1 (faster than 2.).
4. scikit-learn's ``GridSearchCV`` over scikit-learn's own ``MLPRegressor``
   in the same pipeline (``hidden_layer_sizes=(32,)``, ``batch_size=32``,
   ``max_iter=100``, Adam, ``tol=0``, ``n_iter_no_change=10**9``, so every
   epoch runs; ConvergenceWarnings silenced) over ``learning_rate_init``
   {1e-3, ..., 3e-2} x ``alpha`` {0, 1e-4, 1e-3, 1e-2} x 32 (scikit-learn
   divides its penalty by the batch size, skgd does not): 16 candidates, same
   cv. Compared per candidate-fit: (4. / (16 x 5)) / (2. / (48 x 5)),
   target >= 15.
5. agreement: every ``split{i}_test_score`` of 2. and of 3. must equal 1.'s
   to 1e-9 (absolute; NaN exactly where 1. has NaN), with the same
   ``params`` in the same order; the number of bitwise-equal entries and
   whether ``best_params_`` agree are shown. A disagreement makes the
   script exit with status 1 (the timing targets print PASS/FAIL but never
   change the exit status).
6. efficiency curve, on one fold (the first KFold split, the features
   scaled with its training rows' means and deviations, ``refit=False``):
   for K = 1, 4, 16, 48, 192 candidates (learning rates from
   ``geomspace(1e-3, 3e-2)`` x alphas 0 and ``geomspace(1e-4, 1e-2)``, no
   dropout) and 25 epochs (a quarter of the workload's, to keep K=192
   short), the time of skgd's stacked training
   (``skgd.model_selection.train_stacked``, what the search runs before
   scikit-learn's fits take its results) divided by K x steps (steps =
   epochs x ceil(n_train / 32) = 25 x 12 = 300), next to (a) a hand-written
   plain-numpy stacked training of the same K candidates (the forward pass
   as one (32, 10) @ (10, K*32) product, relu, the output layers with
   ``np.matmul``, the squared-error gradient, the backward pass and one Adam
   update over a flat buffer of K x 385 parameters, per-candidate step
   sizes and penalties) and (b) one plain ``skgd.MLPRegressor`` fit on the
   same fold, per step. The numpy column is what stacking could cost here;
   the single fit is what a candidate-step costs unstacked. The numpy
   training runs with one BLAS thread, as skgd's stacked training does (at
   K=192 the first-layer products are large enough for OpenBLAS to use its
   threads, which on a busy 2-core machine made them ~30x slower).

Before the timings, one untimed fit of each pipeline runs and the pool of
loky workers for ``n_jobs=2`` starts (its time and the BLAS threads of the
workers are shown, not counted). The searches run ``--repeats`` times
interleaved (1, 2, 3, 4, 1, 2, ...), then the curve's three contenders,
interleaved per K; no further warm-up; the minimum is reported (the median
in brackets). The machine this was written for has 2 noisy cores.

Usage::

    python benchmarks/bench_stacked.py            # full run (~3-4 min, 2 cores)
    python benchmarks/bench_stacked.py --quick    # smoke run (~10 s), 8 candidates
    python benchmarks/bench_stacked.py --repeats 5   # more interleaved repeats
    python benchmarks/bench_stacked.py --blas-threads 1  # single-threaded BLAS
"""

import contextlib
import gc
import itertools
import math
import sys
import time
import warnings

import numpy as np
from _timing import (
    benchmark_parser,
    check_repeats,
    load_average,
    print_run_header,
)
from joblib import Parallel, delayed
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skgd import MLPRegressor
from skgd.model_selection import train_stacked

HIDDEN, BATCH_SIZE, EPOCHS, FOLDS, WORKERS = 32, 32, 100, 5, 2
LEARNING_RATES = [1e-3, 3e-3, 1e-2, 3e-2]
ALPHAS = [0.0, 1e-4, 1e-3, 1e-2]
DROPOUTS = [0.0, 0.1, 0.2]
CURVE_KS = (1, 4, 16, 48, 192)
CURVE_EPOCHS = 25  # a quarter of the workload's: 300 steps per candidate
# K -> (learning rates, alphas) of the curve's grid; their product is K.
CURVE_SHAPES = {1: (1, 1), 4: (2, 2), 16: (4, 4), 48: (8, 6), 192: (16, 12)}
QUICK = {
    "epochs": 10,
    "learning_rates": [1e-3, 1e-2],
    "alphas": [0.0, 1e-3],
    "dropouts": [0.0, 0.2],
    "curve_ks": (1, 4, 16, 48),
    "curve_epochs": 5,
}
TOLERANCE = 1e-9  # absolute, on the fold R² of 2. and 3. against 1.
TARGETS = {"2": 5.0, "3": 1.0, "4": 15.0}  # speed-ups, each must be reached
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}  # both libraries' defaults


def settings(quick):
    """Epochs, the skgd grid values and the curve's K and epochs of a run."""
    full = {
        "epochs": EPOCHS,
        "learning_rates": LEARNING_RATES,
        "alphas": ALPHAS,
        "dropouts": DROPOUTS,
        "curve_ks": CURVE_KS,
        "curve_epochs": CURVE_EPOCHS,
    }
    return QUICK if quick else full


# -- the estimators and grids -----------------------------------------------------


def skgd_mlp(epochs, **params):
    """skgd's network of the workload; ``tol=None`` runs every epoch."""
    return MLPRegressor(
        hidden_layer_sizes=(HIDDEN,),
        batch_size=BATCH_SIZE,
        epochs=epochs,
        tol=None,
        random_state=0,
        **params,
    )


def sklearn_mlp(epochs):
    """scikit-learn's network with the same settings, every epoch run.

    It stops after more than ``n_iter_no_change`` epochs without an
    improvement of ``tol``; with ``n_iter_no_change=10**9`` that never
    happens, and it warns (ConvergenceWarning) after the last epoch.
    """
    return SklearnMLPRegressor(
        hidden_layer_sizes=(HIDDEN,),
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        solver="adam",
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=0,
    )


def pipeline(mlp):
    """``StandardScaler`` then ``mlp``."""
    return Pipeline([("scale", StandardScaler()), ("mlp", mlp)])


def skgd_grid(config):
    """The 48 (8 with ``--quick``) candidates of the skgd pipeline."""
    return {
        "mlp__learning_rate": config["learning_rates"],
        "mlp__alpha": config["alphas"],
        "mlp__dropout": config["dropouts"],
    }


def sklearn_grid(config):
    """The same learning rates and penalties for scikit-learn's network.

    scikit-learn's ``MLPRegressor`` divides its ``alpha`` by the batch size,
    so its ``alpha`` is skgd's times the batch size; it has no dropout.
    """
    return {
        "mlp__learning_rate_init": config["learning_rates"],
        "mlp__alpha": [BATCH_SIZE * a for a in config["alphas"]],
    }


def n_candidates(grid):
    """The number of candidates of a grid (a dict of lists)."""
    return math.prod(len(v) for v in grid.values())


# -- the searches -----------------------------------------------------------------


def searches(config, X, y, stacked_search):
    """Number -> ``(name, callable running the search, its grid)``.

    ``stacked_search`` is ``skgd.model_selection.GridSearchCV``.
    """
    cv = KFold(FOLDS, shuffle=True, random_state=0)
    epochs, grid = config["epochs"], skgd_grid(config)
    theirs = sklearn_grid(config)

    def sklearn_on_skgd():
        return GridSearchCV(pipeline(skgd_mlp(epochs)), grid, cv=cv, n_jobs=1).fit(X, y)

    def stacked(n_jobs):
        def run():
            search = stacked_search(
                pipeline(skgd_mlp(epochs)), grid, cv=cv, n_jobs=n_jobs
            )
            return search.fit(X, y)

        return run

    def sklearn_on_sklearn():
        search = GridSearchCV(pipeline(sklearn_mlp(epochs)), theirs, cv=cv, n_jobs=1)
        return search.fit(X, y)

    return {
        "1": ("sklearn GridSearchCV, skgd MLP", sklearn_on_skgd, grid),
        "2": ("skgd GridSearchCV, n_jobs=1", stacked(1), grid),
        "3": (f"skgd GridSearchCV, n_jobs={WORKERS}", stacked(WORKERS), grid),
        "4": ("sklearn GridSearchCV, sklearn MLP", sklearn_on_sklearn, theirs),
    }


def time_rounds(contenders, repeats):
    """Call each contender ``repeats`` times, interleaved; return times and results.

    ``contenders`` maps a name to a callable without arguments; round ``r``
    calls every one once, in order. No warm-up round: ``warm_up`` ran one fit
    of each network before the searches, and the searches ran before the
    curve. The garbage collector runs before each call and stays on.
    """
    times = {name: [] for name in contenders}
    results = {}
    for _, (name, run) in itertools.product(range(repeats), contenders.items()):
        gc.collect()
        start = time.perf_counter()
        results[name] = run()
        times[name].append(time.perf_counter() - start)
    return times, results


def blas_threads():
    """``(pid, threads of each BLAS library)`` of the calling process.

    It imports skgd first, which is what the first task of a worker pays for.
    """
    import os

    from threadpoolctl import threadpool_info

    import skgd  # noqa: F401

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return os.getpid(), tuple(p["num_threads"] for p in pools)


def warm_up(config, X, y):
    """One untimed fit of each pipeline, then the first tasks of the loky pool.

    Returns ``(seconds, processes, threads)`` of the pool's first tasks: the
    time taken, how many processes ran them and their BLAS threads.
    """
    pipeline(skgd_mlp(config["epochs"])).fit(X, y)
    pipeline(sklearn_mlp(config["epochs"])).fit(X, y)
    start = time.perf_counter()
    tasks = (delayed(blas_threads)() for _ in range(4 * WORKERS))
    pids, threads = zip(*Parallel(n_jobs=WORKERS)(tasks))
    return time.perf_counter() - start, len(set(pids)), sorted(set(threads))


# -- agreement --------------------------------------------------------------------


def agreement(search, reference, n_splits):
    """Compare the fold test scores of ``search`` with ``reference``'s.

    Returns a dict: ``params`` (same candidates in the same order),
    ``entries``, ``bitwise`` (entries with the same bits), ``max_diff`` (the
    largest absolute difference where both are finite), ``bad`` (a list of
    ``(candidate, split, ours, theirs)`` differing by more than
    ``TOLERANCE`` or NaN on one side only), ``best`` (same ``best_params_``)
    and ``ok``.
    """
    ours, theirs = search.cv_results_, reference.cv_results_
    same_params = list(ours["params"]) == list(theirs["params"])
    bad, bitwise, entries, max_diff = [], 0, 0, 0.0
    for i in range(n_splits):
        a = np.asarray(ours[f"split{i}_test_score"], dtype=np.float64)
        b = np.asarray(theirs[f"split{i}_test_score"], dtype=np.float64)
        if a.shape != b.shape:
            bad.append((None, i, a.shape, b.shape))
            continue
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        finite = ~nan_a & ~nan_b
        diff = np.abs(a - b, where=finite, out=np.zeros_like(a))
        max_diff = max(max_diff, float(diff.max(initial=0.0)))
        wrong = (nan_a != nan_b) | (diff > TOLERANCE)
        bad += [(int(c), i, a[c], b[c]) for c in np.flatnonzero(wrong)]
        bitwise += int(np.count_nonzero(a.view(np.int64) == b.view(np.int64)))
        entries += a.size
    return {
        "params": same_params,
        "entries": entries,
        "bitwise": bitwise,
        "max_diff": max_diff,
        "bad": bad,
        "best": search.best_params_ == reference.best_params_,
        "ok": same_params and not bad,
    }


# -- the efficiency curve ---------------------------------------------------------


def curve_grid(k):
    """Learning rates and alphas whose product is ``k`` candidates."""
    n_lr, n_alpha = CURVE_SHAPES[k]
    learning_rates = np.geomspace(1e-3, 3e-2, n_lr).tolist()
    alphas = [0.0, *np.geomspace(1e-4, 1e-2, n_alpha - 1).tolist()]
    return {"learning_rate": learning_rates, "alpha": alphas}


class StackedNumpyMLP:
    """K one-hidden-layer relu networks trained together in plain numpy.

    All parameters live in one flat buffer of ``K * (d*h + h + h + 1)``
    floats, laid out by kind so that each kind is one array over the
    candidates: ``W1`` (d, K*h), ``b1`` (K*h), ``W2`` (K, h), ``b2`` (K). A
    step is the forward pass (one ``X @ W1`` for every first layer, relu,
    the output layers as one batched ``np.matmul``), the gradient of the
    mean squared error ``0.5 * mean(r**2)`` plus ``alpha/2 * |W|^2`` per
    candidate, the backward pass and one Adam update (skgd's form, with the
    moments scaled by ``1 - beta``) over the whole buffer with a
    per-parameter step size. Mini-batches as in a fit: a new permutation of
    the rows each epoch, slices of ``batch_size`` rows.
    """

    def __init__(self, learning_rates, alphas, hidden=HIDDEN, batch_size=BATCH_SIZE):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.hidden, self.batch_size = hidden, batch_size

    def _views(self, buffer, d):
        k, h = len(self.learning_rates), self.hidden
        sizes = [d * k * h, k * h, k * h, k]
        ends = np.cumsum(sizes)
        W1, b1, W2, b2 = np.split(buffer, ends[:-1])
        return W1.reshape(d, k * h), b1, W2.reshape(k, h), b2

    def init(self, n_features, seed=0):
        """Allocate the buffers; draw the weights (Glorot uniform, as skgd's).

        Returns the random generator, which ``fit`` goes on using.
        """
        rng = np.random.default_rng(seed)
        d, k, h = n_features, len(self.learning_rates), self.hidden
        size = k * (d * h + 2 * h + 1)
        self.params_, self.grad_ = np.zeros(size), np.empty(size)
        self.m_, self.v_, self.t_ = np.zeros(size), np.zeros(size), 0
        self._scratch = np.empty(size)
        bs = self.batch_size
        self._Z, self._A = np.empty((bs, k * h)), np.empty((bs, k * h))
        self._mask, self._rT = np.empty((bs, k * h), bool), np.empty((bs, k))
        self._out = np.empty((k, bs))
        W1, _, W2, _ = self._views(self.params_, d)
        W1[...] = rng.uniform(-1, 1, W1.shape) * math.sqrt(6 / (d + h))
        W2[...] = rng.uniform(-1, 1, W2.shape) * math.sqrt(6 / (h + 1))
        # per-parameter step sizes and penalties (none on the intercepts)
        self._lr, self._alpha = np.empty(size), np.zeros(size)
        lr_W1, lr_b1, lr_W2, lr_b2 = self._views(self._lr, d)
        alpha_W1, _, alpha_W2, _ = self._views(self._alpha, d)
        per_unit = np.repeat(self.learning_rates, h)  # column c*h + j: candidate c
        lr_W1[...], lr_b1[...], lr_W2[...] = per_unit, per_unit, per_unit.reshape(k, h)
        lr_b2[...] = self.learning_rates
        alpha_W1[...] = np.repeat(self.alphas, h)
        alpha_W2[...] = np.repeat(self.alphas, h).reshape(k, h)
        return rng

    def loss_and_grad(self, Xb, yb):
        """The K objectives on a batch; their gradient goes into ``grad_``.

        The objective of candidate c is ``0.5 * mean(r_c**2) + alpha_c / 2 *
        (|W1_c|^2 + |W2_c|^2)``, so the buffer's gradient is their sum's.
        Every array of batch size is preallocated by ``init``.
        """
        m, d = Xb.shape
        theta, grad = self.params_, self.grad_
        W1, b1, W2, b2 = self._views(theta, d)
        gW1, gb1, gW2, gb2 = self._views(grad, d)
        k, h = W2.shape
        Z, A, mask, rT = self._Z[:m], self._A[:m], self._mask[:m], self._rT[:m]
        # forward: every first layer in one product, (m, d) @ (d, k*h)
        np.matmul(Xb, W1, out=Z)
        Z += b1
        np.maximum(Z, 0.0, out=A)
        A3 = A.reshape(m, k, h).transpose(1, 0, 2)  # (k, m, h)
        r = self._out[:, :m]  # (k, m): the outputs, then the residuals
        np.matmul(A3, W2[:, :, None], out=r[:, :, None])
        r += b2[:, None]
        r -= yb
        loss = 0.5 * np.einsum("km,km->k", r, r) / m
        # backward: d(0.5 mean r^2) / d out = r / m
        r *= 1.0 / m
        np.matmul(r[:, None, :], A3, out=gW2[:, None, :])
        r.sum(axis=1, out=gb2)
        rT[...] = r.T
        np.greater(Z, 0.0, out=mask)
        dZ = A  # A is not needed any more
        np.multiply(rT[:, :, None], W2, out=dZ.reshape(m, k, h))
        np.multiply(dZ, mask, out=dZ)
        np.matmul(Xb.T, dZ, out=gW1)
        dZ.sum(axis=0, out=gb1)
        # the penalties
        np.multiply(self._alpha, theta, self._scratch)
        grad += self._scratch
        W1_ = W1.reshape(d, k, h)
        penalty = np.einsum("dkh,dkh->k", W1_, W1_) + np.einsum("kh,kh->k", W2, W2)
        return loss + 0.5 * self.alphas * penalty

    def step(self):
        """One Adam update of the whole buffer with ``grad_`` (overwritten).

        skgd's form: the moments held divided by ``1 - beta``, the bias
        correction folded into the step size.
        """
        b_1, b_2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        m_, v_, g, scratch = self.m_, self.v_, self.grad_, self._scratch
        self.t_ += 1
        m_ *= b_1
        m_ += g
        v_ *= b_2
        np.multiply(g, g, g)
        v_ += g
        np.sqrt(v_, g)
        g += eps / math.sqrt(1.0 - b_2)
        np.divide(m_, g, g)
        correction = math.sqrt(1.0 - b_2**self.t_) / (1.0 - b_1**self.t_)
        np.multiply(self._lr, correction * (1.0 - b_1) / math.sqrt(1.0 - b_2), scratch)
        scratch *= g
        self.params_ -= scratch

    def fit(self, X, y, epochs, seed=0):
        """Train on ``X``, ``y`` for ``epochs`` epochs; return ``self``.

        Mini-batches as in a fit: a new permutation of the rows each epoch,
        slices of ``batch_size`` rows; ``t_`` counts the steps.
        """
        rng = self.init(X.shape[1], seed)
        n = len(X)
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                rows = order[start : start + self.batch_size]
                self.loss_and_grad(X[rows], y[rows])
                self.step()
        return self

    def predict(self, X):
        """Predictions of the K networks, shape ``(n, K)``."""
        W1, b1, W2, b2 = self._views(self.params_, X.shape[1])
        k, h = W2.shape
        A = np.maximum(X @ W1 + b1, 0.0).reshape(len(X), k, h)
        return np.einsum("mkh,kh->mk", A, W2) + b2


def curve_contenders(k, epochs, X, y, train, test, stacked_search):
    """Name -> a callable for the curve at ``k`` candidates (``X`` scaled)."""
    grid = curve_grid(k)
    candidates = list(itertools.product(grid["learning_rate"], grid["alpha"]))
    learning_rates, alphas = map(list, zip(*candidates, strict=True))
    X_train, y_train = X[train], y[train]

    def stacked():
        # The stacked training alone: the search adds scikit-learn's fits,
        # which take its results (timed in the searches above).
        params = [{"learning_rate": lr, "alpha": a} for lr, a in candidates]
        results, _ = train_stacked(skgd_mlp(epochs), params, X, y, [(train, test)])
        return results

    def numpy_stacked():
        # one BLAS thread, as skgd's stacked training runs (skgd.engine.stack)
        with threadpool_limits(1, user_api="blas"):
            net = StackedNumpyMLP(learning_rates, alphas)
            return net.fit(X_train, y_train, epochs)

    def single():
        return skgd_mlp(epochs).fit(X_train, y_train)

    return {"skgd": stacked, "numpy": numpy_stacked, "single": single}


def run_curve(config, X, y, repeats, stacked_search):
    """Time the efficiency curve; print its table; return its rows.

    Each row: ``(k, skgd us/candidate-step, numpy us/candidate-step, single
    fit us/step)``, from the minimum over ``repeats`` interleaved calls.
    """
    train, test = next(KFold(FOLDS, shuffle=True, random_state=0).split(X))
    X = StandardScaler().fit(X[train]).transform(X)
    epochs = config["curve_epochs"]
    steps = epochs * math.ceil(len(train) / BATCH_SIZE)
    print(
        f"6. Efficiency curve: one fold ({len(train)} train, {len(test)} test rows, "
        f"features scaled on the train rows), {epochs} epochs x "
        f"{math.ceil(len(train) / BATCH_SIZE)} = {steps} steps per candidate"
    )
    print(
        "   skgd: skgd.model_selection.train_stacked (the stacked training of "
        "the search, without scikit-learn's fits) over K candidates "
        "(learning_rate x alpha, no dropout); "
        "numpy: StackedNumpyMLP of this script, 1 BLAS thread; single: one "
        f"skgd.MLPRegressor fit; {repeats} interleaved repeat(s), min [median]"
    )
    print(
        f"   {'K':>4} {'lr x alpha':>10} {'skgd us/cand-step':>24} "
        f"{'numpy us/cand-step':>24} {'skgd/numpy':>10} {'single us/step':>22} "
        f"{'single/skgd':>11}"
    )
    rows, check = [], None
    for k in config["curve_ks"]:
        runs = curve_contenders(k, epochs, X, y, train, test, stacked_search)
        times, results = time_rounds(runs, repeats)
        if results["numpy"].t_ != steps or results["single"].t_ != steps:
            raise RuntimeError(
                f"steps: numpy {results['numpy'].t_}, single "
                f"{results['single'].t_}, expected {steps}"
            )
        per = {
            "skgd": np.array(times["skgd"]) / (k * steps),
            "numpy": np.array(times["numpy"]) / (k * steps),
            "single": np.array(times["single"]) / steps,
        }
        best = {name: 1e6 * float(v.min()) for name, v in per.items()}
        median = {name: 1e6 * float(np.median(v)) for name, v in per.items()}
        n_lr, n_alpha = CURVE_SHAPES[k]
        print(
            f"   {k:>4} {f'{n_lr} x {n_alpha}':>10} "
            f"{best['skgd']:12.2f} [{median['skgd']:9.2f}] "
            f"{best['numpy']:12.2f} [{median['numpy']:9.2f}] "
            f"{best['skgd'] / best['numpy']:10.2f} "
            f"{best['single']:10.2f} [{median['single']:9.2f}] "
            f"{best['single'] / best['skgd']:11.2f}"
        )
        rows.append((k, best["skgd"], best["numpy"], best["single"]))
        if k == 1:  # the stacked result, taken by a fit, against the fit's own
            stacked = results["skgd"][0, 0].take()  # candidate 0 on the split
            check = stacked.score(X[test], y[test]) - results["single"].score(
                X[test], y[test]
            )
    if check is not None:
        print(
            "   check: fold R2 of the K=1 stacked result minus that of the single "
            f"fit: {check:.3g} (0: the stack trains the same network)"
        )
    print()
    return rows


# -- report -----------------------------------------------------------------------


def reached(speedup, target, strict=False):
    """``"PASS"`` if ``speedup`` reaches ``target`` (exceeds it if ``strict``)."""
    ok = speedup > target if strict else speedup >= target
    return "PASS" if ok else "FAIL"


def print_header(args, config, repeats):
    """Versions, machine, settings and the command that reproduces the run."""
    import joblib

    grid, theirs = skgd_grid(config), sklearn_grid(config)
    n_ours, n_theirs = n_candidates(grid), n_candidates(theirs)
    epochs = config["epochs"]
    print_run_header(
        "skgd benchmark: stacked GridSearchCV (skgd.model_selection) vs scikit-learn's",
        "benchmarks/bench_stacked.py",
        args,
        [
            ("parallel", f"joblib {joblib.__version__}, n_jobs={WORKERS} on loky"),
            ("data", "load_diabetes(): 442 rows, 10 features, y unscaled"),
            (
                "pipeline",
                f"StandardScaler, skgd MLPRegressor(({HIDDEN},), batch_size="
                f"{BATCH_SIZE}, epochs={epochs}, tol=None, random_state=0), "
                "relu, adam",
            ),
            (
                "grid",
                " x ".join(f"{k} {v}" for k, v in grid.items())
                + f": {n_ours} candidates",
            ),
            (
                "sklearn NN",
                f"MLPRegressor(hidden_layer_sizes=({HIDDEN},), batch_size="
                f"{BATCH_SIZE}, max_iter={epochs}, solver='adam', tol=0.0, "
                "n_iter_no_change=10**9, random_state=0), grid "
                + " x ".join(f"{k} {v}" for k, v in theirs.items())
                + f": {n_theirs} candidates",
            ),
            (
                "search",
                f"KFold({FOLDS}, shuffle=True, random_state=0), R2, refit=True",
            ),
            (
                "timing",
                f"time.perf_counter around fit, {repeats} interleaved repeat(s), "
                "min reported (median in brackets)",
            ),
        ],
    )


def print_start_up(first):
    """The start-up cost left out of the search times, and the BLAS threads."""
    seconds, processes, threads = first
    print("Start-up (not in the search times):")
    print(
        f"   first tasks on {WORKERS} loky workers {seconds:6.2f} s  (ran in "
        f"{processes} processes; BLAS threads per library {threads})"
    )
    print(
        "   BLAS threads per library in this process, which runs the n_jobs=1 "
        f"searches: {blas_threads()[1]}"
    )
    print()


def print_searches(runs, times, results):
    """The table of the four searches; return the speed-ups with targets.

    Returns ``[(label, description, speed-up, target, strict)]``.
    """
    fits = {key: n_candidates(grid) * FOLDS for key, (_, _, grid) in runs.items()}
    best = {key: min(t) for key, t in times.items()}
    per_fit = {key: best[key] / fits[key] for key in runs}
    print(
        "Searches: wall time of fit (the refit included), min [median]; "
        "ms per candidate-fit = wall / (candidates x folds)"
    )
    print(
        f"   {'search':<38} {'fits':>4} {'wall s':>16} {'ms/fit':>7}  "
        f"{'speed-up':>8}  target"
    )
    speedups = [
        ("2", "1. / 2., wall", best["1"] / best["2"], TARGETS["2"], False),
        ("3", "2. / 3., wall", best["2"] / best["3"], TARGETS["3"], True),
        (
            "4",
            "4. / 2., per candidate-fit",
            per_fit["4"] / per_fit["2"],
            TARGETS["4"],
            False,
        ),
    ]
    by_label = {label: row for label, *row in speedups}
    for key, (name, _, _) in runs.items():
        t = times[key]
        line = (
            f"   {key}. {name:<35} {fits[key]:>4} {min(t):7.2f} "
            f"[{np.median(t):6.2f}] {1e3 * per_fit[key]:7.2f}"
        )
        if key in by_label:
            what, speedup, target, strict = by_label[key]
            sign = ">" if strict else ">="
            line += (
                f"  {speedup:8.2f}  {sign} {target:g} "
                f"{reached(speedup, target, strict)}  ({what})"
            )
        print(line)
    for key in runs:
        search = results[key]
        print(
            f"   best of {key}.: {search.best_params_}, mean R2 "
            f"{search.best_score_:.4f}"
        )
    print()
    return speedups


def print_agreement(results):
    """Check 2. and 3. against 1.; print the result; return whether both agree."""
    print(
        f"5. Agreement of split{{i}}_test_score with 1. (|diff| <= {TOLERANCE:g}, "
        "NaN where 1. has NaN):"
    )
    ok = True
    for key in ("2", "3"):
        found = agreement(results[key], results["1"], FOLDS)
        ok = ok and found["ok"]
        print(
            f"   {key}. vs 1.: {'AGREE' if found['ok'] else 'DISAGREE'}: same "
            f"params in the same order {'yes' if found['params'] else 'NO'}, "
            f"{found['entries'] - len(found['bad'])}/{found['entries']} within "
            f"{TOLERANCE:g}, {found['bitwise']}/{found['entries']} bitwise equal, "
            f"max |diff| {found['max_diff']:.3g}, best_params_ same "
            f"{'yes' if found['best'] else 'no'}"
        )
        params = results["1"].cv_results_["params"]
        for candidate, split, ours, theirs in found["bad"][:20]:
            where = "shapes" if candidate is None else params[candidate]
            print(
                f"      candidate {candidate} {where}, split {split}: {ours!r} "
                f"vs {theirs!r}"
            )
        if len(found["bad"]) > 20:
            print(f"      ... and {len(found['bad']) - 20} more")
    print()
    return ok


# -- main -------------------------------------------------------------------------


def import_stacked_search():
    """``skgd.model_selection.GridSearchCV``, or exit with a clear message."""
    try:
        from skgd.model_selection import GridSearchCV as StackedGridSearchCV
    except ImportError as error:
        sys.exit(f"bench_stacked.py needs skgd.model_selection.GridSearchCV: {error}")
    return StackedGridSearchCV


def main(argv=None):
    """Parse the command line and run the searches and the curve.

    Returns 0, or 1 when skgd's searches disagree with scikit-learn's.
    """
    parser = benchmark_parser(
        __doc__.split("\n\n")[0],
        repeats_help="timed runs of each search and of each point of the curve, "
        "interleaved (default 3, 1 with --quick)",
        quick_help="smoke run: 10 epochs (5 in the curve), 8 candidates, K up to 48",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS to this many threads (threadpoolctl) in this process",
    )
    args = parser.parse_args(argv)
    check_repeats(parser, args)
    if args.blas_threads is not None and args.blas_threads < 1:
        parser.error("--blas-threads must be at least 1")
    repeats = args.repeats or (1 if args.quick else 3)
    config = settings(args.quick)
    stacked_search = import_stacked_search()
    X, y = load_diabetes(return_X_y=True)

    limit = contextlib.nullcontext()
    if args.blas_threads is not None:
        limit = threadpool_limits(args.blas_threads, user_api="blas")
    with limit, warnings.catch_warnings():
        # scikit-learn's MLP warns after its last epoch, as asked
        warnings.simplefilter("ignore", ConvergenceWarning)
        print_header(sys.argv[1:] if argv is None else argv, config, repeats)
        print_start_up(warm_up(config, X, y))
        runs = searches(config, X, y, stacked_search)
        times, results = time_rounds(
            {k: run for k, (_, run, _) in runs.items()}, repeats
        )
        speedups = print_searches(runs, times, results)
        ok = print_agreement(results)
        run_curve(config, X, y, repeats, stacked_search)
    print("Summary (timing targets; never change the exit status):")
    for label, what, speedup, target, strict in speedups:
        sign = ">" if strict else ">="
        print(
            f"   {label}. {what:<30} {speedup:6.2f} {sign} {target:<3g} "
            f"{reached(speedup, target, strict)}"
        )
    print(f"   5. agreement of 2. and 3. with 1.: {'PASS' if ok else 'FAIL'}")
    print(f"   load average {load_average()} at the end")
    if args.quick:
        print("(--quick: too little work for the ratios to mean much)")
    if not ok:
        print("FAILED: skgd's GridSearchCV disagrees with scikit-learn's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
