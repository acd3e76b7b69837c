"""The synthetic twin: a calibrated stand-in for the Veilig Verder data, in the contract's form.

Public API
----------
write_synthetic(out_dir, *, seed=20201231) -> Path
    Generate and write the dataset folder (families/parents/children CSV + the ``SYNTHETIC``
    manifest: generator, version, seed and the SHA-256 of each file; see ``write_manifest``).
write_manifest(folder, *, seed, comment=None) -> Path
    Write the ``SYNTHETIC`` manifest for the dataset files in ``folder``. The loader treats data
    as synthetic (disclosure control off) only when this manifest matches the files it reads.
generate(seed=20201231) -> dict of DataFrame
    The three contract tables in memory.
calibration_table(dataset, *, keys_dir=None) -> DataFrame
    Every target of ``targets.yml`` next to the value the project's own loader, scoring and
    statistics compute from ``dataset``: [target, source, target_value, achieved, tolerance, ok].
main_cli(out, seed) -> int
    The ``veiligverder synth`` command.

The model is described in :mod:`veiligverder.synthetic.model`; the targets (each citing its key in
``report_facts.yml``) are in ``targets.yml``; the model's own choices in ``params.yml``.
"""

from pathlib import Path
from typing import Any

import pandas as pd

from veiligverder.synthetic.core import load_targets
from veiligverder.synthetic.model import DEFAULT_SEED, generate
from veiligverder.synthetic.writer import (MARKER, MODEL_VERSION, SyntheticWriteError, main_cli, write_manifest,
                                          write_synthetic)


def calibration_table(dataset: Any, *, keys_dir: str | Path | None = None) -> pd.DataFrame:
    """Every target of ``targets.yml`` next to the value achieved on ``dataset``.

    Columns ``[target, source, target_value, achieved, tolerance, ok]``; see
    :func:`veiligverder.synthetic.calibration.calibration_table` (imported on first use: it needs the
    scoring and statistics layers, which the generator itself never uses).
    """
    from veiligverder.synthetic.calibration import calibration_table as _table

    return _table(dataset, keys_dir=keys_dir)


__all__ = ["DEFAULT_SEED", "MARKER", "MODEL_VERSION", "SyntheticWriteError", "calibration_table", "generate",
           "load_targets", "main_cli", "write_manifest", "write_synthetic"]
