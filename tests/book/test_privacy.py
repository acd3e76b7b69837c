"""No row-level data in the outputs, and input files are never modified.

The marker test builds the whole book (HTML included) from a non-synthetic dataset whose every id
and free-text value is a unique marker string, then searches every file under the output folder
(HTML, search index, executed notebooks, results.json, fragments, cache) for any of them. A single
``print(dataset.parents.head())`` in any chapter would plant a marker and fail it; the scanner itself
is shown to find planted markers in :func:`test_scanner_finds_a_planted_marker`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from support.builds import run_cli, stderr_outputs

from support.datasets import contract_frames, write_tables

PREFIX = "QXZ"  # no English or Dutch word, no base64 of our figures is likely to contain it next to digits


def marked_frames(seed: int = 5) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Contract tables whose ids and free-text fields are unique markers (``QXZf12Q`` ...)."""
    frames = contract_frames(families={"VV": 12, "control": 16, "cohort": 40}, seed=seed)
    fam, par, chi = (frames[k].copy() for k in ("families", "parents", "children"))
    fmap = {old: f"{PREFIX}f{i}Q" for i, old in enumerate(sorted(fam["family_id"].unique()))}
    pmap = {old: f"{PREFIX}p{i}Q" for i, old in enumerate(sorted(par["parent_id"].unique()))}
    cmap = {old: f"{PREFIX}c{i}Q" for i, old in enumerate(sorted(chi["child_id"].unique()))}
    fam["family_id"] = fam["family_id"].map(fmap)
    fam["region"] = [f"{PREFIX}r{i}Q" for i in range(len(fam))]
    par["family_id"] = par["family_id"].map(fmap)
    par["parent_id"] = par["parent_id"].map(pmap)
    par["help_grade_type"] = [f"{PREFIX}t{i}Q" for i in range(len(par))]
    chi["family_id"] = chi["family_id"].map(fmap)
    chi["child_id"] = chi["child_id"].map(cmap)
    chi["reporting_parent_id"] = chi["reporting_parent_id"].map(pmap)
    markers = {*fmap.values(), *pmap.values(), *cmap.values(), *fam["region"], *par["help_grade_type"]}
    return {"families": fam, "parents": par, "children": chi}, markers


#: Every marker is ``PREFIX``, one letter, digits and ``Q`` (here and in ``support.attack_datasets``).
#: A lookahead finds each candidate, overlapping ones too ("QXZf1QXZp2Q" holds two), in one pass
#: over a file; testing each of the thousands of markers against every file took seconds.
_FORM = PREFIX + "[a-z][0-9]+Q"
_MARKER = re.compile(f"(?=({_FORM}))".encode())


def find_markers(folder: Path, markers: set[str]) -> dict[str, list[str]]:
    """Every file under ``folder`` that holds a marker (text search on the raw bytes), with the markers."""
    odd = sorted(m for m in markers if not re.fullmatch(_FORM, m))
    assert not odd, f"markers of another form, which the scan would not see: {odd[:5]}"
    hits: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if PREFIX.encode() in data:
                found = {m.decode() for m in _MARKER.findall(data)} & markers
                if found:
                    hits[str(path.relative_to(folder))] = sorted(found)[:5]
    return hits


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_scanner_finds_a_planted_marker(tmp_path):
    frames, markers = marked_frames()
    leak = sorted(markers)[3]
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "page.html").write_text(f"<td>{leak}</td>")
    (tmp_path / "results.json").write_text("{}")
    assert find_markers(tmp_path, markers) == {"html/page.html": [leak]}
    # two markers sharing their "Q" ("QXZc0QXZc100Q"), each found; a marker's prefix inside a
    # longer token ("QXZc07Q") or with its letter dropped is none
    a, b = sorted(markers)[:2]
    (tmp_path / "html" / "page.html").write_text(f"x{a[:-1]}{b}y")
    assert find_markers(tmp_path, markers) == {"html/page.html": sorted([a, b])}
    (tmp_path / "html" / "page.html").write_text(f"{a[:-1]}7Q {a[:3]}{a[4:]}")
    assert find_markers(tmp_path, markers) == {}
    with pytest.raises(AssertionError, match="another form"):
        find_markers(tmp_path, {"leak-Q"})


@pytest.mark.e2e
def test_no_row_level_value_reaches_the_outputs(attack_build):
    """The whole book built from a non-synthetic dataset whose every id and the free text of the
    study families is a unique marker (the shared attack build, see conftest): no marker in any
    output file, and the input files untouched."""
    data, out, markers, before = attack_build
    assert (out / "html" / "index.html").exists() and (out / "html" / "searchindex.js").exists()
    assert len(markers) > 1000  # every family, parent and child of the twin
    hits = find_markers(out, markers)
    assert hits == {}, f"row-level values in the outputs: {hits}"
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())}
    assert after == before  # the build never touches its input


def test_no_chapter_writes_to_stderr_on_the_attack_data(attack_build):
    """A library warning printed into a chapter carries the builder's paths and says nothing a reader
    can use; the small-group copy (three VV families, one extreme) must not set one off."""
    assert stderr_outputs(attack_build[1]) == {}


def test_no_row_level_copy_of_real_data_stays_in_the_build_folder(attack_build):
    """Stage 0 writes the study (row-level frames) to OUT/.cache/study for the chapters; on data
    that are not the proven twin the build removes every entry when the chapters are done and
    keeps only the meta sidecar (hash, file names), which holds no row."""
    data, out, markers, before = attack_build
    cache = out / ".cache" / "study"
    assert cache.is_dir()
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".json")] == []
    assert not list(out.rglob("*.parquet"))
    sidecars = list(cache.glob("*.json"))
    assert len(sidecars) == 1 and set(json.loads(sidecars[0].read_text())) == {
        "content_hash", "files", "path", "synthetic", "synthetic_reason"}


def test_commands_leave_inputs_byte_identical(tmp_path):
    """validate and a failing build read the dataset and the parameter file without changing a byte."""
    frames, _ = marked_frames(seed=6)
    data = write_tables(frames, tmp_path / "data", fmt="csv")
    params = tmp_path / "params.yml"
    params.write_text("follow_up_rule: T9\n")  # invalid: the build stops before executing anything
    before = {**digest(data), "params": hashlib.sha256(params.read_bytes()).hexdigest()}
    assert run_cli("validate", str(data), check=False).returncode == 0
    proc = run_cli("build", "--data", str(data), "--out", str(tmp_path / "out"), "--params", str(params), check=False)
    assert proc.returncode != 0 and "follow_up_rule" in (proc.stdout + proc.stderr)
    after = {**digest(data), "params": hashlib.sha256(params.read_bytes()).hexdigest()}
    assert after == before
    assert sorted(p.name for p in data.iterdir()) == ["children.csv", "families.csv", "parents.csv"]


def test_no_folder_of_the_builder_reaches_the_book(attack_build):
    """The pages and the notebooks readers download (html/_sources) name no folder of the machine
    that built them: not the dataset's, not the output's (a folder name can say whose data it is)."""
    data, out, markers, before = attack_build
    downloads = list((out / "html" / "_sources").glob("*.ipynb"))
    assert len(downloads) >= 10
    folders = {str(data), str(data.resolve()), str(out.resolve()), str(out.resolve().parent)}
    hits = {str(p.relative_to(out)): sorted(f for f in folders if f in p.read_text(errors="ignore"))
            for p in (out / "html").rglob("*") if p.is_file() and p.suffix in {".html", ".ipynb", ".js", ".txt", ".md"}}
    assert {k: v for k, v in hits.items() if v} == {}
    injected = [c for c in json.loads(downloads[0].read_text())["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "data_dir = None" in "".join(injected[0]["source"])
