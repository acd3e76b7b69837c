"""Edge cases of :mod:`veiligverder.stats` (issue 11): input a real dataset can produce.

The module's convention (its docstring): input that does not describe the design raises
:class:`StatsInputError` with a message naming the column or values; a design whose data leave a
statistic undefined gives NaN -- never a number that only looks like one -- and the ``note``
column says why. Each case below states the old wrong answer it replaces.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

from veiligverder import stats as st
from veiligverder.stats import StatsInputError, contingency
from support.frames import long_from_wide


def anova(data: pd.DataFrame) -> pd.DataFrame:
    return st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp").set_index("source")


# ============================================================================================
# mixed_anova


def test_mixed_anova_zero_error_df_is_nan_not_np2_one():
    """One subject per group: df2 = 0. Old: partial eta squared 1.0 (called 'large')."""
    res = anova(long_from_wide([("s1", "A", 1.0, 3.0), ("s2", "B", 5.0, 4.0)]))
    assert (res["df2"] == 0).all()
    assert res[["F", "p_unc", "np2"]].isna().all().all()
    assert res["note"].str.contains("no error degrees of freedom").all()
    assert st.effect_size_word(res.loc["time", "np2"], kind="repeated") == ""
    assert st.describe_effect(res.loc["time", "p_unc"], res.loc["time", "np2"], "repeated") == "not computable"


def test_mixed_anova_zero_variance_change_is_nan_not_huge_f():
    """Every subject in a group changes by the same amount (values with rounding: 1.1 + 0.7 ...).
    Old: F = 1e13 .. 1e33 from rounding noise, np2 = 1. The group row keeps its real F (the
    subjects' totals do vary), equal to scipy's one-way ANOVA on the subject means."""
    y1 = np.array([1.1, 2.2, 3.3, 4.4, 5.5, 6.6])
    g = np.array(list("AAABBB"))
    y2 = y1 + np.where(g == "A", 0.7, 0.3)
    res = anova(long_from_wide([(f"s{i}", g[i], y1[i], y2[i]) for i in range(6)]))
    for source in ("time", "interaction"):
        assert np.isnan(res.loc[source, ["F", "p_unc", "np2"]].astype(float)).all(), source
        assert "no error variance" in res.loc[source, "note"]
        assert "changed by the same amount" in res.loc[source, "note"]
    m = (y1 + y2) / 2
    assert res.loc["group", "F"] == pytest.approx(sps.f_oneway(m[g == "A"], m[g == "B"]).statistic, rel=1e-9)
    assert res.loc["group", "note"] == ""


def test_mixed_anova_identical_totals_is_nan_for_group_row_only():
    """Every subject in a group has the same total over time (y1 + y2 constant within group), while
    changes vary: the group row has no error variance, time and interaction are fine."""
    data = long_from_wide([("s1", "A", 1.0, 5.0), ("s2", "A", 2.0, 4.0), ("s3", "A", 4.5, 1.5),
                           ("s4", "B", 3.0, 4.0), ("s5", "B", 5.0, 2.0), ("s6", "B", 0.5, 6.5)])
    res = anova(data)
    assert np.isnan(res.loc["group", "F"]) and "same total" in res.loc["group", "note"]
    assert np.isfinite(res.loc[["time", "interaction"], "F"]).all()
    assert (res.loc[["time", "interaction"], "note"] == "").all()


def test_mixed_anova_ordinary_rows_have_empty_note():
    data = long_from_wide([("s1", "A", 1, 3), ("s2", "A", 3, 7), ("s3", "B", 5, 5), ("s4", "B", 8, 10)])
    res = anova(data)
    assert (res["note"] == "").all() and np.isfinite(res[["F", "p_unc", "np2"]].to_numpy(float)).all()
    assert list(res.reset_index().columns) == st.MIXED_ANOVA_COLUMNS


def test_mixed_anova_group_losing_all_pairs_names_the_dropped_subjects():
    """Old message: "column 'group' must have exactly at least 2 levels, found ;"."""
    data = long_from_wide([("s1", "A", 1, 3), ("s2", "A", 3, 7), ("s3", "B", 5, None), ("s4", "B", None, 10)])
    with pytest.raises(StatsInputError) as err:
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")
    message = str(err.value)
    assert "'s3'" in message and "'s4'" in message and "'B'" in message and "'grp'" in message
    assert "exactly at least" not in message and "found ;" not in message


def test_mixed_anova_one_group_only_names_it():
    data = long_from_wide([("s1", "A", 1, 3), ("s2", "A", 3, 7)])
    with pytest.raises(StatsInputError, match=r"'grp' must have at least 2 levels, found 'A'"):
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")


def test_mixed_anova_no_time_levels_says_none_found():
    data = long_from_wide([("s1", "A", 1, 3)]).assign(time=np.nan)
    with pytest.raises(StatsInputError, match=r"'time' must have exactly 2 levels, found none"):
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")


# ============================================================================================
# stuart_maxwell


def test_stuart_maxwell_no_complete_pairs_is_nan_with_note():
    """Old: a crash inside pandas. Every subject has one time point only."""
    data = pd.DataFrame({"sid": ["a", "b", "c"], "time": ["baseline", "follow_up", "baseline"],
                         "cat": ["none", "mild", "severe"]})
    out = st.stuart_maxwell(data, dv="cat", within="time", subject="sid")
    row = out.iloc[0]
    assert row["n"] == 0 and np.isnan(row[["statistic", "df", "p_unc"]].astype(float)).all()
    assert "no subject has a value of 'cat' at both time points" in row["note"]
    assert out.attrs["table"].to_numpy().sum() == 0 and out.attrs["table"].shape == (3, 3)


def test_stuart_maxwell_all_values_missing_is_nan_with_note():
    data = pd.DataFrame({"sid": ["a", "a"], "time": ["baseline", "follow_up"], "cat": [None, None]})
    row = st.stuart_maxwell(data, dv="cat", within="time", subject="sid").iloc[0]
    assert row["n"] == 0 and np.isnan(row["statistic"]) and row["note"]


# ============================================================================================
# welch_ttest


def test_welch_n1_is_nan_not_dof_one():
    """Old: dof = 1.0 (scipy's value for an undefined variance)."""
    data = pd.DataFrame({"grp": ["a", "b", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
    row = st.welch_ttest(data, dv="y", between="grp").iloc[0]
    assert np.isnan(row[["T", "dof", "p_unc"]].astype(float)).all()
    assert "group 'a' has 1 value(s)" in row["note"]
    assert (row["n_a"], row["n_b"], row["mean_a"]) == (1, 3, 1.0)


def test_welch_two_constant_groups_is_nan_not_minus_inf():
    """Old: T = -inf, p = 0 for groups [1, 1] and [2, 2]."""
    data = pd.DataFrame({"grp": ["a", "a", "b", "b"], "y": [1.0, 1.0, 2.0, 2.0]})
    row = st.welch_ttest(data, dv="y", between="grp").iloc[0]
    assert np.isnan(row[["T", "dof", "p_unc"]].astype(float)).all()
    assert "zero standard error" in row["note"]


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_welch_one_constant_group_is_defined_and_equals_scipy():
    """Only one group without spread: Welch's t is defined (the other group's variance)."""
    a, b = [1.0, 1.0, 1.0], [2.0, 3.0, 5.0]
    data = pd.DataFrame({"grp": ["a"] * 3 + ["b"] * 3, "y": a + b})
    row = st.welch_ttest(data, dv="y", between="grp").iloc[0]
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert row["T"] == pytest.approx(ref.statistic, rel=1e-12) and row["dof"] == pytest.approx(ref.df, rel=1e-12)
    assert row["note"] == ""
    # by hand: the standard error is b's alone, sqrt(s_b^2 / 3) with s_b^2 = 7/3; dof = n_b - 1 = 2
    assert row["T"] == pytest.approx((1.0 - 10 / 3) / np.sqrt(7 / 9), rel=1e-12) and row["dof"] == pytest.approx(2.0)


def test_welch_one_constant_group_warns_of_nothing():
    """scipy warns of "precision loss" for a group of identical values such as 7.3 (its variance
    is 0 up to rounding); the test is well defined there, so nothing reaches a chapter's output."""
    data = pd.DataFrame({"grp": ["a"] * 4 + ["b"] * 3, "y": [7.3] * 4 + [2.0, 3.0, 5.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = st.welch_ttest(data, dv="y", between="grp").iloc[0]
    assert row["dof"] == pytest.approx(2.0) and row["note"] == ""


def test_welch_empty_group_in_order_is_nan_with_note():
    data = pd.DataFrame({"grp": ["a", "a", "b", "b"], "y": [1.0, 2.0, np.nan, np.nan]})
    row = st.welch_ttest(data, dv="y", between="grp", order=["a", "b"]).iloc[0]
    assert np.isnan(row["T"]) and "group 'b' has 0 value(s)" in row["note"]


# ============================================================================================
# fisher_freeman_halton and chi2_groups


@pytest.mark.parametrize(
    "table,shown",
    [
        ([[3, -1], [2, 4]], "-1.0"),  # old: accepted
        ([[3, 1.5], [2, 4]], "1.5"),  # old: accepted
        ([[3, 1], [np.nan, 4]], "nan"),  # old: row silently dropped
        ([[3, 1], [np.inf, 4]], "inf"),
    ],
)
def test_fisher_refuses_tables_that_are_not_counts(table, shown):
    with pytest.raises(StatsInputError, match="non-negative whole counts") as err:
        st.fisher_freeman_halton(table)
    assert shown in str(err.value)


def test_fisher_refuses_non_tables_and_unknown_method():
    with pytest.raises(StatsInputError, match="2-D"):
        st.fisher_freeman_halton([1, 2, 3])
    with pytest.raises(StatsInputError, match="not numbers"):
        st.fisher_freeman_halton([["a", "b"], ["c", "d"]])
    with pytest.raises(StatsInputError, match="method"):
        st.fisher_freeman_halton([[1, 2], [3, 4]], method="fast")


def test_fisher_whole_floats_are_counts():
    """Counts stored as floats (e.g. a crosstab after fillna) are fine when whole."""
    assert st.fisher_freeman_halton(np.array([[3.0, 1.0], [1.0, 3.0]])).pvalue == pytest.approx(
        sps.fisher_exact([[3, 1], [1, 3]]).pvalue, rel=1e-12)


def test_fisher_beyond_work_limit_falls_back_to_seeded_monte_carlo(monkeypatch):
    """'auto' past the documented limit (MAX_EXACT_WORK) gives the Monte Carlo p value, its draws
    and standard error; Job satisfaction (R: 0.7827) stays within 0.002."""
    job = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T
    monkeypatch.setattr(contingency, "MAX_EXACT_WORK", 1_000)
    res = st.fisher_freeman_halton(job)
    assert res.method == "monte-carlo" and res.n_draws == contingency.MC_DRAWS and res.se > 0
    assert abs(res.pvalue - 0.7827) < 0.002
    assert st.fisher_freeman_halton(job, method="exact").method == "exact"  # 'exact' ignores the limit


def _long(table, x_levels, y_levels) -> pd.DataFrame:
    rows = [(x, y) for i, x in enumerate(x_levels) for j, y in enumerate(y_levels) for _ in range(int(table[i][j]))]
    return pd.DataFrame(rows, columns=["group", "outcome"])


def test_chi2_groups_reports_monte_carlo_method_draws_and_se(monkeypatch):
    monkeypatch.setattr(contingency, "MAX_EXACT_WORK", 1_000)
    table = [[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]
    res = st.chi2_groups(_long(table, list("ABCD"), list("wxyz")), x="group", y="outcome").iloc[0]
    assert res["method"] == "fisher-freeman-halton (monte carlo)"
    assert res["n_draws"] == contingency.MC_DRAWS and 0 < res["se"] < 0.002
    assert "Monte Carlo" in res["note"] and str(contingency.MC_SEED) in res["note"]
    assert abs(res["p_unc"] - 0.7827) < 0.002


def test_chi2_groups_exact_branch_has_zero_draws():
    res = st.chi2_groups(_long([[7, 3], [3, 8]], ["VV", "control"], ["a", "b"]), x="group", y="outcome").iloc[0]
    assert res["method"] == "fisher-freeman-halton" and res["n_draws"] == 0 and res["se"] == 0.0
    assert res["note"] == ""


def test_chi2_groups_never_raises_on_valid_tables(monkeypatch):
    """Sparse and large tables (shapes up to 6 x 7, N up to 500, seed 21), with the exact limit
    lowered to keep the test fast: every one gives a p value in (0, 1]."""
    monkeypatch.setattr(contingency, "MAX_EXACT_WORK", 20_000)
    monkeypatch.setattr(contingency, "MC_DRAWS", 2_000)
    rng = np.random.default_rng(21)
    for shape, n in [((5, 7), 60), ((6, 2), 500), ((6, 5), 80), ((2, 7), 30), ((5, 7), 400), ((3, 3), 9)]:
        table = rng.multinomial(n, rng.dirichlet(np.ones(shape[0] * shape[1]) * 0.5)).reshape(shape)
        data = _long(table, [f"r{i}" for i in range(shape[0])], [f"c{j}" for j in range(shape[1])])
        res = st.chi2_groups(data, x="group", y="outcome").iloc[0]
        if res["method"] == "none":
            assert res["note"]
            continue
        assert 0 < res["p_unc"] <= 1, (shape, n)


def test_chi2_groups_one_level_is_nan_with_note():
    data = _long([[7, 3], [3, 7]], ["VV", "control"], ["a", "b"]).assign(outcome="a")
    res = st.chi2_groups(data, x="group", y="outcome").iloc[0]
    assert res["method"] == "none" and np.isnan(res["p_unc"])
    assert "'outcome' has 'a'" in res["note"]


# ============================================================================================
# effect-size words and the convention across the API


@pytest.mark.parametrize("eta2", [float("nan"), None, float("inf")])
def test_effect_size_word_no_word_for_undefined(eta2):
    assert st.effect_size_word(eta2, kind="between") == ""
    assert st.effect_size_word(eta2, kind="repeated") == ""


def test_effect_size_word_tabel_1_row_labels_are_accepted():
    assert st.effect_size_word(0.24, kind="repeated measures") == "medium"
    assert st.effect_size_word(0.24, kind="between groups") == "large"


def test_describe_effect_significant_but_size_undefined():
    assert st.describe_effect(0.01, float("nan"), "between") == "significant, size not computable"


def _frames_with_undefined_numbers():
    yield "mixed_anova", anova(long_from_wide([("s1", "A", 1.0, 3.0), ("s2", "B", 5.0, 4.0)])), ["F", "p_unc", "np2"]
    data = pd.DataFrame({"sid": ["a", "a", "b", "b"], "time": ["baseline", "follow_up"] * 2,
                         "cat": ["none", "none", "mild", "mild"]})
    yield "stuart_maxwell", st.stuart_maxwell(data, dv="cat", within="time", subject="sid"), ["statistic", "p_unc"]
    yield "welch_ttest", st.welch_ttest(pd.DataFrame({"g": ["a", "b", "b"], "y": [1.0, 2.0, 3.0]}), dv="y",
                                        between="g"), ["T", "dof", "p_unc"]
    yield "chi2_groups", st.chi2_groups(pd.DataFrame({"x": ["a", "b"], "y": ["c", "c"]}), x="x", y="y"), ["p_unc"]


@pytest.mark.parametrize("name,frame,columns", list(_frames_with_undefined_numbers()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_convention_every_nan_statistic_has_a_note(name, frame, columns):
    """Module convention: a NaN statistic always comes with a non-empty ``note``."""
    assert "note" in frame.columns, name
    nan_rows = frame[columns].isna().any(axis=1)
    assert nan_rows.any(), name
    assert (frame.loc[nan_rows, "note"].str.len() > 0).all(), name
