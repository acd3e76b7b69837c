"""Shared fixtures: one default build of the whole book per test session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from veiligverder import paths

CLI = [sys.executable, "-m", "veiligverder.cli"]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``veiligverder`` command as a user would, capturing its output."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"veiligverder {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def default_build(tmp_path_factory) -> Path:
    """The whole book built from the default (synthetic) dataset into a temporary folder."""
    out = tmp_path_factory.mktemp("build") / "out"
    run_cli("build", "--out", str(out))
    return out


@pytest.fixture(scope="session")
def default_results(default_build) -> dict:
    return json.loads((default_build / "results.json").read_text())


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """The default synthetic twin (seed 20201231), written and loaded once per session."""
    from veiligverder.data import load_dataset
    from veiligverder.synthetic import write_synthetic

    return load_dataset(write_synthetic(tmp_path_factory.mktemp("twin") / "default"))


@pytest.fixture(scope="session")
def attack_build(tmp_path_factory, synthetic_dataset):
    """One whole book built from a NON-synthetic copy of the twin whose VV group is cut to 3 families
    (one extreme), with a unique marker in every id and in the free text of the study families, and
    an empty ``SYNTHETIC`` file that must not switch disclosure control off. Shared by the privacy and
    the disclosure attack tests. Returns (data folder, output folder, markers, input digest before)."""
    import hashlib

    sys.path.insert(0, str(Path(__file__).parent))
    from attack_datasets import small_group_copy

    tmp = tmp_path_factory.mktemp("attack")
    data, markers = small_group_copy(Path(synthetic_dataset.meta.path), tmp / "vv3", n_vv=3)
    (data / "SYNTHETIC").write_text("")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())}
    out = tmp / "out"
    run_cli("build", "--data", str(data), "--out", str(out))
    return data, out, markers, before


def odd_dataset(folder: Path) -> Path:
    """A small contract dataset (random answers, seed 3) whose VV group is one family without
    children: valid, and as odd as real data can be (see ``other_build``)."""
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).parent))
    from datasets import write_contract_dataset

    data = write_contract_dataset(folder, families={"VV": 1, "control": 6, "cohort": 6}, seed=3)
    fam = pd.read_csv(data / "families.csv", dtype=str)
    vv = set(fam.loc[fam["group"] == "VV", "family_id"])
    kids = pd.read_csv(data / "children.csv", dtype=str, keep_default_na=False)
    kids.loc[~kids["family_id"].isin(vv)].to_csv(data / "children.csv", index=False)
    return data


@pytest.fixture(scope="session")
def other_build(tmp_path_factory) -> tuple[Path, Path]:
    """Every chapter run (no HTML) on :func:`odd_dataset`, once per session: the build of another
    dataset for the end-to-end, disclosure and interrupt tests. Returns (data folder, output folder)."""
    tmp = tmp_path_factory.mktemp("other")
    data = odd_dataset(tmp / "data")
    out = tmp / "out"
    run_cli("build", "--data", str(data), "--out", str(out), "--no-book")
    return data, out
