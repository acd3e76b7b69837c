"""Disclosure control: cells resting on fewer than the threshold of units are blanked on real data."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from veiligverder import analysis
from veiligverder.report.disclosure import suppress


def test_threshold_boundary_and_zero():
    table = pd.DataFrame({"VV": [50.0, 25.0, 0.0], "control": [40.0, 30.0, 30.0], "test": ["p = .5"] * 3},
                         index=["a", "b", "c"])
    counts = pd.DataFrame({"VV": [5, 4, 0], "control": [1, 6, 6]}, index=["a", "b", "c"])
    out = suppress(table, counts, threshold=5)
    assert out.loc["a", "VV"] == 50.0          # 5 units: shown
    assert out.loc["b", "VV"] == "<5"          # 4 units: suppressed and marked
    assert out.loc["c", "VV"] == 0.0           # 0 units reveal nothing: shown
    assert out.loc["a", "control"] == "<5"     # 1 unit
    assert out["test"].tolist() == ["p = .5"] * 3  # columns without counts are left alone
    assert table.loc["b", "VV"] == 25.0        # input untouched
    assert suppress(table, counts, threshold=4).loc["b", "VV"] == 25.0  # threshold is a parameter


def test_counts_from_attrs_and_series():
    table = pd.DataFrame({"x": [1.0, 2.0]}, index=["r1", "r2"])
    table.attrs["counts"] = pd.DataFrame({"x": [3, 9]}, index=["r1", "r2"])
    assert suppress(table).loc["r1", "x"] == "<5"
    plain = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}, index=["r1", "r2"])
    out = suppress(plain, pd.Series([2, 7], index=["r1", "r2"]))
    assert out.loc["r1"].tolist() == ["<5", "<5"] and out.loc["r2"].tolist() == [2.0, 4.0]


def test_bad_counts_are_named():
    table = pd.DataFrame({"x": [1.0]}, index=["r1"])
    with pytest.raises(ValueError, match="not columns of the table"):
        suppress(table, pd.DataFrame({"z": [1]}, index=["r1"]))
    with pytest.raises(ValueError, match="rows without a count"):
        suppress(table, pd.DataFrame({"x": [1]}, index=["other"]))
    with pytest.raises(ValueError, match="at least 1"):
        suppress(table, threshold=0)


def _study(synthetic: bool, *, values=None) -> analysis.Study:
    """A study whose VV group has 3 units with a value and control 6 (parent level); the control
    parents' grades differ from each other (no value dominates) unless ``values`` says otherwise."""
    values = values or [5.0, 5.5, 6.0, 6.5, 7.0, 7.5]
    rows = []
    for i in range(9):
        group = "VV" if i < 3 else "control"
        for wave, shift in (("T0", 0.0), ("T1", 1.0)):
            base = 5.0 + i % 2 if group == "VV" else values[i - 3]
            rows.append({"parent_id": f"p{i}", "group": group, "wave": wave, "safety_grade": base + shift})
    measures = types.SimpleNamespace(parents=pd.DataFrame(rows))
    dataset = types.SimpleNamespace(meta=types.SimpleNamespace(synthetic=synthetic))
    return analysis.Study(dataset, measures, {}, {}, disclosure_threshold=5)


def test_study_blanks_small_group_means_on_real_data_only():
    real = _study(synthetic=False).analyse("safety_grade")
    s = real.summary.set_index(["group", "time"])
    assert np.isnan(s.loc[("VV", "baseline"), "mean"]) and np.isnan(s.loc[("VV", "follow_up"), "ci_high"])
    assert s.loc[("control", "baseline"), "mean"] == pytest.approx(37.5 / 6)
    assert real.results["safety_grade.mean.VV.baseline"] is None
    # the group's size rests on 3 units too (primary rule), and the ANOVA compares a withheld group
    assert real.results["safety_grade.n.VV"] is None and real.results["safety_grade.n.control"] == 6
    assert real.withheld["safety_grade.n.VV"].startswith("primary")
    assert real.withheld["safety_grade.anova.interaction.p"].startswith("test")
    assert real.test["p_unc"].isna().all() and (real.test["words"] == "withheld").all()
    twin = _study(synthetic=True).analyse("safety_grade")
    assert twin.results["safety_grade.mean.VV.baseline"] == pytest.approx(16 / 3)
    assert twin.results["safety_grade.n.VV"] == 3 and twin.withheld == {}


def test_a_dominated_control_mean_is_withheld():
    """Group disclosure for means: 5 of 6 control parents give the same grade, so the mean would
    give away the sixth parent's grade."""
    real = _study(synthetic=False, values=[6.0, 6.0, 6.0, 6.0, 6.0, 9.0]).analyse("safety_grade")
    assert real.withheld["safety_grade.mean.control.baseline"].startswith("group disclosure")
    assert real.results["safety_grade.n.control"] == 6  # the size itself rests on 6 parents
