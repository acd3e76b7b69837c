"""Every figure of the book in one style: the outcome figures of chapter 5, the love plot of
the matching (5.1) and the power curves."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from veiligverder.vocab import GROUP_LABELS, POWER_TARGET  # noqa: E402
from veiligverder.vocab import GROUPS as GROUP_ORDER  # noqa: E402

TIME_LABELS = {"baseline": "Baseline (T0)", "follow_up": "Follow-up"}
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = {"VV": "#0072B2", "control": "#E69F00"}
CATEGORY_PALETTE = {"none": "#009E73", "mild": "#F0E442", "severe": "#D55E00"}
#: A scale stated at the end of an axis label, '(1-10)': the axis then shows the whole scale.
_SCALE_IN_LABEL = re.compile(r"\((-?\d+(?:\.\d+)?)\s*[-–]\s*(-?\d+(?:\.\d+)?)\)\s*$")
#: The power figure's panels: the outcomes of each chapter section, in the chapters' order.
POWER_PANELS: dict[str, tuple[str, ...]] = {
    "Violence (5.2)": ("violence_total", "violence_partner", "violence_child_direct"),
    "Trauma (5.3)": ("parent_trauma", "child_trauma"),
    "Wellbeing and parenting (5.4)": ("safety_grade", "emotional_insecurity", "parenting_stress",
                                      "parenting_competence", "qol_parent", "qol_child"),
    "Risk factors (5.5)": ("low_income", "unemployment", "drinks_own", "drinks_partner"),
}
#: Markers that go with the colours of a power panel (a line is told apart by both).
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def set_theme() -> None:
    """Apply the book's figure theme (call once at the top of every chapter).

    Inside a kernel it also registers the PNG formatter for figures, which the inline backend
    would otherwise register (this module selects Agg so that it works headless), so that glued
    figures carry an image and not only their text form.
    """
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("png")
    except ImportError:  # no IPython: figures are saved, not displayed
        pass
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "veiligverder",
        }
    )


def _n_label(n: float) -> str:
    """'n = 34', or 'n withheld' where the disclosure gate blanked the count (NaN)."""
    return "n withheld" if pd.isna(n) else f"n = {int(n)}"


def scale_of(label: str) -> tuple[float, float] | None:
    """The scale an axis label states at its end, ``'grade (1-10)'`` -> ``(1.0, 10.0)``; else None.

    >>> scale_of("safety grade (1-10)"), scale_of("parenting stress (NOSI-K)")
    ((1.0, 10.0), None)
    """
    m = _SCALE_IN_LABEL.search(label)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _full_scale(ax, scale: tuple[float, float]) -> None:
    """Show the whole scale on the y axis (a grade on 1-10, not the band its means fall in), so
    that a change of a few tenths looks like one."""
    low, high = scale
    ax.set_ylim(low, high)
    if float(low).is_integer() and float(high).is_integer() and high - low <= 12:
        ax.set_yticks(np.arange(low, high + 1))


def _legend_below(fig: plt.Figure, ax, ncol: int, order: list[str] | None = None) -> None:
    """The axes' legend as a figure legend under the axes (outside the data area; the figure must
    use the constrained layout), its entries in ``order`` (labels) where given."""
    handles, labels = ax.get_legend_handles_labels()
    if order is not None:
        rank = {label: i for i, label in enumerate(order)}
        pairs = sorted(zip(handles, labels), key=lambda hl: rank.get(hl[1], len(rank)))
        handles, labels = [h for h, _ in pairs], [lab for _, lab in pairs]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(handles)))


def two_wave_figure(
    summary: pd.DataFrame,
    *,
    ylabel: str,
    norm: float | None = None,
    norm_label: str = "norm",
    percent: bool = False,
    scale: tuple[float, float] | None = None,
) -> plt.Figure:
    """Means (or shares) with 95 % confidence intervals per group at baseline and follow-up.

    Parameters
    ----------
    summary : DataFrame
        One row per group and time with columns ``group``, ``time``, ``mean``, ``ci_low``,
        ``ci_high`` (as returned by :func:`veiligverder.analysis.summarise`).
    ylabel : str
        Axis label with the unit.
    norm : float, optional
        Norm value of the general population, drawn as a dashed line where the report gives one.
    percent : bool
        Show 0-1 shares as percentages.
    scale : (low, high), optional
        The whole scale of the outcome; the y axis then shows all of it. Default: the scale the
        label states at its end (``'quality of life (1-10)'``, :func:`scale_of`), else the axis
        fits the data.

    The legend sits under the axes, outside the data area, so that it covers no mean, interval
    or norm line; the x axis (two waves) has no grid lines.
    """
    scale = scale if scale is not None else scale_of(ylabel)
    factor = 100.0 if percent else 1.0
    fig, ax = plt.subplots(layout="constrained")
    x = {"baseline": 0, "follow_up": 1}
    offset = {"VV": -0.04, "control": 0.04}
    for group in GROUP_ORDER:
        part = summary[summary["group"] == group].set_index("time").reindex(list(x))
        xs = [x[t] + offset[group] for t in part.index]
        mean = part["mean"] * factor
        # clipped at 0: a Wilson interval at a share of 0 or 1 can sit a rounding error past the mean
        err = [((part["mean"] - part["ci_low"]) * factor).clip(lower=0), ((part["ci_high"] - part["mean"]) * factor).clip(lower=0)]
        ax.errorbar(xs, mean, yerr=err, marker="o", capsize=4, lw=2, color=PALETTE[group], label=GROUP_LABELS[group])
    if norm is not None:
        ax.axhline(norm, ls="--", color="0.35", lw=1.2, label=norm_label)
    ax.set_xticks(list(x.values()), [TIME_LABELS[t] for t in x])
    ax.set_xlim(-0.4, 1.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if scale is not None:
        _full_scale(ax, scale)
    _legend_below(fig, ax, ncol=3, order=[GROUP_LABELS[g] for g in GROUP_ORDER] + [norm_label])
    return fig


def category_figure(shares: pd.DataFrame) -> plt.Figure:
    """Figure 1: stacked shares of none / mild / severe per group at baseline and follow-up.

    ``shares`` has columns ``group``, ``time``, ``category``, ``share`` (0-1), ``n``. The group
    names stand above the axes and the legend below them, both outside the data area; the bars
    have no vertical grid lines behind them.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    order = [(g, t) for g in GROUP_ORDER for t in ("baseline", "follow_up")]
    wide = shares.pivot_table(index=["group", "time"], columns="category", values="share").reindex(order)
    n = shares.drop_duplicates(["group", "time"]).set_index(["group", "time"])["n"].reindex(order)
    xs = [0, 1, 2.5, 3.5]
    bottoms = [0.0] * len(order)
    names = {"none": "none", "mild": "mild", "severe": "frequent or severe"}
    for cat in ("none", "mild", "severe"):
        values = (wide[cat].fillna(0) * 100).tolist() if cat in wide else [0.0] * len(order)
        ax.bar(xs, values, bottom=bottoms, color=CATEGORY_PALETTE[cat], width=0.8, label=names[cat],
               edgecolor="white")
        bottoms = [b + v for b, v in zip(bottoms, values)]
    labels = [f"{TIME_LABELS[t].split(' ')[0]}\n({_n_label(n[(g, t)])})" for g, t in order]
    ax.set_xticks(xs, labels)
    ax.grid(axis="x", visible=False)
    # group names above the axes (x in data, y in axes units), clear of bars and grid lines
    for x, g in ((0.5, "VV"), (3.0, "control")):
        ax.text(x, 1.03, GROUP_LABELS[g], ha="center", va="bottom", fontweight="bold",
                transform=ax.get_xaxis_transform(), clip_on=False)
    ax.set_ylim(0, 100)
    ax.set_ylabel("families (%)")
    _legend_below(fig, ax, ncol=3)
    return fig


def theme_heatmap(matrix: pd.DataFrame) -> plt.Figure:
    """Chapter 4: how many case evaluations and interviews raise each theme (annotated heatmap)."""
    fig, ax = plt.subplots(figsize=(6.4, 0.38 * len(matrix) + 1.2))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5, linecolor="white", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.xaxis.tick_top()
    fig.tight_layout()
    return fig


def grade_bars(bands: pd.DataFrame) -> plt.Figure:
    """Chapter 4: the interviewed parents' grades for Veilig Verder, as the bands the report gives."""
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    ax.bar(bands["band"], bands["parents"], color=PALETTE["VV"], width=0.6)
    ax.set_xlabel("grade given to Veilig Verder (1-10)")
    ax.set_ylabel("parents")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return fig


def between_figure(summary: pd.DataFrame, *, ylabel: str, scale: tuple[float, float] | None = None) -> plt.Figure:
    """Mean with 95 % CI per group for an outcome compared between groups only (figure 18).

    ``summary`` has columns ``group``, ``n``, ``mean``, ``ci_low``, ``ci_high``. ``scale`` as in
    :func:`two_wave_figure`: a grade's axis shows the whole 1-10 scale.
    """
    scale = scale if scale is not None else scale_of(ylabel)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    s = summary.set_index("group").reindex(list(GROUP_ORDER))
    for i, g in enumerate(GROUP_ORDER):
        err = [[max(s.loc[g, "mean"] - s.loc[g, "ci_low"], 0)], [max(s.loc[g, "ci_high"] - s.loc[g, "mean"], 0)]]
        ax.errorbar([i], [s.loc[g, "mean"]], yerr=err, marker="o", capsize=5, lw=2, color=PALETTE[g])
    ax.set_xticks(range(len(GROUP_ORDER)), [f"{GROUP_LABELS[g]}\n({_n_label(s.loc[g, 'n'])})" for g in GROUP_ORDER])
    ax.set_xlim(-0.6, len(GROUP_ORDER) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(ylabel)
    if scale is not None:
        _full_scale(ax, scale)
    fig.tight_layout()
    return fig


def satisfaction_figure(shares: pd.DataFrame) -> plt.Figure:
    """Figure 17: share of parents per satisfaction band, per group (horizontal stacked bars).

    ``shares``: index = group, columns = bands in order, values 0-1.
    """
    colours = ["#D55E00", "#F0E442", "#56B4E9", "#0072B2"]
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    left = pd.Series(0.0, index=shares.index)
    for colour, band in zip(colours, shares.columns):
        values = shares[band].fillna(0) * 100
        ax.barh([GROUP_LABELS[g] for g in shares.index], values, left=left, color=colour, label=band,
                edgecolor="white")
        left = left + values
    ax.set_xlabel("parents (%)")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=4)
    fig.tight_layout()
    return fig


def love_plot(balance: pd.DataFrame, *, threshold: float = 0.1):
    """Love plot: absolute SMD per covariate before and after matching, with the 0.1 line."""
    b = balance.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(b) + 1.2))
    y = np.arange(len(b))
    ax.scatter(b["smd_before"].abs(), y, marker="o", facecolors="none", edgecolors="0.35", label="before matching")
    ax.scatter(b["smd_after"].abs(), y, marker="o", color=PALETTE["VV"], label="after matching")
    ax.axvline(threshold, color="0.5", linestyle="--", linewidth=1)
    ax.set_yticks(y, b["label"])
    ax.set_xlabel("absolute standardised mean difference")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.6 / len(b)), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def power_panels(outcomes, labels: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The outcomes of the power figure by panel (:data:`POWER_PANELS`), each panel in the order of
    ``labels`` (the table's order) and without the panels that have none; outcomes of no panel go
    to a last panel 'Other outcomes'.

    >>> power_panels(["qol_parent", "violence_total", "x"])
    {'Violence (5.2)': ['violence_total'], 'Wellbeing and parenting (5.4)': ['qol_parent'], 'Other outcomes': ['x']}
    """
    present = list(dict.fromkeys(outcomes))
    rank = {o: i for i, o in enumerate(labels or {})}
    order = sorted(present, key=lambda o: (rank.get(o, len(rank)), present.index(o)))
    panels: dict[str, list[str]] = {}
    for title, members in POWER_PANELS.items():
        inside = [o for o in order if o in members]
        if inside:
            panels[title] = inside
    rest = [o for o in order if not any(o in m for m in POWER_PANELS.values())]
    if rest:
        panels["Other outcomes"] = rest
    return panels


def power_figure(curves: pd.DataFrame, labels: dict[str, str], *, target: float = POWER_TARGET) -> plt.Figure:
    """The power page's figure: simulated power of the group x time test by group size, in small
    multiples: one panel per chapter section (:func:`power_panels`), one line per outcome in it,
    with the target power (80 %) dashed in each.

    ``curves`` has columns ``outcome``, ``n_per_group`` and ``power``
    (:attr:`veiligverder.analysis.power.PowerStudy.curves`); ``labels`` maps outcome -> legend label.
    A panel holds at most six lines, each with its own colour of the colour-blind palette and its
    own marker, and its legend sits to the right of the panel, outside the data. The panels share
    both axes. An empty ``curves`` (every outcome withheld or not estimable) gives a figure that
    says so.
    """
    if not len(curves):
        fig, ax = plt.subplots(figsize=(7.2, 2.4), layout="constrained")
        ax.text(0.5, 0.5, "no outcome can be shown on this dataset", ha="center", transform=ax.transAxes)
        ax.axhline(target, ls="--", color="0.35", lw=1.2)
        ax.set_xlabel("families (or parents, children) per group")
        ax.set_ylabel("power of the group x time test")
        ax.set_ylim(0, 1)
        return fig
    panels = power_panels(curves["outcome"], labels)
    colours = sns.color_palette("colorblind", max(len(m) for m in panels.values()))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.0, 1.95 * len(panels) + 0.6), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    for ax, (title, members) in zip(axes[:, 0], panels.items()):
        for k, outcome in enumerate(members):
            line = curves[curves["outcome"] == outcome].sort_values("n_per_group")
            ax.plot(line["n_per_group"], line["power"], color=colours[k], marker=_MARKERS[k % len(_MARKERS)],
                    markersize=4, lw=1.6, label=labels.get(outcome, outcome))
        ax.axhline(target, ls="--", color="0.35", lw=1.2)
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, title=None)
    axes[-1, 0].set_xlabel("families (or parents, children) per group")
    fig.supylabel("power of the group x time test", fontsize=10)
    return fig
