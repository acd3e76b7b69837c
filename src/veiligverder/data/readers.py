"""Find the table files of a dataset folder and read them (CSV, Parquet, SPSS .sav) without writing.

Each file is read into memory once; the same bytes are hashed and parsed, so the content hash
always describes what was loaded.

CSV rules: UTF-8 (a byte-order mark is accepted), comma as separator, a point as decimal mark, an
empty cell for missing. Semicolon-separated files (as Excel writes them in Dutch settings, usually
with decimal commas) are refused with an explanation rather than guessed at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pyreadstat

from veiligverder.data.report import Problem

FORMATS = (".csv", ".parquet", ".sav")
CSV_FIX = "save the table as 'CSV UTF-8 (comma delimited)' with a decimal point (in R: write.csv(..., na = ''))"


@dataclass(frozen=True)
class RawTable:
    """A table as stored in its file: source column names, source values.

    Attributes
    ----------
    frame : DataFrame
        Source columns with a RangeIndex; CSV cells as text, other formats as stored.
    labels : dict
        SPSS value labels per source column ({} for CSV and Parquet).
    """

    frame: pd.DataFrame
    labels: dict[str, dict[Any, str]] = field(default_factory=dict)


def locate(folder: Path, table: str) -> tuple[Path | None, Problem | None]:
    """The one file holding ``table`` (``<table>.csv``, ``.parquet`` or ``.sav``), or a problem."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.stem == table and p.suffix.lower() in FORMATS)
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, Problem(
            file=f"{table}.*", column=None, rule="one file per table",
            examples=(f"no {table}.csv, {table}.parquet or {table}.sav in the folder",),
            fix=f"add the {table} table to the folder as {table}.csv, .parquet or .sav",
        )
    return None, Problem(
        file=", ".join(p.name for p in found), column=None, rule="one file per table",
        examples=(f"{len(found)} files hold the {table} table",),
        fix="keep exactly one of them in the folder",
    )


def _file_problem(file: str, rule: str, detail: str, fix: str) -> Problem:
    return Problem(file=file, column=None, rule=rule, examples=(detail,), fix=fix)


def _read_csv(data: bytes, file: str) -> tuple[RawTable | None, Problem | None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return None, _file_problem(file, "UTF-8 text", f"byte {err.start} (line {line}) is not UTF-8", CSV_FIX)
    header = text.lstrip().partition("\n")[0]
    if not header.strip():
        return None, _file_problem(file, "not empty", "the file has no header line", "write the table with its header")
    if ";" in header and "," not in header:
        return None, _file_problem(
            file, "comma separator", f"the header is separated by semicolons: {header[:60]!r}", CSV_FIX
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as err:
        return None, _file_problem(file, "readable CSV", " ".join(str(err).split()), CSV_FIX)
    return RawTable(frame.reset_index(drop=True)), None


def _read_parquet(data: bytes, file: str) -> tuple[RawTable | None, Problem | None]:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (pyarrow.ArrowException, OSError, ValueError) as err:
        return None, _file_problem(file, "readable Parquet", " ".join(str(err).split()), "write the file again")
    return RawTable(frame.reset_index(drop=True)), None


def _read_sav(data: bytes, file: str) -> tuple[RawTable | None, Problem | None]:
    try:
        # user_missing=False (the default): SPSS user-missing codes arrive as NaN.
        frame, meta = pyreadstat.read_sav(io.BytesIO(data), user_missing=False)
    except Exception as err:  # pyreadstat raises its own ReadstatError / PyreadstatError types
        return None, _file_problem(file, "readable SPSS file", " ".join(str(err).split()), "save the file again from SPSS")
    return RawTable(frame.reset_index(drop=True), dict(meta.variable_value_labels)), None


READERS = {".csv": _read_csv, ".parquet": _read_parquet, ".sav": _read_sav}


def read_table(path: Path, data: bytes) -> tuple[RawTable | None, Problem | None]:
    """Parse the bytes of one table file (format from its suffix) into a :class:`RawTable`."""
    if not data:
        return None, _file_problem(path.name, "not empty", "the file is empty (0 bytes)", "write the table again")
    return READERS[path.suffix.lower()](data, path.name)
