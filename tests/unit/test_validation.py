"""Malformed dataset folders: each gives a clear report, a non-zero exit, and unchanged input files.

Every case starts from a valid CSV dataset, breaks one thing, and lists the parts the report must
contain: the file, the column, the rule, the number of rows and a row key with its value.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from support.datasets import write_contract_dataset

from veiligverder.contract import table_spec
from veiligverder.data import DataValidationError, load_dataset, validate, validate_cli

SMALL = {"VV": 2, "control": 2, "cohort": 3}


@pytest.fixture(scope="module")
def valid_folder(tmp_path_factory) -> Path:
    return write_contract_dataset(tmp_path_factory.mktemp("valid") / "data", families=SMALL, seed=11)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def edit(folder: Path, table: str, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> pd.DataFrame:
    """Read a table as text, change it, write it back (as a user's broken export would be)."""
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = change(frame)
    frame = frame if changed is None else changed
    frame.to_csv(path, index=False)
    return frame


def row_key(frame: pd.DataFrame, table: str, i: int) -> str:
    """How the report names row ``i`` (0-based) of a table (an empty key shows as ``(empty)``)."""
    keys = ", ".join(f"{k}={frame.loc[i, k] or '(empty)'}" for k in table_spec(table)["key"])
    return f"row {i + 1} ({keys})"


def set_cells(frame: pd.DataFrame, rows: list[int], column: str, value: str) -> pd.DataFrame:
    frame.loc[rows, column] = value
    return frame


def set_cell(table: str, column: str, value: str, rows=(2,)):
    """A case that puts ``value`` into ``column`` at ``rows``; the report must show the first row."""
    def case(folder: Path) -> list[str]:
        frame = edit(folder, table, lambda f: set_cells(f, list(rows), column, value))
        return [f"{table}.csv", f"column '{column}'", f"{len(rows)} row", f"{row_key(frame, table, rows[0])}: "]
    return case


def write_mapping(text: str):
    def case(folder: Path) -> list[str]:
        (folder / "mapping.yml").write_text(text, encoding="utf-8")
        return ["mapping.yml"]
    return case


def duplicate_parent_row(folder: Path) -> list[str]:
    frame = edit(folder, "parents", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    return ["parents.csv", "column 'parent_id, wave'", "rule 'unique key (parent_id, wave)': 2 rows",
            row_key(frame, "parents", 0), row_key(frame, "parents", len(frame) - 1)]


def duplicate_family(folder: Path) -> list[str]:
    frame = edit(folder, "families", lambda f: set_cells(f, [1], "family_id", f.loc[0, "family_id"]))
    return ["families.csv", "rule 'unique key (family_id)': 2 rows", "row 1 (family_id=F0001)", "row 2 (family_id=F0001)"]


def remove_children(folder: Path) -> list[str]:
    (folder / "children.csv").unlink()
    return ["children.*", "rule 'one file per table'", "no children.csv, children.parquet or children.sav"]


def two_family_files(folder: Path) -> list[str]:
    pd.read_csv(folder / "families.csv", dtype=str).to_parquet(folder / "families.parquet")
    return ["families.csv, families.parquet", "rule 'one file per table'", "2 files hold the families table"]


def empty_families(folder: Path) -> list[str]:
    (folder / "families.csv").write_bytes(b"")
    return ["families.csv", "rule 'not empty'", "0 bytes"]


def semicolon_parents(folder: Path) -> list[str]:
    path = folder / "parents.csv"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_csv(path, index=False, sep=";")
    return ["parents.csv", "rule 'comma separator'", "separated by semicolons", "CSV UTF-8 (comma delimited)"]


def not_utf8(folder: Path) -> list[str]:
    path = folder / "families.csv"
    path.write_bytes(path.read_bytes() + "F0999,VV,Délft,1\n".encode("cp1252"))
    return ["families.csv", "rule 'UTF-8 text'", "(line 9) is not UTF-8"]


def ragged_line(folder: Path) -> list[str]:
    path = folder / "families.csv"
    path.write_bytes(path.read_bytes() + b"F0999,VV,Delft,1,surplus,cells\n")
    return ["families.csv", "rule 'readable CSV'", "Expected 4 fields"]


def extra_column(folder: Path) -> list[str]:
    edit(folder, "families", lambda f: f.assign(notes="x", weight="1"))
    return ["families.csv", "column 'notes, weight'", "rule 'unmapped column'", "under 'drop'"]


def drop_income(folder: Path) -> list[str]:
    edit(folder, "parents", lambda f: f.drop(columns=["income", "cts2p_39"]))
    return ["parents.csv", "column 'income, cts2p_39'", "rule 'missing column'"]


def orphan(table: str):
    def case(folder: Path) -> list[str]:
        frame = edit(folder, table, lambda f: set_cells(f, [1], "family_id", "F9999"))
        return [f"{table}.csv", "column 'family_id'", "rule 'references families.family_id': 1 row",
                f"{row_key(frame, table, 1)}: 'F9999'"]
    return case


def recode_leaves_a_code(folder: Path) -> list[str]:
    coded = edit(folder, "parents", lambda f: f.assign(sex=f["sex"].map({"female": "1", "male": "2"})))
    frame = edit(folder, "parents", lambda f: set_cells(f, [3], "sex", "3"))
    assert set(coded["sex"]) == {"1", "2"}
    (folder / "mapping.yml").write_text("tables:\n  parents:\n    recode:\n      sex: {1: female, 2: male}\n")
    return ["parents.csv", "column 'sex'", "rule 'allowed values: female, male': 1 row", f"{row_key(frame, 'parents', 3)}: '3'"]


def mapped_source_absent(folder: Path) -> list[str]:
    (folder / "mapping.yml").write_text("tables:\n  parents:\n    columns: {leeftijd: age_years}\n    drop: [filter_$]\n")
    return ["parents.csv", "column 'filter_$, leeftijd'", "rule 'mapped column present'"]


def rename_onto_existing(folder: Path) -> list[str]:
    edit(folder, "parents", lambda f: f.assign(leeftijd=f["age_years"]))
    (folder / "mapping.yml").write_text("tables:\n  parents:\n    columns: {leeftijd: age_years}\n")
    return ["parents.csv", "column 'age_years'", "rule 'one source per column'"]


def many_bad_rows(folder: Path) -> list[str]:
    frame = edit(folder, "children", lambda f: set_cells(f, list(range(7)), "ctspc_05", "0"))
    return ["children.csv", "column 'ctspc_05'", "rule 'range 1..8': 7 rows", f"{row_key(frame, 'children', 4)}: 0\n",
            "fix: correct these values"]


CASES: dict[str, Callable[[Path], list[str]]] = {
    "wrong code": set_cell("parents", "sex", "vrouw"),
    "unknown group": set_cell("families", "group", "VVT"),
    "out of range": set_cell("parents", "age_years", "120", rows=(2, 5)),
    "non-integer": set_cell("parents", "age_years", "34.5"),
    "wrong type": set_cell("parents", "work_hours", "veel"),
    "decimal comma": set_cell("parents", "work_hours", "7,5"),
    "0/1 column": set_cell("children", "self_report", "2"),
    "unknown wave": set_cell("children", "wave", "T3"),
    "item out of range": set_cell("parents", "cts2s_05", "9"),
    "item non-integer": set_cell("children", "tscyc_01", "1.5"),
    "missing key": set_cell("parents", "parent_id", ""),
    "missing group": set_cell("families", "group", "", rows=(0,)),
    "duplicate key": duplicate_parent_row,
    "duplicate family": duplicate_family,
    "orphan child": orphan("children"),
    "orphan parent": orphan("parents"),
    "missing table": remove_children,
    "two files for one table": two_family_files,
    "empty file": empty_families,
    "semicolon CSV": semicolon_parents,
    "not UTF-8": not_utf8,
    "ragged CSV": ragged_line,
    "unmapped column": extra_column,
    "missing column": drop_income,
    "recode leaves a code": recode_leaves_a_code,
    "mapped column absent": mapped_source_absent,
    "rename onto an existing column": rename_onto_existing,
    "many bad rows": many_bad_rows,
    "bad mapping.yml": write_mapping("tables: [parents\n"),
    "mapping to unknown column": write_mapping("tables:\n  parents:\n    columns: {geslacht: gender}\n"),
    "missing code for unknown column": write_mapping("missing: [99]\ntables:\n  parents:\n    missing: {age: [99]}\n"),
    "missing code not a list": write_mapping("missing: 99\n"),
    "unknown table in mapping": write_mapping("tables:\n  kids:\n    columns: {id: child_id}\n"),
    "unknown item prefix": write_mapping("tables:\n  parents:\n    items:\n      - {source: 'Q{n}', targets: [cts2x]}\n"),
    "item pattern without n": write_mapping("tables:\n  parents:\n    items:\n      - {source: 'CTS', targets: cts2s}\n"),
    # spellings a fast number parser accepts, judged by the text rules (issue 13: Arrow-backed CSV)
    "nan as text": set_cell("parents", "age_years", "nan"),
    "number too large": set_cell("children", "age_years", "1e400"),
    "infinity": set_cell("parents", "safety_grade", "inf", rows=(1, 4)),
    "item float32 cannot hold": set_cell("parents", "tsi_001", "1.00000001"),
}

EXPECT = {  # the rule each of these cases breaks
    "nan as text": ["rule 'number'", ": 'nan'"],
    "number too large": ["rule 'number'", ": '1e400'"],
    "infinity": ["rule 'range 1..10': 2 rows", ": inf"],
    "item float32 cannot hold": ["rule 'whole number'", ": 1.00000001"],
}

MAPPING_EXPECT = {  # what the report says about each bad mapping.yml, beyond the file name
    "bad mapping.yml": ["- mapping.yml, rule 'readable YAML'", "line 1"],
    "mapping to unknown column": ["column 'tables.parents.columns.geslacht'", "rule 'unknown column'", "'gender'"],
    "missing code for unknown column": ["column 'tables.parents.missing.age'", "rule 'unknown column'"],
    "missing code not a list": ["column 'missing'", "rule 'missing codes'", "got 99"],
    "unknown table in mapping": ["column 'tables.kids'", "rule 'unknown table'"],
    "unknown item prefix": ["column 'tables.parents.items[0]'", "rule 'unknown column'", "cts2x"],
    "item pattern without n": ["column 'tables.parents.items[0]'", "rule 'items source'"],
}


def test_there_are_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_dataset_gives_clear_report(name, valid_folder, tmp_path, capsys):
    folder = Path(shutil.copytree(valid_folder, tmp_path / "data"))
    expected = CASES[name](folder) + MAPPING_EXPECT.get(name, []) + EXPECT.get(name, [])
    before = snapshot(folder)
    assert validate_cli(folder) == 1
    printed = capsys.readouterr().out
    assert printed.startswith(f"{folder}: ")
    for part in expected:
        assert part in printed, f"{name}: {part!r} not in report:\n{printed}"
    assert "fix: " in printed
    assert snapshot(folder) == before  # same files, same bytes


@pytest.mark.parametrize("name", ["wrong code", "missing table", "bad mapping.yml", "semicolon CSV"])
def test_load_dataset_raises_the_same_report(name, valid_folder, tmp_path):
    folder = Path(shutil.copytree(valid_folder, tmp_path / "data"))
    CASES[name](folder)
    with pytest.raises(DataValidationError) as err:
        load_dataset(folder)
    assert isinstance(err.value, ValueError)
    assert str(err.value) == validate(folder).text() == err.value.report.text()


def test_all_problems_are_collected_before_failing(valid_folder, tmp_path):
    folder = Path(shutil.copytree(valid_folder, tmp_path / "data"))
    for case in ("wrong code", "orphan child", "unmapped column", "item non-integer"):
        CASES[case](folder)
    report = validate(folder)
    assert not report.ok
    assert [(p.file, p.column, p.rule) for p in report.problems] == [
        ("families.csv", "notes, weight", "unmapped column"),
        ("parents.csv", "sex", "allowed values: female, male"),
        ("children.csv", "family_id", "references families.family_id"),
        ("children.csv", "tscyc_01", "whole number"),
    ]
    assert report.text().splitlines()[0].endswith("4 problems found; the input files were not changed")


def test_five_examples_at_most(valid_folder, tmp_path):
    folder = Path(shutil.copytree(valid_folder, tmp_path / "data"))
    CASES["many bad rows"](folder)
    (problem,) = validate(folder).problems
    assert problem.n_rows == 7
    assert [e.split(" (")[0] for e in problem.examples] == ["row 1", "row 2", "row 3", "row 4", "row 5"]


def test_valid_folder_passes(valid_folder, capsys):
    before = snapshot(valid_folder)
    report = validate(valid_folder)
    assert report.ok and report.problems == []
    data = load_dataset(valid_folder)
    assert report.counts == {"families": len(data.families), "parents": len(data.parents), "children": len(data.children)}
    assert validate_cli(valid_folder) == 0
    assert capsys.readouterr().out == (
        f"{valid_folder}: valid (families: 7 rows, parents: {len(data.parents)} rows, children: {len(data.children)} rows)\n"
    )
    assert snapshot(valid_folder) == before


def test_missing_folder(tmp_path, capsys):
    assert validate_cli(tmp_path / "nope") == 1
    assert "rule 'dataset folder'" in capsys.readouterr().out


def test_validate_and_load_reads_once_and_agrees_with_both(valid_folder, tmp_path):
    """One read gives validate's report and load_dataset's tables; an invalid folder gives no dataset."""
    from veiligverder.data import validate_and_load

    report, data = validate_and_load(valid_folder)
    assert report.text() == validate(valid_folder).text()
    loaded = load_dataset(valid_folder)
    for table in ("families", "parents", "children"):
        pd.testing.assert_frame_equal(getattr(data, table), getattr(loaded, table))
    assert data.meta == loaded.meta

    broken = Path(shutil.copytree(valid_folder, tmp_path / "broken"))
    edit(broken, "parents", lambda f: f.assign(age_years="veel"))
    report, data = validate_and_load(broken)
    assert data is None and not report.ok
    assert report.text() == validate(broken).text()
