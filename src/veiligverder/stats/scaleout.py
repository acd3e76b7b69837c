"""Where joblib runs its tasks: local processes (the default) or the workers of a Dask cluster.

Scaling out uses an existing engine, not one of our own: joblib's ``Parallel`` dispatches the tasks
and, given the address of a Dask scheduler, joblib's Dask backend sends them to that cluster's
workers (``dask scheduler`` and ``dask worker ADDR``, or any ``distributed`` deployment).

- :func:`parallel_backend` ``(None)`` changes nothing: joblib's own default (loky processes on this
  machine) stays in force;
- :func:`parallel_backend` ``("tcp://host:8786")`` connects a ``distributed.Client`` to that
  scheduler, runs the block under ``joblib.parallel_config(backend="dask")`` and closes the client
  afterwards.

Results do not depend on where a task runs as long as each task carries its own seed (see
:func:`veiligverder.stats.power.power_curves`). The workers must have the same environment
(``veiligverder`` and its dependencies installed) as the machine that starts the work.

This module sits in the stats layer (the power simulations use it) and imports only third-party
libraries; ``distributed`` is imported only when a scheduler is given.

>>> from joblib.parallel import get_active_backend
>>> before = type(get_active_backend()[0])
>>> with parallel_backend(None) as client:
...     type(get_active_backend()[0]) is before, client
(True, None)
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

#: Address schemes of a Dask scheduler accepted by ``--scheduler`` (TLS needs dask's security settings).
SCHEMES = ("tcp://", "tls://")
DEFAULT_PORT = 8786  # the port ``dask scheduler`` listens on unless told otherwise
CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before giving up


class SchedulerError(RuntimeError):
    """A Dask scheduler address that is malformed or cannot be reached (a user error: exit code 2)."""


def check_address(scheduler: str) -> str:
    """``scheduler`` when it looks like a Dask scheduler address (``tcp://host:port`` or ``tls://...``)."""
    if not isinstance(scheduler, str) or not scheduler.startswith(SCHEMES) or not scheduler.split("://", 1)[1]:
        raise SchedulerError(f"scheduler {scheduler!r} is not a Dask scheduler address; give tcp://HOST:PORT "
                             f"(or tls://HOST:PORT), as printed by `dask scheduler`")
    return scheduler


def _host_port(scheduler: str) -> tuple[str, int]:
    location = scheduler.split("://", 1)[1].rstrip("/")
    host, sep, port = location.rpartition(":")
    if not sep or "]" in port:  # no port given (an IPv6 address keeps its colons inside brackets)
        host, port = location, str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SchedulerError(f"scheduler {scheduler!r}: give the address as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return host, int(port)


def connect(scheduler: str, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A ``distributed.Client`` connected to ``scheduler``; :class:`SchedulerError` (one line, naming
    the address) when it is malformed or nothing answers within ``timeout`` seconds.

    The client is not made the process's default client (``set_as_default=False``), so that it does
    not change what other Dask code in the same process uses.
    """
    check_address(scheduler)
    host, port = _host_port(scheduler)
    hint = "start one with `dask scheduler` (and workers with `dask worker ADDRESS`), or leave out --scheduler"
    try:  # a plain TCP probe first: a refused or unknown address fails at once instead of after retries
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {reason}; {hint}") from None
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - whatever the comm layer raises, the user gets one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SchedulerError(f"cannot connect to the Dask scheduler at {scheduler}: {reason}; {hint}") from None


def describe(client: Any) -> str:
    """``'2 workers, 4 threads'``: what the scheduler has to offer right now."""
    cores = client.ncores()
    return f"{len(cores)} worker{'s' if len(cores) != 1 else ''}, {sum(cores.values())} threads"


def check_scheduler(scheduler: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """Connect to ``scheduler`` and disconnect; return :func:`describe` of it. Raises :class:`SchedulerError`."""
    client = connect(scheduler, timeout)
    try:
        return describe(client)
    finally:
        client.close()


@contextlib.contextmanager
def parallel_backend(scheduler: str | None, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Any]:
    """Run the joblib work of the block locally (``None``) or on the Dask cluster at ``scheduler``.

    Parameters
    ----------
    scheduler : str or None
        None: nothing changes, joblib's default backend (local loky processes) stays in force and
        the block receives None. ``tcp://host:port`` (or ``tls://``): a ``distributed.Client`` is
        connected, ``joblib.parallel_config(backend="dask", client=client)`` holds for the block, the
        block receives the client, and the client is closed afterwards.
    timeout : float
        Seconds to reach the scheduler.

    Raises
    ------
    SchedulerError
        The address is malformed or the scheduler cannot be reached.
    """
    if scheduler is None:
        yield None
        return
    from joblib import parallel_config

    client = connect(scheduler, timeout)
    try:
        with parallel_config(backend="dask", client=client):
            yield client
    finally:
        client.close()
