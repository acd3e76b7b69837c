"""pytest plugin (``-p support.socket_kernels``): nbval's kernels talk over Unix sockets, as the
build's do (:mod:`veiligverder.pipeline.kernels`), so that kernels, Dask workers and browsers
started side by side by the test suite never race for a TCP port."""

import nbval.kernel

from veiligverder.pipeline.kernels import SocketKernelManager

nbval.kernel.KernelManager = SocketKernelManager
