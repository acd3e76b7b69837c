"""Problems found in a dataset folder, the report that lists them, and the error that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_EXAMPLES = 5
MAX_PER_RULE = 20  # problems of one rule shown in a report; the rest are counted
MAX_LINE = 300  # characters of one example (an offending value can be any length)


@dataclass(frozen=True)
class Problem:
    """One broken rule in one file (and column), with a few offending rows.

    Attributes
    ----------
    file : str
        File name inside the dataset folder (``parents.csv``, ``mapping.yml``), or the folder itself.
    column : str or None
        Contract column (or mapping entry) concerned; None for whole-file problems.
    rule : str
        The rule broken, in words (``range 16..90``, ``allowed values: female, male``, ...).
    n_rows : int or None
        How many rows break it; None when the rule is not about rows.
    examples : tuple of str
        Up to five offending rows as ``row N (key=value, ...): value`` (rows counted from 1,
        header not counted), or other offending items such as column names.
    fix : str
        What to do about it.
    """

    file: str
    column: str | None
    rule: str
    n_rows: int | None = None
    examples: tuple[str, ...] = ()
    fix: str = ""

    def render(self) -> str:
        """The problem as a few indented lines of text."""
        where = self.file if self.column is None else f"{self.file}, column '{self.column}'"
        head = f"- {where}, rule '{self.rule}'"
        if self.n_rows is not None:
            head += f": {self.n_rows} row{'s' if self.n_rows != 1 else ''}"
            head += ", e.g." if self.examples else ""
        lines = [head, *(f"    {_clip(example)}" for example in self.examples)]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of checking a dataset folder.

    Attributes
    ----------
    path : Path
        The dataset folder.
    problems : list of Problem
        Everything found; empty when the folder is valid.
    counts : dict
        Table name -> number of rows read (tables that could be read).
    """

    path: Path
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def text(self) -> str:
        """The report as text: a one-line verdict, then one block per problem (at most
        :data:`MAX_PER_RULE` per rule, then how many more of that rule were found)."""
        if self.ok:
            counts = ", ".join(f"{table}: {n} rows" for table, n in self.counts.items())
            return f"{self.path}: valid ({counts})"
        n = len(self.problems)
        head = f"{self.path}: {n} problem{'s' if n != 1 else ''} found; the input files were not changed"
        return "\n".join([head, *self._blocks()])

    def _blocks(self) -> list[str]:
        """One block per problem, at most :data:`MAX_PER_RULE` per rule; the rest counted after the last shown."""
        total: dict[str, int] = {}
        for problem in self.problems:
            total[problem.rule] = total.get(problem.rule, 0) + 1
        shown: dict[str, int] = {}
        blocks = []
        for problem in self.problems:
            k = shown[problem.rule] = shown.get(problem.rule, 0) + 1
            if k > MAX_PER_RULE:
                continue
            blocks.append(problem.render())
            rest = total[problem.rule] - MAX_PER_RULE
            if k == MAX_PER_RULE and rest > 0:
                blocks.append(f"- ... and {rest} more problem{'s' if rest != 1 else ''} of rule '{_clip(problem.rule)}'")
        return blocks

    def __str__(self) -> str:
        return self.text()


class DataValidationError(ValueError):
    """A dataset folder that breaks the contract; ``report`` lists every problem found.

    The message is the full report: file, column, rule, number of rows and example rows.
    """

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.text())
        self.report = report
