"""The progress line of ``skgd study``: candidates and fits done, and the time."""

import math
import sys
import time

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
