"""Licensed scoring keys and norms: where they come from and which ones are in force.

The TSI, TSCC, TSCYC, KIDSCREEN (T-scores) and NOSI (norms) keys are licensed: the project does
not ship them. Their specs say ``licensed: true`` and the engine merges a key file
``<instrument>.yml`` from a key folder over the spec. The default folder,
``paths.ILLUSTRATIVE_KEYS_DIR``, holds illustrative keys that fit the synthetic data; they are
marked ``illustrative: true`` and must never be presented as the licensed ones. To score real data
with the licensed keys, write the same files from the manuals into a folder of your own and pass
it as ``keys_dir``.

Key file format (README)
------------------------
.. code-block:: yaml

    instrument: tsi              # must equal the file name
    illustrative: true           # required; true for anything not transcribed from the licensed key
    why: >-                      # required when illustrative: how the key was made up
      Items assigned to scales in contract order; norms chosen to be plausible.
    source: "Briere 1995 (TSI manual)"   # for a real key: manual, edition, norm table
    reverse: "11, 12"            # optional: reverse-keyed items (replaces the spec's list)
    scales:                      # optional: scales added to / replacing the spec's (same format
      anxious_arousal: {items: "001-008"}     # as the spec; item numbers in contract order)
    norms:                       # per scale, one of:
      anxious_arousal: {mean: 5.0, sd: 4.0}   #  - one norm: T = 50 + 10 (raw - mean) / sd
      depression:                              #  - strata, first matching row wins:
        - {when: {sex: female, age_years: "18-54"}, mean: 5.5, sd: 4.2}
        - {when: {sex: male}, mean: 4.8, sd: 3.9}
      kidscreen10: {t_table: {10: 19.6, 11: 23.1}}   # - raw sum -> T lookup (hand-scoring table)
    flags:                       # optional: replaces the spec's flag of the same name
      clinical: {scales: [...], metric: t, op: ">=", value: 65}
    t_scores: true               # optional override

A key never holds item texts: only item numbers, scale names, norms and cut-offs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veiligverder import paths
from veiligverder.instruments.files import SpecError, available_instruments, read_yaml

ERR_KEY_MISSING = (
    "{path}: no key file for licensed instrument {name!r} in the key folder {folder}. Put {name}.yml "
    "there (format: veiligverder.instruments.keys docstring) or use the illustrative keys (keys_dir=None)."
)
ERR_KEY_FIELD = "{path}: {problem}. Fix the key file (format: veiligverder.instruments.keys docstring)."
_KEY_FIELDS = {"instrument", "illustrative", "why", "source", "reverse", "recode", "scales", "norms", "flags",
               "t_scores", "note"}


def keys_folder(keys_dir: str | Path | None) -> Path:
    """The key folder in force: ``keys_dir`` or the shipped illustrative keys."""
    return Path(keys_dir).resolve() if keys_dir is not None else paths.ILLUSTRATIVE_KEYS_DIR


def key_path_for(name: str, keys_dir: str | Path | None) -> Path | None:
    """Path of the key file of a licensed instrument (``None`` for an unlicensed one)."""
    spec = read_yaml(paths.SPECS_DIR / f"{name}.yml")
    if not spec.get("licensed"):
        return None
    return keys_folder(keys_dir) / f"{name}.yml"


def read_key(path: Path, name: str) -> dict[str, Any]:
    """Read and check one key file (fields, ``illustrative`` flag, ``why`` for illustrative keys)."""
    if not path.exists():
        raise SpecError(ERR_KEY_MISSING.format(path=path, name=name, folder=path.parent))
    key = read_yaml(path)
    unknown = set(key) - _KEY_FIELDS
    if unknown:
        raise SpecError(ERR_KEY_FIELD.format(path=path, problem=f"unknown fields {sorted(unknown)}"))
    if key.get("instrument") != name:
        problem = f"'instrument' is {key.get('instrument')!r}, expected {name!r}"
        raise SpecError(ERR_KEY_FIELD.format(path=path, problem=problem))
    if not isinstance(key.get("illustrative"), bool):
        raise SpecError(ERR_KEY_FIELD.format(path=path, problem="'illustrative' must be true or false"))
    if key["illustrative"] and not str(key.get("why", "")).strip():
        problem = "an illustrative key must say 'why' (how it was made up)"
        raise SpecError(ERR_KEY_FIELD.format(path=path, problem=problem))
    return key


def keys_in_force(keys_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Which key file scores each licensed instrument, and whether it is illustrative.

    Parameters
    ----------
    keys_dir : path, optional
        Key folder; default the shipped illustrative keys.

    Returns
    -------
    dict
        Instrument -> ``{"path": str, "illustrative": bool, "source": str}`` for every licensed
        instrument. Raises :class:`SpecError` when a key file is missing or malformed.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in available_instruments():
        path = key_path_for(name, keys_dir)
        if path is None:
            continue
        key = read_key(path, name)
        out[name] = {"path": str(path), "illustrative": key["illustrative"], "source": str(key.get("source", ""))}
    return out
