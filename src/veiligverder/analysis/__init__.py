"""The analyses of the report, computed from the derived measures and gated for disclosure.

- :mod:`~veiligverder.analysis.study` -- :func:`load_study` (the chapters' one entry point) and
  :class:`Study`, which applies disclosure control once to every analysis;
- :mod:`~veiligverder.analysis.outcomes` -- chapter 5 per outcome (two-wave ANOVA, violence
  category, help grade and satisfaction), before disclosure control;
- :mod:`~veiligverder.analysis.baseline` -- Tabel 2, 3 and 4 (participants, background, problems);
- :mod:`~veiligverder.analysis.reliability` -- the instruments and their Cronbach's alpha;
- :mod:`~veiligverder.analysis.matching` -- the report's choice of controls, repeated;
- :mod:`~veiligverder.analysis.sensitivity` -- all-waves models and the follow-up rules varied;
- :mod:`~veiligverder.analysis.analysability` -- what a dataset allows, per outcome;
- :mod:`~veiligverder.analysis.disclosure` -- the disclosure gate itself;
- :mod:`~veiligverder.analysis.qualitative` -- the case evaluations and interviews (chapter 4).
"""

from veiligverder.lazy import lazy_exports

#: The public names of the analysis layer and the module each lives in. They load on first use
#: (PEP 562), so that importing one light module of the package (e.g. ``analysis.store`` in a
#: build where nothing changed) does not import the statistics stack.
_PUBLIC = {
    "CategoryAnalysis": "outcomes", "HelpGradeAnalysis": "outcomes", "OutcomeAnalysis": "outcomes",
    "SatisfactionAnalysis": "outcomes", "analyse": "outcomes", "analyse_category": "outcomes",
    "analyse_help_grade": "outcomes", "analyse_help_satisfaction": "outcomes", "summarise": "outcomes",
    "test_table": "outcomes",
    "GatedTable": "study", "Study": "study", "family_of": "study", "gate_between": "study",
    "gate_category": "study", "gate_outcome": "study", "load_study": "study", "prepare_study": "study",
    "MatchingReport": "matching", "matching_report": "matching",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
