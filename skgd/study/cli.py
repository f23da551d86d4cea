"""The ``skgd`` command line: ``skgd study`` (also ``python -m skgd study``).

This module runs the study with the parsed options (:mod:`skgd.study.options`)
and prints the tables; the other modules of :mod:`skgd.study` do the work.
Bad input ends with one line on stderr, ``skgd study: error: ...``, and exit
status 2; Ctrl-C with one line too, and exit status 130 (see :func:`main`).
"""

import importlib
import math
import signal
import sys
import threading
import time
from types import SimpleNamespace

from .._exceptions import StudyError
from .._signals import sigint_handled
from . import story, tables
from .options import build_parser, default_n_jobs
from .progress import make_progress


def _stderr_is_terminal():
    return sys.stderr.isatty()


def run_command(args, written=None):
    """Run ``skgd study`` with parsed arguments; print the tables.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`~skgd.study.options.build_parser`.
    written : list or None, default=None
        The ``--out`` folder is appended to it once it holds the new study
        (see :func:`skgd.study.report.write_report`).
    """
    from . import report

    start = time.perf_counter()
    out = report.check_out(args.out)
    plan = _plan(args)
    print(plan.task_line, flush=True)
    for note in plan.notes:
        print(f"skgd study: note: {note}", file=sys.stderr)
    tests = _range_tests(args, plan)
    pipelines = _pipeline_lines(args, plan)
    print(*pipelines, "", sep="\n")
    studies, baselines, baseline_seconds = _search(args, plan, tests)
    timing = story.time_text(studies, time.perf_counter() - start, baseline_seconds)
    _print_results(studies, baselines, plan.task, args.cv)
    print(timing, end="\n\n")
    # The report shows a description of several lines as it is printed.
    description = "\n".join(
        [plan.description, *pipelines, *(f"note: {n}" for n in plan.notes)]
    )
    paths = report.write_report(
        studies, out, description, args.cv, plan.task_line, written, baselines, timing
    )
    print(f"wrote {len(paths)} files to {args.out}, see {paths[-1]}")


def _plan(args):
    """Load the data and choose the task and the grids, before any fitting.

    Returns
    -------
    plan : types.SimpleNamespace
        ``data``, ``task``, ``task_line``, ``keys`` (the estimators),
        ``grids`` (checked), ``notes`` (for the user) and ``description``
        (of the data).
    """
    from . import baselines, data, grid, task

    loaded = data.load_data(args.data, args.target, args.dataset, args.encoding)
    notes = list(loaded.notes)
    chosen, reason = task.choose_task(loaded.y, args.task, loaded.task, args.cv)
    keys = ["gd", "mlp"] if args.estimator == "both" else [args.estimator]
    notes.append(data.shape_note(len(loaded.y), loaded.X.shape[1], keys))
    grids = grid.build_grids(keys, dict(args.param), chosen)
    task.check_cv(args.cv, loaded.y, chosen)
    n_train = len(loaded.y) - math.ceil(len(loaded.y) / args.cv)  # the fewest
    grids, adapted = grid.adapt_epochs(keys, grids, n_train, chosen)
    notes.append(adapted)
    dense = baselines.dense_bytes(loaded.X, loaded.features)
    if dense > baselines.DENSE_BYTES:
        notes.append(
            f"gradient boosting is left out of the baselines: its dense input "
            f"would take {dense / 2**30:.1f} GiB"
        )
    plan = SimpleNamespace(
        data=loaded, task=chosen, task_line=task.task_line(chosen, reason),
        keys=keys, grids=grids, notes=[n for n in notes if n],
        description=loaded.description,
    )  # fmt: skip
    for key, made in _pipelines(args, plan).items():  # before any fitting
        grid.check_grid(made, grids[key])
    return plan


def _pipelines(args, plan):
    """Each estimator's pipeline, as the study builds it from its grid."""
    from . import pipeline

    return {
        key: pipeline.make_pipeline(
            key, args.random_state, plan.task, plan.data.features, plan.grids[key]
        )
        for key in plan.keys
    }


def _range_tests(args, plan):
    """Run each estimator's range test and centre its grid on the suggestion.

    Each test runs on the estimator's pipeline (see
    :mod:`skgd.study.rangetest`) and prints its line; ``plan.grids`` takes
    the centred grids, unless ``--param learning_rate`` gave the rates.

    Returns
    -------
    tests : dict of str to RangeTest
        By estimator; empty with ``--no-range-test``.
    """
    if args.no_range_test:
        return {}
    from . import rangetest

    given = "learning_rate" in dict(args.param)
    tests = {}
    for key, made in _pipelines(args, plan).items():
        data = plan.data
        epochs = rangetest.range_epochs(made, plan.grids[key])
        test = rangetest.run_range_test(made, data.X, data.y, args.random_state, epochs)
        plan.grids[key] = rangetest.centre_grid(plan.grids[key], test, given)
        print(rangetest.range_line(type(made[-1]).__name__, test), flush=True)
        tests[key] = test
    return tests


def _pipeline_lines(args, plan):
    """The line of each pipeline, with the grid it searches."""
    from . import pipeline

    return [
        f"pipeline: {pipeline.pipeline_text(made)}{_searched(plan.grids[key])}"
        for key, made in _pipelines(args, plan).items()
    ]


def _search(args, plan, range_tests=None):
    """Cross-validate the grids and the baselines, on a cluster if asked.

    Returns
    -------
    studies : list of EstimatorStudy
    baselines : list of Baseline
    baseline_seconds : float
    """
    from . import baselines, cluster, run

    cv = plan.task.splitter(args.cv, args.random_state)
    n_jobs = args.n_jobs or (-1 if args.scheduler else default_n_jobs())
    progress = make_progress(not args.quiet and _stderr_is_terminal())
    data = plan.data
    with cluster.parallel_backend(args.scheduler):
        studies = run.run_study(
            plan.keys, plan.grids, data.X, data.y, cv, task=plan.task,
            random_state=args.random_state, n_jobs=n_jobs, progress=progress,
            features=data.features, range_tests=range_tests,
        )  # fmt: skip
        started = time.perf_counter()
        scored = baselines.run_baselines(
            data.X, data.y, cv, task=plan.task, features=data.features,
            random_state=args.random_state, n_jobs=n_jobs,
        )  # fmt: skip
    return studies, scored, time.perf_counter() - started


def _print_results(studies, baselines, task, n_folds):
    """Print each estimator's table, the baselines and where the best stands."""
    for study in studies:
        print(tables.format_table(study, n_folds), end="\n\n")
    print(tables.format_baselines(baselines, task, n_folds), end="\n\n")
    standing = story.standing_text(studies, baselines)
    print(tables.ascii_text(standing), end="\n\n")


def _searched(grid):
    """``", searching alpha x learning_rate (25 candidates)"``, or ``""``."""
    varied = [name for name, values in grid.items() if len(values) > 1]
    if not varied:
        return ""
    n = math.prod(len(grid[name]) for name in varied)
    return f", searching {' x '.join(varied)} ({n} candidates)"


def main(argv=None):
    """Entry point of the ``skgd`` command.

    Ctrl-C ends the command with one line on stderr and status 130, whenever
    it comes once this module is imported: while it imports the study's
    modules, trains, writes, or after writing (the study is then whole in
    ``--out``, and the line says so). Run as the command (``argv`` None), the
    process ignores Ctrl-C once it has its status: a late Ctrl-C, while the
    interpreter shuts down its workers, would only print a traceback.

    Parameters
    ----------
    argv : list of str or None
        The arguments; None reads ``sys.argv[1:]``, as the command does.

    Returns
    -------
    status : int
        0 on success, 2 on bad input, 130 when interrupted.
    """
    written = []
    try:
        status = _main(argv, written)
    except KeyboardInterrupt:
        with sigint_handled(signal.SIG_IGN):  # already ending the run
            status = _interrupted(written)
    if argv is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


def _main(argv, written):
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or an argparse error already printed
        return exc.code
    try:  # scikit-learn and the estimators: the study's heavy modules
        importlib.import_module(".run", __package__)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        return _fail(f'{exc}; pip install "skgd[study]"')
    try:
        run_command(args, written)
    except StudyError as exc:
        return _fail(str(exc))
    return 0


def _interrupted(written):
    """Say that Ctrl-C stopped the study, and whether it was written first."""
    start = "\n" if _stderr_is_terminal() else ""  # end a progress line
    if written:
        message = f"interrupted after writing the study to {written[-1]}"
    else:  # a previous study in --out is left as it was
        message = "interrupted, nothing written"
    print(f"{start}skgd study: {message}", file=sys.stderr)
    return 130


def _fail(message):
    print(f"skgd study: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
