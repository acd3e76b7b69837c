"""Who is in the synthetic twin: families, parents and children, their background and attendance.

Families of the VV and control groups are built from explicit family types (``params.yml``
``composition``) so that Tabel 2 holds exactly and the children-over-3 shares of Tabel 3 hold to
the printed parent counts; cohort families are drawn at random. Parent background at T0 follows
the Tabel 3 shares as exact quotas (largest-remainder rounding of share x n), and the seven risk
factors of the cumulative-risk rule (report ch. 3.3.1) are placed so that the Tabel 4 shares of
families with cumulative risk and with a parent with 4 or more ACEs hold as well.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from veiligverder.contract.claims import Targets
from veiligverder.synthetic.sampling import Streams, pick_exact, quota_assign, quota_counts
from veiligverder.vocab import GROUPS, WAVES

MONTHS = {"T0": 0, "T1": 12, "T2": 18}           # report: T1 one year, T2 18 months after T0
AGE_BANDS = {"<25": (19, 24), "25-34": (25, 34), "35-44": (35, 44), "45-54": (45, 54), ">55": (55, 60)}
INCOME = {"<1500": "lt1500", "1500-3100": "1500_3100", ">3100": "gt3100"}
ALL_GROUPS = (*GROUPS, "cohort")  # the design groups and the rest of the cohort
POPULATION = {"VV": "VV", "control": "control", "cohort": "population"}


def families_frame(streams: Streams, p: dict[str, Any]) -> pd.DataFrame:
    """One row per family: id, group, region, number of parents, children over 3, reported children."""
    rng = streams("families")
    rows = [(g, n_par, over3, n_rows)
            for g in GROUPS for count, n_par, over3, n_rows in p["composition"][g] for _ in range(count)]
    co = p["cohort"]
    n = co["families"]
    n_par = 1 + (rng.random(n) < co["two_parent_share"])
    over3 = rng.choice(len(co["children_over3"]), size=n, p=_norm(co["children_over3"]))
    young = rng.random(n) < co["young_child_share"]                   # a reported child of 3
    rows += [("cohort", int(a), int(b), int(c)) for a, b, c in zip(n_par, over3, np.minimum(over3 + young, 2))]
    fam = pd.DataFrame(rows, columns=["group", "n_parents", "n_children_over3", "n_child_rows"])
    plus = fam["n_children_over3"].astype(str) == "3+"
    fam.loc[plus, "n_children_over3"] = rng.choice([3, 4, 5], size=int(plus.sum()), p=[0.7, 0.2, 0.1])
    fam["n_children_over3"] = fam["n_children_over3"].astype(int)
    prefix = fam["group"].map({"VV": "VV", "control": "CT", "cohort": "CH"})
    fam["family_id"] = prefix + (fam.groupby("group").cumcount() + 1).map("{:04d}".format)
    fam["region"] = np.where(fam["group"] == "VV", p["vv_region"], rng.choice(np.array(p["regions"], dtype=object), size=len(fam)))
    return fam


def parents_frame(streams: Streams, fam: pd.DataFrame, p: dict[str, Any], t: Targets) -> pd.DataFrame:
    """One row per parent: sex, exact age at T0 and attendance per wave (``in_T0``, ``in_T1``, ``in_T2``)."""
    rng = streams("parents")
    par = fam.loc[fam.index.repeat(fam["n_parents"]), ["family_id", "group", "n_parents"]].reset_index(drop=True)
    par["slot"] = par.groupby("family_id").cumcount() + 1
    par["parent_id"] = par["family_id"] + "-P" + par["slot"].astype(str)
    # two-parent families: a mother and a father; single parents: mothers except a quota of fathers
    sex = np.where(par["slot"] == 2, "male", "female").astype(object)
    for g in ALL_GROUPS:
        sel = (par["group"] == g).to_numpy()
        male = p["cohort"]["male_share"] * 100 if g == "cohort" else t.value(f"t3.male.{g}")
        n_male = quota_counts({"male": male, "female": 100 - male}, int(sel.sum()))["male"]
        n_single_male = n_male - int((sel & (par["slot"] == 2).to_numpy()).sum())
        sex[pick_exact(n_single_male, (sel & (par["n_parents"] == 1).to_numpy()).astype(float), rng)] = "male"
    par["sex"] = sex
    # age: band by quota, year within the band at random, plus a fraction of a year
    age = np.zeros(len(par))
    for g in ALL_GROUPS:
        sel = (par["group"] == g).to_numpy()
        shares = p["cohort"]["age_pct"] if g == "cohort" else {b: t.value(f"t3.age.{b}.{g}") for b in AGE_BANDS}
        bands = quota_assign(shares, int(sel.sum()), rng)
        lo = np.array([AGE_BANDS[b][0] for b in bands])
        hi = np.array([AGE_BANDS[b][1] for b in bands])
        age[sel] = lo + np.floor(rng.random(sel.sum()) * (hi - lo + 1))
    par["age_exact"] = age + rng.random(len(par))
    # attendance: everyone at T0; follow-ups with a family-level and a parent-level drop-out
    u_f = pd.DataFrame(rng.random((len(fam), 2)), index=fam["family_id"]).loc[par["family_id"]].to_numpy()
    u_p = rng.random((len(par), 2))
    par["in_T0"] = True
    for g, a in p["attendance"].items():
        sel = (par["group"] == g).to_numpy()
        t1 = (u_f[:, 0] < a["T1"]) & (u_p[:, 0] >= a["extra_parent_dropout"])
        t2 = (u_f[:, 1] < np.where(t1, a["T2_given_T1"], a["T2_given_no_T1"])) & (u_p[:, 1] >= a["extra_parent_dropout"])
        par.loc[sel, "in_T1"] = t1[sel]
        par.loc[sel, "in_T2"] = t2[sel]
    par[["in_T1", "in_T2"]] = par[["in_T1", "in_T2"]].astype(bool)
    return par


def children_frame(streams: Streams, fam: pd.DataFrame, par: pd.DataFrame, p: dict[str, Any], t: Targets) -> pd.DataFrame:
    """One row per reported child: sex, exact age at T0, self-report per wave, attendance, reporter."""
    rng = streams("children")
    ch = fam.loc[fam.index.repeat(fam["n_child_rows"]), ["family_id", "group", "n_children_over3"]].reset_index(drop=True)
    ch["slot"] = ch.groupby("family_id").cumcount() + 1
    ch["child_id"] = ch["family_id"] + "-C" + ch["slot"].astype(str)
    three = (((ch["n_children_over3"] <= 1) & (ch["slot"] == 2)) | (ch["n_children_over3"] == 0)).to_numpy()
    ages = rng.choice(np.arange(4, 17), size=len(ch), p=_norm(p["child_age_weights"])).astype(float)
    ages[three] = 3
    sex = np.where(rng.random(len(ch)) < 0.5, "girl", "boy").astype(object)
    self0 = np.zeros(len(ch), bool)
    for g in GROUPS:
        sel = (ch["group"] == g).to_numpy()
        girls = t.value(f"t3.girls.{g}")
        sex[sel] = quota_assign({"girl": girls, "boy": 100 - girls}, int(sel.sum()), rng)
        ages[sel] = _match_mean_age(ages[sel], t.value(f"t3.child_age.{g}"), ~three[sel], rng)
        weights = np.where(sel & (ages >= 8), ages - 6.0, 0.0)
        self0 |= pick_exact(t.value(f"t2.{g}.children_self_report"), weights, rng)
    co = (ch["group"] == "cohort").to_numpy() & (ages >= 8)
    self0 |= co & (rng.random(len(ch)) < p["cohort"]["self_report_share_8plus"])
    ch["sex"] = sex
    ch["age_exact"] = ages + rng.random(len(ch))
    # a child row exists at a wave when a parent of the family answers then; the reporting parent
    # is parent 1 when present, else parent 2; self-reporters may skip their own lists later
    keep_self = rng.random((len(ch), 2)) < p["self_report_retention"]
    for i, w in enumerate(WAVES):
        slot = ch["family_id"].map(par.loc[par[f"in_{w}"]].groupby("family_id")["slot"].min())
        ch[f"in_{w}"] = slot.notna().to_numpy()
        ch[f"reporter_{w}"] = np.where(slot.notna(), ch["family_id"] + "-P" + slot.fillna(0).astype(int).astype(str), None)
        ch[f"self_{w}"] = self0 & ch[f"in_{w}"].to_numpy() & (True if i == 0 else keep_self[:, i - 1])
    return ch


def background(streams: Streams, fam: pd.DataFrame, par: pd.DataFrame, p: dict[str, Any], t: Targets) -> pd.DataFrame:
    """Migration, education, income, paid work, single parenthood and the risk flags at T0.

    Adds to ``par``: ``migration``, ``education``, ``income0``, ``unemployed0``, ``single_parent``,
    ``psych_problems``, and the risk flags ``risk_ace`` (4+ ACEs), ``risk_own_drinks``,
    ``risk_partner_drinks`` (more than 8 drinks a week). Rule per group: first the families with
    cumulative risk (Tabel 4 share, single-parent families only) get one parent with low income,
    no paid work, single parenthood, a drinking partner and one more factor (4+ ACEs while the
    ACE quota lasts, else primary education, else own drinking); the remaining quotas go to the
    other parents at random, and free factors are dropped where a parent would reach the threshold.
    """
    rng = streams("background")
    b = p["risk"]
    par = par.copy()
    cols = {c: np.zeros(len(par), bool) for c in ("low", "unemp", "primary", "ace", "single", "own", "partner")}
    migration = np.empty(len(par), dtype=object)
    education = np.empty(len(par), dtype=object)
    upper_income = np.empty(len(par), dtype=object)
    cum_all = np.zeros(len(par), bool)
    for g in ALL_GROUPS:
        sel = (par["group"] == g).to_numpy()
        n = int(sel.sum())
        pop = POPULATION[g]
        if g == "cohort":
            co = p["cohort"]
            mig, edu, inc, work = co["migration_pct"], co["education_pct"], co["income_pct"], co["work_over_12h_pct"]
        else:
            mig = {k: t.value(f"t3.migration.{k}.{g}") for k in ("dutch", "antillean", "moroccan", "surinamese", "other")}
            edu = {k: t.value(f"t3.education.{k}.{g}") for k in ("primary", "mavo_lbo", "havo_vwo_mbo", "hbo_wo", "other")}
            inc = {k: t.value(f"t3.income.{k}.{g}") for k in INCOME}
            work = t.value(f"t3.work_over_12h.{g}")
        migration[sel] = quota_assign(mig, n, rng)
        n_edu = quota_counts(edu, n)
        n_inc = quota_counts(inc, n)
        n_unemp = quota_counts({"no": work, "yes": 100 - work}, n)["yes"]
        fams = fam.loc[fam["group"] == g]
        n_fam = len(fams)
        k_cum = quota_counts({"y": t.value(f"t4.cumulative_risk.{pop}"), "n": 100 - t.value(f"t4.cumulative_risk.{pop}")}, n_fam)["y"]
        k_ace = quota_counts({"y": t.value(f"t4.childhood_trauma.{pop}"), "n": 100 - t.value(f"t4.childhood_trauma.{pop}")}, n_fam)["y"]
        first = sel & (par["slot"] == 1).to_numpy()
        single_row = (par["n_parents"] == 1).to_numpy()
        cum = pick_exact(k_cum, (first & single_row).astype(float), rng)
        cum_all |= cum
        # the cumulative-risk parents
        for c in ("low", "unemp", "single", "partner"):
            cols[c] |= cum
        ace_c = cum & pick_exact(min(k_ace, round(b["ace_share_in_cumulative"] * k_cum)), cum.astype(float), rng)
        cols["ace"] |= ace_c
        need = cum & ~ace_c
        prim_c = pick_exact(min(n_edu["primary"], int(need.sum())), need.astype(float), rng)
        cols["primary"] |= prim_c
        cols["own"] |= need & ~prim_c
        # the other parents: the rest of the quotas at random
        other = sel & ~cum
        cols["low"] |= pick_exact(n_inc["<1500"] - k_cum, other.astype(float), rng)
        cols["unemp"] |= pick_exact(n_unemp - k_cum, other.astype(float), rng)
        cols["primary"] |= pick_exact(n_edu["primary"] - int(prim_c.sum()), other.astype(float), rng)
        cols["ace"] |= pick_exact(k_ace - int(ace_c.sum()), (first & ~cum).astype(float), rng)
        cols["single"] |= other & single_row & (rng.random(len(par)) < b["single_parent_share"])
        cols["partner"] |= other & (rng.random(len(par)) < b["partner_drinks_share"][g])
        cols["own"] |= other & (rng.random(len(par)) < b["own_drinks_share"][g])
        # education and income categories beyond the risk flags
        rest_edu = {k: v for k, v in n_edu.items() if k != "primary"}
        education[sel & cols["primary"]] = "primary"
        education[sel & ~cols["primary"]] = rng.permutation(np.repeat(list(rest_edu), list(rest_edu.values())))
        upper = {k: v for k, v in n_inc.items() if k != "<1500"}
        upper_income[sel & ~cols["low"]] = rng.permutation(np.repeat([INCOME[k] for k in upper], list(upper.values())))
    # cap: parents outside the cumulative-risk quota stay below the threshold (drop free factors)
    count = sum(cols[c].astype(int) for c in cols)
    for c in ("partner", "own", "single"):
        over = (count >= b["threshold"]) & ~cum_all
        drop = over & cols[c]
        cols[c] &= ~drop
        count -= drop.astype(int)
    par["migration"] = migration
    par["education"] = education
    par["income0"] = np.where(cols["low"], "lt1500", upper_income)
    par["unemployed0"] = cols["unemp"]
    par["single_parent"] = cols["single"].astype(float)
    par["risk_ace"] = cols["ace"]
    par["risk_own_drinks"] = cols["own"]
    par["risk_partner_drinks"] = cols["partner"]
    psych = np.zeros(len(par), bool)
    for g in ALL_GROUPS:
        sel = (par["group"] == g).to_numpy()
        psych |= pick_exact(round(b["psych_problems_share"][g] * sel.sum()), sel.astype(float), rng)
    par["psych_problems"] = psych.astype(float)
    par["cumulative_risk0"] = cum_all
    return par


def wave_age(age_exact: np.ndarray, wave: str) -> np.ndarray:
    """Whole years of age at a wave from the exact age at T0 (T1 +12, T2 +18 months)."""
    return np.floor(np.asarray(age_exact, float) + MONTHS[wave] / 12.0)


def _match_mean_age(ages: np.ndarray, target_mean: float, movable: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move single years of randomly chosen children until the ages add up to ``round(mean * n)`` (4-16)."""
    ages = ages.copy()
    diff = int(round(target_mean * ages.size - ages.sum()))
    step = int(np.sign(diff))
    while diff != 0:
        ok = movable & ((ages < 16) if step > 0 else (ages > 4))
        take = pick_exact(min(abs(diff), int(ok.sum())), ok.astype(float), rng)
        if not take.any():
            break
        ages[take] += step
        diff -= step * int(take.sum())
    return ages


def _norm(w: Any) -> np.ndarray:
    w = np.asarray(w, float)
    return w / w.sum()
