"""The instruments at a glance (chapter 3): one row per spec, with the key in force."""

from __future__ import annotations

import pandas as pd

from veiligverder.contract import labels
from veiligverder.instruments.files import available_instruments
from veiligverder.instruments.spec import load_spec


def short_names() -> dict[str, str]:
    """Instrument name -> the name readers see (the spec's ``short``, e.g. ``nosik`` -> 'NOSI-K'):
    lists and tables in the book show these, never the item-list codes."""
    return {name: load_spec(name).short for name in available_instruments()}


def instruments_table(keys_dir=None) -> pd.DataFrame:
    """One row per instrument, generated from the specs the scoring engine reads.

    ``key`` says which key scores a licensed instrument: 'illustrative' (the shipped keys) or
    'licensed (user's)' when ``keys_dir`` holds the user's key files. Who reports comes from the
    labels table (:mod:`veiligverder.contract.labels`); the table renders whole for readers.
    """
    rows = []
    for name in available_instruments():
        spec = load_spec(name, keys_dir=keys_dir)
        key = "—"
        if spec.licensed:
            key = "illustrative" if spec.illustrative else "licensed (user's)"
        rows.append({"instrument": spec.title, "short name": spec.short, "reporter": labels.label("reporters", spec.reporter),
                     "items": spec.n_items, "answers": f"{spec.min:g}-{spec.max:g}",
                     "scales": ", ".join(s.replace("_", " ") for s in spec.scales), "key": key})
    return labels.reader_table(pd.DataFrame(rows).set_index("instrument"))
