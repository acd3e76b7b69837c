"""``veiligverder sites``: one build per site, dispatched locally or on a Dask cluster, then one table.

Two sites: the session's odd dataset (``other_sites`` in conftest: a small contract dataset whose VV
group is one family, built with ``follow_up_rule: T1`` and a licensed keys folder) and one empty
folder (a site whose build fails). The session runs them once with the default local dispatch (the
command line, two builds at a time; that build of the odd site is ``other_build``, which the other
book tests read); this test runs them again on a ``distributed.LocalCluster`` of two worker
processes (:func:`veiligverder.pipeline.sites.run_sites` with its scheduler address). One real
site keeps the test to two builds of every chapter; the table code is unit-tested with several
sites in tests/unit/test_scaleout.py. The two comparison tables must be byte for byte the same,
every value in them must be the site's own (its ``results.json``, withheld numbers withheld), the
failed site must be reported with its error line while the other is built, and on the cluster the
builds must have been started by the workers' processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from veiligverder.pipeline import sites

pytestmark = pytest.mark.e2e


def numbers(results: dict) -> dict:
    """Every result of a build but its ``_meta`` (which holds paths and times)."""
    return {key: value for key, value in results.items() if key != "_meta"}


def read_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col="result", dtype=str, keep_default_na=False)


def test_sites_on_a_local_cluster_equal_the_local_run(other_sites, tmp_path):
    from distributed import Client, LocalCluster

    local_out, cluster_out = other_sites.out, tmp_path / "cluster"
    site_data, params = [other_sites.data, other_sites.broken], other_sites.params
    proc = other_sites.proc
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one site failed
    assert "broken failed (exit 2)" in proc.stderr and "Traceback" not in proc.stderr

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster.scheduler_address, set_as_default=False) as observer:
        worker_pids = set(observer.run(os.getpid).values())
        result = sites.run_sites(site_data, cluster_out, params_file=params, scheduler=cluster.scheduler_address,
                                 log=lambda line: None)
    assert "the Dask cluster at tcp://" in result.where
    # the cluster's worker processes ran the builds
    assert {run.pid for run in result.sites} <= worker_pids, (result.sites, worker_pids)
    assert [run.name for run in result.failed] == ["broken"]

    # the same table, byte for byte, from both runs
    assert (local_out / "comparison.csv").read_bytes() == (cluster_out / "comparison.csv").read_bytes()
    assert (local_out / "comparison.md").read_bytes() == (cluster_out / "comparison.md").read_bytes()

    table = read_table(cluster_out / "comparison.csv")
    assert list(table.columns) == ["odd", "broken"]
    assert table.loc["status", "odd"] == "ok"
    assert table.loc["status", "broken"].startswith("failed (exit 2): veiligverder build: ")
    assert "problems found" in table.loc["status", "broken"]
    assert (table.drop(index=["status", "dataset"])["broken"] == "").all()
    assert (cluster_out / "broken.log").read_text().count("no families.csv") == 1

    # each site's Tabel 2 counts (and every other compared number) as its own results.json has them
    counts = [key for key in table.index if key.startswith("n.")]
    assert {"n.VV.families", "n.control.families", "n.VV.parents", "n.control.parents"} <= set(counts)
    seen = {"shown": 0, "withheld": 0}
    for name in ("odd",):
        results = json.loads((cluster_out / name / "results.json").read_text())
        suppressed = results["_meta"]["suppressed"]
        assert numbers(results) == numbers(json.loads((local_out / name / "results.json").read_text()))
        for key in table.index.drop(["status", "dataset"]):
            cell = table.loc[key, name]
            if key in suppressed:
                assert cell == "withheld", (name, key, cell)
                assert results[key] is None
                seen["withheld"] += key in counts
            elif results.get(key) is None:
                assert cell == "", (name, key, cell)
            else:
                assert cell == str(results[key]), (name, key, cell, results[key])
                seen["shown"] += key in counts
        assert table.loc["n.control.families", name] == "6"
        assert table.loc["n.VV.families", name] == "withheld"  # one family
    assert seen["shown"] and seen["withheld"], seen  # both kinds of Tabel 2 count were checked

