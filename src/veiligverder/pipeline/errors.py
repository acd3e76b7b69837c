"""What a build reports: its errors (each names the folder, chapter or process and the fix) and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path



class BuildError(RuntimeError):
    """A chapter or the book build failed; the message names the chapter, the cell and the error."""


class OutputError(ValueError):
    """A folder the build cannot use (``--out``, ``--data``); the message names it and the fix."""


class OutputInUse(OutputError):
    """Another build holds the lock on the output folder; the message names it (pid, start, dataset)."""


class BuildInterrupted(KeyboardInterrupt):
    """The build was stopped by SIGINT or SIGTERM; ``published`` tells which build OUT holds."""

    def __init__(self, out: Path, published: bool) -> None:
        super().__init__(out, published)
        self.out = out
        self.published = published

    def __str__(self) -> str:
        if self.published:
            return f"interrupted after the new build was published; {self.out} holds it"
        return f"interrupted; {self.out} still holds the previous build"


@dataclass
class ChapterRun:
    name: str
    seconds: float
    cached: bool


@dataclass
class BuildResult:
    out_dir: Path
    results_path: Path
    html_index: Path | None
    runs: list[ChapterRun] = field(default_factory=list)
