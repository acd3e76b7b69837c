"""Turn an outcome analysis into what a chapter shows: figure, test table and sentences.

The sentences are generated from the computed tests, so that the wording (significant or not,
the effect-size word of Tabel 1, which group moved) follows the data in force.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

from veiligverder import analysis
from veiligverder.report import figures

GROUP_NAMES = {"VV": "the Veilig Verder group", "control": "the control group"}


def fmt_p(p: float) -> str:
    """APA-style p value: 'p < .001' or 'p = .034'."""
    if p is None or not math.isfinite(p):
        return "p not computable"
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def fmt_num(x: float, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def fmt_test(row) -> str:
    """'F(1, 97) = 30.12, p < .001, partial η² = .24' for one ANOVA row."""
    if not math.isfinite(row.F):
        return "not computable for this sample"
    eta = f"{row.np2:.2f}".replace("0.", ".", 1)
    return f"F({row.df1:.0f}, {row.df2:.0f}) = {row.F:.2f}, {fmt_p(row.p_unc)}, partial η² = {eta}"


def describe(result: analysis.OutcomeAnalysis, what: str, *, unit: str = "", percent: bool = False,
             digits: int = 1) -> str:
    """Sentences for one outcome: the means, then the time, group and interaction tests in words.

    A test counts as a difference only when significant and at least 'small' by Tabel 1
    (:func:`veiligverder.analysis.is_difference`).
    """
    scale, suffix = (100.0, " %") if percent else (1.0, f" {unit}" if unit else "")
    s = result.summary.set_index(["group", "time"])["mean"] * scale
    parts = [
        f"For {what}, {GROUP_NAMES['VV']} went from {fmt_num(s['VV', 'baseline'], digits)}{suffix} at baseline "
        f"to {fmt_num(s['VV', 'follow_up'], digits)}{suffix} at follow-up (n = {result.n('VV')}), "
        f"{GROUP_NAMES['control']} from {fmt_num(s['control', 'baseline'], digits)}{suffix} "
        f"to {fmt_num(s['control', 'follow_up'], digits)}{suffix} (n = {result.n('control')})."
    ]
    t = result.test.set_index("source")
    if not math.isfinite(t.loc["time", "F"]):
        return parts[0] + " The sample is too small for the mixed ANOVA."
    time, group, inter = (t.loc[k] for k in ("time", "group", "interaction"))
    if analysis.is_difference(time.p_unc, time.np2, "time"):
        direction = "fell" if (s["VV", "follow_up"] + s["control", "follow_up"]) < (
            s["VV", "baseline"] + s["control", "baseline"]) else "rose"
        parts.append(f"Over time the score {direction} significantly, a {time.words.split(', ')[-1]} effect "
                     f"({fmt_test(time)}).")
    else:
        parts.append(f"The change over time does not count as a difference ({time.words}; {fmt_test(time)}).")
    if analysis.is_difference(inter.p_unc, inter.np2, "interaction"):
        d = {g: s[g, "follow_up"] - s[g, "baseline"] for g in ("VV", "control")}
        more = "VV" if abs(d["VV"]) > abs(d["control"]) else "control"
        parts.append(f"The groups changed differently: {GROUP_NAMES[more]} changed more, a "
                     f"{inter.words.split(', ')[-1]} group x time effect ({fmt_test(inter)}).")
    else:
        parts.append(f"The two groups did not change differently ({inter.words}; {fmt_test(inter)}).")
    if analysis.is_difference(group.p_unc, group.np2, "group"):
        parts.append(f"Averaged over both waves the groups differ ({group.words}; {fmt_test(group)}).")
    else:
        parts.append(f"Averaged over both waves the groups do not differ ({group.words}; {fmt_test(group)}).")
    return " ".join(parts)


def test_tables(result: analysis.OutcomeAnalysis, *, percent: bool = False, digits: int = 2) -> pd.DataFrame:
    """The small table under each figure, in one block: a row per group (n, mean at baseline and at
    follow-up) and a row per ANOVA effect (F with its degrees of freedom, p, partial eta squared and
    the words of Tabel 1). Cells that do not apply stay empty."""
    top, tests = analysis.test_table(result)
    scale = 100.0 if percent else 1.0
    blank = ""
    rows = []
    for name, r in top.iterrows():
        rows.append({"": name, "n": int(r["n"]),
                     "baseline" + (" (%)" if percent else ""): fmt_num(r["mean at baseline"] * scale, digits),
                     "follow-up" + (" (%)" if percent else ""): fmt_num(r["mean at follow-up"] * scale, digits),
                     "F": blank, "p": blank, "partial η²": blank, "effect": blank})
    for source, r in tests.iterrows():
        label = {"time": "time", "group": "group", "interaction": "group × time"}[source]
        finite = math.isfinite(r["F"])
        rows.append({"": label, "n": blank, "baseline" + (" (%)" if percent else ""): blank,
                     "follow-up" + (" (%)" if percent else ""): blank,
                     "F": f"F({r['df1']:.0f}, {r['df2']:.0f}) = {r['F']:.2f}" if finite else "–",
                     "p": fmt_p(r["p"]).removeprefix("p ").removeprefix("= ") if finite else "–",
                     "partial η²": f"{r['partial η²']:.2f}".replace("0.", ".", 1) if finite else "–",
                     "effect": r["words"]})
    return pd.DataFrame(rows).set_index("")


def glue_outcome(key: str, result: analysis.OutcomeAnalysis, *, what: str, ylabel: str, norm: float | None = None,
                 norm_label: str = "norm", percent: bool = False, unit: str = "", digits: int = 1) -> None:
    """Glue the figure (``key``), its test table (``key_tests``) and its sentences (``key_text``)."""
    from myst_nb import glue

    fig = figures.two_wave_figure(result.summary, ylabel=ylabel, norm=norm, norm_label=norm_label, percent=percent)
    glue(key, fig, display=False)
    plt.close(fig)
    glue(f"{key}_tests", test_tables(result, percent=percent), display=False)
    glue(f"{key}_text", Markdown(describe(result, what, unit=unit, percent=percent, digits=digits)), display=False)


def category_tests(result: analysis.CategoryAnalysis) -> pd.DataFrame:
    """Test table under figure 1: Stuart-Maxwell within each group, between-group test per wave."""
    rows = []
    for r in result.within.itertuples():
        rows.append({"comparison": f"change within {GROUP_NAMES[r.group].removeprefix('the ')}",
                     "test": "Stuart-Maxwell", "statistic": round(r.statistic, 2) if math.isfinite(r.statistic) else "–",
                     "df": r.df, "p": fmt_p(r.p_unc)})
    for r in result.between.itertuples():
        rows.append({"comparison": f"VV against control at {r.time.replace('_', '-')}", "test": r.method,
                     "statistic": round(r.statistic, 2) if math.isfinite(r.statistic) else "–", "df": r.df,
                     "p": fmt_p(r.p_unc)})
    return pd.DataFrame(rows).set_index("comparison")


def describe_category(result: analysis.CategoryAnalysis) -> Markdown:
    """Sentences for figure 1, following the computed tests."""
    sh = result.shares.set_index(["group", "time", "category"])["share"] * 100
    parts = []
    for g in analysis.GROUPS:
        w = result.within.set_index("group").loc[g]
        moved = "shifted significantly" if w.p_unc < analysis.ALPHA else "did not shift significantly"
        parts.append(f"In {GROUP_NAMES[g]} the share of families without violence went from "
                     f"{fmt_num(sh[g, 'baseline', 'none'], 0)} % to {fmt_num(sh[g, 'follow_up', 'none'], 0)} % "
                     f"and the distribution over the categories {moved} (Stuart-Maxwell, {fmt_p(w.p_unc)}).")
    b = result.between.set_index("time")
    diff = [t.replace("_", "-") for t in analysis.TIMES if b.loc[t, "p_unc"] < analysis.ALPHA]
    if diff:
        parts.append("The groups differ at " + " and ".join(diff) + ".")
    else:
        parts.append(f"The groups do not differ at baseline ({fmt_p(b.loc['baseline', 'p_unc'])}) nor at follow-up "
                     f"({fmt_p(b.loc['follow_up', 'p_unc'])}).")
    return Markdown(" ".join(parts))


def between_tests(result) -> pd.DataFrame:
    """Test table for an outcome compared between groups only (figures 17 and 18)."""
    s = result.summary.set_index("group")
    t = result.test.iloc[0]
    rows = [{"": {"VV": "Veilig Verder", "control": "Control"}[g], "n": int(s.loc[g, "n"]),
             "mean": round(s.loc[g, "mean"], 2) if math.isfinite(s.loc[g, "mean"]) else "–", "test": ""}
            for g in analysis.GROUPS]
    tt = (f"t({t['dof']:.1f}) = {t['T']:.2f}, {fmt_p(t['p_unc'])}" if math.isfinite(t["T"]) else "not computable")
    rows.append({"": "Welch's t-test", "n": "", "mean": "", "test": tt})
    band = getattr(result, "band_test", None)
    if band is not None:
        b = band.iloc[0]
        bt = f"{b['method']}, {fmt_p(b['p_unc'])}" if math.isfinite(b["p_unc"]) else "not computable"
        rows.append({"": "bands, VV against control", "n": "", "mean": "", "test": bt})
    return pd.DataFrame(rows).set_index("")


def describe_satisfaction(result) -> Markdown:
    """Sentences for figure 17, following the computed shares and tests."""
    sh = result.shares * 100
    satisfied = {g: sh.loc[g, "satisfied"] + sh.loc[g, "very satisfied"] for g in analysis.GROUPS}
    dissatisfied = {g: sh.loc[g, "dissatisfied"] for g in analysis.GROUPS}
    p = result.test["p_unc"].iloc[0]
    verdict = ("differ significantly" if math.isfinite(p) and p < analysis.ALPHA else "do not differ significantly")
    return Markdown(
        f"In {GROUP_NAMES['VV']} {fmt_num(satisfied['VV'], 0)} % of the parents were satisfied or very satisfied "
        f"with the formal help and {fmt_num(dissatisfied['VV'], 0)} % dissatisfied; in {GROUP_NAMES['control']} "
        f"{fmt_num(satisfied['control'], 0)} % and {fmt_num(dissatisfied['control'], 0)} %. The groups {verdict} "
        f"({fmt_p(p)}).")


def describe_help_grade(result) -> Markdown:
    """Sentences for figure 18, following the computed means and test."""
    s = result.summary.set_index("group")
    p = result.test["p_unc"].iloc[0]
    verdict = ("differ significantly" if math.isfinite(p) and p < analysis.ALPHA else "do not differ significantly")
    return Markdown(
        f"Parents in {GROUP_NAMES['VV']} gave the help a mean grade of {fmt_num(s.loc['VV', 'mean'])} "
        f"(n = {int(s.loc['VV', 'n'])}), parents in {GROUP_NAMES['control']} {fmt_num(s.loc['control', 'mean'])} "
        f"(n = {int(s.loc['control', 'n'])}); the groups {verdict} (Welch's t-test, {fmt_p(p)}).")
