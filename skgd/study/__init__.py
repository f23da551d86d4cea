"""``skgd study``: a cross-validated study of the knobs, and its report.

The command line (:mod:`skgd.study.cli`, with its options in
:mod:`~skgd.study.options` and its progress line in
:mod:`~skgd.study.progress`) loads the data (:mod:`~skgd.study.data`, its
columns sorted by :mod:`~skgd.study.columns`), chooses the task
(:mod:`~skgd.study.task`) and the grids (:mod:`~skgd.study.grid`), builds the
pipelines (:mod:`~skgd.study.pipeline`), runs each estimator's learning-rate
range test, which centres its grid's learning rates
(:mod:`~skgd.study.rangetest`), and cross-validates them
(:mod:`~skgd.study.run`, one fold at a time in :mod:`~skgd.study.folds`)
beside the baselines (:mod:`~skgd.study.baselines`), on a dask cluster when
asked (:mod:`~skgd.study.cluster`). The report (:mod:`~skgd.study.report`)
writes the tables (:mod:`~skgd.study.tables`), records
(:mod:`~skgd.study.records`), figures (:mod:`~skgd.study.figures` on the axes
of :mod:`~skgd.study.axes`) and one HTML page (:mod:`~skgd.study.page`), whose
section for each estimator (:mod:`~skgd.study.sections`) says in words which
knob matters and what each does (:mod:`~skgd.study.knobs`,
:mod:`~skgd.study.story`).

Importing this package imports nothing: the command line must handle Ctrl-C
before scikit-learn loads.
"""
