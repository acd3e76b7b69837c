"""The project's own consistency: contract copy, environments in step, book and notebooks complete."""

from __future__ import annotations

import re
import tomllib

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


def test_contract_document_copy_equals_shared_contract():
    """The contract the code cites ships with the package, byte for byte the shared one."""
    shared = paths.SHARED_DIR / "contract" / "CONTRACT.md"
    if not shared.exists():
        pytest.skip("../shared is not beside the project")
    assert paths.CONTRACT_DOC.read_bytes() == shared.read_bytes()


CONTRACT_REF = re.compile(r"CONTRACT §(\d+)(?:\.(\d+))?")


def contract_sections() -> set[str]:
    """The numbers of the contract document's sections ('1', '2', ...), from its '## n.' headings."""
    text = paths.CONTRACT_DOC.read_text(encoding="utf-8")
    return set(re.findall(r"^##+ (\d+(?:\.\d+)?)\.? ", text, flags=re.M))


def test_contract_sections_are_read_from_the_headings():
    assert contract_sections() == {"1", "2", "3", "4"}


def test_every_contract_reference_resolves_to_a_heading():
    """Every "CONTRACT §n" in the code, tests, notebooks and book points to a section that exists."""
    sections = contract_sections()
    files = [p for folder in ("src", "tests", "notebooks", "book") for p in (ROOT / folder).rglob("*")
             if p.suffix in (".py", ".md", ".yml") and p.is_file()] + [ROOT / "README.md"]
    refs, bad = 0, []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in CONTRACT_REF.finditer(line):
                refs += 1
                if m.group(1) not in sections:
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
    assert refs > 40  # the code does cite the contract (a regex that matched nothing would pass)
    assert not bad, "references to no section of CONTRACT.md:\n" + "\n".join(bad)


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


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_declared_parameters_equal_what_papermill_reads(chapter, tmp_path):
    """The pipeline's own reading of a parameters cell (``ast`` on the MyST text) gives exactly the
    names and default texts that ``papermill.inspect_notebook`` gives on the converted notebook."""
    import jupytext
    import papermill as pm

    path = tmp_path / f"{chapter.name}.ipynb"
    jupytext.write(jupytext.read(chapter.source), path, fmt="ipynb")
    expected = {name: spec["default"] for name, spec in pm.inspect_notebook(str(path)).items()}
    assert notebook_parameters(chapter) == expected


def test_book_tests_are_grouped_by_the_build_they_read():
    """Under `make test` the book tests run in two workers; the tests of one shared build form one
    group (one worker, one build). A test reading two builds goes with the first of BUILD_GROUPS."""
    from conftest import build_group

    assert build_group({"default_results", "tmp_path"}) == "default"
    assert build_group({"attack_build", "other_build"}) == "attack"
    assert build_group({"other_build", "synthetic_dataset"}) == "other"
    assert build_group({"tmp_path"}, "test_browser.py") == "default"  # reaches the build at run time
    assert build_group({"tmp_path"}, "test_e2e.py") is None


def test_warm_code_is_the_chapters_top_level_imports_once_each(tmp_path, monkeypatch):
    """What the build's kernels run while stage 0 loads the data (``pipeline.chapters.warm_code``):
    the import statements at the top level of the chapters' code cells, each once, in order;
    not an import inside a function, not ``__future__``, not a cell that does not parse."""
    from veiligverder.pipeline import Chapter, chapters

    cell = "```{{code-cell}} ipython3\n{}\n```\n"
    (tmp_path / "one.md").write_text(
        "# One\n\n" + cell.format("from __future__ import annotations\nimport os, time\nx = 1\n"
                                  "def f():\n    import json\n    return json")
        + cell.format("from pathlib import Path as P\nimport os, time"))
    (tmp_path / "two.md").write_text("# Two\n\n" + cell.format("import os, time\nimport re\nif x:")
                                     + cell.format("from collections import deque"))
    (tmp_path / "three.md").write_text("# Three\n\n" + cell.format("y = 2"))
    monkeypatch.setattr(chapters.paths, "NOTEBOOKS_DIR", tmp_path)
    one, two, three = Chapter("one"), Chapter("two"), Chapter("three")
    assert chapters.warm_code((one, two, three)) == \
        "import os, time\nfrom pathlib import Path as P\nfrom collections import deque\n"
    assert chapters.warm_code((three,)) is None
    exec(compile(chapters.warm_code((one, two)), "warm", "exec"), {})  # runs as it is


def test_the_books_warm_code_imports_what_every_chapter_needs_first():
    from veiligverder.pipeline import chapters

    code = chapters.warm_code(CHAPTERS)
    for line in ("from myst_nb import glue", "from veiligverder.report import present", "import pandas as pd"):
        assert line in code.splitlines()
