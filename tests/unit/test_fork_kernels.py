"""The nbval run's kernels (``support.fork_kernels``): forked from a process that imported the
book's libraries, each is still a process of its own with an empty namespace, and it reports what
a kernel started the usual way reports about everything a chapter's output could depend on."""

from __future__ import annotations

import json
import os
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is for Linux")

#: What a chapter's output could depend on in the kernel it runs in; printed as JSON.
PROBE = """
_seen = sorted(k for k in globals()
               if not k.startswith("_") and k not in {"In", "Out", "exit", "quit", "get_ipython", "open"})
import json, os, sys
import pandas as pd, matplotlib, numpy as np
import veiligverder.report.figures
print(json.dumps({
    "names": _seen,
    "pandas": {o: pd.get_option(o) for o in ("display.max_columns", "display.max_rows", "display.width",
                                              "display.precision", "display.max_colwidth")},
    "backend": matplotlib.get_backend(),
    "numpy_print": np.get_printoptions()["linewidth"],
    "cwd": os.getcwd(),
    "marker": os.environ.get("VV_PROBE"),
    "argv0": os.path.basename(sys.argv[0]),
    "interactive": sys.flags.interactive,
    "formatters": sorted(k for k, v in get_ipython().display_formatter.formatters.items() if v.enabled),
}))
print(os.getpid(), file=sys.stderr)
"""


def run_probe(manager_class, cwd) -> tuple[dict, int]:
    from jupyter_client.blocking import BlockingKernelClient

    km = manager_class(kernel_name="python3")
    km.start_kernel(cwd=str(cwd), env={**os.environ, "VV_PROBE": "yes"})
    kc = km.client()
    assert isinstance(kc, BlockingKernelClient)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out: dict[str, str] = {"stdout": "", "stderr": ""}

        def hook(msg):
            if msg["msg_type"] == "stream":
                out[msg["content"]["name"]] += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))

        kc.execute_interactive(PROBE, timeout=60, output_hook=hook)
        pid = int(out["stderr"].split()[-1])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return json.loads(out["stdout"]), pid


def test_a_forked_kernel_reports_what_a_started_kernel_does(tmp_path):
    from support import fork_kernels
    from veiligverder.pipeline.kernels import SocketKernelManager

    usual, _ = run_probe(SocketKernelManager, tmp_path)
    forked, pid = run_probe(fork_kernels.ForkKernelManager, tmp_path)
    assert forked == usual
    assert usual["names"] == [] and usual["cwd"] == str(tmp_path) and usual["marker"] == "yes"
    assert usual["pandas"]["display.max_columns"] == 20  # a kernel's, not a terminal's (0: fit to width)
    assert usual["backend"].lower() == "agg"
    # a process of its own, ended with its shutdown
    server = fork_kernels._Server.get().proc.pid
    assert pid not in (os.getpid(), server)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_each_notebook_gets_a_new_process(tmp_path):
    from support import fork_kernels

    (_, first), (_, second) = (run_probe(fork_kernels.ForkKernelManager, tmp_path) for _ in range(2))
    assert first != second
