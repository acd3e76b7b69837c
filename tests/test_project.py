"""The project's own consistency: contract copy, environments in step, book and notebooks complete."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from veiligverder import paths
from veiligverder.pipeline import CHAPTERS, notebook_parameters

ROOT = paths.PROJECT_ROOT
PLACEHOLDER = re.compile(r":::\{admonition\} Not written yet")

# Pages that still carry the skeleton's "Not written yet" admonition. Keep this list exact:
# the test fails when a page is written (remove it here) or a new placeholder appears.
PENDING: set[str] = set()


def test_codebook_copy_equals_shared_contract():
    shared = paths.SHARED_DIR / "contract" / "codebook.yml"
    if not shared.exists():
        pytest.skip("../shared is not beside the project")
    assert paths.CODEBOOK.read_bytes() == shared.read_bytes()


def test_report_facts_copy_equals_shared_reference():
    shared = paths.SHARED_DIR / "reference" / "report_facts.yml"
    if not shared.exists():
        pytest.skip("../shared is not beside the project")
    assert paths.REPORT_FACTS.read_bytes() == shared.read_bytes()


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {d for d in pip if d != "-e ."}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"
    assert "python=3.11" in env["dependencies"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((paths.BOOK_DIR / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


def test_toc_mirrors_the_report():
    files = _toc_files()
    expected_order = ["index", "ch1_introduction", "ch2_background", "ch3_methods", "ch4_experiences",
                      "ch5_effect_study", "ch5_1_participants", "ch5_2_violence", "ch5_3_trauma",
                      "ch5_4_wellbeing", "ch5_5_risk_factors", "ch5_6_help"]
    assert files[: len(expected_order)] == expected_order
    assert files.index("ch6_conclusion") > files.index("ch5_6_help")
    assert len(files) == len(set(files))


def test_every_toc_entry_has_exactly_one_source():
    for name in _toc_files():
        sources = [p for p in (paths.BOOK_DIR / f"{name}.md", paths.NOTEBOOKS_DIR / f"{name}.md") if p.exists()]
        assert len(sources) == 1, f"{name}: sources {sources}"


def test_pipeline_runs_every_notebook_and_only_those():
    on_disk = {p.stem for p in paths.NOTEBOOKS_DIR.glob("*.md")}
    assert {c.name for c in CHAPTERS} == on_disk


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_notebook_declares_the_required_parameters(chapter):
    declared = notebook_parameters(chapter)
    assert {"data_dir", "out_dir", "follow_up_rule", "seed"} <= set(declared)


def test_placeholder_pages_are_listed():
    pages = list(paths.BOOK_DIR.glob("*.md")) + list(paths.NOTEBOOKS_DIR.glob("*.md"))
    found = {p.stem for p in pages if PLACEHOLDER.search(p.read_text(encoding="utf-8"))}
    assert found == PENDING, f"not written yet: {sorted(found)}"
