"""Analysability per outcome (issue 10, point 3): which outcomes a valid dataset can answer, and why not.

Small random datasets from tests/datasets.py (3 VV, 6 control, 2 cohort families; seed 1) with
parts removed: the VV children, all children, the VV follow-up waves, all follow-up waves, all but
one VV family. The exact sentences are checked, and the sample sizes against design's samples.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from support.datasets import contract_frames, write_contract_dataset, write_tables
from veiligverder import design
from veiligverder.analysis.analysability import (COLUMNS, not_estimable_reason, outcome_status, sample_counts,
                                        validate_cli, warning_lines)
from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.measures import derive

FAMILIES = {"VV": 3, "control": 6, "cohort": 2}
CHILD_OUTCOMES = [o for o, s in design.OUTCOMES.items() if s["frame"] == "children"]
PARENT_TWO_WAVE = [o for o, s in design.OUTCOMES.items() if s["frame"] == "parents" and s["kind"] != "between"]
FAMILY_OUTCOMES = ["violence_total", "violence_category"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return contract_frames(families=FAMILIES, seed=1)


@pytest.fixture(scope="module")
def vv(frames) -> set[str]:
    fam = frames["families"]
    return set(fam.loc[fam["group"] == "VV", "family_id"])


def _measures(frames: dict[str, pd.DataFrame]):
    data = Dataset(frames["families"], frames["parents"], frames["children"], DatasetMeta(Path("."), "h", False))
    return derive(data)


def _status(frames, **kw) -> pd.DataFrame:
    return outcome_status(_measures(frames), **kw).set_index("outcome")


def _drop_rows(frames, keep) -> dict[str, pd.DataFrame]:
    """``frames`` with the parent and child rows for which ``keep(table)`` is False removed."""
    return {name: (t.loc[keep(t)].reset_index(drop=True) if name != "families" else t) for name, t in frames.items()}


@pytest.fixture(scope="module")
def full(frames) -> pd.DataFrame:
    return _status(frames)


# ------------------------------------------------------------------------------ the whole dataset
def test_one_row_per_outcome_with_sample_sizes_of_design(frames):
    measures = _measures(frames)
    for rule in design.FOLLOW_UP_RULES:
        status = outcome_status(measures, follow_up_rule=rule)
        assert list(status.columns) == COLUMNS
        assert list(status["outcome"]) == list(design.OUTCOMES)
        for row in status.itertuples():
            if row.outcome == "help_grade":
                n = design.help_grade_sample(measures).groupby("group")["unit_id"].nunique()
            else:
                sample = design.analysis_sample(measures, row.outcome, follow_up_rule=rule)
                n = sample.groupby("group")["unit_id"].nunique()
            assert (row.n_VV, row.n_control) == (n.get("VV", 0), n.get("control", 0)), (rule, row.outcome)
            assert (row.reason == "") == (row.status == "ok")


def test_units_named_per_outcome(full):
    assert full.loc["violence_total", "unit"] == "family"
    assert full.loc["safety_grade", "unit"] == "parent" and full.loc["help_grade", "unit"] == "parent"
    assert set(full.loc[CHILD_OUTCOMES, "unit"]) == {"child"}


def test_small_groups_are_withheld_with_counts(full):
    assert full.loc["violence_total", "status"] == "withheld"
    assert full.loc["violence_total", "reason"] == (
        "withheld: the VV group has 3 families and the control group has 4 families with both measurements, "
        "fewer than the disclosure threshold of 5")
    assert full.loc["drinks_partner", "reason"] == (
        "withheld: the VV group has 4 parents with both measurements, fewer than the disclosure threshold of 5")
    assert full.loc["safety_grade", "status"] == "ok" and full.loc["safety_grade", "reason"] == ""
    assert (full["status"] != "not estimable").all()


def test_threshold_decides_withheld(frames):
    low = _status(frames, threshold=3)
    assert low.loc["violence_total", "status"] == "ok"
    assert low.loc["drinks_partner", "status"] == "ok"
    assert (_status(frames, threshold=0)["status"] == "ok").all()  # synthetic data: nothing withheld
    high = _status(frames, threshold=100)
    assert (high["status"] == "withheld").all()


# ------------------------------------------------------------------------------ odd datasets
def test_no_vv_children(frames, vv):
    status = _status(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & ("child_id" in t))))
    for outcome in CHILD_OUTCOMES:
        assert status.loc[outcome, "status"] == "not estimable"
        assert status.loc[outcome, "reason"] == "not estimable on this dataset: no VV child in the dataset"
        assert status.loc[outcome, "n_VV"] == 0 and status.loc[outcome, "n_control"] > 0
    assert status.loc["violence_total", "status"] == "withheld"   # families still count without children
    assert status.loc["safety_grade", "status"] == "ok"


def test_no_children_at_all(frames):
    status = _status(dict(frames, children=frames["children"].iloc[:0]))
    for outcome in CHILD_OUTCOMES:
        assert status.loc[outcome, "status"] == "not estimable"
        assert status.loc[outcome, "reason"] == "not estimable on this dataset: no child in the dataset"
        assert status.loc[outcome, ["n_VV", "n_control"]].tolist() == [0, 0]
    assert status.loc["safety_grade", "status"] == "ok"


def test_vv_without_follow_up_waves(frames, vv):
    status = _status(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & (t["wave"] != "T0"))))
    for outcome, unit in [*((o, "parent") for o in PARENT_TWO_WAVE), *((o, "child") for o in CHILD_OUTCOMES),
                          *((o, "family") for o in FAMILY_OUTCOMES)]:
        assert status.loc[outcome, "status"] == "not estimable"
        assert status.loc[outcome, "reason"] == \
            f"not estimable on this dataset: no VV {unit} has a follow-up measurement (no row at T1 or T2)"
    # the help grade needs no follow-up: one grade per parent, at any wave
    assert status.loc["help_grade", "reason"] == \
        "withheld: the VV group has 4 parents with a help grade, fewer than the disclosure threshold of 5"


def test_no_follow_up_at_all_names_both_groups(frames):
    status = _status(_drop_rows(frames, lambda t: t["wave"] == "T0"))
    assert status.loc["safety_grade", "reason"] == \
        "not estimable on this dataset: no VV or control parent has a follow-up measurement (no row at T1 or T2)"
    assert (status.drop(index="help_grade")["status"] == "not estimable").all()


def test_follow_up_rule_t2_names_its_wave(frames, vv):
    status = _status(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & (t["wave"] == "T2"))),
                     follow_up_rule="T2")
    assert status.loc["safety_grade", "reason"] == \
        "not estimable on this dataset: no VV parent has a follow-up measurement (no row at T2)"
    latest = _status(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & (t["wave"] == "T2"))))
    assert latest.loc["safety_grade", "status"] != "not estimable"  # T1 still serves under 'latest'


def test_no_baseline_values(frames, vv):
    parents = frames["parents"].copy()
    parents.loc[parents["family_id"].isin(vv) & (parents["wave"] == "T0"), "safety_grade"] = float("nan")
    status = _status(dict(frames, parents=parents))
    assert status.loc["safety_grade", "reason"] == "not estimable on this dataset: no VV parent has a baseline value"
    assert status.loc["qol_parent", "status"] != "not estimable"


def test_no_baseline_rows(frames, vv):
    status = _status(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & (t["wave"] == "T0"))))
    assert status.loc["safety_grade", "reason"] == \
        "not estimable on this dataset: no VV parent has a baseline measurement (no row at T0)"


def test_one_vv_family(frames, vv):
    keep = set(frames["families"]["family_id"]) - (vv - {"F0001"})
    status = _status({name: t.loc[t["family_id"].isin(keep)] for name, t in frames.items()})
    assert status.loc["violence_total", "reason"] == \
        "not estimable on this dataset: the VV group has 1 family with both measurements (2 needed)"
    assert status.loc["violence_category", "status"] == "not estimable"
    assert status.loc["violence_child_direct", "reason"] == \
        "not estimable on this dataset: the VV group has 1 child with both measurements (2 needed)"
    assert status.loc["qol_child", "reason"] == "not estimable on this dataset: no VV child has a baseline value"
    # the family's two parents are enough to estimate, not to show
    assert status.loc["safety_grade", "reason"] == \
        "withheld: the VV group has 2 parents with both measurements, fewer than the disclosure threshold of 5"
    assert status.loc["help_grade", "reason"] == \
        "withheld: the VV group has 2 parents with a help grade, fewer than the disclosure threshold of 5"


def test_no_help_grades(frames):
    parents = frames["parents"].assign(help_grade=float("nan"))
    status = _status(dict(frames, parents=parents))
    assert status.loc["help_grade", "reason"] == \
        "not estimable on this dataset: no VV or control parent has a help grade"


def test_sample_counts_on_an_empty_frame():
    empty = pd.DataFrame({"child_id": [], "group": [], "wave": [], "qol_child": []})
    counts = sample_counts(empty, unit="child_id", outcomes=["qol_child", "absent_column"])
    assert counts.shape == (4, 6) and (counts.to_numpy() == 0).all()


def test_helpers(frames, vv):
    status = outcome_status(_measures(_drop_rows(frames, lambda t: ~(t["family_id"].isin(vv) & ("child_id" in t)))))
    rows = status.set_index("outcome")
    assert not_estimable_reason(rows.loc["qol_child"]) == "not estimable on this dataset: no VV child in the dataset"
    assert not_estimable_reason(rows.loc["violence_total"]) is None
    lines = warning_lines(status)
    assert "qol_child (child): not estimable on this dataset: no VV child in the dataset" in lines
    assert len(lines) == (status["status"] != "ok").sum()


# ------------------------------------------------------------------------------ validate
def test_validate_cli_prints_report_disclosure_and_warnings(frames, tmp_path, capsys):
    folder = write_tables(dict(frames, children=frames["children"].iloc[:0]), tmp_path / "no_children")
    assert validate_cli(folder) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{folder}: valid (") and "children: 0 rows" in out[0]
    assert out[1] == ("disclosure control: on (no SYNTHETIC marker file: treated as real data); "
                      "cells based on fewer than 5 units are withheld")
    assert out[2].startswith("warnings: ") and out[2].endswith("follow-up rule latest):")
    assert "  qol_child (child): not estimable on this dataset: no child in the dataset" in out
    assert ("  violence_total (family): withheld: the VV group has 3 families and the control group has 4 families "
            "with both measurements, fewer than the disclosure threshold of 5") in out
    assert not any(line.startswith("  safety_grade") for line in out)


def test_validate_cli_on_synthetic_data_withholds_nothing(tmp_path, capsys):
    folder = write_contract_dataset(tmp_path / "synth", families=FAMILIES, seed=1, synthetic=True)
    assert validate_cli(folder) == 0
    out = capsys.readouterr().out
    assert ("disclosure control: off (the SYNTHETIC manifest matches the generator's files (seed 1)); "
            "no cell is withheld") in out
    assert "withheld:" not in out
    assert "warnings: none" in out


def test_validate_cli_threshold(frames, tmp_path, capsys):
    folder = write_tables(frames, tmp_path / "data")
    assert validate_cli(folder, threshold=3) == 0
    out = capsys.readouterr().out
    assert "fewer than 3 units are withheld" in out and "warnings: none" in out


def test_validate_cli_on_invalid_data_fails_without_warnings(frames, tmp_path, capsys):
    folder = write_tables(frames, tmp_path / "bad")
    (folder / "parents.csv").unlink()
    assert validate_cli(folder) == 1
    out = capsys.readouterr().out
    assert "problem" in out and "warnings" not in out and "disclosure control" not in out
