"""Helpers of the tests that build the book: run the command line, odd datasets, licensed keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from veiligverder import paths

CLI = [sys.executable, "-m", "veiligverder.cli"]

#: The front matter of a chapter written as jupytext MyST text (the test chapters start with it).
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``veiligverder`` command as a user would, capturing its output."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"veiligverder {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def odd_dataset(folder: Path) -> Path:
    """A small contract dataset (random answers, seed 3) whose VV group is one family without
    children: valid, and as odd as real data can be (see ``other_build``)."""
    import pandas as pd

    from support.datasets import write_contract_dataset

    data = write_contract_dataset(folder, families={"VV": 1, "control": 6, "cohort": 6}, seed=3)
    fam = pd.read_csv(data / "families.csv", dtype=str)
    vv = set(fam.loc[fam["group"] == "VV", "family_id"])
    kids = pd.read_csv(data / "children.csv", dtype=str, keep_default_na=False)
    kids.loc[~kids["family_id"].isin(vv)].to_csv(data / "children.csv", index=False)
    return data


def licensed_keys(folder: Path) -> Path:
    """A copy of the shipped illustrative keys in ``folder``, every file marked ``illustrative: false``:
    to the package it is a user's folder of licensed keys (same numbers, so results stay comparable)."""
    import shutil

    import yaml

    shutil.copytree(paths.ILLUSTRATIVE_KEYS_DIR, folder)
    for path in sorted(folder.glob("*.yml")):
        key = yaml.safe_load(path.read_text())
        key["illustrative"] = False
        path.write_text(yaml.safe_dump(key, sort_keys=False, allow_unicode=True))
    return folder


#: The non-default parameters of ``other_build``: the follow-up rule and a keys folder must show in
#: every chapter that uses them (test_params_reach).
OTHER_BUILD_RULE = "T1"
OTHER_BUILD_KEYS = "licensed_keys"  # the folder's name; the banner shows only this, never the full path


def stderr_outputs(out: Path) -> dict[str, list[str]]:
    """What the executed chapters of a build wrote to stderr or raised, per notebook (first lines).

    A library warning (statsmodels' rank-deficient design, numpy's overflow in ``exp``) is printed
    into the chapter and from there into the book, with the builder's paths; a chapter must say in
    words what the data did not allow instead."""
    import json

    found: dict[str, list[str]] = {}
    for notebook in sorted((Path(out) / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    found.setdefault(notebook.stem, []).append("".join(output["text"])[:200])
                elif output.get("output_type") == "error":
                    found.setdefault(notebook.stem, []).append(f"{output.get('ename')}: {output.get('evalue')}"[:200])
    return found
