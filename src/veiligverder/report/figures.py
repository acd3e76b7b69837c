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
    """Apply the book's figure theme (call once at the top of every chapter)."""
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
        err = [(part["mean"] - part["ci_low"]) * scale, (part["ci_high"] - part["mean"]) * scale]
        ax.errorbar(xs, mean, yerr=err, marker="o", capsize=4, lw=2, color=PALETTE[group], label=GROUP_LABELS[group])
    if norm is not None:
        ax.axhline(norm, ls="--", color="0.35", lw=1.2, label=norm_label)
    ax.set_xticks(list(x.values()), [TIME_LABELS[t] for t in x])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    ax.legend(loc="best")
    fig.tight_layout()
    return fig
