"""The synthetic twin reproduces the report: one test per target set of reproduction/claims.yml.

The default twin is written once per session and read back by the project's loader; every achieved
value comes from the project's own scoring (measures.derive, instruments.cronbach_alpha_table),
baseline tables (analysis.baseline: Tabel 2, 3, 4) and statistics (stats.mixed_anova on
design.analysis_sample, stats.stuart_maxwell, stats.chi2_groups, stats.welch_ttest) through
veiligverder.reproduction.calibration.calibration_table, and is judged by
veiligverder.reproduction.verdict.judge with the tolerance claims.yml gives it (the scorecard's):
Tabel 2 exact; Tabel 3 percentages in points; Tabel 4 means relative and percentages in points;
Cronbach's alphas and eta squared absolute; figures: reported direction and significance.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from veiligverder.reproduction.calibration import calibration_table
from veiligverder.synthetic import load_targets
from veiligverder.contract.claims import Claims, ClaimsError, parse_claim
from veiligverder.reproduction.calibration import COLUMNS, CalibrationError
from veiligverder.reproduction.verdict import judge


@pytest.fixture(scope="session")
def twin(synthetic_dataset):
    """The default synthetic twin (seed 20201231), shared with the other tests (conftest)."""
    return synthetic_dataset


@pytest.fixture(scope="session")
def table(twin) -> pd.DataFrame:
    return calibration_table(twin)


def _check_set(table: pd.DataFrame, target_set: str) -> None:
    ids = [e["id"] for e in load_targets().entries(target_set)]
    rows = table.set_index("target").loc[ids]
    bad = rows.loc[~rows["ok"].astype(bool)]
    assert bad.empty, f"{len(bad)} of {len(rows)} {target_set} targets missed:\n" + bad.drop(columns="source").to_string()


def test_table_lists_every_target_once_with_its_source(table):
    targets = load_targets()
    assert list(table.columns) == COLUMNS
    assert table["target"].tolist() == [e["id"] for e in targets.entries()]
    assert table["source"].str.len().gt(0).all()
    assert table["ok"].map(type).eq(bool).all()


def test_table2_participants_exact(table, twin):
    _check_set(table, "table2")
    # oracle: recount VV from the raw tables, independently of the calibration code
    vv = set(twin.families.loc[twin.families["group"] == "VV", "family_id"])
    t0p = twin.parents.loc[(twin.parents["wave"] == "T0") & twin.parents["family_id"].isin(vv)]
    t0c = twin.children.loc[(twin.children["wave"] == "T0") & twin.children["family_id"].isin(vv)]
    assert (t0p["family_id"].nunique(), t0p["parent_id"].nunique(), len(t0c), int(t0c["self_report"].sum())) == (34, 39, 45, 3)


def test_table3_background_within_3_points(table):
    _check_set(table, "table3")


def test_table4_baseline_problems(table):
    _check_set(table, "table4")


def test_alphas_within_005(table):
    _check_set(table, "alphas")


def test_figure_effects_direction_significance_and_size(table):
    _check_set(table, "figures")


# ------------------------------------------------------------------------------------ judging rules
@pytest.mark.parametrize(
    ("entry", "achieved", "tolerance", "ok"),
    [
        ({"id": "x", "value": 34}, 34.0, "exact", True),
        ({"id": "x", "value": 34}, 33.0, "exact", False),
        ({"id": "x", "value": 41.0}, 44.0, {"points": 3.0}, True),       # exactly 3 points off: in
        ({"id": "x", "value": 41.0}, 44.01, {"points": 3.0}, False),
        ({"id": "x", "value": 100}, 85.0, {"relative": 0.15}, True),     # exactly 15 % off: in
        ({"id": "x", "value": 100}, 84.9, {"relative": 0.15}, False),
        ({"id": "x", "value": "< .001"}, 0.001, {"significant": 0.001}, False),
        ({"id": "x", "value": "< .001"}, 0.000999, {"significant": 0.001}, True),
        ({"id": "x", "value": "ns"}, 0.05, {"not_significant": 0.05}, True),
        ({"id": "x", "value": "ns"}, 0.0499, {"not_significant": 0.05}, False),
        ({"id": "x", "value": "equal"}, -0.1, {"range": [-0.1, 0.1]}, True),
        ({"id": "x", "value": "equal"}, -0.11, {"range": [-0.1, 0.1]}, False),
        ({"id": "x", "value": 0.24}, math.nan, {"absolute": 0.04}, False),   # not computable: a miss
    ],
)
def test_judge_boundaries(entry, achieved, tolerance, ok):
    claim = parse_claim({**entry, "source": "test", "tolerance": tolerance})
    assert judge(claim, achieved).ok is ok


def test_judge_rejects_a_malformed_check():
    with pytest.raises(ClaimsError, match="not like"):
        parse_claim({"id": "bad", "source": "test", "value": "x", "tolerance": {"about": 5}})


def test_an_unknown_stat_names_the_claim(twin):
    doc = {"sets": {"figures": {}}, "tolerances": {},
           "claims": [{"id": "fig.bad", "set": "figures", "source": "x", "value": "up", "stat": "median_of_nothing",
                       "tolerance": {"above": 0}}]}
    with pytest.raises(CalibrationError, match=r"fig\.bad: unknown stat 'median_of_nothing'"):
        calibration_table(twin, targets=Claims(doc))
