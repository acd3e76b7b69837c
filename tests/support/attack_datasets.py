"""Datasets that attack disclosure control: the synthetic twin cut down to a small VV group.

`small_group_copy` writes a NON-synthetic copy (no manifest) of the twin in which the VV group has
only ``n_vv`` families; one of them is made extreme (every partner-violence item answered with the
highest code at every wave) and carries distinctive ids and free text, so that any value resting on
it can be searched for in the outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MARK = "QXZ"  # see test_privacy.PREFIX


def read_twin(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(folder / f"{t}.csv", dtype={"family_id": str, "parent_id": str, "child_id": str,
                                                        "reporting_parent_id": str})
            for t in ("families", "parents", "children")}


def small_group_copy(twin: Path, out: Path, *, n_vv: int = 3, extreme: bool = True,
                     income_band: str | None = None, drop_vv_children: bool = False,
                     cohort: int | None = None) -> tuple[Path, set[str]]:
    """Write the twin with only the first ``n_vv`` VV families (no SYNTHETIC manifest), and with only
    the first ``cohort`` cohort families when given.

    Returns the folder and the distinctive strings planted in it (every family, parent and child id,
    and the region and free text of the VV and control families), which must never reach an output
    file.
    """
    t = read_twin(Path(twin))
    fam, par, chi = t["families"], t["parents"], t["children"]
    vv_all = fam.loc[fam["group"] == "VV", "family_id"].tolist()
    with_children = set(chi.loc[chi["wave"] == "T0", "family_id"])
    vv_all.sort(key=lambda f: f not in with_children)  # families with children first: child outcomes too
    keep_vv = set(vv_all[:n_vv])
    drop = set(vv_all) - keep_vv
    if cohort is not None:  # fewer cohort families: a faster build where Tabel 4 is not the point
        drop |= set(fam.loc[fam["group"] == "cohort", "family_id"].iloc[cohort:])
    fam = fam.loc[~fam["family_id"].isin(drop)].copy()
    par = par.loc[~par["family_id"].isin(drop)].copy()
    chi = chi.loc[~chi["family_id"].isin(drop)].copy()
    if drop_vv_children:
        chi = chi.loc[~chi["family_id"].isin(keep_vv)].copy()
    # distinctive ids for every family, parent and child, distinctive free text for the study groups
    study = set(fam.loc[fam["group"].isin(["VV", "control"]), "family_id"])
    keep_first = sorted(keep_vv) + sorted(set(fam["family_id"]) - keep_vv)  # VV families get the low numbers
    fmap = {f: f"{MARK}f{i}Q" for i, f in enumerate(keep_first)}
    pmap = {p: f"{MARK}p{i}Q" for i, p in enumerate(sorted(par["parent_id"].unique()))}
    cmap = {c: f"{MARK}c{i}Q" for i, c in enumerate(sorted(chi["child_id"].unique()))}
    in_study = fam["family_id"].isin(study)
    fam.loc[in_study, "region"] = [f"{MARK}r{i}Q" for i in range(int(in_study.sum()))]
    fam["family_id"] = fam["family_id"].map(fmap)
    for frame in (par, chi):
        frame["family_id"] = frame["family_id"].map(fmap)
    par["parent_id"] = par["parent_id"].map(pmap)
    chi["child_id"] = chi["child_id"].map(cmap)
    chi["reporting_parent_id"] = chi["reporting_parent_id"].map(pmap).where(chi["reporting_parent_id"].notna())
    study_par = par["family_id"].isin({fmap[f] for f in study})
    vv_par = par["family_id"].isin({fmap[f] for f in keep_vv})
    par["help_grade_type"] = par["help_grade_type"].astype(object)
    par.loc[study_par, "help_grade_type"] = [f"{MARK}t{i}Q" for i in range(int(study_par.sum()))]
    if extreme:
        first = fmap[sorted(keep_vv)[0]]
        rows = par["family_id"] == first
        cts = [c for c in par.columns if c.startswith(("cts2s_", "cts2p_"))]
        par.loc[rows, cts] = 7.0  # 'more than 20 times' everywhere: a value no other family has
        par.loc[rows, "safety_grade"] = 1.0
        par.loc[rows, "help_grade"] = 1.0
    if income_band is not None:
        par.loc[vv_par, "income"] = income_band
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("families", fam), ("parents", par), ("children", chi)):
        frame.to_csv(out / f"{name}.csv", index=False, float_format="%.15g")
    markers = {*fmap.values(), *pmap.values(), *cmap.values(), *fam.loc[in_study, "region"],
               *par.loc[study_par, "help_grade_type"]}
    return out, markers


def number_forms(value: float) -> set[str]:
    """The ways a number can be printed at 0, 1 and 2 decimals (and as a percent of a share)."""
    forms: set[str] = set()
    if value is None or not np.isfinite(value):
        return forms
    for v in (value,):
        for d in (0, 1, 2):
            forms.add(f"{v:.{d}f}")
    return forms
