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

from veiligverder import design, stats

GROUPS = ("VV", "control")
TIMES = ("baseline", "follow_up")
CATEGORIES = ("none", "mild", "severe")
SOURCES = ("time", "group", "interaction")
# Tabel 1: the time effect is a repeated-measures effect; group and interaction compare groups.
EFFECT_KIND = {"time": "repeated", "group": "between", "interaction": "between"}
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
            if binary:
                mean, low, high = stats.proportion_ci(values)
            else:
                mean, low, high = stats.mean_ci(values)
            rows.append({"group": group, "time": time, "n": int(values.size), "mean": mean,
                         "ci_low": low, "ci_high": high})
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
