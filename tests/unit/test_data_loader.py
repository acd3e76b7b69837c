"""The loader: three file formats give the same Dataset; mapping.yml; dtypes; hash; synthetic marker."""

from __future__ import annotations

import collections
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyreadstat
import pytest
from support.datasets import SAV_MISSING, contract_frames, write_contract_dataset, write_tables

from veiligverder.contract import item_columns
from veiligverder.data import DataValidationError, load_dataset
from veiligverder.data.convert import lookup, matches, text_of, to_number, to_text
from veiligverder.data.schema import column_specs, contract_dtypes, is_item, is_text
from veiligverder.paths import BOOK_DIR

SMALL = {"VV": 3, "control": 3, "cohort": 4}
TABLES = ("families", "parents", "children")


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file in the folder (the loader must leave all of them as they were)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def in_memory(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """A contract frame (support.datasets: every number float64) in the loader's dtypes: items float32."""
    return frame.astype(contract_dtypes(table))


def assert_same_tables(a, b) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))


@pytest.fixture(scope="module")
def frames():
    return contract_frames(families=SMALL, seed=3)


# --- Acceptance 1: csv, parquet and sav (labels + user-missing) load to equal Datasets -----------


def test_three_formats_load_to_equal_datasets(tmp_path, frames):
    loaded = {}
    for fmt in ("csv", "parquet", "sav"):
        folder = write_tables(frames, tmp_path / fmt, fmt=fmt)
        before = snapshot(folder)
        loaded[fmt] = load_dataset(folder)
        assert snapshot(folder) == before  # nothing written, nothing changed
        assert loaded[fmt].meta.files == {t: f"{t}.{fmt}" for t in TABLES}
    for fmt in ("parquet", "sav"):
        assert_same_tables(loaded["csv"], loaded[fmt])
    for table in TABLES:  # ... and equal to the frames that were written
        pd.testing.assert_frame_equal(getattr(loaded["csv"], table), in_memory(frames[table], table))
    assert len({d.meta.content_hash for d in loaded.values()}) == 3


def test_sav_file_really_uses_labels_and_user_missing(tmp_path, frames):
    """Guard for the test above: the .sav holds codes with labels and the user-missing code 99."""
    folder = write_tables(frames, tmp_path, fmt="sav")
    raw, meta = pyreadstat.read_sav(folder / "parents.sav", user_missing=True)
    assert meta.variable_value_labels["sex"] == {1.0: "female", 2.0: "male"}
    assert set(raw["sex"]) == {1.0, 2.0}
    assert meta.missing_ranges["help_useful"] == [{"lo": SAV_MISSING, "hi": SAV_MISSING}]
    n_missing = frames["parents"]["help_useful"].isna().sum()
    assert n_missing > 0 and (raw["help_useful"] == SAV_MISSING).sum() == n_missing
    loaded = load_dataset(folder)
    assert loaded.parents["help_useful"].isna().sum() == n_missing
    assert set(loaded.parents["sex"]) == {"female", "male"}


def test_dtypes_follow_the_contract(tmp_path, frames):
    data = load_dataset(write_tables(frames, tmp_path, fmt="parquet"))
    for table in TABLES:
        frame = getattr(data, table)
        assert list(frame.columns) == list(column_specs(table))
        for name, spec in column_specs(table).items():
            if is_text(spec):
                assert frame[name].dtype == object
                assert frame[name].dropna().map(type).eq(str).all(), name
            elif is_item(spec):  # answer codes: exact in float32, half the memory
                assert frame[name].dtype == "float32", name
            else:
                assert frame[name].dtype == "float64", name
    assert data.parents["parent_id"].iloc[0] == "F0001-P1"


def test_parquet_with_pandas_extension_dtypes(tmp_path, frames):
    """Nullable integers, categoricals and booleans in Parquet load like plain columns."""
    parents = frames["parents"].astype({"age_years": "Int64", "sex": "category", "income": "category"})
    parents["single_parent"] = parents["single_parent"].astype(bool)
    folder = write_tables({**frames, "parents": parents}, tmp_path, fmt="parquet")
    pd.testing.assert_frame_equal(load_dataset(folder).parents, in_memory(frames["parents"], "parents"))


# --- meta -----------------------------------------------------------------------------------------


def test_content_hash_is_sha256_of_names_and_bytes_in_name_order(tmp_path, frames):
    folder = write_tables(frames, tmp_path / "a", fmt="csv")
    expected = hashlib.sha256()
    for name in ("children.csv", "families.csv", "parents.csv"):
        expected.update(name.encode() + b"\0" + (folder / name).read_bytes())
    data = load_dataset(folder)
    assert data.meta.content_hash == expected.hexdigest()
    assert data.meta.path == folder.resolve()
    # the same files elsewhere: the same hash; a mapping.yml (even empty of effect) changes it
    copy = write_tables(frames, tmp_path / "b", fmt="csv")
    assert load_dataset(copy).meta.content_hash == expected.hexdigest()
    (copy / "mapping.yml").write_text("version: 1\n", encoding="utf-8")
    with_mapping = load_dataset(copy).meta.content_hash
    assert with_mapping != expected.hexdigest()
    (copy / "README.txt").write_text("not read\n", encoding="utf-8")  # other files are ignored
    assert load_dataset(copy).meta.content_hash == with_mapping


def test_synthetic_only_with_marker_file(tmp_path):
    real = write_contract_dataset(tmp_path / "real", families=SMALL)
    synthetic = write_contract_dataset(tmp_path / "synth", families=SMALL, synthetic=True)
    assert load_dataset(real).meta.synthetic is False
    assert load_dataset(synthetic).meta.synthetic is True
    assert load_dataset(real).meta.content_hash == load_dataset(synthetic).meta.content_hash


def test_builder_is_reproducible_and_has_attrition(tmp_path):
    a = write_contract_dataset(tmp_path / "a", families=30, seed=5)
    b = write_contract_dataset(tmp_path / "b", families=30, seed=5)
    assert snapshot(a) == snapshot(b)
    data = load_dataset(a)
    assert data.families["group"].value_counts().to_dict() == {"VV": 10, "control": 10, "cohort": 10}
    families_per_wave = data.parents.groupby("wave")["family_id"].nunique()
    assert families_per_wave["T0"] == 30 > families_per_wave["T1"] >= families_per_wave["T2"] > 0


# --- CSV details ----------------------------------------------------------------------------------


def test_csv_with_byte_order_mark_is_accepted(tmp_path, frames):
    plain = write_tables(frames, tmp_path / "plain", fmt="csv")
    bom = write_tables(frames, tmp_path / "bom", fmt="csv")
    for table in TABLES:
        path = bom / f"{table}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert_same_tables(load_dataset(plain), load_dataset(bom))


def test_validate_false_skips_value_rules_only(tmp_path, frames):
    folder = write_tables(frames, tmp_path, fmt="csv")
    parents = pd.read_csv(folder / "parents.csv", dtype=str, keep_default_na=False)
    parents.loc[0, "age_years"] = "120"
    parents.to_csv(folder / "parents.csv", index=False)
    with pytest.raises(DataValidationError):
        load_dataset(folder)
    assert load_dataset(folder, validate=False).parents.loc[0, "age_years"] == 120.0
    parents.loc[0, "age_years"] = "old"
    parents.to_csv(folder / "parents.csv", index=False)
    with pytest.raises(DataValidationError, match="rule 'number'"):
        load_dataset(folder, validate=False)


# --- mapping.yml ----------------------------------------------------------------------------------


def test_missing_codes_global_and_per_column(tmp_path, frames):
    """Global 99: numbers and categories, not ids; per column: any code, text included."""
    families, parents, children = (frames[t].copy() for t in TABLES)
    old_id = families.loc[2, "family_id"]
    families.loc[2, "family_id"] = "99"  # an id equal to the global code must survive
    parents["family_id"] = parents["family_id"].replace(old_id, "99")
    children["family_id"] = children["family_id"].replace(old_id, "99")
    families.loc[0, "n_children_over3"] = 99.0
    families.loc[1, "region"] = "onbekend"
    exported = parents.astype({"education": object, "work_hours": object})
    exported.loc[0, "education"] = 99  # a category takes the global code
    exported.loc[1, "work_hours"] = "NA"  # a text code in a numeric column, declared per column
    folder = write_tables({"families": families, "parents": exported, "children": children}, tmp_path, fmt="csv")
    (folder / "mapping.yml").write_text(
        "missing: [99]\ntables:\n  families:\n    missing: {region: [onbekend]}\n"
        "  parents:\n    missing: {work_hours: [NA]}\n",
        encoding="utf-8",
    )
    data = load_dataset(folder)
    assert np.isnan(data.families.loc[0, "n_children_over3"])
    assert pd.isna(data.families.loc[1, "region"])
    assert data.families.loc[2, "family_id"] == "99"
    assert pd.isna(data.parents.loc[0, "education"]) and np.isnan(data.parents.loc[1, "work_hours"])
    assert data.families.loc[3, "n_children_over3"] == families.loc[3, "n_children_over3"]
    pd.testing.assert_frame_equal(data.parents.iloc[2:], in_memory(parents, "parents").iloc[2:])


def test_items_renumbered_interleaved_and_reordered(tmp_path, frames):
    """Source Q1..Q6 = pairs (own, partner) for contract items 7, 1 and 15 (order given)."""
    parents = frames["parents"].copy()
    own, partner = item_columns("cts2s", [7, 1, 15]), item_columns("cts2p", [7, 1, 15])
    source = {f"Q{2 * i + 1}": own[i] for i in range(3)} | {f"Q{2 * i + 2}": partner[i] for i in range(3)}
    exported = parents.rename(columns={v: k for k, v in source.items()})
    folder = write_tables({**frames, "parents": exported}, tmp_path, fmt="csv")
    (folder / "mapping.yml").write_text(
        "tables:\n  parents:\n    items:\n      - {source: 'Q{n}', targets: [cts2s, cts2p], order: [7, 1, 15]}\n",
        encoding="utf-8",
    )
    pd.testing.assert_frame_equal(load_dataset(folder).parents, in_memory(parents, "parents"))


def test_recode_keys_are_stored_values_and_null_means_missing(tmp_path, frames):
    parents = frames["parents"].copy()
    exported = parents.assign(sex=parents["sex"].map({"female": 1, "male": 2}))
    exported.loc[0, "sex"] = 0
    folder = write_tables({**frames, "parents": exported}, tmp_path, fmt="csv")
    (folder / "mapping.yml").write_text(
        "tables:\n  parents:\n    recode:\n      sex: {0: ~, 1: female, 2: male}\n", encoding="utf-8"
    )
    data = load_dataset(folder)
    assert pd.isna(data.parents.loc[0, "sex"])
    pd.testing.assert_series_equal(data.parents["sex"].iloc[1:], parents["sex"].iloc[1:])


# --- the worked example of book/appendix_mapping_format.md ----------------------------------------

EXAMPLE_MARK = "# mapping.yml of the worked example"
SOURCE_NAMES = {  # contract -> source names, as in the worked example
    "parent_id": "respnr", "family_id": "gezinsnr", "wave": "meting", "sex": "geslacht", "age_years": "leeftijd",
    "migration": "herkomst", "education": "opleiding", "income": "inkomen", "work_hours": "werkuren",
    "single_parent": "alleenstaand", "psych_problems": "psych", "safety_grade": "veiligheid",
    "qol_grade": "kwaliteit", "help_formal": "hulp", "help_useful": "hulp_nut", "help_important": "hulp_belang",
    "help_grade": "hulp_cijfer", "help_grade_type": "hulp_soort",
}
ITEM_SOURCES = {"ace": "ACE", "tsi": "TSI", "mansa": "MANSA", "mansao": "MANSA_obj", "nosik": "NOSIK",
                "nosic": "NOSIC", "ppq": "PPQ", "mpf": "MPF", "auditc": "AUDIT", "auditcp": "AUDITP"}
CODES = {  # category -> numeric code in the export (labels in Dutch, as a Dutch SPSS file would have)
    "sex": ["female", "male"], "migration": column_specs("parents")["migration"]["values"],
    "education": column_specs("parents")["education"]["values"], "income": ["lt1500", "1500_3100", "gt3100"],
}


def worked_example_mapping() -> str:
    text = (BOOK_DIR / "appendix_mapping_format.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return next(block for block in blocks if block.startswith(EXAMPLE_MARK))


def spss_export(parents: pd.DataFrame, path: Path) -> None:
    """Write the parents table as the SPSS export that the worked example describes."""
    columns = {source: parents[name] for name, source in SOURCE_NAMES.items()}
    for k in range(1, 40):  # published form: own act, then partner's act
        columns[f"CTS{2 * k - 1}"] = parents[item_columns("cts2s", [k])[0]]
        columns[f"CTS{2 * k}"] = parents[item_columns("cts2p", [k])[0]]
    for prefix, stem in ITEM_SOURCES.items():
        for n, column in enumerate(item_columns(prefix), start=1):
            columns[f"{stem}{n}"] = parents[column]
    out = pd.DataFrame(columns).assign(**{"filter_$": 1.0, "invoerdatum": "2018-03-01"})
    for name, values in CODES.items():
        out[SOURCE_NAMES[name]] = parents[name].map({v: float(i + 1) for i, v in enumerate(values)})
    out["inkomen"] = out["inkomen"].fillna(9.0)
    out["meting"] = parents["wave"].map({"T0": 0.0, "T1": 1.0, "T2": 2.0})
    numeric = [c for c in out if out[c].dtype == "float64"]
    out[numeric] = out[numeric].fillna(99.0)  # 99 = not answered, not declared in SPSS
    for column in ("respnr", "gezinsnr", "hulp_soort"):
        out[column] = out[column].fillna("")
    labels = {
        "meting": {0.0: "T0", 1.0: "T1", 2.0: "T2"},
        "geslacht": {1.0: "vrouw", 2.0: "man"},
        "inkomen": {1.0: "< 1500", 2.0: "1500-3100", 3.0: "> 3100", 9.0: "wil ik niet zeggen"},
    }
    pyreadstat.write_sav(out, path, variable_value_labels=labels)


def test_worked_example_of_the_mapping_appendix(tmp_path, frames):
    parents = frames["parents"].copy()
    parents.loc[[1, 4], "income"] = np.nan  # written as 9, declared for this column
    parents.loc[[2, 5], "migration"] = np.nan  # written as 99, the global code
    parents.loc[3, "help_grade_type"] = np.nan
    expected = write_tables({**frames, "parents": parents}, tmp_path / "contract", fmt="csv")
    folder = write_tables({t: frames[t] for t in ("families", "children")}, tmp_path / "export", fmt="csv")
    spss_export(parents, folder / "parents.sav")
    (folder / "mapping.yml").write_text(worked_example_mapping(), encoding="utf-8")
    assert_same_tables(load_dataset(folder), load_dataset(expected))


# --- conversions ----------------------------------------------------------------------------------


def test_conversions_compare_values_across_formats():
    assert [text_of(v) for v in (1, 1.0, np.float64(2.0), 2.5, " a ", True)] == ["1", "1", "2", "2.5", "a", "1"]
    text = to_text(pd.Series([1.0, np.nan, 3.5]))
    assert text.tolist()[0] == "1" and pd.isna(text[1]) and text[2] == "3.5"
    assert to_text(pd.Series([" x", "", None], dtype=object)).tolist()[0] == "x"
    assert to_text(pd.Series([" x", "", None], dtype=object)).isna().tolist() == [False, True, True]
    numbers, bad = to_number(pd.Series(["1", " 2.5 ", "", "7,5", None], dtype=object))
    assert numbers.tolist()[:2] == [1.0, 2.5] and bad.tolist() == [False, False, False, True, False]
    assert matches(pd.Series([99.0, 9.0, np.nan]), [99]).tolist() == [True, False, False]
    assert matches(pd.Series(["99", "x"]), [99]).tolist() == [True, False]
    assert lookup(pd.Series([1.0, 2.0, 3.0]), {1: "female", 2: "male"}).tolist() == ["female", "male", 3.0]


# --- registry-sized data: typed columns, batches, Arrow and its fallbacks, memory (issue 13) -------


def edit_csv(folder: Path, table: str, change) -> pd.DataFrame:
    """Read a table as text, change it, write it back (as a user's export would be)."""
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(folder / f"{table}.csv", index=False)
    return frame


def test_float32_items_score_like_float64(tmp_path, frames):
    """The scoring engine accepts float32 item columns and gives the same scores as from float64."""
    from veiligverder.instruments import score_table

    data = load_dataset(write_tables(frames, tmp_path, fmt="csv"))
    for table in ("parents", "children"):
        loaded = getattr(data, table)
        items = [c for c, spec in column_specs(table).items() if is_item(spec)]
        assert (loaded[items].dtypes == "float32").all()
        wide = loaded.astype({c: "float64" for c in items})
        pd.testing.assert_frame_equal(score_table(loaded, table), score_table(wide, table))


def test_small_batches_give_the_same_tables_and_problems(tmp_path, frames, monkeypatch):
    """Rows converted in many Arrow batches (and pandas chunks) equal one batch, problems included."""
    import shutil

    from veiligverder.data import readers, validate

    folder = write_tables(frames, tmp_path / "a", fmt="csv")
    edit_csv(folder, "children", lambda f: f.assign(tscyc_01=["1.5" if i % 7 == 3 else v for i, v in enumerate(f["tscyc_01"])]))
    edit_csv(folder, "parents", lambda f: f.assign(work_hours=["NA" if i % 5 == 1 else v for i, v in enumerate(f["work_hours"])]))
    (folder / "mapping.yml").write_text("tables:\n  parents:\n    missing: {work_hours: [NA]}\n", encoding="utf-8")
    broken = Path(shutil.copytree(folder, tmp_path / "b"))
    edit_csv(broken, "parents", lambda f: f.assign(age_years=["veel" if i % 4 == 2 else v for i, v in enumerate(f["age_years"])]))
    whole, report = load_dataset(folder, validate=False), validate(broken).text()
    # 8 kB blocks: 3 Arrow batches for the parents (24 kB) and the children (18 kB), enough to show
    # that rows converted batch by batch equal one batch (4 kB gave 5-6 batches at twice the time:
    # every batch converts each of the ~600 columns); counted, so that it cannot become one batch
    batches = collections.Counter()
    arrow_batches = readers.CsvSource._arrow_batches

    def counted(self, wanted):
        for batch in arrow_batches(self, wanted):
            batches[self.file] += 1
            yield batch

    monkeypatch.setattr(readers.CsvSource, "_arrow_batches", counted)
    monkeypatch.setattr(readers, "BLOCK_BYTES", 8192)
    assert_same_tables(load_dataset(folder, validate=False), whole)
    assert batches["parents.csv"] >= 3 and batches["children.csv"] >= 3, batches
    assert validate(broken).text() == report
    assert "rule 'number': " in report and "rule 'whole number': " in report

    def arrow_fails(*args, **kwargs):
        raise pyarrow.ArrowInvalid("CSV parse error: forced by the test")

    monkeypatch.setattr(readers.pacsv, "open_csv", arrow_fails)  # every CSV by the pandas fallback ...
    monkeypatch.setattr(readers, "CHUNK_ROWS", 40)                # ... in chunks of 40 rows
    assert_same_tables(load_dataset(folder, validate=False), whole)
    assert validate(broken).text() == report


def test_arrow_numbers_that_are_not_numbers_are_judged_as_text(tmp_path, frames):
    """``nan`` and ``1e400`` parse in Arrow but are not numbers; ``inf`` is a number out of range."""
    from veiligverder.data import validate

    folder = write_tables(frames, tmp_path, fmt="csv")
    edit_csv(folder, "parents", lambda f: f.assign(age_years=["nan", "1e400", "inf", *f["age_years"][3:]]))
    problems = {(p.column, p.rule): p for p in validate(folder).problems}
    number = problems[("age_years", "number")]
    assert number.n_rows == 2
    assert [e.split(": ")[1] for e in number.examples] == ["'nan'", "'1e400'"]
    assert problems[("age_years", "range 16..90")].examples[0].endswith(": inf")


def test_item_value_float32_cannot_hold_is_reported_as_written(tmp_path, frames):
    from veiligverder.data import validate

    folder = write_tables(frames, tmp_path, fmt="csv")
    edit_csv(folder, "parents", lambda f: f.assign(tsi_001=["1.00000001", *f["tsi_001"][1:]]))
    (problem,) = validate(folder).problems
    assert (problem.column, problem.rule, problem.n_rows) == ("tsi_001", "whole number", 1)
    assert problem.examples[0].endswith(": 1.00000001")
    parents = load_dataset(folder, validate=False).parents
    assert parents["tsi_001"].dtype == "float64" and parents["tsi_002"].dtype == "float32"


def test_many_columns_with_decimal_commas(tmp_path, frames):
    """More columns than Arrow's restarts allow: all numbers are then read as text, every cell reported."""
    from veiligverder.data import validate

    folder = write_tables(frames, tmp_path, fmt="csv")
    columns = ["safety_grade", "qol_grade", "work_hours", "help_grade", "age_years", "cts2s_01", "ace_01"]
    edit_csv(folder, "parents", lambda f: f.assign(**{c: "7,5" for c in columns}))
    problems = validate(folder).problems
    assert {p.column for p in problems if p.rule == "number"} == set(columns)
    assert all(p.n_rows == len(frames["parents"]) and p.examples[0].endswith(": '7,5'") for p in problems)


def test_csv_arrow_cannot_split_is_read_by_pandas(tmp_path, frames):
    """A newline inside a quoted cell and a duplicated column name: read as pandas reads them."""
    from veiligverder.data import validate

    folder = write_tables(frames, tmp_path, fmt="csv")
    families = edit_csv(folder, "families", lambda f: f.assign(region=["Den\nHaag", *f["region"][1:]]))
    assert load_dataset(folder).families.loc[0, "region"] == "Den\nHaag"
    assert families.shape[0] == len(frames["families"])
    path = folder / "families.csv"
    header, _, body = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(header + ",region\n" + body.replace("\n", ",x\n").replace("Den,x\nHaag", "Den\nHaag"), encoding="utf-8")
    (problem,) = validate(folder).problems
    assert (problem.rule, problem.column) == ("unmapped column", "region.1")


def test_csv_with_crlf_and_quotes_everywhere(tmp_path, frames):
    """R's write.csv quotes every text cell and Windows ends lines with CR LF: same tables."""
    plain = write_tables(frames, tmp_path / "plain", fmt="csv")
    quoted = write_tables(frames, tmp_path / "quoted", fmt="csv")
    for table in TABLES:
        path = quoted / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.to_csv(path, index=False, quoting=1, lineterminator="\r\n")  # QUOTE_ALL
    assert_same_tables(load_dataset(plain), load_dataset(quoted))
    mixed = quoted / "children.csv"  # lone CRs among LFs: more rows than LFs, the arrays grow
    mixed.write_bytes(mixed.read_bytes().replace(b"\r\n", b"\r", 20))
    assert_same_tables(load_dataset(plain), load_dataset(quoted))


@pytest.mark.parametrize("step", ["reading", "checking", "foreseen"])
def test_memory_error_becomes_a_clear_problem(tmp_path, frames, monkeypatch, step):
    """A table too large for memory ends in a report naming the file and its size, never a MemoryError
    (nor, on Linux, the kill that comes instead of it: a table larger than the memory available is
    refused before it is filled)."""
    from veiligverder.data import loader, readers, validate

    folder = write_tables(frames, tmp_path, fmt="csv")

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    if step == "reading":
        monkeypatch.setitem(readers.READERS, ".csv", out_of_memory)
    elif step == "checking":
        monkeypatch.setattr(loader, "check_table", out_of_memory)
    else:
        monkeypatch.setattr(loader, "available_memory", lambda: 1000)
    with pytest.raises(DataValidationError) as err:
        load_dataset(folder)
    message = str(err.value)
    size = (folder / "parents.csv").stat().st_size / 1024**2
    assert "- parents.csv, rule 'fits in memory'" in message
    assert f"the {size:.0f} MB file ran out of memory" in message
    assert "split the dataset" in message and "'Scaling out'" in message
    tables = ["parents.csv", "children.csv"] if step == "foreseen" else ["families.csv", "parents.csv", "children.csv"]
    assert [p.file for p in err.value.report.problems] == tables  # the small families table fits in 1000 bytes
    if step == "foreseen":
        assert "the table needs at least " in message and "0 MB are available" in message
    assert validate(folder).text() == message  # validate reports it too, without raising
