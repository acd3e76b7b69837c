"""The effect-size words of Tabel 1 of the report and the sentence that goes with them."""

from __future__ import annotations

from typing import Literal

import numpy as np

from veiligverder.vocab import ALPHA
from veiligverder.stats._base import ERR_KIND, StatsInputError


#: Tabel 1 of the report: eta squared thresholds for small, medium, large.
THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "between": (0.01, 0.06, 0.14),
    "repeated": (0.02, 0.13, 0.26),
}
#: Other spellings of the two kinds of Tabel 1 (its row labels).
KIND_ALIASES: dict[str, str] = {"between groups": "between", "repeated measures": "repeated"}


def effect_size_word(eta2: float | None, *, kind: Literal["between", "repeated"]) -> str:
    """The size word of Tabel 1 of the report for an (partial) eta squared.

    This is the one place where Tabel 1's thresholds turn into words; :func:`describe_effect`
    and the chapters use it.

    Parameters
    ----------
    eta2 : float
        Partial eta squared.
    kind : {'between', 'repeated'}
        'between' (or 'between groups'): difference in means between groups, thresholds
        .01 / .06 / .14; 'repeated' (or 'repeated measures'): repeated measures, thresholds
        .02 / .13 / .26 (:data:`THRESHOLDS`).

    Returns
    -------
    str
        ``'none'`` below the small threshold (the report does not call that a difference), else
        ``'small'``, ``'medium'`` or ``'large'``; a threshold itself belongs to the larger word
        (0.01 is small). A NaN or None eta squared (an undefined effect size) gives no word:
        the empty string ``''``.

    Notes
    -----
    Reading of Tabel 1 for the mixed ANOVA (:data:`EFFECT_KIND`): the time effect is a repeated
    measures effect ('repeated'); the group effect and the interaction (a difference between the
    groups in their change) are judged as differences between groups ('between').

    Examples
    --------
    The report's time effect on total violence (Figuur 2), eta squared .24, by Tabel 1:

    >>> effect_size_word(0.24, kind="repeated")
    'medium'
    >>> effect_size_word(0.24, kind="between")
    'large'
    >>> effect_size_word(0.005, kind="between")
    'none'
    >>> effect_size_word(float("nan"), kind="repeated")
    ''
    """
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in THRESHOLDS:
        raise StatsInputError(ERR_KIND.format(allowed=sorted([*THRESHOLDS, *KIND_ALIASES]), kind=kind))
    if eta2 is None or not np.isfinite(eta2):
        return ""
    small, medium, large = THRESHOLDS[kind]
    if eta2 < small:
        return "none"
    return "large" if eta2 >= large else "medium" if eta2 >= medium else "small"


def describe_effect(
    p: float | None, eta2: float | None, kind: Literal["between", "repeated"], *, alpha: float = ALPHA
) -> str:
    """Words for the prose: significance and size, following Tabel 1 (:func:`effect_size_word`).

    Returns ``'not computable'`` (p is NaN or None), ``'not significant'`` (p >= alpha),
    ``'significant, too small to call a difference'`` (significant but below 'small': the report
    does not call that a difference), ``'significant, small|medium|large'``, or
    ``'significant, size not computable'`` (eta squared is NaN).

    Examples
    --------
    >>> describe_effect(0.001, 0.24, "repeated")
    'significant, medium'
    >>> describe_effect(0.03, 0.005, "between")
    'significant, too small to call a difference'
    >>> describe_effect(0.2, 0.3, "between")
    'not significant'
    >>> describe_effect(float("nan"), float("nan"), "between")
    'not computable'
    """
    if p is None or not np.isfinite(p):
        return "not computable"
    if p >= alpha:
        return "not significant"
    word = effect_size_word(eta2, kind=kind)
    if word == "":
        return "significant, size not computable"
    return "significant, too small to call a difference" if word == "none" else f"significant, {word}"


# --------------------------------------------------------------------------------------------
# error bars




def is_difference(p: float | None, eta2: float | None, *, kind: str, alpha: float = ALPHA) -> bool:
    """True when a result counts as a difference in the report's sense (Tabel 1's reporting rule):
    significant at ``alpha`` and at least a 'small' effect for its kind. Missing or NaN: False.

    >>> is_difference(0.01, 0.07, kind="between"), is_difference(0.01, 0.005, kind="between")
    (True, False)
    >>> is_difference(0.20, 0.30, kind="repeated"), is_difference(None, 0.30, kind="repeated")
    (False, False)
    """
    if p is None or eta2 is None or not np.isfinite(p) or not np.isfinite(eta2):
        return False
    return bool(p < alpha and effect_size_word(eta2, kind=kind) in ("small", "medium", "large"))
