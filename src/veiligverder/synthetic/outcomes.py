"""What each respondent scores at each wave: the latent layer of the synthetic twin.

Every outcome is a (units x waves) array, NaN where the unit is absent or the instrument does not
apply. Three kinds of generator cover all outcomes:

* :func:`two_wave` - continuous scores with a group mean at T0 and a group mean change to the
  follow-up wave. The random parts are standardised within each group's analysis sample (units
  with a T0 and a follow-up value), so the sample moments - and with them the mixed-ANOVA effects
  - are the ones set in ``params.yml`` for any seed (moment matching).
* :func:`binary_quota` - 0/1 states with an exact T0 quota and exact numbers of units leaving and
  entering the state by the follow-up wave.
* :func:`family_quota` + :func:`enforce_cut` - a continuous score whose T0 flag (score past a
  cut-off) holds in exactly the Tabel 4 share of families: the families with the highest scores
  are flagged and scores are moved just across the cut where needed.

The follow-up wave of a unit is its latest wave with a value (CONTRACT §3, ``latest``); the value
at T1 of a unit followed up at T2 lies between its T0 and T2 values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from veiligverder.synthetic.sampling import pick_exact, quota_counts, standardize

GROUP_NAMES = ("VV", "control", "cohort")


def follow_up_index(elig: np.ndarray) -> np.ndarray:
    """Per unit the column (1 = T1, 2 = T2) of its follow-up value, -1 without a follow-up."""
    return np.where(elig[:, 2], 2, np.where(elig[:, 1], 1, -1))


def two_wave(group: np.ndarray, elig: np.ndarray, latent: np.ndarray, cfg: dict[str, Any],
             rng: np.random.Generator) -> np.ndarray:
    """Continuous scores per unit and wave with matched group means and changes.

    ``y_T0 = mean_g + sd * z0`` and ``y_fu = y_T0 + change_g + change_sd * zd`` where ``z0`` mixes the
    unit's latent trait (weight ``rho``) with noise, ``zd`` leans against ``z0`` (``regress``) and
    both are standardised within group over the units with both waves (the analysis sample).
    A T1 value of a unit followed up at T2 is ``y_T0 + mid * (y_T2 - y_T0)`` plus noise ``mid_sd``.

    Parameters
    ----------
    group : array of str
        Group per unit (``VV``, ``control``, ``cohort``).
    elig : bool array (n, 3)
        Whether the unit has this outcome at T0, T1, T2.
    latent : array (n,)
        A standard-normal trait the outcome correlates with.
    cfg : dict
        ``mean``, ``change`` and ``sd`` (per group or one number), ``change_sd``, optional ``rho`` (0.5),
        ``regress`` (0.3), ``mid`` (0.6), ``mid_sd`` (0.25 * change_sd).
    """
    n = len(group)
    rho, reg = cfg.get("rho", 0.5), cfg.get("regress", 0.3)
    z0 = rho * latent + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    fu = follow_up_index(elig)
    both = elig[:, 0] & (fu > 0)
    z0 = standardize(z0, group, both)
    zd = standardize(-reg * z0 + np.sqrt(1 - reg**2) * rng.standard_normal(n), group, both)
    mean = _by_group(cfg["mean"], group)
    change = _by_group(cfg["change"], group)
    y0 = mean + _by_group(cfg["sd"], group) * z0
    yfu = y0 + change + cfg["change_sd"] * zd
    mid = y0 + cfg.get("mid", 0.6) * (yfu - y0) + cfg.get("mid_sd", 0.25 * cfg["change_sd"]) * rng.standard_normal(n)
    out = np.full((n, 3), np.nan)
    out[:, 0] = y0
    out[:, 1] = np.where(fu == 1, yfu, mid)
    out[:, 2] = yfu
    out[~elig] = np.nan
    return out


def binary_quota(group: np.ndarray, elig: np.ndarray, start: np.ndarray, cfg: dict[str, Any],
                 rng: np.random.Generator) -> np.ndarray:
    """0/1 states per unit and wave: T0 as given, follow-up with exact leave/enter numbers.

    Of a group's units with a follow-up, ``round(leave_g * n_1)`` of those in state 1 at T0 are in
    state 0 at the follow-up and ``round(enter_g * n_0)`` of those in state 0 are in state 1. A T1
    value of a unit followed up at T2 is the T2 state with probability ``mid`` (default 0.6), else
    the T0 state.
    """
    n = len(group)
    start = np.asarray(start, bool)
    fu = follow_up_index(elig)
    has = elig[:, 0] & (fu > 0)
    end = start.copy()
    for g in np.unique(group):
        ones, zeros = (group == g) & has & start, (group == g) & has & ~start
        leave = pick_exact(round(_by_group(cfg["leave"], np.array([g]))[0] * ones.sum()), ones.astype(float), rng)
        enter = pick_exact(round(_by_group(cfg["enter"], np.array([g]))[0] * zeros.sum()), zeros.astype(float), rng)
        end = np.where(leave, False, np.where(enter, True, end))
    mid = np.where(rng.random(n) < cfg.get("mid", 0.6), end, start)
    out = np.column_stack([start, np.where(fu == 1, end, mid), end]).astype(float)
    out[~elig] = np.nan
    return out


def family_quota(family: np.ndarray, group: np.ndarray, elig0: np.ndarray, score: np.ndarray,
                 share: dict[str, float], rng: np.random.Generator, *, noise: float = 0.5) -> np.ndarray:
    """Units flagged at T0 so that exactly ``share_g`` % of the group's families have a flagged unit.

    Families with at least one eligible unit are ranked by their highest unit score plus noise
    (``noise``, so that the flag follows the score without being a function of it); the top
    ``round(share * n_families)`` are flagged, and in a flagged family the unit with the highest
    score is the flagged one (its other members are not).
    """
    frame = pd.DataFrame({"family": family, "group": group, "score": score + noise * rng.standard_normal(len(score)),
                          "elig": elig0})
    frame = frame.loc[frame["elig"]]
    fam = frame.groupby("family").agg(group=("group", "first"), top=("score", "max"))
    flagged_fams: set[str] = set()
    for g, sub in fam.groupby("group"):
        pct = share[g]
        k = quota_counts({"y": pct, "n": 100 - pct}, len(sub))["y"]
        flagged_fams |= set(sub.sort_values("top", ascending=False, kind="stable").index[:k])
    top_unit = frame.loc[frame.groupby("family")["score"].idxmax()]
    out = np.zeros(len(score), bool)
    out[top_unit.index[top_unit["family"].isin(flagged_fams)]] = True
    return out


def enforce_cut(values: np.ndarray, flagged: np.ndarray, *, low_max: float, high_min: float,
                spread: float, rng: np.random.Generator) -> np.ndarray:
    """Move values so that flagged units are ``>= high_min`` and the others ``<= low_max``.

    A unit on the wrong side lands a random distance (exponential, mean ``spread``) past the cut.
    NaN values stay NaN.
    """
    v = values.copy()
    jump = rng.exponential(spread, size=v.shape)
    up = flagged & (v < high_min)
    down = ~flagged & (v > low_max)
    v[up] = high_min + jump[up]
    v[down] = low_max - jump[down]
    return v


def _by_group(values: Any, group: np.ndarray) -> np.ndarray:
    """A per-group setting as an array over units (a plain number applies to every group)."""
    if isinstance(values, dict):
        return np.array([float(values[g]) for g in group]) if len(group) else np.zeros(0)
    return np.full(len(group), float(values))
