"""Achieved against target: every claim of ``reproduction/claims.yml`` with a ``stat``, recomputed.

The values come from the project's own layers - Tabel 2, 3 and 4 from
:mod:`veiligverder.analysis.baseline` (the very functions of the book's chapter 5.1, looked up by the
claim's result id, so Tabel 3 is computed once, with its half-open age bands), Cronbach's alpha of
:func:`veiligverder.instruments.cronbach_alpha_table`, the measures of
:func:`veiligverder.measures.derive`, the analysis samples of :func:`veiligverder.design.analysis_sample`
and the tests of :mod:`veiligverder.stats` - so the table checks the twin and the pipeline together.
Within-group changes are tested with the paired t-test and baselines against a norm with the
one-sample t-test (``scipy.stats.ttest_rel`` / ``ttest_1samp``), as the report's 'significant
decrease in both groups' and 'significantly above the norm' read. Each value is judged by
:func:`veiligverder.reproduction.verdict.judge` with the claim's tolerance - the engine and the
tolerances of the reproduction scorecard.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from veiligverder import design, measures, stats
from veiligverder.analysis.baseline import background_table, baseline_problems, participant_results, participants
from veiligverder.contract.claims import Claim, Claims, ClaimsError, load_claims
from veiligverder.instruments import cronbach_alpha_table
from veiligverder.reproduction.verdict import judge, recomputed

COLUMNS = ["target", "source", "target_value", "achieved", "tolerance", "ok"]
ERR_STAT = "{file} {id}: unknown stat {stat!r}; the calibration computes {known}"
ERR_OPTION = "{file} {id}: stat {stat!r} needs the option {option!r}"


class CalibrationError(ClaimsError):
    """A claim the calibration cannot recompute (unknown stat, or an option its stat needs is missing)."""


def _opt(c: Claim, option: str) -> Any:
    """An option of the claim's stat (``outcome``, ``group``, ...); CalibrationError naming the claim when absent."""
    try:
        return c.spec[option]
    except KeyError:
        raise CalibrationError(ERR_OPTION.format(file=load_claims().file, id=c.id, stat=c.stat, option=option)) from None


class _Study:
    """One dataset with its measures, baseline tables, alpha table and analysis samples, computed once each."""

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
    def baseline(self) -> dict[str, float]:
        """Tabel 2, 3 and 4 by result id, as the book computes them (:mod:`veiligverder.analysis.baseline`)."""
        return {**participant_results(participants(self.dataset)), **background_table(self.dataset)[1],
                **baseline_problems(self.m.families)[1]}

    def sample(self, outcome: str) -> pd.DataFrame:
        """The two-wave analysis sample of an outcome (latest follow-up), computed once."""
        if outcome not in self._samples:
            self._samples[outcome] = design.analysis_sample(self.m, outcome, follow_up_rule="latest")
        return self._samples[outcome]

    def values(self, outcome: str, group: str, time: str) -> pd.Series:
        """An outcome's values of one group at one time of the analysis sample, by unit."""
        s = self.sample(outcome)
        return s.loc[(s["group"] == group) & (s["time"] == time)].set_index("unit_id")["value"]

    def anova(self, outcome: str) -> pd.DataFrame:
        """The 2 x 2 mixed ANOVA of an outcome, one row per effect (time, group, interaction)."""
        return stats.mixed_anova(self.sample(outcome), dv="value", within="time", subject="unit_id",
                                 between="group").set_index("source")

    def latest(self, column: str) -> pd.DataFrame:
        """Per parent the value at the latest wave that has one, with the parent's group."""
        p = self.m.parents.dropna(subset=[column]).sort_values(["parent_id", "wave"])
        p = p.loc[p["group"].isin(["VV", "control"])]
        return p.groupby("parent_id").tail(1)[["parent_id", "group", column]]


# ------------------------------------------------------------------------------------ the stats
def _baseline(st: _Study, c: Claim) -> float:
    """Tabel 2, 3, 4: the claim's result id as analysis.baseline computes it (NaN when the data lack it)."""
    return float(st.baseline.get(_opt(c, "result"), np.nan))


def _alpha(st: _Study, c: Claim) -> float:
    """Cronbach's alpha of ``scale``, or the mean alpha over ``scales`` (one report value for several)."""
    if "scales" in c.spec:
        return float(st.alphas.reindex(c.spec["scales"]).mean())
    return float(st.alphas.get(_opt(c, "scale"), np.nan))


def _anova(st: _Study, c: Claim) -> float:
    """Partial eta squared or p of one effect of the mixed ANOVA (``effect``, ``measure`` np2 | p)."""
    row = st.anova(_opt(c, "outcome")).loc[_opt(c, "effect")]
    return float(row["np2"] if _opt(c, "measure") == "np2" else row["p_unc"])


def _group_values(st: _Study, c: Claim, time: str | None = None) -> pd.Series:
    """The outcome's values of the claim's ``group`` at ``time`` (default: the claim's ``time``)."""
    return st.values(_opt(c, "outcome"), _opt(c, "group"), time or _opt(c, "time"))


def _mean(st: _Study, c: Claim) -> float:
    """Mean of the outcome in ``group`` at ``time``."""
    return float(_group_values(st, c).mean())


def _mean_over(st: _Study, c: Claim) -> float:
    """Mean of the outcome over the mean of ``other``, both in ``group`` at ``time``."""
    other = st.values(_opt(c, "other"), _opt(c, "group"), _opt(c, "time"))
    return float(_group_values(st, c).mean() / other.mean())


def _diff(st: _Study, c: Claim) -> float:
    """VV mean minus control mean of the outcome at ``time``."""
    out, time = _opt(c, "outcome"), _opt(c, "time")
    return float(st.values(out, "VV", time).mean() - st.values(out, "control", time).mean())


def _pairs(st: _Study, c: Claim) -> tuple[pd.Series, pd.Series]:
    """Baseline values of ``group`` and the same units' follow-up values (NaN where a unit has none)."""
    base = _group_values(st, c, "baseline")
    return base, _group_values(st, c, "follow_up").reindex(base.index)


def _change(st: _Study, c: Claim) -> float:
    """Follow-up mean minus baseline mean of the outcome in ``group``."""
    base, fu = _pairs(st, c)
    return float(fu.mean() - base.mean())


def _change_p(st: _Study, c: Claim) -> float:
    """Paired t-test p of the change in ``group``."""
    base, fu = _pairs(st, c)
    return _paired_p(base.to_numpy(float), fu.to_numpy(float))


def _one_sample_p(st: _Study, c: Claim) -> float:
    """One-sample t-test p of the baseline values of ``group`` against ``norm``."""
    return float(sps.ttest_1samp(_group_values(st, c, "baseline").to_numpy(float), _opt(c, "norm")).pvalue)


def _category_change_p(st: _Study, c: Claim) -> float:
    """Stuart-Maxwell p of the shift between categories within ``group``."""
    s = st.sample(_opt(c, "outcome"))
    res = stats.stuart_maxwell(s.loc[s["group"] == _opt(c, "group")], dv="value", within="time", subject="unit_id")
    return float(res["p_unc"].iloc[0])


def _category_group_p(st: _Study, c: Claim) -> float:
    """Chi-square / Fisher p of the groups' categories at ``time``."""
    s = st.sample(_opt(c, "outcome"))
    return float(stats.chi2_groups(s.loc[s["time"] == _opt(c, "time")], x="group", y="value")["p_unc"].iloc[0])


def _category_share_change(st: _Study, c: Claim) -> float:
    """Share of ``category`` at follow-up minus at baseline in ``group``."""
    category = _opt(c, "category")
    base, fu = _group_values(st, c, "baseline"), _group_values(st, c, "follow_up")
    return float((fu == category).mean() - (base == category).mean())


def _grade_n(st: _Study, c: Claim) -> float:
    """Parents of ``group`` who gave a help grade (latest wave with one)."""
    return float((st.latest("help_grade")["group"] == _opt(c, "group")).sum())


def _grade_mean(st: _Study, c: Claim) -> float:
    """Mean latest help grade of ``group``."""
    g = st.latest("help_grade")
    return float(g.loc[g["group"] == _opt(c, "group"), "help_grade"].mean())


def _grade_p(st: _Study, c: Claim) -> float:
    """Welch p of the latest help grade, VV against control."""
    return float(stats.welch_ttest(st.latest("help_grade"), dv="help_grade", between="group")["p_unc"].iloc[0])


def _latest_p(st: _Study, c: Claim) -> float:
    """Welch p of the outcome's latest value per parent, VV against control."""
    out = _opt(c, "outcome")
    return float(stats.welch_ttest(st.latest(out), dv=out, between="group")["p_unc"].iloc[0])


def _latest_share(st: _Study, c: Claim) -> float:
    """Mean (share, for a 0/1 outcome) of the outcome's latest value per parent."""
    out = _opt(c, "outcome")
    return float(st.latest(out)[out].mean())


def _paired_p(base: np.ndarray, fu: np.ndarray) -> float:
    """Two-sided p of the paired t-test (scipy.stats.ttest_rel); 1.0 when nothing changes."""
    d = fu - base
    if d.size < 2 or np.allclose(d, d.mean()):
        return 1.0 if np.allclose(d, 0) else 0.0
    return float(sps.ttest_rel(fu, base).pvalue)


STATS: dict[str, Callable[[_Study, Claim], float]] = {
    "baseline": _baseline, "alpha": _alpha, "anova": _anova, "mean": _mean, "mean_over": _mean_over,
    "diff": _diff, "change": _change, "change_p": _change_p, "one_sample_p": _one_sample_p,
    "category_change_p": _category_change_p, "category_group_p": _category_group_p,
    "category_share_change": _category_share_change, "grade_n": _grade_n, "grade_mean": _grade_mean,
    "grade_p": _grade_p, "latest_p": _latest_p, "latest_share": _latest_share,
}


def _compute(st: _Study, c: Claim) -> float:
    """The claim's stat on the study; CalibrationError naming the claim for an unknown stat."""
    if c.stat not in STATS:
        raise CalibrationError(ERR_STAT.format(file=load_claims().file, id=c.id, stat=c.stat, known=", ".join(STATS)))
    return STATS[c.stat](st, c)


def calibration_targets(target_set: str | None = None, claims: Claims | None = None) -> list[Claim]:
    """The claims the calibration recomputes (those with a ``stat``) of one set, in file order."""
    return (claims or load_claims()).targets(target_set)


def calibration_table(dataset: Any, *, keys_dir: str | Path | None = None, target_set: str | None = None,
                      targets: Claims | None = None) -> pd.DataFrame:
    """Every calibration target next to the value achieved on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        A loaded dataset (:func:`veiligverder.data.load_dataset`), normally the synthetic twin.
    keys_dir : path, optional, keyword-only
        Scoring keys for the licensed lists (default: the illustrative keys the twin is made for).
    target_set : str, optional, keyword-only
        Only the targets of one set (``table2``, ``table3``, ``table4``, ``alphas``, ``figures``).
    targets : Claims, optional, keyword-only
        Claims to check (default: the package's ``reproduction/claims.yml``).

    Returns
    -------
    DataFrame
        One row per target (claim with a ``stat``), in file order: ``target`` (id), ``source`` (key
        in report_facts.yml), ``target_value`` (as printed; words for direction and significance
        claims), ``achieved`` (float, times the claim's ``factor``), ``tolerance`` (text, as on the
        scorecard: ``exact``, ``± 3 points``, ``± 15 %``, ``p < 0.001``, ``> 0``, ...) and ``ok``
        (bool: the verdict of :func:`veiligverder.reproduction.verdict.judge` is 'agrees').
    """
    st = _Study(dataset, keys_dir)
    rows = []
    for c in calibration_targets(target_set, targets):
        achieved = _compute(st, c)
        verdict = judge(c, achieved)
        rows.append({"target": c.id, "source": c.source, "target_value": c.value,
                     "achieved": recomputed(c, achieved), "tolerance": verdict.tolerance, "ok": verdict.ok})
    return pd.DataFrame(rows, columns=COLUMNS)
