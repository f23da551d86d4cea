"""Where a step of skgd's stacked MLP training goes: its pieces, timed apart.

The stack is built as ``skgd.model_selection.train_stacked`` builds it (the
estimators' own checks, :func:`skgd.engine.stack.stack_group`) for the workload
of ``bench_stacked.py``: ``MLPRegressor((32,), batch_size=32, relu, Adam)``
on the diabetes data scaled on the first KFold split's training rows, K
candidates of ``learning_rate`` x ``alpha`` (x ``dropout`` 0, 0.1, 0.2 with
``--dropout``). Printed, in microseconds per step and per candidate-step:

* the training itself (``Trainer.run`` of ``--epochs`` epochs, its
  results included; minimum of ``--repeats``), and the stacking before it;
* its pieces, each called alone many times on one batch (minimum of 7
  rounds): the forward pass and, for relu networks, its parts (the first
  layer's product, relu and dropout, the later layers' products), the loss,
  the backward pass and its parts, the optimizer's step, the candidates'
  learning rates, and forward, loss and backward together. What the whole
  step costs beyond their sum is the Python around them (the batches, the
  checks) and the cache misses of a real step.

With ``--cprofile`` a cProfile table of one training follows. BLAS runs on
one thread, as in the stacked training.

Usage::

    python benchmarks/profile_stacked.py                 # K=48, no dropout
    python benchmarks/profile_stacked.py --k 48 --dropout --cprofile
"""

import argparse
import cProfile
import itertools
import pstats
import time

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from skgd import MLPRegressor
from skgd.engine.stack import stack_group
from skgd.engine.stack.parts import _bits
from skgd.engine.threads import one_blas_thread

SHAPES = {1: (1, 1), 4: (2, 2), 16: (4, 4), 48: (8, 6), 192: (16, 12)}
DROPOUT_SHAPES = {12: (2, 2), 48: (4, 4), 192: (8, 8)}  # x 3 dropout rates


def data():
    """The diabetes data scaled on the first fold's training rows, and those rows."""
    X, y = load_diabetes(return_X_y=True)
    train, _ = next(KFold(5, shuffle=True, random_state=0).split(X))
    X = StandardScaler().fit(X[train]).transform(X)
    return X[train], y[train]


def estimators(k, dropout, epochs):
    """The K candidates of the curve (with ``dropout``, 3 rates of them)."""
    n_lr, n_alpha = (DROPOUT_SHAPES if dropout else SHAPES)[k]
    rates = np.geomspace(1e-3, 3e-2, n_lr)
    alphas = [0.0, *np.geomspace(1e-4, 1e-2, n_alpha - 1)]
    drops = [0.0, 0.1, 0.2] if dropout else [0.0]
    base = MLPRegressor(
        hidden_layer_sizes=(32,), batch_size=32, epochs=epochs, tol=None, random_state=0
    )
    return [
        clone(base).set_params(learning_rate=lr, alpha=alpha, dropout=rate)
        for lr, alpha, rate in itertools.product(rates, alphas, drops)
    ]


def best_of(function, calls=300, rounds=7):
    """The least mean time of ``function()`` over ``rounds`` of ``calls``, in us."""
    function()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return 1e6 * best


def pieces(group):
    """Name -> a callable running one piece of a step on the first batch."""
    net, optimizer, streams = group.net, group.optimizer, group.streams
    X, y, c, _ = next(iter(group.source.batches(32, group.rng)))
    group._objective(X, y, c, streams)  # every buffer written, the gradients too
    ws, lr = net._ws, np.zeros(len(group.active))
    found = {
        "forward": lambda: net.forward(X, streams),
        "backward": net.backward,
        "optimizer step": lambda: optimizer.step(net.params, net.grads, lr),
        "learning rates": group.learning_rates,
    }
    if "first" in ws:  # a relu network's plan (StackedNetwork._relu_plan)
        product, x1, W, z = ws["first"]
        found[" first layer's product"] = lambda: product(x1, W, z)
        for j, relu, (small, args) in ws["later"]:
            z_in, a, thresholds, scales = relu
            drop = bool(net.dropout[j])

            def relu_dropout(z_in=z_in, a=a, t=thresholds, s=scales, j=j, drop=drop):
                m, _, w = a.shape
                bits = _bits(streams[j], m, w) if drop else np.zeros((0, 0), "u2")
                net._relu_dropout(z_in, a, bits, t, s)

            found[f" relu and dropout {j}"] = relu_dropout
            if small:
                found[f" product {j}"] = lambda args=args: net._dense(*args)
            else:
                aT, WT, zT, _, _ = args
                found[f" product {j}"] = lambda aT=aT, WT=WT, zT=zT: np.matmul(
                    aT, WT, out=zT
                )
        for n, args in enumerate(ws["later_back"]):
            found[f" relu backward {n}"] = lambda args=args: net._relu_backward(*args)
        product, x1T, g, dW = ws["first_back"]
        found[" first layer's gradient"] = lambda: product(x1T, g, dW)
    found["forward, loss and backward"] = lambda: group._objective(X, y, c, streams)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--k", type=int, default=48, choices=sorted({*SHAPES, *DROPOUT_SHAPES})
    )
    parser.add_argument("--dropout", action="store_true")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    shapes = DROPOUT_SHAPES if args.dropout else SHAPES
    if args.k not in shapes:
        parser.error(f"--k must be one of {sorted(shapes)} here")
    X, y = data()
    k = args.k
    steps = args.epochs * -(-len(y) // 32)

    def train(epochs=args.epochs):
        start = time.perf_counter()
        group = stack_group(estimators(k, args.dropout, epochs), X, y)
        built = time.perf_counter()
        with one_blas_thread():
            group.run()
        return built - start, time.perf_counter() - built

    train(1)  # compiles or loads the kernels
    runs = [train() for _ in range(args.repeats)]
    stacking, training = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"K={k}, dropout={args.dropout}, {args.epochs} epochs, {steps} steps")
    for name, seconds in (("training", training), ("stacking", stacking)):
        per_step = 1e6 * seconds / steps
        print(f"{name:42s} {per_step:9.2f} us/step {per_step / k:7.2f} us/cand-step")
    group = stack_group(estimators(k, args.dropout, args.epochs), X, y)
    with one_blas_thread():
        for name, function in pieces(group).items():
            us = best_of(function)
            print(f"{name:42s} {us:9.2f} us/step {us / k:7.2f} us/cand-step")
        if args.cprofile:
            group = stack_group(estimators(k, args.dropout, args.epochs), X, y)
            profile = cProfile.Profile()
            profile.runcall(group.run)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
