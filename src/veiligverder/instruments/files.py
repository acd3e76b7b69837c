"""Where instrument specs live and how their files are read (shared by specs and keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from veiligverder import contract, paths
from veiligverder.contract import FastSafeLoader


ERR_SPEC = "{file}: {problem}. Fix the instrument spec (format: veiligverder.instruments.spec docstring)."


class SpecError(ValueError):
    """An instrument spec or key file is malformed."""


def _spec_error(where: Any, problem: str) -> SpecError:
    return SpecError(ERR_SPEC.format(file=where, problem=problem))



def read_yaml(path: Path) -> dict[str, Any]:
    """A spec or key file as a mapping; a missing file, bad YAML or a non-mapping is a :class:`SpecError`."""
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=FastSafeLoader)  # noqa: S506 - a safe loader (libyaml's)
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


