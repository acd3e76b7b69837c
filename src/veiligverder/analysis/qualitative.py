"""The coded qualitative material (chapter 4): case evaluations, client interviews, themes.

The tables in ``data/qualitative/`` are codings of what the report publishes about its 16 case
evaluations and its client interviews (see the README there); this module reads them and turns them
into the theme-by-source matrix and the distribution of the parents' grades.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from veiligverder import paths

NOT_REPORTED = "not reported"


def load(folder: str | Path = paths.QUALITATIVE_DIR) -> dict[str, pd.DataFrame]:
    """The coded tables: ``themes``, ``case_evaluations``, ``interviews``, ``interview_sample``."""
    folder = Path(folder)
    return {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("themes", "case_evaluations", "interviews", "interview_sample")}


def theme_matrix(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How many sources raise each theme: rows = themes (in ``themes.csv`` order, by label),
    columns = 'case evaluations' and 'client interviews'.

    A source's ``themes`` cell is a ``;``-separated list of theme codes; 'not reported' counts nothing.
    """
    def count(frame: pd.DataFrame) -> pd.Series:
        codes = frame["themes"].str.split(";").explode().str.strip()
        return codes[codes.ne(NOT_REPORTED) & codes.ne("")].value_counts()

    themes = tables["themes"].set_index("code")["label"]
    unknown = (set(count(tables["case_evaluations"]).index) | set(count(tables["interviews"]).index)) - set(themes.index)
    if unknown:
        raise ValueError(f"data/qualitative: theme codes {sorted(unknown)} are not defined in themes.csv")
    matrix = pd.DataFrame({
        "case evaluations": count(tables["case_evaluations"]),
        "client interviews": count(tables["interviews"]),
    }).reindex(themes.index).fillna(0).astype(int)
    matrix.index = themes.reindex(matrix.index).to_numpy()
    matrix.index.name = "theme"
    return matrix


def grade_bands(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Parents' grades for Veilig Verder as bands (low-high as the report gives them) with counts."""
    iv = tables["interviews"]
    graded = iv[pd.to_numeric(iv["grade_low"], errors="coerce").notna()].copy()
    graded["low"] = graded["grade_low"].astype(float)
    graded["high"] = pd.to_numeric(graded["grade_high"], errors="coerce").fillna(graded["low"])
    graded["band"] = [f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}" for lo, hi in zip(graded["low"], graded["high"])]
    out = graded.groupby(["band", "low"], as_index=False).size().sort_values("low")
    return out.rename(columns={"size": "parents"})[["band", "low", "parents"]].reset_index(drop=True)
