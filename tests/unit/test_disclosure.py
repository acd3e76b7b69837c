"""Disclosure control: cells resting on fewer than the threshold of units are blanked on real data."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from veiligverder import analysis


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
