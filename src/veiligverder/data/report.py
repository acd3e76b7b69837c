"""Problems found in a dataset folder, the report that lists them, and the error that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_EXAMPLES = 5


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
        lines = [head, *(f"    {example}" for example in self.examples)]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


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
        """The report as text: a one-line verdict, then one block per problem."""
        if self.ok:
            counts = ", ".join(f"{table}: {n} rows" for table, n in self.counts.items())
            return f"{self.path}: valid ({counts})"
        n = len(self.problems)
        head = f"{self.path}: {n} problem{'s' if n != 1 else ''} found; the input files were not changed"
        return "\n".join([head, *(problem.render() for problem in self.problems)])

    def __str__(self) -> str:
        return self.text()


class DataValidationError(ValueError):
    """A dataset folder that breaks the contract; ``report`` lists every problem found.

    The message is the full report: file, column, rule, number of rows and example rows.
    """

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.text())
        self.report = report
