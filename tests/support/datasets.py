"""Small valid contract datasets for tests: every codebook column, plausible random answers.

`write_contract_dataset` is the one entry point other tests use (also the end-to-end test). The
values are random but valid; they are not calibrated to the report (that is the synthetic twin's job).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from veiligverder.contract import item_prefixes, load_codebook, table_spec, waves
from veiligverder.data.schema import column_specs, is_text

DEFAULT_FAMILIES = {"VV": 4, "control": 4, "cohort": 6}
CTS_PREFIXES = ("cts2s", "cts2p", "ctspc", "ctspcc")
PARENT_REPORT_YOUNG = ("tscyc", "simspr")                       # ages 3-12
SELF_REPORT = ("ctspcc", "tscc", "sis", "secm", "secf", "kid")  # self_report == 1 only
SAV_MISSING = 99  # user-missing code written for empty numeric (non-item) cells in .sav files


def _families(families: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(families, int):
        groups = load_codebook()["groups"]
        base, extra = divmod(families, len(groups))
        return {g: base + (i < extra) for i, g in enumerate(groups)}
    return dict(families)


def _items(rng: np.random.Generator, table: str, n: int, level: np.ndarray) -> dict[str, np.ndarray]:
    """Answers per item column: CTS items mostly 'never' (1), more often violent for high ``level``;
    other blocks around a respondent trait; about 2 % of answers missing."""
    out: dict[str, np.ndarray] = {}
    trait = rng.normal(0, 1, n)
    for prefix in item_prefixes(table):
        block = table_spec(table)["items"][prefix]
        lo, hi, k = block["min"], block["max"], block["n"]
        if prefix in CTS_PREFIXES:
            p_violent = np.clip(0.05 + 0.15 * level, 0, 0.9)[:, None]
            violent = rng.random((n, k)) < p_violent
            answers = np.where(violent, rng.integers(2, hi + 1, (n, k)), lo).astype(float)
        else:
            centre = lo + (hi - lo) * (0.35 + 0.12 * trait)[:, None]
            answers = np.clip(np.rint(centre + rng.normal(0, (hi - lo) / 4 + 0.3, (n, k))), lo, hi)
        answers[rng.random((n, k)) < 0.02] = np.nan
        for j in range(k):
            out[f"{prefix}_{j + 1:0{block['width']}d}"] = answers[:, j]
    return out


def _with_items(frame: pd.DataFrame, rng: np.random.Generator, table: str) -> pd.DataFrame:
    items = pd.DataFrame(_items(rng, table, len(frame), frame["level"].to_numpy()), index=frame.index)
    return pd.concat([frame, items], axis=1)


def _ordered(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Contract column order and dtypes: text as object with NaN, numbers as float64.

    Built in one go from the converted columns (not column by column into a copy, which costs
    pandas a block update per column: ~0.2 s for the ~600 columns of a table, in every test)."""
    columns = {}
    for name, spec in column_specs(table).items():
        values = frame[name].to_numpy()
        if is_text(spec):
            values = values.astype(object)
            values[pd.isna(values)] = np.nan
        columns[name] = values if is_text(spec) else values.astype("float64")
    return pd.DataFrame(columns)


def contract_frames(*, families: int | Mapping[str, int] = DEFAULT_FAMILIES, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The three contract tables of a valid random dataset, in loader form (see ``Dataset``).

    Three waves with attrition (all families at T0, about 80 % at T1, about 70 % of those at T2),
    one or two parents and zero to three children per family.
    """
    rng = np.random.default_rng(seed)
    counts = _families(families)
    group = np.repeat(list(counts), list(counts.values()))
    nf = len(group)
    fam = pd.DataFrame({
        "family_id": [f"F{i + 1:04d}" for i in range(nf)],
        "group": group,
        "region": rng.choice(["Den Haag", "Delft", "Zoetermeer", "Westland"], nf),
        "n_children_over3": rng.integers(0, 4, nf).astype(float),
        "n_parents": rng.choice([1, 2], nf, p=[0.4, 0.6]),
        "level": rng.gamma(2.0, 1.0, nf) * np.where(group == "cohort", 0.5, 1.5),
    })
    wave_names = waves()
    at_t1 = rng.random(nf) < 0.8
    present = {wave_names[0]: np.ones(nf, bool), wave_names[1]: at_t1, wave_names[2]: at_t1 & (rng.random(nf) < 0.7)}

    # parents: one row per parent per wave the family took part in
    par = fam.loc[fam.index.repeat(fam["n_parents"])].copy()
    par["k"] = par.groupby("family_id").cumcount() + 1
    par["parent_id"] = par["family_id"] + "-P" + par["k"].astype(str)
    np_ = len(par)
    par["sex"] = np.where(par["k"] == 1, "female", "male")
    par["age0"] = rng.integers(20, 60, np_)
    par["single_parent"] = (par["n_parents"] == 1).astype(float)
    par["income"] = rng.choice(["lt1500", "1500_3100", "gt3100"], np_)
    par["migration"] = rng.choice(column_specs("parents")["migration"]["values"], np_)
    par["education"] = rng.choice(column_specs("parents")["education"]["values"], np_)
    par["psych_problems"] = rng.integers(0, 2, np_).astype(float)
    parents = _by_wave(par, present, fam)
    n = len(parents)
    parents["age_years"] = parents["age0"] + parents["wave_index"]
    parents["work_hours"] = rng.choice([0, 8, 16, 24, 32, 36, 40, np.nan], n)
    parents["safety_grade"] = rng.integers(3, 11, n).astype(float)
    parents["qol_grade"] = rng.integers(2, 11, n).astype(float)
    parents["help_formal"] = rng.integers(0, 2, n).astype(float)
    helped = parents["help_formal"] == 1
    parents["help_useful"] = np.where(helped, rng.integers(1, 6, n), np.nan)
    parents["help_important"] = np.where(helped, rng.integers(1, 6, n), np.nan)
    parents["help_grade"] = np.where(helped, rng.integers(4, 11, n), np.nan)
    help_type = pd.Series(np.where(parents["group"] == "VV", "Veilig Verder", "Veilig Thuis"), index=parents.index)
    parents["help_grade_type"] = help_type.astype(object).where(helped)
    parents = _with_items(parents, rng, "parents")

    # children: one row per child per wave
    kids = fam.loc[fam.index.repeat(fam["n_children_over3"].astype(int))].copy()
    kids["k"] = kids.groupby("family_id").cumcount() + 1
    kids["child_id"] = kids["family_id"] + "-C" + kids["k"].astype(str)
    nk = len(kids)
    kids["age0"] = rng.integers(3, 17, nk)
    kids["sex"] = rng.choice(["girl", "boy"], nk)
    kids["reporting_parent_id"] = (kids["family_id"] + "-P1").where(rng.random(nk) < 0.9)
    children = _by_wave(kids, present, fam)
    m = len(children)
    children["age_years"] = np.minimum(children["age0"] + children["wave_index"], 18).astype(float)
    children["self_report"] = ((children["age_years"] >= 8) & (rng.random(m) < 0.8)).astype(float)
    # the answers not asked are blanked in the item arrays before they join the frame (the same
    # values as ``children.loc[absent, columns] = np.nan`` afterwards, without pandas' slow path)
    items = _items(rng, "children", m, children["level"].to_numpy())
    for prefix in PARENT_REPORT_YOUNG + SELF_REPORT:
        absent = children["age_years"] > 12 if prefix in PARENT_REPORT_YOUNG else children["self_report"] == 0
        for column in (c for c in items if c.startswith(prefix + "_")):
            items[column][absent.to_numpy()] = np.nan
    children = pd.concat([children, pd.DataFrame(items, index=children.index)], axis=1)

    return {
        "families": _ordered(fam, "families"),
        "parents": _ordered(parents, "parents"),
        "children": _ordered(children, "children"),
    }


def _by_wave(units: pd.DataFrame, present: dict[str, np.ndarray], fam: pd.DataFrame) -> pd.DataFrame:
    """Repeat unit rows for every wave their family took part in (wave order, then unit order)."""
    parts = []
    for index, wave in enumerate(waves()):
        ids = fam.loc[present[wave], "family_id"]
        part = units[units["family_id"].isin(ids)].copy()
        part["wave"], part["wave_index"] = wave, index
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns as nullable integers, so the CSV shows ``34`` instead of ``34.0``.

    The whole-number columns are found for all float columns at once, and the frame is built once
    from its columns (``astype("Int64")`` column by column took ~0.2 s per wide table, in every test
    that writes CSV); the CSV text is the same."""
    numbers = frame.select_dtypes("float64")
    whole = ((numbers % 1 == 0) | numbers.isna()).all()
    columns = {name: frame[name].array for name in frame.columns}
    for name in whole.index[whole.to_numpy()]:
        values = frame[name].to_numpy()
        missing = np.isnan(values)
        columns[name] = pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"), missing)
    return pd.DataFrame(columns, index=frame.index)


def write_sav(frame: pd.DataFrame, path: Path, table: str) -> None:
    """Write a contract table as SPSS: category columns as codes 1..k with value labels; empty
    numeric non-item cells as the user-missing code 99; item columns system-missing."""
    specs = column_specs(table)
    out, labels, missing = frame.copy(), {}, {}
    for name, spec in specs.items():
        if spec["type"] == "category":
            codes = {value: float(i + 1) for i, value in enumerate(spec["values"])}
            out[name] = out[name].map(codes)
            labels[name] = {code: value for value, code in codes.items()}
        elif is_text(spec):
            out[name] = out[name].fillna("")
        elif "item" not in spec and out[name].isna().any():
            out[name] = out[name].fillna(SAV_MISSING)
            missing[name] = [SAV_MISSING]
    pyreadstat.write_sav(out, path, variable_value_labels=labels, missing_ranges=missing)


def write_tables(frames: Mapping[str, pd.DataFrame], folder: str | Path, *, fmt: str = "csv") -> Path:
    """Write contract frames into ``folder`` as ``<table>.<fmt>``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        path = folder / f"{table}.{fmt}"
        if fmt == "csv":
            _csv_ready(frame).to_csv(path, index=False)
        elif fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "sav":
            write_sav(frame, path, table)
        else:
            raise ValueError(f"fmt={fmt!r}: use 'csv', 'parquet' or 'sav'")
    return folder


def write_contract_dataset(
    folder: str | Path,
    *,
    families: int | Mapping[str, int] = DEFAULT_FAMILIES,
    seed: int = 0,
    fmt: str = "csv",
    synthetic: bool = False,
) -> Path:
    """Write a valid contract dataset (groups VV/control/cohort, waves T0-T2 with attrition).

    Parameters
    ----------
    folder : str or Path
        Created when absent; must not already hold table files of another format.
    families : int or mapping, keyword-only
        Families per group (``{"VV": 4, ...}``), or a total split evenly over the codebook's groups.
    seed : int, keyword-only
        Seed of the random answers; same seed, same tables.
    fmt : {'csv', 'parquet', 'sav'}, keyword-only
        File format of the three tables.
    synthetic : bool, keyword-only
        Also write a valid ``SYNTHETIC`` manifest for the files written, so that the loader treats
        the folder as synthetic (``veiligverder.synthetic.writer.write_manifest``).
    """
    folder = write_tables(contract_frames(families=families, seed=seed), folder, fmt=fmt)
    if synthetic:
        from veiligverder.synthetic.writer import write_manifest

        write_manifest(folder, seed=seed, comment="random test data (tests/datasets.py), not the calibrated twin")
    return folder
