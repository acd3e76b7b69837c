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
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence

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
    return bool(np.isfinite(p) and p < ALPHA and stats.effect_size_word(np2, kind=EFFECT_KIND[source]) in ("small", "medium", "large"))


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
class GatedTable:
    """A report table after the disclosure gate: what to show, the results and what was withheld."""

    table: pd.DataFrame
    results: dict[str, Any]
    withheld: dict[str, str]


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

    @property
    def gate(self):
        """The disclosure gate of this study: open on proven synthetic data, active otherwise."""
        from veiligverder.report.disclosure import Gate

        return Gate(threshold=self.disclosure_threshold, active=not self.synthetic)

    def protect(self, table: pd.DataFrame, counts: pd.DataFrame | None = None) -> pd.DataFrame:
        """Primary suppression of a table's cells by their unit counts (``table.attrs['counts']``); see
        :func:`veiligverder.report.disclosure.suppress`. Tables of the report use :meth:`gate_table`."""
        if self.synthetic:
            plain = table.copy()
            plain.attrs = {}
            return plain
        from veiligverder.report.disclosure import suppress

        return suppress(table, counts, threshold=self.disclosure_threshold)

    def gate_table(self, table: pd.DataFrame, results: dict[str, Any]) -> GatedTable:
        """A report table (Tabel 2-4, built with its cells in ``table.attrs``) through the disclosure
        gate: the table to show, with withheld cells (and a withheld n in a column header) reading
        the gate's mark, and the results with withheld ids set to None."""
        from veiligverder.report.disclosure import cells_frame, gate_table

        cells = table.attrs.get("cells") or []
        withheld = self.gate.withhold(cells_frame(cells))
        ids = table.attrs.get("ids")
        shown = gate_table(table, ids.isin(list(withheld)) if ids is not None else pd.DataFrame(), mark=self.gate.mark)
        shown = shown.mask(shown.isna(), "–")  # a group without units: no NaN in the book
        for column, rid in (table.attrs.get("header_ids") or {}).items():
            n = self.gate.mark if rid in withheld else results[rid]
            shown = shown.rename(columns={column: f"{column} (n = {n})"})
        gated = {k: (None if k in withheld else v) for k, v in results.items()}
        return GatedTable(shown, gated, withheld)

    def analyse(self, outcome: str, *, follow_up_rule: str = "latest") -> OutcomeAnalysis:
        """:func:`analyse` through the disclosure gate (:func:`gate_outcome`); where the mixed ANOVA
        cannot be estimated, ``note`` says why in one sentence (:mod:`veiligverder.analysability`)."""
        frame = design.OUTCOMES[outcome]["frame"]
        raw = analyse(self.measures, outcome, follow_up_rule=follow_up_rule)
        note = "" if np.isfinite(raw.test["p_unc"]).all() else self.not_estimable(outcome, follow_up_rule=follow_up_rule)
        a = gate_outcome(raw, self.gate, family_of(self.measures, frame))
        a.note = note  # not estimable comes first: no test exists to withhold
        return a

    def not_estimable(self, outcome: str, *, follow_up_rule: str = "latest") -> str:
        """Why an outcome cannot be estimated on this dataset, as one sentence ('' when it can)."""
        from veiligverder.analysability import outcome_status

        try:
            status = outcome_status(self.measures, follow_up_rule=follow_up_rule, threshold=0).set_index("outcome")
        except (AttributeError, KeyError):  # measures without every unit table (hand-made in tests)
            status = pd.DataFrame(columns=["reason"])
        reason = status.loc[outcome, "reason"] if outcome in status.index else ""
        return reason or "not estimable on this dataset: the outcome does not vary"

    def analyse_category(self, *, follow_up_rule: str = "latest") -> CategoryAnalysis:
        """:func:`analyse_category` through the disclosure gate (:func:`gate_category`)."""
        return gate_category(analyse_category(self.measures, follow_up_rule=follow_up_rule), self.gate)

    def analyse_help_grade(self) -> HelpGradeAnalysis:
        """:func:`analyse_help_grade` through the disclosure gate (:func:`gate_between`)."""
        return gate_between(analyse_help_grade(self.measures), self.gate, "help_grade",
                            family_of(self.measures, "parents"))

    def analyse_help_satisfaction(self) -> SatisfactionAnalysis:
        """:func:`analyse_help_satisfaction` through the disclosure gate (:func:`gate_between`)."""
        return gate_between(analyse_help_satisfaction(self.measures), self.gate, "help_satisfaction",
                            family_of(self.measures, "parents"))

    def matching_report(self, *, seed: int = 0) -> MatchingReport:
        """:func:`matching_report` through the gate: every balance figure compares the VV families
        with candidates, so with fewer VV families (or chosen controls) than the threshold the
        balance table, the love plot (``balance`` None) and the SMD summaries are withheld."""
        m = matching_report(self.dataset, self.measures, seed=seed)
        if not self.gate.active:
            return m
        from veiligverder.report.disclosure import cells_frame

        r = m.results
        cells = [{"id": "matching.n_treated", "kind": "count", "n": r["matching.n_treated"], "analysis": "matching"},
                 {"id": "matching.n_controls", "kind": "count", "n": r["matching.n_controls"],
                  "analysis": ["matching", "overlap"]}]  # overlap_share x n_controls = overlap
        cells += [{"id": f"matching.{k}", "kind": "stat", "analysis": "matching"}
                  for k in ("max_abs_smd_before", "max_abs_smd_after")]
        cells += [{"id": "matching.overlap", "kind": "count", "n": r["matching.overlap"], "analysis": "overlap"},
                  {"id": "matching.overlap_share", "kind": "stat", "analysis": "overlap"}]
        m.withheld = self.gate.withhold(cells_frame(cells))
        if any(k.startswith("matching.max_abs_smd") for k in m.withheld):
            m.balance = None
        m.results.update({k: None for k in m.withheld})
        return m

    def usable(self, outcome: str, *, follow_up_rule: str = "latest") -> bool:
        """True when nothing of the outcome's two-wave analysis is withheld (power and sensitivity
        analyses rest on the same units and are shown only then)."""
        a = self.analyse(outcome, follow_up_rule=follow_up_rule)
        return not a.withheld and bool(np.isfinite(a.test["p_unc"]).all())


# --------------------------------------------------------------------------------------------
# the disclosure gate applied to each analysis: describe its numbers as cells, ask the gate once,
# blank what it withholds in the frames the figures, tables and sentences are drawn from


def _mean_cells(sample: pd.DataFrame, summary: pd.DataFrame, result_id, *, binary: bool, analysis_key: str,
                threshold: int) -> list[dict]:
    """Cells of the group means (or 0/1 shares) of ``summary``; ``result_id(row)`` names each."""
    from veiligverder.report.disclosure import dominated

    cells = []
    for r in summary.itertuples():
        keys = {"group": r.group, **({"time": r.time} if "time" in summary.columns else {})}
        mask = np.ones(len(sample), dtype=bool)
        for k, v in keys.items():
            mask &= (sample[k] == v).to_numpy()
        part = sample.loc[mask & sample["value"].notna().to_numpy()]
        values = part["value"]
        fam = part["family"] if "family" in part else pd.Series(np.nan, index=part.index)
        rid = result_id(r)
        if binary:
            one = (values == 1).to_numpy()
            cells += [{"id": rid, "kind": "share", "n": int(one.sum()), "total": len(values), "set": rid,
                       "analysis": analysis_key, "families": fam[one].nunique() if fam.notna().any() else None},
                      {"id": "", "kind": "share", "n": int((~one).sum()), "total": len(values), "set": rid,
                       "analysis": analysis_key, "families": fam[~one].nunique() if fam.notna().any() else None}]
        else:
            cells.append({"id": rid, "kind": "mean", "n": len(values), "analysis": analysis_key,
                          "dominated": dominated(values, threshold=threshold),
                          "families": fam.nunique() if fam.notna().any() else None})
    return cells


def family_of(measures, frame: str) -> pd.Series:
    """Unit id -> family id for the units of one measures frame (families map to themselves): the
    disclosure gate counts the families behind a cell of parents or children."""
    unit = design.UNIT[frame]
    table = getattr(measures, frame)
    if "family_id" not in table or unit not in table:
        return pd.Series(dtype=object)
    if unit == "family_id":
        ids = table["family_id"].drop_duplicates()
        return pd.Series(ids.to_numpy(), index=ids.to_numpy())
    return table[[unit, "family_id"]].drop_duplicates(unit).set_index(unit)["family_id"]


def _with_families(sample: pd.DataFrame, families: pd.Series | None) -> pd.DataFrame:
    return sample if families is None or families.empty else sample.assign(family=sample["unit_id"].map(families))


def _withhold_rows(summary: pd.DataFrame, withheld: dict[str, str], result_id) -> None:
    """Blank (in place) the mean and CI of summary rows whose result id is withheld."""
    rows = summary.apply(lambda r: result_id(r) in withheld, axis=1) if len(summary) else pd.Series(dtype=bool)
    summary.loc[rows.astype(bool), [c for c in ("mean", "ci_low", "ci_high", "sd") if c in summary.columns]] = np.nan


def gate_outcome(a: OutcomeAnalysis, gate, families: pd.Series | None = None) -> OutcomeAnalysis:
    """Pass one outcome analysis through the disclosure gate: group means (shares for 0/1 outcomes),
    n's and the ANOVA; withheld values become NaN in the summary and test and None in the results,
    and ``a.withheld`` names them with their rule."""
    a.gate = gate
    if not gate.active:
        return a
    o = a.outcome
    binary = design.OUTCOMES[o]["kind"] == "binary"
    rid = lambda r: f"{o}.mean.{r.group}.{r.time}"  # noqa: E731
    sample = _with_families(a.sample, families)
    cells = _mean_cells(sample, a.summary, rid, binary=binary, analysis_key=o, threshold=gate.threshold)
    base = sample.loc[sample["time"] == "baseline"]
    cells += [{"id": f"{o}.n.{g}", "kind": "count", "n": a.n(g), "analysis": o,
               "families": base.loc[base["group"] == g, "family"].nunique() if "family" in base else None}
              for g in GROUPS]
    cells += [{"id": f"{o}.anova.{s}.{k}", "kind": "stat", "analysis": o} for s in SOURCES for k in ("F", "p", "np2")]
    from veiligverder.report.disclosure import cells_frame

    withheld = gate.withhold(cells_frame(cells))
    _withhold_rows(a.summary, withheld, rid)
    stat_withheld = any(k.startswith(f"{o}.anova.") for k in withheld)
    if stat_withheld:
        a.test = a.test.assign(F=np.nan, p_unc=np.nan, np2=np.nan, words="withheld")
    a.results.update({k: None for k in withheld})
    a.withheld = withheld
    return a


def gate_category(c: CategoryAnalysis, gate) -> CategoryAnalysis:
    """The violence category through the gate: each group's shares at a wave form one distribution;
    the within-group change test belongs to that group's two waves, the between-group test of a wave
    to both groups' shares at that wave."""
    c.gate = gate
    if not gate.active:
        return c
    from veiligverder.report.disclosure import cells_frame

    counts = (c.shares["share"].fillna(0) * c.shares["n"]).round()
    sid = lambda r: f"violence_category.share.{r.group}.{r.time}.{r.category}"  # noqa: E731
    cells = [{"id": sid(r), "kind": "share", "n": k, "total": r.n, "set": f"{r.group}.{r.time}",
              "analysis": [f"within.{r.group}", f"between.{r.time}"]}
             for r, k in zip(c.shares.itertuples(), counts)]
    cells += [{"id": f"violence_category.n.{g}", "kind": "count", "n": c.results[f"violence_category.n.{g}"],
               "analysis": [f"within.{g}", *(f"between.{t}" for t in TIMES)]} for g in GROUPS]
    cells += [{"id": f"violence_category.change_p.{g}", "kind": "stat", "analysis": f"within.{g}"} for g in GROUPS]
    cells += [{"id": f"violence_category.group_p.{t}", "kind": "stat", "analysis": f"between.{t}"} for t in TIMES]
    withheld = gate.withhold(cells_frame(cells))
    hidden = c.shares.apply(sid, axis=1).isin(list(withheld)) if len(c.shares) else pd.Series(dtype=bool)
    c.shares.loc[hidden.to_numpy(bool), "share"] = np.nan
    small_n = c.shares["group"].map(lambda g: f"violence_category.n.{g}" in withheld).astype(bool)
    c.shares["n"] = c.shares["n"].astype(float).mask(small_n)  # the figure labels its bars with n
    for g in GROUPS:
        if f"violence_category.change_p.{g}" in withheld:
            c.within.loc[c.within["group"] == g, ["statistic", "df", "p_unc"]] = np.nan
    for t in TIMES:
        if f"violence_category.group_p.{t}" in withheld:
            c.between.loc[c.between["time"] == t, ["statistic", "df", "p_unc"]] = np.nan
    c.results.update({k: None for k in withheld})
    c.withheld = withheld
    return c


def gate_between(h, gate, name: str, families: pd.Series | None = None):
    """An outcome compared between the groups only (help grade, help satisfaction) through the gate:
    group means, n's, the satisfaction bands (one distribution per group) and the tests."""
    h.gate = gate
    if not gate.active:
        return h
    from veiligverder.report.disclosure import cells_frame

    rid = lambda r: f"{name}.mean.{r.group}"  # noqa: E731
    sample = _with_families(h.sample, families)
    cells = _mean_cells(sample, h.summary, rid, binary=False, analysis_key=name, threshold=gate.threshold)
    fam_n = (sample.dropna(subset=["value"]).groupby("group")["family"].nunique() if "family" in sample
             else pd.Series(dtype=float))
    cells += [{"id": f"{name}.n.{r.group}", "kind": "count", "n": r.n, "analysis": name,
               "families": fam_n.get(r.group)} for r in h.summary.itertuples()]
    cells += [{"id": f"{name}.p", "kind": "stat", "analysis": name}]
    shares = getattr(h, "shares", None)
    if shares is not None:
        n = h.summary.set_index("group")["n"]
        band_n = shares.fillna(0).mul(n.reindex(shares.index), axis=0).round()
        band_fam = (sample.groupby(["group", "band"])["family"].nunique() if "family" in sample and "band" in sample
                    else pd.Series(dtype=float))
        for g in shares.index:
            for band in shares.columns:
                cells.append({"id": f"{name}.share.{g}.{band.replace(' ', '_')}", "kind": "share",
                              "n": band_n.loc[g, band], "total": n.get(g, 0), "set": g, "analysis": name,
                              "families": band_fam.get((g, band))})
        cells.append({"id": f"{name}.band_p", "kind": "stat", "analysis": name})
    withheld = gate.withhold(cells_frame(cells))
    _withhold_rows(h.summary, withheld, rid)
    small_n = h.summary["group"].map(lambda g: f"{name}.n.{g}" in withheld).astype(bool)
    h.summary["n"] = h.summary["n"].astype(float).mask(small_n)  # the figure labels its groups with n
    if f"{name}.p" in withheld:
        h.test = h.test.assign(**{c: np.nan for c in ("T", "dof", "p_unc") if c in h.test.columns})
    if shares is not None:
        hide = pd.DataFrame({band: [f"{name}.share.{g}.{band.replace(' ', '_')}" in withheld for g in shares.index]
                             for band in shares.columns}, index=shares.index)
        h.shares = shares.mask(hide)
        if f"{name}.band_p" in withheld:
            h.band_test = h.band_test.assign(statistic=np.nan, df=np.nan, p_unc=np.nan)
    h.results.update({k: None for k in withheld})
    h.withheld = withheld
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
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence


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
