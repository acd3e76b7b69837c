"""The generator's own checks of its targets: the latest-follow-up pairs and the 2 x 2 mixed ANOVA.

The generator reads the instrument specs and keys but never uses the project's scoring or
statistics (they are what the twin is checked with); the few rules it needs are re-implemented
here from CONTRACT §2-§3 and kept deliberately plain.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from veiligverder.vocab import GROUPS as DESIGN_GROUPS


def mixed_anova_2x2(y0: np.ndarray, y1: np.ndarray, group: np.ndarray) -> dict[str, dict[str, float]]:
    """F, p and partial eta squared of time, group and interaction in a 2 (group) x 2 (time) design.

    Type III sums of squares as SPSS GLM repeated measures (CONTRACT §3). With two waves the
    within-unit effects are tests on the change ``d = y1 - y0``: the interaction compares the
    groups' mean changes, ``time`` tests the unweighted mean of the two groups' mean changes; the
    error is the pooled within-group variance of ``d``. ``group`` compares the units' means of the
    two waves. Only for the generator's own checks; the book uses ``veiligverder.stats``.
    """
    labels = [g for g in DESIGN_GROUPS if np.any(group == g)]
    d = y1 - y0
    m = (y0 + y1) / 2
    n = np.array([np.sum(group == g) for g in labels], float)
    df2 = n.sum() - len(labels)
    out: dict[str, dict[str, float]] = {}

    def pooled(v: np.ndarray) -> float:
        return sum(np.sum((v[group == g] - v[group == g].mean()) ** 2) for g in labels) / df2

    dm = np.array([d[group == g].mean() for g in labels])
    mm = np.array([m[group == g].mean() for g in labels])
    var_d, var_m = pooled(d), pooled(m)
    f_time = dm.mean() ** 2 / (var_d * np.sum(1 / n) / len(labels) ** 2) if var_d > 0 else np.nan
    f_int = (dm[0] - dm[-1]) ** 2 / (var_d * np.sum(1 / n)) if var_d > 0 and len(labels) == 2 else np.nan
    f_grp = (mm[0] - mm[-1]) ** 2 / (var_m * np.sum(1 / n)) if var_m > 0 and len(labels) == 2 else np.nan
    for name, f in (("time", f_time), ("group", f_grp), ("interaction", f_int)):
        out[name] = {"F": f, "p": float(stats.f.sf(f, 1, df2)), "np2": f / (f + df2)}
    return out



def analysis_pairs(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline and latest follow-up values of the VV and control units that have both."""
    has = np.isfinite(values)
    fu = np.where(has[:, 2], 2, np.where(has[:, 1], 1, -1))          # latest follow-up wave
    keep = has[:, 0] & (fu > 0) & np.isin(groups, DESIGN_GROUPS)
    idx = np.flatnonzero(keep)
    return values[idx, 0], values[idx, fu[idx]], groups[idx]
