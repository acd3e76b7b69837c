"""The generic, vectorised scoring engine and the instrument spec format.

Instrument logic is data: every instrument has one YAML spec in ``specs/`` and the engine below
scores any of them for all respondents and waves at once (numpy on the item matrix; no loop over
rows). Licensed scoring keys and norms are merged in from a key folder (see
:mod:`veiligverder.instruments.keys`).

Spec format
-----------
.. code-block:: yaml

    instrument: cts2s            # equals the file name
    title: ...                   # full name
    source: ...                  # where the scoring rules come from (citations)
    table: parents               # contract table holding the items
    prefix: cts2s                # item prefix in codebook.yml (range and count come from there)
    reporter: parent             # parent | parent_about_child | child
    licensed: false              # true: a key file <instrument>.yml in the key folder is required
    recode: cts_frequency        # optional answer -> value map before summing: a name
                                 # (cts_frequency, auditc_q1, auditc_q2) or a mapping {code: value}
    reverse: "03, 07"            # optional reverse-keyed items: value -> min + max - value
    missing: {min_share: 0.8}    # default missing rule of every scale (CONTRACT §2, the 80 % rule)
    t_scores: false              # true: every scale with a norm also gets a T-score column
    scales:
      violence:
        items: "07-39"           # item numbers ("01-06, 11", a list, or "all"), or instead
        blocks: {set: cts2, severity: [mild, severe]}   # codebook blocks (by severity or block)
        score: sum               # sum | mean | count | product | composite
        count_if: ">= 3"         # count: which raw answers count (default ">= 1")
        missing: {min_share: 0}  # override the instrument default
        item_recode: {1: auditc_q1, 2: auditc_q2}   # product: per-item answer -> value maps
        zero_dominates: true     # product: a factor of 0 gives 0 even when another is missing
        of: [a, b]               # composite: scales combined ...
        combine: sum             # ... by sum or mean of their scores (missing if any is missing)
    norms:                       # per scale: {mean, sd, source}, stratified list, or t_table
      total: {mean: 8.4, sd: 2.0, source: "..."}
    flags:                       # 0/1 columns <instrument>_<flag>
      clinical: {scales: [a, b], metric: t, op: ">=", value: 65, source: "..."}
      insecure: {scales: [total], metric: raw, op: "<=", norm_sd: -1, source: "..."}

Scoring rules
-------------
* ``sum``: sum of the (recoded, reverse-keyed) answered items; missing when fewer than
  ``min_share`` of the scale's items are answered, otherwise unanswered items count as 0
  (CONTRACT §2). ``min_share`` is met when ``answered >= ceil(min_share * k)``.
* ``mean``: mean of the answered items, same missing rule (and missing when none is answered).
* ``count``: number of answered items whose raw answer satisfies ``count_if``; an unanswered item
  never counts (CONTRACT §2 'any severe': answered items only, 0 when none is answered). Count
  scales have no minimum share unless the scale itself sets ``missing``.
* ``product``: product of per-item recoded values (AUDIT-C drinks per week = occasions x drinks);
  missing when a factor is missing, unless ``zero_dominates`` and another factor is 0 (a skipped
  follow-up question after 'never' means no drinks, WHO AUDIT manual, Babor et al. 2001).
* ``composite``: sum or mean of other scales of the same instrument.
* T-score: ``T = 50 + 10 (raw - mean) / sd`` with the scale's norm (stratified by ``when``
  conditions on table columns, first match wins), or a lookup ``t_table`` raw -> T.
* Flags: 1 when at least one of the flag's scales meets ``op`` against ``value`` (or against
  ``norm mean + norm_sd * norm sd``), 0 when at least one is scored and none meets it, missing
  when none is scored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from veiligverder import contract, paths

SCORE_TYPES = ("sum", "mean", "count", "product", "composite")
REPORTERS = ("parent", "parent_about_child", "child")
DEFAULT_MIN_SHARE = 0.8  # CONTRACT §2: the 80 % rule

OPS: dict[str, np.ufunc] = {
    ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal,
}
_OP_RE = re.compile(r"^\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")

NAMED_RECODES: dict[str, Callable[[], dict[int, float]]] = {
    "cts_frequency": contract.cts_frequency,
    "auditc_q1": lambda: contract.auditc_midpoints()[0],
    "auditc_q2": lambda: contract.auditc_midpoints()[1],
}

ERR_SPEC = "{file}: {problem}. Fix the instrument spec (format: veiligverder.instruments.engine docstring)."
ERR_COLUMNS = (
    "table lacks item columns of {instrument}: {cols}. Every contract table holds all its item "
    "columns (codebook.yml); add them (all NaN when not asked) or map them in mapping.yml."
)
ERR_VALUES = (
    "column {col}: values {values} (rows {rows}) outside the allowed answers {lo}-{hi} (whole "
    "numbers) of {instrument}. Recode them in mapping.yml or set them to missing."
)
ERR_DTYPE = "column {col} of {instrument} is not numeric ({dtype}); item columns must be float with NaN for missing."


class SpecError(ValueError):
    """An instrument spec or key file is malformed."""


def _spec_error(where: Any, problem: str) -> SpecError:
    return SpecError(ERR_SPEC.format(file=where, problem=problem))


class ScoringInputError(ValueError):
    """A table handed to the engine lacks item columns or holds impossible answers."""


@dataclass(frozen=True)
class Scale:
    """One scale of an instrument (see the module docstring for the rules)."""

    name: str
    items: tuple[int, ...]
    score: str
    min_share: float
    count_op: str = ">="
    count_value: float = 1.0
    item_recode: Mapping[int, Mapping[int, float]] = field(default_factory=dict)
    zero_dominates: bool = False
    of: tuple[str, ...] = ()
    combine: str = "sum"
    about: str = ""


@dataclass(frozen=True)
class Norm:
    """Norm of one scale: strata ``(when, mean, sd)`` and/or a raw -> T lookup table."""

    strata: tuple[tuple[Mapping[str, Any], float, float], ...]
    t_table: Mapping[float, float] | None
    source: str

    @property
    def mean(self) -> float:
        """Mean of the first stratum (the only one for an unstratified norm)."""
        return self.strata[0][1] if self.strata else math.nan

    @property
    def sd(self) -> float:
        """SD of the first stratum."""
        return self.strata[0][2] if self.strata else math.nan


@dataclass(frozen=True)
class Flag:
    """A 0/1 rule over one or more scales."""

    name: str
    scales: tuple[str, ...]
    metric: str
    op: str
    value: float | None
    norm_sd: float | None
    source: str


@dataclass(frozen=True)
class InstrumentSpec:
    """A parsed instrument spec, with the licensed key (if any) merged in."""

    instrument: str
    title: str
    source: str
    table: str
    prefix: str
    reporter: str
    licensed: bool
    n_items: int
    min: int
    max: int
    recode: Mapping[int, float] | None
    reverse: tuple[int, ...]
    scales: Mapping[str, Scale]
    norms: Mapping[str, Norm]
    flags: Mapping[str, Flag]
    t_scores: bool
    spec_path: Path
    key_path: Path | None = None
    illustrative: bool | None = None

    @property
    def columns(self) -> list[str]:
        """All item columns of the instrument, in contract order."""
        return contract.item_columns(self.prefix)

    def column(self, scale: str, *, t: bool = False) -> str:
        """Output column name of a scale score (``<instrument>_<scale>[_t]``)."""
        return f"{self.instrument}_{scale}{'_t' if t else ''}"

    def scale_columns(self, scale: str) -> list[str]:
        """Item columns a scale uses."""
        return contract.item_columns(self.prefix, list(self.scales[scale].items))

    @property
    def used_items(self) -> set[int]:
        """Item numbers used by at least one scale."""
        return {i for s in self.scales.values() for i in s.items}

    @property
    def output_columns(self) -> list[str]:
        """Score columns :func:`score_spec` returns, in order."""
        cols = [self.column(s) for s in self.scales]
        if self.t_scores:
            cols += [self.column(s, t=True) for s in self.scales if s in self.norms]
        return cols + [self.column(f) for f in self.flags]


# ---------------------------------------------------------------------------------- spec parsing
def parse_items(text: Any, n_items: int, where: str) -> tuple[int, ...]:
    """``"01-06, 11"`` / ``[1, 2]`` / ``"all"`` -> sorted unique item numbers within ``1..n_items``."""
    if text == "all":
        nums = list(range(1, n_items + 1))
    elif isinstance(text, int):
        nums = [text]
    elif isinstance(text, list):
        nums = [int(x) for x in text]
    else:
        nums = []
        for part in str(text).split(","):
            if part.strip():
                nums.extend(contract.parse_range(part.strip()))
    bad = [x for x in nums if not 1 <= x <= n_items]
    if bad or not nums:
        raise _spec_error(where, f"items {text!r} not within 1..{n_items}")
    return tuple(sorted(set(nums)))


def _block_items(sel: Mapping[str, Any], where: str) -> tuple[int, ...]:
    def as_list(v: Any) -> list[Any]:
        return v if isinstance(v, list) else [v]

    out: list[int] = []
    try:
        for sev in as_list(sel.get("severity", [None])):
            for blk in as_list(sel.get("block", [None])):
                out += contract.block_items(sel["set"], severity=sev, block=blk)
    except KeyError as exc:
        raise _spec_error(where, f"unknown block set in {dict(sel)}: {exc}") from None
    if not out:
        raise _spec_error(where, f"blocks {dict(sel)} select no items")
    return tuple(sorted(set(out)))


def _recode_map(value: Any, where: str) -> dict[int, float]:
    if isinstance(value, str):
        if value not in NAMED_RECODES:
            raise _spec_error(where, f"unknown recode {value!r}; known: {sorted(NAMED_RECODES)}")
        return NAMED_RECODES[value]()
    if isinstance(value, Mapping):
        return {int(k): float(v) for k, v in value.items()}
    raise _spec_error(where, f"recode must be a name or a mapping, not {value!r}")


def _parse_op(text: str, where: str) -> tuple[str, float]:
    m = _OP_RE.match(str(text))
    if not m:
        raise _spec_error(where, f"condition {text!r} is not like '>= 3'")
    return m.group(1), float(m.group(2))


def _parse_scale(name: str, raw: Mapping[str, Any], n_items: int, default_share: float, where: str) -> Scale:
    score = raw.get("score", "sum")
    if score not in SCORE_TYPES:
        raise _spec_error(where, f"scale {name}: score {score!r} not in {SCORE_TYPES}")
    if score == "composite":
        of = tuple(raw.get("of", ()))
        if not of or raw.get("combine", "sum") not in ("sum", "mean"):
            raise _spec_error(where, f"composite scale {name} needs 'of' and combine sum|mean")
        return Scale(name, (), score, 0.0, of=of, combine=raw.get("combine", "sum"), about=raw.get("about", ""))
    if "blocks" in raw:
        items = _block_items(raw["blocks"], where)
    elif "items" in raw:
        items = parse_items(raw["items"], n_items, f"{where} (scale {name})")
    else:
        raise _spec_error(where, f"scale {name} has neither 'items' nor 'blocks'")
    # count scales look at answered items only (CONTRACT §2 'any severe'): no minimum by default
    share = float((raw.get("missing") or {}).get("min_share", 0.0 if score == "count" else default_share))
    if not 0.0 <= share <= 1.0:
        raise _spec_error(where, f"scale {name}: min_share {share} not within 0..1")
    op, val = _parse_op(raw.get("count_if", ">= 1"), where)
    recodes = {int(k): _recode_map(v, where) for k, v in (raw.get("item_recode") or {}).items()}
    if score == "product" and set(recodes) - set(items):
        raise _spec_error(where, f"scale {name}: item_recode names items outside the scale")
    return Scale(name, items, score, share, op, val, recodes, bool(raw.get("zero_dominates", False)),
                 about=raw.get("about", ""))


def _parse_norm(name: str, raw: Any, where: str) -> Norm:
    rows = raw if isinstance(raw, list) else [raw]
    strata = []
    t_table = None
    source = ""
    for row in rows:
        source = row.get("source", source)
        if "t_table" in row:
            t_table = {float(k): float(v) for k, v in row["t_table"].items()}
        if "mean" in row:
            sd = float(row["sd"]) if "sd" in row else math.nan
            if not (sd > 0 or math.isnan(sd)):
                raise _spec_error(where, f"norm of {name}: sd must be > 0")
            strata.append((dict(row.get("when", {})), float(row["mean"]), sd))
    if not strata and t_table is None:
        raise _spec_error(where, f"norm of {name} needs mean (and sd) or t_table")
    return Norm(tuple(strata), t_table, source)


def _parse_flag(name: str, raw: Mapping[str, Any], scales: Mapping[str, Scale], norms: Mapping[str, Norm],
                t_scores: bool, where: str) -> Flag:
    if True in raw or False in raw:  # YAML 1.1 reads a key 'on'/'yes'/'no' as a boolean
        raise _spec_error(where, f"flag {name} has a key YAML reads as true/false; use 'metric'")
    fscales = tuple(raw.get("scales", [raw.get("scale")]))
    unknown = [s for s in fscales if s not in scales]
    metric = raw.get("metric", "raw")
    op = raw.get("op", ">=")
    if unknown or metric not in ("raw", "t") or op not in OPS:
        raise _spec_error(where, f"flag {name}: unknown scales {unknown}, metric {metric!r} or op {op!r}")
    if ("value" in raw) == ("norm_sd" in raw):
        raise _spec_error(where, f"flag {name} needs exactly one of 'value' and 'norm_sd'")
    needs_norm = metric == "t" or "norm_sd" in raw
    missing = [s for s in fscales if s not in norms]
    if needs_norm and missing:
        raise _spec_error(where, f"flag {name} needs norms for {missing}")
    if metric == "t" and not t_scores:
        raise _spec_error(where, f"flag {name} is on T-scores but t_scores is false")
    return Flag(name, fscales, metric, op, raw.get("value"), raw.get("norm_sd"), raw.get("source", ""))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found. Check the instrument name or the key folder.") from None
    except yaml.YAMLError as exc:
        raise _spec_error(path, f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise _spec_error(path, "top level must be a mapping")
    return data


def available_instruments(table: str | None = None) -> list[str]:
    """Instrument names with a spec in ``specs/`` (optionally only those of one table), in codebook order."""
    names = {p.stem for p in paths.SPECS_DIR.glob("*.yml")}
    tables = [table] if table else list(contract.TABLES)
    order = [p for t in tables for p in contract.item_prefixes(t)]
    return [p for p in order if p in names]


def build_spec(raw: Mapping[str, Any], spec_path: Path, key: Mapping[str, Any] | None = None,
               key_path: Path | None = None) -> InstrumentSpec:
    """Parse a spec mapping (plus an optional key mapping merged over it) into an :class:`InstrumentSpec`.

    The key may add or replace ``scales``, ``norms`` and ``flags`` by name and replace ``reverse``,
    ``recode`` and ``t_scores`` (format: :mod:`veiligverder.instruments.keys`).
    """
    where = str(spec_path) if key_path is None else f"{spec_path} + {key_path}"
    merged = dict(raw)
    if key is not None:
        for part in ("scales", "norms", "flags"):
            merged[part] = {**(raw.get(part) or {}), **(key.get(part) or {})}
        for part in ("reverse", "recode", "t_scores"):
            if part in key:
                merged[part] = key[part]
    for req in ("instrument", "table", "prefix", "reporter", "scales"):
        if req not in merged:
            raise _spec_error(where, f"missing field {req!r}")
    table, prefix = merged["table"], merged["prefix"]
    items = contract.table_spec(table).get("items", {})
    if prefix not in items:
        raise _spec_error(where, f"prefix {prefix!r} is not an item block of table {table!r}")
    if merged["reporter"] not in REPORTERS:
        raise _spec_error(where, f"reporter {merged['reporter']!r} not in {REPORTERS}")
    block = items[prefix]
    n_items = int(block["n"])
    share = float((merged.get("missing") or {}).get("min_share", DEFAULT_MIN_SHARE))
    scales = {name: _parse_scale(name, s or {}, n_items, share, where) for name, s in merged["scales"].items()}
    for s in scales.values():
        bad = [c for c in s.of if c not in scales or scales[c].score == "composite"]
        if bad:
            raise _spec_error(where, f"composite {s.name} refers to {bad}")
    norms = {name: _parse_norm(name, n, where) for name, n in (merged.get("norms") or {}).items()}
    if set(norms) - set(scales):
        raise _spec_error(where, f"norms for unknown scales {sorted(set(norms) - set(scales))}")
    t_scores = bool(merged.get("t_scores", False))
    flags = {name: _parse_flag(name, f, scales, norms, t_scores, where)
             for name, f in (merged.get("flags") or {}).items()}
    reverse = parse_items(merged["reverse"], n_items, where) if merged.get("reverse") else ()
    recode = _recode_map(merged["recode"], where) if merged.get("recode") else None
    return InstrumentSpec(
        instrument=merged["instrument"], title=merged.get("title", ""), source=merged.get("source", ""),
        table=table, prefix=prefix, reporter=merged["reporter"], licensed=bool(merged.get("licensed", False)),
        n_items=n_items, min=int(block["min"]), max=int(block["max"]), recode=recode, reverse=reverse,
        scales=scales, norms=norms, flags=flags, t_scores=t_scores, spec_path=spec_path, key_path=key_path,
        illustrative=None if key is None else bool(key.get("illustrative")),
    )


def load_spec(name: str, *, keys_dir: str | Path | None = None) -> InstrumentSpec:
    """Load an instrument spec, merged with its key file when the instrument is licensed.

    Parameters
    ----------
    name : str
        Instrument name (``cts2s``, ``tsi``, ...; see :func:`available_instruments`).
    keys_dir : path, optional
        Folder with licensed key files; default ``paths.ILLUSTRATIVE_KEYS_DIR`` (illustrative keys).
    """
    from veiligverder.instruments.keys import key_path_for

    spec_path = paths.SPECS_DIR / f"{name}.yml"
    if not spec_path.exists():
        raise SpecError(f"{spec_path}: no spec for instrument {name!r}; known: {', '.join(available_instruments())}")
    key_path = key_path_for(name, keys_dir)
    stamp = (spec_path.stat().st_mtime_ns, key_path.stat().st_mtime_ns if key_path and key_path.exists() else 0)
    return _load_spec_cached(name, str(key_path) if key_path else "", stamp)


@lru_cache(maxsize=256)
def _load_spec_cached(name: str, key_path: str, _stamp: tuple[int, int]) -> InstrumentSpec:
    from veiligverder.instruments.keys import read_key

    spec_path = paths.SPECS_DIR / f"{name}.yml"
    raw = _read_yaml(spec_path)
    if raw.get("instrument") != name:
        raise _spec_error(spec_path, f"'instrument' must equal the file name {name!r}")
    if not raw.get("licensed"):
        return build_spec(raw, spec_path)
    key = read_key(Path(key_path), name)
    return build_spec(raw, spec_path, key, Path(key_path))


# --------------------------------------------------------------------------------------- scoring
# Layout: the answers of one instrument are a float32 matrix of shape (items, rows), C order, so
# that each item is one contiguous row and a scale's sum is one BLAS product W @ X (which numpy
# runs about twice as fast in this orientation as X @ W on an (rows, items) matrix).


def _item_matrix(table: pd.DataFrame, spec: InstrumentSpec, out: np.ndarray | None = None) -> np.ndarray:
    """Item answers as a float32 (items x rows) matrix, NaN = missing, validated against the codebook.

    ``out``: optional float32 work buffer with at least as many rows as items (reused across
    instruments: fresh memory is slow to fault in for millions of rows).
    """
    cols = spec.columns
    absent = [c for c in cols if c not in table.columns]
    if absent:
        shown = ", ".join(absent[:5]) + (f" ... ({len(absent)} in all)" if len(absent) > 5 else "")
        raise ScoringInputError(ERR_COLUMNS.format(instrument=spec.instrument, cols=shown))
    x = np.empty((len(cols), len(table)), dtype=np.float32) if out is None else out[: len(cols)]
    for j, c in enumerate(cols):  # column by column (not row by row): each check stays in cache
        col = table[c]
        if not (pd.api.types.is_numeric_dtype(col.dtype) or col.isna().all()):
            raise ScoringInputError(ERR_DTYPE.format(col=c, instrument=spec.instrument, dtype=col.dtype))
        v = x[j]
        v[:] = col.to_numpy(dtype=np.float32, na_value=np.nan)
        if len(v) and (np.fmin.reduce(v) < spec.min or np.fmax.reduce(v) > spec.max or (np.floor(v) < v).any()):
            bad = ~np.isnan(v) & ((v < spec.min) | (v > spec.max) | (np.floor(v) != v))
            rows = np.flatnonzero(bad)[:5]
            raise ScoringInputError(ERR_VALUES.format(
                col=c, values=sorted({float(a) for a in v[rows]}), rows=list(table.index[rows]),
                lo=spec.min, hi=spec.max, instrument=spec.instrument))
    return x


def _lookup(x: np.ndarray, mapping: Mapping[int, float], lo: int, hi: int, *, inplace: bool = False) -> np.ndarray:
    """Map integer answer codes through ``mapping`` (NaN where unanswered or unmapped).

    Works item by item (small temporaries). The result is float32 (exact) when every mapped value
    is a whole number, float64 otherwise; ``inplace`` writes a float32 result into ``x``.
    """
    exact = all(float(v).is_integer() for v in mapping.values())
    lut = np.full(hi - lo + 2, np.nan, dtype=np.float32 if exact else np.float64)  # last slot: unanswered
    for code, value in mapping.items():
        if lo <= code <= hi:
            lut[code - lo] = value
    rows = x[None] if x.ndim == 1 else x
    res = rows if (inplace and exact) else np.empty(rows.shape, dtype=lut.dtype)
    for j in range(rows.shape[0]):
        idx = rows[j] - lo
        np.copyto(idx, hi - lo + 1, where=np.isnan(idx))
        res[j] = lut[idx.astype(np.intp)]
    return res[0] if x.ndim == 1 else res


def _weights(spec: InstrumentSpec, names: list[str]) -> np.ndarray:
    """0/1 matrix (scales x items): which items each scale uses."""
    w = np.zeros((len(names), spec.n_items), dtype=np.float32)
    for j, name in enumerate(names):
        w[j, np.asarray(spec.scales[name].items) - 1] = 1.0
    return w


def _required(scale: Scale) -> int:
    """Answered items a scale needs: ceil(min_share * k), robust to float round-off."""
    return math.ceil(round(scale.min_share * len(scale.items), 9))


def _values_inplace(x: np.ndarray, spec: InstrumentSpec) -> np.ndarray:
    """Reverse-key then recode the answers (in place where possible); NaN stays NaN."""
    if spec.reverse:
        rev = np.asarray(spec.reverse) - 1
        x[rev] = (spec.min + spec.max) - x[rev]
    if spec.recode is not None:
        x = _lookup(x, spec.recode, spec.min, spec.max, inplace=True)
    return x


def _product(x: np.ndarray, spec: InstrumentSpec, scale: Scale) -> np.ndarray:
    factors = []
    for item in scale.items:
        mapping = scale.item_recode.get(item)
        row = x[item - 1] if mapping is None else _lookup(x[item - 1], mapping, spec.min, spec.max)
        factors.append(row.astype(np.float64))
    f = np.vstack(factors)
    out = np.prod(f, axis=0)
    if scale.zero_dominates:
        out[(f == 0).any(axis=0)] = 0.0
    return out


def _norm_arrays(norm: Norm, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-row norm mean and sd (first matching stratum; NaN when none matches)."""
    n = len(table)
    mean = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    todo = np.ones(n, dtype=bool)
    for when, m, s in norm.strata:
        mask = todo.copy()
        for col, cond in when.items():
            if col not in table.columns:
                raise ScoringInputError(
                    f"a norm stratum needs column {col!r}, which the table lacks; add it or drop the 'when'.")
            values = table[col]
            if isinstance(cond, str) and re.fullmatch(r"\d+(\.\d+)?-\d+(\.\d+)?", cond):
                lo, hi = (float(v) for v in cond.split("-"))
                num = pd.to_numeric(values, errors="coerce").to_numpy()
                mask &= (num >= lo) & (num <= hi)
            else:
                mask &= (values == cond).to_numpy()
        mean[mask], sd[mask] = m, s
        todo &= ~mask
    return mean, sd


def t_score(raw: np.ndarray, norm: Norm, table: pd.DataFrame) -> np.ndarray:
    """T = 50 + 10 (raw - mean) / sd, or the norm's raw -> T lookup table when it has one."""
    raw = np.asarray(raw, dtype=np.float64)
    if norm.t_table is not None:
        keys = np.array(sorted(norm.t_table))
        vals = np.array([norm.t_table[k] for k in keys])
        pos = np.clip(np.searchsorted(keys, raw), 0, len(keys) - 1)
        hit = keys[pos] == raw
        return np.where(hit, vals[pos], np.nan)
    mean, sd = _norm_arrays(norm, table)
    return 50.0 + 10.0 * (raw - mean) / sd


def _score_arrays(table: pd.DataFrame, spec: InstrumentSpec, work: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Every output column of one instrument as float64 arrays (keys: ``spec.output_columns``)."""
    x = _item_matrix(table, spec, None if work is None else work[0])
    buf = np.empty_like(x) if work is None else work[1][: x.shape[0]]
    item_scales = [s for s in spec.scales.values() if s.score != "composite"]
    names = [s.name for s in item_scales]
    np.equal(x, x, out=buf, casting="unsafe")                   # 1.0 where answered (NaN != NaN)
    n_answered = _weights(spec, names) @ buf if names else None
    result: dict[str, np.ndarray] = {}

    # counts and products read the raw answer codes: before the in-place transformation below
    counts = [s for s in item_scales if s.score == "count"]
    for op, value in sorted({(s.count_op, s.count_value) for s in counts}):
        group = [s.name for s in counts if (s.count_op, s.count_value) == (op, value)]
        OPS[op](x, np.float32(value), out=buf, casting="unsafe")   # NaN never hits
        hits = _weights(spec, group) @ buf
        result.update({name: hits[j].astype(np.float64) for j, name in enumerate(group)})
    for s in item_scales:
        if s.score == "product":
            result[s.name] = _product(x, spec, s)

    sums = [s.name for s in item_scales if s.score in ("sum", "mean")]
    if sums:
        values = _values_inplace(x, spec)
        lowest = min(spec.recode.values()) if spec.recode is not None else spec.min
        if lowest >= 0:                                         # unanswered items count as 0:
            np.fmax(values, 0, out=values)                      # fmax(NaN, 0) = 0, one pass
        else:
            for row in values:
                np.copyto(row, 0, where=np.isnan(row))
        totals = _weights(spec, sums).astype(values.dtype) @ values
        result.update({name: totals[j].astype(np.float64) for j, name in enumerate(sums)})

    for j, s in enumerate(item_scales):
        got = n_answered[j]
        if s.score in ("sum", "mean", "count") and _required(s) > 0:
            result[s.name][got < _required(s)] = np.nan
        if s.score == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                result[s.name] = np.where(got > 0, result[s.name] / got, np.nan)
    for s in spec.scales.values():
        if s.score == "composite":
            parts = np.vstack([result[c] for c in s.of])
            result[s.name] = parts.sum(axis=0) if s.combine == "sum" else parts.mean(axis=0)

    out = {spec.column(name): result[name] for name in spec.scales}
    if spec.t_scores:
        for name, norm in spec.norms.items():
            out[spec.column(name, t=True)] = t_score(result[name], norm, table)
    for flag in spec.flags.values():
        out[spec.column(flag.name)] = _flag(flag, spec, out, table)
    return out


CHUNK_ROWS = 131_072  # rows scored at a time: work buffers stay small and are reused (see _frame)


def _frame(table: pd.DataFrame, table_name: str, specs: list[InstrumentSpec]) -> pd.DataFrame:
    """Score ``specs`` into one float64 block (written in place, no consolidation copy) plus key columns.

    Rows are scored in chunks of ``CHUNK_ROWS``: every rule is row-wise, so chunking changes no
    result, and the float32 work buffers and temporaries then stay a few hundred MB at most and are
    reused, instead of being faulted in fresh for millions of rows (which cost more than the
    arithmetic itself in the benchmark).
    """
    columns = [c for spec in specs for c in spec.output_columns]
    n = len(table)
    block = np.empty((len(columns), n))
    kmax = max(spec.n_items for spec in specs)
    size = min(CHUNK_ROWS, n)
    work = (np.empty((kmax, size), dtype=np.float32), np.empty((kmax, size), dtype=np.float32))
    for start in range(0, n, CHUNK_ROWS) if n else [0]:
        part = table.iloc[start:start + CHUNK_ROWS]
        stop = start + len(part)
        buffers = work if len(part) == size else None  # the last, shorter chunk gets its own buffers
        at = 0
        for spec in specs:
            for arr in _score_arrays(part, spec, buffers).values():
                block[at, start:stop] = arr
                at += 1
    del work
    frame = pd.DataFrame(block.T, index=table.index, columns=columns, copy=False)
    keys = [k for k in contract.table_spec(table_name)["key"] if k in table.columns]
    for pos, key in enumerate(keys):
        frame.insert(pos, key, table[key])
    return frame


def score_spec(table: pd.DataFrame, spec: InstrumentSpec) -> pd.DataFrame:
    """Score one parsed instrument spec for every row of ``table`` (see :func:`score`)."""
    return _frame(table, spec.table, [spec])


def _flag(flag: Flag, spec: InstrumentSpec, scores: Mapping[str, np.ndarray], table: pd.DataFrame) -> np.ndarray:
    hit = None
    scored = None
    for name in flag.scales:
        v = scores[spec.column(name, t=flag.metric == "t")]
        if flag.value is not None:
            cut = np.float64(flag.value)
        else:
            mean, sd = _norm_arrays(spec.norms[name], table)
            cut = mean + flag.norm_sd * sd
        h = OPS[flag.op](v, cut) & ~np.isnan(v)
        hit = h if hit is None else hit | h
        scored = ~np.isnan(v) if scored is None else scored | ~np.isnan(v)
    return np.where(scored, hit.astype(np.float64), np.nan)


def score(table: pd.DataFrame, instrument: str, *, keys_dir: str | Path | None = None) -> pd.DataFrame:
    """Score one instrument for all respondents and waves of a contract table at once.

    Parameters
    ----------
    table : DataFrame
        A contract table (``parents`` or ``children``) holding the instrument's item columns
        (``PREFIX_NN``, float with NaN for missing), one row per respondent and wave.
    instrument : str
        Instrument name with a spec in ``specs/`` (e.g. ``"cts2s"``, ``"tsi"``).
    keys_dir : path, optional
        Folder with licensed key files (default: the shipped illustrative keys).

    Returns
    -------
    DataFrame
        Same index as ``table``; the table's key columns present in it (``parent_id``/``child_id``,
        ``wave``), then one float column per scale ``<instrument>_<scale>``, T-scores
        ``<instrument>_<scale>_t`` when the spec has ``t_scores``, and 0/1 flags
        ``<instrument>_<flag>``. Rules: module docstring of :mod:`veiligverder.instruments.engine`.

    Raises
    ------
    ScoringInputError
        When item columns are missing or hold answers outside the codebook range.
    SpecError
        When the spec or key file is malformed or the key file is missing.
    """
    return score_spec(table, load_spec(instrument, keys_dir=keys_dir))


def score_table(table: pd.DataFrame, table_name: str, *, keys_dir: str | Path | None = None) -> pd.DataFrame:
    """Score every instrument of one contract table; key columns once, then all score columns."""
    return _frame(table, table_name, [load_spec(name, keys_dir=keys_dir) for name in available_instruments(table_name)])


def item_values(table: pd.DataFrame, spec: InstrumentSpec, scale: str) -> pd.DataFrame:
    """The item values a scale adds up, one column per item, NaN where unanswered.

    ``sum``/``mean``: answers after reverse-keying and recoding; ``count``: 0/1 whether the answer
    meets ``count_if``. Empty frame for ``product`` and ``composite`` scales. Used for Cronbach's alpha.
    """
    s = spec.scales[scale]
    if s.score in ("product", "composite"):
        return pd.DataFrame(index=table.index)
    x = _item_matrix(table, spec)
    idx = np.asarray(s.items) - 1
    if s.score == "count":
        v = np.where(np.isnan(x[idx]), np.nan, OPS[s.count_op](x[idx], np.float32(s.count_value)))
    else:
        v = _values_inplace(x, spec)[idx]
    return pd.DataFrame(np.asarray(v.T, dtype=np.float64), index=table.index, columns=spec.scale_columns(scale))
