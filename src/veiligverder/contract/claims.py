"""The report's published claims and their tolerances (``reproduction/claims.yml``), parsed once.

One file says, for every number or direction the report published, where it stands
(``report_facts.yml`` key), its value, the result id the scorecard compares it with, what the
twin's calibration recomputes, and the tolerance rule that judges it. This module only reads and
checks that file; judging is :func:`veiligverder.reproduction.verdict.judge`. It sits in the
contract layer because the synthetic twin's generator reads its target values from here
(:meth:`Claims.value`) and must not import the reproduction or analysis layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from veiligverder.contract import read_yaml
from veiligverder.paths import CLAIMS

# rule -> the form of its limit: none, one number, or a [lo, hi] pair
RULES: Mapping[str, str] = MappingProxyType({
    "exact": "none", "absolute": "number", "points": "number", "relative": "number",
    "significant": "number", "not_significant": "number", "range": "pair", "above": "number", "below": "number",
})
# rules that compare the recomputed value with the published number (so that must be a number)
DISTANCE_RULES = frozenset({"exact", "absolute", "points", "relative"})
ERR_TOLERANCE = ("{file} {id}: tolerance {spec!r} is not like 'exact', {{points: 3}}, {{relative: 0.15}}, "
                 "{{significant: 0.001}}, {{range: [0.5, 0.9]}} or a name of `tolerances` ({names})")
ERR_LIMIT = "{file} {id}: rule {rule!r} needs {form}, got {limit!r}"
ERR_VALUE = "{file} {id}: rule {rule!r} compares with the published value, which must be a number, got {value!r}"
ERR_DUPLICATE = "{file}: duplicate claim ids {ids}; make every id unique"
ERR_FIELD = "{file} {id}: missing field {field!r} (every claim has id, set, source, value)"
ERR_SET = "{file} {id}: unknown set {set!r}; the file defines {sets}"
ERR_RESULT = "{file} {id}: a claim with a result id needs a label (how the scorecard lists it)"
ERR_UNKNOWN = "{file} has no claim {id!r}"


class ClaimsError(ValueError):
    """An entry of the claims file that cannot be used (unknown rule, malformed limit, missing field)."""


@dataclass(frozen=True)
class Tolerance:
    """One tolerance rule with its limit, e.g. ``Tolerance("points", 3.0, name="share_t3")``.

    ``limit`` is ``None`` for ``exact``, a float for the one-number rules and a ``(lo, hi)`` pair for
    ``range``; ``name`` is the entry of the file's ``tolerances`` table it comes from ('' inline).
    """

    rule: str
    limit: float | tuple[float, float] | None = None
    name: str = ""


@dataclass(frozen=True)
class Claim:
    """One published claim: what was printed, what it is compared with, and how it is judged.

    ``result`` (scorecard) and ``stat`` (calibration) are ``None`` when the claim is not checked
    that way; ``factor`` multiplies the recomputed value before judging; ``spec`` is the raw entry
    (the stat's options such as ``outcome``, ``group``, ``scale``).
    """

    id: str
    set: str
    source: str
    value: Any
    tolerance: Tolerance
    result: str | None = None
    stat: str | None = None
    label: str = ""
    where: str = ""
    factor: float = 1.0
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_tolerance(spec: Any, *, claim_id: str, named: Mapping[str, Tolerance] | None = None,
                    file: str = CLAIMS.name) -> Tolerance:
    """A :class:`Tolerance` from the file's form: a name of ``tolerances``, ``exact`` or ``{rule: limit}``.

    Raises :class:`ClaimsError` naming the file, the claim id and the rule when the form is wrong.
    """
    named = named or {}
    if isinstance(spec, str) and spec in named:
        return named[spec]
    if spec == "exact":
        return Tolerance("exact")
    if not (isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in RULES):
        raise ClaimsError(ERR_TOLERANCE.format(file=file, id=claim_id, spec=spec, names=", ".join(named) or "none"))
    (rule, limit), = spec.items()
    return Tolerance(rule, _limit(rule, limit, claim_id=claim_id, file=file))


def _limit(rule: str, limit: Any, *, claim_id: str, file: str) -> float | tuple[float, float] | None:
    """The limit of ``rule`` as a float or an ordered (lo, hi) pair; ClaimsError when it has the wrong form."""
    form = RULES[rule]
    number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x)  # noqa: E731
    if form == "number" and number(limit) and (rule not in ("absolute", "points", "relative") or limit >= 0):
        return float(limit)
    if form == "pair" and isinstance(limit, (list, tuple)) and len(limit) == 2 and all(map(number, limit)) \
            and limit[0] <= limit[1]:
        return float(limit[0]), float(limit[1])
    needs = {"number": "one number (a distance is not negative)", "pair": "[lo, hi] with lo <= hi",
             "none": "no limit"}[form]
    raise ClaimsError(ERR_LIMIT.format(file=file, id=claim_id, rule=rule, form=needs, limit=limit))


def parse_claim(entry: Mapping[str, Any], *, sets: Mapping[str, Mapping[str, Any]] | None = None,
                named: Mapping[str, Tolerance] | None = None, file: str = CLAIMS.name) -> Claim:
    """A :class:`Claim` from one entry of the file, with its set's defaults (``where``, ``stat``, ``tolerance``).

    Without ``sets`` the entry stands alone (``set`` optional): used to build claims in tests.
    """
    claim_id = entry.get("id", "?")
    for key in ("id", "source", "value") if sets is None else ("id", "set", "source", "value"):
        if key not in entry:
            raise ClaimsError(ERR_FIELD.format(file=file, id=claim_id, field=key))
    defaults: Mapping[str, Any] = {}
    if sets is not None:
        if entry["set"] not in sets:
            raise ClaimsError(ERR_SET.format(file=file, id=claim_id, set=entry["set"], sets=", ".join(sets)))
        defaults = sets[entry["set"]]
    spec = entry.get("tolerance", defaults.get("tolerance"))
    tolerance = parse_tolerance(spec, claim_id=claim_id, named=named, file=file)
    value = entry["value"]
    if tolerance.rule in DISTANCE_RULES and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        raise ClaimsError(ERR_VALUE.format(file=file, id=claim_id, rule=tolerance.rule, value=value))
    if entry.get("result") and not entry.get("label"):
        raise ClaimsError(ERR_RESULT.format(file=file, id=claim_id))
    return Claim(id=claim_id, set=entry.get("set", ""), source=entry["source"], value=value, tolerance=tolerance,
                 result=entry.get("result"), stat=entry.get("stat", defaults.get("stat")),
                 label=entry.get("label", ""), where=entry.get("where", defaults.get("where", "")),
                 factor=float(entry.get("factor", 1.0)), spec=MappingProxyType(dict(entry)))


class Claims:
    """The parsed claims file: every :class:`Claim`, the named tolerances and the sets' defaults.

    ``value(id)`` is what the twin's generator reads; ``targets(set)`` are the claims the
    calibration recomputes (those with a ``stat``); ``scored()`` the ones on the scorecard (those
    with a ``result``). ``entries(set)`` gives the raw entries of the targets (read-only mappings).
    """

    def __init__(self, doc: Mapping[str, Any], *, file: str = CLAIMS.name) -> None:
        self.file = file
        self.sets: Mapping[str, Mapping[str, Any]] = MappingProxyType(dict(doc["sets"]))
        tolerances: dict[str, Tolerance] = {}
        for name, spec in doc.get("tolerances", {}).items():
            rule = parse_tolerance(spec, claim_id=f"tolerances.{name}", file=file)
            tolerances[name] = Tolerance(rule.rule, rule.limit, name=name)
        self.tolerances: Mapping[str, Tolerance] = MappingProxyType(tolerances)
        entries = list(doc["claims"])
        ids = [e.get("id") for e in entries]
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dup = sorted({i for i in ids if i in seen or seen.add(i)})
            raise ClaimsError(ERR_DUPLICATE.format(file=file, ids=dup))
        self._claims = tuple(parse_claim(e, sets=self.sets, named=self.tolerances, file=file) for e in entries)
        self.by_id: Mapping[str, Claim] = MappingProxyType({c.id: c for c in self._claims})

    def claim(self, claim_id: str) -> Claim:
        """The claim of one id (KeyError naming the file and the id when absent)."""
        try:
            return self.by_id[claim_id]
        except KeyError:
            raise KeyError(ERR_UNKNOWN.format(file=self.file, id=claim_id)) from None

    def value(self, claim_id: str) -> Any:
        """The published value of one id: the generator's target (KeyError naming the id when absent)."""
        return self.claim(claim_id).value

    def tolerance(self, claim_id: str) -> Tolerance:
        """The tolerance that judges one id (its own, else its set's default)."""
        return self.claim(claim_id).tolerance

    def claims(self, claim_set: str | None = None) -> list[Claim]:
        """Every claim of one set (all when None), in file order."""
        return [c for c in self._claims if claim_set is None or c.set == claim_set]

    def targets(self, claim_set: str | None = None) -> list[Claim]:
        """The claims the calibration recomputes from a dataset (those with a ``stat``), in file order."""
        return [c for c in self.claims(claim_set) if c.stat]

    def scored(self) -> list[Claim]:
        """The claims on the scorecard (those with a result id), in file order."""
        return [c for c in self._claims if c.result]

    def entries(self, claim_set: str | None = None) -> list[Mapping[str, Any]]:
        """The raw entries of :meth:`targets` (read-only), e.g. for a target's ``scale`` or ``scales``."""
        return [c.spec for c in self.targets(claim_set)]


def read_claims(path: str | Path = CLAIMS) -> Claims:
    """Parse a claims file (uncached: a test may pass its own)."""
    return Claims(read_yaml(path), file=Path(path).name)


@lru_cache(maxsize=1)
def load_claims() -> Claims:
    """The package's claims file, parsed once (the scorecard, the calibration and the twin share it)."""
    return read_claims(CLAIMS)


# The twin's generator reads its calibration targets under these names.
Targets = Claims
load_targets = load_claims
