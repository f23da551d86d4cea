"""Searches on a dask cluster give the results of a serial run, bit for bit.

A real ``distributed.LocalCluster`` of two single-threaded worker processes
on the loopback serves the whole module; nothing of dask is mocked. Each
search runs serially, through joblib's dask backend and in two loky
processes, and the scores of every fold (computed on the workers) and the
weights of the models must be equal to the last bit, BLAS running on one
thread everywhere (see ``_fit_on``). ``skgd study --scheduler local:N``
starts and stops clusters of its own.
"""

import csv
import json
import os
import pickle
import re
import signal

import numpy as np
import pytest
from joblib import parallel_config
from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from threadpoolctl import threadpool_limits

from skgd import GDRegressor, MLPRegressor, _fitting, model_selection
from skgd._exceptions import StudyError
from skgd.engine import stack as stacked
from skgd.study import cluster
from skgd.study import run as study_run
from skgd.study.cli import main
from skgd.study.cluster import _environ_kept

distributed = pytest.importorskip("distributed")

GD = GDRegressor(batch_size=16, epochs=4, tol=None, random_state=0)
GD_GRID = {"learning_rate": [1e-3, 1e-2, 1e-1], "alpha": [0.0, 1e-2]}
MLP = MLPRegressor((8,), batch_size=16, epochs=4, tol=None, random_state=0)
MLP_GRID = {"learning_rate": [1e-3, 1e-2], "dropout": [0.0, 0.3], "alpha": [0, 1e-2]}


@pytest.fixture(scope="module")
def client():
    """A client of a two-worker LocalCluster, shared by the module.

    The nannies write ``OMP_NUM_THREADS=1`` and the like into this process's
    environment for their workers to inherit; it is restored once they have
    started, so the other tests do not see it. The client closes before the
    cluster, so that it does not lose its connection to a closing scheduler.
    """
    with _environ_kept():
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787
        )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=200, n_features=5, noise=10.0, random_state=0)
    return X, (y - y.mean()) / y.std()


def _fit_on(backend, fit, client):
    """``fit(n_jobs)`` serially, on the cluster, or in two loky processes.

    The workers run BLAS on one thread (the nannies set ``OMP_NUM_THREADS=1``
    and the like; loky gives each worker cores / n_jobs threads), and so does
    this process here. OpenBLAS does not thread products as small as these
    anyway, but it does larger ones, and where it does the last bits depend
    on the number of threads.
    """
    with threadpool_limits(1, user_api="blas"):
        if backend == "serial":
            return fit(1)
        if backend == "loky":
            return fit(2)
        dask = parallel_config(backend="dask")
        with distributed.get_task_stream(client) as tasks, dask:
            result = fit(-1)
    assert tasks.data, "no task ran on the cluster"
    return result


@pytest.fixture
def _assert_same_weights(fitted_weights):
    def check(model, expected):
        assert type(model) is type(expected)
        pairs = zip(fitted_weights(model), fitted_weights(expected), strict=True)
        for got, want in pairs:
            np.testing.assert_array_equal(got, want, strict=True)

    return check


@pytest.fixture
def _assert_same_search(_assert_same_weights):
    def check(search, expected):
        assert search.best_params_ == expected.best_params_
        assert search.cv_results_["params"] == expected.cv_results_["params"]
        results = expected.cv_results_
        scores = [k for k in results if re.fullmatch(r".*_test_score", k)]
        assert "split2_test_score" in scores
        for key in scores:
            np.testing.assert_array_equal(
                search.cv_results_[key], expected.cv_results_[key], err_msg=key
            )
        _assert_same_weights(search.best_estimator_, expected.best_estimator_)

    return check


# ------------------------------------------------------------------- searches


@pytest.mark.parametrize(
    ("estimator", "grid"), [(GD, GD_GRID), (MLP, MLP_GRID)], ids=["gd", "mlp"]
)
def test_grid_search_as_serial(client, data, estimator, grid, _assert_same_search):
    def fit(n_jobs):
        return GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(*data)

    serial = _fit_on("serial", fit, client)
    assert len(set(serial.cv_results_["mean_test_score"])) == len(
        serial.cv_results_["params"]
    ), "candidates that score alike would not tell the backends apart"
    for backend in ("dask", "loky"):
        _assert_same_search(_fit_on(backend, fit, client), serial)


def test_randomized_search_as_serial(client, data, _assert_same_search):
    distributions = {
        "learning_rate": loguniform(1e-3, 1e-1),
        "dropout": uniform(0.0, 0.5),
        "alpha": [0.0, 1e-3, 1e-2],
    }

    def fit(n_jobs):
        search = RandomizedSearchCV(
            MLP, distributions, n_iter=5, cv=3, n_jobs=n_jobs, random_state=0
        )
        return search.fit(*data)

    serial = _fit_on("serial", fit, client)
    assert any(params["dropout"] > 0 for params in serial.cv_results_["params"])
    for backend in ("dask", "loky"):
        _assert_same_search(_fit_on(backend, fit, client), serial)


def test_stacked_search_as_serial(client, data, monkeypatch, _assert_same_search):
    """skgd's stacked search: its stacked runs on the cluster, bit for bit."""
    ran = []
    train_group = stacked.train_group

    def counted(*args):
        ran.append(1)
        return train_group(*args)

    monkeypatch.setattr(model_selection._stacking, "train_group", counted)
    alone = []  # fits trained here on their own, not taken from a stack
    session = _fitting.fit_session
    monkeypatch.setattr(
        _fitting, "fit_session", lambda *a: alone.append(1) or session(*a)
    )

    def fit(n_jobs):
        search = model_selection.GridSearchCV(MLP, MLP_GRID, cv=3, n_jobs=n_jobs)
        return search.fit(*data)

    serial = _fit_on("serial", fit, client)
    assert ran, "the search trained no stack"
    for backend in ("dask", "loky"):
        alone.clear()
        _assert_same_search(_fit_on(backend, fit, client), serial)
        assert alone == [1], backend  # the refit; the folds' fits were stacked


@pytest.mark.parametrize(
    "estimator", [GD, clone(MLP).set_params(dropout=0.3)], ids=["gd", "mlp-dropout"]
)
def test_cross_validate_as_serial(client, data, estimator, _assert_same_weights):
    """The models fitted on the workers come back with the serial weights."""

    def fit(n_jobs):
        return cross_validate(
            estimator, *data, cv=3, n_jobs=n_jobs, return_estimator=True,
            return_train_score=True,
        )  # fmt: skip

    serial = _fit_on("serial", fit, client)
    for backend in ("dask", "loky"):
        result = _fit_on(backend, fit, client)
        for key in ("test_score", "train_score"):
            np.testing.assert_array_equal(result[key], serial[key], err_msg=key)
        for model, expected in zip(result["estimator"], serial["estimator"]):
            _assert_same_weights(model, expected)
            assert model.loss_curve_ == expected.loss_curve_


# ------------------------------------------------------------------- pickles


def _arrays(obj):
    """Every ndarray reachable from ``obj`` through containers and attributes."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, np.random.Generator):
        yield from _arrays(obj.bit_generator.state)
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _arrays(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _arrays(value)
    elif hasattr(obj, "__dict__"):
        yield from _arrays(vars(obj))


@pytest.mark.parametrize(
    "estimator",
    [
        GDRegressor(
            epochs=3, momentum=0.9, validation_fraction=0.2, tol=None, random_state=0
        ),
        MLPRegressor(
            (32,), epochs=3, dropout=0.2, early_stopping=True, tol=None, random_state=0
        ),
    ],
    ids=["gd", "mlp"],
)
def test_a_fitted_estimator_pickles_small(estimator, fitted_weights):
    """What a worker sends back is the model, not the data it was fitted on."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = X @ rng.normal(size=20) + rng.normal(size=20_000)
    model = estimator.fit(X, y)
    n_params = sum(w.size for w in fitted_weights(model))
    # The weights, and at most two optimizer arrays of their size (Adam's
    # moments; a velocity for momentum), with room to spare; a record of a few
    # numbers per epoch; the hyperparameters, generator state and pickle
    # framing in a few kB.
    bound = 4 * 8 * n_params + 300 * model.n_iter_ + 4096
    data = pickle.dumps(model)
    assert len(data) < bound
    assert len(data) < X.nbytes / 20
    copy = pickle.loads(data)
    # No array of the copy, in history_, _training_state or elsewhere, is
    # larger than the weights: none holds rows of X, y or the validation split.
    arrays = list(_arrays(copy))
    assert all(a.size <= n_params for a in arrays), [a.shape for a in arrays]
    np.testing.assert_array_equal(copy.predict(X[:100]), model.predict(X[:100]))


# ------------------------------------------------------------------- skgd study

FAST = ["--cv", "2", "--param", "epochs=3", "--quiet"]
GRID = ["--param", "learning_rate=1e-3,1e-2", "--param", "dropout=0,0.2"]
GRID += ["--cv", "3"]  # the order of folds matters to a mean of three
_FIT_TIME = re.compile(r"\s+\d+\.\d{3}(?=(\s+<- best)?$)")
#: The durations of the line that says how long the study took.
_DURATION = re.compile(r"\d+ (?:h|min|s)\b")


def _study_outputs(out_dir, stdout):
    """The results of a study, without its fit times."""
    records = json.loads((out_dir / "results.json").read_text())
    with (out_dir / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for record in [*records, *rows]:
        assert record.pop("mean_fit_time")
    table = [_FIT_TIME.sub(" <fit s>", line) for line in stdout.splitlines()]
    table = [_DURATION.sub("<time>", line) for line in table]
    return records, rows, table[:-1]  # the last line names the output folder


def _count_tasks(monkeypatch):
    """Count the tasks that each ``run_study`` sends to the cluster."""
    counts = []
    run_study = study_run.run_study

    def counted(*args, **kwargs):
        with distributed.get_task_stream() as tasks:  # of the study's client
            studies = run_study(*args, **kwargs)
        counts.append(len(tasks.data))
        return studies

    monkeypatch.setattr("skgd.study.run.run_study", counted)
    return counts


def test_study_on_a_local_cluster_as_serial(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    environ = dict(os.environ)
    outputs = []
    for scheduler in ([], ["--scheduler", "local:2"]):
        if scheduler:
            tasks = _count_tasks(monkeypatch)
        out_dir = tmp_path / ("local" if scheduler else "serial")
        args = ["study", *FAST, *GRID, *scheduler, "--out", str(out_dir)]
        status = main(args)
        stdout, stderr = capsys.readouterr()
        assert status == 0, stderr
        outputs.append(_study_outputs(out_dir, stdout))
    serial, local = outputs
    assert len(serial[0]) == 8  # 4 GDRegressor and 4 MLPRegressor candidates
    assert len({record["mean_val_r2"] for record in serial[0]}) == 8
    assert local == serial
    assert tasks[0] > 0, "no task ran on the cluster"
    assert dict(os.environ) == environ  # the nannies' variables are gone


def _record_clusters(monkeypatch):
    """The LocalClusters that ``skgd study`` starts, as it starts them."""
    clusters = []
    start = cluster._local_cluster

    def recorded(*args, **kwargs):
        clusters.append(start(*args, **kwargs))
        return clusters[-1]

    monkeypatch.setattr(cluster, "_local_cluster", recorded)
    return clusters


def _ignores_sigint():
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.parametrize("ending", ["failure", "interrupt"])
def test_study_shuts_its_cluster_down(ending, tmp_path, capsys, monkeypatch):
    """On a failure or Ctrl-C; the workers ignore Ctrl-C, leaving it to us."""
    args = ["study", "--estimator", "gd", *FAST, "--out", str(tmp_path)]
    args += ["--scheduler", "local:1"]
    workers_ignore_sigint = []

    def interrupted(*args, **kwargs):
        client = distributed.get_client()
        workers_ignore_sigint.extend(client.run(_ignores_sigint).values())
        raise KeyboardInterrupt

    def refused(*args, **kwargs):  # a failure once the cluster runs
        raise StudyError("every fit of every candidate failed")

    ending_call = refused if ending == "failure" else interrupted
    monkeypatch.setattr("skgd.study.run.run_study", ending_call)
    clusters = _record_clusters(monkeypatch)
    handler = signal.getsignal(signal.SIGINT)
    status = main(args)
    _, err = capsys.readouterr()
    assert status == (2 if ending == "failure" else 130)
    assert ("skgd study: error:" if ending == "failure" else "interrupted") in err
    (cluster,) = clusters
    assert cluster.status == distributed.core.Status.closed
    assert cluster.scheduler.status == distributed.core.Status.closed
    assert signal.getsignal(signal.SIGINT) is handler
    assert workers_ignore_sigint == ([] if ending == "failure" else [True])


def _group_members(pgid):
    """The pids of the live processes of the process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # pgrp; not a zombie
            members.append(int(entry))
    return members


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_ctrl_c_during_the_start_of_a_local_cluster_stops_the_study(
    tmp_path, default_sigint
):
    """A terminal's Ctrl-C (SIGINT to the foreground group) while workers start."""
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    args = [sys.executable, "-m", "skgd", "study", "--estimator", "gd", *FAST]
    args += ["--scheduler", "local:2", "--out", str(out)]
    study = subprocess.Popen(
        args, start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while len(_group_members(study.pid)) < 2 and study.poll() is None:
        assert time.monotonic() < deadline, "no worker process started"
        time.sleep(0.01)
    os.killpg(study.pid, signal.SIGINT)  # the first worker is starting
    _, stderr = study.communicate(timeout=60)
    assert study.returncode == 130, stderr
    assert stderr.strip().endswith("skgd study: interrupted, nothing written")
    assert not (out / "index.html").exists()
    deadline = time.monotonic() + 30
    while _group_members(study.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the cluster's processes end with it
    assert not _group_members(study.pid)
