"""The matching of report chapter 5.1, repeated: balance before and after, overlap with the labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veiligverder import design


@dataclass
class MatchingReport:
    """The matching of chapter 5.1: balance before and after, and the overlap with the dataset's labels."""

    matching: Any
    balance: pd.DataFrame
    results: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)  # result id -> disclosure rule
    gate: Any = None  # the disclosure gate it went through (for marks and the sentence why)
    note: str = ""  # why a test could not be estimated, in one sentence


def matching_report(dataset, measures, *, seed: int = 0) -> MatchingReport:
    """Repeat the report's choice of controls (:func:`veiligverder.design.match_controls`) and say
    how well it balances the matching variables and how far it agrees with the dataset's own
    ``control`` label."""
    cov = design.matching_covariates(dataset, measures)
    m = design.match_controls(cov, seed=seed)
    overlap = design.overlap_with_labels(m)
    results = {
        "matching.n_treated": int((m.covariates["group"] == "VV").sum()),
        "matching.n_candidates": int((m.covariates["group"] != "VV").sum()),
        "matching.n_controls": overlap["n_chosen"],
        "matching.overlap": overlap["n_both"],
        "matching.overlap_share": overlap["share_of_chosen"],
        "matching.max_abs_smd_before": float(m.balance["smd_before"].abs().max()),
        "matching.max_abs_smd_after": float(m.balance["smd_after"].abs().max()),
    }
    return MatchingReport(m, m.balance, results)
