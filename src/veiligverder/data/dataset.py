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
        True when the folder declares itself synthetic (marker file ``SYNTHETIC``); never guessed.
    files : dict
        Table name -> file name that was read.
    """

    path: Path
    content_hash: str
    synthetic: bool
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """The three contract tables, one row per respondent per wave, plus meta.

    Column dtypes after loading: string ids as ``object`` (str), category columns as ``object`` (str)
    holding the codebook's values, every integer/number column and every item column as ``float64``
    with NaN for missing.
    """

    families: pd.DataFrame
    parents: pd.DataFrame
    children: pd.DataFrame
    meta: DatasetMeta
