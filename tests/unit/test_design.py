"""The study design: follow-up rule, analysis samples, latest value, matching and balance."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from veiligverder import design


def _parents(rows):
    return pd.DataFrame(rows, columns=["parent_id", "group", "wave", "x"])


# three parents: p1 has T0, T1, T2; p2 has T0 and T1 only; p3 has T0 and T2, p4 only T1; c is cohort
PARENTS = _parents([
    ("p1", "VV", "T0", 1.0), ("p1", "VV", "T1", 2.0), ("p1", "VV", "T2", 3.0),
    ("p2", "VV", "T0", 4.0), ("p2", "VV", "T1", 5.0), ("p2", "VV", "T2", np.nan),
    ("p3", "control", "T0", 6.0), ("p3", "control", "T2", 7.0),
    ("p4", "control", "T1", 8.0),
    ("c1", "cohort", "T0", 9.0), ("c1", "cohort", "T1", 9.5),
])


@pytest.mark.parametrize("rule, expected", [
    ("latest", {"p1": (1.0, 3.0, "T2"), "p2": (4.0, 5.0, "T1"), "p3": (6.0, 7.0, "T2")}),
    ("T1", {"p1": (1.0, 2.0, "T1"), "p2": (4.0, 5.0, "T1")}),
    ("T2", {"p1": (1.0, 3.0, "T2"), "p3": (6.0, 7.0, "T2")}),
])
def test_follow_up_rule_and_sample(rule, expected):
    measures = types.SimpleNamespace(parents=PARENTS.rename(columns={"x": "safety_grade"}))
    sample = design.analysis_sample(measures, "safety_grade", follow_up_rule=rule)
    got = {}
    for unit, rows in sample.groupby("unit_id"):
        r = rows.set_index("time")
        got[unit] = (r.loc["baseline", "value"], r.loc["follow_up", "value"], r.loc["follow_up", "wave"])
    assert got == expected
    assert list(sample.columns) == design.SAMPLE_COLUMNS
    assert "c1" not in set(sample["unit_id"])  # the cohort never enters a two-group analysis


def test_follow_up_wide_keeps_units_without_follow_up():
    wide = design.follow_up(PARENTS, unit="parent_id", value="x", rule="T2").set_index("unit_id")
    assert np.isnan(wide.loc["p2", "follow_up"]) and wide.loc["p2", "baseline"] == 4.0
    assert np.isnan(wide.loc["p4", "baseline"]) and np.isnan(wide.loc["p4", "follow_up"])


def test_unknown_rule_and_outcome_are_named():
    with pytest.raises(design.DesignError, match="follow_up_rule must be one of"):
        design.follow_up(PARENTS, unit="parent_id", value="x", rule="T3")
    with pytest.raises(design.DesignError, match="unknown outcome 'nonsense'"):
        design.analysis_sample(types.SimpleNamespace(), "nonsense")
    with pytest.raises(design.DesignError, match="help_grade_sample"):
        design.analysis_sample(types.SimpleNamespace(), "help_grade")


def test_latest_value_takes_latest_wave_with_a_value():
    got = design.latest_value(PARENTS, unit="parent_id", value="x").set_index("unit_id")
    assert got["value"].to_dict() == {"p1": 3.0, "p2": 5.0, "p3": 7.0, "p4": 8.0}
    assert got["wave"].to_dict() == {"p1": "T2", "p2": "T1", "p3": "T2", "p4": "T1"}


def test_units_follow_the_contract():
    """CONTRACT §3: family for total violence and category, child for the child outcomes, parent else."""
    fam = {o for o, s in design.OUTCOMES.items() if s["unit"] == "family_id"}
    child = {o for o, s in design.OUTCOMES.items() if s["unit"] == "child_id"}
    assert fam == {"violence_total", "violence_category"}
    assert child == {"violence_child_direct", "child_trauma", "emotional_insecurity", "qol_child"}
    assert len(design.OUTCOMES) == 17


def test_category_sample_keeps_labels():
    fam = pd.DataFrame({"family_id": ["f1", "f1", "f2", "f2"], "group": ["VV"] * 2 + ["control"] * 2,
                        "wave": ["T0", "T1"] * 2, "violence_category": ["severe", "none", "mild", "mild"]})
    s = design.analysis_sample(types.SimpleNamespace(families=fam), "violence_category")
    assert s.loc[s["unit_id"] == "f1", "value"].tolist() == ["severe", "none"]


# ----------------------------------------------------------------------------------- matching


def test_smd_hand_computed():
    # continuous: means 2 and 4, sample variances 1 and 4 -> (2 - 4) / sqrt(2.5) = -1.2649
    t, c = pd.Series([1.0, 2.0, 3.0]), pd.Series([2.0, 4.0, 6.0])
    assert design.smd(t, c, binary=False) == pytest.approx(-2 / np.sqrt(2.5))
    # binary: p 0.5 and 0.25 -> 0.25 / sqrt((0.25 + 0.1875) / 2) = 0.5345 (Austin 2009, eq. for proportions)
    tb, cb = pd.Series([1, 0, 1, 0]), pd.Series([1, 0, 0, 0])
    assert design.smd(tb, cb, binary=True) == pytest.approx(0.25 / np.sqrt(0.21875))
    assert design.smd(pd.Series([1.0, 1.0]), pd.Series([1.0, 1.0]), binary=False) == 0.0


def test_nearest_neighbour_greedy_with_caliper():
    score = pd.Series([0.0, 1.0, 0.1, 0.25, 0.95, 5.0], index=list("abcdef"))
    treated = pd.Series([True, True, False, False, False, False], index=score.index)
    pairs = design.nearest_neighbour(score, treated, ratio=2, caliper=0.3, seed=0)
    got = {(r.treated, r.control) for r in pairs.itertuples()}
    # a takes c (0.1) then d (0.25); b takes e (0.05) and finds nothing else within 0.3; f is never used
    assert got == {("a", "c"), ("a", "d"), ("b", "e")}
    assert pairs["distance"].max() <= 0.3


def test_matching_finds_similar_families_and_improves_balance():
    rng = np.random.default_rng(3)
    n_t, n_c = 30, 600
    x = np.r_[rng.normal(1.0, 1, n_t), rng.normal(0, 1, n_c)]
    cov = pd.DataFrame({"family_id": [f"f{i}" for i in range(n_t + n_c)],
                        "group": ["VV"] * n_t + ["cohort"] * n_c})
    for name in design.MATCHING_COVARIATES:
        cov[name] = x + rng.normal(0, 1, n_t + n_c) * 0.5 if name.startswith("violence") else \
            (rng.random(n_t + n_c) < 1 / (1 + np.exp(-x))).astype(float)
    m = design.match_controls(cov, seed=1)
    assert m.covariates["matched"].sum() == len(m.pairs) <= 2 * n_t
    assert not m.covariates.loc[m.covariates["group"] == "VV", "matched"].any()
    b = m.balance.set_index("covariate")
    assert b.loc["violence_total", "smd_before"] > 0.5
    assert abs(b.loc["violence_total", "smd_after"]) < abs(b.loc["violence_total", "smd_before"]) / 2
    assert m.pairs["distance"].max() <= m.caliper
    again = design.match_controls(cov, seed=1)
    pd.testing.assert_frame_equal(m.pairs, again.pairs)  # same seed, same choice


def test_matching_needs_both_sides():
    cov = pd.DataFrame({"family_id": ["a"], "group": ["VV"], **{k: [1.0] for k in design.MATCHING_COVARIATES}})
    with pytest.raises(design.DesignError, match="candidates outside it"):
        design.match_controls(cov)


def test_independent_columns_hand_computed():
    # column 3 is twice column 2; column 2 of the second is the constant again; a zero column is dropped
    x = np.array([[1.0, 1, 2], [1, 2, 4], [1, 3, 6]])
    assert design.independent_columns(x).tolist() == [True, True, False]
    assert design.independent_columns(np.array([[1.0, 5, 0], [1, 5, 0]])).tolist() == [True, False, False]
    # at the tolerance: a column 1e-9 (relative) off a combination is kept, 1e-13 off is aliased
    rng = np.random.default_rng(0)
    a, b, e = rng.normal(size=50), rng.normal(size=50), rng.normal(size=50)
    base = np.column_stack([np.ones(50), a, b])
    combo = 3 - 2 * a + b
    near = combo + 1e-9 * np.linalg.norm(combo) * e / np.linalg.norm(e)
    exact = combo + 1e-13 * np.linalg.norm(combo) * e / np.linalg.norm(e)
    assert design.independent_columns(np.column_stack([base, near])).tolist() == [True] * 4
    assert design.independent_columns(np.column_stack([base, exact])).tolist() == [True] * 3 + [False]


def test_propensity_leaves_out_aliased_and_constant_variables_as_r_glm_does():
    """Total violence equal to partner violence (no child-directed violence anywhere) and a variable
    that never varies: R's glm(vv ~ ...) gives both coefficients NA and predicts from the others, so
    the logits equal a fit without them, and no rank-deficiency warning reaches a chapter."""
    import warnings

    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    n = 200
    cov = pd.DataFrame({"family_id": [f"f{i}" for i in range(n)], "group": ["VV"] * 40 + ["cohort"] * (n - 40)})
    cov["violence_partner"] = rng.gamma(2.0, 3.0, n) + np.r_[np.full(40, 2.0), np.zeros(n - 40)]
    cov["violence_total"] = cov["violence_partner"]
    cov["low_education"] = (rng.random(n) < 0.3).astype(float)
    cov["migration"] = (rng.random(n) < 0.4).astype(float)
    cov["low_income"] = (rng.random(n) < 0.5).astype(float)
    cov["n_children"] = rng.integers(0, 4, n).astype(float)
    cov["psych_problems"] = 0.0
    matrix, left_out = design.propensity_design(cov)
    assert left_out == {"violence_partner": design.matching.ALIASED, "psych_problems": design.matching.NO_VARIATION}
    kept = ["violence_total", "low_education", "migration", "low_income", "n_children"]
    np.testing.assert_array_equal(matrix, np.column_stack([np.ones(n), cov[kept].to_numpy()]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logit = design.propensity(cov)
        m = design.match_controls(cov, seed=1)
    y = (cov["group"] == "VV").to_numpy(float)
    ref = sm.GLM(y, sm.add_constant(cov[kept].to_numpy()), family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(logit.to_numpy(), ref.fittedvalues_linear if hasattr(ref, "fittedvalues_linear")
                               else ref.predict(which="linear"), rtol=1e-10)
    assert m.left_out == left_out
    assert set(m.balance["covariate"]) == set(design.MATCHING_COVARIATES)  # the table keeps every variable


def test_perfect_separation_matches_without_a_warning():
    """No VV family reports partner violence and every candidate does (as in a dataset whose VV answers
    are all 'never'): the groups are separated, the logits run off and ``exp`` overflows in the
    logit link. The matching still runs and prints nothing into the chapter."""
    import warnings

    rng = np.random.default_rng(2)
    n_t, n_c = 30, 300
    cov = pd.DataFrame({"family_id": [f"f{i}" for i in range(n_t + n_c)], "group": ["VV"] * n_t + ["cohort"] * n_c})
    cov["violence_partner"] = np.r_[np.zeros(n_t), rng.gamma(2.0, 20.0, n_c) + 1]
    cov["violence_total"] = cov["violence_partner"] + rng.gamma(1.0, 5.0, n_t + n_c)
    for name in ("low_education", "migration", "low_income", "psych_problems"):
        cov[name] = (rng.random(n_t + n_c) < 0.4).astype(float)
    cov["n_children"] = rng.integers(0, 4, n_t + n_c).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = design.match_controls(cov, seed=1)
    assert m.left_out == {}
    assert m.covariates.loc[:n_t - 1, "logit_ps"].min() > m.covariates.loc[n_t:, "logit_ps"].max()  # separated


def test_overlap_and_relabel():
    cov = pd.DataFrame({"family_id": ["v", "a", "b", "c"], "group": ["VV", "control", "cohort", "control"],
                        "matched": [0, 1, 1, 0]})
    m = design.Matching(cov, pd.DataFrame(), pd.DataFrame(), 0.1)
    assert design.overlap_with_labels(m) == {"n_chosen": 2, "n_labelled": 2, "n_both": 1, "share_of_chosen": 0.5}
    fam = pd.DataFrame({"family_id": ["v", "a", "b", "c"],
                        "group": pd.Categorical(["VV", "control", "cohort", "control"],
                                                categories=["VV", "control", "cohort"])})
    ds = types.SimpleNamespace(families=fam)
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class DS:
        families: pd.DataFrame

    new = design.relabel(DS(fam), m)
    assert new.families["group"].astype(str).tolist() == ["VV", "control", "control", "cohort"]
    assert fam["group"].astype(str).tolist() == ["VV", "control", "cohort", "control"]  # input untouched
    assert ds.families is fam


@pytest.fixture(scope="module")
def twin_measures(synthetic_dataset):
    """``measures.derive`` of the twin, once for the tests below (each only reads it)."""
    from veiligverder import measures

    return measures.derive(synthetic_dataset)


@pytest.fixture(scope="module")
def twin_matching(synthetic_dataset, twin_measures):
    """What ``load_study(rematch=True)`` does first: match on the measures (seed 1), once for the
    tests below."""
    return design.match_controls(design.matching_covariates(synthetic_dataset, twin_measures), seed=1)


def test_matching_on_the_synthetic_twin(synthetic_dataset, twin_measures):
    """On the twin, matching chooses up to two controls per VV family and the balance improves."""
    from veiligverder import analysis

    rep = analysis.matching_report(synthetic_dataset, twin_measures, seed=1)
    assert rep.results["matching.n_treated"] == 34
    assert 34 <= rep.results["matching.n_controls"] <= 68
    assert rep.results["matching.max_abs_smd_after"] < rep.results["matching.max_abs_smd_before"]


def test_rematched_study_analyses_two_groups(synthetic_dataset, twin_matching):
    """With ``rematch`` the chosen controls become the control group and chapter 5 still runs."""
    from veiligverder import analysis, design, measures

    # what load_study(rematch=True) does: match on the measures, relabel the families
    rematched = design.relabel(synthetic_dataset, twin_matching)
    assert rematched.families["group"].dtype == synthetic_dataset.families["group"].dtype
    counts = rematched.families["group"].value_counts()
    assert counts["VV"] == 34 and 34 <= counts["control"] <= 68
    m = measures.derive(rematched)
    a = analysis.analyse(m, "violence_total")
    assert a.n("VV") == 34 and a.n("control") > 30
    assert np.isfinite(a.results["violence_total.anova.interaction.F"])
    assert set(a.sample["group"]) == {"VV", "control"}


def test_relabelled_measures_equal_measures_of_the_relabelled_data(synthetic_dataset, twin_measures, twin_matching):
    """load_study relabels the measures instead of scoring again: the result must be the same."""
    from veiligverder import measures

    m = twin_measures
    relabelled = design.relabel(synthetic_dataset, twin_matching)
    fast = design.relabel_measures(m, relabelled.families)
    slow = measures.derive(relabelled)
    for name in ("parents", "children", "families"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))


def test_outcome_levels_are_unit_words():
    """Each outcome names its unit level in words (the child level once read 'childre')."""
    assert {design.OUTCOMES[o]["level"] for o in ("child_trauma", "qol_child")} == {"child"}
    assert design.OUTCOMES["violence_total"]["level"] == "family"
    assert design.OUTCOMES["parent_trauma"]["level"] == "parent"
