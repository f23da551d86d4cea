"""The options of ``skgd study``: the parser and the types of its arguments.

This module imports neither scikit-learn nor the study's modules: ``--help``
and a bad option answer at once.
"""

import argparse
import ast
import codecs
import os

from .data import DATASETS, DEFAULT_DATASET
from .task import MAX_CLASSES

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
            "rows without a target, are left out. A learning-rate range test "
            "first centres each grid's learning rates (see --no-range-test). "
            "Print the pipeline, train and validation scores and their gap, "
            "and write results.csv, results.json, range_test.json, figures and "
            "report.html."
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
    add(
        "--no-range-test",
        action="store_true",
        help="skip the learning-rate range test. By default each estimator "
        "first trains 30 constant rates from 1e-5 to 10 (one stacked run on "
        "80%% of the rows, as many epochs as the grid trains, scored on the "
        "other 20%%) and suggests the rate of the lowest validation loss; "
        "without --param learning_rate, the "
        "grid is then centred on it, to two significant digits: the default "
        "grid's rates keep their spread around the suggestion (GD: 0.01 to "
        "100 times it; the MLP: 0.1 to 10 times), and a grid that does not "
        "vary the rate takes the suggestion; when every rate diverges, the "
        "grid is kept",
    )
    add("--quiet", action="store_true", help="no progress line")
