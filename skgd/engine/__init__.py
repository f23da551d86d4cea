"""The training engine's compiled parts.

:mod:`skgd.engine.kernels` holds the numba kernels (plain loops over
arrays, compiled on first use and cached on disk); :mod:`skgd.engine.fused`
is the trainer's side of them: which fits a kernel can train, and how a
pass over the data becomes one kernel call.
"""
