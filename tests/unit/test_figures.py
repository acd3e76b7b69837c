"""The figures draw honestly: legends outside the data, grades on the whole 1-10 scale, no grid lines
behind the group names of Figuur 1, the power figure in small multiples.

Geometry is read from the drawn figure (display coordinates after ``canvas.draw()``): a legend's
window extent against the axes' window extent and against every plotted point.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from veiligverder.report import figures  # noqa: E402


@pytest.fixture(autouse=True)
def _theme_and_close():
    figures.set_theme()
    yield
    plt.close("all")


def summary(means: dict, half: float) -> pd.DataFrame:
    """A two-wave summary: ``means`` by (group, time), the interval mean -/+ ``half``."""
    rows = [{"group": g, "time": t, "n": 30, "mean": m, "ci_low": m - half, "ci_high": m + half}
            for (g, t), m in means.items()]
    return pd.DataFrame(rows)


# Figuur 15's shape: the control line high on the left, where a legend 'best' placed sat on it
DRINKS = summary({("VV", "baseline"): 1.26, ("VV", "follow_up"): 1.45,
                  ("control", "baseline"): 2.77, ("control", "follow_up"): 2.71}, 1.2)
# Figuur 9's shape: a norm line low in the axes, where the legend sat on it
STRESS = summary({("VV", "baseline"): 47.0, ("VV", "follow_up"): 44.5,
                  ("control", "baseline"): 48.5, ("control", "follow_up"): 48.5}, 3.0)
# Figuur 7's shape: grades between 6 and 8 that a fitted axis blows up
GRADES = summary({("VV", "baseline"): 6.85, ("VV", "follow_up"): 7.18,
                  ("control", "baseline"): 6.79, ("control", "follow_up"): 7.01}, 0.45)


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def data_points(ax) -> np.ndarray:
    """Every plotted point of the axes (lines, error bars, norm line ends) in display coordinates."""
    pts = []
    for line in ax.get_lines():
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        if line.get_transform() == ax.transData:
            pts.append(ax.transData.transform(xy))
        else:  # axhline: x in axes units, y in data
            pts.append(line.get_transform().transform(xy))
    for coll in ax.collections:  # error bar segments
        for seg in coll.get_segments():
            pts.append(ax.transData.transform(seg))
    return np.vstack(pts)


def the_legend(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    return legends[0]


@pytest.mark.parametrize("frame,kwargs", [(DRINKS, {"ylabel": "drinks a week"}),
                                          (STRESS, {"ylabel": "parenting stress", "norm": 40.4,
                                                    "norm_label": "population mean"})])
def test_two_wave_legend_is_outside_the_data(frame, kwargs):
    fig = figures.two_wave_figure(frame, **kwargs)
    renderer = drawn(fig)
    (ax,) = fig.axes
    box = the_legend(fig).get_window_extent(renderer)
    assert not box.overlaps(ax.get_window_extent(renderer)), "legend drawn over the axes"
    pts = data_points(ax)
    inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
    assert not inside.any(), "a data point lies under the legend"
    assert box.y1 < ax.get_window_extent(renderer).y0  # below the axes
    labels = [t.get_text() for t in the_legend(fig).get_texts()]
    assert labels[:2] == ["Veilig Verder", "Control (care as usual)"]
    if "norm" in kwargs:
        assert labels[2] == "population mean"


def test_two_wave_has_no_vertical_grid_lines():
    fig = figures.two_wave_figure(DRINKS, ylabel="drinks a week")
    drawn(fig)
    (ax,) = fig.axes
    assert not any(g.get_visible() for g in ax.get_xgridlines())
    assert any(g.get_visible() for g in ax.get_ygridlines())


@pytest.mark.parametrize("ylabel", ["safety grade (1-10)", "quality of life (1-10)"])
def test_grades_on_the_full_scale(ylabel):
    """Figuur 7 and 11: the y axis is the whole grade scale, 1 to 10, with a tick at every grade."""
    fig = figures.two_wave_figure(GRADES, ylabel=ylabel)
    (ax,) = fig.axes
    assert ax.get_ylim() == (1.0, 10.0)
    assert list(ax.get_yticks()) == list(range(1, 11))


def test_grade_scale_explicit_and_between_figure():
    fig = figures.two_wave_figure(GRADES, ylabel="grade", scale=(1, 10))
    assert fig.axes[0].get_ylim() == (1.0, 10.0)
    help_grade = pd.DataFrame({"group": ["VV", "control"], "n": [20, 40], "mean": [7.4, 7.1],
                               "ci_low": [6.9, 6.8], "ci_high": [7.9, 7.4]})
    fig = figures.between_figure(help_grade, ylabel="grade for the help (1-10)")
    assert fig.axes[0].get_ylim() == (1.0, 10.0)
    # not a grade: the axis fits the data
    fig = figures.two_wave_figure(STRESS, ylabel="parenting stress (NOSI-K)")
    assert fig.axes[0].get_ylim()[0] > 30


def test_scale_of():
    assert figures.scale_of("safety grade (1-10)") == (1.0, 10.0)
    assert figures.scale_of("score (0–100)") == (0.0, 100.0)
    assert figures.scale_of("parenting stress (NOSI-K)") is None
    assert figures.scale_of("drinks a week") is None


def category_shares() -> pd.DataFrame:
    rows = []
    for g, t, shares, n in [("VV", "baseline", (0, 18, 82), 34), ("VV", "follow_up", (53, 9, 38), 34),
                            ("control", "baseline", (0, 22, 78), 60), ("control", "follow_up", (57, 12, 31), 60)]:
        for cat, s in zip(("none", "mild", "severe"), shares):
            rows.append({"group": g, "time": t, "category": cat, "share": s / 100, "n": n})
    return pd.DataFrame(rows)


def test_category_figure_titles_and_legend_clear_of_data_and_grid():
    """Figuur 1: the group names stand above the axes (no grid line runs through them), there are
    no vertical grid lines, and the legend is under the axes."""
    fig = figures.category_figure(category_shares())
    renderer = drawn(fig)
    (ax,) = fig.axes
    axes_box = ax.get_window_extent(renderer)
    titles = [t for t in ax.texts if t.get_text() in ("Veilig Verder", "Control (care as usual)")]
    assert len(titles) == 2
    for t in titles:
        assert t.get_window_extent(renderer).y0 >= axes_box.y1, "group name inside the data area"
    assert not any(g.get_visible() for g in ax.get_xgridlines())
    assert ax.get_ylim() == (0.0, 100.0)
    box = the_legend(fig).get_window_extent(renderer)
    assert not box.overlaps(axes_box) and box.y1 < axes_box.y0


def power_curves() -> tuple[pd.DataFrame, dict]:
    outcomes = ["violence_total", "violence_partner", "violence_child_direct", "parent_trauma", "child_trauma",
                "safety_grade", "emotional_insecurity", "parenting_stress", "parenting_competence", "qol_parent",
                "qol_child", "low_income", "unemployment", "drinks_own", "drinks_partner"]
    sizes = [20, 50, 100, 200, 300]
    rows = [{"outcome": o, "n_per_group": n, "power": min(1.0, 0.05 + k * n / 3000)}
            for k, o in enumerate(outcomes) for n in sizes]
    return pd.DataFrame(rows), {o: f"label {o}" for o in outcomes}


def test_power_figure_one_panel_per_group():
    """Fifteen outcomes: four panels (5.2-5.5), each with its own outcomes only, at most six lines,
    all colours of a panel distinct, the 80 % line in each, the legend right of the panel."""
    curves, labels = power_curves()
    fig = figures.power_figure(curves, labels)
    renderer = drawn(fig)
    assert len(fig.axes) == len(figures.POWER_PANELS) == 4
    for ax, (title, members) in zip(fig.axes, figures.POWER_PANELS.items()):
        assert ax.get_title(loc="left") == title
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [labels[o] for o in members]
        data_lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert len(data_lines) == len(members) <= 6
        assert len({ln.get_color() for ln in data_lines}) == len(members)
        assert any(np.allclose(ln.get_ydata(), 0.8) for ln in ax.get_lines())
        assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
        assert ax.get_ylim() == (0.0, 1.0)


def test_power_panels_skip_empty_groups_and_keep_unknown_outcomes():
    curves, labels = power_curves()
    part = curves[curves["outcome"].isin(["qol_parent", "low_income", "drinks_own"])]
    part = pd.concat([part, part.assign(outcome="new_outcome")])
    fig = figures.power_figure(part, labels)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Wellbeing and parenting (5.4)", "Risk factors (5.5)",
                                                              "Other outcomes"]
    assert figures.power_panels(["drinks_own", "low_income"], labels) == {"Risk factors (5.5)": ["low_income", "drinks_own"]}


def test_power_figure_without_outcomes_says_so():
    fig = figures.power_figure(pd.DataFrame(columns=["outcome", "n_per_group", "power"]), {})
    assert len(fig.axes) == 1
    assert "no outcome" in fig.axes[0].texts[0].get_text()
