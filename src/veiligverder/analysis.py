"""Chapter 5 per outcome: analysis sample -> summary with CIs -> test -> result ids and prose words.

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

from veiligverder import design, paths, stats
from veiligverder.contract import read_yaml

GROUPS = ("VV", "control")
TIMES = ("baseline", "follow_up")
CATEGORIES = ("none", "mild", "severe")
SOURCES = ("time", "group", "interaction")
EFFECT_KIND = stats.EFFECT_KIND  # Tabel 1: time is judged as repeated measures, group and interaction between groups
ALPHA = 0.05


@dataclass
class OutcomeAnalysis:
    """Everything chapter 5 shows for one outcome."""

    outcome: str
    sample: pd.DataFrame
    summary: pd.DataFrame
    test: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)

    def n(self, group: str) -> int:
        return int(self.sample.loc[self.sample["time"] == "baseline", "group"].eq(group).sum())


def summarise(sample: pd.DataFrame, *, binary: bool = False) -> pd.DataFrame:
    """Mean (or share) with a 95 % confidence interval per group and time.

    Means get a t-based interval, shares of a 0/1 outcome a Wilson interval
    (:func:`veiligverder.stats.mean_ci`, :func:`veiligverder.stats.proportion_ci`).

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
            est = stats.proportion_ci(values) if binary else stats.mean_ci(values)
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
    summary = summarise(sample, binary=binary)
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


def is_difference(p: float, np2: float, source: str) -> bool:
    """True when a result counts as a difference in the report's sense (Tabel 1's reporting rule):
    significant at .05 and at least a 'small' effect for its kind."""
    return bool(np.isfinite(p) and p < ALPHA and stats.effect_size_word(np2, kind=EFFECT_KIND[source]) != "none")


def test_table(analysis: OutcomeAnalysis) -> pd.DataFrame:
    """The small table printed under each figure: n, means by group and time, and the ANOVA rows."""
    s = analysis.summary
    means = s.pivot(index="group", columns="time", values="mean").reindex(list(GROUPS))
    top = pd.DataFrame(
        {
            "n": [analysis.n(g) for g in GROUPS],
            "mean at baseline": means["baseline"].to_numpy(),
            "mean at follow-up": means["follow_up"].to_numpy(),
        },
        index=[{"VV": "Veilig Verder", "control": "Control"}[g] for g in GROUPS],
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


@dataclass
class CategoryAnalysis:
    """Figure 1: the violence category per group and wave, with its tests."""

    sample: pd.DataFrame
    shares: pd.DataFrame      # group, time, category, n, share
    within: pd.DataFrame      # per group: Stuart-Maxwell statistic, df, p
    between: pd.DataFrame     # per time: chi-square or Fisher-Freeman-Halton
    results: dict[str, Any] = field(default_factory=dict)


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
    within = _stack(
        [stats.stuart_maxwell(sample[sample["group"] == g], dv="value", within="time", subject="unit_id").assign(group=g)
         for g in GROUPS])
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


def analyse_help_grade(measures) -> HelpGradeAnalysis:
    """Help grade (1-10): the grade at each parent's latest wave with a grade (CONTRACT §3),
    VV against control by Welch's t-test."""
    sample = design.help_grade_sample(measures)
    rows = []
    for g in GROUPS:
        values = sample.loc[sample["group"] == g, "value"].dropna()
        est = stats.mean_ci(values)
        rows.append({"group": g, "n": est.n, "mean": est.estimate, "ci_low": est.low, "ci_high": est.high})
    summary = pd.DataFrame(rows)
    if (summary["n"] >= 2).all():
        test = stats.welch_ttest(sample, dv="value", between="group")
    else:
        test = pd.DataFrame({"T": [np.nan], "dof": [np.nan], "p_unc": [np.nan]})
    results = {f"help_grade.mean.{r.group}": r.mean for r in summary.itertuples()}
    results.update({f"help_grade.n.{r.group}": int(r.n) for r in summary.itertuples()})
    results["help_grade.p"] = float(test["p_unc"].iloc[0])
    return HelpGradeAnalysis(sample, summary, test, results)


# --------------------------------------------------------------------------------------------
# the study as the chapters see it


@dataclass
class Study:
    """A loaded dataset with its derived measures, the norms in force and the run's settings."""

    dataset: Any
    measures: Any
    norms: dict[str, float]
    keys: dict[str, Any]
    rematched: bool = False
    disclosure_threshold: int = 5

    @property
    def synthetic(self) -> bool:
        return bool(self.dataset.meta.synthetic)

    def banner(self):
        """An admonition saying which data and which scoring keys are in force (shown atop chapters)."""
        from IPython.display import Markdown

        illustrative = sorted(k for k, v in self.keys.items() if v.get("illustrative"))
        if self.synthetic:
            head = ":::{admonition} Synthetic data\n:class: warning\n\n" \
                   "The numbers on this page are computed from the **synthetic twin**: invented families whose " \
                   "answers were generated to resemble what the report published. They illustrate the method " \
                   "and are not findings about real families.\n"
        else:
            head = ":::{admonition} Data in force\n:class: note\n\n" \
                   f"The numbers on this page are computed from the dataset `{self.dataset.meta.path.name}` " \
                   f"(content hash {self.dataset.meta.content_hash[:12]}); table cells based on fewer than " \
                   f"{self.disclosure_threshold} units are suppressed.\n"
        keys = ("Scoring keys: **illustrative** (not the licensed keys) for " + ", ".join(illustrative) + ".\n"
                if illustrative else "Scoring keys: the licensed keys supplied by the user.\n")
        extra = "Control families were re-selected by matching (parameter `rematch`).\n" if self.rematched else ""
        return Markdown(head + keys + extra + ":::\n")

    def protect(self, table: pd.DataFrame, counts: pd.DataFrame | None = None) -> pd.DataFrame:
        """Disclosure control: on data that are not synthetic, blank the cells of ``table`` whose
        unit count in ``counts`` (same shape) is below the threshold; see
        :func:`veiligverder.report.disclosure.suppress`."""
        if self.synthetic:
            plain = table.copy()
            plain.attrs = {}
            return plain
        from veiligverder.report.disclosure import suppress

        return suppress(table, counts, threshold=self.disclosure_threshold)

    def _small(self, n: pd.Series) -> pd.Series:
        """Cells that disclosure control blanks: real data, fewer than the threshold but not zero units."""
        return pd.Series(False, index=n.index) if self.synthetic else (n > 0) & (n < self.disclosure_threshold)

    def _blank_small_means(self, summary: pd.DataFrame, results: dict[str, Any], result_id) -> None:
        """Blank (in place) the summary rows resting on too few units, and their result ids
        (``result_id(row)`` names the id of a summary row)."""
        small = self._small(summary["n"])
        summary.loc[small, ["mean", "ci_low", "ci_high"]] = np.nan
        for r in summary.loc[small].itertuples():
            results[result_id(r)] = float("nan")

    def analyse(self, outcome: str, *, follow_up_rule: str = "latest") -> OutcomeAnalysis:
        """:func:`analyse` with disclosure control: on real data a group mean resting on fewer than
        ``disclosure_threshold`` units is blanked in the summary, the figure and the result ids."""
        a = analyse(self.measures, outcome, follow_up_rule=follow_up_rule)
        self._blank_small_means(a.summary, a.results, lambda r: f"{outcome}.mean.{r.group}.{r.time}")
        return a

    def analyse_category(self, *, follow_up_rule: str = "latest") -> CategoryAnalysis:
        """:func:`analyse_category` with disclosure control: on real data a category share resting on
        fewer than ``disclosure_threshold`` families is blanked."""
        c = analyse_category(self.measures, follow_up_rule=follow_up_rule)
        counts = (c.shares["share"] * c.shares["n"]).round()
        small = self._small(counts)
        if small.any():
            c.shares.loc[small, "share"] = np.nan
            for r in c.shares.loc[small].itertuples():
                c.results[f"violence_category.share.{r.group}.{r.time}.{r.category}"] = float("nan")
        return c

    def analyse_help_grade(self) -> HelpGradeAnalysis:
        """:func:`analyse_help_grade` with disclosure control of group means."""
        h = analyse_help_grade(self.measures)
        self._blank_small_means(h.summary, h.results, lambda r: f"help_grade.mean.{r.group}")
        return h

    def analyse_help_satisfaction(self) -> SatisfactionAnalysis:
        """:func:`analyse_help_satisfaction` with disclosure control of group means and band shares."""
        h = analyse_help_satisfaction(self.measures)
        self._blank_small_means(h.summary, h.results, lambda r: f"help_satisfaction.mean.{r.group}")
        if not self.synthetic:
            n = h.summary.set_index("group")["n"]
            band_n = h.shares.mul(n.reindex(h.shares.index), axis=0).round()
            blank = (band_n > 0) & (band_n < self.disclosure_threshold)
            h.shares = h.shares.mask(blank)
            for g in blank.index:
                for band in blank.columns[blank.loc[g].to_numpy()]:
                    h.results[f"help_satisfaction.share.{g}.{band.replace(' ', '_')}"] = float("nan")
        return h


def load_study(data_dir, *, keys_dir=None, cumulation_threshold: int = 5, rematch: bool = False, seed: int = 0,
               disclosure_threshold: int = 5) -> Study:
    """Load a dataset, derive every measure, and (when ``rematch``) relabel the control group by matching.

    This is the one entry point of the chapter notebooks, so that every chapter sees the same data.
    """
    from veiligverder import measures as measures_module
    from veiligverder.data import load_dataset

    dataset = load_dataset(data_dir)
    m = measures_module.derive(dataset, keys_dir=keys_dir, cumulation_threshold=cumulation_threshold)
    if rematch:  # relabel the groups; the measures themselves do not depend on them, so no re-scoring
        dataset = design.relabel(dataset, design.match_controls(design.matching_covariates(dataset, m), seed=seed))
        m = design.relabel_measures(m, dataset.families)
    figures = read_yaml(paths.REPORT_FACTS)["figures"]
    # The figures' norm lines are the population values the report prints (figures 8, 9 and 12).
    norms = {
        "emotional_insecurity": float(figures["fig8_child_emotional_insecurity"]["normal_population_mean"]),
        "parenting_stress": float(figures["fig9_parenting_stress"]["normal_population_mean"]),
        "qol_child": float(figures["fig12_child_quality_of_life"]["dutch_youth_mean"]),
    }
    return Study(dataset, m, norms, dict(m.keys), rematched=rematch, disclosure_threshold=disclosure_threshold)


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


def analyse_help_satisfaction(measures) -> SatisfactionAnalysis:
    """Satisfaction with formal help: the mean of ``help_useful`` and ``help_important`` (1-5) at each
    parent's latest wave with an answer, in four bands; VV against control by Welch's t-test on the
    score and by chi-square / Fisher-Freeman-Halton on the bands."""
    sample = design.latest_value(measures.parents, unit="parent_id", value="help_satisfaction")
    sample = sample.assign(band=pd.cut(sample["value"], SATISFACTION_EDGES, right=False,
                                       labels=list(SATISFACTION_BANDS)).astype(str))
    rows = []
    for g in GROUPS:
        est = stats.mean_ci(sample.loc[sample["group"] == g, "value"])
        rows.append({"group": g, "n": est.n, "mean": est.estimate, "ci_low": est.low, "ci_high": est.high})
    summary = pd.DataFrame(rows)
    counts = pd.crosstab(sample["group"], sample["band"]).reindex(index=list(GROUPS), columns=list(SATISFACTION_BANDS)).fillna(0)
    shares = counts.div(counts.sum(axis=1).where(lambda n: n > 0), axis=0)
    two_groups = (summary["n"] >= 2).all()
    test = stats.welch_ttest(sample, dv="value", between="group") if two_groups else \
        pd.DataFrame({"T": [np.nan], "dof": [np.nan], "p_unc": [np.nan]})
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


# --------------------------------------------------------------------------------------------
# matching (report ch. 5.1)


@dataclass
class MatchingReport:
    """The matching of chapter 5.1: balance before and after, and the overlap with the dataset's labels."""

    matching: Any
    balance: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)


def matching_report(dataset, measures, *, seed: int = 0) -> MatchingReport:
    """Repeat the report's choice of controls (:func:`veiligverder.design.match_controls`) and say
    how well it balances the matching variables and how far it agrees with the dataset's own
    ``control`` label."""
    cov = design.matching_covariates(dataset, measures)
    m = design.match_controls(cov, seed=seed)
    overlap = design.overlap_with_labels(m)
    results = {
        "matching.n_treated": int((m.covariates["group"] == "VV").sum()),
        "matching.n_candidates": int((m.covariates["group"] != "VV").sum()),
        "matching.n_controls": overlap["n_chosen"],
        "matching.overlap": overlap["n_both"],
        "matching.overlap_share": overlap["share_of_chosen"],
        "matching.max_abs_smd_before": float(m.balance["smd_before"].abs().max()),
        "matching.max_abs_smd_after": float(m.balance["smd_after"].abs().max()),
    }
    return MatchingReport(m, m.balance, results)


def rematched_dataset(dataset, *, seed: int = 0, keys_dir=None):
    """The dataset with its control group replaced by the families that matching chooses
    (parameter ``rematch``); the measures needed for matching are derived once here."""
    from veiligverder import measures as measures_module

    m = measures_module.derive(dataset, keys_dir=keys_dir)
    matching = design.match_controls(design.matching_covariates(dataset, m), seed=seed)
    return design.relabel(dataset, matching)
