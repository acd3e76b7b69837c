"""Achieved against target: every entry of ``targets.yml`` recomputed from a dataset.

The values come from the project's own layers - the measures of :func:`veiligverder.measures.derive`,
Cronbach's alpha of :func:`veiligverder.instruments.cronbach_alpha_table`, the analysis samples of
:func:`veiligverder.design.analysis_sample` and the tests of :mod:`veiligverder.stats` - so the
table checks the twin and the pipeline together. Within-group changes are tested with the paired
t-test and baselines against a norm with the one-sample t-test (``scipy.stats.ttest_rel`` /
``ttest_1samp``), as the report's 'significant decrease in both groups' and 'significantly above
the norm' read.
"""

from __future__ import annotations

import operator
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from veiligverder import design, measures, stats
from veiligverder.instruments import cronbach_alpha_table
from veiligverder.synthetic.core import Targets, load_targets

COLUMNS = ["target", "source", "target_value", "achieved", "tolerance", "ok"]
TABLE3_COLUMNS = {"migration": "migration", "education": "education"}
INCOME = {"<1500": "lt1500", "1500-3100": "1500_3100", ">3100": "gt3100"}
AGE_BANDS = {"<25": (0, 24), "25-34": (25, 34), "35-44": (35, 44), "45-54": (45, 54), ">55": (55, 200)}
POPULATION = {"population": "cohort", "VV": "VV", "control": "control"}
_CHECK = re.compile(r"^\s*(abs\s+)?(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)\s*$")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


class CalibrationError(ValueError):
    """A target entry that cannot be evaluated (unknown stat or malformed check)."""


class _Study:
    """One dataset with its measures, alpha table and analysis samples, computed once each."""

    def __init__(self, dataset: Any, keys_dir: str | Path | None) -> None:
        self.dataset = dataset
        self.keys_dir = keys_dir
        self.m = measures.derive(dataset, keys_dir=keys_dir)
        self._samples: dict[str, pd.DataFrame] = {}

    @cached_property
    def alphas(self) -> pd.Series:
        """Cronbach's alpha per scale over the T0 rows of all groups."""
        tables = {name: getattr(self.dataset, name).query("wave == 'T0'") for name in ("parents", "children")}
        return cronbach_alpha_table(tables, keys_dir=self.keys_dir).set_index("scale")["alpha"]

    @cached_property
    def table2(self) -> pd.DataFrame:
        """Tabel 2 as the book computes it (:func:`veiligverder.report.tables.participants`)."""
        from veiligverder.report.tables import participants

        return participants(self.dataset)

    def sample(self, outcome: str) -> pd.DataFrame:
        if outcome not in self._samples:
            self._samples[outcome] = design.analysis_sample(self.m, outcome, follow_up_rule="latest")
        return self._samples[outcome]

    def values(self, outcome: str, group: str, time: str) -> pd.Series:
        s = self.sample(outcome)
        return s.loc[(s["group"] == group) & (s["time"] == time)].set_index("unit_id")["value"]

    def anova(self, outcome: str) -> pd.DataFrame:
        return stats.mixed_anova(self.sample(outcome), dv="value", within="time", subject="unit_id",
                                 between="group").set_index("source")

    def latest(self, column: str) -> pd.DataFrame:
        """Per parent the value at the latest wave that has one, with the parent's group."""
        p = self.m.parents.dropna(subset=[column]).sort_values(["parent_id", "wave"])
        p = p.loc[p["group"].isin(["VV", "control"])]
        return p.groupby("parent_id").tail(1)[["parent_id", "group", column]]


# ------------------------------------------------------------------------------------ the stats
def _table2(st: _Study, e: dict) -> float:
    _, group, what = e["id"].split(".")
    return float(st.table2.loc[group, what])


def _table3(st: _Study, e: dict) -> float:
    parts = e["id"].split(".")
    var, group = parts[1], parts[-1]
    ds = st.dataset
    fam = ds.families.set_index("family_id")
    par = ds.parents.loc[ds.parents["wave"] == "T0"]
    par = par.loc[par["family_id"].map(fam["group"]) == group]
    chi = ds.children.loc[ds.children["wave"] == "T0"]
    chi = chi.loc[chi["family_id"].map(fam["group"]) == group]
    if var == "child_age":
        return float(chi["age_years"].mean())
    if var == "girls":
        return 100.0 * float((chi["sex"] == "girl").mean())
    if var == "male":
        hit = par["sex"] == "male"
    elif var == "work_over_12h":
        hit = par["work_hours"] >= 12
    elif var == "age":
        lo, hi = AGE_BANDS[parts[2]]
        hit = par["age_years"].between(lo, hi)
    elif var == "income":
        hit = par["income"] == INCOME[parts[2]]
    elif var == "children_over3":
        n = par["family_id"].map(fam["n_children_over3"])
        hit = n >= 3 if parts[2] == ">3" else n == float(parts[2])
    else:
        hit = par[TABLE3_COLUMNS[var]] == parts[2]
    return 100.0 * float(hit.mean())


def _table4(st: _Study, e: dict) -> float:
    _, what, pop = e["id"].split(".")
    f = st.m.families
    f = f.loc[(f["wave"] == "T0") & (f["group"] == POPULATION[pop])]
    if what.startswith("violence_"):
        return float(f[what].mean())
    column = measures.TABLE4_FLAGS[e["source"].split(".")[2]]
    return 100.0 * float(f[column].mean())


def _alpha(st: _Study, e: dict) -> float:
    if "scales" in e:
        return float(st.alphas.reindex(e["scales"]).mean())
    return float(st.alphas.get(e["scale"], np.nan))


def _figure(st: _Study, e: dict) -> float:
    kind, out = e["stat"], e.get("outcome")
    if kind == "anova":
        row = st.anova(out).loc[e["effect"]]
        return float(row["np2"] if e["measure"] == "np2" else row["p_unc"])
    if kind == "mean":
        return float(st.values(out, e["group"], e["time"]).mean())
    if kind == "mean_over":
        return float(st.values(out, e["group"], e["time"]).mean() / st.values(e["other"], e["group"], e["time"]).mean())
    if kind == "diff":
        return float(st.values(out, "VV", e["time"]).mean() - st.values(out, "control", e["time"]).mean())
    if kind in ("change", "change_p"):
        base = st.values(out, e["group"], "baseline")
        fu = st.values(out, e["group"], "follow_up").reindex(base.index)
        if kind == "change":
            return float(fu.mean() - base.mean())
        return _paired_p(base.to_numpy(float), fu.to_numpy(float))
    if kind == "one_sample_p":
        return float(sps.ttest_1samp(st.values(out, e["group"], "baseline").to_numpy(float), e["norm"]).pvalue)
    if kind == "category_change_p":
        s = st.sample(out)
        res = stats.stuart_maxwell(s.loc[s["group"] == e["group"]], dv="value", within="time", subject="unit_id")
        return float(res["p_unc"].iloc[0])
    if kind == "category_group_p":
        s = st.sample(out)
        return float(stats.chi2_groups(s.loc[s["time"] == e["time"]], x="group", y="value")["p_unc"].iloc[0])
    if kind == "category_share_change":
        base = st.values(out, e["group"], "baseline")
        fu = st.values(out, e["group"], "follow_up")
        return float((fu == e["category"]).mean() - (base == e["category"]).mean())
    if kind.startswith("grade_"):
        g = st.latest("help_grade")
        if kind == "grade_n":
            return float((g["group"] == e["group"]).sum())
        if kind == "grade_mean":
            return float(g.loc[g["group"] == e["group"], "help_grade"].mean())
        return float(stats.welch_ttest(g, dv="help_grade", between="group")["p_unc"].iloc[0])
    if kind == "latest_p":
        lat = st.latest(out)
        return float(stats.welch_ttest(lat, dv=out, between="group")["p_unc"].iloc[0])
    if kind == "latest_share":
        return float(st.latest(out)[out].mean())
    raise CalibrationError(f"targets.yml {e['id']}: unknown stat {kind!r}; see the stat list in targets.yml")


def _paired_p(base: np.ndarray, fu: np.ndarray) -> float:
    """Two-sided p of the paired t-test (scipy.stats.ttest_rel); 1.0 when nothing changes."""
    d = fu - base
    if d.size < 2 or np.allclose(d, d.mean()):
        return 1.0 if np.allclose(d, 0) else 0.0
    return float(sps.ttest_rel(fu, base).pvalue)


STATS = {"table2": _table2, "table3": _table3, "table4": _table4, "alphas": _alpha, "figures": _figure}


# ------------------------------------------------------------------------------------ judging
def judge(entry: dict, achieved: float, tolerance: Any) -> tuple[str, bool]:
    """The tolerance as text and whether ``achieved`` meets it (``check`` entries: the comparison)."""
    if not np.isfinite(achieved):
        return _tol_text(entry, tolerance), False
    if "check" in entry:
        m = _CHECK.match(str(entry["check"]))
        if not m:
            raise CalibrationError(f"targets.yml {entry['id']}: check {entry['check']!r} is not like '< 0.05' or 'abs <= 0.1'")
        value = abs(achieved) if m.group(1) else achieved
        return entry["check"], bool(OPS[m.group(2)](value, float(m.group(3))))
    target = float(entry["value"])
    if tolerance == "exact" or tolerance is None:
        return "exact", bool(achieved == target)
    if "abs" in tolerance:
        return f"± {tolerance['abs']:g}", bool(abs(achieved - target) <= tolerance["abs"] + 1e-9)
    return f"± {100 * tolerance['rel']:g} %", bool(abs(achieved - target) <= tolerance["rel"] * abs(target) + 1e-9)


def _tol_text(entry: dict, tolerance: Any) -> str:
    if "check" in entry:
        return str(entry["check"])
    if tolerance in ("exact", None):
        return "exact"
    return f"± {tolerance['abs']:g}" if "abs" in tolerance else f"± {100 * tolerance['rel']:g} %"


def calibration_table(dataset: Any, *, keys_dir: str | Path | None = None, target_set: str | None = None,
                      targets: Targets | None = None) -> pd.DataFrame:
    """Every calibration target next to the value achieved on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        A loaded dataset (:func:`veiligverder.data.load_dataset`), normally the synthetic twin.
    keys_dir : path, optional, keyword-only
        Scoring keys for the licensed lists (default: the illustrative keys the twin is made for).
    target_set : str, optional, keyword-only
        Only the targets of one set (``table2``, ``table3``, ``table4``, ``alphas``, ``figures``).
    targets : Targets, optional, keyword-only
        Targets to check (default: the package's ``targets.yml``).

    Returns
    -------
    DataFrame
        One row per target, in file order: ``target`` (id), ``source`` (key in report_facts.yml),
        ``target_value`` (as printed; words for direction and significance targets), ``achieved``
        (float), ``tolerance`` (text: ``exact``, ``± 3``, ``± 15 %`` or a check like ``< 0.05``)
        and ``ok`` (bool).
    """
    targets = targets or load_targets()
    st = _Study(dataset, keys_dir)
    rows = []
    for e in targets.entries(target_set):
        achieved = STATS[e["set"]](st, e)
        tol_text, ok = judge(e, achieved, targets.tolerance(e["id"]))
        rows.append({"target": e["id"], "source": e["source"], "target_value": e["value"], "achieved": achieved,
                     "tolerance": tol_text, "ok": ok})
    return pd.DataFrame(rows, columns=COLUMNS)
