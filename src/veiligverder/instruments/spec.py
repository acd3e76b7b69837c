"""The instrument spec format: parse a YAML spec (with its licensed key merged in) into an
:class:`InstrumentSpec` that :mod:`veiligverder.instruments.scoring` scores.

Instrument logic is data: every instrument has one YAML spec in ``specs/``. Licensed scoring keys
and norms are merged in from a key folder (see :mod:`veiligverder.instruments.keys`).

Spec format
-----------
.. code-block:: yaml

    instrument: cts2s            # equals the file name
    title: ...                   # full name
    short: ...                   # the name readers see in lists and tables (e.g. "NOSI-K"; default: instrument)
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

from veiligverder import contract, paths
from veiligverder.instruments.files import SpecError, _spec_error, available_instruments, read_yaml
from veiligverder.instruments.keys import key_path_for, read_key


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
    short: str  # the name readers see (a spec's ``short``; the instrument name when absent)
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
        short=str(merged.get("short") or merged["instrument"]),
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
    spec_path = paths.SPECS_DIR / f"{name}.yml"
    if not spec_path.exists():
        raise SpecError(f"{spec_path}: no spec for instrument {name!r}; known: {', '.join(available_instruments())}")
    key_path = key_path_for(name, keys_dir)
    stamp = (spec_path.stat().st_mtime_ns, key_path.stat().st_mtime_ns if key_path and key_path.exists() else 0)
    return _load_spec_cached(name, str(key_path) if key_path else "", stamp)


@lru_cache(maxsize=256)
def _load_spec_cached(name: str, key_path: str, _stamp: tuple[int, int]) -> InstrumentSpec:
    spec_path = paths.SPECS_DIR / f"{name}.yml"
    raw = read_yaml(spec_path)
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

