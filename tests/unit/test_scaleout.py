"""Scaling out on an existing engine (issue 13): joblib's Dask backend when a scheduler is given.

- :func:`veiligverder.stats.scaleout.parallel_backend` ``(None)`` leaves joblib as it was;
- the power curves of a small problem computed on a ``distributed.LocalCluster`` (two worker
  processes) equal the local run exactly, and the cluster's task stream shows that its workers ran
  the simulations;
- an address where no scheduler listens is one clear error naming it (exit code 2 at the command
  line), within seconds;
- the ``scheduler`` build parameter is checked like the others;
- the comparison table of ``veiligverder sites`` copies each site's values, keeps withheld numbers
  withheld and reports a failed site (the builds themselves are run by tests/book/test_sites.py).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from joblib.parallel import get_active_backend

from veiligverder import cli
from veiligverder.params import ParameterError, Params, load_params
from veiligverder.pipeline import sites
from veiligverder.stats import power, scaleout

CLI = [sys.executable, "-m", "veiligverder.cli"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each: the smallest real cluster. Its dashboard takes any free
    port (``":0"``; None does not switch it off): with the default 8787, two clusters started side by
    side (this one, the sites test's) warn that the port is taken."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local:
        yield local


@pytest.fixture()
def closed_address() -> str:
    """A tcp:// address on this machine where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def small_problem() -> dict[str, power.ChangeScores]:
    """Two outcomes' change scores, written out as numbers (no data set, no sample)."""
    return {
        "calm": power.ChangeScores("calm", vv=np.array([-3.0, -1.5, 0.0, -2.0, -4.5, 1.0, -2.5, -0.5]),
                                   control=np.array([-1.0, 0.5, 1.5, -0.5, 0.0, 2.0, -1.5, 1.0, 0.5])),
        "grade": power.ChangeScores("grade", vv=np.array([1.0, 2.0, 0.0, 1.0, 3.0, 1.0, 2.0]),
                                    control=np.array([0.0, 1.0, 0.0, -1.0, 1.0, 0.0, 2.0, 0.0])),
    }


SIZES = (10, 20, 40)
REPLICATIONS = 50


def active() -> tuple[type, int]:
    backend, n_jobs = get_active_backend()
    return type(backend), n_jobs


# --------------------------------------------------------------------------------------------
# (a) no scheduler: nothing changes


def test_no_scheduler_leaves_joblib_as_it_was():
    before = active()
    with scaleout.parallel_backend(None) as client:
        assert client is None
        assert active() == before
    assert active() == before
    with joblib.parallel_config(backend="threading", n_jobs=2):  # whatever the caller chose stays chosen
        outer = active()
        with scaleout.parallel_backend(None):
            assert active() == outer
        assert outer[0].__name__ == "ThreadingBackend"
    assert active() == before


def test_no_scheduler_power_curves_are_unchanged():
    """``scheduler=None`` is the old call: same numbers as without the argument."""
    samples = small_problem()
    old = power.power_curves(samples, sizes=SIZES, replications=REPLICATIONS, seed=3, n_jobs=1, progress=False)
    new = power.power_curves(samples, sizes=SIZES, replications=REPLICATIONS, seed=3, n_jobs=2, progress=False,
                             scheduler=None)
    pd.testing.assert_frame_equal(old, new, check_exact=True)


# --------------------------------------------------------------------------------------------
# (b) on a LocalCluster: the same numbers, computed by the cluster's workers


def test_power_curves_on_a_local_cluster_equal_the_local_run(cluster):
    from distributed import Client, get_task_stream

    samples = small_problem()
    local = power.power_curves(samples, sizes=SIZES, replications=REPLICATIONS, seed=11, n_jobs=2, progress=False)
    with Client(cluster.scheduler_address, set_as_default=False) as observer:
        with get_task_stream(client=observer) as stream:
            remote = power.power_curves(samples, sizes=SIZES, replications=REPLICATIONS, seed=11, progress=False,
                                        scheduler=cluster.scheduler_address)
        workers = set(observer.run(lambda: None))  # the worker addresses
        tasks = stream.data
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert len(remote) == len(samples) * len(SIZES)
    assert remote["power"].between(0, 1).all() and remote["power"].nunique() > 1

    # every (outcome, size) job ran on the cluster: joblib sends them in batches named after the function
    calls = [int(m.group(1)) for t in tasks if (m := re.match(r"batch_of__job_(\d+)_calls", str(t["key"])))]
    assert sum(calls) == len(samples) * len(SIZES), [t["key"] for t in tasks]
    assert {t["worker"] for t in tasks if str(t["key"]).startswith("batch_of__job")} <= workers


def test_power_study_passes_the_scheduler_on(monkeypatch):
    """The power chapter's function hands the build parameter to the simulations."""
    from veiligverder.analysis import power as chapter

    seen = {}

    def fake_curves(samples, **kwargs):
        seen.update(kwargs)
        return pd.DataFrame({"outcome": pd.Series(dtype=object), "n_per_group": pd.Series(dtype=int),
                             "power": pd.Series(dtype=float), "analytic": pd.Series(dtype=float)})

    class NoStudy:  # no outcome takes part: only the call matters
        class gate:
            active = True

        @staticmethod
        def usable(outcome):
            return False

    monkeypatch.setattr(chapter.power, "power_curves", fake_curves)
    chapter.power_study(NoStudy(), ["x"], replications=10, seed=1, scheduler="tcp://10.1.2.3:8786")
    assert seen["scheduler"] == "tcp://10.1.2.3:8786"


def test_the_client_is_closed_after_the_block(cluster):
    with scaleout.parallel_backend(cluster.scheduler_address) as client:
        assert client.status == "running"
        assert type(get_active_backend()[0]).__name__ == "DaskDistributedBackend"
        assert re.fullmatch(r"2 workers, 2 threads", scaleout.describe(client))
    assert client.status == "closed"
    assert type(get_active_backend()[0]).__name__ != "DaskDistributedBackend"


# --------------------------------------------------------------------------------------------
# (c) an unreachable scheduler: one clear error naming the address


def test_unreachable_scheduler_is_a_clear_error(closed_address):
    start = time.monotonic()
    with pytest.raises(scaleout.SchedulerError) as caught:
        with scaleout.parallel_backend(closed_address, timeout=3):
            pytest.fail("the block must not run")
    message = str(caught.value)
    assert closed_address in message and "cannot reach the Dask scheduler" in message
    assert "dask scheduler" in message and "\n" not in message
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("address", ["localhost:8786", "http://localhost:8786", "tcp://", "tcp://host:port"])
def test_malformed_scheduler_address(address):
    with pytest.raises(scaleout.SchedulerError, match="tcp://HOST:PORT"):
        scaleout.connect(address)


def test_unreachable_scheduler_at_the_command_line(tmp_path, closed_address):
    """``build --scheduler`` checks the scheduler before anything runs: exit 2, one line, no output folder."""
    out = tmp_path / "out"
    start = time.monotonic()
    proc = subprocess.run([*CLI, "build", "--no-book", "--out", str(out), "--scheduler", closed_address],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("veiligverder build: cannot reach the Dask scheduler at " + closed_address)
    assert not out.exists()
    assert time.monotonic() - start < 60


def test_unreachable_scheduler_for_sites(tmp_path, closed_address, capsys):
    (tmp_path / "a").mkdir()
    out = tmp_path / "cmp"
    assert cli.main(["sites", "--data", str(tmp_path / "a"), "--out", str(out), "--scheduler", closed_address]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"veiligverder sites: cannot reach the Dask scheduler at {closed_address}")
    assert not (out / "a").exists()  # no build started


# --------------------------------------------------------------------------------------------
# the build parameter


def test_scheduler_parameter_is_checked():
    assert Params().scheduler is None
    assert Params(scheduler="tcp://10.0.0.5:8786").scheduler == "tcp://10.0.0.5:8786"
    assert Params(scheduler="tls://sched.example.org:8786").scheduler.startswith("tls://")
    for bad in ("10.0.0.5:8786", "", "tcp://", 8786):
        with pytest.raises(ParameterError, match="scheduler=.* must be the address of a Dask scheduler"):
            Params(scheduler=bad)


def test_scheduler_from_the_command_line_overrides_the_file(tmp_path):
    f = tmp_path / "p.yml"
    f.write_text("scheduler: tcp://a:1\nseed: 3\n")
    assert load_params(f).scheduler == "tcp://a:1"
    assert load_params(f, scheduler="tcp://b:2") == Params(seed=3, scheduler="tcp://b:2")
    assert load_params(None, scheduler=None).scheduler is None


# --------------------------------------------------------------------------------------------
# the comparison table of `veiligverder sites`


def fake_site(root: Path, name: str, results: dict | None, returncode: int = 0, error: str = "") -> sites.SiteRun:
    out = root / name
    out.mkdir(parents=True)
    if results is not None:
        (out / "results.json").write_text(json.dumps(results))
    return sites.SiteRun(name, root / "data" / name, out, returncode, error)


def test_comparison_table_copies_values_and_keeps_withheld_numbers_withheld(tmp_path):
    a = fake_site(tmp_path, "delft", {
        "n.VV.families": 12, "n.control.families": 4, "qol.mean.VV.baseline": 7.25, "qol.mean.control.baseline": None,
        "qol.anova.interaction.p": None, "qol.anova.interaction.F": 2.0, "other.thing": 1,
        "_meta": {"suppressed": {"n.control.families": "primary: rests on fewer than 5 units",
                                 "qol.mean.control.baseline": "primary: rests on fewer than 5 units",
                                 "qol.anova.interaction.p": "test: a test of groups one of which is withheld"}}})
    b = fake_site(tmp_path, "westland", {"n.VV.families": 9, "n.control.families": 8, "qol.mean.VV.baseline": 6.5,
                                         "qol.mean.control.baseline": 6.0, "qol.anova.interaction.p": 0.25,
                                         "_meta": {"suppressed": {}}})
    # a failed build may leave an older results.json behind: it must not be read
    c = fake_site(tmp_path, "rijswijk", {"n.VV.families": 99, "_meta": {}}, returncode=2,
                  error="veiligverder build: --data x: no such dataset folder")
    table = sites.comparison_table([a, b, c])
    assert list(table.columns) == ["delft", "westland", "rijswijk"]
    assert list(table.index) == ["status", "dataset", "n.VV.families", "n.control.families",
                                 "qol.mean.VV.baseline", "qol.mean.control.baseline", "qol.anova.interaction.p"]
    assert table.loc["status"].tolist() == ["ok", "ok",
                                            "failed (exit 2): veiligverder build: --data x: no such dataset folder"]
    assert table.loc["n.VV.families"].tolist() == [12, 9, ""]
    assert table.loc["n.control.families"].tolist() == ["withheld", 8, ""]
    assert table.loc["qol.mean.control.baseline"].tolist() == ["withheld", 6.0, ""]
    assert table.loc["qol.anova.interaction.p"].tolist() == ["withheld", 0.25, ""]

    md = sites.comparison_markdown(table)
    assert "| n.control.families | withheld | 8 | n/a |" in md
    assert "| qol.mean.VV.baseline | 7.25 | 6.5 | n/a |" in md
    csv = pd.read_csv(pd.io.common.StringIO(table.to_csv()), index_col="result", dtype=str, keep_default_na=False)
    assert csv.loc["n.control.families"].tolist() == ["withheld", "8", ""]


def test_site_folders_are_named_by_their_folder(tmp_path):
    for path in ("x/delft", "y/delft", "z/westland"):
        (tmp_path / path).mkdir(parents=True)
    assert list(sites.site_folders([tmp_path / "x/delft", tmp_path / "z/westland"])) == ["delft", "westland"]
    with pytest.raises(sites.OutputError, match="both named 'delft'"):
        sites.site_folders([tmp_path / "x/delft", tmp_path / "y/delft"])
    with pytest.raises(sites.OutputError, match="no such dataset folder"):
        sites.site_folders([tmp_path / "nowhere"])


def test_error_line_of_a_failed_build():
    stderr = "  ch3: failed\nveiligverder build: chapter ch3 failed: ValueError\n"
    assert sites._error_line(stderr, 1) == "veiligverder build: chapter ch3 failed: ValueError"
    assert sites._error_line("", -9) == "killed by signal 9"
    assert sites._error_line("Segmentation fault\n", 139) == "Segmentation fault"
