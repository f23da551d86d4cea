"""The training engine: the fit session, the trainer and their compiled parts.

:mod:`skgd.engine.session` is the fit session every estimator calls
(``fit_session``) and its epoch loop; :mod:`skgd.engine.trainer` takes the
steps and checks them. :mod:`skgd.engine.kernels` holds the numba kernels
(plain loops over arrays, compiled on first use and cached on disk);
:mod:`skgd.engine.fused` is the trainer's side of them: which fits a kernel
can train, and how a pass over the data becomes one kernel call (one linear
model's call in :mod:`skgd.engine.linear_pass`).
:mod:`skgd.engine.stack` trains the stacked candidates of a search (its
kernels in :mod:`skgd.engine.stacked`).

Importing this package imports none of its modules: ``import skgd`` must
not import numba.
"""
