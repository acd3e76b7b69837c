"""The generic, vectorised scoring engine: any instrument spec, all respondents and waves at once
(numpy on the item matrix; no loop over rows).

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
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from veiligverder import contract
from veiligverder.instruments.files import available_instruments
from veiligverder.instruments.spec import Flag, InstrumentSpec, Norm, OPS, Scale, load_spec


ERR_COLUMNS = (
    "table lacks item columns of {instrument}: {cols}. Every contract table holds all its item "
    "columns (codebook.yml); add them (all NaN when not asked) or map them in mapping.yml."
)
ERR_VALUES = (
    "column {col}: values {values} (rows {rows}) outside the allowed answers {lo}-{hi} (whole "
    "numbers) of {instrument}. Recode them in mapping.yml or set them to missing."
)
ERR_DTYPE = "column {col} of {instrument} is not numeric ({dtype}); item columns must be float with NaN for missing."




class ScoringInputError(ValueError):
    """A table handed to the engine lacks item columns or holds impossible answers."""




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
