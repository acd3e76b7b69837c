"""pytest plugin (``-p support.fork_kernels``) for the nbval run: every notebook still gets a kernel
process of its own, but forked from a process that has already imported the book's libraries.

nbval starts a fresh kernel for each notebook, which is the point of it: a chapter must give its
published outputs without anything left by another chapter. A fresh kernel, though, first spends
about 1.5 s starting ipykernel and importing pandas, matplotlib, seaborn, scipy and the package:
some 20 s of the 30 s that re-running the 15 chapters costs. Here a small server process imports
them once (:data:`PRELOAD`); each kernel is a fork of it that then starts ipykernel as
``python -m ipykernel_launcher -f <connection file>`` would, in its own session, working folder
and environment. The kernel's namespace is new and empty as in any kernel; only the import work
is shared. What a library decides at import must be what it decides in a kernel: pandas, for one,
asks ``get_ipython()`` whether it runs in a kernel and otherwise fits tables to a terminal's width
(``display.max_columns`` 0, not 20), so the server imports with a ``get_ipython`` in builtins that
answers as a kernel's does. ``tests/unit/test_fork_kernels.py`` compares what a forked kernel and
a kernel started the usual way report (namespace, pandas and numpy display options, matplotlib
backend, display formatters, working folder, environment, ``sys.argv``).

The kernels also talk over Unix sockets (:class:`~veiligverder.pipeline.kernels.SocketKernelManager`).
Linux only (``os.fork``); elsewhere nbval's own kernels are used.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import nbval.kernel
from jupyter_client.provisioning import LocalProvisioner

from veiligverder.pipeline.kernels import SocketKernelManager

#: What every chapter imports (``veiligverder.report.present`` pulls in pandas, matplotlib, seaborn
#: and scipy.stats), the mixed models of the sensitivity chapter, and ipykernel itself.
PRELOAD = ("ipykernel.kernelapp", "veiligverder.report.present", "veiligverder.report.findings",
           "veiligverder.report.results", "veiligverder.analysis.sensitivity", "veiligverder.analysis.power",
           "statsmodels.regression.mixed_linear_model", "myst_nb", "IPython.display", "pyarrow.parquet")

_SERVER_CODE = """
import builtins, importlib, importlib.util, json, os, signal, sys, traceback
class Kernel:  # what a library asks at import to tell a kernel from a terminal (pandas: is_terminal)
    kernel = object()
builtins.get_ipython = Kernel  # as in a kernel, where IPython puts get_ipython into builtins
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
del builtins.get_ipython
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped as they end: no zombies
requests, replies = sys.stdin, sys.stdout
for line in requests:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()  # its own process group, as jupyter_client's launcher gives a kernel
            os.chdir(req["cwd"])
            os.environ.clear()
            os.environ.update(req["env"])
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)  # not the reply pipe; the kernel's own output goes to its clients
            cmd = req["cmd"]
            launcher = importlib.util.find_spec("ipykernel_launcher").origin  # sys.argv[0] under -m
            sys.argv = [launcher, *cmd[cmd.index("ipykernel_launcher") + 1:]]
            from ipykernel import kernelapp
            kernelapp.launch_new_instance()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(0)
    replies.write(f"{pid}\\n")
    replies.flush()
"""


class _Server:
    """The forking process of this pytest process: started on first use, ended at exit."""

    _instance: _Server | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER_CODE, json.dumps(PRELOAD)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        atexit.register(self.close)

    @classmethod
    def get(cls) -> _Server:
        with cls._lock:
            if cls._instance is None or cls._instance.proc.poll() is not None:
                cls._instance = _Server()
            return cls._instance

    def fork(self, cmd: list[str], env: dict[str, str], cwd: str) -> int:
        with self._lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, "env": env, "cwd": cwd}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the kernel fork server failed (exit code {self.proc.poll()})")
        return int(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # the server's loop ends; its kernels are shut down by nbval
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class _Forked:
    """What jupyter_client uses of a kernel's ``Popen``, for a forked kernel (not our child: the
    server reaps it, so it is gone when it has ended)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # ended; its exit status went to the server
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """:class:`~jupyter_client.provisioning.LocalProvisioner` with the kernel forked by the server."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if "ipykernel_launcher" not in cmd:  # another kernel: launched as usual
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = _Server.get().fork(list(cmd), dict(kwargs.get("env") or os.environ), cwd)
        self.process = _Forked(pid)
        self.pid = self.pgid = pid  # setsid() in the child: its group is its pid
        self.cwd = cwd
        return self.connection_info


class ForkKernelManager(SocketKernelManager):
    """A :class:`SocketKernelManager` whose kernels come from :class:`ForkProvisioner`."""

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:
            import uuid

            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


nbval.kernel.KernelManager = ForkKernelManager if sys.platform.startswith("linux") else SocketKernelManager
