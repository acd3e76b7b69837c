"""Derived measures (CONTRACT §2): hand examples, every cut-off on both sides, invariance, an oracle."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from veiligverder import contract, paths
from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.measures import TABLE4_FLAGS, MeasureError, derive

NAN = math.nan
CTS_MILD = contract.block_items("cts2", severity="mild")
CTS_SEVERE = contract.block_items("cts2", severity="severe")
CTSPC_MILD = contract.block_items("ctspc", severity="mild")
CTSPC_SEVERE = contract.block_items("ctspc", severity="severe")


# ----------------------------------------------------------------------------------- builders
def blank_table(table: str, n: int) -> pd.DataFrame:
    """``n`` rows with every contract column of ``table``: NaN, and CTS answered 'never' (code 1)."""
    spec = contract.table_spec(table)
    items = [c for p in spec.get("items", {}) for c in contract.item_columns(p)]
    data = {c: np.full(n, np.nan) if col["type"] in ("integer", "number") else np.full(n, None, dtype=object)
            for c, col in spec["columns"].items()}
    data.update({c: np.full(n, np.nan) for c in items})
    df = pd.DataFrame(data)
    for prefix in ("cts2s", "cts2p", "ctspc"):
        if prefix in spec.get("items", {}):
            df[contract.item_columns(prefix)] = 1.0
    df["wave"] = "T0"
    return df


def answer(df: pd.DataFrame, prefix: str, numbers, value, row: int = 0) -> None:
    df.loc[row, contract.item_columns(prefix, list(numbers))] = value


def make(parents: pd.DataFrame, children: pd.DataFrame | None = None, **kw) -> Dataset:
    children = blank_table("children", 0) if children is None else children
    fids = sorted(set(parents["family_id"]) | set(children["family_id"]))
    families = pd.DataFrame({"family_id": fids, "group": "VV", "region": "r", "n_children_over3": 1.0})
    return Dataset(families, parents, children, DatasetMeta(Path("."), "hash", True))


def parents_of(n: int, family_ids=None) -> pd.DataFrame:
    p = blank_table("parents", n)
    p["parent_id"] = [f"P{i}" for i in range(n)]
    p["family_id"] = family_ids if family_ids is not None else [f"F{i}" for i in range(n)]
    return p


def children_of(n: int, family_ids) -> pd.DataFrame:
    c = blank_table("children", n)
    c["child_id"] = [f"C{i}" for i in range(n)]
    c["family_id"] = family_ids
    c["self_report"] = 0.0
    return c


def keys_with(tmp_path: Path, *instruments: str) -> Path:
    """Illustrative keys, but every norm of the given instruments mean 0 and SD 10: T = 50 + raw."""
    folder = tmp_path / "keys"
    shutil.copytree(paths.ILLUSTRATIVE_KEYS_DIR, folder)
    for name in instruments:
        path = folder / f"{name}.yml"
        key = yaml.safe_load(path.read_text())
        key["norms"] = {s: {"mean": 0.0, "sd": 10.0} for s in key["norms"]}
        path.write_text(yaml.safe_dump(key))
    return folder


def raw_answers(total: int, n_items: int) -> list[int]:
    """0-3 answers over ``n_items`` summing to ``total``."""
    out = [3] * (total // 3) + ([total % 3] if total % 3 else [])
    return out + [0] * (n_items - len(out))


# ------------------------------------------------------------------------------------ parents
def test_partner_violence_own_plus_partner_mild_and_severe():
    p = parents_of(3)
    answer(p, "cts2s", [7, 20], [3, 4])              # 1 mild + 2 severe (code 4: twice)
    answer(p, "cts2p", [15], 6)                      # 8 mild
    answer(p, "cts2s", [1, 2], 8, row=1)             # negotiation only: no violence
    answer(p, "cts2p", sorted(CTS_MILD + CTS_SEVERE)[:7], NAN, row=2)   # 26 of 33 answered
    m = derive(make(p)).parents
    assert m["violence_own"].tolist()[:2] == [3, 0] and m["violence_by_partner"].tolist()[:2] == [8, 0]
    assert m["violence_partner"].tolist()[:2] == [11, 0]
    assert m["partner_mild"].tolist()[:2] == [9, 0]
    assert m["partner_severe"].tolist() == [1.0, 0.0, 0.0]
    assert m.loc[2, "violence_own"] == 0 and math.isnan(m.loc[2, "violence_partner"])   # either part missing


def test_partner_severe_answer_code_2_versus_3():
    p = parents_of(3)
    answer(p, "cts2p", [30], 2, row=0)
    answer(p, "cts2p", [30], 3, row=1)
    answer(p, "cts2s", CTS_SEVERE, NAN, row=2)
    answer(p, "cts2p", CTS_SEVERE, NAN, row=2)       # no severe item answered: false
    assert derive(make(p)).parents["partner_severe"].tolist() == [0.0, 1.0, 0.0]


def test_drinks_per_week_and_risky_drinking():
    p = parents_of(3)
    answer(p, "auditc", [1, 2], [2, 4], row=0)       # 0.69 x 12 = 8.28 > 8
    answer(p, "auditc", [1, 2], [4, 0], row=1)       # 5 x 1.5 = 7.5
    answer(p, "auditcp", [1, 2], [3, 1], row=0)      # 2.5 x 3.5 = 8.75
    answer(p, "auditcp", [1], 0, row=1)              # never drinks
    m = derive(make(p)).parents
    assert m["drinks_own"].tolist()[:2] == pytest.approx([8.28, 7.5])
    assert m["risky_drinking_own"].tolist()[:2] == [1.0, 0.0]
    assert m["drinks_partner"].tolist()[:2] == [8.75, 0.0] and m["risky_drinking_partner"].tolist()[:2] == [1.0, 0.0]
    assert math.isnan(m.loc[2, "drinks_own"]) and math.isnan(m.loc[2, "risky_drinking_own"])


def test_income_work_education_and_single_parent():
    p = parents_of(3)
    p["income"] = ["lt1500", "1500_3100", None]
    p["work_hours"] = [11.99, 12.0, NAN]
    p["education"] = ["primary", "mavo_lbo", None]
    p["single_parent"] = [1.0, 0.0, NAN]
    m = derive(make(p)).parents
    for col in ("low_income", "unemployment", "low_education", "single_parent"):
        assert m[col].tolist()[:2] == [1.0, 0.0], col
        assert math.isnan(m.loc[2, col]), col


def test_ace_count_and_four_or_more():
    p = parents_of(3)
    answer(p, "ace", range(1, 11), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], row=0)
    answer(p, "ace", range(1, 11), [1, 1, 1, 1, 0, 0, 0, 0, NAN, NAN], row=1)
    answer(p, "ace", range(1, 11), [1, 1, 1, 1, 1, 1, 1, NAN, NAN, NAN], row=2)   # 7 of 10: missing
    m = derive(make(p)).parents
    assert m["ace_count"].tolist()[:2] == [3, 4] and math.isnan(m.loc[2, "ace_count"])
    assert m["ace4"].tolist()[:2] == [0.0, 1.0] and math.isnan(m.loc[2, "ace4"])


def test_grades_and_help_satisfaction():
    p = parents_of(3)
    p["safety_grade"], p["qol_grade"], p["help_grade"] = [7.0, 3.0, NAN], [6.0, 8.0, 5.0], [6.0, NAN, 9.0]
    p["help_useful"], p["help_important"] = [4.0, 3.0, 4.0], [5.0, 4.0, NAN]
    m = derive(make(p)).parents
    assert m["safety_grade"].tolist()[:2] == [7.0, 3.0] and m["qol_parent"].tolist() == [6.0, 8.0, 5.0]
    assert m["help_grade"].tolist()[0] == 6.0 and math.isnan(m.loc[1, "help_grade"])
    assert m["help_satisfaction"].tolist()[:2] == [4.5, 3.5] and math.isnan(m.loc[2, "help_satisfaction"])
    assert m["help_satisfied"].tolist()[:2] == [1.0, 0.0] and math.isnan(m.loc[2, "help_satisfied"])


def test_parenting_stress_competence_and_the_stress_flag():
    # Illustrative NOSI-K norm: mean 40.4 (report), sd 12: flag at T >= 60, i.e. total >= 52.4.
    p = parents_of(2)
    answer(p, "nosik", range(1, 26), [3, 3] + [2] * 23, row=0)     # 52: T 59.67
    answer(p, "nosik", range(1, 26), [3, 3, 3] + [2] * 22, row=1)  # 53: T 60.5
    answer(p, "nosic", range(1, 14), 4)
    m = derive(make(p)).parents
    assert m["parenting_stress"].tolist() == [52, 53]
    assert m["parenting_stress_high"].tolist() == [0.0, 1.0]
    assert m["parenting_competence"].tolist()[0] == 52


def test_parent_trauma_at_t_64_and_65(tmp_path):
    keys = keys_with(tmp_path, "tsi")
    p = parents_of(3)
    answer(p, "tsi", range(1, 9), raw_answers(14, 8), row=0)       # T 64
    answer(p, "tsi", range(1, 9), raw_answers(15, 8), row=1)       # T 65
    m = derive(make(p), keys_dir=keys).parents
    assert m["parent_trauma"].tolist()[:2] == [0.0, 1.0]
    assert math.isnan(m.loc[2, "parent_trauma"])                    # no TSI answered


def _with_risk_factors(p: pd.DataFrame, row: int, n: int) -> None:
    """Give one parent the first ``n`` of the seven risk factors and none of the others."""
    answer(p, "ace", range(1, 11), [1] * 4 + [0] * 6 if n >= 1 else [0] * 10, row=row)
    p.loc[row, "income"] = "lt1500" if n >= 2 else "gt3100"
    p.loc[row, "work_hours"] = 0.0 if n >= 3 else 40.0
    answer(p, "auditc", [1, 2], [4, 3] if n >= 4 else [0, 0], row=row)
    answer(p, "auditcp", [1, 2], [4, 3] if n >= 5 else [0, 0], row=row)
    p.loc[row, "education"] = "primary" if n >= 6 else "hbo_wo"
    p.loc[row, "single_parent"] = 1.0 if n >= 7 else 0.0


def test_risk_count_and_cumulation_at_4_and_5():
    p = parents_of(4)
    for row, n in enumerate([4, 5, 7]):
        _with_risk_factors(p, row, n)
    default = derive(make(p)).parents
    assert default["risk_count"].tolist()[:3] == [4, 5, 7] and default["risk_known"].tolist()[:3] == [7, 7, 7]
    assert default["cumulative_risk"].tolist()[:3] == [0.0, 1.0, 1.0]
    assert math.isnan(default.loc[3, "risk_count"]) and math.isnan(default.loc[3, "cumulative_risk"])  # none known
    lower = derive(make(p), cumulation_threshold=4).parents
    assert lower["cumulative_risk"].tolist()[:3] == [1.0, 1.0, 1.0]


def test_unknown_risk_factors_count_as_absent():
    p = parents_of(1)
    _with_risk_factors(p, 0, 5)
    p.loc[0, "income"] = None
    m = derive(make(p)).parents
    assert m.loc[0, "risk_count"] == 4 and m.loc[0, "risk_known"] == 6 and m.loc[0, "cumulative_risk"] == 0.0


# ----------------------------------------------------------------------------------- children
def test_child_direct_violence_mild_and_severe():
    c = children_of(3, ["F0", "F0", "F0"])
    answer(c, "ctspc", [1, 5, 10, 23], [8, 3, 4, 5], row=0)   # discipline not counted; 1 + 2 + 4 mild
    answer(c, "ctspc", [15], 2, row=1)                          # severe item, not in the past year
    answer(c, "ctspc", [19], 3, row=2)                          # very severe, once
    answer(c, "ctspcc", range(1, 38), 1, row=0)                 # the child's own report ...
    answer(c, "ctspcc", [5, 15, 23, 37], [4, 3, 7, 3], row=0)   # ... direct 2 + 1, witnessing 15 + 1
    m = derive(make(parents_of(1), c)).children
    assert m.loc[0, "violence_child_direct_self"] == 3 and m.loc[0, "witnessing"] == 16
    assert math.isnan(m.loc[1, "violence_child_direct_self"])   # not filled in
    assert m["violence_child_direct"].tolist() == [7, 0, 1]
    assert m["child_mild"].tolist() == [7, 0, 0]
    assert m["child_severe"].tolist() == [0.0, 0.0, 1.0]


def test_child_trauma_uses_tscc_for_self_reports_and_tscyc_otherwise(tmp_path):
    keys = keys_with(tmp_path, "tscc", "tscyc")
    c = children_of(5, ["F0"] * 5)
    c["self_report"] = [1.0, 1.0, 0.0, 0.0, 1.0]
    answer(c, "tscc", range(1, 10), raw_answers(14, 9), row=0)     # TSCC T 64
    answer(c, "tscc", range(1, 10), raw_answers(15, 9), row=1)     # TSCC T 65
    answer(c, "tscyc", range(41, 51), raw_answers(20, 10), row=1)  # ignored: self-report
    answer(c, "tscyc", range(41, 51), raw_answers(19, 10), row=2)  # TSCYC T 69
    answer(c, "tscyc", range(41, 51), raw_answers(20, 10), row=3)  # TSCYC T 70
    answer(c, "tscyc", range(41, 51), raw_answers(20, 10), row=4)  # self-report without TSCC: no fallback
    m = derive(make(parents_of(1), c), keys_dir=keys).children
    assert m["child_trauma"].tolist()[:4] == [0.0, 1.0, 0.0, 1.0] and math.isnan(m.loc[4, "child_trauma"])


def test_emotional_insecurity_sis_for_self_reports_simspr_otherwise():
    c = children_of(3, ["F0"] * 3)
    c["self_report"] = [1.0, 1.0, 0.0]
    answer(c, "sis", range(1, 45), 3, row=0)                        # 4 x 3 = 12 < 12.4
    answer(c, "sis", range(1, 26), 4, row=1)                        # 4 x 4 = 16
    answer(c, "simspr", range(1, 29), 4, row=1)                     # ignored: self-report
    answer(c, "simspr", range(1, 29), 4, row=2)                     # 16
    m = derive(make(parents_of(1), c)).children
    assert m["emotional_insecurity"].tolist() == [12.0, 16.0, 16.0]
    assert m["emotional_insecure"].tolist() == [0.0, 1.0, 1.0]


def test_attachment_insecure_either_parent_for_self_reports():
    # norms (spec): secm 4.1 - 0.6 = 3.5, secf 3.9 - 0.7 = 3.2, secp 4.2 - 0.5 = 3.7
    c = children_of(5, ["F0"] * 5)
    c["self_report"] = [1.0, 1.0, 0.0, 1.0, 1.0]
    answer(c, "secm", range(1, 16), 3, row=0)                       # mother 3.0: insecure; father missing
    answer(c, "secm", range(1, 16), 5, row=4)                       # mother secure ...
    answer(c, "secf", range(1, 16), 3, row=4)                       # ... father 3.0 <= 3.2: insecure
    answer(c, "secm", range(1, 16), 4, row=1)
    answer(c, "secf", range(1, 16), 4, row=1)                       # both secure
    answer(c, "secp", range(1, 16), 3, row=1)                       # ignored: self-report
    answer(c, "secp", range(1, 16), [3] * 12 + [5] * 3, row=2)      # 3.4 <= 3.7: insecure
    m = derive(make(parents_of(1), c)).children
    assert m["attachment_insecure"].tolist()[:3] == [1.0, 0.0, 1.0] and math.isnan(m.loc[3, "attachment_insecure"])
    assert m.loc[4, "attachment_insecure"] == 1.0                   # either parent suffices


def test_qol_child_only_for_self_reports():
    c = children_of(2, ["F0"] * 2)
    c["self_report"] = [1.0, 0.0]
    for row in (0, 1):
        answer(c, "kid", range(1, 28), 4, row=row)                  # index: 8 x 4 + 2 reversed x 2 = 36
    m = derive(make(parents_of(1), c)).children
    assert m.loc[0, "qol_child"] == pytest.approx(50 + 10 * (36 - 38.0) / 5.5)
    assert math.isnan(m.loc[1, "qol_child"])


# ----------------------------------------------------------------------------------- families
def test_family_aggregation_of_violence():
    p = parents_of(4, ["F0", "F0", "F1", "F2"])
    answer(p, "cts2s", [15], 5, row=0)                              # parent 0: 4
    answer(p, "cts2s", CTS_MILD, NAN, row=1)
    answer(p, "cts2s", CTS_SEVERE, NAN, row=1)                      # parent 1: missing
    answer(p, "cts2p", [15], 7, row=2)                              # F1: 15, no children
    answer(p, "cts2p", CTS_MILD + CTS_SEVERE, NAN, row=3)           # F2: partner missing
    c = children_of(4, ["F0", "F0", "F2", "F3"])
    answer(c, "ctspc", [10], 4, row=0)                              # 2
    answer(c, "ctspc", CTSPC_MILD + CTSPC_SEVERE, NAN, row=1)       # no value
    answer(c, "ctspc", [10], 3, row=2)
    f = derive(make(p, c)).families.set_index("family_id")
    assert f.loc["F0", ["violence_partner", "violence_child_direct", "violence_total"]].tolist() == [4, 2, 6]
    assert f.loc["F0", ["n_parents", "n_children"]].tolist() == [2, 2]
    assert f.loc["F1", ["violence_partner", "violence_child_direct", "violence_total"]].tolist() == [15, 0, 15]
    assert math.isnan(f.loc["F2", "violence_partner"]) and math.isnan(f.loc["F2", "violence_total"])
    assert f.loc["F2", "violence_child_direct"] == 1 and pd.isna(f.loc["F2", "violence_category"])
    assert f.loc["F3", "n_parents"] == 0 and math.isnan(f.loc["F3", "violence_total"])   # children only
    assert set(f["group"]) == {"VV"} and (f["wave"] == "T0").all()


# partner mild incidents from answer codes: code 3 -> 1, 4 -> 2, 5 -> 4, 7 -> 15 (contract map)
PARTNER_CODES = {3: [3, 4], 4: [5], 21: [7, 5, 4], 22: [7, 5, 4, 3]}
CHILD_CODES = {0: [], 1: [3], 2: [4], 3: [4, 3]}


@pytest.mark.parametrize(("partner_mild", "partner_severe", "child_mild", "child_severe", "expected"), [
    (3, False, 0, False, "none"),      # partner 3 / 4 boundary
    (4, False, 0, False, "mild"),
    (21, False, 0, False, "mild"),     # partner 21 / 22 boundary
    (22, False, 0, False, "severe"),
    (0, True, 0, False, "severe"),     # any severe partner item
    (0, False, 1, False, "mild"),      # child 0 / 1 boundary (0 is the first row)
    (0, False, 2, False, "mild"),      # child 2 / 3 boundary
    (0, False, 3, False, "severe"),
    (0, False, 0, True, "severe"),     # any severe child item
    (4, False, 3, False, "severe"),    # the family takes the worse
    (3, False, 2, False, "mild"),
])
def test_violence_category_boundaries(partner_mild, partner_severe, child_mild, child_severe, expected):
    p = parents_of(1, ["F0"])
    answer(p, "cts2s", CTS_MILD[:len(PARTNER_CODES.get(partner_mild, []))], PARTNER_CODES.get(partner_mild, []))
    if partner_severe:
        answer(p, "cts2p", [36], 3)
    c = children_of(1, ["F0"])
    codes = CHILD_CODES[child_mild]
    answer(c, "ctspc", CTSPC_MILD[:len(codes)], codes)
    if child_severe:
        answer(c, "ctspc", [15], 3)
    f = derive(make(p, c)).families.iloc[0]
    assert (f["partner_mild"], f["child_mild"]) == (partner_mild, child_mild)
    assert f["violence_category"] == expected


def test_violence_category_uses_the_mean_of_partner_mild_over_parents():
    p = parents_of(3, ["F0", "F0", "F1"])
    answer(p, "cts2s", CTS_MILD[:3], [7, 5, 4], row=0)              # 21
    answer(p, "cts2s", CTS_MILD[:4], [7, 5, 4, 3], row=1)           # 22: mean 21.5 -> mild
    answer(p, "cts2s", CTS_MILD, NAN, row=2)                        # partner mild missing
    f = derive(make(p)).families.set_index("family_id")
    assert f.loc["F0", "partner_mild"] == 21.5 and f.loc["F0", "violence_category"] == "mild"
    assert pd.isna(f.loc["F1", "violence_category"])
    assert f.loc["F0", "child_mild"] == 0                           # no child data: none


def test_table4_family_flags():
    p = parents_of(3, ["F0", "F0", "F1"])
    p["income"], p["work_hours"], p["education"], p["single_parent"] = "lt1500", 0.0, "primary", 1.0
    answer(p, "ace", range(1, 11), 1, row=1)                        # F0: one parent ACE 10, both cumulative
    answer(p, "nosik", range(1, 26), 6, row=0)                      # F0 parent 0: stress 150
    c = children_of(3, ["F0", "F0", "F1"])
    answer(c, "simspr", range(1, 29), 5, row=0)                     # insecure
    answer(c, "simspr", range(1, 29), 1, row=1)                     # secure
    answer(c, "secp", range(1, 16), 5, row=0)                       # secure
    f = derive(make(p, c)).families.set_index("family_id")
    assert f.loc["F0", "any_child_emotional_insecure"] == 1.0
    assert math.isnan(f.loc["F1", "any_child_emotional_insecure"])
    assert f.loc["F0", "any_child_insecure_attachment"] == 0.0
    assert f.loc["F0", "any_parent_parenting_stress"] == 1.0 and math.isnan(f.loc["F1", "any_parent_parenting_stress"])
    assert f.loc["F0", "any_parent_ace4"] == 1.0 and math.isnan(f.loc["F1", "any_parent_ace4"])
    assert f.loc["F0", "any_parent_cumulative_risk"] == 1.0   # ace4 + income + work + education + single
    assert f.loc["F1", "any_parent_cumulative_risk"] == 0.0   # 4 known factors, ACE unknown
    assert set(TABLE4_FLAGS.values()) <= set(f.columns)


# ----------------------------------------------------------------------------- errors, order
def test_errors_name_table_column_and_fix():
    p = parents_of(2)
    with pytest.raises(MeasureError, match=r"parents lacks columns \['income'\].*mapping\.yml"):
        derive(make(p.drop(columns=["income"])))
    p.loc[1, "parent_id"] = "P0"
    with pytest.raises(MeasureError, match=r"2 duplicate rows for key \['parent_id', 'wave'\]"):
        derive(make(p))
    for bad in (0, 8, 2.5, True):
        with pytest.raises(MeasureError, match="cumulation_threshold"):
            derive(make(parents_of(1)), cumulation_threshold=bad)


def random_dataset(n_families: int, seed: int) -> Dataset:
    """Random contract data with CTS answers mostly 'never', so every category occurs."""
    rng = np.random.default_rng(seed)
    prow, crow = [], []
    for f in range(n_families):
        for k in range(rng.integers(1, 3)):
            prow += [(f"P{f}_{k}", f"F{f}", w) for w in ("T0", "T1", "T2") if rng.random() < 0.8]
        for k in range(rng.integers(0, 3)):
            crow += [(f"C{f}_{k}", f"F{f}", w) for w in ("T0", "T1", "T2") if rng.random() < 0.8]
    tables = {}
    for table, rows in (("parents", prow), ("children", crow)):
        df = blank_table(table, len(rows))
        df[[f"{table[:-1] if table == 'parents' else 'child'}_id", "family_id", "wave"]] = rows
        missing = rng.choice([0.0, 0.1, 0.3], size=(len(df), 1))
        for prefix, block in contract.table_spec(table)["items"].items():
            cols = contract.item_columns(prefix)
            if prefix.startswith("cts"):
                probs = [0.9, 0.03, 0.03, 0.01, 0.01, 0.01, 0.005, 0.005]
                a = rng.choice(np.arange(1, 9), p=probs, size=(len(df), len(cols)))
            else:
                a = rng.integers(block["min"], block["max"] + 1, size=(len(df), len(cols)))
            a = a.astype(float)
            a[rng.random(a.shape) < missing] = np.nan
            df[cols] = a
        tables[table] = df
    p, c = tables["parents"], tables["children"]
    n = len(p)
    p["income"] = rng.choice(np.array(["lt1500", "1500_3100", "gt3100", None], dtype=object), n)
    p["education"] = rng.choice(np.array(["primary", "mavo_lbo", "hbo_wo", None], dtype=object), n)
    p["work_hours"] = np.where(rng.random(n) < 0.1, NAN, rng.choice([0.0, 8.0, 11.5, 12.0, 24.0, 36.0], n))
    p["single_parent"] = np.where(rng.random(n) < 0.1, NAN, rng.integers(0, 2, n))
    for col in ("safety_grade", "qol_grade", "help_grade"):
        p[col] = rng.integers(1, 11, n).astype(float)
    for col in ("help_useful", "help_important"):
        p[col] = np.where(rng.random(n) < 0.2, NAN, rng.integers(1, 6, n))
    c["self_report"] = rng.integers(0, 2, len(c)).astype(float)
    c["age_years"] = rng.integers(3, 18, len(c)).astype(float)
    return make(p, c)


def test_measures_do_not_depend_on_row_or_column_order():
    ds = random_dataset(60, seed=1)
    rng = np.random.default_rng(2)

    def shuffle(df):
        return df.sample(frac=1.0, random_state=3)[list(rng.permutation(df.columns))]

    a = derive(ds)
    b = derive(Dataset(shuffle(ds.families), shuffle(ds.parents), shuffle(ds.children), ds.meta))
    for level in ("parents", "children", "families"):
        pd.testing.assert_frame_equal(getattr(a, level), getattr(b, level)[getattr(a, level).columns])


# --------------------------------------------------------------------------------------- oracle
def naive_measures(ds: Dataset) -> dict[str, dict]:
    """CONTRACT §2 written out as plain loops over rows and items (no specs, no numpy)."""
    freq = contract.cts_frequency()
    q1, q2 = contract.auditc_midpoints()

    def incidents(row, prefix, numbers):
        cols = contract.item_columns(prefix, numbers)
        answered = [row[c] for c in cols if not math.isnan(row[c])]
        if len(answered) < 0.8 * len(cols) - 1e-9:
            return NAN
        return sum(freq[int(a)] for a in answered)

    def any_severe(row, prefixes, numbers):
        cols = [c for p in prefixes for c in contract.item_columns(p, numbers)]
        return float(any(row[c] >= 3 for c in cols if not math.isnan(row[c])))

    def drinks(row, prefix):
        a, b = row[f"{prefix}_1"], row[f"{prefix}_2"]
        if a == 0:
            return 0.0
        return NAN if math.isnan(a) or math.isnan(b) else q1[int(a)] * q2[int(b)]

    parents, children = {}, {}
    for _, r in ds.parents.iterrows():
        nonneg = sorted(CTS_MILD + CTS_SEVERE)
        d = {"violence_partner": incidents(r, "cts2s", nonneg) + incidents(r, "cts2p", nonneg),
             "partner_mild": incidents(r, "cts2s", CTS_MILD) + incidents(r, "cts2p", CTS_MILD),
             "partner_severe": any_severe(r, ["cts2s", "cts2p"], CTS_SEVERE),
             "drinks_own": drinks(r, "auditc"), "drinks_partner": drinks(r, "auditcp")}
        aces = [r[c] for c in contract.item_columns("ace") if not math.isnan(r[c])]
        d["ace_count"] = sum(aces) if len(aces) >= 8 else NAN
        factors = [
            NAN if math.isnan(d["ace_count"]) else float(d["ace_count"] >= 4),
            NAN if r["income"] is None else float(r["income"] == "lt1500"),
            NAN if math.isnan(r["work_hours"]) else float(r["work_hours"] < 12),
            NAN if math.isnan(d["drinks_own"]) else float(d["drinks_own"] > 8),
            NAN if math.isnan(d["drinks_partner"]) else float(d["drinks_partner"] > 8),
            NAN if r["education"] is None else float(r["education"] == "primary"),
            NAN if math.isnan(r["single_parent"]) else float(r["single_parent"] == 1),
        ]
        known = [x for x in factors if not math.isnan(x)]
        d["risk_count"] = float(sum(known)) if known else NAN
        d["cumulative_risk"] = NAN if not known else float(sum(known) >= 5)
        d["low_income"], d["unemployment"] = factors[1], factors[2]
        parents[(r["parent_id"], r["wave"])] = (r["family_id"], d)
    direct = list(range(5, 28))
    for _, r in ds.children.iterrows():
        d = {"violence_child_direct": incidents(r, "ctspc", direct), "child_mild": incidents(r, "ctspc", CTSPC_MILD),
             "child_severe": any_severe(r, ["ctspc"], CTSPC_SEVERE)}
        children[(r["child_id"], r["wave"])] = (r["family_id"], d)

    families: dict[tuple, dict] = {}
    for (_, wave), (fid, d) in list(parents.items()) + list(children.items()):
        families.setdefault((fid, wave), {"p": [], "c": []})
    for (_, wave), (fid, d) in parents.items():
        families[(fid, wave)]["p"].append(d)
    for (_, wave), (fid, d) in children.items():
        families[(fid, wave)]["c"].append(d)
    fam_out = {}
    for key, members in families.items():
        pv = [d["violence_partner"] for d in members["p"] if not math.isnan(d["violence_partner"])]
        pm = [d["partner_mild"] for d in members["p"] if not math.isnan(d["partner_mild"])]
        cv = [d["violence_child_direct"] for d in members["c"] if not math.isnan(d["violence_child_direct"])]
        cm = [d["child_mild"] for d in members["c"] if not math.isnan(d["child_mild"])]
        partner = sum(pv) / len(pv) if pv else NAN
        child = float(sum(cv))
        category = NAN
        if pm:
            mild = sum(pm) / len(pm)
            severe = any(d["partner_severe"] == 1 for d in members["p"])
            part = 2 if severe or mild >= 22 else (1 if mild >= 4 else 0)
            cmild = sum(cm)
            csev = any(d["child_severe"] == 1 for d in members["c"])
            chil = 2 if csev or cmild >= 3 else (1 if cmild >= 1 else 0)
            category = ("none", "mild", "severe")[max(part, chil)]
        fam_out[key] = {"violence_partner": partner, "violence_child_direct": child,
                        "violence_total": partner + child, "violence_category": category}
    return {"parents": {k: v[1] for k, v in parents.items()}, "children": {k: v[1] for k, v in children.items()},
            "families": fam_out}


def test_measures_match_a_naive_loop_implementation_on_random_data():
    ds = random_dataset(150, seed=5)
    got = derive(ds)
    expected = naive_measures(ds)
    for level, key in (("parents", ["parent_id", "wave"]), ("children", ["child_id", "wave"]),
                       ("families", ["family_id", "wave"])):
        frame = getattr(got, level).set_index(key)
        want = pd.DataFrame.from_dict(expected[level], orient="index")
        want.index = pd.MultiIndex.from_tuples(want.index, names=key)
        assert len(frame) == len(want)
        want = want.loc[frame.index]
        for col in want.columns:
            if col == "violence_category":
                assert (frame[col].fillna("NA") == want[col].fillna("NA")).all()
                assert frame[col].nunique() == 3          # the random data reach all three categories
            else:
                np.testing.assert_allclose(frame[col].to_numpy(float), want[col].to_numpy(float),
                                           err_msg=f"{level}.{col}")
    assert got.parents["cumulative_risk"].isin([1.0]).any() and got.parents["violence_partner"].isna().any()


def test_sorted_keeps_a_frame_in_key_order_and_sorts_one_that_is_not():
    """A frame already in key order with a 0..n-1 index is returned as it is (no copy of every
    column); any other comes back sorted (stable) with a fresh 0..n-1 index."""
    from veiligverder.measures import _sorted

    ordered = pd.DataFrame({"id": ["a", "a", "b"], "wave": ["T0", "T1", "T0"], "x": [1.0, 2.0, 3.0]})
    assert _sorted(ordered, ["id", "wave"]) is ordered
    shuffled = ordered.iloc[[2, 0, 1]].reset_index(drop=True)
    back = _sorted(shuffled, ["id", "wave"])
    assert back is not shuffled
    pd.testing.assert_frame_equal(back, ordered)
    offset = ordered.set_axis([5, 6, 7])  # in order, but not a 0..n-1 index
    pd.testing.assert_frame_equal(_sorted(offset, ["id", "wave"]), ordered)
