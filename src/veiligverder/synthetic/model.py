"""The synthetic twin's generative model: from a seed to the three contract tables.

Layers, each in its own module:

1. who is there (:mod:`.structure`): families, parents, children, background, attendance;
2. latent traits: a violence trait per family (stratified normal scores, rank-linked to the
   parents' risk count), a distress trait per parent and per child correlated with it;
3. what they score (:mod:`.violence`, :mod:`.outcomes`): incidents, grades, scale scores and
   clinical states per unit and wave, calibrated to ``reproduction/claims.yml`` with the choices of
   ``params.yml``;
4. what they answered (:mod:`.answers`): item answers that the project's scoring turns back into
   those scores.

:func:`generate` returns the tables in contract form (codebook columns and order, rows sorted by
key); :mod:`.writer` writes them.

How the targets are met (``reproduction/claims.yml``; checked by ``veiligverder.reproduction.calibration.calibration_table``):

* Tabel 2 and 3 - explicit family types and exact quotas (largest-remainder counts of the printed
  shares) for the VV and control parents and children;
* Tabel 4 - violence means by scaling each group; shares of families with a flag by ranking
  families on a latent trait and placing scores just past (or short of) the instrument's cut-off,
  read from the instrument specs and the illustrative keys;
* Cronbach's alphas - the discrimination of each scale's items (``params.yml`` ``answers.a``),
  tuned once against the mean alpha of three seeds;
* figures - group means and changes matched exactly in each group's analysis sample (moment
  matching), exact numbers of units changing state for 0/1 outcomes, bisection for the eta
  squared of total and partner violence and of quality of life, and fresh draws where the report
  finds no difference at all (:func:`_until_ns`).

Everything random comes from named streams of one seed, so a seed gives byte-identical tables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from veiligverder import contract, vocab
from veiligverder.contract import FastSafeLoader
from veiligverder.contract.claims import Targets, load_targets
from veiligverder.synthetic import answers as A
from veiligverder.synthetic import structure as S
from veiligverder.synthetic import violence as V
from veiligverder.synthetic.checks import analysis_pairs, mixed_anova_2x2
from veiligverder.synthetic.sampling import Streams, normal_scores, pick_exact, raw_bounds
from veiligverder.vocab import GROUPS, WAVES
from veiligverder.synthetic.outcomes import binary_quota, enforce_cut, family_quota, follow_up_index, two_wave

DEFAULT_SEED = vocab.DEFAULT_SEED
PARAMS_FILE = "params.yml"
POP = {"VV": "VV", "control": "control", "cohort": "population"}


@lru_cache(maxsize=1)
def load_params() -> dict[str, Any]:
    """The model parameters of ``params.yml`` (cached; treat as read-only)."""
    with Path(__file__).with_name(PARAMS_FILE).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=FastSafeLoader)  # noqa: S506 - a safe loader (libyaml's)


def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """The synthetic twin as contract tables ``families``, ``parents``, ``children``.

    Parameters
    ----------
    seed : int
        Seed of every random draw (named streams, :class:`sampling.Streams`); same seed, same tables.

    Returns
    -------
    dict of DataFrame
        Codebook columns in codebook order, one row per family / parent-wave / child-wave, sorted
        by key; numbers as float (NaN = missing), text as str.
    """
    p, t, st = load_params(), load_targets(), Streams(seed)
    fam = S.families_frame(st, p)
    par = S.parents_frame(st, fam, p, t)
    ch = S.children_frame(st, fam, par, p, t)
    par = S.background(st, fam, par, p, t)
    lat = _latents(st, fam, par, ch, p)
    vio = _violence(st, fam, par, ch, lat, p, t)
    parents = _parents_table(st, fam, par, lat, vio, p, t)
    children = _children_table(st, fam, par, ch, lat, vio, p, t)
    families = fam[["family_id", "group", "region", "n_children_over3"]].astype({"n_children_over3": float})
    return {name: _contract_order(name, frame) for name, frame in
            (("families", families), ("parents", parents), ("children", children))}


# ------------------------------------------------------------------------------------ latents
def _latents(st: Streams, fam: pd.DataFrame, par: pd.DataFrame, ch: pd.DataFrame, p: dict) -> dict[str, Any]:
    rng = st("latents")
    risk = (par[["unemployed0", "single_parent", "risk_ace", "risk_own_drinks", "risk_partner_drinks"]].astype(float).sum(axis=1)
            + (par["income0"] == "lt1500") + (par["education"] == "primary")).to_numpy(float)
    risk_z = (risk - risk.mean()) / risk.std()
    fam_risk = pd.Series(risk_z).groupby(par["family_id"].to_numpy()).mean().reindex(fam["family_id"]).to_numpy()
    z_f = pd.Series(normal_scores(fam["group"].to_numpy(), rng, link=fam_risk, rho=p["violence"]["family_trait_risk_link"]),
                    index=fam["family_id"])
    lp, lc = p["latents"]["parent_distress"], p["latents"]["child_distress"]
    zf_p = par["family_id"].map(z_f).to_numpy()
    d_p = lp["violence"] * zf_p + lp["risk"] * risk_z + np.sqrt(1 - lp["violence"] ** 2 - lp["risk"] ** 2) * rng.standard_normal(len(par))
    first = pd.Series(d_p, index=par["parent_id"])
    d_first = ch["family_id"].add("-P1").map(first).to_numpy()
    c_c = (lc["violence"] * ch["family_id"].map(z_f).to_numpy() + lc["parent"] * d_first
           + np.sqrt(1 - lc["violence"] ** 2 - lc["parent"] ** 2) * rng.standard_normal(len(ch)))
    return {"z_f": z_f, "parent": d_p, "child": c_c}


# ------------------------------------------------------------------------------------ violence
def _violence(st: Streams, fam: pd.DataFrame, par: pd.DataFrame, ch: pd.DataFrame, lat: dict, p: dict,
              t: Targets) -> dict[str, Any]:
    rng = st("violence")
    cfg_p, cfg_c = p["violence"]["partner"], p["violence"]["child"]
    present = pd.DataFrame(_present(par)).groupby(par["family_id"].to_numpy()).max().reindex(fam["family_id"]).to_numpy()
    des = pd.DataFrame(V.desistance(fam, follow_up_index(present), cfg_p, rng), index=fam["family_id"])
    w = V.child_violence(ch, fam, lat["z_f"], des, cfg_c, t, rng)
    child_fam = V.child_family_sum(ch, fam, w)
    draws = {"family_fu": normal_scores(fam["group"].to_numpy(), rng),
             "parent": np.column_stack([normal_scores(par["group"].to_numpy(), rng), rng.standard_normal(len(par))])}

    def build(sigma0: float) -> dict[str, float]:
        v = V.partner_violence(par, fam, lat["z_f"], des, child_fam, cfg_p, t, draws, sigma0, cfg_p["sigma_fu"])
        return V.effects(par, fam, v, V.family_frames(par, ch, fam, v, w)[2])

    sigma0 = V.calibrate_spread(build, tuple(cfg_p["sigma0_bounds"]), cfg_p["eta2_target"])
    v = V.partner_violence(par, fam, lat["z_f"], des, child_fam, cfg_p, t, draws, sigma0, cfg_p["sigma_fu"])
    partner_fam = V.family_frames(par, ch, fam, v, w)[0]
    return {"partner": v, "child": w, "partner_family": partner_fam, "sigma0": sigma0}


# ------------------------------------------------------------------------------------ parents
def _parents_table(st: Streams, fam: pd.DataFrame, par: pd.DataFrame, lat: dict, vio: dict, p: dict,
                   t: Targets) -> pd.DataFrame:
    cfg = p["parents"]
    ans = p["answers"]
    present = _present(par)
    group = par["group"].to_numpy()
    family = par["family_id"].to_numpy()
    d = lat["parent"]
    rows = np.argwhere(present)                                   # (parent index, wave index)
    i, w = rows[:, 0], rows[:, 1]
    n = len(rows)
    out: dict[str, Any] = {
        "parent_id": par["parent_id"].to_numpy()[i], "family_id": family[i], "wave": np.array(WAVES)[w],
        "sex": par["sex"].to_numpy()[i], "age_years": _age(par["age_exact"].to_numpy()[i], w),
        "migration": par["migration"].to_numpy()[i], "education": par["education"].to_numpy()[i],
        "single_parent": par["single_parent"].to_numpy()[i], "psych_problems": par["psych_problems"].to_numpy()[i],
    }
    out.update(_economy(st, par, present, i, w, cfg))
    # grades: safety and quality of life (the VV change of quality of life is tuned to eta2 .09)
    safety = two_wave(group, present, d, cfg["safety_grade"], st("safety"))
    out["safety_grade"] = _grade(safety, cfg["safety_grade"])[i, w]
    qol = _tune_qol(st, group, present, d, cfg["qol_grade"])
    out["qol_grade"] = qol[i, w]
    margin = p["not_significant_margin"]
    out.update(_until_ns(lambda k: _help(st(f"help/{k}"), par, present, i, w, cfg["help"]),
                         lambda h: _help_ns(h, group[i], out["parent_id"], w), margin))
    # violence: CTS2 own and partner's acts (negotiation: log-normal incidents around its mean)
    rng = st("cts2")
    nego = ans["cts2"]["negotiation_mean"] * np.exp(0.6 * rng.standard_normal(n) - 0.18)
    cts = A.cts_items("cts2", {"violence": vio["partner"][i, w], "negotiation": nego}, ans["cts2"], rng)
    items = {"cts2s": cts[:, :39], "cts2p": cts[:, 39:]}
    # childhood adversity (same answers at every wave), drinking, trauma
    items["ace"] = _ace(st, par, cfg["ace_counts"], ans["a"]["ace"])[i]
    own, partner = _until_ns(lambda k: _drinks(st(f"drinks/{k}"), par, present, cfg["drinks"]),
                             lambda x: _drinks_ns(x, group), margin)
    items["auditc"], items["auditcp"] = own[i, w], partner[i, w]
    trauma = _parent_trauma(st, par, present, d, cfg["parent_trauma"], t)
    items["tsi"] = _tsi(st, trauma[i, w], d[i], cfg["tsi"], ans["a"])
    items.update(_parenting(st, fam, par, present, d, i, w, cfg, ans["a"], t))
    # quality of life (MANSA satisfaction follows the grade) and the four objective MANSA items
    rng = st("mansa")
    m = cfg["mansa_mean"]["base"] + cfg["mansa_mean"]["per_qol_point"] * (qol[i, w] - 6) \
        + cfg["mansa_mean"]["sd"] * rng.standard_normal(n)
    items["mansa"] = _single_scale("mansa", "satisfaction", np.clip(np.round(12 * m), 12, 84), ans["a"]["mansa"], rng)
    items["mansao"] = (rng.random((n, 4)) < cfg["mansao_yes"]).astype(float)
    return _with_items(pd.DataFrame(out), "parents", items)


def _economy(st: Streams, par: pd.DataFrame, present: np.ndarray, i: np.ndarray, w: np.ndarray,
             cfg: dict) -> dict[str, np.ndarray]:
    """Income category and paid hours per parent-wave: T0 from the background, then exact numbers
    of parents leaving and entering low income (< EUR 1,500) and unemployment (< 12 hours)."""
    rng = st("economy")
    group = par["group"].to_numpy()
    low = binary_quota(group, present, (par["income0"] == "lt1500").to_numpy(), cfg["income"], rng)
    unemp = binary_quota(group, present, par["unemployed0"].to_numpy(), cfg["unemployment"], rng)
    upper = np.where(par["income0"] == "lt1500", "1500_3100", par["income0"]).astype(object)
    hours = cfg["work_hours"]
    employed = rng.choice(np.array(hours["employed"], float), size=len(par))
    few = np.where(rng.random(len(par)) < hours["none_share"], 0.0, rng.choice(np.array(hours["few"], float), size=len(par)))
    return {"income": np.where(low[i, w] == 1, "lt1500", upper[i]),
            "work_hours": np.where(unemp[i, w] == 1, few[i], employed[i])}


def _parenting(st: Streams, fam: pd.DataFrame, par: pd.DataFrame, present: np.ndarray, d: np.ndarray,
               i: np.ndarray, w: np.ndarray, cfg: dict, a: dict, t: Targets) -> dict[str, np.ndarray]:
    """NOSI-K, NOSI competence, PPQ warmth and MPF autonomy, asked of parents with reported children.

    Parenting stress carries the Tabel 4 flag (:func:`_flagged_two_wave`), stress and competence
    follow figures 9 and 10 (:func:`outcomes.two_wave`); warmth and autonomy are stable traits
    (warmth a little lower with more distress) plus wave noise.
    """
    rng = st("parenting")
    group = par["group"].to_numpy()
    kids = par["family_id"].map(fam.set_index("family_id")["n_child_rows"]).to_numpy() > 0
    with_kids = present & kids[:, None]
    stress = _flagged_two_wave(st("nosik"), par, with_kids, d, cfg["parenting_stress"], "nosik", "total", "high",
                               t, "parenting_stress")
    comp = two_wave(group, with_kids, d, cfg["parenting_competence"], st("nosic"))
    n = len(i)
    pw, ma = cfg["ppq_warmth"], cfg["mpf_autonomy"]
    warmth = pw["mean"] + pw["sd"] * (pw["rho"] * d + np.sqrt(1 - pw["rho"] ** 2) * rng.standard_normal(len(par)))
    warmth = np.where(kids, warmth, np.nan)[i] + pw["wave_sd"] * rng.standard_normal(n)
    auto = np.where(kids, ma["mean"] + ma["sd"] * rng.standard_normal(len(par)), np.nan)[i] + ma["wave_sd"] * rng.standard_normal(n)
    return {
        "nosik": _single_scale("nosik", "total", stress[i, w], a["nosik"], rng),
        "nosic": _single_scale("nosic", "total", np.clip(np.round(comp[i, w]), *cfg["parenting_competence"]["range"]), a["nosic"], rng),
        "ppq": _single_scale("ppq", "warmth", np.clip(np.round(warmth), *pw["range"]), a["ppq"], rng),
        "mpf": _single_scale("mpf", "autonomy", np.clip(np.round(7 * auto), 7 * ma["range"][0], 7 * ma["range"][1]), a["mpf"], rng),
    }


def _age(age_exact: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Whole years of age at wave index ``w`` from the exact age at T0 (T1 +12, T2 +18 months)."""
    return np.floor(age_exact + np.array([S.MONTHS[x] for x in WAVES])[w] / 12.0)


def _grade(values: np.ndarray, cfg: dict) -> np.ndarray:
    lo, hi = cfg["range"]
    return np.clip(np.round(values), lo, hi)


def _tune_qol(st: Streams, group: np.ndarray, present: np.ndarray, d: np.ndarray, cfg: dict) -> np.ndarray:
    """Quality-of-life grades whose VV change gives the set interaction eta squared (bisection)."""
    def build(change: float) -> np.ndarray:
        c = dict(cfg, change=dict(cfg["change"], VV=change))
        return _grade(two_wave(group, present, d, c, st("qol")), cfg)

    def eta(grades: np.ndarray) -> float:
        y0, y1, g = analysis_pairs(grades, group)
        return mixed_anova_2x2(y0, y1, g)["interaction"]["np2"]

    lo, hi = 0.0, 3.0
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if eta(build(mid)) < cfg["eta2_interaction"] else (lo, mid)
    return build((lo + hi) / 2)


def _until_ns(build: Any, smallest_p: Any, margin: float, *, tries: int = 50) -> Any:
    """The first of ``build(0)``, ``build(1)``, ... whose group and time effects are not significant.

    Where the report says an outcome neither changed nor differed between the groups, the twin
    draws that outcome's random part again (a new named stream each time) until the smallest p of
    its own checks (:func:`checks.mixed_anova_2x2`, Welch) is at least ``margin`` - it conditions the
    synthetic sample on the reported finding. Gives the last draw after ``tries`` attempts.
    """
    for k in range(tries):
        result = build(k)
        if smallest_p(result) >= margin:
            break
    return result


def _help(rng: np.random.Generator, par: pd.DataFrame, present: np.ndarray, i: np.ndarray, w: np.ndarray,
          cfg: dict) -> dict[str, np.ndarray]:
    """Formal help since the last wave (T1, T2), its usefulness and importance, one graded help type.

    A fixed number of VV and control parents (figure 18) grade one chosen type of help, once, at
    their follow-up wave; VV parents grade Veilig Verder. Grades have the set group means.
    """
    group = par["group"].to_numpy()
    n = len(i)
    formal = (rng.random(n) < np.array([cfg["formal"][g] for g in group[i]])) & (w > 0)
    pct = np.array(cfg["rating_pct"], float) / 100
    useful = np.where(formal, rng.choice(np.arange(1.0, 6.0), size=n, p=pct), np.nan)
    important = np.where(formal, np.clip(useful + rng.choice([-1.0, 0.0, 0.0, 1.0], size=n), 1, 5), np.nan)
    fu = follow_up_index(present)
    has_fu = fu > 0
    graders = np.zeros(len(par), bool)
    for g in ("VV", "control", "cohort"):
        sel = (group == g) & has_fu
        k = cfg["grade_n"].get(g, round(cfg["grade_cohort_share"] * sel.sum()))
        graders |= pick_exact(k, sel.astype(float), rng)
    z = np.zeros(len(par))
    for g in ("VV", "control", "cohort"):
        sel = graders & (group == g)
        x = rng.standard_normal(sel.sum())
        z[sel] = (x - x.mean()) / x.std(ddof=1) if sel.sum() > 1 else 0.0
    grade = np.clip(np.round(np.array([cfg["grade"]["mean"][g] for g in group]) + cfg["grade"]["sd"] * z), 1, 10)
    at = graders[i] & (w == fu[i])
    types = np.array(cfg["types"], dtype=object)
    kind = np.where(group[i] == "VV", "Veilig Verder", types[rng.integers(0, len(types), n)])
    return {
        "help_formal": np.where(w > 0, formal.astype(float), np.nan),
        "help_useful": useful, "help_important": important,
        "help_grade": np.where(at, grade[i], np.nan),
        "help_grade_type": np.where(at, kind, None),
    }


def _ace(st: Streams, par: pd.DataFrame, cfg: dict, a: float) -> np.ndarray:
    """ACE answers per parent: 4-8 adversities for the parents flagged at T0, 0-3 for the others."""
    rng = st("ace")
    flagged = par["risk_ace"].to_numpy()
    count = np.where(flagged, 4 + rng.choice(5, size=len(par), p=_norm(cfg["flagged"])),
                     rng.choice(4, size=len(par), p=_norm(cfg["other"])))
    return _single_scale("ace", "count", count.astype(float), a, rng)


def _help_ns(h: dict, group: np.ndarray, parent: np.ndarray, w: np.ndarray) -> float:
    """Welch p of the groups' satisfaction with formal help (mean of usefulness and importance,
    per parent at the latest wave with both) and of their help grades."""
    frame = pd.DataFrame({"parent": parent, "group": group, "w": w,
                          "sat": (h["help_useful"] + h["help_important"]) / 2, "grade": h["help_grade"]})
    ps = []
    for col in ("sat", "grade"):
        last = frame.dropna(subset=[col]).sort_values(["parent", "w"]).groupby("parent").tail(1)
        a, b = (last.loc[last["group"] == g, col].to_numpy() for g in GROUPS)
        ps.append(stats.ttest_ind(a, b, equal_var=False).pvalue if min(a.size, b.size) > 1 else 1.0)
    return float(np.nan_to_num(min(ps), nan=1.0))


def _drinks_ns(answers: tuple[np.ndarray, np.ndarray], group: np.ndarray) -> float:
    """Smallest p of the time and interaction effects on own and partner drinks a week.

    (The group effect is left to the T0 risk flags: drawing again does not move it much.)
    """
    q1m, q2m = contract.auditc_midpoints()
    m1 = np.array([q1m[k] for k in sorted(q1m)])
    m2 = np.array([q2m[k] for k in sorted(q2m)])
    ps = []
    for x in answers:
        ok = np.isfinite(x[..., 0])
        drinks = np.where(ok, m1[np.nan_to_num(x[..., 0]).astype(int)] * m2[np.nan_to_num(x[..., 1]).astype(int)], np.nan)
        y0, y1, g = analysis_pairs(drinks, group)
        res = mixed_anova_2x2(y0, y1, g)
        ps += [res["time"]["p"], res["interaction"]["p"]]
    return float(np.nan_to_num(min(ps), nan=1.0))


def _drinks(rng: np.random.Generator, par: pd.DataFrame, present: np.ndarray, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """AUDIT-C answers (own, partner) per parent and wave, consistent with the T0 risk flags.

    Three items from one drinking trait per person with item thresholds; the trait of a flagged
    person lies above ``flag_level``, of the others below it, and answers are then nudged so that a
    flagged person drinks more than 8 a week (q1 >= 3 and q2 >= 1), an unflagged one at most 8.
    At a follow-up a share ``stay`` answers as at T0, the others are drawn anew with the same flag.
    """
    q1m, q2m = contract.auditc_midpoints()
    m1 = np.array([q1m[k] for k in sorted(q1m)])
    m2 = np.array([q2m[k] for k in sorted(q2m)])
    out = []
    for who, flag in (("own", par["risk_own_drinks"].to_numpy()), ("partner", par["risk_partner_drinks"].to_numpy())):
        c = cfg[who]
        x = np.full((len(par), 3, 3), np.nan)
        for wv in range(3):
            z = rng.standard_normal(len(par))
            lam = np.where(flag, c["flag_level"] + 0.5 * np.abs(z), np.minimum(c["mean"] + z, c["flag_level"] - 0.3 * np.abs(z)))
            noise = c["noise"] * rng.standard_normal((len(par), 3))
            q = np.stack([np.sum(lam[:, None] + noise[:, [j]] > np.array(th)[None, :], axis=1)
                          for j, th in enumerate(c["thresholds"])], axis=1)
            drinks = m1[q[:, 0]] * m2[q[:, 1]]
            up = flag & (drinks <= 8)
            q[up, 0] = np.maximum(q[up, 0], 3)
            q[up, 1] = np.maximum(q[up, 1], 1)
            down = ~flag & (drinks > 8)
            q[down, 0] = np.minimum(q[down, 0], 2)
            q[down & (q[:, 0] == 2), 1] = np.minimum(q[down & (q[:, 0] == 2), 1], 3)
            x[:, wv] = q
            if wv:
                same = rng.random(len(par)) < cfg["stay"]
                x[same, wv] = x[same, 0]
        x[~present] = np.nan
        out.append(x)
    return out[0], out[1]


def _parent_trauma(st: Streams, par: pd.DataFrame, present: np.ndarray, d: np.ndarray, cfg: dict,
                   t: Targets) -> np.ndarray:
    """Clinical TSI state per parent and wave: Tabel 4 family share at T0, exact transitions after."""
    rng = st("parent_trauma")
    share = {g: t.value(f"t4.parent_trauma.{POP[g]}") for g in POP}
    start = family_quota(par["family_id"].to_numpy(), par["group"].to_numpy(), present[:, 0], d, share, rng)
    return binary_quota(par["group"].to_numpy(), present, start, cfg, rng)


def _tsi(st: Streams, state: np.ndarray, d: np.ndarray, cfg: dict, a: dict) -> np.ndarray:
    """TSI answers: clinical rows reach the cut on at least one clinical scale, the others on none."""
    rng = st("tsi")
    lw = A.ListWriter("tsi", len(state))
    flag = lw.spec.flags["clinical"]
    return _clinical_lists(lw, flag.scales, flag.value, state, d, cfg, a["tsi"], rng,
                           validity=[s for s in lw.spec.scales if s not in flag.scales], a_validity=a["tsi_validity"])


def _clinical_lists(lw: A.ListWriter, clinical: tuple[str, ...], t_cut: float, state: np.ndarray, latent: np.ndarray,
                    cfg: dict, a: float | dict, rng: np.random.Generator, *, validity: list[str], a_validity: float) -> np.ndarray:
    """Answers of a trauma list with T-score norms from a clinical state per row.

    Scale z-scores (in norm SDs) are ``shift + general * latent + rest``; a clinical row gets its
    highest scale raised to just past the cut if none is past it, a non-clinical row has every
    scale held just below (:func:`sampling.raw_bounds`). Validity scales get low scores.
    """
    n = len(state)
    rows = np.isfinite(state)
    k = len(clinical)
    z = cfg["shift"] + cfg["general"] * latent[:, None] + np.sqrt(1 - cfg["general"] ** 2) * rng.standard_normal((n, k))
    raw = np.zeros((n, k))
    below = np.zeros(k)
    above = np.zeros(k)
    for j, s in enumerate(clinical):
        norm = lw.spec.norms[s]
        items = len(lw.spec.scales[s].items)
        raw[:, j] = np.clip(np.round(norm.mean + norm.sd * z[:, j]), 0, lw.spec.max * items)
        below[j], above[j] = raw_bounds(lw.raw_cut(s, t_cut))
    raw = np.minimum(raw, below[None, :])                                 # nobody clinical ...
    top = np.argmax(z, axis=1)
    clin = rows & (state == 1)
    raw[clin, top[clin]] = np.maximum(raw[clin, top[clin]], above[top[clin]] + rng.integers(0, 3, clin.sum()))
    for j, s in enumerate(clinical):                                     # ... except the clinical rows
        items = len(lw.spec.scales[s].items)
        raw[:, j] = np.minimum(raw[:, j], lw.spec.max * items)
        lw.fill(lw.items(s), np.where(rows, raw[:, j], np.nan), _per_scale(a, s), rng)
    for s in validity:
        sc = lw.spec.scales[s]
        if sc.score == "sum":
            lw.fill(lw.items(s), np.where(rows, rng.poisson(2.0, n).astype(float), np.nan), a_validity, rng)
    rest = np.setdiff1d(np.arange(lw.spec.n_items), np.concatenate([lw.items(s) for s in lw.spec.scales]))
    if rest.size:
        lw.fill(rest, np.where(rows, rng.poisson(rest.size * 0.5, n).astype(float), np.nan), a_validity, rng)
    return lw.answers()


def _flagged_two_wave(rng: np.random.Generator, par: pd.DataFrame, elig: np.ndarray, latent: np.ndarray, cfg: dict,
                      instrument: str, scale: str, flag_name: str, t: Targets, target_key: str) -> np.ndarray:
    """Raw scale scores per unit and wave whose T0 flag holds in the Tabel 4 share of families.

    The T0 group means put the unit share that yields the family share past the cut (normal
    scores), :func:`outcomes.family_quota` picks the flagged families and :func:`outcomes.enforce_cut`
    moves T0 scores across the cut where needed; later waves move along (the changes are kept).
    """
    spec = A.ListWriter(instrument, 0).spec
    flag = spec.flags[flag_name]
    cut = spec.norms[scale].mean + spec.norms[scale].sd * (flag.value - 50) / 10 if flag.metric == "t" else flag.value
    below, above = raw_bounds(cut)
    group = par["group"].to_numpy()
    family = par["family_id"].to_numpy()
    share = {g: t.value(f"t4.{target_key}.{POP[g]}") for g in POP}
    sd = {g: cfg["sd"][g] if isinstance(cfg["sd"], dict) else cfg["sd"] for g in POP}
    means = {g: _flag_mean(cut, sd[g], share[g], family[(group == g) & elig[:, 0]], high=True) for g in POP}
    traj = two_wave(group, elig, latent, dict(cfg, mean=means), rng)
    flagged = family_quota(family, group, elig[:, 0], traj[:, 0], share, rng)
    new0 = enforce_cut(traj[:, 0], flagged & elig[:, 0], low_max=below, high_min=above, spread=min(sd.values()) / 4, rng=rng)
    new0 = np.where(flagged, np.ceil(new0), np.floor(new0))
    traj = traj + (new0 - traj[:, 0])[:, None]
    lo, hi = cfg["range"]
    traj[:, 1:] = np.round(traj[:, 1:])
    return np.clip(traj, lo, hi)


def _flag_mean(cut: float, sd: float, family_share: float, families: np.ndarray, *, high: bool) -> float:
    """Group mean that puts the unit share past ``cut`` at which ``family_share`` % of families have one.

    The unit share ``q`` solves mean over families of ``1 - (1 - q) ** size = share`` (bisection);
    then ``mean = cut + sd * Phi^-1(q)`` for flags at or above the cut (``-`` for flags below it).
    """
    sizes = pd.Series(families).value_counts().to_numpy(float) if len(families) else np.ones(1)
    lo, hi = 0.0, 1.0
    for _ in range(40):
        q = (lo + hi) / 2
        lo, hi = (q, hi) if np.mean(1 - (1 - q) ** sizes) < family_share / 100 else (lo, q)
    z = stats.norm.ppf(min(max((lo + hi) / 2, 1e-4), 1 - 1e-4))
    return cut + sd * z if high else cut - sd * z


def _single_scale(instrument: str, scale: str, target: np.ndarray, a: float, rng: np.random.Generator) -> np.ndarray:
    """Answers of a one-scale list whose scale sum (mean x items for mean scales) is ``target``."""
    lw = A.ListWriter(instrument, len(target))
    lw.fill(lw.items(scale), target, a, rng)
    return lw.answers()


# ------------------------------------------------------------------------------------ children
def _children_table(st: Streams, fam: pd.DataFrame, par: pd.DataFrame, ch: pd.DataFrame, lat: dict, vio: dict,
                    p: dict, t: Targets) -> pd.DataFrame:
    cfg = p["children"]
    ans = p["answers"]
    present = _present(ch)
    group = ch["group"].to_numpy()
    family = ch["family_id"].to_numpy()
    c = lat["child"]
    ages = np.column_stack([S.wave_age(ch["age_exact"], wv) for wv in WAVES])
    self_ = ch[["self_T0", "self_T1", "self_T2"]].to_numpy()
    rows = np.argwhere(present)
    i, w = rows[:, 0], rows[:, 1]
    n = len(rows)
    young = (ages >= 3) & (ages <= 12)
    out = {
        "child_id": ch["child_id"].to_numpy()[i], "family_id": family[i], "wave": np.array(WAVES)[w],
        "reporting_parent_id": np.stack([ch[f"reporter_{wv}"].to_numpy() for wv in WAVES], axis=1)[i, w],
        "age_years": ages[i, w], "sex": ch["sex"].to_numpy()[i], "self_report": self_[i, w].astype(float),
    }
    items: dict[str, np.ndarray] = {}
    # CTSPC (parent report) and the child's own CTSPC with witnessing
    rng = st("ctspc")
    wv_ = vio["child"][i, w]
    disc = ans["ctspc"]["discipline_mean"] * np.exp(0.6 * rng.standard_normal(n) - 0.18)
    items["ctspc"] = A.cts_items("ctspc", {"violence": wv_, "nonviolent_discipline": disc}, ans["ctspc"], rng)
    selfrow = self_[i, w]
    partner_fam = vio["partner_family"].reindex(family[i]).to_numpy()[np.arange(n), w]
    own = np.where(selfrow, wv_ * np.exp(0.4 * rng.standard_normal(n)), np.nan)
    witness = np.where(selfrow, ans["ctspcc"]["witnessing_share"] * np.nan_to_num(partner_fam) * np.exp(0.5 * rng.standard_normal(n)), np.nan)
    disc_c = np.where(selfrow, ans["ctspcc"]["discipline_mean"] * np.exp(0.6 * rng.standard_normal(n) - 0.18), np.nan)
    items["ctspcc"] = A.cts_items("ctspcc", {"violence": own, "witnessing": witness, "nonviolent_discipline": disc_c},
                                  ans["ctspcc"], rng)
    # trauma: clinical state (TSCYC for parent reports aged 3-12, TSCC for self-reports)
    rng = st("child_trauma")
    elig_tr = present & (self_ | young)
    share = {g: t.value(f"t4.child_trauma.{POP[g]}") for g in POP}
    start = family_quota(family, group, elig_tr[:, 0], c, share, rng)
    state = binary_quota(group, elig_tr, start, cfg["child_trauma"], rng)
    st_rows = state[i, w]
    lw = A.ListWriter("tscyc", n)
    flag = lw.spec.flags["clinical"]
    parent_rows = np.where(young[i, w], np.nan_to_num(st_rows, nan=0.0), np.nan)
    items["tscyc"] = _clinical_lists(lw, flag.scales, flag.value, parent_rows, c[i], cfg["trauma_scales"], ans["a"]["tscyc"],
                                     rng, validity=[s for s in lw.spec.scales if s not in flag.scales], a_validity=1.0)
    lw = A.ListWriter("tscc", n)
    flag = lw.spec.flags["clinical"]
    self_rows = np.where(selfrow, np.nan_to_num(st_rows, nan=0.0), np.nan)
    items["tscc"] = _clinical_lists(lw, flag.scales, flag.value, self_rows, c[i], cfg["trauma_scales"], ans["a"]["tscc"],
                                    rng, validity=[], a_validity=1.0)
    # emotional insecurity (SIMS-PR for parent reports aged 3-12, SIS for self-reports)
    rng = st("insecurity")
    elig_in = present & (self_ | young)
    insec = _insecurity(rng, ch, elig_in, c, cfg["insecurity"], t)
    items["simspr"] = _insecurity_items("simspr", np.where(young[i, w], insec[i, w], np.nan), ans["a"]["simspr"], rng)
    items["sis"] = _insecurity_items("sis", np.where(selfrow, insec[i, w], np.nan), ans["a"]["sis"], rng,
                                     other_a=ans["a"]["sis_other"])
    # attachment security: parent about the child (all), child about mother and father (self-reports)
    rng = st("security")
    items.update(_security(rng, ch, present, c, cfg["security"], t, i, w, selfrow, ans["a"]))
    # quality of life: KIDSCREEN (self-reports)
    rng = st("kidscreen")
    qt = two_wave(group, self_, c, cfg["qol_t"], rng)
    items["kid"] = _kidscreen(np.where(selfrow, qt[i, w], np.nan), ans["a"]["kid"], rng)
    frame = pd.DataFrame(out)
    return _with_items(frame, "children", items)


def _insecurity(rng: np.random.Generator, ch: pd.DataFrame, elig: np.ndarray, c: np.ndarray, cfg: dict,
                t: Targets) -> np.ndarray:
    """Emotional-insecurity scores (sum of four subscale means) with the Tabel 4 family share flagged at T0."""
    spec = A.ListWriter("simspr", 0).spec
    norm, flag = spec.norms["insecurity"], spec.flags["insecure"]
    cut = norm.mean + flag.norm_sd * norm.sd
    group = ch["group"].to_numpy()
    family = ch["family_id"].to_numpy()
    share = {g: t.value(f"t4.emotional_insecurity.{POP[g]}") for g in POP}
    means = {g: _flag_mean(cut, cfg["sd"], share[g], family[(group == g) & elig[:, 0]], high=True) for g in POP}
    traj = two_wave(group, elig, c, dict(cfg, mean=means), rng)
    flagged = family_quota(family, group, elig[:, 0], traj[:, 0], share, rng)
    new0 = enforce_cut(traj[:, 0], flagged & elig[:, 0], low_max=cut - 0.3, high_min=cut + 0.3, spread=0.8, rng=rng)
    traj = traj + (new0 - traj[:, 0])[:, None]
    traj[:, 0] = np.where(elig[:, 0], np.where(flagged, np.maximum(traj[:, 0], cut + 0.3), np.minimum(traj[:, 0], cut - 0.3)), np.nan)
    return traj


def _insecurity_items(instrument: str, target: np.ndarray, a: float | dict, rng: np.random.Generator, *,
                      other_a: float | None = None) -> np.ndarray:
    """SIMS-PR / SIS answers whose four subscale means add up to ``target`` (to 0.05 or better)."""
    lw = A.ListWriter(instrument, len(target))
    parts = lw.spec.scales["insecurity"].of
    lo, hi = lw.spec.min, lw.spec.max
    target = np.clip(target, 4 * lo + 0.2, 4 * hi - 0.2)
    dev = 0.35 * rng.standard_normal((len(target), len(parts)))
    dev -= dev.mean(axis=1, keepdims=True)
    for j, s in enumerate(parts):
        k = len(lw.spec.scales[s].items)
        m = np.clip(target / len(parts) + dev[:, j], lo, hi)
        lw.fill(lw.items(s), np.round(m * k), _per_scale(a, s), rng)
    if other_a is not None:
        for s, sc in lw.spec.scales.items():
            if s not in parts and sc.score != "composite":
                k = len(sc.items)
                sign = -1.0 if s.startswith("constructive") else 1.0
                m = np.clip(2.5 + sign * 0.25 * (target - 10) + 0.4 * rng.standard_normal(len(target)), lo, hi)
                lw.fill(lw.items(s), np.round(m * k), other_a, rng)
    return lw.answers()


def _security(rng: np.random.Generator, ch: pd.DataFrame, present: np.ndarray, c: np.ndarray, cfg: dict, t: Targets,
              i: np.ndarray, w: np.ndarray, selfrow: np.ndarray, a: dict) -> dict[str, np.ndarray]:
    """Security Scale answers; insecure attachment at T0 holds in the Tabel 4 share of families.

    One security trait per child (lower with more distress) that drifts between waves; each list
    turns it into a mean score around the group mean that puts the right share below the list's
    cut (:func:`_flag_mean`), and at T0 the flagged children are moved below every list's cut and
    the others above it (:func:`outcomes.enforce_cut`, mirrored).
    """
    group = ch["group"].to_numpy()
    family = ch["family_id"].to_numpy()
    share = {g: t.value(f"t4.insecure_attachment.{POP[g]}") for g in POP}
    flagged = family_quota(family, group, present[:, 0], -c, share, rng)
    z0 = cfg["rho"] * c + np.sqrt(1 - cfg["rho"] ** 2) * rng.standard_normal(len(c))
    zw = z0[:, None] + cfg["change_sd"] / cfg["sd"] * rng.standard_normal((len(c), 3)) * np.array([0, 1, 1])
    out = {}
    for name, rows_ok in (("secp", np.ones(len(i), bool)), ("secm", selfrow), ("secf", selfrow)):
        lw = A.ListWriter(name, len(i))
        norm, flag = lw.spec.norms["security"], lw.spec.flags["insecure"]
        cut = norm.mean + flag.norm_sd * norm.sd
        k = len(lw.spec.scales["security"].items)
        by_group = {g: _flag_mean(cut, cfg["sd"], share[g], family[(group == g) & present[:, 0]], high=False) for g in POP}
        raw = k * (np.array([by_group[g] for g in group])[:, None] + cfg["sd"] * zw)
        below, above = raw_bounds(cut * k)
        t0 = -enforce_cut(-raw[:, 0], flagged, low_max=-above, high_min=-below, spread=k * cfg["sd"] / 3, rng=rng)
        raw[:, 0] = np.where(flagged, np.floor(t0), np.ceil(t0))
        raw[:, 1:] = np.round(raw[:, 1:])
        raw = np.clip(raw, k * lw.spec.min, k * lw.spec.max)
        lw.fill(lw.items("security"), np.where(rows_ok, raw[i, w], np.nan), a[name], rng)
        out[name] = lw.answers()
    return out


def _kidscreen(t_score: np.ndarray, a: float, rng: np.random.Generator) -> np.ndarray:
    """KIDSCREEN-27 answers: the KIDSCREEN-10 index items give the wanted T-score, the others follow."""
    lw = A.ListWriter("kid", len(t_score))
    norm = lw.spec.norms["kidscreen10"]
    idx = lw.items("kidscreen10")
    k = len(idx)
    raw = np.clip(np.round(norm.mean + norm.sd * (t_score - 50) / 10), k * lw.spec.min, k * lw.spec.max)
    lw.fill(idx, raw, a, rng)
    rest = np.setdiff1d(np.arange(lw.spec.n_items), idx)
    per_item = raw / k + 0.3 * rng.standard_normal(len(raw))
    lw.fill(rest, np.round(per_item * rest.size), a, rng)
    return lw.answers()


# ------------------------------------------------------------------------------------ assembly
def _present(units: pd.DataFrame) -> np.ndarray:
    return units[[f"in_{wv}" for wv in WAVES]].to_numpy(bool)


def _with_items(frame: pd.DataFrame, table: str, items: dict[str, np.ndarray]) -> pd.DataFrame:
    """Append the item matrices as contract columns (all-NaN for lists not given)."""
    blocks = []
    for prefix in contract.item_prefixes(table):
        cols = contract.item_columns(prefix)
        x = items.get(prefix)
        x = np.full((len(frame), len(cols)), np.nan) if x is None else np.asarray(x, float)
        blocks.append(pd.DataFrame(x, columns=cols, index=frame.index))
    return pd.concat([frame, *blocks], axis=1)


def _contract_order(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Codebook column order, every column present, rows sorted by the table key."""
    spec = contract.table_spec(table)
    cols = list(spec["columns"]) + [c for pre in contract.item_prefixes(table) for c in contract.item_columns(pre)]
    for c in cols:
        if c not in frame.columns:
            frame[c] = np.nan
    return frame[cols].sort_values(spec["key"], kind="stable").reset_index(drop=True)


def _per_scale(a: float | dict, scale: str) -> float:
    """A discrimination given per list (a number) or per scale (a mapping)."""
    return float(a[scale]) if isinstance(a, dict) else float(a)


def _norm(w: Any) -> np.ndarray:
    w = np.asarray(w, float)
    return w / w.sum()
