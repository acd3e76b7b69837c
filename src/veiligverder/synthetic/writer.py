"""Write the synthetic twin as a contract dataset folder, whole or not at all."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from veiligverder.synthetic.model import DEFAULT_SEED, generate

MARKER = "SYNTHETIC"   # the loader's veiligverder.data.SYNTHETIC_MARKER
FLOAT_FORMAT = "%.15g"  # whole numbers without a decimal point; same value, same bytes
MARKER_TEXT = """\
This folder holds SYNTHETIC data: the calibrated synthetic twin of the Veilig Verder evaluation
(34 VV, 65 control and 921 further cohort families, waves T0/T1/T2), written by
`veiligverder synth` with seed {seed}. No real person is in it. Every answer was drawn from a
generative model calibrated to the published report (targets: veiligverder/synthetic/targets.yml);
the licensed questionnaires are scored with illustrative keys. Do not use it to draw conclusions
about families or about Veilig Verder.
"""
ERR_NOT_SYNTHETIC = (
    "{path} exists and is not a synthetic dataset folder (no {marker} file): refusing to replace it. "
    "Choose a new or empty folder, or remove it first."
)


class SyntheticWriteError(ValueError):
    """The output folder cannot be (re)placed by the synthetic twin."""


def write_synthetic(out_dir: str | os.PathLike[str], *, seed: int = DEFAULT_SEED) -> Path:
    """Generate the synthetic twin and write it as a dataset folder (CONTRACT §1).

    Parameters
    ----------
    out_dir : path
        Folder to write: ``families.csv``, ``parents.csv``, ``children.csv`` (every codebook
        column, in codebook order, rows sorted by key) and the marker file ``SYNTHETIC``. An
        existing folder is replaced only when it is empty or itself holds a ``SYNTHETIC`` marker.
    seed : int, keyword-only
        Seed of the model (default 20201231). Same seed, byte-identical files: fixed number format
        (``%.15g``, empty cell for missing, ``\\n`` line ends), no time stamps.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    SyntheticWriteError
        When ``out_dir`` exists as a file, or as a folder that is neither empty nor synthetic.

    Notes
    -----
    The files are written into a temporary sibling folder which then replaces ``out_dir``
    (``os.replace``); a failure on the way leaves ``out_dir`` as it was.
    """
    out = Path(out_dir).resolve()
    _check_replaceable(out)
    tables = generate(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)                      # mkdtemp makes it private; a dataset folder is not
    backup = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        for name, frame in tables.items():
            write_csv(frame, tmp / f"{name}.csv")
        (tmp / MARKER).write_text(MARKER_TEXT.format(seed=seed), encoding="utf-8", newline="\n")
        if out.exists():
            os.replace(out, backup)
        try:
            os.replace(tmp, out)
        except OSError:
            if backup.exists():
                os.replace(backup, out)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(backup, ignore_errors=True)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """One table as UTF-8 CSV: comma, point decimals, empty cell for missing, ``\\n`` line ends."""
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, na_rep="", lineterminator="\n", encoding="utf-8")


def main_cli(out: str | os.PathLike[str], seed: int = DEFAULT_SEED) -> int:
    """``veiligverder synth --out DIR --seed N``: write the twin, print where; exit code 0 or 1."""
    try:
        path = write_synthetic(out, seed=seed)
    except (SyntheticWriteError, OSError) as exc:
        print(f"veiligverder synth: {exc}", file=sys.stderr)
        return 1
    print(f"synthetic dataset (seed {seed}): {path}")
    return 0


def _check_replaceable(out: Path) -> None:
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file()):
        raise SyntheticWriteError(ERR_NOT_SYNTHETIC.format(path=out, marker=MARKER))
