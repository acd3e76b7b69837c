"""The one verdict engine: a recomputed value against a published claim and its tolerance.

Both the reproduction scorecard (:mod:`veiligverder.reproduction.scorecard`, values from
``results.json``) and the twin's calibration (:mod:`veiligverder.reproduction.calibration`, values
recomputed from a dataset) judge with :func:`judge`, so one claim of ``reproduction/claims.yml``
gets the same rule, the same limit and the same tolerance text in both.

Rules (x = recomputed value times the claim's ``factor``, v = published value):

============================  =====================================  ======================
rule                          agrees when                            shown as
============================  =====================================  ======================
``exact``                     x == v                                 ``exact``
``{absolute: d}``             abs(x - v) <= d                        ``± 0.05``
``{points: d}``               abs(x - v) <= d (percentage points)    ``± 3 points``
``{relative: r}``             abs(x - v) <= r * abs(v)               ``± 15 %``
``{significant: a}``          x < a (x a p value)                    ``p < 0.001``
``{not_significant: a}``      x >= a                                 ``p ≥ 0.05``
``{range: [lo, hi]}``         lo <= x <= hi                          ``0.52 to 0.89``, ``≤ 8``
``{above: c}`` / ``{below: c}``  x > c / x < c                       ``> 0`` / ``< 0``
============================  =====================================  ======================

Distances and range ends are inclusive with :data:`SLACK` for floating-point rounding (a printed
28.2 % of 39 parents is 11/39 = 28.205...%; 3 points off is 'within 3 points' however the
subtraction rounds). Significance and direction limits are strict as the report words them: a p
of exactly .05 is not 'p < .05' but is 'not significant'.

Effect-size words (:func:`judge_word`): an eta squared claim may also carry the word the report
gave the effect (``size: large``, ``medium-to-large``). That word is judged apart from the number:
it agrees when the word that the report's own Tabel 1 gives the recomputed value (the row of the
effect's kind: time is repeated measures, group and group x time are between groups;
:func:`veiligverder.stats.effect_size_word`) is one of the words the report used. So a number can
agree within its tolerance while its word differs (Figuur 2: eta squared .24, 'large' in the
report, but a repeated-measures effect is 'medium' below .26 by Tabel 1).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import pandas as pd

from veiligverder.contract.claims import Claim, Tolerance
from veiligverder.stats.effsize import THRESHOLDS, effect_size_word
from veiligverder.vocab import EFFECT_KIND

SLACK = 1e-9
AGREES, DIFFERS, NOT_COMPUTABLE, WITHHELD = "agrees", "differs", "not computable", "withheld"
VERDICTS = (AGREES, DIFFERS, NOT_COMPUTABLE, WITHHELD)
ERR_NOT_NUMBER = "claim {id} ({rule}): the recomputed value {value!r} is not a number"
ERR_NO_WORD = "claim {id}: no effect-size word (`size`) to judge; only eta squared claims of the figures carry one"
ERR_WORD = ("claim {id}: size {size!r} is not a Tabel 1 word or two joined by '-to-' "
            "(small, medium, large; e.g. 'small-to-medium')")
ERR_KIND = "claim {id}: no Tabel 1 row for the effect; give `kind` (between or repeated) or an `effect` of {effects}"
#: The words of Tabel 1, smallest first ('none' is below small: the report names no difference).
SIZE_WORDS = ("none", "small", "medium", "large")


class Judgement(NamedTuple):
    """The verdict on one claim (one of :data:`VERDICTS`) and its tolerance as shown to a reader."""

    verdict: str
    tolerance: str

    @property
    def ok(self) -> bool:
        """True only when the claim agrees (not computable and withheld are not a pass)."""
        return self.verdict == AGREES


def _g(x: float) -> str:
    """A limit as printed: shortest form, no trailing zeros (0.05, 3, 0.001)."""
    return f"{x:g}"


def tolerance_text(tolerance: Tolerance) -> str:
    """The tolerance as the scorecard and the calibration table show it (``± 3 points``, ``p < 0.001``)."""
    rule, limit = tolerance.rule, tolerance.limit
    if rule == "exact":
        return "exact"
    if rule == "range":
        lo, hi = limit
        if math.isinf(lo) and math.isinf(hi):
            return "any value"
        if math.isinf(lo):
            return f"≤ {_g(hi)}"
        if math.isinf(hi):
            return f"≥ {_g(lo)}"
        return f"{_g(lo)} to {_g(hi)}"
    return {
        "absolute": f"± {_g(limit)}",
        "points": f"± {_g(limit)} points",
        "relative": f"± {_g(100 * limit)} %",
        "significant": f"p < {_g(limit)}",
        "not_significant": f"p ≥ {_g(limit)}",
        "above": f"> {_g(limit)}",
        "below": f"< {_g(limit)}",
    }[rule]


def published_text(claim: Claim) -> Any:
    """The published side as the scorecard shows it: the number, or the threshold for a p claim."""
    rule, limit = claim.tolerance.rule, claim.tolerance.limit
    if rule == "significant":
        return f"p < {_g(limit)}"
    if rule == "not_significant":
        return f"n.s. (p ≥ {_g(limit)})"
    return claim.value


def recomputed(claim: Claim, value: Any) -> float:
    """The value in the claim's units (times ``factor``); NaN when there is none to judge.

    ``None``, NaN, ``pd.NA`` and infinities are not computable; anything else must be a number (a
    string or a bool as a result is a bug upstream and raises, naming the claim and its rule).
    """
    if isinstance(value, (bool, str, bytes)) or not (pd.api.types.is_scalar(value) or value is None):
        raise TypeError(ERR_NOT_NUMBER.format(id=claim.id, rule=claim.tolerance.rule, value=value))
    if pd.isna(value):
        return math.nan
    try:
        x = float(value) * claim.factor
    except (TypeError, ValueError):
        raise TypeError(ERR_NOT_NUMBER.format(id=claim.id, rule=claim.tolerance.rule, value=value)) from None
    return x if math.isfinite(x) else math.nan


def meets(tolerance: Tolerance, x: float, published: Any = None) -> bool:
    """Whether a finite value ``x`` meets ``tolerance`` (``published`` is the number distance rules use)."""
    rule, limit = tolerance.rule, tolerance.limit
    if rule == "exact":
        return x == float(published)
    if rule in ("absolute", "points"):
        return abs(x - float(published)) <= limit + SLACK
    if rule == "relative":
        return abs(x - float(published)) <= limit * abs(float(published)) + SLACK
    if rule == "range":
        return limit[0] - SLACK <= x <= limit[1] + SLACK
    return {"significant": x < limit, "not_significant": x >= limit, "above": x > limit, "below": x < limit}[rule]


def judge(claim: Claim, achieved: Any, *, withheld: bool = False) -> Judgement:
    """The verdict on ``claim`` for the recomputed value ``achieved`` (before ``factor``).

    Parameters
    ----------
    claim : Claim
        A claim of ``reproduction/claims.yml`` (:func:`veiligverder.contract.claims.load_claims`).
    achieved : number or None
        The recomputed value: a result of ``results.json`` or a calibration statistic.
    withheld : bool, keyword-only
        The disclosure gate withheld the value: the verdict is ``withheld`` whatever ``achieved``
        is, since even 'agrees within 3 points' would tell where the withheld value lies.

    Returns
    -------
    Judgement
        ``verdict`` (``agrees``, ``differs``, ``not computable`` when there is no finite value,
        ``withheld``), ``tolerance`` (text) and ``ok`` (agrees).
    """
    shown = tolerance_text(claim.tolerance)
    if withheld:
        return Judgement(WITHHELD, shown)
    x = recomputed(claim, achieved)
    if math.isnan(x):
        return Judgement(NOT_COMPUTABLE, shown)
    return Judgement(AGREES if meets(claim.tolerance, x, claim.value) else DIFFERS, shown)


# ------------------------------------------------------------------------------------ effect-size words
class WordJudgement(NamedTuple):
    """The verdict on the effect-size word of an eta squared claim.

    ``published`` is the report's word (``large``, ``medium-to-large``); ``computed`` the word Tabel 1
    gives the recomputed value ('' when there is none to give, e.g. withheld or not computable);
    ``kind`` the Tabel 1 row (``repeated`` or ``between``); ``rule`` that row as shown to a reader.
    """

    verdict: str
    published: str
    computed: str
    kind: str
    rule: str

    @property
    def ok(self) -> bool:
        """True only when the word agrees."""
        return self.verdict == AGREES


def has_word(claim: Claim) -> bool:
    """Whether the claim carries the report's effect-size word (``size``)."""
    return bool(claim.spec.get("size"))


def size_words(size: str, *, claim_id: str = "?") -> tuple[str, ...]:
    """The Tabel 1 words a published size names: ``'large'`` -> ('large',), ``'small-to-medium'`` ->
    ('small', 'medium'); a range names every word from its first to its last.

    >>> size_words("medium-to-large")
    ('medium', 'large')
    """
    parts = str(size).strip().lower().split("-to-")
    if len(parts) > 2 or not all(p in SIZE_WORDS for p in parts):
        raise ValueError(ERR_WORD.format(id=claim_id, size=size))
    lo, hi = SIZE_WORDS.index(parts[0]), SIZE_WORDS.index(parts[-1])
    if lo > hi:
        raise ValueError(ERR_WORD.format(id=claim_id, size=size))
    return SIZE_WORDS[lo:hi + 1]


def word_kind(claim: Claim) -> str:
    """The Tabel 1 row that judges the claim's effect: ``kind`` if given, else by ``effect``
    (:data:`veiligverder.vocab.EFFECT_KIND`: time -> repeated, group and interaction -> between)."""
    kind = claim.spec.get("kind") or EFFECT_KIND.get(claim.spec.get("effect", ""))
    if kind not in THRESHOLDS:
        raise ValueError(ERR_KIND.format(id=claim.id, effects=", ".join(EFFECT_KIND)))
    return kind


def word_rule_text(kind: str) -> str:
    """A Tabel 1 row as a reader sees it: ``'Tabel 1, repeated measures: .02 / .13 / .26'``."""
    name = {"repeated": "repeated measures", "between": "between groups"}[kind]
    return f"Tabel 1, {name}: " + " / ".join(f"{t:g}".lstrip("0") for t in THRESHOLDS[kind])


def judge_word(claim: Claim, achieved: Any, *, withheld: bool = False) -> WordJudgement:
    """The verdict on the report's effect-size word for the recomputed eta squared ``achieved``.

    The word agrees when :func:`veiligverder.stats.effect_size_word` of the recomputed value (times
    the claim's ``factor``), under the Tabel 1 row of the effect (:func:`word_kind`), is one of the
    words of the claim's ``size`` (:func:`size_words`). Withheld and not computable as in
    :func:`judge` (never a pass, and a withheld value gets no word either).

    Examples
    --------
    Figuur 2's time effect: the report gives .24 and calls it large; by Tabel 1's repeated-measures
    row .24 is medium, so the word differs even where the number agrees.

    >>> from veiligverder.contract.claims import parse_claim
    >>> c = parse_claim({"id": "x", "source": "s", "value": 0.24, "tolerance": {"absolute": 0.04},
    ...                  "size": "large", "effect": "time"})
    >>> judge_word(c, 0.24).verdict, judge_word(c, 0.24).computed
    ('differs', 'medium')
    >>> judge_word(c, 0.27).verdict
    'agrees'
    """
    size = claim.spec.get("size")
    if not size:
        raise ValueError(ERR_NO_WORD.format(id=claim.id))
    words = size_words(size, claim_id=claim.id)
    kind = word_kind(claim)
    rule = word_rule_text(kind)
    if withheld:
        return WordJudgement(WITHHELD, str(size), "", kind, rule)
    x = recomputed(claim, achieved)
    word = effect_size_word(x, kind=kind) if not math.isnan(x) else ""
    if not word:
        return WordJudgement(NOT_COMPUTABLE, str(size), "", kind, rule)
    return WordJudgement(AGREES if word in words else DIFFERS, str(size), word, kind, rule)
