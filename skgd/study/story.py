"""What the report of ``skgd study`` says in words.

Where the best candidate stands against the baselines
(:func:`standing_text`), how long the study took (:func:`time_text`), each
estimator's recommended setting (:func:`recommended_text`) and the
candidates that diverged, by learning rate (:func:`diverged_lines`). The
knobs have their own sentences (:mod:`skgd.study.knobs`).
"""

import math
from collections import defaultdict

from .progress import format_seconds
from .tables import (
    candidate_setting,
    format_value,
    score_text,
    setting_text,
    summary_rows,
)


def _best_overall(studies):
    """The study whose best candidate has the highest validation score, or None."""
    found = [study for study in studies if study.best is not None]
    return max(found, key=lambda st: st.rows[st.best]["mean_val_score"], default=None)


def _against(value, baseline):
    """``"0.012 above RidgeCV (0.464)"``, ``"level with ..."``, to 3 decimals."""
    other = baseline.row["mean_val_score"]
    score = score_text(other)
    if baseline.kind == "dummy":
        label = f"the dummy model ({baseline.what}: {score})"
    else:
        label = f"{baseline.name} ({score})"
    if not math.isfinite(other):
        return f"{baseline.name}, which failed"
    diff = round(value, 3) - round(other, 3)
    if abs(diff) < 5e-4:
        return f"level with {label}"
    return f"{abs(diff):.3f} {'above' if diff > 0 else 'below'} {label}"


def standing_text(studies, baselines):
    """Where the best skgd candidate stands against the baselines, in words.

    Parameters
    ----------
    studies : list of EstimatorStudy
    baselines : list of skgd.study.baselines.Baseline
        From :func:`skgd.study.baselines.run_baselines`.

    Returns
    -------
    text : str
        E.g. "The best skgd candidate, GDRegressor with learning_rate=0.01,
        alpha=0.1, has a validation R² of 0.480 ± 0.020: 0.007 below RidgeCV
        (0.487), 0.082 above HistGradientBoostingRegressor (0.398) and 0.481
        above the dummy model (the mean: -0.001)." Then a sentence when it
        does no better than the dummy model, when gradient boosting does best,
        or when the linear model does at least as well.
    """
    label = studies[0].task.label
    by_kind = {baseline.kind: baseline for baseline in baselines}
    study = _best_overall(studies)
    if study is None:
        return "Every skgd candidate failed: only the baselines have scores."
    row = study.rows[study.best]
    value, spread = row["mean_val_score"], row["std_val_score"]
    setting = setting_text(candidate_setting(study, row))
    comparisons = [_against(value, baseline) for baseline in baselines]
    text = (
        f"The best skgd candidate, {study.name}"
        + (f" with {setting}" if setting else "")
        + f", has a validation {label} of {score_text(value)} ± "
        f"{score_text(spread)}: {', '.join(comparisons[:-1])} and "
        f"{comparisons[-1]}."
    )
    # Compared as printed, to 3 decimals, so that the words match the numbers.
    scores = {kind: b.row["mean_val_score"] for kind, b in by_kind.items()}
    scores = {k: round(v, 3) for k, v in scores.items() if math.isfinite(v)}
    value = round(value, 3)
    if "dummy" in scores and value <= scores["dummy"]:
        return text + (
            f" It does no better than the dummy model, which predicts "
            f"{by_kind['dummy'].what} without looking at the features: as the "
            "study uses them, the features predict nothing it could find."
        )
    top = max(scores, key=scores.get, default=None)
    if top == "boosting" and scores[top] > value:
        text += (
            " Gradient boosting does best here, as trees often do on tabular "
            "data: a model trained by gradient descent is worth it where it "
            "comes close, or where it must be one (for partial_fit, say)."
        )
    elif top == "linear" and scores[top] >= value:
        text += (
            f" The closed-form linear model, {by_kind['linear'].name}, does at "
            "least as well."
        )
    return text


def time_text(studies, seconds, baseline_seconds=None):
    """The time the study took and how many fits it stacked, in a sentence.

    Parameters
    ----------
    studies : list of EstimatorStudy
    seconds : float
        The whole study's time, from loading the data to the last score.
    baseline_seconds : float or None, default=None
        The baselines' time, or None without baselines.

    Returns
    -------
    text : str
        E.g. "The study took 42 s: GDRegressor 3 s and MLPRegressor 35 s
        (range test, search and refit), the baselines 4 s; 800 of its 800
        fits were stacked, trained in runs of many candidates at once." The
        range test is named when a study ran one.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> gd = S(name="GDRegressor", seconds=2.5, fits=125, stacked=125)
    >>> time_text([gd], 7.2, 3.1)
    'The study took 8 s: GDRegressor 3 s (search and refit), the baselines \
4 s; 125 of its 125 fits were stacked, trained in runs of many candidates \
at once.'
    """
    parts = [f"{study.name} {format_seconds(study.seconds)}" for study in studies]
    text = f"The study took {format_seconds(seconds)}: " + " and ".join(parts)
    tested = any(getattr(study, "range_test", None) for study in studies)
    text += f" ({'range test, ' if tested else ''}search and refit)"
    if baseline_seconds is not None:
        text += f", the baselines {format_seconds(baseline_seconds)}"
    fits = sum(study.fits for study in studies)
    stacked = sum(study.stacked for study in studies)
    return (
        f"{text}; {stacked} of its {fits} fits were stacked, trained in runs "
        "of many candidates at once."
    )


def recommended_text(study, n_splits):
    """The opening of an estimator's section: its best setting and score.

    Parameters
    ----------
    study : EstimatorStudy
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    text : str
        E.g. "Recommended: learning_rate=0.01, alpha=0.1. Validation R² 0.490
        ± 0.084 (mean ± standard deviation over the 5 folds); training R²
        0.512, so a gap of 0.023." Then the knobs whose best value is at an
        edge of the grid, where a wider grid may do better.
    """
    (summary,) = summary_rows([study])
    if summary["setting"] is None:
        return "Every candidate failed: the table of candidates gives the errors."
    label = study.task.label
    setting = setting_text(summary["setting"]) or "the one candidate"
    text = (
        f"Recommended: {setting}. Validation {label} {score_text(summary['val'])} "
        f"± {score_text(summary['val_std'])} (mean ± standard deviation over "
        f"the {n_splits} folds); training {label} {score_text(summary['train'])}, "
        f"so a gap of {score_text(summary['gap'])}."
    )
    if summary["notes"]:
        text += (
            f" At an edge of the grid ({'; '.join(summary['notes'])}): a wider "
            "grid may do better."
        )
    return text


def _rate(study, row):
    """The learning rate of a candidate: its own, or the estimator's."""
    return row["params"].get("learning_rate", study.pipeline[-1].learning_rate)


def diverged_lines(study):
    """The candidates that failed, by learning rate, one line per rate.

    Parameters
    ----------
    study : EstimatorStudy

    Returns
    -------
    lines : list of str
        E.g. "learning_rate = 1: 5 of 5 candidates diverged"; up to three
        candidates of a rate are named by their other knobs, and a failure
        that is not a divergence gives its first error. Empty when none
        failed.
    """
    by_rate = defaultdict(list)
    for row in study.rows:
        by_rate[_rate(study, row)].append(row)
    lines = []
    for rate in sorted(by_rate, key=lambda r: (isinstance(r, str), r)):
        rows = by_rate[rate]
        failed = [row for row in rows if row["failed"]]
        if not failed:
            continue
        verb = "diverged" if all(row["diverged"] for row in failed) else "failed"
        line = f"learning_rate = {format_value(rate)}: {len(failed)} of {len(rows)} "
        line += f"candidate{'s' if len(rows) > 1 else ''} {verb}"
        others = [k for k in study.varied if k != "learning_rate"]
        if others and len(failed) <= 3:
            named = [
                setting_text({k: row["params"][k] for k in others}) for row in failed
            ]
            line += f" ({'; '.join(named)})"
        if verb == "failed":
            line += f"; first error: {failed[0]['error']}"
        lines.append(line)
    return lines
