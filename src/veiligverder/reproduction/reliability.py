"""Cronbach's alpha as the report published it next to alpha computed on the data in force (ch. 3)."""

from __future__ import annotations

import pandas as pd

from veiligverder.contract import labels
from veiligverder.contract.claims import load_claims
from veiligverder.data.dataset import Dataset
from veiligverder.instruments import cronbach_alpha_table
from veiligverder.reproduction.calibration import calibration_table
from veiligverder.reproduction.verdict import tolerance_text


def reliability_table(dataset: Dataset, *, keys_dir=None) -> tuple[pd.DataFrame, dict]:
    """Cronbach's alpha as reported next to alpha computed on the data in force.

    The pairs (which scale the report's alpha refers to) are the ``alphas`` claims of
    ``reproduction/claims.yml``, each citing its ``report_facts.yml`` key and judged with the
    file's ``alpha`` tolerance (the column header says which); alpha is computed by
    :func:`veiligverder.instruments.cronbach_alpha_table` on the baseline rows of all groups.
    Result ids: the claim ids (``alpha.<scale>``).
    """
    cal = calibration_table(dataset, keys_dir=keys_dir, target_set="alphas")
    claims = {c.id: c for c in load_claims().targets("alphas")}
    # one tolerance for the column header: the alpha claims share the set's (a test keeps it so)
    within = "within " + tolerance_text(claims[cal["target"].iloc[0]].tolerance).removeprefix("± ")
    # respondents behind each alpha (the fewest of its scales), for the disclosure gate
    baseline = {name: getattr(dataset, name).query("wave == 'T0'") for name in ("parents", "children")}
    n_scale = cronbach_alpha_table(baseline, keys_dir=keys_dir).set_index("scale")["n"]
    n_alpha = [int(n_scale.reindex(claims[t].spec.get("scales") or [claims[t].spec["scale"]]).fillna(0).min())
               for t in cal["target"]]
    table = pd.DataFrame({
        "scale": cal["target"].str.removeprefix("alpha.").str.replace("_", " "),
        "reported": cal["target_value"].astype(float),
        "computed": cal["achieved"].astype(float).round(2),
        within: cal["ok"].map({True: "yes", False: "no"}),
        "in the report": [claims[t].where for t in cal["target"]],
    }).set_index("scale")
    ids = pd.DataFrame({"computed": list(cal["target"]), within: list(cal["target"])}, index=table.index)
    table = labels.reader_table(table)  # whole, one header row, no code names
    table.attrs["ids"] = ids
    table.attrs["cells"] = [{"id": t, "kind": "mean", "n": n} for t, n in zip(cal["target"], n_alpha)]
    return table, dict(zip(cal["target"], cal["achieved"].astype(float)))
