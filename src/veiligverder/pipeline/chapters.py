"""The chapters of the book: which notebooks the build runs, in which stage, with which parameters."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veiligverder import paths
from veiligverder.pipeline.errors import BuildError


KERNEL = "python3"


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook and the stage it runs in (later stages read earlier stages' results).

    ``seconds`` is a rough execution time on the embedded twin, used to start the longest chapters
    first when no timing of an earlier build is known (a long chapter started last would hold up
    its stage while the other workers idle)."""

    name: str
    stage: int = 1
    seconds: float = 2.0

    @property
    def source(self) -> Path:
        return paths.NOTEBOOKS_DIR / f"{self.name}.md"


# The book's computed pages. Stage 2 summarises stage 1; stage 3 reports on the whole run.


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("ch3_methods", seconds=4),
    Chapter("ch4_experiences"),
    Chapter("ch5_1_participants", seconds=4),
    Chapter("ch5_2_violence"),
    Chapter("ch5_3_trauma"),
    Chapter("ch5_4_wellbeing"),
    Chapter("ch5_5_risk_factors"),
    Chapter("ch5_6_help"),
    Chapter("power", seconds=6),
    Chapter("sensitivity", seconds=10),
    Chapter("appendix_contract"),
    Chapter("index", stage=2),
    Chapter("ch6_conclusion", stage=2),
    Chapter("appendix_scorecard", stage=2),
    Chapter("appendix_provenance", stage=3),
)


#: A MyST code cell: its opening fence, its options (``:tags: [...]``) and its source.
_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)(.*?)^```", re.M | re.S)


def notebook_parameters(chapter: Chapter) -> dict[str, Any]:
    """Names and defaults (as source text, like ``papermill.inspect_notebook``) of the assignments
    in the chapter's ``parameters`` cell. Read from the MyST text with ``ast``: no notebook
    conversion and no papermill import, so that a build where nothing changed stays fast."""
    return dict(_declared(chapter.source.read_text(encoding="utf-8")))


@lru_cache(maxsize=64)
def _declared(text: str) -> tuple[tuple[str, str], ...]:
    for options, body in _CODE_CELL.findall(text):
        tags = re.search(r"^:tags:\s*\[([^\]]*)\]", options, re.M)
        if tags and "parameters" in {t.strip() for t in tags.group(1).split(",")}:
            tree = ast.parse(body)
            return tuple((target.id, ast.get_source_segment(body, node.value))
                         for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                         for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                         if isinstance(target, ast.Name))
    return ()


def warm_code(chapters: tuple[Chapter, ...]) -> str | None:
    """The import statements of the chapters' code cells (top level, each once, in order): what a
    worker's kernel can run as soon as it has started, while stage 0 loads the data, because the
    chapters it will run begin with them anyway. None when there are none. A cell that does not
    parse is skipped: the chapter itself then reports it."""
    lines: dict[str, None] = {}
    for chapter in chapters:
        for _, body in _CODE_CELL.findall(chapter.source.read_text(encoding="utf-8")):
            try:
                tree = ast.parse(body)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", None) != "__future__":
                    lines[ast.unparse(node)] = None
    return "\n".join(lines) + "\n" if lines else None


def chapter_parameters(chapter: Chapter, base: dict[str, Any]) -> dict[str, Any]:
    """The subset of the build parameters that this chapter declares."""
    declared = notebook_parameters(chapter)
    missing = {"data_dir", "out_dir", "follow_up_rule", "seed"} - set(declared)
    if missing:
        raise BuildError(f"{chapter.source}: the parameters cell lacks {sorted(missing)}")
    return {k: v for k, v in base.items() if k in declared}
