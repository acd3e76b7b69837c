"""Kernel managers whose kernels talk over Unix sockets, not TCP ports.

With TCP, jupyter_client picks free ports, closes them and hands them to the kernel, which binds
them a moment later; a kernel, Dask worker or browser started in between can take one, and the
kernel then dies at start ("Kernel died before replying to kernel_info", ZMQError "Address already
in use"; jupyter/jupyter_client#154). Builds start several kernels at once, and the test suite runs
builds side by side, so the race is real here. Unix sockets named for one kernel cannot collide.

On Linux the sockets live in the abstract namespace (a name starting with "@", which ZeroMQ passes
on): no files, so a kernel killed with its build leaves nothing behind. Other POSIX systems get
socket files in the temporary folder (removed when the kernel is shut down), and Windows, or a
temporary folder whose path is too long for a socket name, TCP as before. Either way the messages
are signed with the kernel's key, as over TCP.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid

from jupyter_client.manager import KernelManager
from traitlets import default

#: Linux allows 107 bytes in a socket path; the kernel adds "-<n>" to the prefix.
_MAX_PREFIX = 96


def _socket_prefix() -> str | None:
    """A fresh path prefix for one kernel's sockets, or None where sockets cannot be used."""
    name = f"vv-kernel-{uuid.uuid4().hex[:16]}"
    if sys.platform.startswith("linux"):
        return "@" + name
    if os.name != "posix":
        return None
    prefix = os.path.join(tempfile.gettempdir(), name)
    return prefix if len(prefix.encode()) <= _MAX_PREFIX else None


class SocketKernelManager(KernelManager):
    """A :class:`~jupyter_client.manager.KernelManager` using the ``ipc`` transport with a socket
    path of its own (see the module's docstring); everything else is jupyter_client's."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc" if self._prefix is not None else "tcp"

    @default("ip")
    def _default_ip(self) -> str:
        return self._prefix if self.transport == "ipc" and self._prefix is not None else super()._ip_default()

    @property
    def _prefix(self) -> str | None:
        if "_vv_prefix" not in self.__dict__:
            self.__dict__["_vv_prefix"] = _socket_prefix()
        return self.__dict__["_vv_prefix"]
