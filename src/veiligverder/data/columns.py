"""Contract columns built batch by batch from the source columns of a table file.

The loader plans every contract column (its source column, whether ``mapping.yml`` has missing
codes or a recode for it), and a :class:`TableBuilder` converts each batch of source rows into
preallocated contract arrays: item columns into one float32 block (one row per item, the layout
pandas and the scoring engine use, so the frame is a view on it and nothing is copied again), other
numbers into float64 arrays, text into object arrays of canonical text. Memory is the finished
table plus one batch, whatever the file size.

Conversions are the same element-wise rules as ever (:mod:`veiligverder.data.convert`,
:func:`veiligverder.data.mapping.apply_values`), applied once per distinct value: a CSV batch
arrives dictionary-encoded from Arrow (each cell an index into the batch's distinct texts), the
distinct texts are converted, a number column remembers the values it has converted (a few answer
codes, for millions of cells), and the cells are filled by indexing (``np.take`` straight into the
block). Other formats arrive as pandas columns (:func:`~veiligverder.data.convert.per_value`). An
item value that float32 cannot hold exactly (``1.00000001``: never a valid answer) keeps its column
in float64, so that the validation sees and reports the value as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping as AnyMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from veiligverder.data.convert import parse_numbers, per_value, spread, to_text
from veiligverder.data.mapping import Mapping, TableMapping, apply_values
from veiligverder.data.problems import MAX_EXAMPLES, Problem
from veiligverder.data.schema import ITEM_DTYPE, NUMBER_DTYPE, TEXT_DTYPE, is_item, is_text, value_problem

NUMBER_FIX = "use digits with a decimal point, or declare the code as missing in mapping.yml"
MEMO_SIZE = 1 << 16  # distinct texts a number column remembers (answer codes: a handful)
Converter = Callable[[pd.Series], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class ColumnPlan:
    """One contract column of a table and where it comes from.

    Attributes
    ----------
    name, source : str
        Contract column and the source column it is read from.
    spec : dict
        Its codebook spec (:func:`veiligverder.data.schema.column_specs`).
    ruled : bool
        ``mapping.yml`` gives the column missing codes or a recode of its own, which act on the
        source values before they are parsed.
    """

    name: str
    source: str
    spec: dict[str, Any]
    ruled: bool = False

    @property
    def text(self) -> bool:
        """A text (string or category) column."""
        return is_text(self.spec)

    @property
    def item(self) -> bool:
        """An item column: float32, in the item block."""
        return is_item(self.spec)


def _converter(plan: ColumnPlan, mapping: Mapping, table_map: TableMapping, labels: dict[Any, str] | None) -> Converter:
    """The element-wise conversion of a text column or a number column with rules in ``mapping.yml``:
    source values -> contract values (and, for numbers, the mask of cells that are not numbers).
    Order as ever: per-column missing codes and recode act on the source values, then parsing."""
    name, spec = plan.name, plan.spec
    if plan.text:
        return lambda s: (to_text(apply_values(s, name, spec, table_map, mapping, labels)).to_numpy(dtype=object),)
    return lambda s: parse_numbers(apply_values(s, name, spec, table_map, mapping, None))


def _numbers(mapping: Mapping) -> Converter:
    """The conversion of the number columns without rules of their own: parsing, then the global
    missing codes of ``mapping.yml`` on the parsed numbers."""
    codes = [float(code) for code in mapping.missing]
    if not codes:
        return parse_numbers

    def plain(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        values, bad = parse_numbers(s)
        return np.where(np.isin(values, codes), np.nan, values), bad
    return plain


@dataclass
class _Bad:
    """Cells of one column that are not numbers: how many, and the first few rows with their source values."""

    count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)


def _arrow_codes(values: pyarrow.DictionaryArray) -> tuple[np.ndarray, list[str]]:
    """Indices and distinct values of a dictionary-encoded Arrow column; a missing cell gets the
    index one past the distinct values (where the conversions put what a missing cell becomes)."""
    words = values.dictionary.to_pylist()
    indices = pc.fill_null(values.indices, len(words)) if values.null_count else values.indices
    return indices.to_numpy(zero_copy_only=False), words


class TableBuilder:
    """The contract columns of one table, filled batch by batch (see the module docstring).

    Parameters
    ----------
    plans : list of ColumnPlan
        The contract columns present in the file, in contract order.
    mapping, table_map : Mapping, TableMapping
        The parsed ``mapping.yml`` and its entry for this table.
    labels : dict
        SPSS value labels per contract column.
    capacity : int
        At least the number of rows of the file.
    """

    def __init__(self, plans: list[ColumnPlan], mapping: Mapping, table_map: TableMapping,
                 labels: AnyMapping[str, dict[Any, str]], capacity: int) -> None:
        self.plans = plans
        self.slots = {p.name: i for i, p in enumerate(q for q in plans if q.item)}
        self.block = np.empty((len(self.slots), capacity), dtype=ITEM_DTYPE)
        self.arrays = {p.name: np.empty(capacity, dtype=TEXT_DTYPE if p.text else NUMBER_DTYPE)
                       for p in plans if not p.item}
        plain = _numbers(mapping)  # one conversion, and one memo, for every number column without rules
        self.convert = {p.name: plain if not (p.text or p.ruled) else _converter(p, mapping, table_map, labels.get(p.name))
                        for p in plans}
        shared: dict[Any, tuple[float, bool]] = {}
        self.memo = {p.name: shared if self.convert[p.name] is plain else {} for p in plans}
        self.wide: dict[str, np.ndarray] = {}
        self.bad: dict[str, _Bad] = {}

    @property
    def nbytes(self) -> int:
        """Bytes the finished columns take (text counted by its pointers: a lower bound)."""
        return self.block.nbytes + sum(a.nbytes for a in self.arrays.values())

    def _room(self, stop: int) -> None:
        """Grow every array to hold ``stop`` rows (a CSV with more rows than line endings counted)."""
        size = self.block.shape[1]
        if stop <= size:
            return
        size = max(stop, 2 * size)
        block = np.empty((self.block.shape[0], size), dtype=ITEM_DTYPE)
        block[:, : self.block.shape[1]] = self.block
        self.block = block
        for store in (self.arrays, self.wide):
            for name, old in store.items():
                store[name] = np.empty(size, dtype=old.dtype)
                store[name][: len(old)] = old

    @property
    def sources(self) -> list[str]:
        """The source columns to read."""
        return [p.source for p in self.plans]

    def reset(self) -> None:
        """Forget what earlier batches found (the rows are about to be written again)."""
        self.wide.clear()
        self.bad.clear()

    def add(self, start: int, n: int, batch: AnyMapping[str, Any]) -> None:
        """Convert one batch of ``n`` rows of source columns into rows ``start`` onwards."""
        self._room(start + n)
        for plan in self.plans:
            values = batch[plan.source]
            if isinstance(values, pyarrow.DictionaryArray) and not plan.text:
                codes, words, lut, bad = self._lookup(plan, values)
                if bad.any():
                    self._note_bad(plan.name, start, bad[codes], codes, words)
                self._take(plan, start, lut, codes)
                continue
            if isinstance(values, pyarrow.DictionaryArray):
                codes, words = _arrow_codes(values)
                uniques = pd.Series(words, dtype=object)
                out = spread(codes, uniques, self.convert[plan.name])
            else:
                codes, uniques = None, values
                out = per_value(values, self.convert[plan.name])
            if len(out) > 1 and out[1].any():
                self._note_bad(plan.name, start, out[1], codes, uniques)
            self._put(plan, start, out[0])

    def _lookup(self, plan: ColumnPlan, values: pyarrow.DictionaryArray
                ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
        """Indices (missing: the last), distinct texts, and their numbers and not-number flags."""
        codes, words = _arrow_codes(values)
        memo = self.memo[plan.name]
        if len(memo) + len(words) > MEMO_SIZE:
            memo.clear()
        new = [w for w in [*words, None] if w not in memo]
        if new:
            got, bad = self.convert[plan.name](pd.Series([np.nan if w is None else w for w in new], dtype=object))
            memo.update(zip(new, zip(got.tolist(), bad.tolist())))
        found = [memo[w] for w in [*words, None]]
        return (codes, words, np.array([v for v, _ in found], dtype=NUMBER_DTYPE),
                np.array([b for _, b in found], dtype=bool))

    def _note_bad(self, name: str, start: int, bad: np.ndarray, codes: np.ndarray | None, source: Any) -> None:
        """Count the cells flagged in ``bad`` and keep the first few rows with their source values
        (``source[codes[r]]`` for distinct values, ``source.iloc[r]`` for a whole column).
        Only cells with a value can be flagged, so ``codes[r]`` is never the missing slot."""
        found = self.bad.setdefault(name, _Bad())
        rows = np.flatnonzero(bad)
        found.count += len(rows)
        for r in rows[: MAX_EXAMPLES - len(found.rows)]:
            found.rows.append(start + int(r))
            if codes is None:
                found.values.append(source.iloc[r])
            else:
                found.values.append(source[codes[r]])

    def _widen(self, plan: ColumnPlan, start: int) -> np.ndarray:
        """Move an item column out of the float32 block into float64 (a value float32 cannot hold)."""
        wide = np.empty(self.block.shape[1], dtype=NUMBER_DTYPE)
        wide[:start] = self.block[self.slots[plan.name], :start]
        self.wide[plan.name] = wide
        return wide

    def _take(self, plan: ColumnPlan, start: int, lut: np.ndarray, codes: np.ndarray) -> None:
        """Fill rows ``start`` onwards with ``lut[codes]`` (codes are valid indices: "clip" only
        spares numpy the bounds check and the buffer it needs for it)."""
        stop = start + len(codes)
        if plan.item and plan.name not in self.wide:
            lut32 = lut.astype(ITEM_DTYPE)
            if np.array_equal(lut32, lut, equal_nan=True):
                np.take(lut32, codes, out=self.block[self.slots[plan.name], start:stop], mode="clip")
                return
            self._widen(plan, start)
        np.take(lut, codes, out=self.column(plan)[start:stop], mode="clip")

    def _put(self, plan: ColumnPlan, start: int, values: np.ndarray) -> None:
        """Write converted values into rows ``start`` onwards (an item column leaves the float32
        block when a value does not survive the cast)."""
        stop = start + len(values)
        if plan.item and plan.name not in self.wide:
            row = self.block[self.slots[plan.name], start:stop]
            row[...] = values
            if np.array_equal(row, values, equal_nan=True):
                return
            self._widen(plan, start)
        self.column(plan)[start:stop] = values

    def column(self, plan: ColumnPlan) -> np.ndarray:
        """The array a column's values are in (a row of the item block for a float32 item)."""
        if plan.name in self.wide:
            return self.wide[plan.name]
        return self.block[self.slots[plan.name]] if plan.item else self.arrays[plan.name]

    def frame(self, n: int) -> pd.DataFrame:
        """The first ``n`` rows as a DataFrame in contract order, built on the arrays without copying
        the item block (pandas keeps it as its float32 block)."""
        items = [p.name for p in self.plans if p.item and p.name not in self.wide]
        block = self.block if len(items) == len(self.slots) else self.block[[self.slots[c] for c in items]]
        frame = pd.DataFrame(block[:, :n].T, columns=items, copy=False)
        for pos, plan in enumerate(self.plans):
            if plan.name not in frame.columns:
                frame.insert(pos, plan.name, self.column(plan)[:n])
        return frame

    def problems(self, frame: pd.DataFrame, table: str, file: str) -> list[Problem]:
        """A 'number' problem per column with cells that are not numbers, showing the source text."""
        out = []
        for plan in self.plans:
            found = self.bad.get(plan.name)
            if found is None:
                continue
            rows = pd.Index(found.rows)
            shown = frame.loc[rows].assign(**{plan.name: pd.Series(found.values, index=rows, dtype=object)})
            problem = value_problem(shown, table, file, plan.name, "number", pd.Series(True, index=rows), fix=NUMBER_FIX)
            out.append(Problem(file=problem.file, column=problem.column, rule=problem.rule, n_rows=found.count,
                               examples=problem.examples, fix=problem.fix))
        return out
