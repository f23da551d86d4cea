"""``fit`` on a ``numpy.memmap`` reads one chunk of mini-batches at a time.

The file is written block by block and opened with ``mmap_mode="r"``; the
model never copies it. ``tracemalloc`` (to which numpy reports its
allocations) shows how little memory training takes next to the file. The
file's pages that training reads are cached by the operating system, which
drops them when memory is needed.
"""

import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

from skgd import GDRegressor

n, d = 500_000, 20  # 80 MB of float64
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(0)
    y = np.empty(n)
    for start in range(0, n, 100_000):
        block = rng.normal(size=(100_000, d))
        X[start : start + 100_000] = block
        y[start : start + 100_000] = block.sum(axis=1) + 0.1 * rng.normal(size=100_000)
    X.flush()
    del X

    X = np.load(path, mmap_mode="r")
    model = GDRegressor(batch_size=256, epochs=2, tol=None, random_state=0)
    tracemalloc.start()
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"file: {X.nbytes / 2**20:.0f} MB, peak allocations while fitting: "
        f"{peak / 2**20:.1f} MB"
    )
    print("R²:", round(model.score(X[:10_000], y[:10_000]), 4))
    del X, model
