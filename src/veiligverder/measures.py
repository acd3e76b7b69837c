"""The contract's derived measures per parent, child and family and wave (CONTRACT §2).

One call, :func:`derive`, scores every instrument (:mod:`veiligverder.instruments`) and turns the
scale scores and background columns into tidy frames. 0/1 measures are float 0.0/1.0 with NaN for
missing. The rules, with their sources:

Parents (one row per ``parent_id`` x ``wave``)
    ``violence_partner``
        CTS2 incidents over the 33 non-negotiation items of the own acts (``cts2s``) plus the 33
        of the partner's acts (``cts2p``); answer codes -> incidents by ``blocks.cts_frequency``;
        each half missing when fewer than 80 % of its 33 items are answered (else unanswered = 0);
        the sum missing when either half is (CONTRACT §2). ``violence_own`` and
        ``violence_by_partner`` are the halves.
    ``partner_mild``
        The same over the 14 mild items of each prefix.
    ``partner_severe``
        1 when any answered severe item of either prefix has answer code >= 3, else 0 (also when
        none is answered).
    ``drinks_own``, ``drinks_partner``
        AUDIT-C drinks per week: q1 occasions midpoint x q2 drinks midpoint (``blocks.auditc``);
        0 when q1 is 'never' (q2 is then skipped); missing otherwise when q1 or q2 is missing.
    ``risky_drinking_own``, ``risky_drinking_partner``
        drinks > 8 a week (report ch. 3.3.1). ``low_income``: income == ``lt1500``.
        ``unemployment``: work_hours < 12. ``low_education``: education == ``primary``.
        ``single_parent``: as given.
    ``ace_count``, ``ace4``
        Sum of the 10 ACE items (80 % rule), and ace_count >= 4.
    ``safety_grade``, ``qol_parent`` (= ``qol_grade``), ``help_grade``
        The items as they are.
    ``help_satisfaction``, ``help_satisfied``
        Mean of ``help_useful`` and ``help_important`` (1-5; missing unless both are answered),
        the report's 'combination of usefulness and importance' (ch. 5.6); satisfied = mean >= 4,
        i.e. on average at least 'useful'/'important' (project rule; the report gives none).
    ``parenting_stress``, ``parenting_stress_high``
        NOSI-K total (25-150; report normal-population mean 40.4, figure 9) and the Tabel 4 flag
        total >= norm mean + 1 SD (T >= 60, spec ``nosik.yml``).
    ``parenting_competence``
        NOSI competence total, higher = less competent.
    ``parent_trauma``
        TSI T >= 65 on at least one of the ten clinical scales (spec ``tsi.yml``); missing when no
        clinical scale could be scored.
    ``risk_count``, ``risk_known``, ``cumulative_risk``
        The seven risk factors of the report (ch. 3.3.1): ``ace4``, ``low_income``,
        ``unemployment``, ``risky_drinking_own``, ``risky_drinking_partner``, ``low_education``,
        ``single_parent``. ``risk_count`` counts the factors present among the known ones
        (``risk_known``; missing when none is known); ``cumulative_risk`` = risk_count >=
        ``cumulation_threshold`` (default 5, as printed in the report).
    ``ppq_warmth``, ``mpf_autonomy``, ``mansa_satisfaction``
        Further scale scores (spec files).

Children (one row per ``child_id`` x ``wave``)
    ``violence_child_direct``, ``child_mild``, ``child_severe``
        Parent report (``ctspc``): incidents over items 05-27 (psychological aggression, physical,
        neglect; 80 % rule), over the 15 mild items, and any answered severe item with code >= 3.
        ``violence_child_direct_self`` and ``witnessing`` are the child's own report (``ctspcc``).
    ``child_trauma``
        Self-report (``self_report`` == 1): TSCC T >= 65 on any clinical scale; otherwise the
        parent report: TSCYC T >= 70 on any clinical scale. No fallback to the other list.
    ``emotional_insecurity``, ``emotional_insecure``
        Self-report: SIS, otherwise SIMS-PR; the score is the sum of four subscale means
        (normal-population mean 8.4, report figure 8); insecure = score >= mean + 2 SD.
    ``attachment_insecure``
        Self-report: insecure towards the mother or the father (Security Scale ``secm``/``secf``
        mean <= norm mean - 1 SD; a missing one is ignored); otherwise the parent's ``secp``.
    ``qol_child``
        KIDSCREEN-10 T-score, self-reports only (missing for parent-reported children).

Families (one row per ``family_id`` x ``wave`` with a parent or child row at that wave)
    ``violence_partner``
        Mean over the family's parents with a value. ``violence_child_direct``: sum over the
        children with a value, 0 when none has one. ``violence_total``: the two added, missing
        when the partner value is missing.
    ``violence_category``
        Partner part from ``partner_mild`` (mean over parents with a value) and
        ``any_partner_severe``: none < 4 mild and no severe; mild 4 to < 22; severe >= 22 or any
        severe. Child part from ``child_mild`` (sum over children, 0 without child data) and
        ``any_child_severe``: none 0; mild > 0 and < 3; severe >= 3 or any severe. The family
        takes the worse; missing when the partner mild mean is missing (CONTRACT §2).
    Tabel 4 flags (report Tabel 4, 'share of families with ...'; see ``TABLE4_FLAGS``)
        ``any_child_emotional_insecure``, ``any_child_insecure_attachment``,
        ``any_parent_parenting_stress``, ``any_child_traumatised``, ``any_parent_traumatised``,
        ``any_parent_cumulative_risk``, ``any_parent_ace4``: 1 when at least one member has the
        0/1 measure at 1, 0 when at least one member has it known and none at 1, missing when
        no member has it known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligverder.instruments import keys_in_force, score_table
from veiligverder.vocab import CATEGORIES

RISK_FACTORS = ("ace4", "low_income", "unemployment", "risky_drinking_own", "risky_drinking_partner",
                "low_education", "single_parent")
PARTNER_MILD_CUTS = (4.0, 22.0)   # none < 4 <= mild < 22 <= severe (report ch. 3.3.1)
CHILD_MILD_CUTS = (1.0, 3.0)      # none 0, mild 1-2, severe >= 3
RISKY_DRINKS_PER_WEEK = 8.0       # risky = more than 8 drinks a week (applied in the AUDIT-C specs)
WORK_HOURS_CUT = 12.0             # unemployment = fewer than 12 paid hours a week
HELP_SATISFIED_CUT = 4.0
TABLE4_FLAGS = {  # report_facts.yml table4_baseline_problems.families_pct -> families column
    "child_emotional_insecurity": "any_child_emotional_insecure",
    "child_insecure_attachment": "any_child_insecure_attachment",
    "parenting_stress": "any_parent_parenting_stress",
    "traumatised_children": "any_child_traumatised",
    "traumatised_parents": "any_parent_traumatised",
    "cumulative_risk": "any_parent_cumulative_risk",
    "parents_with_childhood_trauma": "any_parent_ace4",
}
REQUIRED = {
    "families": ["family_id", "group"],
    "parents": ["parent_id", "family_id", "wave", "income", "work_hours", "education", "single_parent",
                "safety_grade", "qol_grade", "help_useful", "help_important", "help_grade"],
    "children": ["child_id", "family_id", "wave", "self_report", "age_years"],
}
ERR_COLUMNS = ("table {table} lacks columns {cols}; the contract (codebook.yml) requires them. "
               "Add or map them in mapping.yml.")
ERR_DUPLICATES = "table {table} has {n} duplicate rows for key {key}, e.g. {examples}; keep one row per unit and wave."
ERR_THRESHOLD = "cumulation_threshold must be a whole number 1-7 (there are seven risk factors), got {value!r}."


class MeasureError(ValueError):
    """The dataset does not allow the derived measures to be computed."""


@dataclass(frozen=True)
class Measures:
    """Derived measures per unit level, plus the keys in force.

    Attributes
    ----------
    parents, children, families : DataFrame
        One row per unit and wave, sorted by unit id and wave (module docstring lists the columns).
    keys : dict
        :func:`veiligverder.instruments.keys_in_force` for the key folder used.
    scores : dict
        ``{"parents": ..., "children": ...}``: every scale score, T-score and flag of every
        instrument, rows aligned with ``parents`` / ``children``.
    cumulation_threshold : int
        Number of risk factors that counts as cumulative risk.
    """

    parents: pd.DataFrame
    children: pd.DataFrame
    families: pd.DataFrame
    keys: dict[str, dict[str, Any]]
    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    cumulation_threshold: int = 5


def _flag(condition: Any, known: Any) -> np.ndarray:
    """0.0/1.0 where ``known``, NaN elsewhere."""
    return np.where(np.asarray(known, dtype=bool), np.asarray(condition, dtype=bool), np.nan)


def _check(table: pd.DataFrame, name: str, key: list[str] | None) -> None:
    absent = [c for c in REQUIRED[name] if c not in table.columns]
    if absent:
        raise MeasureError(ERR_COLUMNS.format(table=name, cols=absent))
    if key is not None:
        dup = table.duplicated(key, keep=False)
        if dup.any():
            examples = table.loc[dup, key].head(3).to_dict("records")
            raise MeasureError(ERR_DUPLICATES.format(table=name, n=int(dup.sum()), key=key, examples=examples))


def parent_measures(parents: pd.DataFrame, scores: pd.DataFrame, group: pd.Series, *,
                    cumulation_threshold: int = 5) -> pd.DataFrame:
    """Parent-level measures from the parents table and its instrument scores (rules: module docstring)."""
    p, s = parents, scores
    out = p[["parent_id", "wave", "family_id"]].copy()
    out["group"] = out["family_id"].map(group)
    out["violence_own"] = s["cts2s_violence"]
    out["violence_by_partner"] = s["cts2p_violence"]
    out["violence_partner"] = s["cts2s_violence"] + s["cts2p_violence"]
    out["partner_mild"] = s["cts2s_mild"] + s["cts2p_mild"]
    out["partner_severe"] = ((s["cts2s_severe_count"] + s["cts2p_severe_count"]) > 0).astype(float)
    out["drinks_own"] = s["auditc_drinks_per_week"]
    out["drinks_partner"] = s["auditcp_drinks_per_week"]
    out["risky_drinking_own"] = s["auditc_risky"]
    out["risky_drinking_partner"] = s["auditcp_risky"]
    out["low_income"] = _flag(p["income"] == "lt1500", p["income"].notna())
    out["unemployment"] = _flag(p["work_hours"] < WORK_HOURS_CUT, p["work_hours"].notna())
    out["low_education"] = _flag(p["education"] == "primary", p["education"].notna())
    out["single_parent"] = _flag(p["single_parent"] == 1, p["single_parent"].notna())
    out["ace_count"] = s["ace_count"]
    out["ace4"] = s["ace_four_plus"]
    out["safety_grade"] = p["safety_grade"].astype(float)
    out["qol_parent"] = p["qol_grade"].astype(float)
    out["help_grade"] = p["help_grade"].astype(float)
    out["help_satisfaction"] = (p["help_useful"].astype(float) + p["help_important"].astype(float)) / 2.0
    out["help_satisfied"] = _flag(out["help_satisfaction"] >= HELP_SATISFIED_CUT, out["help_satisfaction"].notna())
    out["parenting_stress"] = s["nosik_total"]
    out["parenting_stress_high"] = s["nosik_high"]
    out["parenting_competence"] = s["nosic_total"]
    out["parent_trauma"] = s["tsi_clinical"]
    risk = out[list(RISK_FACTORS)].to_numpy(dtype=float)
    known = ~np.isnan(risk)
    out["risk_known"] = known.sum(axis=1).astype(float)
    out["risk_count"] = np.where(known.any(axis=1), (risk == 1).sum(axis=1), np.nan)
    out["cumulative_risk"] = _flag(out["risk_count"] >= cumulation_threshold, out["risk_count"].notna())
    out["ppq_warmth"] = s["ppq_warmth"]
    out["mpf_autonomy"] = s["mpf_autonomy"]
    out["mansa_satisfaction"] = s["mansa_satisfaction"]
    return out


def child_measures(children: pd.DataFrame, scores: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
    """Child-level measures from the children table and its instrument scores (rules: module docstring)."""
    c, s = children, scores
    keep = [k for k in ("child_id", "wave", "family_id", "reporting_parent_id", "age_years", "sex") if k in c.columns]
    out = c[keep].copy()
    out["group"] = out["family_id"].map(group)
    out["self_report"] = c["self_report"].astype(float)
    self_rep = (c["self_report"] == 1).to_numpy()
    out["violence_child_direct"] = s["ctspc_direct"]
    out["child_mild"] = s["ctspc_mild"]
    out["child_severe"] = (s["ctspc_severe_count"] > 0).astype(float)
    out["violence_child_direct_self"] = s["ctspcc_direct"]
    out["witnessing"] = s["ctspcc_witnessing"]
    out["child_trauma"] = np.where(self_rep, s["tscc_clinical"], s["tscyc_clinical"])
    out["emotional_insecurity"] = np.where(self_rep, s["sis_insecurity"], s["simspr_insecurity"])
    out["emotional_insecure"] = np.where(self_rep, s["sis_insecure"], s["simspr_insecure"])
    either_parent = np.fmax(s["secm_insecure"].to_numpy(), s["secf_insecure"].to_numpy())  # fmax ignores NaN
    out["attachment_insecure"] = np.where(self_rep, either_parent, s["secp_insecure"])
    out["qol_child"] = np.where(self_rep, s["kid_kidscreen10_t"], np.nan)
    return out


def _category(mild: pd.Series, severe: pd.Series, cuts: tuple[float, float]) -> np.ndarray:
    """0 none / 1 mild / 2 severe from a mild count and an any-severe 0/1."""
    m = mild.to_numpy(dtype=float)
    return np.select([(severe.to_numpy() == 1) | (m >= cuts[1]), m >= cuts[0]], [2, 1], 0)


def family_measures(parents: pd.DataFrame, children: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
    """Family-level measures aggregated from the parent and child measures (rules: module docstring)."""
    key = ["family_id", "wave"]
    pagg = parents.groupby(key, sort=False).agg(
        n_parents=("parent_id", "size"),
        violence_partner=("violence_partner", "mean"),
        partner_mild=("partner_mild", "mean"),
        any_partner_severe=("partner_severe", "max"),
        any_parent_parenting_stress=("parenting_stress_high", "max"),
        any_parent_traumatised=("parent_trauma", "max"),
        any_parent_cumulative_risk=("cumulative_risk", "max"),
        any_parent_ace4=("ace4", "max"),
    )
    cagg = children.groupby(key, sort=False).agg(
        n_children=("child_id", "size"),
        violence_child_direct=("violence_child_direct", "sum"),  # sum skips NaN; 0 when none has a value
        child_mild=("child_mild", "sum"),
        any_child_severe=("child_severe", "max"),
        any_child_emotional_insecure=("emotional_insecure", "max"),
        any_child_insecure_attachment=("attachment_insecure", "max"),
        any_child_traumatised=("child_trauma", "max"),
    )
    fam = pagg.join(cagg, how="outer")
    for col in ("n_parents", "n_children", "violence_child_direct", "child_mild", "any_child_severe"):
        fam[col] = fam[col].fillna(0.0)
    fam["violence_total"] = fam["violence_partner"] + fam["violence_child_direct"]
    worst = np.maximum(_category(fam["partner_mild"], fam["any_partner_severe"], PARTNER_MILD_CUTS),
                       _category(fam["child_mild"], fam["any_child_severe"], CHILD_MILD_CUTS))
    category = np.asarray(CATEGORIES, dtype=object)[worst]
    category[fam["partner_mild"].isna().to_numpy()] = np.nan
    fam["violence_category"] = category
    fam = fam.reset_index()
    fam.insert(2, "group", fam["family_id"].map(group))
    order = ["family_id", "wave", "group", "n_parents", "n_children", "violence_partner", "violence_child_direct",
             "violence_total", "violence_category", "partner_mild", "any_partner_severe", "child_mild",
             "any_child_severe", *TABLE4_FLAGS.values()]
    return fam[order].astype({"n_parents": "int64", "n_children": "int64"})


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """``frame`` in ``key`` order with a 0..n-1 index. A frame already in that order is returned as
    it is: sorting copies every column, which for an item table of a registry-sized dataset is the
    largest allocation of the whole derivation (a loader's output is usually in key order)."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        order = np.lexsort([frame[k].to_numpy() for k in reversed(key)])
        if np.array_equal(order, np.arange(len(frame))):
            return frame
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _key_order(frame: pd.DataFrame, key: list[str]) -> np.ndarray | None:
    """Row positions that put ``frame`` in ``key`` order (a stable sort), or None when it is in that
    order already with a 0..n-1 index (a loader's output usually is). Only the key columns are sorted."""
    order = frame[key].reset_index(drop=True).sort_values(key, kind="stable").index.to_numpy()
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 \
            and np.array_equal(order, np.arange(len(frame))):
        return None
    return order


def _take(frame: pd.DataFrame, order: np.ndarray | None, columns: list[str] | None = None) -> pd.DataFrame:
    """``frame`` (only ``columns``, when given) with its rows in ``order`` and a 0..n-1 index."""
    part = frame if columns is None else frame[columns]
    return part if order is None else part.take(order).reset_index(drop=True)


def _not_items(frame: pd.DataFrame, table: str) -> list[str]:
    """The columns of ``frame`` that are not questionnaire items (the measures read only those and
    the scores)."""
    from veiligverder.data.schema import column_specs, is_item

    specs = column_specs(table)
    return [c for c in frame.columns if not (c in specs and is_item(specs[c]))]


def derive(dataset: Any, *, keys_dir: str | Path | None = None, cumulation_threshold: int = 5) -> Measures:
    """Every derived measure of CONTRACT §2 per parent, child and family and wave, in one call.

    Parameters
    ----------
    dataset : Dataset
        The three contract tables (:class:`veiligverder.data.dataset.Dataset`).
    keys_dir : path, optional
        Folder with the licensed scoring keys (default: the illustrative keys; see
        :mod:`veiligverder.instruments.keys`).
    cumulation_threshold : int, default 5
        Number of the seven risk factors that makes cumulative risk (the report prints 5).

    Returns
    -------
    Measures
        ``.parents``, ``.children``, ``.families`` (tidy, sorted by id and wave; each with
        ``family_id``, ``wave`` and ``group``), ``.keys`` (keys in force), ``.scores``. Every
        rule is in the module docstring.

    Raises
    ------
    MeasureError
        When a table lacks a contract column or holds a unit twice at one wave.
    """
    if isinstance(cumulation_threshold, bool) or not isinstance(cumulation_threshold, (int, np.integer)) \
            or not 1 <= cumulation_threshold <= len(RISK_FACTORS):
        raise MeasureError(ERR_THRESHOLD.format(value=cumulation_threshold))
    _check(dataset.families, "families", ["family_id"])
    _check(dataset.parents, "parents", ["parent_id", "wave"])
    _check(dataset.children, "children", ["child_id", "wave"])
    group = dataset.families.set_index("family_id")["group"]
    # scored in the order given, then the scores and the few non-item columns put in key order: every
    # scoring rule is row-wise, and reordering the item table itself would copy the largest table
    porder = _key_order(dataset.parents, ["parent_id", "wave"])
    corder = _key_order(dataset.children, ["child_id", "wave"])
    pscores = _take(score_table(dataset.parents, "parents", keys_dir=keys_dir), porder)
    cscores = _take(score_table(dataset.children, "children", keys_dir=keys_dir), corder)
    parents = _take(dataset.parents, porder, _not_items(dataset.parents, "parents"))
    children = _take(dataset.children, corder, _not_items(dataset.children, "children"))
    pm = parent_measures(parents, pscores, group, cumulation_threshold=int(cumulation_threshold))
    cm = child_measures(children, cscores, group)
    fm = _sorted(family_measures(pm, cm, group), ["family_id", "wave"])
    return Measures(parents=pm, children=cm, families=fm, keys=keys_in_force(keys_dir),
                    scores={"parents": pscores, "children": cscores},
                    cumulation_threshold=int(cumulation_threshold))
