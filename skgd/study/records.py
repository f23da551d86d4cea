"""The records of ``skgd study``: ``results.csv``, ``results.json`` and
``baselines.json``, one flat record per candidate or baseline, the scores
named by the task's metric (``mean_val_r2``...).
"""

import csv
import json
import math

from .tables import format_value


def result_records(studies):
    """One flat record per estimator and candidate, for CSV and JSON.

    Parameters
    ----------
    studies : list of EstimatorStudy

    Returns
    -------
    records : list of dict
        ``estimator`` (class name), ``params`` and the scores of
        :func:`skgd.study.folds.summarize`, plus ``best``; the scores are named by
        the metric of the task, e.g. ``mean_val_r2`` or ``mean_val_accuracy``
        for ``mean_val_score``.
    """
    records = []
    for study in studies:
        for i, row in enumerate(study.rows):
            scores = _name_scores(row, study.task.metric)
            records.append({"estimator": study.name, **scores, "best": i == study.best})
    return records


def baseline_records(baselines, task):
    """One flat record per baseline, for ``baselines.json``.

    Parameters
    ----------
    baselines : list of skgd.study.baselines.Baseline
    task : Task

    Returns
    -------
    records : list of dict
        ``model`` (class name), ``kind`` and the scores of
        :func:`skgd.study.folds.summarize` named by the metric (``mean_val_r2``...).
    """
    return [
        {
            "model": baseline.name,
            "kind": baseline.kind,
            **_name_scores(
                {k: v for k, v in baseline.row.items() if k != "params"}, task.metric
            ),
        }
        for baseline in baselines
    ]


def _name_scores(row, metric):
    """``row`` with each ``*_score`` key renamed ``*_<metric>``."""
    return {_score_key(key, metric): value for key, value in row.items()}


def _score_key(key, metric):
    """``"mean_val_score"`` becomes ``"mean_val_<metric>"``; others stay."""
    if key.endswith("_score"):
        return key.removesuffix("_score") + f"_{metric}"
    return key


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def write_json(records, path):
    """Write the records as a JSON list (NaN as null)."""
    path.write_text(json.dumps(_jsonable(records), indent=2) + "\n", "utf-8")


def write_csv(records, path):
    """Write the records as CSV: ``params`` as JSON, plus a ``param_<name>``
    column per parameter."""
    names = sorted({name for record in records for name in record["params"]})
    fields = ["estimator", "params", *(f"param_{n}" for n in names)]
    fields += [k for k in records[0] if k not in ("estimator", "params")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        for record in records:
            params = record["params"]
            columns = {f"param_{n}": format_value(params[n]) for n in params}
            params_json = json.dumps(_jsonable(params))
            writer.writerow({**record, "params": params_json, **columns})
