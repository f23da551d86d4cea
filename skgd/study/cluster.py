"""The dask cluster of ``skgd study --scheduler``, from start to shut-down.

:func:`parallel_backend` connects to a running ``dask.distributed`` scheduler,
or starts a local cluster for the run (``local:N``) and shuts it down after,
also when the run fails or is interrupted; inside, joblib's dask backend sends
the fits to the workers. dask is imported only when a scheduler is given.
"""

import os
import re
import signal
from contextlib import contextmanager

from .._exceptions import StudyError
from .._signals import sigint_handled

#: How ``--scheduler`` names a cluster started for the run: ``local:N``.
_LOCAL = "local"


@contextmanager
def parallel_backend(scheduler):
    """Run the fits on a dask cluster when ``scheduler`` names one.

    Inside, joblib's dask backend sends every :class:`joblib.Parallel` call
    (the cross-validation fits) to the cluster's workers.

    Parameters
    ----------
    scheduler : str or None
        Address of a running ``dask.distributed`` scheduler, such as
        ``"tcp://10.0.0.5:8786"``; ``"local:N"`` to start a
        ``distributed.LocalCluster`` of N single-threaded worker processes on
        this machine (on 127.0.0.1, without dashboard) for the run and shut it
        down after, also when the run fails or is interrupted (its workers
        ignore Ctrl-C, which interrupts this process); None runs locally.

    Yields
    ------
    None
    """
    if scheduler is None:
        yield
        return
    n_workers = local_workers(scheduler)
    try:
        import distributed
    except ImportError:
        raise StudyError(
            '--scheduler needs dask.distributed: pip install "dask[distributed]"'
        ) from None
    with _client(distributed, scheduler, n_workers), _dask_backend():
        yield


def local_workers(scheduler):
    """The number of workers of a ``local:N`` scheduler.

    Parameters
    ----------
    scheduler : str
        The ``--scheduler`` option.

    Returns
    -------
    n_workers : int or None
        N for ``"local:N"``: a positive int, at most :func:`max_local_workers`;
        None for any other address.

    Examples
    --------
    >>> local_workers("local:4"), local_workers("tcp://127.0.0.1:8786")
    (4, None)
    >>> local_workers("local:0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    skgd._exceptions.StudyError: --scheduler local:0: N of local:N must be a positive...
    """
    name, _, count = scheduler.partition(":")
    if name != _LOCAL:
        return None
    digits = count.lstrip("0") if re.fullmatch("[0-9]+", count) else ""
    if not digits:
        raise StudyError(
            f"--scheduler {scheduler}: N of local:N must be a positive integer "
            "(the number of worker processes), e.g. local:4"
        )
    limit = max_local_workers()
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise StudyError(
            f"--scheduler {scheduler}: N of local:N is at most {limit} (4 worker "
            f"processes per CPU of this machine); use local:{os.cpu_count() or 1}, "
            "one per CPU, or the --scheduler address of a larger cluster"
        )
    return int(digits)


def max_local_workers():
    """The most workers of a ``local:N`` cluster: 4 per CPU of this machine.

    Each worker is a process of its own, with its own memory; beyond a few per
    CPU they only compete for the CPUs and the memory.

    Returns
    -------
    limit : int
    """
    return 4 * (os.cpu_count() or 1)


@contextmanager
def _client(distributed, scheduler, n_workers):
    """A client of the scheduler, or of a local cluster of ``n_workers``."""
    if n_workers is None:
        try:
            client = distributed.Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            message = f"cannot connect to scheduler {scheduler}: {exc}"
            raise StudyError(message) from None
        with client:
            yield client
        return
    with (
        _environ_kept(),
        _local_cluster(distributed, n_workers) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _local_cluster(distributed, n_workers):
    """A LocalCluster of single-threaded worker processes on the loopback.

    Without a dashboard, the scheduler still serves its HTTP routes (health,
    metrics), by default on port 8787; a free port instead avoids a warning
    when another cluster has that one.

    The workers ignore Ctrl-C (their preload, :func:`dask_setup`), so that
    Ctrl-C on a terminal, which signals every process of the foreground
    group, interrupts only this process; it then shuts the cluster down.
    Otherwise each worker would die with a traceback, and the scheduler log
    errors about the data lost with them. A Ctrl-C during the start-up (a
    few seconds) is kept and raised as KeyboardInterrupt once the cluster
    has started (and is shut down), or has failed to start because it
    reached a worker still starting.
    """
    interrupted = []
    try:
        with sigint_handled(lambda: interrupted.append(True)):
            cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                preload=[__name__],
            )
    except Exception as exc:
        if interrupted:
            raise KeyboardInterrupt from None
        if isinstance(exc, (OSError, TimeoutError)):
            raise StudyError(f"cannot start a local dask cluster: {exc}") from None
        raise
    if interrupted:
        cluster.close()
        raise KeyboardInterrupt
    return cluster


def dask_setup(worker):
    """The preload of a local cluster's workers: they ignore Ctrl-C.

    Parameters
    ----------
    worker : distributed.Worker
        The worker starting, in its own process's main thread.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _environ_kept():
    """Undo what the block writes to ``os.environ``.

    The nannies of a local cluster run in this process and set the variables
    of ``distributed.nanny.pre-spawn-environ`` (``OMP_NUM_THREADS=1``...) here
    for their workers to inherit; they should not outlive the cluster.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


def _dask_backend():
    """joblib's dask backend, for the block of a ``with`` statement."""
    import joblib

    # parallel_config is joblib's preferred API since 1.3; scikit-learn 1.6
    # still accepts joblib 1.2, which has only parallel_backend.
    configure = getattr(joblib, "parallel_config", None) or joblib.parallel_backend
    return configure(backend="dask")
