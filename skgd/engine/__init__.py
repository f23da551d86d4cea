"""The training engine: one loop for every fit, and its compiled parts.

Every fit trains a stack of ``K >= 1`` candidates with
:class:`skgd.engine.stack.run.Trainer`: a single ``fit`` or ``partial_fit``
is a stack of one, driven epoch by epoch by :func:`skgd.engine.session.fit_session`
(its start, callbacks, Ctrl-C and streams); a search's candidates that
differ only in numbers are a stack of many (:func:`skgd.engine.stack.train_group`).
:mod:`skgd.engine.trainer` holds what a fit carries (``TrainingState``)
and the message of a diverged run. The numba kernels (plain loops over
arrays, compiled on first use and cached on disk) are
:mod:`skgd.engine.kernels`, :mod:`skgd.engine.epochs` and
:mod:`skgd.engine.sparse_epochs` (one candidate's linear epoch),
:mod:`skgd.engine.stacked` and :mod:`skgd.engine.stacked_passes` (a
stack's); :mod:`skgd.engine.fused` chooses which of them trains a pass
(one linear model's call in :mod:`skgd.engine.linear_pass`).

Importing this package imports none of its modules: ``import skgd`` must
not import numba.
"""
