"""One figure style for the whole book, and the two-wave outcome figure of chapter 5."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

GROUP_ORDER = ("VV", "control")
GROUP_LABELS = {"VV": "Veilig Verder", "control": "Control (care as usual)"}
TIME_LABELS = {"baseline": "Baseline (T0)", "follow_up": "Follow-up"}
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = {"VV": "#0072B2", "control": "#E69F00"}
CATEGORY_PALETTE = {"none": "#009E73", "mild": "#F0E442", "severe": "#D55E00"}


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


def two_wave_figure(
    summary: pd.DataFrame,
    *,
    ylabel: str,
    norm: float | None = None,
    norm_label: str = "norm",
    percent: bool = False,
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
    """
    scale = 100.0 if percent else 1.0
    fig, ax = plt.subplots()
    x = {"baseline": 0, "follow_up": 1}
    offset = {"VV": -0.04, "control": 0.04}
    for group in GROUP_ORDER:
        part = summary[summary["group"] == group].set_index("time").reindex(list(x))
        xs = [x[t] + offset[group] for t in part.index]
        mean = part["mean"] * scale
        # clipped at 0: a Wilson interval at a share of 0 or 1 can sit a rounding error past the mean
        err = [((part["mean"] - part["ci_low"]) * scale).clip(lower=0), ((part["ci_high"] - part["mean"]) * scale).clip(lower=0)]
        ax.errorbar(xs, mean, yerr=err, marker="o", capsize=4, lw=2, color=PALETTE[group], label=GROUP_LABELS[group])
    if norm is not None:
        ax.axhline(norm, ls="--", color="0.35", lw=1.2, label=norm_label)
    ax.set_xticks(list(x.values()), [TIME_LABELS[t] for t in x])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def category_figure(shares: pd.DataFrame) -> plt.Figure:
    """Figure 1: stacked shares of none / mild / severe per group at baseline and follow-up.

    ``shares`` has columns ``group``, ``time``, ``category``, ``share`` (0-1), ``n``.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    labels, bottoms = [], None
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
    for x, g in ((0.5, "VV"), (3.0, "control")):
        ax.text(x, 104, GROUP_LABELS[g], ha="center", va="bottom", fontweight="bold")
    ax.set_ylim(0, 115)
    ax.set_ylabel("families (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3)
    fig.tight_layout()
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


def between_figure(summary: pd.DataFrame, *, ylabel: str) -> plt.Figure:
    """Mean with 95 % CI per group for an outcome compared between groups only (figure 18).

    ``summary`` has columns ``group``, ``n``, ``mean``, ``ci_low``, ``ci_high``.
    """
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    s = summary.set_index("group").reindex(list(GROUP_ORDER))
    for i, g in enumerate(GROUP_ORDER):
        err = [[max(s.loc[g, "mean"] - s.loc[g, "ci_low"], 0)], [max(s.loc[g, "ci_high"] - s.loc[g, "mean"], 0)]]
        ax.errorbar([i], [s.loc[g, "mean"]], yerr=err, marker="o", capsize=5, lw=2, color=PALETTE[g])
    ax.set_xticks(range(len(GROUP_ORDER)), [f"{GROUP_LABELS[g]}\n({_n_label(s.loc[g, 'n'])})" for g in GROUP_ORDER])
    ax.set_xlim(-0.6, len(GROUP_ORDER) - 0.4)
    ax.set_ylabel(ylabel)
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
