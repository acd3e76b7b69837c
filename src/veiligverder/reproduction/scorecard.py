"""The reproduction scorecard: every number or direction the report published, recomputed.

The claims are the entries of ``reproduction/claims.yml`` that carry a ``result``: each links a key
of ``report_facts.yml`` (``source``) to a result id of ``results.json`` and a tolerance rule of that
file (exact, absolute, points, relative, significant / not_significant, range, above / below).
:func:`veiligverder.reproduction.verdict.judge` gives the verdict - the same engine and the same
tolerances the synthetic twin's calibration (:mod:`veiligverder.reproduction.calibration`) is
checked with. Facts that are rules (classification cut-offs, Tabel 1) or literature context
(chapter 2) are not results of the study data and are listed in :data:`NOT_RECOMPUTED` instead.

An eta squared claim that carries the report's effect-size word (``size`` in the claims file) is
checked twice: the number within its tolerance (``verdict``) and the word against the word the
report's own Tabel 1 gives the recomputed value (``word_verdict``,
:func:`veiligverder.reproduction.verdict.judge_word`). :func:`size_words_table` sets the report's
words beside Tabel 1's for the published values alone, as chapter 3 explains them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from veiligverder.contract import labels
from veiligverder.contract.claims import Claim, Claims, load_claims
from veiligverder.reproduction.verdict import AGREES, DIFFERS, NOT_COMPUTABLE, WITHHELD, has_word, judge, \
    judge_word, published_text, tolerance_text, word_kind, word_rule_text
from veiligverder.stats.effsize import effect_size_word

NOT_RECOMPUTED = {
    "study": "design facts (waves, regions, matching variables): used as the study design, not recomputed",
    "effect_size_rules": "Tabel 1 rules: applied by veiligverder.stats.effect_size_word",
    "classification_rules": "cut-offs and rules: implemented in veiligverder.measures and tested at every boundary",
    "instruments": "item counts and response formats: enforced by the contract and the instrument specs",
    "summary_claims": "sentences of the summary: each rests on a figure claim checked here",
    "context": "figures from the literature cited in chapters 1-2, not from the study data",
}
#: How the reader sees the parts of :data:`NOT_RECOMPUTED` (and why, without module names).
NOT_RECOMPUTED_READER = {
    "study": ("design of the study", "waves, regions and matching variables: used as the design, not recomputed"),
    "effect_size_rules": ("effect-size rules (Tabel 1)", "applied to every η² in the book, not a result"),
    "classification_rules": ("classification rules", "cut-offs and rules: implemented in the derived measures "
                             "and tested at every boundary"),
    "instruments": ("instruments", "item counts and response formats: enforced by the data contract and the "
                    "instrument specifications"),
    "summary_claims": ("sentences of the summary", "each rests on a figure claim checked above"),
    "context": ("context", "figures from the literature cited in chapters 1-2, not from the study data"),
}


def not_recomputed_table() -> pd.DataFrame:
    """The parts of the published facts that are not results of the study data, and why, for the reader."""
    rows = [NOT_RECOMPUTED_READER[k] for k in NOT_RECOMPUTED]
    return labels.reader_table(pd.DataFrame(rows, columns=["published facts", "why not recomputed"])
                               .set_index("published facts"))


COLUMNS = ["claim", "where", "fact", "result_id", "published", "recomputed", "tolerance", "verdict",
           "word_published", "word_computed", "word_verdict"]
#: Columns of :func:`size_words_table`.
WORD_COLUMNS = ["claim", "where", "eta2", "report's word", "Tabel 1 row", "Tabel 1 word", "same word"]


def claim_label(claim: Claim) -> str:
    """A claim as the scorecard names it. Tabel 3 claims are named from their result id through the
    labels table (variable, category, group), so no codebook code reaches a reader; others keep
    the claims file's ``label``.

    >>> from types import SimpleNamespace as C
    >>> claim_label(C(result="table3.education_pct.mavo_lbo.VV", label="education mavo_lbo %, VV"))
    'education, lower secondary (mavo / lbo) (%), VV'
    >>> claim_label(C(result="table3.children_over3_pct.p", label="VV vs control, children over3"))
    'VV against control, children older than 3 in the family'
    >>> claim_label(C(result="alpha.cts2s_physical", label="alpha cts2s physical"))
    'alpha CTS2 own acts physical'
    """
    parts = (claim.result or "").split(".")
    if parts[0] != "table3" or len(parts) not in (3, 4):  # a time code reads as the time, an instrument by its name
        from veiligverder.instruments import short_names

        words = {**labels.load_labels()["times"], **short_names()}
        return " ".join(words.get(w, w) for w in claim.label.split(" "))
    variable = labels.variable_label(parts[1])
    if len(parts) == 4:
        category = labels.label_in(labels.variable_categories(parts[1]), parts[2], parts[1])
        return f"{variable}, {category} (%), {labels.label('groups', parts[3])}"
    if parts[2] == "p":
        return f"VV against control, {variable}"
    unit = "" if "(" in variable else " (%)"
    return f"{variable}{unit}, {labels.label('groups', parts[2])}"


def where_label(claim: Claim) -> str:
    """The place in the report as readers see it (the report's 'Ns' spelled out)."""
    return labels.load_labels()["where"].get(claim.where, claim.where)


def claims() -> list[Claim]:
    """Every claim on the scorecard (the claims file's entries with a result id), in file order."""
    return load_claims().scored()


def scorecard(results: dict[str, Any], withheld: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per claim: label, where, published, recomputed, tolerance, verdict.

    ``published`` shows the threshold for significance claims; ``recomputed`` is the result value
    (the p value for those), ``None`` where the data in force cannot give it. A claim whose result
    the disclosure gate withheld (``withheld``: id -> rule) has the verdict ``withheld`` and no
    value: even 'agrees within 3 points' would tell a reader where the withheld value lies.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`: ``claim`` (label), ``where`` (in the report), ``fact``
        (``report_facts.yml`` key), ``result_id``, ``published``, ``recomputed``, ``tolerance``
        (text) and ``verdict`` (agrees, differs, not computable, withheld); for the claims that
        carry the report's effect-size word also ``word_published`` (the report's word),
        ``word_computed`` (Tabel 1's word for the recomputed value) and ``word_verdict`` (as
        ``verdict``); '' in those three for every other claim.
    """
    withheld = withheld or {}
    rows = []
    for c in claims():
        held = c.result in withheld
        value = None if held else results.get(c.result)
        verdict = judge(c, value, withheld=held)
        row = {"claim": claim_label(c), "where": where_label(c), "fact": c.source, "result_id": c.result,
               "published": published_text(c), "recomputed": value, "tolerance": verdict.tolerance,
               "verdict": verdict.verdict, "word_published": "", "word_computed": "", "word_verdict": ""}
        if has_word(c):
            word = judge_word(c, value, withheld=held)
            row.update(word_published=word.published, word_computed=word.computed, word_verdict=word.verdict)
        rows.append(row)
    return labels.reader_table(pd.DataFrame(rows, columns=COLUMNS))


def word_counts(card: pd.DataFrame) -> dict[str, int]:
    """Number of effect-size words checked and per verdict (agrees, differs, not computable, withheld)."""
    words = card.loc[card["word_verdict"] != "", "word_verdict"].value_counts()
    return {"words": int(words.sum()), "agrees": int(words.get(AGREES, 0)), "differs": int(words.get(DIFFERS, 0)),
            "not_computable": int(words.get(NOT_COMPUTABLE, 0)), "withheld": int(words.get(WITHHELD, 0))}


def size_words_table(claims_file: Claims | None = None) -> pd.DataFrame:
    """The report's effect-size words beside the words its own Tabel 1 gives the published values.

    One row per eta squared claim with a ``size`` (file order). No data are needed: this is the
    report measured against its own rule, as chapter 3 explains it.

    Returns
    -------
    DataFrame
        Columns :data:`WORD_COLUMNS`: ``claim`` (label), ``where``, ``eta2`` (published),
        ``report's word``, ``Tabel 1 row`` (the row and its thresholds), ``Tabel 1 word`` (for the
        published value) and ``same word`` ('yes' when Tabel 1's word is one the report used).
    """
    rows = []
    for c in (claims_file or load_claims()).claims():
        if not has_word(c):
            continue
        word = judge_word(c, float(c.value) / c.factor)
        rows.append({"claim": claim_label(c), "where": where_label(c), "eta2": c.value, "report's word": word.published,
                     "Tabel 1 row": word.rule, "Tabel 1 word": effect_size_word(float(c.value), kind=word_kind(c)),
                     "same word": "yes" if word.ok else "no"})
    return labels.reader_table(pd.DataFrame(rows, columns=WORD_COLUMNS))


def counts(card: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict (agrees, differs, not computable, withheld) and in all."""
    tally = card["verdict"].value_counts()
    return {"claims": int(len(card)), "agrees": int(tally.get(AGREES, 0)), "differs": int(tally.get(DIFFERS, 0)),
            "not_computable": int(tally.get(NOT_COMPUTABLE, 0)), "withheld": int(tally.get(WITHHELD, 0))}


def tolerance_texts(claims_file: Claims | None = None) -> dict[str, str]:
    """Each named tolerance of the claims file as the scorecard shows it (``share_t3`` -> ``± 3 points``).

    For prose that names the tolerances (the scorecard appendix glues these), so no limit is typed
    twice.
    """
    claims_file = claims_file or load_claims()
    return {name: tolerance_text(tol) for name, tol in claims_file.tolerances.items()}


def tolerance_table(claims_file: Claims | None = None) -> pd.DataFrame:
    """One row per tolerance in use on the scorecard: the rule as shown, where it applies, how many claims.

    Rows follow the claims file (first use); tolerances that read the same (a named ``exact`` and
    one written in place) are one row, since a reader sees the same rule.

    Returns
    -------
    DataFrame
        Index ``tolerance`` (text, as in the scorecard's column); columns ``where`` (the places in
        the report, in file order) and ``claims`` (int).
    """
    scored = (claims_file or load_claims()).scored()
    frame = pd.DataFrame({"tolerance": [tolerance_text(c.tolerance) for c in scored],
                          "where": [where_label(c) for c in scored]})
    grouped = frame.groupby("tolerance", sort=False)
    return labels.reader_table(pd.DataFrame({"where": grouped["where"].agg(lambda w: ", ".join(dict.fromkeys(w))),
                         "claims": grouped.size()}))
