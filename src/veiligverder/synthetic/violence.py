"""Violence in the synthetic twin: incidents a year per parent (CTS2) and per child (CTSPC).

Model (per family f, parent p, child c, wave w):

* partner violence of a parent at T0: ``V = s_g * exp(sigma0 * z_f + tau * e_p)``; ``z_f`` is the
  family's violence trait, ``s_g`` scales each group to its Tabel 4 family mean (cohort families
  have a fixed spread ``sigma0_cohort``). VV and control families, selected for their violence,
  get a floor of ``design_floor`` times the mean level on top.
* by the follow-up a share ``desist_g`` of the families has no partner violence any more; in the
  others it is multiplied by ``exp(log(ratio) + sigma_fu * e_f)``. Families where both parents
  take part stop less often and less (``couple_desist_weight``, ``couple_ratio``), which is what
  makes the parent-level time effect smaller than the family-level one. The follow-up level is scaled so
  that the VV and control families of the analysis sample have the follow-up means of
  ``params.yml`` (figure 2: VV from about 100 to about 20 incidents a year).
* child-directed violence at T0 is present in a share of children (more likely in violent
  families) with a log-normal count, scaled to the Tabel 4 family means (families without
  children count 0); it persists more often where the partner violence persists, and its
  follow-up mean is a fixed fraction of the T0 mean (figure 4: no significant change).

Family traits and follow-up ratios are stratified normal scores (:func:`sampling.normal_scores`), so
every sample has the same spread of levels. ``sigma0`` sets how much the families differ at T0 and
so the size of the time effect; :func:`calibrate_spread` picks it by bisection so that the mixed
ANOVA gives the reported partial eta squared (.24 for the family total, .19 for partner violence of
parents) as nearly as the model allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from veiligverder.contract.claims import Targets
from veiligverder.synthetic.checks import analysis_pairs, mixed_anova_2x2
from veiligverder.synthetic.sampling import pick_exact
from veiligverder.vocab import GROUPS
from veiligverder.synthetic.outcomes import follow_up_index

POP = {"VV": "VV", "control": "control", "cohort": "population"}


def desistance(fam: pd.DataFrame, fam_fu: np.ndarray, cfg: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """(families x 3) bool: no partner violence at T1 / T2 (T0 always False).

    Exactly ``round(desist_g * n)`` of a group's families with a follow-up have none at their
    follow-up wave; of those followed up at T2 a share ``desist_by_T1`` had none at T1 already.
    Families where both parents take part (couples still in contact) stop less often: their
    chance of being picked is weighted by ``couple_desist_weight``.
    """
    group = fam["group"].to_numpy()
    weight = np.where(fam["n_parents"].to_numpy() == 2, cfg["couple_desist_weight"], 1.0)
    d_fu = np.zeros(len(fam), bool)
    for g in ("VV", "control", "cohort"):
        sel = (group == g) & (fam_fu > 0)
        d_fu |= pick_exact(round(cfg["desist"][g] * sel.sum()), sel * weight, rng)
    early = rng.random(len(fam)) < cfg["desist_by_T1"]
    out = np.zeros((len(fam), 3), bool)
    out[:, 2] = d_fu
    out[:, 1] = np.where(fam_fu == 1, d_fu, d_fu & early)
    return out


def child_violence(ch: pd.DataFrame, fam: pd.DataFrame, z_f: pd.Series, desist: pd.DataFrame,
                   cfg: dict[str, Any], t: Targets, rng: np.random.Generator) -> np.ndarray:
    """Child-directed incidents a year per child and wave (CTSPC items 05-27), NaN when absent."""
    n = len(ch)
    present = ch[["in_T0", "in_T1", "in_T2"]].to_numpy()
    group = ch["group"].to_numpy()
    zf = ch["family_id"].map(z_f).to_numpy()
    any0 = np.zeros(n, bool)
    for g in ("VV", "control", "cohort"):
        sel = group == g
        any0 |= pick_exact(round(cfg["share_any"][g] * sel.sum()), sel * np.exp(cfg["family_link"] * zf), rng)
    level = np.exp(cfg["sigma"] * rng.standard_normal(n))
    w0 = np.where(any0, level, 0.0)
    # scale to the Tabel 4 family means: sum over a family's children, 0 for families without
    fam_sum = pd.Series(w0, index=ch.index).groupby(ch["family_id"]).sum().reindex(fam["family_id"], fill_value=0.0)
    scale = {}
    for g in ("VV", "control", "cohort"):
        mean_g = fam_sum[(fam["group"] == g).to_numpy()].mean()
        scale[g] = t.value(f"t4.violence_child_direct.{POP[g]}") / mean_g
    w0 = w0 * np.array([scale[g] for g in group])
    # follow-up: persistence depends on whether the family's partner violence stopped
    fu = follow_up_index(present)
    stopped = desist.loc[ch["family_id"]].to_numpy()[np.arange(n), np.maximum(fu, 0)]
    keep = rng.random(n) < np.where(stopped, cfg["persist_if_desisted"], cfg["persist"])
    onset = rng.random(n) < np.where(stopped, cfg["onset_if_desisted"], cfg["onset"])
    ratio = np.exp(np.log(cfg["ratio"]) + cfg["ratio_sd"] * rng.standard_normal(n))
    new = np.exp(cfg["sigma"] * rng.standard_normal(n)) * cfg["onset_level"]
    wfu = np.where(any0, np.where(keep, w0 * ratio, 0.0), np.where(onset, new, 0.0))
    # follow-up mean of the analysis sample (children with both waves) = fu_fraction x its T0 mean
    both = present[:, 0] & (fu > 0)
    for g in ("VV", "control", "cohort"):
        sel = both & (group == g)
        if wfu[sel].sum() > 0:
            wfu[group == g] *= cfg["fu_fraction"] * w0[sel].mean() / wfu[sel].mean()
    mid = np.where(fu == 2, w0 + cfg["mid"] * (wfu - w0), wfu)
    out = np.column_stack([w0, mid, wfu])
    out[~present] = np.nan
    return out


def partner_violence(par: pd.DataFrame, fam: pd.DataFrame, z_f: pd.Series, desist: pd.DataFrame,
                     child_fam: pd.DataFrame, cfg: dict[str, Any], t: Targets, draws: dict[str, np.ndarray],
                     sigma0: float, sigma_fu: float) -> np.ndarray:
    """Partner-violence incidents a year per parent and wave (CTS2, own + partner's acts)."""
    present = par[["in_T0", "in_T1", "in_T2"]].to_numpy()
    group = par["group"].to_numpy()
    zf = par["family_id"].map(z_f).to_numpy()
    e_f = par["family_id"].map(pd.Series(draws["family_fu"], index=fam["family_id"])).to_numpy()
    design = np.isin(group, GROUPS)
    spread = np.where(design, sigma0, cfg["sigma0_cohort"])
    v0 = np.exp(spread * zf + cfg["tau"] * draws["parent"][:, 0])
    v0 = v0 + design * cfg["design_floor"] * np.exp(spread**2 / 2)          # a floor of the mean level
    v0 = _compress(v0, group, cfg["compress_above"])
    couple = (par["n_parents"] == 2).to_numpy()
    ratio = np.exp(np.log(cfg["ratio"]) + np.where(couple, np.log(cfg["couple_ratio"]), 0.0)
                   + sigma_fu * e_f + cfg["tau"] * draws["parent"][:, 1])
    stop = desist.loc[par["family_id"]].to_numpy()
    v = np.column_stack([v0, v0 * np.sqrt(ratio), v0 * ratio])
    v[:, 1:] *= ~stop[:, 1:]
    v[~present] = np.nan
    fam_mean = _family_mean(par, v)                                           # families x 3
    fam_group = fam.set_index("family_id")["group"].reindex(fam_mean.index).to_numpy()
    fam_fu = follow_up_index(fam_mean.notna().to_numpy())
    both = fam_mean.iloc[:, 0].notna().to_numpy() & (fam_fu > 0)
    fu_val = fam_mean.to_numpy()[np.arange(len(fam_mean)), np.maximum(fam_fu, 0)]
    child_fu = child_fam.reindex(fam_mean.index).to_numpy()[np.arange(len(fam_mean)), np.maximum(fam_fu, 0)]
    for g in ("VV", "control", "cohort"):
        sel_f = fam_group == g
        # T0: Tabel 4 takes all families, figure 2 the analysis sample; the scale is the geometric
        # mean of the two that each would need, so a heavy family lost to follow-up splits the miss
        t0 = fam_mean.iloc[:, 0].to_numpy()
        ref = t0[sel_f].mean() if g == "cohort" else np.sqrt(t0[sel_f].mean() * t0[sel_f & both].mean())
        s0 = partner_goal(t, POP[g]) / ref
        # follow-up: the family total (partner + child) of the analysis sample has the set mean
        partner_fu = cfg["fu_total"][g] - np.nanmean(child_fu[sel_f & both])
        s_fu = max(partner_fu, 0.5) / (s0 * np.nanmean(fu_val[sel_f & both]))
        sel = group == g
        v[sel, 0] *= s0
        v[sel, 1:] *= s0 * s_fu
    return v


def partner_goal(t: Targets, pop: str) -> float:
    """Family partner-violence mean at T0 that keeps the Tabel 4 partner and total means equally close.

    The report's family total is not its partner mean plus its child mean (population: 54 + 16
    against 63). With child mean ``C``, the partner mean ``P = (2 - C / T*) / (1 / P* + 1 / T*)``
    misses the printed partner mean ``P*`` and total ``T*`` by the same relative amount.
    """
    p_star = t.value(f"t4.violence_partner.{pop}")
    t_star = t.value(f"t4.violence_total.{pop}")
    c = t.value(f"t4.violence_child_direct.{pop}")
    return (2 - c / t_star) / (1 / p_star + 1 / t_star)


def family_frames(par: pd.DataFrame, ch: pd.DataFrame, fam: pd.DataFrame, v: np.ndarray,
                  w: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Family partner (mean over parents), child (sum over children, 0 without) and total per wave."""
    partner = _family_mean(par, v).reindex(fam["family_id"])
    child = child_family_sum(ch, fam, w)
    total = partner + child
    return partner, child, total


def child_family_sum(ch: pd.DataFrame, fam: pd.DataFrame, w: np.ndarray) -> pd.DataFrame:
    """Sum of child-directed incidents over a family's children per wave (0 without children)."""
    frame = pd.DataFrame(w, columns=["T0", "T1", "T2"]).groupby(ch["family_id"].to_numpy()).sum(min_count=0)
    return frame.reindex(fam["family_id"], fill_value=0.0)


def effects(par: pd.DataFrame, fam: pd.DataFrame, v: np.ndarray, total: pd.DataFrame) -> dict[str, float]:
    """Partial eta squared of time: family total (families) and partner violence (parents)."""
    out = {}
    for name, values, groups in (
        ("total", total.to_numpy(), fam["group"].to_numpy()),
        ("partner", v, par["group"].to_numpy()),
    ):
        y0, y1, g = analysis_pairs(values, groups)
        out[name] = mixed_anova_2x2(y0, y1, g)["time"]["np2"]
    return out


def calibrate_spread(build: Callable[[float], dict[str, float]], bounds: tuple[float, float], target: dict[str, float], *, steps: int = 24) -> float:
    """The T0 spread ``sigma0`` whose two time effects straddle their targets evenly.

    ``build(sigma0)`` returns the effects dict of :func:`effects`. The time effects fall as the
    spread grows (a wider spread of T0 levels makes the changes vary more), so bisection on the
    mean of the two effects against the mean of the targets minimises the larger deviation.
    """
    goal = float(np.mean(list(target.values())))
    lo, hi = bounds
    for _ in range(steps):
        mid = (lo + hi) / 2
        if np.mean(list(build(mid).values())) > goal:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _compress(v: np.ndarray, group: np.ndarray, above: float) -> np.ndarray:
    """Levels beyond ``c = above`` x their group's mean bend towards ``2 c``.

    ``c (2 - c / v)`` for ``v > c`` (same value and slope at ``c``, never above ``2 c``): order is
    kept, but a handful of families no longer reach the questionnaire's ceiling (every item 'more
    than 20 times'), which would otherwise dominate Cronbach's alpha and make it swing from seed
    to seed.
    """
    out = v.copy()
    for g in np.unique(group):
        sel = group == g
        c = above * v[sel].mean()
        high = sel & (v > c)
        out[high] = c * (2 - c / v[high])
    return out


def _family_mean(par: pd.DataFrame, v: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(v, columns=["T0", "T1", "T2"]).groupby(par["family_id"].to_numpy()).mean()
