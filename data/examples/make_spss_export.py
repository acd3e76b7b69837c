#!/usr/bin/env python3
"""Write the shipped example of an SPSS export with its ``mapping.yml``: data/examples/spss_export/.

The example looks the way a study's own export usually looks, and its ``mapping.yml`` turns it into
the data contract (book appendices 'Mapping format' and 'Run it on your own data'):

- one SPSS file per table (``families.sav``, ``parents.sav``, ``children.sav``) with Dutch
  variable names of its own (``gezinsnr``, ``meting``, ``geslacht``, ...);
- categories stored as numeric codes with value labels (``geslacht``: 1 = vrouw, 2 = man);
- the CTS2 in the order of the published form: ``CTS1`` to ``CTS78``, every act asked first about
  the respondent (odd numbers), then about the partner (even numbers), the scales mixed;
- 99 for a question that was skipped, declared user-missing in SPSS; an empty (system-missing)
  cell for a question that was not asked (help questions without formal help, lists that are not
  meant for the child's age or that no parent filled in); income code 9 ("would rather not say"),
  not declared, so that the mapping has to say it;
- two administrative variables (``filter_$``, ``invoerdatum``) that the mapping drops.

The values are seeded random numbers invented for this example: no real family is in them and they
are not calibrated to the report (that is the synthetic twin's job). The folder deliberately has no
``SYNTHETIC`` marker, so that a build treats it as it would treat real data (disclosure control on).

Usage, from the project root::

    python data/examples/make_spss_export.py                  # rewrites data/examples/spss_export/
    python data/examples/make_spss_export.py --out my_export  # a fresh copy somewhere else

Same seed, same bytes: the creation date and time in the SPSS file header are set to a fixed value.
Files are written to a temporary name and moved into place when complete; other files in the
folder (the README) are left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import yaml

from veiligverder.contract import TABLES, block_items, item_columns, item_prefixes, table_of_prefix, table_spec, waves
from veiligverder.data.schema import column_specs, is_text

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "spss_export"
SEED = 2021
FAMILIES = {"VV": 7, "control": 7, "cohort": 6}
REGIONS = ("Den Haag", "Delft", "Zoetermeer", "Westland", "Rijswijk")

SKIPPED = 99.0          # a skipped question; declared user-missing in every numeric variable
INCOME_REFUSED = 9.0    # "wil ik niet zeggen": not declared in SPSS, so mapping.yml declares it

# SPSS file header: creation_date[9] and creation_time[8] follow the 84-byte start and the 8-byte
# bias (PSPP developers' guide, "System File Format", File Header Record). ReadStat writes the
# current time there; a fixed value makes the files byte-stable.
HEADER_TIME_OFFSET = 92
FIXED_TIME = b"01 Jan 2100:00:00"

# Source variable names: contract column -> name in the export (the parents' names are those of the
# worked example in the appendix 'Mapping format').
NAMES: dict[str, dict[str, str]] = {
    "families": {"family_id": "gezinsnr", "group": "groep", "region": "regio", "n_children_over3": "kinderen"},
    "parents": {
        "parent_id": "respnr", "family_id": "gezinsnr", "wave": "meting", "sex": "geslacht",
        "age_years": "leeftijd", "migration": "herkomst", "education": "opleiding", "income": "inkomen",
        "work_hours": "werkuren", "single_parent": "alleenstaand", "psych_problems": "psych",
        "safety_grade": "veiligheid", "qol_grade": "kwaliteit", "help_formal": "hulp", "help_useful": "hulp_nut",
        "help_important": "hulp_belang", "help_grade": "hulp_cijfer", "help_grade_type": "hulp_soort",
    },
    "children": {
        "child_id": "kindnr", "family_id": "gezinsnr", "wave": "meting", "reporting_parent_id": "ouder",
        "age_years": "leeftijd", "sex": "geslacht", "self_report": "zelf",
    },
}
ITEM_STEMS = {  # item prefix -> stem of the export's item variables (STEM1, STEM2, ...)
    "ace": "ACE", "tsi": "TSI", "mansa": "MANSA", "mansao": "MANSA_obj", "nosik": "NOSIK", "nosic": "NOSIC",
    "ppq": "PPQ", "mpf": "MPF", "auditc": "AUDIT", "auditcp": "AUDITP",
    "ctspc": "CTSPC", "tscyc": "TSCYC", "simspr": "SIMS", "secp": "SECP", "ctspcc": "CTSPCK", "tscc": "TSCC",
    "sis": "SIS", "secm": "SECM", "secf": "SECV", "kid": "KIDS",
}
CTS2_STEM = "CTS"
DROPPED = {"parents": ["filter_$", "invoerdatum"]}

# Coded categories: contract value -> (code in the export, Dutch value label).
CODES: dict[tuple[str, str], dict[str, tuple[float, str]]] = {
    ("families", "group"): {"VV": (1, "Veilig Verder"), "control": (2, "controle"), "cohort": (3, "cohort")},
    ("parents", "sex"): {"female": (1, "vrouw"), "male": (2, "man")},
    ("parents", "migration"): {"dutch": (1, "Nederlands"), "antillean": (2, "Antilliaans"),
                               "moroccan": (3, "Marokkaans"), "surinamese": (4, "Surinaams"),
                               "turkish": (5, "Turks"), "other": (6, "anders")},
    ("parents", "education"): {"primary": (1, "basisonderwijs"), "mavo_lbo": (2, "mavo/lbo"),
                               "havo_vwo_mbo": (3, "havo/vwo/mbo"), "hbo_wo": (4, "hbo/wo"), "other": (5, "anders")},
    ("parents", "income"): {"lt1500": (1, "minder dan 1500"), "1500_3100": (2, "1500 tot 3100"),
                            "gt3100": (3, "meer dan 3100")},
    ("children", "sex"): {"girl": (1, "meisje"), "boy": (2, "jongen")},
}
WAVE_CODES = {wave: float(i) for i, wave in enumerate(waves())}  # 0, 1, 2 with labels T0, T1, T2
YES_NO = {0.0: "nee", 1.0: "ja"}
CTS_ANSWERS = {1.0: "nooit", 2.0: "niet vorig jaar, wel eerder", 3.0: "1 keer", 4.0: "2 keer", 5.0: "3-5 keer",
               6.0: "6-10 keer", 7.0: "11-20 keer", 8.0: "meer dan 20 keer"}

# Odd item numbers of the published CTS2 form per block of the contract (the scoring key of Straus,
# Hamby, Boney-McCoy & Sugarman 1996, J Fam Issues 17:283-316). Within a block the contract's items
# are taken in the order of the form; the scoring needs only the block.
CTS2_FORM = {
    "negotiation": [1, 3, 13, 39, 59, 77],
    "psychological_minor": [5, 35, 49, 67],
    "psychological_severe": [25, 29, 65, 69],
    "physical_minor": [7, 9, 17, 45, 53],
    "physical_severe": [21, 27, 33, 37, 43, 61, 73],
    "sexual_minor": [15, 51, 63],
    "sexual_severe": [19, 47, 57, 75],
    "injury_minor": [11, 71],
    "injury_severe": [23, 31, 41, 55],
}
CTS_PREFIXES = ("cts2s", "cts2p", "ctspc", "ctspcc")
VIOLENT_ANSWER_SHARES = (0.30, 0.25, 0.18, 0.12, 0.08, 0.04, 0.03)  # CTS codes 2-8 when an act is reported
PARENT_REPORT = ("ctspc", "tscyc", "simspr", "secp")   # filled in by the reporting parent
YOUNG_ONLY = ("tscyc", "simspr")                         # ages 3-12
SELF_REPORT = ("ctspcc", "tscc", "sis", "secm", "secf", "kid")


def cts2_form_order() -> list[int]:
    """Contract item number of each pair of the published CTS2 form (pair p = form items 2p-1, 2p)."""
    by_form = {}
    for block, form_items in CTS2_FORM.items():
        by_form.update(zip(form_items, block_items("cts2", block=block), strict=True))
    return [by_form[2 * p - 1] for p in range(1, len(by_form) + 1)]


# --- the contract tables ------------------------------------------------------------------------


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal values."""
    return pd.Series(groups).groupby(groups).cumcount().to_numpy() + 1


def _long(unit_family: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per unit per wave its family took part in (wave order, then unit order): (unit, wave)."""
    wave, unit = np.nonzero(present[unit_family].T)
    return unit, wave


def _cts_weights(prefix: str) -> np.ndarray:
    """Relative chance per item that an act is reported: negotiation and non-violent discipline
    common (10x), severe acts rare (0.03x), mild acts and witnessing 1x."""
    instrument = "cts2" if prefix.startswith("cts2") else prefix
    weights = np.ones(table_spec(table_of_prefix(prefix))["items"][prefix]["n"])
    for severity, weight in (("none", 10.0), ("severe", 0.03)):
        weights[np.array(block_items(instrument, severity=severity)) - 1] = weight
    return weights


def _answers(rng: np.random.Generator, table: str, level: np.ndarray, trait: np.ndarray) -> pd.DataFrame:
    """Item answers: CTS items mostly 'never' (1), acts more often for a high ``level``; other blocks
    around a respondent ``trait``; about 2 % skipped (NaN)."""
    n, out = len(level), {}
    for prefix in item_prefixes(table):
        block = table_spec(table)["items"][prefix]
        lo, hi, k = block["min"], block["max"], block["n"]
        if prefix in CTS_PREFIXES:
            chance = np.clip(0.03 + 0.05 * level, 0, 0.9)[:, None] * _cts_weights(prefix)[None, :]
            codes = rng.choice(np.arange(2, hi + 1), (n, k), p=VIOLENT_ANSWER_SHARES)
            answers = np.where(rng.random((n, k)) < np.minimum(chance, 0.9), codes, lo).astype(float)
        else:
            centre = lo + (hi - lo) * (0.25 + 0.1 * trait)[:, None]
            answers = np.clip(np.rint(centre + rng.normal(0, (hi - lo) / 4 + 0.3, (n, k))), lo, hi)
        answers[rng.random((n, k)) < 0.02] = np.nan
        out.update(zip(item_columns(prefix), answers.T, strict=True))
    return pd.DataFrame(out)


def _contract_order(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Codebook column order and loader dtypes: text as object with NaN, numbers as float64."""
    specs = column_specs(table)
    out = frame[list(specs)].copy()
    for name, spec in specs.items():
        out[name] = out[name].astype(object).where(out[name].notna()) if is_text(spec) else out[name].astype("float64")
    return out


def contract_tables(*, seed: int = SEED, families: Mapping[str, int] = FAMILIES) -> dict[str, pd.DataFrame]:
    """The example's three tables in contract form, as ``veiligverder.data.load_dataset`` returns them.

    Every family takes part at T0, about 90 % at T1 and about 80 % of those at T2; one or two
    parents and zero to three children aged 3 or older per family. Violence is higher in the VV and
    control families than in the cohort and declines over the waves, fastest in VV.
    """
    rng = np.random.default_rng(seed)
    group = np.repeat(list(families), list(families.values()))
    nf, wave_names = len(group), np.array(waves())
    family_id = np.array([str(1001 + i) for i in range(nf)], dtype=object)
    n_children = rng.integers(0, 4, nf)
    n_parents = rng.choice([1, 2], nf, p=[0.35, 0.65])
    level = rng.gamma(2.0, 1.0, nf) * np.where(group == "cohort", 0.5, 1.5)
    at_t1 = rng.random(nf) < 0.9
    present = np.column_stack([np.ones(nf, bool), at_t1, at_t1 & (rng.random(nf) < 0.8)])
    decline = pd.DataFrame({"VV": [1.0, 0.6, 0.5], "control": [1.0, 0.85, 0.8], "cohort": [1.0, 0.9, 0.9]})
    families_frame = pd.DataFrame({"family_id": family_id, "group": group,
                                   "region": rng.choice(REGIONS, nf), "n_children_over3": n_children})

    # parents: traits per parent, then one row per wave the family took part in
    pf = np.repeat(np.arange(nf), n_parents)
    k = _rank_within(pf)
    npar = len(pf)
    unit, wave = _long(pf, present)
    fam, n = pf[unit], len(unit)
    parent_level = level[fam] * decline.to_numpy()[wave, decline.columns.get_indexer(group[fam])]
    trait = rng.normal(0, 1, npar)[unit]
    helped = rng.random(n) < 0.6
    specs = column_specs("parents")
    parents = pd.DataFrame({
        "parent_id": [f"{f}{j:02d}" for f, j in zip(family_id[fam], k[unit], strict=True)],
        "family_id": family_id[fam],
        "wave": wave_names[wave],
        "sex": np.where(k[unit] == 1, "female", "male"),
        "age_years": rng.integers(21, 55, npar)[unit] + wave,
        "migration": rng.choice(specs["migration"]["values"], npar)[unit],
        "education": rng.choice(specs["education"]["values"], npar)[unit],
        "income": np.where(rng.random(n) < 0.08, None, rng.choice(list(CODES["parents", "income"]), npar)[unit]),
        "work_hours": np.where(rng.random(n) < 0.05, np.nan, rng.choice([0, 0, 8, 16, 24, 32, 36, 40], n)),
        "single_parent": (n_parents[fam] == 1).astype(float),
        "psych_problems": (rng.random(npar) < 0.3)[unit].astype(float),
        "safety_grade": np.clip(np.rint(7.5 - 0.5 * parent_level + rng.normal(0, 1.2, n)), 1, 10),
        "qol_grade": np.clip(np.rint(6.8 + 0.5 * trait + rng.normal(0, 1.2, n)), 1, 10),
        "help_formal": helped.astype(float),
        "help_useful": np.where(helped, rng.integers(2, 6, n), np.nan),
        "help_important": np.where(helped, rng.integers(2, 6, n), np.nan),
        "help_grade": np.where(helped, rng.integers(4, 11, n), np.nan),
        "help_grade_type": np.where(helped, np.where(group[fam] == "VV", "Veilig Verder", "Veilig Thuis"), None),
    })
    parents = pd.concat([parents, _answers(rng, "parents", parent_level, trait)], axis=1)

    # children: one row per child per wave; lists asked by age and by who filled them in
    cf = np.repeat(np.arange(nf), n_children)
    kc = _rank_within(cf)
    nch = len(cf)
    reported = rng.random(nch) < 0.9
    unit, wave = _long(cf, present)
    fam, m = cf[unit], len(unit)
    age = np.minimum(rng.integers(3, 17, nch)[unit] + wave, 18).astype(float)
    child_level = level[fam] * decline.to_numpy()[wave, decline.columns.get_indexer(group[fam])]
    children = pd.DataFrame({
        "child_id": [f"{f}{10 + j}" for f, j in zip(family_id[fam], kc[unit], strict=True)],
        "family_id": family_id[fam],
        "wave": wave_names[wave],
        "reporting_parent_id": np.where(reported[unit], [f"{f}01" for f in family_id[fam]], None),
        "age_years": age,
        "sex": rng.choice(["girl", "boy"], nch)[unit],
        "self_report": ((age >= 8) & (rng.random(nch) < 0.85)[unit]).astype(float),
    })
    children = pd.concat([children, _answers(rng, "children", child_level, rng.normal(0, 1, nch)[unit])], axis=1)
    for prefix, asked in asked_rules(children).items():
        children.loc[~asked, item_columns(prefix)] = np.nan
    return {"families": _contract_order(families_frame, "families"),
            "parents": _contract_order(parents, "parents"),
            "children": _contract_order(children, "children")}


def asked_rules(children: pd.DataFrame) -> dict[str, pd.Series]:
    """Item prefix -> rows where the list was asked (by age, self-report and reporting parent)."""
    has_parent = children["reporting_parent_id"].notna()
    rules = {prefix: has_parent for prefix in PARENT_REPORT}
    rules.update({prefix: has_parent & (children["age_years"] <= 12) for prefix in YOUNG_ONLY})
    rules.update({prefix: children["self_report"] == 1 for prefix in SELF_REPORT})
    return rules


# --- the SPSS export -------------------------------------------------------------------------------


def _item_sources(table: str) -> dict[str, str]:
    """Contract item column -> export variable, in the export's order (CTS2 as the published form)."""
    out: dict[str, str] = {}
    if table == "parents":
        for p, number in enumerate(cts2_form_order(), start=1):
            out[item_columns("cts2s", [number])[0]] = f"{CTS2_STEM}{2 * p - 1}"
            out[item_columns("cts2p", [number])[0]] = f"{CTS2_STEM}{2 * p}"
    for prefix in item_prefixes(table):
        if prefix in ITEM_STEMS:
            out.update({c: f"{ITEM_STEMS[prefix]}{n}" for n, c in enumerate(item_columns(prefix), start=1)})
    return out


def _asked(table: str, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Contract column -> rows where the question was asked (empty cells elsewhere, not 99)."""
    if table == "parents":
        helped = frame["help_formal"] == 1
        return {c: helped for c in ("help_useful", "help_important", "help_grade")}
    if table == "children":
        return {c: asked for prefix, asked in asked_rules(frame).items() for c in item_columns(prefix)}
    return {}


def spss_table(frame: pd.DataFrame, table: str) -> tuple[pd.DataFrame, dict, dict, dict]:
    """A contract table as the export stores it: (data, value labels, user-missing codes, variable labels)."""
    names = {**NAMES[table], **_item_sources(table)}
    specs = column_specs(table)
    asked = _asked(table, frame)
    data, labels, missing, var_labels = {}, {}, {}, {}
    for column, source in names.items():
        values, spec = frame[column], specs[column]
        if (table, column) in CODES:
            codes = CODES[table, column]
            values = values.map({v: float(code) for v, (code, _) in codes.items()})
            labels[source] = {float(code): label for code, label in codes.values()}
        elif column == "wave":
            values = values.map(WAVE_CODES)
            labels[source] = {code: wave for wave, code in WAVE_CODES.items()}
        elif column.endswith("_id"):
            values = pd.to_numeric(values).astype("float64")  # numeric ids; empty = system-missing
        elif is_text(spec):
            values = values.fillna("")
        if column == "income":
            values = values.fillna(INCOME_REFUSED)
            labels[source][INCOME_REFUSED] = "wil ik niet zeggen"
        if not is_text(spec) or (table, column) in CODES:  # numbers and coded categories: 99 = skipped
            skipped = values.isna() & asked.get(column, pd.Series(True, index=frame.index))
            values = values.mask(skipped, SKIPPED)
            missing[source] = [SKIPPED]
            labels.setdefault(source, {})[SKIPPED] = "niet ingevuld"
        if spec.get("values") == [0, 1]:
            labels[source].update(YES_NO)
        if spec.get("item") in CTS_PREFIXES:
            labels[source].update(CTS_ANSWERS)
        data[source] = values
        var_labels[source] = _variable_label(column, source)
    out = pd.DataFrame(data)
    if table == "parents":  # administrative variables, dropped by the mapping
        entered = pd.Timestamp("2018-02-01") + pd.to_timedelta(frame["wave"].map(WAVE_CODES) * 182, unit="D")
        out["filter_$"] = 1.0
        out["invoerdatum"] = entered.dt.strftime("%Y-%m-%d")
        var_labels.update({"filter_$": "filter", "invoerdatum": "datum van invoer"})
    return out, labels, missing, var_labels


def _variable_label(column: str, source: str) -> str:
    """A neutral variable label: the contract name, never a question text."""
    if source.startswith(CTS2_STEM) and source[len(CTS2_STEM):].isdigit():
        n = int(source[len(CTS2_STEM):])
        return f"CTS2 vraag {n} ({'zelf' if n % 2 else 'partner'})"
    return column


def _write_sav(folder: Path, name: str, table: pd.DataFrame, labels: dict, missing: dict, var_labels: dict) -> None:
    """Write one .sav whole or not at all, with a fixed creation time in the header."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".sav", dir=folder)
    os.close(fd)
    try:
        pyreadstat.write_sav(table, tmp, file_label="Voorbeeldexport Veilig Verder (verzonnen gegevens)",
                             column_labels=var_labels, variable_value_labels=labels, missing_ranges=missing,
                             row_compress=True)
        with open(tmp, "r+b") as fh:
            fh.seek(HEADER_TIME_OFFSET)
            fh.write(FIXED_TIME)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _yaml_value(value: str) -> str:
    """A YAML scalar that reads back as this string (quoted when YAML would read a number or so)."""
    return value if yaml.safe_load(value) == value else f'"{value}"'


def mapping_yml() -> str:
    """The text of the example's ``mapping.yml`` (rendered from the tables above)."""
    lines = [
        "# mapping.yml of the shipped example (data/examples/spss_export): how the export's own variable",
        "# names and codes become the contract's columns. Format: the book's appendix 'Mapping format'.",
        "# Written by data/examples/make_spss_export.py.",
        "version: 1",
        "missing: [99]   # 'not answered'. The .sav files declare it user-missing already; this line keeps",
        "                # it missing should a file lose the declaration (for instance after a conversion)",
        "tables:",
    ]
    for table in TABLES:
        lines.append(f"  {table}:")
        if table in DROPPED:
            lines.append(f"    drop: [{', '.join(DROPPED[table])}]")
        lines.append("    columns:")
        lines += [f"      {source}: {column}" for column, source in NAMES[table].items()]
        stems = [(p, ITEM_STEMS[p]) for p in item_prefixes(table) if p in ITEM_STEMS]
        if stems or table == "parents":
            lines.append("    items:")
        if table == "parents":
            lines += [
                f'      - source: "{CTS2_STEM}{{n}}"   # published form: own act (odd), partner\'s act (even)',
                "        targets: [cts2s, cts2p]",
                "        # contract item of each pair: CTS1/CTS2 -> 1, CTS3/CTS4 -> 2, CTS5/CTS6 -> 7, ...",
                f"        order: [{', '.join(str(n) for n in cts2_form_order())}]",
            ]
        lines += [f'      - {{source: "{stem}{{n}}", targets: {prefix}}}' for prefix, stem in stems]
        if table == "parents":
            lines += ["    missing:", f"      income: [{INCOME_REFUSED:g}]   # 'would rather not say', here only"]
        recodes = [(column, codes) for (t, column), codes in CODES.items() if t == table]
        if recodes:
            lines.append("    recode:   # keys are the stored codes; the value labels are Dutch")
            for column, codes in recodes:
                pairs = ", ".join(f"{code}: {_yaml_value(value)}" for value, (code, _) in codes.items())
                lines.append(f"      {column}: {{{pairs}}}")
    return "\n".join(lines) + "\n"


def write_export(folder: str | Path = DEFAULT_OUT, *, seed: int = SEED) -> Path:
    """Write ``families.sav``, ``parents.sav``, ``children.sav`` and ``mapping.yml`` into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Created when absent. Only these four files are (re)written.
    seed : int, keyword-only
        Seed of the invented answers; the same seed gives the same bytes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in contract_tables(seed=seed).items():
        _write_sav(folder, f"{table}.sav", *spss_table(frame, table))
    fd, tmp = tempfile.mkstemp(prefix=".mapping.", suffix=".yml", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(mapping_yml())
    os.chmod(tmp, 0o644)
    os.replace(tmp, folder / "mapping.yml")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to write (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    print(f"wrote {write_export(args.out, seed=args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
