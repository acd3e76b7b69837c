"""Build parameters: their defaults, types and allowed values, validated before any notebook runs.

Papermill only warns about a parameter a notebook does not declare, and happily injects a value of
the wrong type; the pipeline therefore checks a parameters file against this table first: every
field's type, then its range. YAML files of the package's users (parameters, ``mapping.yml``) are
read with :func:`load_yaml`, which refuses alias bombs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from veiligverder.vocab import CUMULATION_THRESHOLD, DEFAULT_SEED, DISCLOSURE_THRESHOLD, FOLLOW_UP_RULES
SEED_RANGE = (0, 2**32 - 1)  # what numpy's random generators accept
MAX_YAML_NODES = 10_000  # values a YAML document may expand to through aliases (*name)
SCHEDULER_SCHEMES = ("tcp://", "tls://")  # Dask scheduler addresses (veiligverder.stats.scaleout.SCHEMES)


class ParameterError(ValueError):
    """A build parameter that is unknown, of the wrong type or out of range."""


class YAMLLimitError(yaml.YAMLError):
    """A YAML document whose aliases expand beyond :data:`MAX_YAML_NODES` values, or that nests too deeply."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses alias bombs ("billion laughs").

    PyYAML shares the node of an anchor between its aliases, so loading a bomb is quick, but anything
    that then walks or prints the result (a problem report) expands it. A document that uses aliases
    is therefore accepted only when its expanded size stays within :data:`MAX_YAML_NODES` values;
    a document without aliases is never limited (its size is that of the file).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.aliases_used = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases_used += 1
        return super().compose_node(parent, index)

    def compose_document(self) -> Any:
        node = super().compose_document()
        if self.aliases_used:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the values ``root`` stands for with every alias written out; raise past the limit."""

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # depth-first, children before parents, each distinct node once
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children(node))
            if sizes[key] > MAX_YAML_NODES:
                raise YAMLLimitError(
                    f"its aliases (*name) expand to more than {MAX_YAML_NODES:,} values; "
                    "write the entries out without anchors (&name) and aliases"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YAMLLimitError("an alias (*name) refers to an entry that contains it; remove the alias")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children(node) if id(child) not in sizes)


def load_yaml(text: str | bytes) -> Any:
    """Parse one YAML document safely: plain data only, alias expansion bounded (see :class:`BoundedLoader`).

    Raises
    ------
    yaml.YAMLError
        Unreadable YAML; :class:`YAMLLimitError` for alias bombs and absurd nesting.
    """
    try:
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise YAMLLimitError("it is nested too deeply to be read") from None


@dataclass(frozen=True)
class Params:
    """Parameters shared by all chapter notebooks (each notebook declares the ones it uses).

    Attributes
    ----------
    follow_up_rule : {'latest', 'T1', 'T2'}
        Which wave is the follow-up (CONTRACT §3): T2 where a unit has it, else T1; or one wave only.
    seed : int
        Seed of the analyses' random draws: the matching of controls and the power simulations.
        The embedded synthetic twin is fixed data (always seed ``vocab.DEFAULT_SEED``; write
        another with ``veiligverder synth --seed N``), and Fisher-Freeman-Halton's Monte Carlo p
        values (only for very large tables) keep their own fixed seed.
    keys_dir : str or None
        Folder with licensed scoring keys and norms; None = the shipped illustrative keys. A
        relative path is taken from the folder the build is started in (the current directory).
    cumulation_threshold : int
        Number of the seven risk factors from which a parent counts as 'cumulative risk' (report: 5).
    rematch : bool
        Re-select controls by matching instead of using the dataset's own ``group`` labels.
    disclosure_threshold : int
        On non-synthetic data, numbers resting on fewer units (or families) than this are withheld.
    power_replications : int
        Simulated datasets per sample size in the power chapter.
    scheduler : str or None
        Address of a Dask scheduler (``tcp://host:port`` or ``tls://host:port``) on whose workers the
        power simulations run; None (default) = local processes. Results are the same either way.
    """

    follow_up_rule: str = "latest"
    seed: int = DEFAULT_SEED
    keys_dir: str | None = None
    cumulation_threshold: int = CUMULATION_THRESHOLD
    rematch: bool = False
    disclosure_threshold: int = DISCLOSURE_THRESHOLD
    power_replications: int = 400
    scheduler: str | None = None

    def __post_init__(self) -> None:
        """Check the type of every field first, then its range; the message names the field and the fix."""
        if not isinstance(self.follow_up_rule, str) or self.follow_up_rule not in FOLLOW_UP_RULES:
            raise ParameterError(
                f"follow_up_rule={self.follow_up_rule!r} is not allowed; use one of {', '.join(FOLLOW_UP_RULES)}"
            )
        for name in ("seed", "cumulation_threshold", "disclosure_threshold", "power_replications"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ParameterError(f"{name}={value!r} must be an integer (a whole number without quotes)")
        if not isinstance(self.rematch, bool):
            raise ParameterError(f"rematch={self.rematch!r} must be true or false")
        if self.keys_dir is not None and (not isinstance(self.keys_dir, str | Path) or not str(self.keys_dir)):
            raise ParameterError(f"keys_dir={self.keys_dir!r} must be the path of a folder, as text")
        if self.scheduler is not None and (not isinstance(self.scheduler, str)
                                           or not self.scheduler.startswith(SCHEDULER_SCHEMES)
                                           or not self.scheduler.split("://", 1)[1]):
            raise ParameterError(f"scheduler={self.scheduler!r} must be the address of a Dask scheduler, "
                                 "tcp://HOST:PORT or tls://HOST:PORT (or left out: local processes)")
        low, high = SEED_RANGE
        if not low <= self.seed <= high:
            raise ParameterError(f"seed={self.seed} must lie in {low}..{high}")
        if not 1 <= self.cumulation_threshold <= 7:
            raise ParameterError(f"cumulation_threshold={self.cumulation_threshold} must lie in 1..7 (seven risk factors)")
        if self.disclosure_threshold < 1:
            raise ParameterError(f"disclosure_threshold={self.disclosure_threshold} must be at least 1")
        if self.power_replications < 10:
            raise ParameterError(f"power_replications={self.power_replications} must be at least 10")
        if self.keys_dir is not None:
            if not Path(self.keys_dir).is_dir():
                raise ParameterError(f"keys_dir={str(self.keys_dir)!r} is not a folder; give the folder with the licensed keys")
            object.__setattr__(self, "keys_dir", str(Path(self.keys_dir).resolve()))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_params(path: str | Path | None = None, **overrides: Any) -> Params:
    """Read a YAML parameters file (optional) and apply overrides; reject unknown names."""
    values: dict[Any, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = load_yaml(path.read_bytes()) or {}
        except OSError as exc:
            raise ParameterError(f"{path}: cannot read the parameters file: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            detail = " ".join(str(exc).split())
            raise ParameterError(f"{path}: not a readable YAML parameters file: {detail}") from exc
        if not isinstance(loaded, dict):
            raise ParameterError(f"{path}: a parameters file is a mapping of name: value lines")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Params)}
    where = f"{path}: " if path else ""
    unknown = sorted((k for k in values if k not in known), key=str)
    if unknown:
        raise ParameterError(f"{where}unknown parameter(s) {unknown}; known: {sorted(known)}")
    try:
        return Params(**values)
    except ParameterError as exc:
        raise ParameterError(f"{where}{exc}") from None
