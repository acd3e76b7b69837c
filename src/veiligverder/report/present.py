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


def test_tables(result: analysis.OutcomeAnalysis, *, percent: bool = False) -> pd.DataFrame:
    """The small table under each figure: n and means per group, then the three ANOVA rows."""
    top, tests = analysis.test_table(result)
    if percent:
        top = top.assign(**{c: top[c] * 100 for c in ("mean at baseline", "mean at follow-up")})
    top = top.round(2).astype(object)
    rows = []
    for name, r in top.iterrows():
        rows.append({"": name, "n": r["n"], "baseline": r["mean at baseline"], "follow-up": r["mean at follow-up"],
                     "test": ""})
    for source, r in tests.iterrows():
        label = {"time": "time", "group": "group", "interaction": "group x time"}[source]
        rows.append({"": label, "n": "", "baseline": "", "follow-up": "",
                     "test": f"{fmt_test(r.rename({'p': 'p_unc', 'partial η²': 'np2'}))}; {r['words']}"})
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
