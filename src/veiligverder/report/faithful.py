"""Published beside computed, per table and figure: the small reader table under each of Tabel 2-4
and Figuur 1-18.

A chapter of chapter 5 shows this build's numbers; :func:`faithful_table` sets beside them what the
report printed for the same table or figure, with the tolerance and the verdict of the one verdict
engine (:func:`veiligverder.reproduction.verdict.judge`; the effect-size word by
:func:`~veiligverder.reproduction.verdict.judge_word`). The claims come from
``reproduction/claims.yml``: the sets ``table2``, ``table3`` and ``table4`` for the tables, and for
figure N the claims whose ``source`` is under ``figures.figN_`` of ``report_facts.yml``.

The recomputed side is read from the chapter's results (its :class:`~veiligverder.report.results.Registry`
or a mapping of result ids): a claim with a ``result`` id reads that id; a figure claim that the
twin's calibration recomputes from a ``stat`` is read from the ids that give the same quantity
(:data:`DERIVABLE`: an ANOVA row, a mean, a change or a difference of means, a category share, the
help grade). A claim whose stat no result id gives (the within-group paired t-tests, a baseline
against a norm, the share of satisfied parents) is not on the reader table; :func:`faithful_text`
says how many there are. A value the disclosure gate withheld, or that rests on one it withheld,
shows ``withheld`` and never a number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import pandas as pd

from veiligverder.contract import labels
from veiligverder.contract.claims import Claim, Claims, load_claims
from veiligverder.reproduction.scorecard import claim_label
from veiligverder.reproduction.verdict import (AGREES, NOT_COMPUTABLE, WITHHELD, has_word, judge, judge_word,
                                               published_text, recomputed)

COLUMNS = ["published", "this build", "tolerance", "verdict"]
TABLE_SETS = {"tab-2": "table2", "tab-3": "table3", "tab-4": "table4"}
#: Every table or figure with a reader table, in the order of the report.
ITEMS = (*TABLE_SETS, *(f"fig-{n}" for n in range(1, 19)))
ERR_ITEM = "unknown table or figure {item!r}; use one of {items}"
P_RULES = frozenset({"significant", "not_significant"})
EFFECT_NAMES = {"time": "change over time", "group": "difference between the groups",
                "interaction": "group x time"}
TIME_NAMES = {"baseline": "baseline", "follow_up": "follow-up"}


class Source(NamedTuple):
    """The recomputed value of one claim and the result ids it rests on."""

    value: Any
    ids: tuple[str, ...]


def _item(item: str) -> str:
    """``'fig-2'``, ``'Figuur 2'``, ``'fig2'``, ``'Tabel 4'``, ``'tab-4'`` -> the canonical id."""
    key = str(item).strip().lower().replace("figuur", "fig").replace("tabel", "tab").replace(" ", "")
    key = key if "-" in key else key[:3] + "-" + key[3:]
    if key not in ITEMS:
        raise ValueError(ERR_ITEM.format(item=item, items=", ".join(ITEMS)))
    return key


def claims_for(item: str, claims_file: Claims | None = None) -> list[Claim]:
    """The published claims of one table or figure, in the claims file's order."""
    key, claims_file = _item(item), claims_file or load_claims()
    if key in TABLE_SETS:
        return claims_file.claims(TABLE_SETS[key])
    prefix = f"figures.fig{key.split('-')[1]}_"
    return [c for c in claims_file.claims("figures") if c.source.startswith(prefix)]


# ------------------------------------------------------------------------------------ recomputed values
def _mean_id(c: Claim, group: str | None = None, time: str | None = None, outcome: str | None = None) -> str:
    return f"{outcome or c.spec['outcome']}.mean.{group or c.spec['group']}.{time or c.spec['time']}"


def _minus(results: Mapping[str, Any], a: str, b: str, *, over: bool = False) -> Source:
    x, y = results.get(a), results.get(b)
    if x is None or y is None:
        return Source(None, (a, b))
    if over:
        return Source(x / y if y else None, (a, b))
    return Source(x - y, (a, b))


#: stat of the claims file -> the recomputed value from result ids (CONTRACT §4 ids).
DERIVABLE: dict[str, Callable[[Mapping[str, Any], Claim], Source]] = {
    "anova": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.anova.{c.spec['effect']}.{c.spec['measure']}"),
                                 (i,)),
    "mean": lambda r, c: Source(r.get(i := _mean_id(c)), (i,)),
    "change": lambda r, c: _minus(r, _mean_id(c, time="follow_up"), _mean_id(c, time="baseline")),
    "diff": lambda r, c: _minus(r, _mean_id(c, group="VV"), _mean_id(c, group="control")),
    "mean_over": lambda r, c: _minus(r, _mean_id(c), _mean_id(c, outcome=c.spec["other"]), over=True),
    "category_change_p": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.change_p.{c.spec['group']}"), (i,)),
    "category_group_p": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.group_p.{c.spec['time']}"), (i,)),
    "category_share_change": lambda r, c: _minus(
        r, f"{c.spec['outcome']}.share.{c.spec['group']}.follow_up.{c.spec['category']}",
        f"{c.spec['outcome']}.share.{c.spec['group']}.baseline.{c.spec['category']}"),
    "grade_n": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.n.{c.spec['group']}"), (i,)),
    "grade_mean": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.mean.{c.spec['group']}"), (i,)),
    "grade_p": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.p"), (i,)),
    "latest_p": lambda r, c: Source(r.get(i := f"{c.spec['outcome']}.p"), (i,)),
}


def derivable(claim: Claim) -> bool:
    """Whether this build's result ids give the claim's value (a ``result`` id, or a stat of :data:`DERIVABLE`)."""
    return bool(claim.result) or claim.stat in DERIVABLE


def source(claim: Claim, results: Mapping[str, Any]) -> Source:
    """The recomputed value of a claim from result ids, before the claim's ``factor``."""
    if claim.result:
        return Source(results.get(claim.result), (claim.result,))
    return DERIVABLE[claim.stat](results, claim)


# ------------------------------------------------------------------------------------ text of a cell
def _number(x: float) -> str:
    """A value as the reader table prints it: integers as such, else 2 decimals (1 from 10 up)."""
    if float(x).is_integer():
        text = f"{int(x)}"
    else:
        text = f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return "0" + text[2:] if text.startswith("-0") and not text.strip("-0.") else text  # no -0.00


def _p(x: float) -> str:
    return "p < 0.001" if x < 0.001 else f"p = {x:.3f}"


def _published(c: Claim) -> str:
    shown = published_text(c)
    if isinstance(shown, (int, float)) and not isinstance(shown, bool):
        shown = f"{shown:g}"  # as printed: 2.6, 118, 0.24
    if has_word(c):
        shown = f"{shown} ({c.spec['size']})"
    if c.tolerance.rule not in P_RULES and isinstance(c.value, str):
        shown = f"'{c.value}'"
    return str(shown)


def _label(c: Claim) -> str:
    """The claim as the reader table lists it: its scorecard label, else words from its stat."""
    if c.label:  # the scorecard's label (codebook codes through the labels table)
        return claim_label(c).replace("follow_up", "follow-up")
    s, stat = c.spec, c.stat
    group, time = s.get("group", ""), TIME_NAMES.get(s.get("time", ""), s.get("time", ""))
    return {
        "anova": lambda: f"{EFFECT_NAMES.get(s.get('effect'), s.get('effect'))}, "
                         f"{'η²' if s.get('measure') == 'np2' else 'p'}",
        "mean": lambda: f"{group} mean at {time}",
        "change": lambda: f"{group}: follow-up minus baseline",
        "diff": lambda: f"VV minus control at {time}",
        "mean_over": lambda: f"{group}: {s.get('outcome', '').replace('_', ' ')} over "
                             f"{s.get('other', '').replace('_', ' ')} at {time}",
        "category_change_p": lambda: f"shift between categories within {group}, p",
        "category_group_p": lambda: f"groups' categories at {time}, p",
        "category_share_change": lambda: f"{group}: change in the share '{s.get('category')}'",
        "grade_n": lambda: f"grades given, {group}",
        "grade_mean": lambda: f"mean grade, {group}",
        "grade_p": lambda: "grade, VV against control, p",
        "latest_p": lambda: "VV against control, p",
    }.get(stat, lambda: c.id)()


def _row(c: Claim, results: Mapping[str, Any], withheld: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    src = source(c, results)
    held = any(i in withheld for i in src.ids)
    value = None if held else src.value
    verdict = judge(c, value, withheld=held)
    if held:
        shown = WITHHELD
    elif verdict.verdict == NOT_COMPUTABLE:
        shown = "–"
    else:
        x = recomputed(c, value)
        shown = _p(x) if c.tolerance.rule in P_RULES else _number(x)
    rows = [(_label(c), {"published": _published(c), "this build": shown, "tolerance": verdict.tolerance,
                         "verdict": verdict.verdict})]
    if has_word(c):
        word = judge_word(c, value, withheld=held)
        rows[0][1]["this build"] += f" ({word.computed})" if word.computed else ""
        rows.append((f"{_label(c)}: the report's word", {
            "published": word.published, "this build": WITHHELD if held else (word.computed or "–"),
            "tolerance": word.rule, "verdict": word.verdict}))
    return rows


def _results_and_withheld(results: Any, withheld: Mapping[str, str] | None) -> tuple[Mapping[str, Any], dict]:
    """A Registry (its values and the ids its gate withheld) or a mapping (and ``withheld``)."""
    if isinstance(results, Mapping):
        values, held = results, {}
    else:  # a Registry
        values, held = results.values, dict(results.suppressed)
    held.update(withheld or {})
    return values, held


def faithful_table(results: Any, item: str, *, withheld: Mapping[str, str] | None = None,
                   claims_file: Claims | None = None) -> pd.DataFrame:
    """Published beside this build, for the claims of one table or figure.

    Parameters
    ----------
    results : Registry or mapping
        The chapter's results: its :class:`~veiligverder.report.results.Registry` (values and the
        ids its disclosure gate withheld) or a mapping result id -> value.
    item : str
        ``'tab-2'`` .. ``'tab-4'``, ``'fig-1'`` .. ``'fig-18'`` (also ``'Tabel 4'``, ``'Figuur 2'``).
    withheld : mapping, optional, keyword-only
        Further withheld ids (id -> rule), e.g. :func:`~veiligverder.report.results.load_suppressed`.
    claims_file : Claims, optional, keyword-only
        Claims to use (default: the package's ``reproduction/claims.yml``).

    Returns
    -------
    DataFrame
        Index ``claim`` (as the scorecard labels it, or in words from its stat); columns
        :data:`COLUMNS`: ``published`` (the number as printed, a p claim's threshold, or the
        report's words for a direction in quotes; an eta squared with the report's size word),
        ``this build`` (the recomputed value in the claim's units; ``withheld`` or '–' when there
        is none), ``tolerance`` and ``verdict`` (agrees, differs, not computable, withheld). An eta
        squared claim with a size word has a second row for the word (Tabel 1's word for this
        build's value against the report's). Claims no result id gives are left out
        (:func:`faithful_text` counts them).

    Examples
    --------
    >>> t = faithful_table({"violence_total.anova.time.np2": 0.22}, "fig-2")
    >>> t.loc["total violence, time effect η²"].tolist()
    ['0.24 (large)', '0.22 (medium)', '± 0.04', 'agrees']
    >>> t.loc["total violence, time effect η²: the report's word", ["this build", "verdict"]].tolist()
    ['medium', 'differs']
    """
    values, held = _results_and_withheld(results, withheld)
    rows = [r for c in claims_for(item, claims_file) if derivable(c) for r in _row(c, values, held)]
    frame = pd.DataFrame([r for _, r in rows], columns=COLUMNS, index=pd.Index([k for k, _ in rows], name="claim"))
    return labels.reader_table(frame)


def faithful_counts(table: pd.DataFrame) -> dict[str, int]:
    """Rows of a reader table per verdict, and in all."""
    tally = table["verdict"].value_counts()
    return {"rows": int(len(table)), **{v.replace(" ", "_"): int(tally.get(v, 0))
                                        for v in (AGREES, "differs", NOT_COMPUTABLE, WITHHELD)}}


def faithful_text(results: Any, item: str, *, withheld: Mapping[str, str] | None = None,
                  claims_file: Claims | None = None, name: str | None = None) -> str:
    """One sentence for the reader above the table: how many published values agree, which differ.

    >>> faithful_text({"violence_total.anova.time.np2": 0.22}, "fig-2").split(":")[0]
    'Figuur 2 against the report'
    """
    table = faithful_table(results, item, withheld=withheld, claims_file=claims_file)
    n = faithful_counts(table)
    others = sum(not derivable(c) for c in claims_for(item, claims_file))
    key = _item(item)
    name = name or (f"Tabel {key[4:]}" if key.startswith("tab") else f"Figuur {key[4:]}")
    parts = [f"{name} against the report: of {n['rows']} published "
             f"{'claim' if n['rows'] == 1 else 'claims'}, {n['agrees']} "
             f"{'agrees' if n['agrees'] == 1 else 'agree'} with this build within the tolerance"]
    differ = list(table.index[table["verdict"] == "differs"])
    if differ:
        parts.append(f"; {len(differ)} {'differs' if len(differ) == 1 else 'differ'} ({'; '.join(differ)})")
    if n["not_computable"]:
        parts.append(f"; {n['not_computable']} cannot be computed from the data in force")
    if n["withheld"]:
        parts.append(f"; {n['withheld']} are withheld by disclosure control")
    text = "".join(parts) + "."
    if others:
        text += (f" {others} further {'statement' if others == 1 else 'statements'} about it "
                 "(a within-group test, a comparison with a norm or a share) "
                 f"{'is' if others == 1 else 'are'} checked in the twin's calibration, not from this chapter's results.")
    return text
