"""The build's kernels use Unix sockets of their own (no TCP port race), TCP where they cannot."""

import os

from veiligverder.pipeline import kernels
from veiligverder.pipeline.kernels import SocketKernelManager


def test_on_linux_each_manager_has_its_own_abstract_socket_name(monkeypatch):
    monkeypatch.setattr(kernels.sys, "platform", "linux")
    a, b = SocketKernelManager(kernel_name="python3"), SocketKernelManager(kernel_name="python3")
    assert a.transport == b.transport == "ipc"
    assert a.ip != b.ip
    assert a.ip.startswith("@vv-kernel-") and len(a.ip) == len("@vv-kernel-") + 16  # no file to leave behind
    info = a.get_connection_info()
    assert info["transport"] == "ipc" and info["ip"] == a.ip


def test_elsewhere_on_posix_socket_files_in_the_temporary_folder(monkeypatch):
    monkeypatch.setattr(kernels.sys, "platform", "darwin")
    monkeypatch.setattr(kernels.os, "name", "posix")
    monkeypatch.setattr(kernels.tempfile, "gettempdir", lambda: "/tmp")
    km = SocketKernelManager(kernel_name="python3")
    assert km.transport == "ipc"
    assert os.path.dirname(km.ip) == "/tmp" and os.path.basename(km.ip).startswith("vv-kernel-")


def test_a_socket_path_too_long_falls_back_to_tcp(monkeypatch, tmp_path):
    monkeypatch.setattr(kernels.sys, "platform", "darwin")
    monkeypatch.setattr(kernels.os, "name", "posix")
    monkeypatch.setattr(kernels.tempfile, "gettempdir", lambda: str(tmp_path / ("x" * 120)))
    km = SocketKernelManager(kernel_name="python3")
    assert km.transport == "tcp" and km.ip == "127.0.0.1"


def test_windows_uses_tcp(monkeypatch):
    monkeypatch.setattr(kernels.sys, "platform", "win32")
    monkeypatch.setattr(kernels.os, "name", "nt")
    assert kernels._socket_prefix() is None
