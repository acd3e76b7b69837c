"""End to end: dataset folder -> notebooks -> results.json -> HTML, as `veiligverder build` runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support.builds import run_cli, stderr_outputs
from veiligverder import paths

pytestmark = pytest.mark.e2e


def counts_from_files(folder: Path) -> dict[str, int]:
    """Tabel 2 counted straight from the CSV files, independently of the package."""
    fam = pd.read_csv(folder / "families.csv", dtype=str)
    par = pd.read_csv(folder / "parents.csv", dtype=str)
    chi = pd.read_csv(folder / "children.csv", dtype=str)
    group = dict(zip(fam.family_id, fam.group))
    out = {}
    for g in ("VV", "control"):
        p0 = par[(par.wave == "T0") & par.family_id.map(group).eq(g)]
        c0 = chi[(chi.wave == "T0") & chi.family_id.map(group).eq(g)]
        out[f"n.{g}.families"] = p0.family_id.nunique()
        out[f"n.{g}.parents"] = p0.parent_id.nunique()
        out[f"n.{g}.children"] = c0.child_id.nunique()
        out[f"n.{g}.children_self_report"] = c0.loc[c0.self_report.astype(float) == 1, "child_id"].nunique()
    return out


def families_behind_counts(folder: Path) -> dict[str, int]:
    """The number of families behind each Tabel 2 count (the disclosure gate's household rule)."""
    fam = pd.read_csv(folder / "families.csv", dtype=str).set_index("family_id")["group"]
    par = pd.read_csv(folder / "parents.csv", dtype=str)
    chi = pd.read_csv(folder / "children.csv", dtype=str)
    par, chi = (t.loc[t["wave"] == "T0"].assign(group=lambda d: d["family_id"].map(fam)) for t in (par, chi))
    out = {}
    for g in ("VV", "control"):
        out[f"n.{g}.families"] = out[f"n.{g}.parents"] = par.loc[par["group"] == g, "family_id"].nunique()
        out[f"n.{g}.children"] = chi.loc[chi["group"] == g, "family_id"].nunique()
        own = chi.loc[(chi["group"] == g) & (pd.to_numeric(chi["self_report"]) == 1)]
        out[f"n.{g}.children_self_report"] = own["family_id"].nunique()
    return out


def test_default_build_writes_the_three_outputs(default_build):
    assert (default_build / "html" / "index.html").exists()
    assert (default_build / "results.json").exists()
    executed = {p.stem for p in (default_build / "notebooks").glob("*.ipynb")}
    assert {p.stem for p in paths.NOTEBOOKS_DIR.glob("*.md")} == executed


def test_table2_counts_on_the_default_data(default_results):
    expected = {"n.VV.families": 34, "n.VV.parents": 39, "n.VV.children": 45, "n.VV.children_self_report": 3,
                "n.control.families": 65, "n.control.parents": 73, "n.control.children": 124,
                "n.control.children_self_report": 32}
    assert {k: default_results[k] for k in expected} == expected
    assert counts_from_files(Path(default_results["_meta"]["dataset_path"])) == expected


def test_meta_entry(default_results):
    meta = default_results["_meta"]
    assert {"dataset_path", "dataset_hash", "parameters", "package_version", "timestamp", "synthetic"} <= set(meta)
    assert meta["synthetic"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", meta["dataset_hash"])
    assert meta["parameters"]["follow_up_rule"] == "latest"


def test_navigation_has_every_chapter_of_the_report(default_build):
    html = (default_build / "html" / "index.html").read_text(encoding="utf-8")
    for title in ["Samenvatting", "1 Introductie", "2 Achtergrond", "3 Methodologische verantwoording",
                  "4 Ervaringen van professionals en cliënten", "5 Effectstudie", "5.1 Achtergrondkenmerken onderzoekspopulatie",
                  "5.2 Geweld in gezinnen", "5.3 Psychische problemen en onveiligheid", "5.4 Opvoedcompetenties en welzijn",
                  "5.5 Risicostatus van de ouders", "5.6 Beoordeling hulp door de deelnemers", "6 Conclusie",
                  "Beyond the report", "Appendix"]:
        assert title in html, title
    # the report's chapters first, then what the compendium adds, then the appendices
    assert html.index("6 Conclusie") < html.index("Beyond the report") < html.index("statistical power") \
        < html.index("Appendix")


def contract_ids() -> list[str]:
    """Every result id that CONTRACT §4 requires (outcomes of §3 from the design)."""
    from veiligverder import design

    groups, waves = ("VV", "control"), ("baseline", "follow_up")
    ids = [f"n.{g}.{k}" for g in groups for k in ("families", "parents", "children", "children_self_report")]
    for o, spec in design.OUTCOMES.items():
        if spec["kind"] in ("continuous", "binary"):
            ids += [f"{o}.mean.{g}.{w}" for g in groups for w in waves] + [f"{o}.n.{g}" for g in groups]
            ids += [f"{o}.anova.{s}.{m}" for s in ("time", "group", "interaction") for m in ("F", "p", "np2")]
    ids += [f"violence_category.share.{g}.{w}.{c}" for g in groups for w in waves for c in ("none", "mild", "severe")]
    ids += [f"violence_category.change_p.{g}" for g in groups] + [f"violence_category.group_p.{w}" for w in waves]
    ids += [f"help_grade.mean.{g}" for g in groups] + [f"help_grade.n.{g}" for g in groups] + ["help_grade.p"]
    return ids


def test_every_contract_id_on_the_default_data(default_results):
    ids = contract_ids()
    assert len(ids) == 254
    assert [i for i in ids if i not in default_results] == []
    # on the twin every one of them is computable
    assert [i for i in ids if default_results[i] is None] == []


def test_no_chapter_writes_to_stderr_on_the_default_data(default_build):
    """No warning or error of a library reaches a chapter (and so the book)."""
    assert stderr_outputs(default_build) == {}


def test_no_chapter_writes_to_stderr_on_the_odd_dataset(other_build):
    """Nor on the odd dataset: one VV family, without children, T1 follow-up, licensed keys."""
    assert stderr_outputs(other_build[1]) == {}


def test_other_dataset_counts_follow_the_data(other_build):
    data, out = other_build  # a small random dataset, its VV group one family without children
    results = json.loads((out / "results.json").read_text())
    assert not (out / "html").exists()
    expected = counts_from_files(data)
    # real data: a count below the disclosure threshold of 5, or of the members of fewer than 5
    # families, is withheld (null, listed with its rule)
    families = families_behind_counts(data)
    shown = {k: (v if v == 0 or (v >= 5 and families[k] >= 5) else None) for k, v in expected.items()}
    assert {k: results[k] for k in expected} == shown
    assert all(k in results["_meta"]["suppressed"] for k, v in shown.items() if v is None)
    assert any(v is None for v in shown.values()) and any(v not in (None, 0) for v in shown.values())
    assert [i for i in contract_ids() if i not in results] == []
    assert expected["n.VV.families"] != 34 or expected["n.control.families"] != 65


def test_no_change_rebuild_uses_the_cache(default_build):
    proc = run_cli("build", "--out", str(default_build))
    assert "executed" not in proc.stdout
    assert "HTML kept" in proc.stdout


def test_nbval_and_same_inputs_same_results(default_build, default_results):
    """nbval runs every published notebook again, each in a fresh kernel (the build ran them in
    shared, long-lived kernels), and compares every output. Each kernel is a new process forked
    from one that has imported the libraries (``support.fork_kernels``: 1.5 s less per notebook). The re-run chapters write their result
    fragments again: they must equal what the build published, so the same inputs give the same
    results without a second build (this replaces a rebuild into another folder)."""
    fragments = default_build / ".run" / ".work" / "fragments"
    before = {p.name: json.loads(p.read_text()) for p in sorted(fragments.glob("*.json"))}
    assert len(before) >= 10  # every chapter that records results (the appendices on contract and provenance do not)
    notebooks = sorted(str(p) for p in (default_build / "notebooks").glob("*.ipynb"))
    # two workers, each running whole notebooks (nbval items are cells: --dist loadfile keeps them together)
    workers = ["-n", "2", "--dist", "loadfile"] if len(os.sched_getaffinity(0)) > 1 else []
    tests = str(Path(__file__).resolve().parents[1])  # for the plugin below
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider", "-p", "support.fork_kernels",
         *workers, "--nbval-current-env", *notebooks],
        capture_output=True, text=True, cwd=default_build, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    after = {p.name: json.loads(p.read_text()) for p in sorted(fragments.glob("*.json"))}
    assert after == before
    merged = {k: v for fragment in after.values() for k, v in fragment.items() if k != "_suppressed"}
    assert {k: v for k, v in default_results.items() if k != "_meta"} == merged


def test_bad_params_file_fails_before_running(tmp_path):
    params = tmp_path / "p.yml"
    params.write_text(yaml.safe_dump({"follow_up_rule": "T9"}))
    proc = run_cli("build", "--out", str(tmp_path / "o"), "--params", str(params), "--no-book", check=False)
    assert proc.returncode == 2  # a user error: one message, exit code 2
    assert "follow_up_rule='T9'" in proc.stderr
    assert not (tmp_path / "o" / "results.json").exists()
