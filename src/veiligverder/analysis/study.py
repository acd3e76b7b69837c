"""The study: one loaded dataset with its measures, and every analysis through the disclosure gate.

:func:`load_study` is the one entry point of the chapter notebooks, so that every chapter sees the
same data and settings. :class:`Study` applies disclosure control once per analysis
(:func:`gate_outcome`, :func:`gate_category`, :func:`gate_between`, :meth:`Study.gate_table`): the
figures, tables, sentences and result ids of a chapter are all drawn from the gated objects.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligverder import design, paths
from veiligverder import measures as measures_module
from veiligverder.analysis import store
from veiligverder.analysis.analysability import outcome_status
from veiligverder.data import load_dataset, synthetic_proof
from veiligverder.analysis.disclosure import Gate, cells_frame, dominated, gate_table
from veiligverder.analysis.matching import MatchingReport, matching_report
from veiligverder.analysis.outcomes import (CategoryAnalysis, HelpGradeAnalysis, OutcomeAnalysis, SatisfactionAnalysis,
                                           analyse, analyse_category, analyse_help_grade, analyse_help_satisfaction)
from veiligverder.contract import labels, read_yaml
from veiligverder.vocab import (CUMULATION_THRESHOLD, DEFAULT_SEED, DISCLOSURE_THRESHOLD, FOLLOW_UP_RULES, GROUPS, SOURCES,
                               TIMES)


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
    disclosure_threshold: int = DISCLOSURE_THRESHOLD
    follow_up_rule: str = "latest"  # the build's rule: the default of every two-wave analysis
    seed: int = DEFAULT_SEED  # the build's seed: matching draws ties with it
    keys_dir: Any = None  # the folder of licensed scoring keys in force (None: the illustrative keys)

    @property
    def synthetic(self) -> bool:
        return bool(self.dataset.meta.synthetic)

    @property
    def gate(self):
        """The disclosure gate of this study: open on proven synthetic data, active otherwise."""

        return Gate(threshold=self.disclosure_threshold, active=not self.synthetic)

    def gate_table(self, table: pd.DataFrame, results: dict[str, Any]) -> GatedTable:
        """A report table (Tabel 2-4, built with its cells in ``table.attrs``) through the disclosure
        gate: the table to show, with withheld cells (and a withheld n in a column header) reading
        the gate's mark, and the results with withheld ids set to None. The table renders for
        readers (:class:`veiligverder.contract.labels.ReaderTable`)."""

        cells = table.attrs.get("cells") or []
        withheld = self.gate.withhold(cells_frame(cells))
        ids = table.attrs.get("ids")
        shown = gate_table(table, ids.isin(list(withheld)) if ids is not None else pd.DataFrame(), mark=self.gate.mark)
        shown = shown.mask(shown.isna(), "–")  # a group without units: no NaN in the book
        for column, rid in (table.attrs.get("header_ids") or {}).items():
            n = self.gate.mark if rid in withheld else results[rid]
            shown = shown.rename(columns={column: f"{column} (n = {n})"})
        gated = {k: (None if k in withheld else v) for k, v in results.items()}
        return GatedTable(labels.reader_table(shown), gated, withheld)

    def analyse(self, outcome: str, *, follow_up_rule: str | None = None) -> OutcomeAnalysis:
        """:func:`analyse` through the disclosure gate (:func:`gate_outcome`); where the mixed ANOVA
        cannot be estimated, ``note`` says why in one sentence (:mod:`veiligverder.analysis.analysability`)."""
        follow_up_rule = follow_up_rule or self.follow_up_rule
        # memoised: a chapter asks for the same analysis several times (usable() before the power
        # and sensitivity tables, the report's rule among the three rules); callers get a copy
        memo = self.__dict__.setdefault("_analyses", {})
        key = (outcome, follow_up_rule, id(self.measures), self.disclosure_threshold, self.synthetic)
        if key not in memo:
            frame = design.OUTCOMES[outcome]["frame"]
            raw = analyse(self.measures, outcome, follow_up_rule=follow_up_rule)
            note = ("" if np.isfinite(raw.test["p_unc"]).all()
                    else self.not_estimable(outcome, follow_up_rule=follow_up_rule))
            a = gate_outcome(raw, self.gate, family_of(self.measures, frame))
            a.note = note  # not estimable comes first: no test exists to withhold
            memo[key] = a
        return copy.deepcopy(memo[key])

    def not_estimable(self, outcome: str, *, follow_up_rule: str | None = None) -> str:
        """Why an outcome cannot be estimated on this dataset, as one sentence ('' when it can)."""
        follow_up_rule = follow_up_rule or self.follow_up_rule

        try:
            status = outcome_status(self.measures, follow_up_rule=follow_up_rule, threshold=0).set_index("outcome")
        except (AttributeError, KeyError):  # measures without every unit table (hand-made in tests)
            status = pd.DataFrame(columns=["reason"])
        reason = status.loc[outcome, "reason"] if outcome in status.index else ""
        return reason or "not estimable on this dataset: the outcome does not vary"

    def analyse_category(self, *, follow_up_rule: str | None = None) -> CategoryAnalysis:
        """:func:`analyse_category` through the disclosure gate (:func:`gate_category`)."""
        follow_up_rule = follow_up_rule or self.follow_up_rule
        return gate_category(analyse_category(self.measures, follow_up_rule=follow_up_rule), self.gate)

    def analyse_help_grade(self) -> HelpGradeAnalysis:
        """:func:`analyse_help_grade` through the disclosure gate (:func:`gate_between`)."""
        return gate_between(analyse_help_grade(self.measures), self.gate, "help_grade",
                            family_of(self.measures, "parents"))

    def analyse_help_satisfaction(self) -> SatisfactionAnalysis:
        """:func:`analyse_help_satisfaction` through the disclosure gate (:func:`gate_between`)."""
        return gate_between(analyse_help_satisfaction(self.measures), self.gate, "help_satisfaction",
                            family_of(self.measures, "parents"))

    def matching_report(self, *, seed: int | None = None) -> MatchingReport:
        """:func:`matching_report` through the gate: every balance figure compares the VV families
        with candidates, so with fewer VV families (or chosen controls) than the threshold the
        balance table, the love plot (``balance`` None) and the SMD summaries are withheld."""
        m = matching_report(self.dataset, self.measures, seed=self.seed if seed is None else seed)
        if not self.gate.active:
            return m

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

    def usable(self, outcome: str, *, follow_up_rule: str | None = None) -> bool:
        """True when nothing of the outcome's two-wave analysis is withheld (power and sensitivity
        analyses rest on the same units and are shown only then)."""
        follow_up_rule = follow_up_rule or self.follow_up_rule
        a = self.analyse(outcome, follow_up_rule=follow_up_rule)
        return not a.withheld and bool(np.isfinite(a.test["p_unc"]).all())


# --------------------------------------------------------------------------------------------
# the disclosure gate applied to each analysis: describe its numbers as cells, ask the gate once,
# blank what it withholds in the frames the figures, tables and sentences are drawn from


def _mean_cells(sample: pd.DataFrame, summary: pd.DataFrame, result_id, *, binary: bool, analysis_key: str,
                threshold: int) -> list[dict]:
    """Cells of the group means (or 0/1 shares) of ``summary``; ``result_id(row)`` names each."""

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


def resolve_data_dir(data_dir=None) -> Path:
    """The dataset folder of a chapter: ``data_dir`` as an absolute path, or, when None, the embedded
    synthetic twin (``paths.SYNTHETIC_DATA_DIR``), which must then be there as the generator wrote it.

    The build generates the twin when it is absent; a notebook opened on its own cannot (the
    generator sits above this layer), so it says how to write it (``make lab`` does it first).
    """
    path = paths.dataset_dir(data_dir)
    if data_dir is None:
        proven, reason = synthetic_proof(path)
        if not proven:
            raise FileNotFoundError(
                "data_dir is None, which means the embedded synthetic twin in data/synthetic, but it is "
                f"absent or out of date ({reason}); write it with `make synth` (or `veiligverder synth "
                "--out data/synthetic`), or set data_dir to a dataset folder")
    return path


def prepare_study(dataset, *, keys_dir=None, cumulation_threshold: int = CUMULATION_THRESHOLD, rematch: bool = False,
                  seed: int = DEFAULT_SEED) -> Study:
    """Derive every measure of a loaded dataset and (when ``rematch``) relabel the control group by
    matching: the part of loading a study that the study cache keeps."""
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
    return Study(dataset, m, norms, dict(m.keys), rematched=rematch, seed=seed, keys_dir=keys_dir)


def load_study(data_dir, *, keys_dir=None, cumulation_threshold: int = CUMULATION_THRESHOLD, rematch: bool = False,
               seed: int = DEFAULT_SEED, disclosure_threshold: int = DISCLOSURE_THRESHOLD,
               follow_up_rule: str = "latest", cache=None) -> Study:
    """Load a dataset, derive every measure, and (when ``rematch``) relabel the control group by matching.

    This is the one entry point of the chapter notebooks, so that every chapter sees the same data.
    Every run parameter is kept on the study and reaches its use: ``keys_dir`` scores every
    instrument, ``cumulation_threshold`` sets Tabel 4's cumulation flag, ``seed`` draws the
    matching, ``disclosure_threshold`` the gate, ``follow_up_rule`` every two-wave analysis.

    The loaded study is cached on disk (:mod:`veiligverder.analysis.store`) in ``cache`` (a folder;
    the build passes ``OUT/.cache/study``, where its stage 0 wrote the study, so that a chapter
    opens it in well under a second). Without ``cache`` a proven synthetic twin is cached in
    ``paths.STUDY_CACHE_DIR``; real data are then not written anywhere.

    ``data_dir`` None (the default of every notebook's parameters cell, so that a chapter runs as it
    is in JupyterLab) is the embedded synthetic twin (:func:`resolve_data_dir`).
    """
    if follow_up_rule not in FOLLOW_UP_RULES:
        raise ValueError(f"follow_up_rule={follow_up_rule!r} is not one of {list(FOLLOW_UP_RULES)}")
    data_dir = resolve_data_dir(data_dir)
    settings = {"disclosure_threshold": disclosure_threshold, "follow_up_rule": follow_up_rule}
    key = store.study_key(data_dir, keys_dir=keys_dir, cumulation_threshold=cumulation_threshold, rematch=rematch,
                          seed=seed)
    folder = Path(cache if cache is not None else paths.STUDY_CACHE_DIR) / key
    study = store.open_entry(folder, Study, data_dir, **settings)
    if study is None:
        study = prepare_study(load_dataset(data_dir), keys_dir=keys_dir, cumulation_threshold=cumulation_threshold,
                              rematch=rematch, seed=seed)
        study = dataclasses.replace(study, **settings)
        if cache is not None or study.synthetic:
            store.save(study, folder)
            if cache is None:  # the shared default cache: old entries go after an hour
                store.prune(folder.parent, keep=key, older_than=3600)
    return study
