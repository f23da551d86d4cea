"""The report of ``skgd study``: its files, written whole or not at all.

The files of a run (records, figures and the HTML page) are written to a new
folder beside ``--out``, which then takes the place of ``--out`` as a whole
(see :func:`write_report`): a run that fails or is interrupted leaves the
previous study as it was.
"""

import os
import secrets
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

from .._exceptions import StudyError
from .._signals import sigint_handled
from .figures import DPI, figures
from .page import report_html
from .rangetest import range_record
from .records import baseline_records, result_records, write_csv, write_json


def write_report(
    studies,
    out,
    description,
    n_splits,
    task_text=None,
    written=None,
    baselines=None,
    timing=None,
):
    """Write results.csv, results.json, range_test.json, the PNG figures and
    report.html.

    The files go to a new folder beside ``out``, which replaces ``out`` (and
    everything in it) once they are all written; on an error or Ctrl-C before
    that, the new folder is deleted and ``out`` stays as it was.

    Parameters
    ----------
    studies : list of EstimatorStudy
    out : str or Path
        Directory, created with its parents if needed; refused (StudyError)
        by :func:`check_out`.
    description : str
        The data, for the report: one line, or several (such as the pipeline
        fitted), shown as preformatted text.
    n_splits : int
        Number of cross-validation folds.
    task_text : str or None, default=None
        The task chosen and why, for the report (see
        :func:`~skgd.study.page.report_html`).
    written : list or None, default=None
        ``out`` is appended to it as soon as ``out`` holds the new study,
        Ctrl-C ignored meanwhile, so that a caller interrupted afterwards can
        tell that the study was written.
    baselines : list of skgd.study.baselines.Baseline or None, default=None
        The baselines' scores, for the report and ``baselines.json``.
        ``range_test.json`` holds the range test of each study that ran one
        (:func:`~skgd.study.rangetest.range_record`).
    timing : str or None, default=None
        The time the study took, for the report's summary.

    Returns
    -------
    paths : list of Path
        The files written, in ``out``.
    """
    out = check_out(out)  # again: the folder may have changed since
    with _staged(out, written) as folder:
        names = _write_files(
            studies, folder, description, n_splits, task_text, baselines, timing
        )
    return [out / name for name in names]


def _write_files(
    studies, folder, description, n_splits, task_text=None, baselines=None, timing=None
):
    """Write every output into ``folder``; return their names, report last."""
    records = result_records(studies)
    write_csv(records, folder / "results.csv")
    write_json(records, folder / "results.json")
    extra = []
    tested = [study for study in studies if study.range_test is not None]
    if tested:
        ranges = [range_record(study.name, study.range_test) for study in tested]
        write_json(ranges, folder / "range_test.json")
        extra.append("range_test.json")
    if baselines:
        task = studies[0].task
        write_json(baseline_records(baselines, task), folder / "baselines.json")
        extra.append("baselines.json")
    images = []
    for name, figure in figures(studies).items():
        figure.savefig(folder / name, dpi=DPI)
        images.append(folder / name)
    report = folder / "report.html"
    page = report_html(
        studies, images, description, n_splits, task_text, baselines, timing
    )
    report.write_text(page, "utf-8")
    names = ["results.csv", "results.json", *extra, *(p.name for p in images)]
    return [*names, report.name]


#: The files that a study writes besides its figures (``*.png``).
STUDY_FILES = (
    "results.csv",
    "results.json",
    "range_test.json",
    "baselines.json",
    "report.html",
)


def check_out(out):
    """Check that ``out`` can take the folder of a study, before any work.

    It must not be empty, nor a file, nor under a file; its parent (or the
    nearest existing folder above it) must be writable, and each name to
    create short enough. An existing folder is replaced by the study, so it
    may hold only the files of a previous study, and not the current folder.

    Parameters
    ----------
    out : str or Path
        The ``--out`` option.

    Returns
    -------
    path : Path
        ``out`` as an absolute path, its symbolic links resolved.

    Raises
    ------
    StudyError
        Saying what is wrong with ``out``.
    """
    if not out:
        raise StudyError("--out is empty: name the folder of the study")
    path = Path(out).resolve()
    existing = next(p for p in [path, *path.parents] if os.path.exists(p))
    if not existing.is_dir():
        where = "" if existing == path else f" is under {existing}, which"
        raise StudyError(f"--out {out}{where} is a file: choose a folder")
    if existing == path:
        _check_previous(path, out)
        existing = path.parent
    _check_writable(existing, out)
    _check_names(path.relative_to(existing).parts, existing, out)
    return path


def _check_previous(path, out):
    """Refuse an existing ``out`` holding more than a previous study."""
    if Path.cwd().is_relative_to(path):
        raise StudyError(f"--out {out} holds the current folder: choose another")
    _check_writable(path, out)
    for entry in path.iterdir():
        if not (entry.is_file() and _is_study_file(entry.name)):
            raise StudyError(
                f"--out {out} holds {entry.name}, which skgd study did not write, "
                "and the study would replace it: choose another --out"
            )


def _is_study_file(name):
    return name in STUDY_FILES or name.endswith(".png")


def _check_writable(folder, out):
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StudyError(f"--out {out}: cannot write in {folder}: choose another")


def _check_names(names, folder, out):
    """Refuse a name to create in ``folder`` that the file system refuses."""
    limit = os.pathconf(folder, "PC_NAME_MAX")
    for name in names:
        if len(os.fsencode(name)) > limit:
            raise StudyError(
                f"--out {out}: the name {name[:20]}... is longer than the "
                f"{limit} bytes allowed: choose a shorter one"
            )


@contextmanager
def _staged(out, written=None):
    """A new folder beside ``out``, which replaces ``out`` after the block.

    On an error or Ctrl-C before ``out`` is replaced, the folder is deleted
    instead; an OSError becomes a StudyError. Once ``out`` is replaced, it is
    appended to the list ``written`` (when not None).

    Yields
    ------
    folder : Path
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        folder = _new_folder(out.parent)
    except OSError as exc:
        raise _write_error(out, exc) from None
    try:
        yield folder
        _replace(folder, out, written)
    except BaseException as exc:
        with sigint_handled(signal.SIG_IGN):  # already ending the run
            shutil.rmtree(folder, ignore_errors=True)  # gone once it replaced out
        if isinstance(exc, OSError):
            raise _write_error(out, exc) from None
        raise


def _write_error(out, exc):
    return StudyError(f"cannot write to --out {out}: {exc.strerror or exc}")


def _new_folder(parent):
    """A new folder of a name of its own in ``parent``, with the usual mode."""
    while True:
        folder = parent / f".skgd-study-{secrets.token_hex(6)}"
        try:
            folder.mkdir()  # unlike tempfile.mkdtemp, honours the umask
            return folder
        except FileExistsError:
            continue


def _replace(folder, out, written=None):
    """Put ``folder`` in place of ``out``, deleting the previous ``out``.

    Ctrl-C is ignored meanwhile (a few system calls): the study is complete,
    and stopping half-way would only leave ``out`` missing. ``out`` is
    appended to ``written`` (a list, or None) before Ctrl-C is heeded again.
    """
    old = folder.with_name(folder.name + "-old")
    with sigint_handled(signal.SIG_IGN):
        # Two renames in one folder, then a deletion. A crash after the first
        # leaves no out, the previous study whole in `old` and the new one in
        # `folder` (both hidden, beside out); after the second, the new study
        # in out and the previous one in `old`, to delete by hand.
        moved = os.path.lexists(out)
        if moved:
            os.rename(out, old)
        try:
            os.rename(folder, out)
        except OSError:
            if moved:
                os.rename(old, out)
            raise
        if written is not None:
            written.append(out)
        shutil.rmtree(old, ignore_errors=True)
