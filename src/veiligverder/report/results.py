"""The results registry: every number a chapter computes, by its CONTRACT §4 id.

Each chapter notebook records its results in a fragment (``OUT/.work/fragments/<chapter>.json``);
the pipeline merges the fragments into ``results.json`` with a ``_meta`` entry. Chapters that
summarise others (landing page, conclusion, scorecard) read the merged fragments back.
"""

from __future__ import annotations

from collections.abc import Iterable

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

FRAGMENTS = Path(".work") / "fragments"
SUPPRESSED = "_suppressed"  # reserved fragment key: result id -> the disclosure rule that withheld it


class ResultsError(ValueError):
    """A result id or value that the registry cannot take."""


def clean_value(value: Any) -> float | int | str | None:
    """A JSON-safe scalar: numpy scalars to Python, NaN/inf to ``None``.

    Floats are rounded to 12 significant digits so that results.json is byte-stable across
    platforms whose last-bit floating point may differ.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return None
        return float(f"{v:.12g}")
    if isinstance(value, str):
        return value
    raise ResultsError(f"result value {value!r} of type {type(value).__name__} is not a number")


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` whole or not at all (temporary file, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """Collects one chapter's results and writes them as a fragment.

    Parameters
    ----------
    out_dir : path or None
        The build's output folder (the notebooks' ``out_dir`` parameter). None (a chapter run on
        its own, outside a build): the results are collected but :meth:`save` writes nothing.
    chapter : str
        Name of the chapter notebook; one fragment per chapter.
    """

    def __init__(self, out_dir: str | os.PathLike | None, chapter: str) -> None:
        self.path = None if out_dir is None else Path(out_dir) / FRAGMENTS / f"{chapter}.json"
        self.values: dict[str, Any] = {}
        self.suppressed: dict[str, str] = {}

    def add(self, result_id: str, value: Any) -> Any:
        """Record one result; returns the value so that it can be glued in the same line."""
        if not result_id or result_id.startswith("_") or " " in result_id:
            raise ResultsError(f"result id {result_id!r} is not a dotted id like 'n.VV.families'")
        self.values[result_id] = clean_value(value)
        return value

    def update(self, mapping: Mapping[str, Any]) -> None:
        """Record several results at once."""
        for key, value in mapping.items():
            self.add(key, value)

    def record(self, analysis: Any) -> Any:
        """Record an analysis that went through the disclosure gate: its ``results`` (withheld ones
        are None) and its ``withheld`` ids with their rules; returns the analysis."""
        self.update(analysis.results)
        self.withhold(getattr(analysis, "withheld", {}))
        return analysis

    def withhold(self, suppressed: Mapping[str, str]) -> None:
        """Record result ids withheld by the disclosure gate (id -> rule); their values become null."""
        for key, rule in suppressed.items():
            self.values[key] = None
            self.suppressed[key] = rule

    def save(self) -> None:
        """Write the fragment (atomically) to :attr:`path`; without an output folder (``out_dir``
        None) write nothing. Returns None, so that the notebook cell calling it shows no output
        (a returned path would be an output, and one nbval compares)."""
        if self.path is None:
            return
        payload: dict[str, Any] = dict(self.values)
        if self.suppressed:
            payload[SUPPRESSED] = dict(sorted(self.suppressed.items()))
        write_json_atomic(self.path, payload)


def load_fragments(out_dir: str | os.PathLike, chapters: Iterable[str] | None = None) -> dict[str, Any]:
    """Merge the fragments of the build in ``out_dir`` (all, or those of ``chapters``); a result id
    recorded twice with different values is an error."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    wanted = None if chapters is None else set(chapters)
    for path in sorted((Path(out_dir) / FRAGMENTS).glob("*.json")):
        if wanted is not None and path.stem not in wanted:
            continue
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            if key == SUPPRESSED:
                continue
            if key in merged and merged[key] != value:
                raise ResultsError(f"result {key!r} recorded by both {origin[key]} and {path.stem}")
            merged[key] = value
            origin[key] = path.stem
    return dict(sorted(merged.items()))


def load_suppressed(out_dir: str | os.PathLike) -> dict[str, str]:
    """Every result id that a chapter's disclosure gate withheld, with the rule (for ``_meta.suppressed``)."""
    merged: dict[str, str] = {}
    for path in sorted((Path(out_dir) / FRAGMENTS).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")).get(SUPPRESSED, {}))
    return dict(sorted(merged.items()))
