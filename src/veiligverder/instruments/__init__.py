"""Questionnaire scoring: one YAML spec per instrument, one generic vectorised engine.

Public API
----------
score(table, instrument, *, keys_dir=None)
    Scale scores (and T-scores, flags) of one instrument for every row of a contract table.
score_table(table, table_name, *, keys_dir=None)
    All instruments of a table at once.
load_spec(name, *, keys_dir=None), available_instruments(table=None)
    The parsed specs (licensed keys merged in).
keys_in_force(keys_dir=None)
    Which key file scores each licensed instrument and whether it is illustrative.
cronbach_alpha(data), cronbach_alpha_table(dataset_or_tables, keys_dir=None)
    Internal consistency per scale, listwise complete cases.
instruments_table(keys_dir=None)
    One row per instrument (chapter 3), saying which key scores each licensed one.

Modules: ``files`` (where specs live), ``keys`` (licensed keys), ``spec`` (the spec format and its
parser), ``scoring`` (the vectorised engine), ``alpha`` (reliability), ``catalogue`` (the overview).
The spec format is documented in :mod:`veiligverder.instruments.spec`, the scoring rules in
:mod:`veiligverder.instruments.scoring`, the key format in :mod:`veiligverder.instruments.keys`.
"""

from veiligverder.instruments.alpha import cronbach_alpha, cronbach_alpha_table
from veiligverder.instruments.catalogue import instruments_table, short_names
from veiligverder.instruments.files import SpecError, available_instruments
from veiligverder.instruments.keys import keys_in_force
from veiligverder.instruments.scoring import ScoringInputError, item_values, score, score_spec, score_table
from veiligverder.instruments.spec import InstrumentSpec, load_spec

__all__ = [
    "short_names",
    "InstrumentSpec",
    "ScoringInputError",
    "SpecError",
    "available_instruments",
    "cronbach_alpha",
    "cronbach_alpha_table",
    "instruments_table",
    "item_values",
    "keys_in_force",
    "load_spec",
    "score",
    "score_spec",
    "score_table",
]
