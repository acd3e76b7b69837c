"""Build parameters: their defaults, types and allowed values, validated before any notebook runs.

Papermill only warns about a parameter a notebook does not declare, and happily injects a value of
the wrong type; the pipeline therefore checks a parameters file against this table first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

FOLLOW_UP_RULES = ("latest", "T1", "T2")


class ParameterError(ValueError):
    """A build parameter that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Params:
    """Parameters shared by all chapter notebooks (each notebook declares the ones it uses).

    Attributes
    ----------
    follow_up_rule : {'latest', 'T1', 'T2'}
        Which wave is the follow-up (CONTRACT §3): T2 where a unit has it, else T1; or one wave only.
    seed : int
        Seed for every random draw (matching ties, power simulations).
    keys_dir : str or None
        Folder with licensed scoring keys and norms; None = the shipped illustrative keys.
    cumulation_threshold : int
        Number of the seven risk factors from which a parent counts as 'cumulative risk' (report: 5).
    rematch : bool
        Re-select controls by matching instead of using the dataset's own ``group`` labels.
    disclosure_threshold : int
        On non-synthetic data, table cells based on fewer units than this are suppressed.
    power_replications : int
        Simulated datasets per sample size in the power chapter.
    """

    follow_up_rule: str = "latest"
    seed: int = 20201231
    keys_dir: str | None = None
    cumulation_threshold: int = 5
    rematch: bool = False
    disclosure_threshold: int = 5
    power_replications: int = 400

    def __post_init__(self) -> None:
        if self.follow_up_rule not in FOLLOW_UP_RULES:
            raise ParameterError(
                f"follow_up_rule={self.follow_up_rule!r} is not allowed; use one of {', '.join(FOLLOW_UP_RULES)}"
            )
        for name in ("seed", "cumulation_threshold", "disclosure_threshold", "power_replications"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ParameterError(f"{name}={value!r} must be an integer")
        if not 1 <= self.cumulation_threshold <= 7:
            raise ParameterError(f"cumulation_threshold={self.cumulation_threshold} must lie in 1..7 (seven risk factors)")
        if self.disclosure_threshold < 1:
            raise ParameterError(f"disclosure_threshold={self.disclosure_threshold} must be at least 1")
        if self.power_replications < 10:
            raise ParameterError(f"power_replications={self.power_replications} must be at least 10")
        if not isinstance(self.rematch, bool):
            raise ParameterError(f"rematch={self.rematch!r} must be true or false")
        if self.keys_dir is not None:
            if not Path(self.keys_dir).is_dir():
                raise ParameterError(f"keys_dir={self.keys_dir!r} is not a folder")
            object.__setattr__(self, "keys_dir", str(Path(self.keys_dir).resolve()))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_params(path: str | Path | None = None, **overrides: Any) -> Params:
    """Read a YAML parameters file (optional) and apply overrides; reject unknown names."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ParameterError(f"{path}: cannot read the parameters file: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ParameterError(f"{path}: a parameters file is a mapping name: value")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Params)}
    unknown = sorted(set(values) - known)
    if unknown:
        where = f"{path}: " if path else ""
        raise ParameterError(f"{where}unknown parameter(s) {unknown}; known: {sorted(known)}")
    return Params(**values)
