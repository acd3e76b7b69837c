"""The in-memory dataset every layer below the loader works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class DatasetMeta:
    """Facts about where a dataset came from.

    Attributes
    ----------
    path : Path
        The dataset folder.
    content_hash : str
        SHA-256 over the table files (and mapping.yml) in name order: same bytes, same hash.
    synthetic : bool
        True only when the folder's marker file ``SYNTHETIC`` is the synthetic twin generator's
        manifest and lists exactly the files read, with their SHA-256 hashes (the data are the
        twin as written, unchanged); never guessed. Disclosure control is off only then.
    files : dict
        Table name -> file name that was read.
    synthetic_reason : str
        One sentence saying why ``synthetic`` is what it is, e.g. "the SYNTHETIC manifest matches
        the generator's files (seed 20201231)" or "SYNTHETIC marker is empty: treated as real data".
    """

    path: Path
    content_hash: str
    synthetic: bool
    files: dict[str, str] = field(default_factory=dict)
    synthetic_reason: str = ""


@dataclass(frozen=True)
class Dataset:
    """The three contract tables, one row per respondent per wave, plus meta.

    Column dtypes after loading: string ids as ``object`` (str), category columns as ``object`` (str)
    holding the codebook's values, item columns as ``float32`` (answer codes are exact in it, at half
    the memory; the scoring engine computes in float32 anyway), every other integer/number column
    as ``float64``, all with NaN for missing (``veiligverder.data.schema.contract_dtypes``).
    """

    families: pd.DataFrame
    parents: pd.DataFrame
    children: pd.DataFrame
    meta: DatasetMeta
