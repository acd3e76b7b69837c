"""Find the table files of a dataset folder and open them (CSV, Parquet, SPSS .sav) without writing.

Each file is read into memory once, one file at a time; the same bytes are hashed and parsed, so
the content hash always describes what was loaded. An opened file is a :class:`TableSource`: its column names, its
SPSS value labels, and its rows in batches of source columns, which the loader converts into
contract columns batch by batch (see :mod:`veiligverder.data.columns`).

CSV rules: UTF-8 (a byte-order mark is accepted), comma as separator, a point as decimal mark, an
empty cell for missing. Semicolon-separated files (as Excel writes them in Dutch settings, usually
with decimal commas) are refused with an explanation rather than guessed at.

CSV files are parsed by Arrow, streaming and in parallel, only the columns the loader needs, every
cell as dictionary-encoded text: per batch, each distinct text once plus a 4-byte index per cell
(answer codes repeat endlessly), which the loader converts by the same rules as any text. A file
Arrow cannot split exactly as pandas would (a ragged line, a newline inside a quoted cell across
batches, duplicate or empty column names) is read by pandas instead, in chunks of text, with the
same results and messages as before (:class:`Restart`).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pyarrow.csv as pacsv
import pyreadstat

from veiligverder.data.problems import Problem

FORMATS = (".csv", ".parquet", ".sav")
CSV_FIX = "save the table as 'CSV UTF-8 (comma delimited)' with a decimal point (in R: write.csv(..., na = ''))"
BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 4 << 20  # CSV bytes per Arrow batch: ~7 million cells, 4 bytes each once parsed
CHUNK_ROWS = 65_536     # rows per batch of the pandas CSV fallback
DECODE_BYTES = 16 << 20  # CSV bytes decoded at a time by the UTF-8 check (no copy of the whole text)


class Restart(Exception):
    """Batches already delivered must be read again, from the first row: Arrow could not split the
    file as pandas does, and the pandas fallback takes over."""


class ReadFailed(Exception):
    """The file cannot be read; ``problem`` says why (raised while batches are delivered)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.rule)
        self.problem = problem


@dataclass
class TableSource:
    """An opened table file: its column names, and its rows in batches.

    Attributes
    ----------
    columns : list of str
        Source column names in file order (as pandas names them: duplicates get ``.1``).
    labels : dict
        SPSS value labels per source column ({} for CSV and Parquet).
    capacity : int
        The number of rows, or for CSV a bound from the line count (which a file mixing lone CR
        line ends with LFs can exceed; the loader then grows its arrays).
    """

    columns: list[str]
    labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    capacity: int = 0

    def batches(self, wanted: Collection[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(first row, rows, {source column: values}) for consecutive row ranges, ``wanted`` columns only.

        CSV columns arrive as Arrow dictionary arrays of text (or, from the pandas fallback, as
        pandas Series of text), other formats as pandas Series as stored. May raise
        :class:`Restart` or :class:`ReadFailed`.
        """
        raise NotImplementedError


@dataclass
class FrameSource(TableSource):
    """A table already in memory as a pandas frame (Parquet, SPSS): one batch, columns as stored."""

    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    def batches(self, wanted: Collection[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        yield 0, len(self.frame), {name: self.frame[name] for name in wanted if name in self.frame.columns}


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


def _check_csv(data: bytes, file: str) -> Problem | None:
    """UTF-8 throughout, a header line, commas: checked slice by slice (no copy of the whole text)."""
    skip = len(BOM) if data.startswith(BOM) else 0
    header: str | None = None
    at = skip
    while at < len(data):
        end = data.find(b"\n", at + DECODE_BYTES)
        end = len(data) if end < 0 else end + 1  # slices end after a newline: never inside a character
        try:
            text = data[at:end].decode("utf-8")
        except UnicodeDecodeError as err:
            start = at - skip + err.start  # counted after the byte-order mark
            line = data[:start].count(b"\n") + 1
            return _file_problem(file, "UTF-8 text", f"byte {start} (line {line}) is not UTF-8", CSV_FIX)
        if header is None and text.strip():
            header = text.lstrip().partition("\n")[0]
        at = end
    if header is None or not header.strip():
        return _file_problem(file, "not empty", "the file has no header line", "write the table with its header")
    if ";" in header and "," not in header:
        return _file_problem(
            file, "comma separator", f"the header is separated by semicolons: {header[:60]!r}", CSV_FIX
        )
    return None


def _pandas_error(err: Exception, file: str) -> ReadFailed:
    return ReadFailed(_file_problem(file, "readable CSV", " ".join(str(err).split()), CSV_FIX))


@dataclass
class CsvSource(TableSource):
    """A CSV file: streamed by Arrow with the types asked for, or read by pandas in chunks of text."""

    data: bytes = b""
    file: str = ""
    arrow: bool = True

    def _buffer(self) -> pyarrow.Buffer:
        skip = len(BOM) if self.data.startswith(BOM) else 0
        return pyarrow.py_buffer(memoryview(self.data)[skip:])

    def batches(self, wanted: Collection[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        if self.arrow:
            yield from self._arrow_batches(wanted)
        else:
            yield from self._pandas_batches(wanted)

    def _arrow_batches(self, wanted: Collection[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        text = pyarrow.dictionary(pyarrow.int32(), pyarrow.string())
        include = [name for name in self.columns if name in set(wanted)]
        types = {name: text for name in include}
        convert = pacsv.ConvertOptions(column_types=types, include_columns=include, null_values=[""],
                                       strings_can_be_null=True, quoted_strings_can_be_null=True)
        row = 0
        try:
            reader = pacsv.open_csv(self._buffer(), read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                                    convert_options=convert)
            for batch in reader:
                yield row, batch.num_rows, {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
                row += batch.num_rows
        except pyarrow.ArrowInvalid:
            self.arrow = False  # Arrow cannot split the file as pandas does: pandas from the start
            raise Restart() from None

    def _pandas_batches(self, wanted: Collection[str]) -> Iterator[tuple[int, int, dict[str, Any]]]:
        row = 0
        try:
            chunks = pd.read_csv(io.BytesIO(self.data), encoding="utf-8-sig", dtype=str, keep_default_na=False,
                                 na_values=[""], chunksize=CHUNK_ROWS)
            for chunk in chunks:
                yield row, len(chunk), {name: chunk[name].reset_index(drop=True) for name in wanted if name in chunk.columns}
                row += len(chunk)
        except (pd.errors.ParserError, ValueError) as err:
            raise _pandas_error(err, self.file) from None


def _capacity(data: bytes) -> int:
    """The rows a CSV can hold at most: one per line (lines end in LF, or in CR alone in old Mac
    files; a file mixing lone CRs with LFs may hold more, and the loader then grows its arrays)."""
    lines = data.count(b"\n")
    return (lines if lines else data.count(b"\r")) + 1


def _read_csv(data: bytes, file: str) -> tuple[TableSource | None, Problem | None]:
    problem = _check_csv(data, file)
    if problem:
        return None, problem
    source = CsvSource(columns=[], capacity=_capacity(data), data=data, file=file)
    try:
        names = pacsv.open_csv(source._buffer(), read_options=pacsv.ReadOptions(block_size=1 << 20)).schema.names
        source.arrow = all(names) and len(set(names)) == len(names)
    except pyarrow.ArrowInvalid:
        source.arrow = False
    if not source.arrow:  # pandas names the columns (``Unnamed: 3``, ``age.1``) and reports errors
        try:
            names = list(pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, nrows=0).columns)
        except (pd.errors.ParserError, ValueError) as err:
            return None, _pandas_error(err, file).problem
    source.columns = [str(name) for name in names]
    return source, None


def _frame_source(frame: pd.DataFrame, labels: dict[str, dict[Any, str]] | None = None) -> FrameSource:
    frame = frame.reset_index(drop=True)
    return FrameSource(columns=[str(c) for c in frame.columns], labels=labels or {}, capacity=len(frame), frame=frame)


def _read_parquet(data: bytes, file: str) -> tuple[TableSource | None, Problem | None]:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (pyarrow.ArrowException, OSError, ValueError) as err:
        return None, _file_problem(file, "readable Parquet", " ".join(str(err).split()), "write the file again")
    return _frame_source(frame), None


def _read_sav(data: bytes, file: str) -> tuple[TableSource | None, Problem | None]:
    try:
        # user_missing=False (the default): SPSS user-missing codes arrive as NaN.
        frame, meta = pyreadstat.read_sav(io.BytesIO(data), user_missing=False)
    except Exception as err:  # pyreadstat raises its own ReadstatError / PyreadstatError types
        return None, _file_problem(file, "readable SPSS file", " ".join(str(err).split()), "save the file again from SPSS")
    return _frame_source(frame, dict(meta.variable_value_labels)), None


READERS = {".csv": _read_csv, ".parquet": _read_parquet, ".sav": _read_sav}


def read_table(path: Path, data: bytes) -> tuple[TableSource | None, Problem | None]:
    """Open the bytes of one table file (format from its suffix) as a :class:`TableSource`."""
    if not data:
        return None, _file_problem(path.name, "not empty", "the file is empty (0 bytes)", "write the table again")
    return READERS[path.suffix.lower()](data, path.name)
