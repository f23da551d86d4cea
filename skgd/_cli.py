"""The ``skgd`` command line: ``skgd study`` (also ``python -m skgd study``).

This module parses the arguments, reports progress and prints the tables;
:mod:`skgd._study_data`, :mod:`skgd._cluster` and :mod:`skgd._study` do the
work. Bad input ends with one line on stderr, ``skgd study: error: ...``, and
exit status 2; Ctrl-C with one line too, and exit status 130 (see
:func:`main`).
"""

import argparse
import ast
import codecs
import math
import os
import signal
import sys
import threading
import time

from ._signals import sigint_handled
from ._study_data import DATASETS, DEFAULT_DATASET, MAX_CLASSES

_OPEN, _CLOSE = "([{", ")]}"
_LITERAL_START = _OPEN + "'\"0123456789+-."


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, without the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def split_values(text):
    """Split ``text`` at the commas outside brackets.

    Parameters
    ----------
    text : str
        E.g. ``"(64,64),(32,)"``.

    Returns
    -------
    items : list of str
        E.g. ``["(64,64)", "(32,)"]``, stripped.

    Examples
    --------
    >>> split_values("1e-3, 1e-2")
    ['1e-3', '1e-2']
    >>> split_values("(64,64),(32,)")
    ['(64,64)', '(32,)']
    """
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in _OPEN) - (char in _CLOSE)
        if depth < 0:
            break
        if char == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise argparse.ArgumentTypeError(f"unbalanced brackets in {text!r}")
    return [*items, text[start:].strip()]


def parse_value(text):
    """A Python literal (int, float, None, True/False, tuple...) or the text.

    Parameters
    ----------
    text : str
        One value.

    Returns
    -------
    value : object
        ``ast.literal_eval(text)``; the text itself when it is no literal and
        does not look like one (a word such as ``relu``).

    Examples
    --------
    >>> [parse_value(t) for t in ["1e-2", "32", "None", "(64,64)", "relu"]]
    [0.01, 32, None, (64, 64), 'relu']
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if not text or text[0] in _LITERAL_START:
            raise argparse.ArgumentTypeError(f"cannot parse value {text!r}") from None
        return text


def parse_param(text):
    """Parse a ``--param NAME=V1,V2,...`` option.

    Parameters
    ----------
    text : str
        The option's argument.

    Returns
    -------
    name : str
    values : list

    Examples
    --------
    >>> parse_param("hidden_layer_sizes=(64,64),(32,)")
    ('hidden_layer_sizes', [(64, 64), (32,)])
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,..., got {text!r}")
    return name, [parse_value(item) for item in split_values(values)]


def parse_n_jobs(text):
    """Parse ``--n-jobs``: a non-zero int, as :class:`joblib.Parallel` takes.

    Parameters
    ----------
    text : str
        The option's argument.

    Returns
    -------
    n_jobs : int
        Positive: that many fits at once; negative: -1 one per CPU, -2 all
        CPUs but one, and so on.

    Examples
    --------
    >>> parse_n_jobs("2"), parse_n_jobs("-1")
    (2, -1)
    """
    try:
        n_jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if n_jobs == 0:
        raise argparse.ArgumentTypeError(
            "0 fits at once: give a positive number, or -1 for one per CPU"
        )
    return n_jobs


def parse_encoding(text):
    """Parse ``--encoding``: the name of a text codec Python knows.

    Parameters
    ----------
    text : str
        The option's argument.

    Returns
    -------
    encoding : str
        ``text``, checked.

    Examples
    --------
    >>> parse_encoding("latin-1")
    'latin-1'
    """
    try:
        text_codec = getattr(codecs.lookup(text), "_is_text_encoding", True)
    except LookupError:
        text_codec = False
    if not text_codec:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r} (such as utf-8, latin-1, cp1252, utf-16)"
        )
    return text


def default_n_jobs():
    """The default of ``--n-jobs``: the CPUs this process may run on.

    Returns
    -------
    n_jobs : int
        ``len(os.sched_getaffinity(0))`` where the system tells (Linux: the
        cores a container or ``taskset`` leaves), else ``os.cpu_count()``,
        at least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity
        return os.cpu_count() or 1


def build_parser():
    """The ``skgd`` argument parser, with its ``study`` subcommand.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    parser = _Parser(prog="skgd", description="skgd command line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    study = commands.add_parser(
        "study",
        help="cross-validated study of the generalization knobs",
        description=(
            "Cross-validate two estimators over a parameter grid: GDRegressor "
            "and MLPRegressor, scored by R2, for a numeric target; GDClassifier "
            "and MLPClassifier, scored by accuracy and validation log-loss over "
            "stratified folds, for class labels. The features are standardized; "
            "a CSV's categorical columns are one-hot encoded and its missing "
            "cells imputed, within each fold; its date and ID-like columns, and "
            "rows without a target, are left out. Print the pipeline, train "
            "and validation scores and their gap, and write results.csv, "
            "results.json, figures and report.html."
        ),
    )
    _add_study_arguments(study)
    return parser


def _add_study_arguments(study):
    add = study.add_argument
    add(
        "--data",
        metavar="FILE.csv",
        help="CSV of feature columns (numbers or categories, missing cells "
        "allowed) and a target column (numbers or labels)",
    )
    add("--target", metavar="COLUMN", help="column of --data to predict")
    add(
        "--encoding",
        metavar="NAME",
        type=parse_encoding,
        help="text encoding of --data, such as latin-1, cp1252 or utf-16 "
        "(default: UTF-8, and latin-1 with a note for a file that is not UTF-8)",
    )
    classifications = [
        name for name, (_, task) in DATASETS.items() if task != "regression"
    ]
    add(
        "--dataset",
        choices=list(DATASETS),
        help=f"a data set bundled with scikit-learn, instead of --data (default: "
        f"{DEFAULT_DATASET}; classifications: {', '.join(classifications)})",
    )
    add(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto (the default) chooses as a person would: text and booleans "
        f"are class labels; whole numbers are class labels only when they take "
        f"at most {MAX_CLASSES} distinct values and the rarest is in at least "
        "--cv rows (one for each fold) and, of more than two values, 1%% of "
        "the rows; otherwise a quantity (a count, a "
        "price); other numbers are a regression. The first line printed says "
        "which task was chosen, and why",
    )
    add("--estimator", choices=["gd", "mlp", "both"], default="both")
    add(
        "--param",
        metavar="NAME=V1,V2,...",
        type=parse_param,
        action="append",
        default=[],
        help="values of a constructor parameter; replaces the default grid "
        "of the estimators having it (repeatable)",
    )
    add(
        "--cv",
        metavar="K",
        type=int,
        default=5,
        help="folds, stratified for a classification (default: 5)",
    )
    add(
        "--n-jobs",
        metavar="N",
        type=parse_n_jobs,
        default=None,
        help="stacked runs (or fits) at once, -1 for one per CPU, as in joblib "
        "(default: the CPUs this process may use, here "
        f"{default_n_jobs()}; -1 with --scheduler)",
    )
    add("--random-state", metavar="SEED", type=int, default=0, help="(default: 0)")
    add("--out", metavar="DIR", default="skgd-study", help="(default: skgd-study)")
    add(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on this dask.distributed scheduler, or on a local "
        "cluster of N worker processes started for the run with local:N",
    )
    add("--quiet", action="store_true", help="no progress line")


def _stderr_is_terminal():
    return sys.stderr.isatty()


#: Seconds into an estimator's search after which the time left is shown.
ESTIMATE_AFTER = 3.0
#: Seconds between two redraws of the progress line, at least.
REDRAW_EVERY = 0.5


def format_seconds(seconds):
    """A duration in words: ``"8 s"``, ``"2 min 5 s"``, ``"1 h 3 min"``.

    Parameters
    ----------
    seconds : float
        At least 0.

    Returns
    -------
    text : str
        Rounded up to the second.

    Examples
    --------
    >>> format_seconds(7.2), format_seconds(125), format_seconds(3780)
    ('8 s', '2 min 5 s', '1 h 3 min')
    """
    seconds = math.ceil(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def make_progress(enabled, clock=time.monotonic):
    """A progress callback drawing the candidates and fits done, and the time.

    Such as ``[mlp] ####------ 54/135 candidates, 270/675 fits 40%, 8 s
    elapsed, 12 s left``. The line is redrawn on stderr at most every
    :data:`REDRAW_EVERY` seconds (and at the start and end of each
    estimator's search), and ends with the time the search took. Once the
    search has run :data:`ESTIMATE_AFTER` seconds, it shows an estimate of
    the time left: the time so far times the work left over the work done,
    the work being the fraction ``work`` the search reports (fits of wide
    networks take longer), else the fraction of fits done.

    Parameters
    ----------
    enabled : bool
        False gives a callback that writes nothing.
    clock : callable, default=time.monotonic
        The time in seconds.

    Returns
    -------
    progress : callable
        Called as ``progress(key, done, total, work=None, folds=None)``, with
        ``done`` 0 at the start of each estimator's search. With ``folds``,
        the line counts candidates too: the fits done over the folds, each
        candidate being one fit a fold (a stacked run trains a group of
        candidates on one fold at a time, so this is the candidates' worth of
        fits done).
    """
    runs = {}

    def progress(key, done, total, work=None, folds=None):
        if not enabled:
            return
        now = clock()
        if key not in runs or done == 0:
            runs[key] = {"start": now, "drawn": -math.inf, "width": 0}
        run = runs[key]
        if 0 < done < total and now - run["drawn"] < REDRAW_EVERY:
            return
        run["drawn"] = now
        share = done / total if total else 1.0
        share = share if work is None or done == total else work
        filled = round(30 * share)
        bar = "#" * filled + "-" * (30 - filled)
        counted = f"{done // folds}/{total // folds} candidates, " if folds else ""
        percent = math.floor(100 * share + 1e-9)
        line = f"[{key}] {bar} {counted}{done}/{total} fits {percent}%"
        elapsed = now - run["start"]
        if done == total:
            line += f" in {format_seconds(elapsed)}"
        else:
            line += f", {format_seconds(elapsed)} elapsed"
        if share > 0 and done < total and elapsed >= ESTIMATE_AFTER:
            line += f", {format_seconds(elapsed * (1 - share) / share)} left"
        pad = " " * max(0, run["width"] - len(line))  # erase a longer line
        run["width"] = len(line)
        end = "\n" if done == total else ""
        print(f"\r{line}{pad}", end=end, file=sys.stderr, flush=True)

    return progress


def run(args, written=None):
    """Run ``skgd study`` with parsed arguments; print the tables.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`build_parser`.
    written : list or None, default=None
        The ``--out`` folder is appended to it once it holds the new study
        (see :func:`skgd._report.write_report`).
    """
    from . import _cluster, _report, _study, _study_data

    start = time.perf_counter()
    out = _report.check_out(args.out)
    data = _study_data.load_data(args.data, args.target, args.dataset, args.encoding)
    notes = list(data.notes)
    task, reason = _study.choose_task(data.y, args.task, data.task, args.cv)
    task_line = _study.task_line(task, reason)
    keys = ["gd", "mlp"] if args.estimator == "both" else [args.estimator]
    wide = _study_data.shape_note(len(data.y), data.X.shape[1], keys)
    notes += [wide] if wide else []
    grids = _study.build_grids(keys, dict(args.param), task)
    _study.check_cv(args.cv, data.y, task)
    n_train = len(data.y) - math.ceil(len(data.y) / args.cv)  # the fewest a fold
    grids, adapted = _study.adapt_epochs(keys, grids, n_train, task)
    notes += [adapted] if adapted else []
    dense = _study.dense_bytes(data.X, data.features)
    if dense > _study.DENSE_BYTES:
        notes.append(
            f"gradient boosting is left out of the baselines: its dense input "
            f"would take {dense / 2**30:.1f} GiB"
        )
    print(task_line, flush=True)
    for note in notes:
        print(f"skgd study: note: {note}", file=sys.stderr)
    cv = task.splitter(args.cv, args.random_state)
    n_jobs = args.n_jobs or (-1 if args.scheduler else default_n_jobs())
    lines = []
    for key in keys:
        pipeline = _study.make_pipeline(
            key, args.random_state, task, data.features, grids[key]
        )
        text = _study.pipeline_text(pipeline) + _searched(grids[key])
        lines.append(f"pipeline: {text}")
    print(*lines, "", sep="\n")
    progress = make_progress(not args.quiet and _stderr_is_terminal())
    with _cluster.parallel_backend(args.scheduler):
        studies = _study.run_study(
            keys, grids, data.X, data.y, cv, task=task,
            random_state=args.random_state, n_jobs=n_jobs, progress=progress,
            features=data.features,
        )  # fmt: skip
        started = time.perf_counter()
        baselines = _study.run_baselines(
            data.X, data.y, cv, task=task, features=data.features,
            random_state=args.random_state, n_jobs=n_jobs,
        )  # fmt: skip
        baseline_seconds = time.perf_counter() - started
    timing = _report.time_text(studies, time.perf_counter() - start, baseline_seconds)
    for study in studies:
        print(_report.format_table(study, args.cv), end="\n\n")
    print(_report.format_baselines(baselines, task, args.cv), end="\n\n")
    print(_report.ascii_text(_report.standing_text(studies, baselines)), end="\n\n")
    print(timing, end="\n\n")
    # The report shows a description of several lines as it is printed.
    description = "\n".join(
        [data.description, *lines, *(f"note: {note}" for note in notes)]
    )
    paths = _report.write_report(
        studies, out, description, args.cv, task_line, written, baselines, timing
    )
    print(f"wrote {len(paths)} files to {args.out}, see {paths[-1]}")


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
    try:
        from ._study import StudyError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        return _fail(f'{exc}; pip install "skgd[study]"')
    try:
        run(args, written)
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
