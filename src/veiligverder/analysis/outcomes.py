"""Chapter 5 per outcome, before disclosure control: analysis sample -> summary with CIs -> test -> result ids and prose words.

One call per outcome gives everything a chapter section shows: the two-wave summary for the figure,
the mixed ANOVA (or, for the violence category, the Stuart-Maxwell and between-group tests), the
CONTRACT §4 result ids, and sentences whose wording follows the computed significance and effect
size, so the text stays true when the data change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from veiligverder import design, stats
from veiligverder.vocab import ALPHA, CATEGORIES, EFFECT_KIND, GROUP_NAMES, GROUPS, SOURCES, TIMES


@dataclass
class OutcomeAnalysis:
    """Everything chapter 5 shows for one outcome."""

    outcome: str
    sample: pd.DataFrame
    summary: pd.DataFrame
    test: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence

    def n(self, group: str) -> int:
        return int(self.sample.loc[self.sample["time"] == "baseline", "group"].eq(group).sum())


#: Outcomes that count events (incidents a year, drinks a week): skewed, never below zero. Their
#: means get a percentile bootstrap interval, which stays within the values' range.
COUNT_OUTCOMES = ("violence_total", "violence_partner", "violence_child_direct", "drinks_own", "drinks_partner")


def summarise(sample: pd.DataFrame, *, binary: bool = False, count: bool = False) -> pd.DataFrame:
    """Mean (or share) with a 95 % confidence interval per group and time.

    Means get a t-based interval, shares of a 0/1 outcome a Wilson interval, means of a count
    (``count=True``) a seeded percentile bootstrap interval that cannot reach below zero
    (:func:`veiligverder.stats.mean_ci`, :func:`veiligverder.stats.proportion_ci`,
    :func:`veiligverder.stats.intervals.bootstrap_mean_ci`). The means are the same for all three.

    Returns
    -------
    DataFrame
        Columns ``group``, ``time``, ``n``, ``mean``, ``ci_low``, ``ci_high``; one row for every
        group and time, NaN where a cell has no units.
    """
    rows = []
    for group in GROUPS:
        for time in TIMES:
            values = sample.loc[(sample["group"] == group) & (sample["time"] == time), "value"].dropna()
            est = (stats.proportion_ci(values) if binary else stats.bootstrap_mean_ci(values) if count
                   else stats.mean_ci(values))
            rows.append({"group": group, "time": time, "n": est.n, "mean": est.estimate,
                         "ci_low": est.low, "ci_high": est.high})
    return pd.DataFrame(rows)


def _anova_or_nan(sample: pd.DataFrame) -> pd.DataFrame:
    """The mixed ANOVA, or a frame of NaN when a group has fewer than two units."""
    n_units = sample.loc[sample["time"] == "baseline"].groupby("group")["unit_id"].nunique()
    if any(n_units.get(g, 0) < 2 for g in GROUPS) or sample["value"].nunique() < 2:
        return pd.DataFrame({"source": list(SOURCES), "F": np.nan, "p_unc": np.nan, "np2": np.nan,
                             "df1": np.nan, "df2": np.nan})
    return stats.mixed_anova(sample, dv="value", within="time", subject="unit_id", between="group")


def analyse(measures, outcome: str, *, follow_up_rule: str = "latest") -> OutcomeAnalysis:
    """Analyse one continuous or 0/1 outcome of CONTRACT §3 (VV vs control, baseline vs follow-up)."""
    spec = design.OUTCOMES[outcome]
    sample = design.analysis_sample(measures, outcome, follow_up_rule=follow_up_rule)
    binary = spec["kind"] == "binary"
    summary = summarise(sample, binary=binary, count=outcome in COUNT_OUTCOMES)
    test = _anova_or_nan(sample)
    test = test.assign(words=[_words(r.source, r.p_unc, r.np2) for r in test.itertuples()])
    results: dict[str, Any] = {}
    for r in summary.itertuples():
        results[f"{outcome}.mean.{r.group}.{r.time}"] = r.mean
    for group in GROUPS:
        results[f"{outcome}.n.{group}"] = int(sample.loc[sample["time"] == "baseline", "group"].eq(group).sum())
    for r in test.itertuples():
        results[f"{outcome}.anova.{r.source}.F"] = r.F
        results[f"{outcome}.anova.{r.source}.p"] = r.p_unc
        results[f"{outcome}.anova.{r.source}.np2"] = r.np2
    return OutcomeAnalysis(outcome, sample, summary, test, results)


def _words(source: str, p: float, np2: float) -> str:
    if not np.isfinite(p):
        return "not computable"
    return stats.describe_effect(p, np2, kind=EFFECT_KIND[source], alpha=ALPHA)


def test_table(analysis: OutcomeAnalysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The small tables printed under each figure: n and means by group and time (first), and the
    ANOVA rows with F, df, p, partial eta squared and words (second)."""
    s = analysis.summary
    means = s.pivot(index="group", columns="time", values="mean").reindex(list(GROUPS))
    top = pd.DataFrame(
        {
            "n": [analysis.n(g) for g in GROUPS],
            "mean at baseline": means["baseline"].to_numpy(),
            "mean at follow-up": means["follow_up"].to_numpy(),
        },
        index=[GROUP_NAMES[g] for g in GROUPS],
    )
    tests = analysis.test.set_index("source")[["F", "df1", "df2", "p_unc", "np2", "words"]]
    tests = tests.rename(columns={"p_unc": "p", "np2": "partial η²"})
    return top, tests


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate test results row-wise, dropping their ``attrs`` (tables that pandas cannot compare)."""
    plain = []
    for f in frames:
        f = f.copy()
        f.attrs = {}
        plain.append(f)
    return pd.concat(plain, ignore_index=True)


def _stuart_maxwell_or_nan(sample: pd.DataFrame) -> pd.DataFrame:
    """The Stuart-Maxwell test of one group's change, or a row of NaN when the group has no unit with
    both waves (a valid dataset can have such a group; the chapter then says so)."""
    try:
        return stats.stuart_maxwell(sample, dv="value", within="time", subject="unit_id")
    except stats.StatsInputError:
        return pd.DataFrame({"statistic": [np.nan], "df": [np.nan], "p_unc": [np.nan]})


@dataclass
class CategoryAnalysis:
    """Figure 1: the violence category per group and wave, with its tests."""

    sample: pd.DataFrame
    shares: pd.DataFrame      # group, time, category, n, share
    within: pd.DataFrame      # per group: Stuart-Maxwell statistic, df, p
    between: pd.DataFrame     # per time: chi-square or Fisher-Freeman-Halton
    results: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence


def analyse_category(measures, *, follow_up_rule: str = "latest") -> CategoryAnalysis:
    """The family violence category (none / mild / severe): shares, change within each group
    (Stuart-Maxwell) and difference between the groups at each wave (chi-square, exact
    Fisher-Freeman-Halton where an expected count is below 5), as CONTRACT §3 asks."""
    sample = design.analysis_sample(measures, "violence_category", follow_up_rule=follow_up_rule)
    counts = (sample.groupby(["group", "time"])["value"].value_counts()
              .unstack("value").reindex(columns=list(CATEGORIES)).fillna(0))
    counts = counts.reindex(pd.MultiIndex.from_product([GROUPS, TIMES], names=["group", "time"])).fillna(0)
    totals = counts.sum(axis=1)
    shares = (counts.div(totals.where(totals > 0), axis=0).stack(future_stack=True)
              .rename("share").reset_index().rename(columns={"value": "category"}))
    shares["n"] = shares.set_index(["group", "time"]).index.map(totals).astype(int)
    within = _stack([_stuart_maxwell_or_nan(sample[sample["group"] == g]).assign(group=g) for g in GROUPS])
    between = _stack(
        [stats.chi2_groups(sample[sample["time"] == t], x="group", y="value").assign(time=t) for t in TIMES])
    results: dict[str, Any] = {}
    for r in shares.itertuples():
        results[f"violence_category.share.{r.group}.{r.time}.{r.category}"] = r.share
    for g in GROUPS:
        results[f"violence_category.n.{g}"] = int(totals.get((g, "baseline"), 0))
    for r in within.itertuples():
        results[f"violence_category.change_p.{r.group}"] = r.p_unc
    for r in between.itertuples():
        results[f"violence_category.group_p.{r.time}"] = r.p_unc
    return CategoryAnalysis(sample, shares, within, between, results)


@dataclass
class HelpGradeAnalysis:
    """Figure 18: one grade per parent for the help received, compared between groups."""

    sample: pd.DataFrame
    summary: pd.DataFrame
    test: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence


def _means_and_welch(sample: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per group of ``sample`` (one ``value`` per unit): n, mean and t-based 95 % CI; and VV against
    control by Welch's t-test, or a row of NaN when a group has fewer than two values."""
    rows = []
    for g in GROUPS:
        est = stats.mean_ci(sample.loc[sample["group"] == g, "value"])
        rows.append({"group": g, "n": est.n, "mean": est.estimate, "ci_low": est.low, "ci_high": est.high})
    summary = pd.DataFrame(rows)
    if (summary["n"] >= 2).all():
        return summary, stats.welch_ttest(sample, dv="value", between="group")
    return summary, pd.DataFrame({"T": [np.nan], "dof": [np.nan], "p_unc": [np.nan]})


def analyse_help_grade(measures) -> HelpGradeAnalysis:
    """Help grade (1-10): the grade at each parent's latest wave with a grade (CONTRACT §3),
    VV against control by Welch's t-test."""
    sample = design.help_grade_sample(measures)
    summary, test = _means_and_welch(sample)
    results = {f"help_grade.mean.{r.group}": r.mean for r in summary.itertuples()}
    results.update({f"help_grade.n.{r.group}": int(r.n) for r in summary.itertuples()})
    results["help_grade.p"] = float(test["p_unc"].iloc[0])
    return HelpGradeAnalysis(sample, summary, test, results)


SATISFACTION_BANDS = ("dissatisfied", "neutral", "satisfied", "very satisfied")
# Bands of the 1-5 mean of usefulness and importance (project rule; the report names the bands in
# words only): below 2.5 dissatisfied, 2.5 to below 3.5 neutral, 3.5 to below 4.5 satisfied, 4.5 and up very satisfied.
SATISFACTION_EDGES = (-np.inf, 2.5, 3.5, 4.5, np.inf)


@dataclass
class SatisfactionAnalysis:
    """Figure 17: satisfaction with formal help (latest answer per parent), compared between groups."""

    sample: pd.DataFrame
    summary: pd.DataFrame
    shares: pd.DataFrame
    test: pd.DataFrame
    band_test: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence


def analyse_help_satisfaction(measures) -> SatisfactionAnalysis:
    """Satisfaction with formal help: the mean of ``help_useful`` and ``help_important`` (1-5) at each
    parent's latest wave with an answer, in four bands; VV against control by Welch's t-test on the
    score and by chi-square / Fisher-Freeman-Halton on the bands."""
    sample = design.latest_value(measures.parents, unit="parent_id", value="help_satisfaction")
    sample = sample.assign(band=pd.cut(sample["value"], SATISFACTION_EDGES, right=False,
                                       labels=list(SATISFACTION_BANDS)).astype(str))
    summary, test = _means_and_welch(sample)
    counts = pd.crosstab(sample["group"], sample["band"]).reindex(index=list(GROUPS), columns=list(SATISFACTION_BANDS)).fillna(0)
    shares = counts.div(counts.sum(axis=1).where(lambda n: n > 0), axis=0)
    two_groups = (summary["n"] >= 2).all()
    band_test = stats.chi2_groups(sample, x="group", y="band") if two_groups else \
        pd.DataFrame({"statistic": [np.nan], "df": [np.nan], "p_unc": [np.nan], "method": ["not computable"]})
    results: dict[str, Any] = {}
    for r in summary.itertuples():
        results[f"help_satisfaction.mean.{r.group}"] = r.mean
        results[f"help_satisfaction.n.{r.group}"] = int(r.n)
    for g in GROUPS:
        for band in SATISFACTION_BANDS:
            results[f"help_satisfaction.share.{g}.{band.replace(' ', '_')}"] = shares.loc[g, band]
    results["help_satisfaction.p"] = float(test["p_unc"].iloc[0])
    results["help_satisfaction.band_p"] = float(band_test["p_unc"].iloc[0])
    return SatisfactionAnalysis(sample, summary, shares, test, band_test, results)
