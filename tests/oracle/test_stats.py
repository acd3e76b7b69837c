"""Validation of :mod:`veiligverder.stats` against independent reference values.

Every expected value below has its source named next to it:

- another implementation (pingouin 0.7, scipy 1.17, statsmodels 0.15) called on the same data;
- a first-principles formula written out in the test (pooled t on change scores, one-way ANOVA on
  subject means, the Type III intercept test, Wilson's formula, brute-force enumeration of all
  tables with fixed margins as R's ``fisher.test`` defines its p value);
- a hand computation shown in a comment;
- a published value (R documentation, IMSL/IDL documentation, Cardillo's ``myfisher`` examples).

No network; every random dataset has a fixed seed.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import scipy.stats as sps
from statsmodels.stats.contingency_tables import SquareTable
from statsmodels.stats.proportion import proportion_confint

from veiligverder import stats as st
from veiligverder.stats import contingency
from veiligverder.stats import StatsInputError
from support.frames import long_from_wide

TOL = 1e-8  # relative tolerance for "the same computation done by another library"


def close(a, b, rel=TOL, abs_=1e-12) -> bool:
    return a == pytest.approx(b, rel=rel, abs=abs_)


# ============================================================================================
# data builders


def random_design(n1: int, n2: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Two groups, two time points, group-specific change; returns long data, y1, y2, group."""
    rng = np.random.default_rng(seed)
    group = np.array(["A"] * n1 + ["B"] * n2)
    y1 = rng.normal(10, 2, n1 + n2) + np.where(group == "A", 0.0, 1.2)
    y2 = y1 + rng.normal(0, 1.5, n1 + n2) + np.where(group == "A", 1.5, 0.3)
    wide = [(f"s{i:02d}", g, a, b) for i, (g, a, b) in enumerate(zip(group, y1, y2))]
    return long_from_wide(wide), y1, y2, group


def anova(data: pd.DataFrame) -> pd.DataFrame:
    return st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp").set_index("source")


def pingouin_anova(data: pd.DataFrame) -> pd.DataFrame:
    res = pg.mixed_anova(data, dv="score", within="time", subject="sid", between="grp", effsize="np2")
    return res.set_index("Source").rename(index={"grp": "group", "Interaction": "interaction"})


UNBALANCED = [(7, 12, 11), (12, 7, 12), (5, 9, 13), (3, 20, 14)]


# ============================================================================================
# 1. mixed_anova


@pytest.mark.parametrize("n1,n2,seed", UNBALANCED)
@pytest.mark.parametrize("source", ["group", "interaction"])
def test_mixed_anova_group_and_interaction_equal_pingouin(n1, n2, seed, source):
    """Reference: pingouin.mixed_anova; its group and interaction rows are Type III too."""
    data, *_ = random_design(n1, n2, seed)
    ours, ref = anova(data).loc[source], pingouin_anova(data).loc[source]
    assert close(ours["ss"], ref["SS"])
    assert ours["df1"] == ref["DF1"] and ours["df2"] == ref["DF2"] == n1 + n2 - 2
    assert close(ours["F"], ref["F"])
    assert close(ours["p_unc"], ref["p_unc"])
    assert close(ours["np2"], ref["np2"])


@pytest.mark.parametrize("n1,n2,seed", UNBALANCED)
def test_mixed_anova_interaction_is_pooled_t_on_change_scores(n1, n2, seed):
    """Reference: with two time points the interaction F is t^2 of the pooled (Student) two-sample
    t test on the change scores y2 - y1 (scipy.stats.ttest_ind, equal_var=True)."""
    data, y1, y2, group = random_design(n1, n2, seed)
    d = y2 - y1
    t = sps.ttest_ind(d[group == "A"], d[group == "B"], equal_var=True)
    row = anova(data).loc["interaction"]
    assert close(row["F"], t.statistic**2)
    assert close(row["p_unc"], t.pvalue)
    assert row["df2"] == t.df


@pytest.mark.parametrize("n1,n2,seed", UNBALANCED)
def test_mixed_anova_group_is_oneway_anova_on_subject_means(n1, n2, seed):
    """Reference: the between-subjects F is the one-way ANOVA (scipy.stats.f_oneway) of the
    subject means (y1 + y2) / 2."""
    data, y1, y2, group = random_design(n1, n2, seed)
    m = (y1 + y2) / 2
    ref = sps.f_oneway(m[group == "A"], m[group == "B"])
    row = anova(data).loc["group"]
    assert close(row["F"], ref.statistic)
    assert close(row["p_unc"], ref.pvalue)


@pytest.mark.parametrize("n1,n2,seed", UNBALANCED)
def test_mixed_anova_time_is_type3_intercept(n1, n2, seed):
    """Reference (first principles, Type III as SPSS GLM): the time effect tests that the
    *unweighted* mean of the two groups' mean changes is zero,

        e = (mean d_A + mean d_B) / 2,   Var(e) = s_pooled^2 / 4 * (1/n1 + 1/n2),
        F = e^2 / Var(e),  df = (1, n1 + n2 - 2),  p from the t distribution with n1 + n2 - 2 df.
    """
    data, y1, y2, group = random_design(n1, n2, seed)
    d = y2 - y1
    da, db = d[group == "A"], d[group == "B"]
    df2 = n1 + n2 - 2
    s2 = ((n1 - 1) * da.var(ddof=1) + (n2 - 1) * db.var(ddof=1)) / df2
    e = (da.mean() + db.mean()) / 2
    var = s2 / 4 * (1 / n1 + 1 / n2)
    f_ref = e**2 / var
    p_ref = 2 * sps.t.sf(abs(e) / math.sqrt(var), df2)
    row = anova(data).loc["time"]
    assert (row["df1"], row["df2"]) == (1.0, df2)
    assert close(row["F"], f_ref)
    assert close(row["p_unc"], p_ref)
    # pingouin tests the weighted grand mean change (Type II); with unequal n that differs.
    assert not close(row["F"], pingouin_anova(data).loc["time", "F"], rel=1e-4)


@pytest.mark.parametrize("n,seed", [(6, 21), (10, 22), (15, 23)])
def test_mixed_anova_balanced_equals_pingouin_on_every_row(n, seed):
    """Reference: pingouin.mixed_anova; with equal group sizes Type II = Type III for time too."""
    data, *_ = random_design(n, n, seed)
    ours, ref = anova(data), pingouin_anova(data)
    for source in ["time", "group", "interaction"]:
        assert close(ours.loc[source, "ss"], ref.loc[source, "SS"]), source
        assert close(ours.loc[source, "F"], ref.loc[source, "F"]), source
        assert close(ours.loc[source, "p_unc"], ref.loc[source, "p_unc"]), source
        assert close(ours.loc[source, "np2"], ref.loc[source, "np2"]), source


def test_mixed_anova_hand_computed_example():
    """Hand computation (classical cell-means decomposition, Maxwell & Delaney ch. 12).

    subject group baseline follow_up | subject mean
    s1      A     1        3         | 2
    s2      A     3        7         | 5
    s3      B     5        5         | 5
    s4      B     8        10        | 9

    grand mean 42/8 = 5.25; time means 4.25, 6.25; group means 3.5, 7;
    cell means A: 2, 5; B: 6.5, 7.5.
    SS_time  = 4(4.25-5.25)^2 + 4(6.25-5.25)^2               = 8
    SS_group = 4(3.5-5.25)^2 + 4(7-5.25)^2                    = 24.5
    SS_cells = 2[(2-5.25)^2+(5-5.25)^2+(6.5-5.25)^2+(7.5-5.25)^2] = 34.5
    SS_inter = 34.5 - 8 - 24.5                                = 2
    SS_subj(within groups) = 2[(2-3.5)^2+(5-3.5)^2+(5-7)^2+(9-7)^2] = 25
    SS_total = 61.5, so SS_error(within) = 61.5 - 8 - 24.5 - 2 - 25 = 2
    df_error = N - G = 2 for both error terms.
    F_time = 8/(2/2) = 8,  F_inter = 2/(2/2) = 2,  F_group = 24.5/(25/2) = 1.96
    np2: 8/10 = .8, 2/4 = .5, 24.5/49.5 = 49/99.
    For F(1, 2) the p value is 1 - sqrt(F / (2 + F)) (t distribution with 2 df).
    """
    data = long_from_wide([("s1", "A", 1, 3), ("s2", "A", 3, 7), ("s3", "B", 5, 5), ("s4", "B", 8, 10)])
    res = anova(data)
    expected = {
        "time": (8.0, 8.0, 0.8),
        "group": (24.5, 1.96, 49 / 99),
        "interaction": (2.0, 2.0, 0.5),
    }
    for source, (ss, f, np2) in expected.items():
        row = res.loc[source]
        assert row["ss"] == pytest.approx(ss, rel=1e-12), source
        assert row["ms"] == pytest.approx(ss, rel=1e-12), source  # df1 = 1
        assert (row["df1"], row["df2"]) == (1.0, 2.0), source
        assert row["F"] == pytest.approx(f, rel=1e-12), source
        assert row["np2"] == pytest.approx(np2, rel=1e-12), source
        assert row["p_unc"] == pytest.approx(1 - math.sqrt(f / (2 + f)), rel=1e-10), source
    assert list(res.reset_index().columns) == st.MIXED_ANOVA_COLUMNS


@pytest.mark.parametrize("n1,n2,seed", [(7, 12, 31), (10, 10, 32), (4, 15, 33)])
def test_mixed_anova_np2_identity(n1, n2, seed):
    """Reference: partial eta squared = F df1 / (F df1 + df2), and ms = ss / df1."""
    data, *_ = random_design(n1, n2, seed)
    for source, row in anova(data).iterrows():
        f, df1, df2 = row["F"], row["df1"], row["df2"]
        assert close(row["np2"], f * df1 / (f * df1 + df2)), source
        assert close(row["ms"], row["ss"] / df1), source


def test_mixed_anova_drops_incomplete_subjects_and_reports_them():
    """Docstring: subjects without a value at both time points are dropped (listwise) and counted
    in attrs['dropped']; the result equals the analysis of the complete subjects alone."""
    complete, *_ = random_design(7, 12, 41)
    incomplete = long_from_wide(
        [
            ("x1", "A", 9.0, None),  # no follow-up row
            ("x2", "B", None, 11.0),  # no baseline row
            ("x3", "B", 10.0, np.nan),  # follow-up value missing
        ]
    )
    res = st.mixed_anova(
        pd.concat([complete, incomplete], ignore_index=True),
        dv="score", within="time", subject="sid", between="grp",
    )
    ref = anova(complete)
    assert res.attrs["dropped"] == 3
    assert res.attrs["n"] == {"A": 7, "B": 12}
    for col in ["ss", "df1", "df2", "F", "p_unc", "np2"]:
        np.testing.assert_allclose(res.set_index("source")[col], ref[col], rtol=1e-12)
    assert anova(complete).attrs["dropped"] == 0


def _tiny() -> pd.DataFrame:
    return long_from_wide([("s1", "A", 1, 3), ("s2", "A", 3, 7), ("s3", "B", 5, 5), ("s4", "B", 8, 10)])


@pytest.mark.parametrize(
    "column",
    [
        "score",
        "time",
        "grp",
        "sid",  # was a bare KeyError before every column was checked up front
    ],
)
def test_mixed_anova_missing_column_is_named(column):
    """Docstring of StatsInputError: bad input names the column and the fix."""
    data = _tiny().rename(columns={column: column + "_renamed"})
    with pytest.raises(StatsInputError, match=rf"'{column}'"):
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")


def test_mixed_anova_three_time_levels_is_an_error():
    """Docstring: the time column has exactly two levels; three generic levels are refused,
    and the message names the column and the levels found."""
    data = _tiny()
    data["time"] = data["time"].map({"baseline": "T0", "follow_up": "T1"})
    extra = data[data["time"] == "T1"].assign(time="T2")
    with pytest.raises(StatsInputError, match=r"'time'.*'T0', 'T1', 'T2'"):
        st.mixed_anova(pd.concat([data, extra]), dv="score", within="time", subject="sid", between="grp")


@pytest.mark.parametrize("func", ["mixed_anova", "stuart_maxwell"])
def test_third_time_level_next_to_contract_levels_is_an_error(func):
    """Docstrings: ``within`` must hold exactly two levels (ERR_LEVELS: 'select the rows of the
    2 levels you want to compare first'). A third level must not be dropped silently."""
    data = _tiny()
    if func == "stuart_maxwell":
        data["score"] = np.where(data["score"] > 4, "mild", "none")
    extra = data[data["time"] == "follow_up"].assign(time="follow_up_2")
    data = pd.concat([data, extra], ignore_index=True)
    kwargs = dict(dv="score", within="time", subject="sid")
    if func == "mixed_anova":
        kwargs["between"] = "grp"
    with pytest.raises(StatsInputError, match=r"'time'"):
        getattr(st, func)(data, **kwargs)


def test_mixed_anova_subject_in_two_groups_is_named():
    data = _tiny()
    data.loc[(data["sid"] == "s2") & (data["time"] == "follow_up"), "grp"] = "B"
    with pytest.raises(StatsInputError, match=r"'s2'.*'grp'"):
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")


def test_mixed_anova_duplicate_rows_are_named():
    data = _tiny()
    data = pd.concat([data, data.iloc[[0]]], ignore_index=True)
    with pytest.raises(StatsInputError, match=r"'s1'.*'time'"):
        st.mixed_anova(data, dv="score", within="time", subject="sid", between="grp")


# ============================================================================================
# 2. stuart_maxwell


def paired_categories(table: np.ndarray, categories) -> pd.DataFrame:
    """Long data whose (baseline x follow_up) crosstab is ``table``."""
    rows, k = [], 0
    for i, j in itertools.product(range(len(categories)), repeat=2):
        for _ in range(int(table[i, j])):
            rows += [(f"u{k}", "baseline", categories[i]), (f"u{k}", "follow_up", categories[j])]
            k += 1
    data = pd.DataFrame(rows, columns=["sid", "time", "cat"])
    return data.sample(frac=1.0, random_state=5).reset_index(drop=True)  # order must not matter


def sm(data: pd.DataFrame, **kw) -> pd.Series:
    out = st.stuart_maxwell(data, dv="cat", within="time", subject="sid", **kw)
    assert len(out) == 1
    return out.iloc[0], out.attrs["table"]


@pytest.mark.parametrize(
    "table",
    [
        np.array([[20, 5, 2], [9, 14, 4], [6, 3, 7]]),
        np.array([[10, 0, 3], [12, 8, 1], [2, 6, 9]]),
        np.array([[3, 7, 1], [1, 2, 8], [0, 1, 2]]),
    ],
)
def test_stuart_maxwell_equals_statsmodels_homogeneity(table):
    """Reference: statsmodels SquareTable(table, shift_zeros=False).homogeneity() on the 3x3
    table cross-tabulated from the long data in the test."""
    data = paired_categories(table, contingency.CATEGORIES)
    row, observed = sm(data)
    np.testing.assert_array_equal(observed.to_numpy(), table)
    assert list(observed.index) == list(observed.columns) == list(contingency.CATEGORIES)
    ref = SquareTable(table, shift_zeros=False).homogeneity()
    assert close(row["statistic"], ref.statistic)
    assert row["df"] == ref.df == 2
    assert close(row["p_unc"], ref.pvalue)
    assert row["n"] == table.sum()
    assert row["note"] == ""


@pytest.mark.parametrize("b,c,n_same", [(7, 2, (5, 9)), (12, 4, (0, 3)), (3, 3, (4, 4))])
def test_stuart_maxwell_two_categories_is_mcnemar(b, c, n_same):
    """Hand formula: with two categories Stuart-Maxwell is McNemar's test without continuity
    correction, chi2 = (b - c)^2 / (b + c) on 1 df (b, c: the discordant counts)."""
    table = np.array([[n_same[0], b], [c, n_same[1]]])
    row, _ = sm(paired_categories(table, ("no", "yes")), categories=("no", "yes"))
    chi2 = (b - c) ** 2 / (b + c)
    assert row["statistic"] == pytest.approx(chi2, rel=1e-12, abs=1e-12)
    assert row["df"] == 1
    assert row["p_unc"] == pytest.approx(sps.chi2.sf(chi2, 1), rel=1e-10)


def test_stuart_maxwell_empty_category_is_dropped():
    """Docstring: a category nobody is in is dropped, df becomes k_used - 1 and the result is
    finite; here 'severe' is empty, so the test is McNemar on none/mild: (6 - 2)^2 / 8 = 2."""
    table = np.array([[10, 6, 0], [2, 5, 0], [0, 0, 0]])
    row, observed = sm(paired_categories(table, contingency.CATEGORIES))
    assert observed.shape == (3, 3) and observed.loc["severe"].sum() == observed["severe"].sum() == 0
    assert np.isfinite(row["statistic"])
    assert row["statistic"] == pytest.approx(2.0, rel=1e-12)
    assert row["df"] == 1
    assert row["p_unc"] == pytest.approx(sps.chi2.sf(2.0, 1), rel=1e-10)
    assert "severe" in row["note"]


def test_stuart_maxwell_nobody_changes_gives_nan_with_note():
    """Docstring: when no subject changes category the statistic and p are NaN with a note."""
    row, _ = sm(paired_categories(np.diag([4, 3, 2]), contingency.CATEGORIES))
    assert np.isnan(row["statistic"]) and np.isnan(row["p_unc"]) and np.isnan(row["df"])
    assert "no subject changed" in row["note"]
    assert row["n"] == 9


def test_stuart_maxwell_baseline_rows_first_and_unknown_category_refused():
    """Docstring: rows of attrs['table'] are the baseline; values outside the categories raise."""
    table = np.array([[1, 4, 0], [0, 2, 0], [0, 0, 0]])  # 4 moved none -> mild
    data = paired_categories(table, contingency.CATEGORIES).sort_values("time", ascending=False)
    _, observed = sm(data)
    assert observed.index.name == "baseline" and observed.loc["none", "mild"] == 4
    data.loc[data.index[0], "cat"] = "extreme"
    with pytest.raises(StatsInputError, match="extreme"):
        sm(data)


# ============================================================================================
# 3. fisher_freeman_halton and chi2_groups


def _tables_with_margins(rows: tuple[int, ...], cols: tuple[int, ...]):
    """All non-negative integer tables with the given row and column sums (plain recursion)."""
    if len(rows) == 1:
        yield [list(cols)]
        return
    first = rows[0]

    def fill(j, left, remaining_cols):
        if j == len(cols) - 1:
            if left <= remaining_cols[j]:
                yield [left]
            return
        for x in range(min(left, remaining_cols[j]) + 1):
            for rest in fill(j + 1, left - x, remaining_cols):
                yield [x, *rest]

    for row in fill(0, first, cols):
        rest_cols = tuple(c - x for c, x in zip(cols, row))
        for rest in _tables_with_margins(rows[1:], rest_cols):
            yield [row, *rest]


def r_fisher_pvalue(table) -> float:
    """R's fisher.test two-sided p value by brute force in exact rational arithmetic: the sum of
    the hypergeometric probabilities of all tables with the observed margins whose probability
    is <= that of the observed table times (1 + 1e-7) (R's relErr)."""
    t = [list(map(int, r)) for r in np.asarray(table)]
    rows = tuple(sum(r) for r in t)
    cols = tuple(sum(c) for c in zip(*t))
    n = sum(rows)
    const = Fraction(math.prod(math.factorial(v) for v in rows + cols), math.factorial(n))

    def prob(tab):
        return const / math.prod(math.factorial(v) for r in tab for v in r)

    p_obs = prob(t) * (1 + Fraction(1, 10**7))
    total, p = Fraction(0), Fraction(0)
    for tab in _tables_with_margins(rows, cols):
        q = prob(tab)
        total += q
        if q <= p_obs:
            p += q
    assert total == 1  # the enumeration is complete
    return float(p)


@pytest.mark.parametrize(
    "table",
    [[[3, 1], [1, 3]], [[2, 15], [10, 3]], [[8, 8], [12, 2]], [[0, 5], [6, 1]], [[10, 2], [2, 4]], [[1, 0], [0, 9]]],
)
def test_fisher_2x2_equals_scipy_fisher_exact(table):
    """Reference: scipy.stats.fisher_exact (two-sided), exact for 2 x 2."""
    assert st.fisher_freeman_halton(np.array(table)).pvalue == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)


@pytest.mark.parametrize(
    "table,p_published,source",
    [
        # IMSL/IDL documentation, IMSL_EXACT_ENUM example: "p-value = 0.0576712".
        ([[8, 8], [12, 2]], 0.0576712, "IMSL_EXACT_ENUM"),
        # SAS-style worked example (table probabilities 0.0533+0.0039+0.0001+0.0498): p = 0.1071.
        ([[10, 2], [2, 4]], 0.1071, "worked example, sum of 4-decimal probabilities"),
        # Cardillo G. (2007) MyFisher23, github.com/dnafinder/myfisher, example: 0.088235.
        ([[0, 3, 2], [6, 5, 1]], 0.088235, "myfisher23"),
    ],
)
def test_fisher_published_values(table, p_published, source):
    """Published p values, to the digits printed (plus one in the last printed digit)."""
    digits = len(str(p_published).split(".")[1])
    assert st.fisher_freeman_halton(np.array(table)).pvalue == pytest.approx(p_published, abs=1.5 * 10**-digits), source


@pytest.mark.parametrize(
    "table",
    [
        [[0, 3, 2], [6, 5, 1]],
        [[3, 0, 4], [1, 5, 0]],
        [[2, 4], [0, 3], [5, 1]],  # 3 x 2: transposed internally
        [[4, 1, 1], [1, 3, 1], [0, 1, 5]],
        [[1, 2, 0, 3], [2, 0, 4, 1]],
        [[2, 0, 1, 1], [0, 3, 0, 2], [1, 1, 2, 0]],
        [[5, 5, 5], [5, 5, 5]],  # p = 1
    ],
)
def test_fisher_rxc_equals_r_definition_by_enumeration(table):
    """Reference: R's fisher.test p value computed by brute-force enumeration (r_fisher_pvalue)."""
    assert st.fisher_freeman_halton(np.array(table)).pvalue == pytest.approx(r_fisher_pvalue(table), rel=1e-9)


def test_fisher_rxc_random_tables_equal_r_definition():
    """Reference: r_fisher_pvalue on 30 random small tables (seed 7), shapes 2x3 .. 3x4."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        shape = tuple(rng.choice([(2, 3), (3, 2), (3, 3), (2, 4), (3, 4)]))
        table = rng.integers(0, 5, size=shape)
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        if min(table.shape) < 2:
            continue
        assert st.fisher_freeman_halton(table).pvalue == pytest.approx(r_fisher_pvalue(table), rel=1e-9), table


def test_fisher_exact_ties_count_as_no_more_probable():
    """Cardillo G. (2007) MyFisher33 (github.com/dnafinder/myfisher) prints p = 0.033687 for
    [[4,1,1],[1,3,1],[0,1,5]] (301 tables). In exact arithmetic 14 of those tables, the observed one
    included, have exactly the observed probability 0.00073456 and the strictly less probable ones
    sum to 0.0248722; MyFisher33's floating-point `<=` keeps only 12 of the 14 ties
    (0.0248722 + 12 * 0.00073456 = 0.033687). R's fisher.test compares with a relative tolerance
    of 1e-7 and so counts all 14: p = 0.0248722 + 14 * 0.00073456 = 0.035156."""
    table = [[4, 1, 1], [1, 3, 1], [0, 1, 5]]
    f = math.factorial
    p_obs = f(6) * f(5) * f(6) * f(5) * f(5) * f(7) / (f(17) * f(4) * f(3) * f(5))  # margins 6,5,6 x 5,5,7
    p_less = 0.02487218663689252  # sum over the 116 strictly less probable tables (exact enumeration)
    assert p_obs == pytest.approx(0.0007345595580889699, rel=1e-12)
    assert p_less + 12 * p_obs == pytest.approx(0.033687, abs=1e-6)  # the published value
    assert st.fisher_freeman_halton(np.array(table)).pvalue == pytest.approx(p_less + 14 * p_obs, rel=1e-9)
    assert st.fisher_freeman_halton(np.array(table)).pvalue == pytest.approx(r_fisher_pvalue(table), rel=1e-9)


def test_fisher_empty_rows_and_columns_are_dropped():
    table = np.array([[0, 3, 0, 2], [0, 0, 0, 0], [0, 5, 0, 1]])
    assert st.fisher_freeman_halton(table).pvalue == pytest.approx(sps.fisher_exact([[3, 2], [5, 1]]).pvalue, rel=1e-9)
    assert st.fisher_freeman_halton(pd.DataFrame([[3, 0], [4, 0]])).pvalue == 1.0


def test_fisher_job_satisfaction_table_r_documentation():
    """R documentation of fisher.test (Agresti 2002, p. 57, Job satisfaction):
    ``Job <- matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)`` (filled by column);
    ``fisher.test(Job)`` prints p-value = 0.7827. The exact network algorithm must give it (it
    used to raise OverflowError: too many tables to list)."""
    job = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T  # R fills by column
    assert job.sum() == 96
    res = st.fisher_freeman_halton(job)
    assert res.method == "exact" and res.n_draws == 0 and res.se == 0.0
    assert res.pvalue == pytest.approx(0.7827, abs=5e-5)  # R prints 4 significant digits


def long_from_table(table, x_levels, y_levels) -> pd.DataFrame:
    rows = [(x, y) for (i, x), (j, y) in itertools.product(enumerate(x_levels), enumerate(y_levels))
            for _ in range(int(table[i][j]))]
    return pd.DataFrame(rows, columns=["group", "outcome"])


@pytest.mark.parametrize(
    "table,min_expected",
    [
        ([[7, 3], [3, 7]], 5.0),  # margins 10/10 x 10/10, n 20: every expected count is 5
        ([[12, 3], [3, 12]], 7.5),
        ([[9, 6, 5], [6, 9, 5]], 5.0),  # column 3: 10 * 15 / 30 = 5
    ],
)
def test_chi2_groups_pearson_branch_at_and_above_expected_5(table, min_expected):
    """Reference: scipy.stats.chi2_contingency(correction=False) (SPSS Pearson chi-square);
    an expected count of exactly 5 is not 'below 5', so the chi-square p value is used."""
    res = st.chi2_groups(long_from_table(table, ["VV", "control"], ["a", "b", "c"][: len(table[0])]),
                         x="group", y="outcome").iloc[0]
    stat, p, df, expected = sps.chi2_contingency(np.array(table), correction=False)
    assert res["method"] == "chi2"
    assert res["min_expected"] == pytest.approx(min_expected, rel=1e-12)
    assert res["statistic"] == pytest.approx(stat, rel=1e-12)
    assert res["df"] == df
    assert res["p_unc"] == pytest.approx(p, rel=1e-12)


@pytest.mark.parametrize(
    "table,min_expected",
    [
        ([[7, 3], [3, 8]], 100 / 21),  # margins 10/11 x 10/11, n 21: 4.76 < 5
        ([[9, 6, 4], [6, 9, 5]], 19 * 9 / 39),  # 4.38 < 5
        ([[1, 4], [6, 1]], 5 * 5 / 12),
    ],
)
def test_chi2_groups_exact_branch_below_expected_5(table, min_expected):
    """Reference: below an expected count of 5 the p value is R's fisher.test (r_fisher_pvalue,
    and scipy.stats.fisher_exact for 2 x 2); statistic and df stay Pearson's (no correction)."""
    res = st.chi2_groups(long_from_table(table, ["VV", "control"], ["a", "b", "c"][: len(table[0])]),
                         x="group", y="outcome").iloc[0]
    stat, _, df, _ = sps.chi2_contingency(np.array(table), correction=False)
    assert res["method"] == "fisher-freeman-halton"
    assert res["min_expected"] == pytest.approx(min_expected, rel=1e-12)
    assert res["statistic"] == pytest.approx(stat, rel=1e-12)
    assert res["df"] == df
    assert res["p_unc"] == pytest.approx(r_fisher_pvalue(table), rel=1e-9)
    if len(table[0]) == 2:
        assert res["p_unc"] == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)


def test_chi2_groups_leaves_out_missing_and_needs_two_levels():
    data = long_from_table([[7, 3], [3, 7]], ["VV", "control"], ["a", "b"])
    data = pd.concat([data, pd.DataFrame({"group": [None, "VV"], "outcome": ["a", None]})], ignore_index=True)
    res = st.chi2_groups(data, x="group", y="outcome")
    assert res.attrs["table"].to_numpy().sum() == 20
    assert res.iloc[0]["p_unc"] == pytest.approx(sps.chi2_contingency([[7, 3], [3, 7]], correction=False).pvalue)
    one = st.chi2_groups(data.assign(outcome="a"), x="group", y="outcome").iloc[0]
    assert one["method"] == "none" and np.isnan(one["p_unc"])
    with pytest.raises(StatsInputError, match="'nope'"):
        st.chi2_groups(data, x="group", y="nope")


# ============================================================================================
# 4. welch_ttest


@pytest.mark.parametrize("n1,n2,sd2,seed", [(8, 15, 3.0, 51), (20, 6, 0.5, 52), (12, 12, 2.0, 53)])
def test_welch_ttest_equals_scipy_and_pingouin(n1, n2, sd2, seed):
    """References: scipy.stats.ttest_ind(equal_var=False) and pingouin.ttest(correction=True)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(5, 1, n1), rng.normal(6, sd2, n2)
    data = pd.DataFrame({"grp": ["VV"] * n1 + ["control"] * n2, "y": np.r_[a, b]})
    data.loc[len(data)] = ["VV", np.nan]  # missing values are left out
    res = st.welch_ttest(data, dv="y", between="grp", order=["VV", "control"]).iloc[0]
    ref = sps.ttest_ind(a, b, equal_var=False)
    ref_pg = pg.ttest(a, b, correction=True).iloc[0]
    for ours, sc, pgv in [("T", ref.statistic, ref_pg["T"]), ("dof", ref.df, ref_pg["dof"]),
                          ("p_unc", ref.pvalue, ref_pg["p_val"])]:
        assert close(res[ours], sc), ours
        assert close(res[ours], pgv), ours
    assert (res["n_VV"], res["n_control"]) == (n1, n2)
    assert close(res["mean_VV"], a.mean()) and close(res["mean_control"], b.mean())
    # default order: the two levels sorted ('VV' < 'control'), so the same sign here
    default = st.welch_ttest(data, dv="y", between="grp").iloc[0]
    assert close(default["T"], ref.statistic)
    flipped = st.welch_ttest(data, dv="y", between="grp", order=["control", "VV"]).iloc[0]
    assert close(flipped["T"], -ref.statistic) and close(flipped["p_unc"], ref.pvalue)


def test_welch_ttest_needs_two_groups():
    data = pd.DataFrame({"grp": ["a", "b", "c"] * 3, "y": np.arange(9.0)})
    with pytest.raises(StatsInputError, match="'grp'"):
        st.welch_ttest(data, dv="y", between="grp")


# ============================================================================================
# 5. effect-size words (Tabel 1 of the report)


def test_thresholds_are_tabel_1():
    """Tabel 1 of the report: between .01/.06/.14, repeated measures .02/.13/.26."""
    assert st.THRESHOLDS == {"between": (0.01, 0.06, 0.14), "repeated": (0.02, 0.13, 0.26)}
    assert st.EFFECT_KIND == {"time": "repeated", "group": "between", "interaction": "between"}


@pytest.mark.parametrize(
    "kind,eta2,word",
    [
        ("between", 0.0, "none"),
        ("between", 0.0099, "none"),
        ("between", 0.01, "small"),
        ("between", 0.0599, "small"),
        ("between", 0.06, "medium"),
        ("between", 0.1399, "medium"),
        ("between", 0.14, "large"),
        ("between", 0.9, "large"),
        ("between", float("nan"), ""),  # NaN: no word (docstring)
        ("repeated", 0.0199, "none"),
        ("repeated", 0.02, "small"),
        ("repeated", 0.1299, "small"),
        ("repeated", 0.13, "medium"),
        ("repeated", 0.2599, "medium"),
        ("repeated", 0.26, "large"),
        ("repeated", 0.0599, "small"),  # medium for 'between', small for 'repeated'
    ],
)
def test_effect_size_word_on_both_sides_of_each_cutoff(kind, eta2, word):
    """Tabel 1: a threshold belongs to the larger word (docstring: 0.01 is small)."""
    assert st.effect_size_word(eta2, kind=kind) == word


def test_effect_size_word_unknown_kind():
    with pytest.raises(StatsInputError, match="'within'"):
        st.effect_size_word(0.1, kind="within")


@pytest.mark.parametrize(
    "p,eta2,kind,text",
    [
        (float("nan"), 0.3, "between", "not computable"),
        (None, 0.3, "between", "not computable"),
        (0.05, 0.3, "between", "not significant"),  # p < alpha rule: .05 itself is not significant
        (0.2, 0.3, "repeated", "not significant"),
        (0.049, 0.005, "between", "significant, too small to call a difference"),
        (0.001, 0.0199, "repeated", "significant, too small to call a difference"),
        (0.049, 0.01, "between", "significant, small"),
        (0.01, 0.06, "between", "significant, medium"),
        (0.001, 0.14, "between", "significant, large"),
        (0.049, 0.02, "repeated", "significant, small"),
        (0.01, 0.13, "repeated", "significant, medium"),
        (0.001, 0.26, "repeated", "significant, large"),
    ],
)
def test_describe_effect(p, eta2, kind, text):
    """Docstring of describe_effect and Tabel 1."""
    assert st.describe_effect(p, eta2, kind) == text


def test_describe_effect_alpha():
    assert st.describe_effect(0.02, 0.3, "between", alpha=0.01) == "not significant"
    assert st.describe_effect(0.009, 0.3, "between", alpha=0.01) == "significant, large"


# ============================================================================================
# 6. error bars


def test_mean_ci_hand_computed():
    """Hand computation: 1..5 has mean 3, sd sqrt(2.5), se sqrt(0.5); t(.975, 4) = 2.776445
    (t table), so the 95% interval is 3 -/+ 2.776445 * 0.707107 = (1.036757, 4.963243)."""
    est = st.mean_ci([1, 2, 3, np.nan, 4, 5])
    assert est.n == 5 and est.estimate == 3.0
    assert est.low == pytest.approx(1.036757, abs=1e-6)
    assert est.high == pytest.approx(4.963243, abs=1e-6)


@pytest.mark.parametrize("n,confidence,seed", [(2, 0.95, 61), (9, 0.95, 62), (40, 0.90, 63), (25, 0.99, 64)])
def test_mean_ci_equals_scipy_t_interval(n, confidence, seed):
    """Reference: scipy.stats.t.interval(confidence, n - 1, loc=mean, scale=sd/sqrt(n))."""
    x = np.random.default_rng(seed).normal(3, 2, n)
    est = st.mean_ci(x, confidence)
    low, high = sps.t.interval(confidence, n - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(n))
    assert est.n == n and close(est.estimate, x.mean())
    assert close(est.low, low) and close(est.high, high)


def test_mean_ci_small_and_empty():
    """Docstring: the interval is NaN below two values; empty input gives n = 0 and NaN."""
    one = st.mean_ci([4.0, np.nan])
    assert one.n == 1 and one.estimate == 4.0 and np.isnan(one.low) and np.isnan(one.high)
    for empty in ([], [np.nan, np.nan]):
        est = st.mean_ci(empty)
        assert est.n == 0 and all(np.isnan(v) for v in est[:3])


def test_proportion_ci_wilson_by_hand():
    """Wilson (1927) score interval for 3 of 10, z = 1.959964:
    centre = (p + z^2/2n) / (1 + z^2/n), half = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
    = 0.355507 -/+ 0.247715, i.e. (0.1078, 0.6032)."""
    z, n, p = sps.norm.ppf(0.975), 10, 0.3
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    est = st.proportion_ci([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, np.nan])
    assert est.n == 10 and est.estimate == 0.3
    assert close(est.low, centre - half) and close(est.high, centre + half)
    assert (round(est.low, 4), round(est.high, 4)) == (0.1078, 0.6032)


@pytest.mark.parametrize("k,n,confidence", [(0, 12, 0.95), (12, 12, 0.95), (5, 37, 0.95), (81, 263, 0.90)])
def test_proportion_ci_equals_statsmodels_wilson(k, n, confidence):
    """Reference: statsmodels proportion_confint(method='wilson')."""
    est = st.proportion_ci([1] * k + [0] * (n - k), confidence)
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert est.n == n and est.estimate == k / n
    assert close(est.low, low) and close(est.high, high)


def test_proportion_ci_empty_and_bad_values():
    est = st.proportion_ci([np.nan])
    assert est.n == 0 and all(np.isnan(v) for v in est[:3])
    with pytest.raises(StatsInputError, match="0/1"):
        st.proportion_ci([0, 1, 2])
