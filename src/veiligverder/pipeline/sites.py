"""Several datasets, one build each, and a table that compares them: ``veiligverder sites``.

A multi-site (or multi-region) study keeps one dataset folder per site. :func:`run_sites` builds
each folder with the ordinary build (``veiligverder build --no-book``) into ``OUT/<folder name>/``,
then reads every site's ``results.json`` into one comparison table, ``OUT/comparison.csv`` and
``OUT/comparison.md``: one row per compared result id (:data:`COMPARED`), one column per site.

Where the builds run
--------------------
Each site's build is one joblib task that runs the build as a subprocess
(``python -m veiligverder.cli build --no-book --data DIR --out OUT/<name>``), so that every build
keeps its own output lock, signal handling and kernels, exactly as when started by hand.

- without a scheduler the tasks run on this machine, ``jobs`` builds at a time (default 1: a build
  already runs its chapters on every core; with more, each build gets its share of the cores);
- with a Dask scheduler address (``tcp://host:port``) joblib's Dask backend sends the tasks to the
  cluster's workers (one build per worker thread; start workers with ``--nthreads 1``). The workers
  must see the same filesystem at the same paths (the dataset folders, OUT and the parameters file)
  and have the same environment installed; each build runs in the folder ``sites`` was started in,
  so that a relative ``keys_dir`` in the parameters file means the same everywhere.

Disclosure control applies per site: every build withholds its own small numbers, and the table
copies what a site published. A number a site withheld shows as ``withheld``, never estimated from
other sites or cells. A site whose build fails is reported in the table (row ``status``, with the
build's error line), in ``OUT/<name>.log`` (everything the build printed) and in the exit code; the
other sites still run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from veiligverder.params import ParameterError, load_params
from veiligverder.pipeline.errors import OutputError

#: Result ids compared across sites (regular expressions matched against the whole id), in the order
#: of the table: the Tabel 2 counts, each outcome's group means per wave, and its group x time test.
COMPARED: tuple[str, ...] = (
    r"n\.[^.]+\.[^.]+",                    # n.<group>.<families|parents|children|...>
    r"[^.]+\.mean\.[^.]+\.[^.]+",          # <outcome>.mean.<group>.<wave>
    r"[^.]+\.anova\.interaction\.p",        # <outcome>.anova.interaction.p
    r"[^.]+\.anova\.interaction\.np2",      # <outcome>.anova.interaction.np2
)
WITHHELD = "withheld"  # a value the site's disclosure control withheld (its id is in _meta.suppressed)
STATUS_ROW = "status"
DATASET_ROW = "dataset"
TABLE_CSV = "comparison.csv"
TABLE_MD = "comparison.md"
STOP_TIMEOUT = 30.0  # seconds an interrupted build gets to put its previous build back and exit

_running: set[subprocess.Popen] = set()  # the builds this process runs (local dispatch), for interrupts
_running_lock = threading.Lock()


@dataclass(frozen=True)
class SiteRun:
    """One site's build: where it ran and how it ended."""

    name: str
    data: Path
    out: Path
    returncode: int
    error: str = ""  # the build's error line; empty when it succeeded
    seconds: float = 0.0
    host: str = ""  # the machine and process that ran the build's task
    pid: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        return "ok" if self.ok else f"failed (exit {self.returncode}): {self.error}"

    @property
    def log(self) -> Path:
        return self.out.parent / f"{self.name}.log"


@dataclass
class SitesResult:
    out: Path
    sites: list[SiteRun]
    table: Any  # pandas DataFrame: index result id, one column per site
    csv: Path
    markdown: Path
    where: str = "local processes"
    failed: list[SiteRun] = field(init=False)

    def __post_init__(self) -> None:
        self.failed = [s for s in self.sites if not s.ok]


def site_folders(data_dirs: Sequence[str | Path]) -> dict[str, Path]:
    """Site name (the folder's name) -> absolute dataset folder; an :class:`OutputError` for a folder
    that does not exist or two folders of the same name (both would build into ``OUT/<name>``)."""
    if not data_dirs:
        raise OutputError("--data: give at least one dataset folder")
    sites: dict[str, Path] = {}
    for given in data_dirs:
        path = Path(given).expanduser().resolve()
        if not path.is_dir():
            what = "is a file" if path.exists() else "no such dataset folder"
            raise OutputError(f"--data {path}: {what}; give the folders that hold each site's table files")
        if path.name in sites:
            raise OutputError(f"--data {sites[path.name]} and {path} are both named {path.name!r}, and each site "
                              f"builds into OUT/<folder name>; rename one of the folders")
        sites[path.name] = path
    return sites


def _error_line(stderr: str, returncode: int) -> str:
    """The build's one-line message (``veiligverder build: ...``), else its last line of output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    own = [line for line in lines if line.startswith("veiligverder")]
    if own:
        return own[-1]
    if lines:
        return lines[-1]
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"


def build_site(name: str, data: str, out: str, params: str | None = None, jobs: int | None = None,
               cwd: str | None = None) -> SiteRun:
    """Run one site's build as a subprocess (a joblib task; it may run on a Dask worker).

    Never raises: a build that fails, or cannot start, is a :class:`SiteRun` with its exit code and
    error line, so that the other sites still run. Writes the build's output to ``OUT/<name>.log``.
    """
    command = [sys.executable, "-m", "veiligverder.cli", "build", "--no-book", "--data", data, "--out", out]
    if params is not None:
        command += ["--params", params]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    where = {"host": socket.gethostname(), "pid": os.getpid()}
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                                stdin=subprocess.DEVNULL)
    except OSError as exc:
        return SiteRun(name, Path(data), Path(out), 127, f"cannot start the build on {where['host']}: {exc}",
                       time.perf_counter() - start, **where)
    with _running_lock:
        _running.add(proc)
    try:
        stdout, stderr = proc.communicate()
    finally:
        with _running_lock:
            _running.discard(proc)
    seconds = time.perf_counter() - start
    error = "" if proc.returncode == 0 else _error_line(stderr, proc.returncode)
    log = Path(out).parent / f"{name}.log"
    try:
        text = f"$ {' '.join(command)}\n{stdout}{stderr}"
        log.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        if not error:
            error = f"cannot write {log} on {where['host']}: {exc.strerror or exc}"
            return SiteRun(name, Path(data), Path(out), 1, error, seconds, **where)
    return SiteRun(name, Path(data), Path(out), proc.returncode, error, seconds, **where)


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread; the builds running here then get
    SIGINT (as from Ctrl-C in a terminal), so that each puts its previous build back and releases its
    lock, and up to :data:`STOP_TIMEOUT` seconds to exit. (Builds already running on Dask workers run on.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        with _running_lock:
            procs = list(_running)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass  # the command's own handler stops whatever is left
        raise
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def _seen_here(site: SiteRun) -> SiteRun:
    """A build that succeeded on a worker whose results.json this machine cannot see counts as failed."""
    if site.ok and not (site.out / "results.json").is_file():
        return replace(site, returncode=1, error=f"the build succeeded on {site.host}, but {site.out / 'results.json'} "
                       "is not on this machine; the workers must see the same filesystem at the same paths")
    return site


def _results(site: SiteRun) -> dict[str, Any] | None:
    """The site's results.json, read only when its build succeeded (a failed build may leave an older one)."""
    if not site.ok:
        return None
    return json.loads((site.out / "results.json").read_text(encoding="utf-8"))


def compared_ids(results: Sequence[dict[str, Any]], patterns: Sequence[str] = COMPARED) -> list[str]:
    """The ids of any site's results that match ``patterns``, ordered by pattern, then by id."""
    compiled = [re.compile(p) for p in patterns]
    ids = {key for r in results for key in r if key != "_meta"}
    ordered: list[str] = []
    for pattern in compiled:
        ordered += sorted(i for i in ids if pattern.fullmatch(i) and i not in ordered)
    return ordered


def comparison_table(sites: Sequence[SiteRun], patterns: Sequence[str] = COMPARED):
    """One row per compared result id (plus ``status`` and ``dataset``), one column per site.

    A cell holds the site's value as its ``results.json`` has it; :data:`WITHHELD` where the site's
    disclosure control withheld it (the id is in ``_meta.suppressed``); empty where the site has no
    value (not computed on its data, or its build failed).
    """
    import pandas as pd

    loaded = {site.name: _results(site) for site in sites}
    ids = compared_ids([r for r in loaded.values() if r is not None], patterns)
    columns: dict[str, list[Any]] = {}
    for site in sites:
        results = loaded[site.name]
        cells: list[Any] = [site.status, str(site.data)]
        suppressed = (results or {}).get("_meta", {}).get("suppressed", {})
        for key in ids:
            if results is None:
                cells.append("")
            elif key in suppressed:
                cells.append(WITHHELD)
            else:
                value = results.get(key)
                cells.append("" if value is None else value)
        columns[site.name] = cells
    table = pd.DataFrame(columns, index=pd.Index([STATUS_ROW, DATASET_ROW, *ids], name="result"), dtype=object)
    return table


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def comparison_markdown(table, *, params: Path | None = None) -> str:
    """The table as a Markdown page (numbers to 4 significant digits; ``n/a`` for an empty cell)."""
    sites = list(table.columns)
    lines = [
        f"# Comparison of {len(sites)} site{'s' if len(sites) != 1 else ''}",
        "",
        "Written by `veiligverder sites`: one column per site, read from `<site>/results.json` of the "
        "site's own build" + (f" (parameters: `{params}`)" if params else " (default parameters)") + ".",
        f"`{WITHHELD}`: the site's disclosure control withheld the number (`_meta.suppressed` of its "
        "results.json); it is not estimated here. `n/a`: the site has no such number (not computed on its "
        "data, or its build failed: see the `status` row and `<site>.log`).",
        "",
        "| result | " + " | ".join(_cell(s) for s in sites) + " |",
        "| --- |" + " ---: |" * len(sites),
    ]
    for key, row in table.iterrows():
        cells = [_cell(v) if v != "" else "n/a" for v in row]
        lines.append(f"| {_cell(key)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _prepare_out(out: str | Path) -> Path:
    path = Path(out).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path} is a file, not a folder; give a folder (it is created when absent)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {path}: cannot create the folder ({exc.strerror or exc}); "
                          "give a folder you can write to") from None
    return path.resolve()


def run_sites(data_dirs: Sequence[str | Path], out: str | Path, *, params_file: str | Path | None = None,
              scheduler: str | None = None, jobs: int | None = None,
              log: Callable[[str], None] = print) -> SitesResult:
    """Build every dataset folder into ``out/<folder name>/`` and write the comparison table.

    Parameters
    ----------
    data_dirs : sequence of paths
        One contract dataset folder per site; the folder's name names the site.
    out : path
        Output folder: ``<name>/`` (each site's build), ``<name>.log``, ``comparison.csv`` and ``.md``.
    params_file : path, optional
        Build parameters (YAML) for every site; checked here first.
    scheduler : str, optional
        Address of a Dask scheduler: the builds run on its workers (which must share the filesystem).
        None: on this machine.
    jobs : int, optional
        Without a scheduler: builds at a time (default 1); each gets its share of the cores for its
        chapters. With a scheduler the cluster decides (one build per worker thread).

    Raises
    ------
    OutputError, ParameterError, SchedulerError
        Before any build starts: a dataset folder, the output folder, the parameters or the scheduler
        cannot be used. A failing build raises nothing: see :attr:`SitesResult.failed`.
    """
    from joblib import Parallel, delayed

    from veiligverder.stats.scaleout import describe, parallel_backend

    sites = site_folders(data_dirs)
    root = _prepare_out(out)
    for data in sites.values():
        if root == data or data in root.parents:
            raise OutputError(f"--out {root} lies inside the dataset folder {data}; give a folder outside it")
    params = None
    if params_file is not None:
        params = Path(params_file).expanduser().absolute()
        if load_params(params).scheduler is not None and scheduler is not None:
            raise ParameterError(f"{params}: scheduler is set and --scheduler too; the site builds already run "
                                 "on the cluster's workers, so leave scheduler out of the parameters file")
    cwd = os.getcwd()
    if scheduler is None:
        n_jobs = min(jobs or 1, len(sites))
        chapter_jobs = max(1, len(os.sched_getaffinity(0)) // n_jobs) if n_jobs > 1 else None
    else:
        n_jobs, chapter_jobs = -1, None  # the Dask backend uses every worker thread
    tasks = [delayed(build_site)(name, str(data), str(root / name), None if params is None else str(params),
                                 chapter_jobs, cwd) for name, data in sites.items()]
    with _interruptible(), parallel_backend(scheduler) as client:
        where = "local processes" if client is None else f"the Dask cluster at {scheduler} ({describe(client)})"
        log(f"veiligverder sites: {len(sites)} dataset(s) into {root}, on {where}")
        runs: list[SiteRun] = []
        # threads: each task only waits for its build's process (with a scheduler: runs on the workers)
        for run in Parallel(n_jobs=n_jobs, batch_size=1, prefer="threads", return_as="generator")(tasks):
            runs.append(run)
            log(f"  {run.name}: {run.status} ({run.seconds:.0f} s on {run.host})")
    runs = [_seen_here(run) for run in runs]
    table = comparison_table(runs)
    csv, markdown = root / TABLE_CSV, root / TABLE_MD
    _write_atomic(csv, table.to_csv(lineterminator="\n"))
    _write_atomic(markdown, comparison_markdown(table, params=params))
    return SitesResult(root, runs, table, csv, markdown, where)
