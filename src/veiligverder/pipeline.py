"""Run the chapter notebooks with papermill and build the book with Jupyter Book 1.x.

Order of work in :func:`build`:

1. check the output folder, take its lock, validate the parameters, resolve the dataset (generate
   the synthetic twin when the default is absent) and load it once, so that bad data fail before
   any notebook starts;
2. convert each chapter's MyST text notebook to .ipynb and execute it with papermill (absolute
   paths, explicit kernel), stage by stage, the chapters of a stage in parallel; a chapter whose
   notebook text, parameters, dataset hash, package source and upstream results are unchanged is
   taken from the cache instead;
3. merge the chapters' result fragments into ``results.json`` with ``_meta`` (including
   ``_meta.suppressed``: the ids the disclosure gate withheld, with their rule);
4. stage the book sources and executed notebooks and run ``jupyter-book build`` with execution off
   and ``-n -W --keep-going``, so that any Sphinx warning fails the build;
5. publish: replace ``notebooks/``, ``results.json`` and ``html/`` of OUT in one step.

The output folder
-----------------
::

    OUT/notebooks/ results.json html/   the published build (the contract)
    OUT/.lock         the lock: flock'ed for the whole build; pid, start time and dataset written in it
    OUT/.run/         the new build, staged: notebooks/, results.json, html/; it is the ``out_dir``
                      the notebooks receive, so chapters write their fragments to .run/.work/fragments/
                      and the provenance page reads .run/.work/timings.json. After publishing, only
                      .run/.work/ remains: the published build's fragments, so that a published
                      notebook executed again (nbval) reads the same results
    OUT/.cache/       chapter cache: <chapter>.key, the executed <chapter>.ipynb and its fragment
                      <chapter>.json (the latest run of each chapter); timings.json
    OUT/.work/        scratch: executing/ (papermill's working folder), workers.log (what the
                      worker processes and their kernels print) and, while a build runs,
                      published-run/ (the published build's .run/.work, put back if the build stops)
    OUT/.stage/ .jb/  Jupyter Book's sources and its incremental output
    OUT/.publish.json, OUT/.previous/   exist only while publishing

**One build at a time.** ``fcntl.flock`` (exclusive, non-blocking) on ``OUT/.lock``, held from the
start of the build to its end: a second build into the same OUT stops at once with
:class:`OutputInUse`, naming the running build. The operating system releases the lock when the
process ends however it ends, so a crashed build never blocks the next one.

**Never mixed, never half-written.** Until its last step a build writes nothing into the published
entries. Publishing first writes a journal (``OUT/.publish.json``: per entry ``new``, ``drop`` or
``keep``), then, with SIGINT and SIGTERM held back, moves the old entries to ``OUT/.previous/`` and
the staged ones into place (``os.replace``, a few milliseconds) and deletes the journal. A build
that finds a journal at its start (a process killed in those milliseconds) completes that publish
first; the staged entries are complete, since the journal is written after them. So an interrupted
build leaves the previous build; an interrupt during publishing is held until it is done and leaves
the new build. A failed chapter publishes what the build did complete: the notebooks of the
chapters that succeeded, without ``results.json`` and ``html/``, so nothing looks complete and
nothing of an earlier build stays next to it. A ``--no-book`` build keeps ``html/`` only when the
book sources are those it was built from (their hash is ``html/.book.key``); otherwise it removes it.

**Interrupts.** SIGINT and SIGTERM become :class:`BuildInterrupted` in the main process. Worker
processes ignore SIGINT (no traceback from each of them); the main process freezes and kills every
process it started (workers, papermill kernels, which run in sessions of their own, Jupyter Book)
before it puts the published build's fragments back and releases the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from veiligverder import __version__, paths
from veiligverder.params import Params
from veiligverder.report.results import FRAGMENTS, load_fragments, load_suppressed, write_json_atomic

KERNEL = "python3"
WORK = ".work"
CACHE = ".cache"
RUN = ".run"
LOCK = ".lock"
JOURNAL = ".publish.json"
PREVIOUS = ".previous"
PUBLISHED_RUN = "published-run"
BOOK_KEY = ".book.key"
OUTPUTS = ("notebooks", "results.json", "html")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook and the stage it runs in (later stages read earlier stages' results)."""

    name: str
    stage: int = 1

    @property
    def source(self) -> Path:
        return paths.NOTEBOOKS_DIR / f"{self.name}.md"


# The book's computed pages. Stage 2 summarises stage 1; stage 3 reports on the whole run.
CHAPTERS: tuple[Chapter, ...] = (
    Chapter("ch3_methods"),
    Chapter("ch4_experiences"),
    Chapter("ch5_1_participants"),
    Chapter("ch5_2_violence"),
    Chapter("ch5_3_trauma"),
    Chapter("ch5_4_wellbeing"),
    Chapter("ch5_5_risk_factors"),
    Chapter("ch5_6_help"),
    Chapter("power"),
    Chapter("sensitivity"),
    Chapter("appendix_contract"),
    Chapter("index", stage=2),
    Chapter("ch6_conclusion", stage=2),
    Chapter("appendix_scorecard", stage=2),
    Chapter("appendix_provenance", stage=3),
)


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


# --------------------------------------------------------------------------------------------
# hashing and small file helpers


def sha256_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def package_source_hash() -> str:
    """Hash of every file of the installed package source (code, specs, keys)."""
    h = hashlib.sha256()
    for path in sorted(paths.PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(paths.PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write bytes only when they differ (keeps mtimes, so Sphinx rebuilds only what changed)."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


# --------------------------------------------------------------------------------------------
# notebooks


def notebook_parameters(chapter: Chapter) -> dict[str, Any]:
    """Names and defaults declared in the chapter's ``parameters`` cell."""
    import jupytext
    import papermill as pm

    nb = jupytext.read(chapter.source)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{chapter.name}.ipynb"
        jupytext.write(nb, path, fmt="ipynb")
        declared = pm.inspect_notebook(str(path))
    return {name: spec.get("default") for name, spec in declared.items()}


def chapter_parameters(chapter: Chapter, base: dict[str, Any]) -> dict[str, Any]:
    """The subset of the build parameters that this chapter declares."""
    declared = notebook_parameters(chapter)
    missing = {"data_dir", "out_dir", "follow_up_rule", "seed"} - set(declared)
    if missing:
        raise BuildError(f"{chapter.source}: the parameters cell lacks {sorted(missing)}")
    return {k: v for k, v in base.items() if k in declared}


def _hide_injected_parameters(path: str) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell``: the book shows no paths or settings
    as code (the provenance appendix lists the parameters)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def _execute(name: str, source: str, executed: str, parameters: dict[str, Any], cwd: str) -> float:
    """Worker: convert one MyST notebook and execute it with papermill; returns seconds."""
    import jupytext
    import papermill as pm

    start = time.perf_counter()
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    work_in = Path(executed).with_suffix(".input.ipynb")
    jupytext.write(nb, work_in, fmt="ipynb")
    try:
        pm.execute_notebook(
            str(work_in),
            executed,
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=cwd,
            progress_bar=False,
            log_output=False,
        )
        _hide_injected_parameters(executed)
    except pm.PapermillExecutionError as exc:
        raise BuildError(
            f"chapter {name!r} failed in cell {exc.exec_count} (cell index {exc.cell_index}): "
            f"{exc.ename}: {exc.evalue}"
        ) from None
    finally:
        work_in.unlink(missing_ok=True)
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# the output folder: checks, lock, signals, child processes


def prepare_out(out_dir: str | Path | None, data: Path | None = None) -> Path:
    """The absolute output folder, created when absent; a file, a path under a file, a folder that
    cannot be written or one that is not a build's (see :func:`check_out_is_a_build_folder`, when
    ``data`` is given) is an :class:`OutputError` naming it."""
    out = Path(out_dir or paths.DEFAULT_OUT_DIR).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder (it is created when absent)")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"--out {out}: {parent} is a file, not a folder; give a folder path")
            break
    if data is not None:
        check_out_is_a_build_folder(out.resolve(), data)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the folder ({exc.strerror}); give a folder you can write to") from None
    out = out.resolve()
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: the folder is not writable; give a folder you can write to")
    return out


def check_out_is_a_build_folder(out: Path, data: Path) -> None:
    """Refuse an OUT whose ``notebooks/``, ``results.json`` or ``html/`` a build did not write (a
    project folder, say): publishing replaces them whole. Refuse the dataset folder, too."""
    data = data.resolve()
    if out == data or out in data.parents and any(out / name in data.parents for name in OUTPUTS):
        raise OutputError(f"--out {out} holds the dataset {data}; give a separate output folder")
    if data in out.parents:
        raise OutputError(f"--out {out} lies inside the dataset folder {data}; give a folder outside it")
    if any((out / marker).exists() for marker in (LOCK, CACHE)):
        return  # written by a build
    foreign = [name for name in OUTPUTS if (out / name).exists()]
    if foreign:
        raise OutputError(
            f"--out {out} already holds {', '.join(foreign)} that no build wrote, and a build replaces them; "
            "give an empty or new folder"
        )


def _read_lock_holder(fd: int) -> str:
    """The running build as written in the lock file (retried briefly: it may be writing it now)."""
    for _ in range(20):
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        try:
            info = json.loads(text)
            return f"pid {info['pid']}, started {info['started']}, dataset {info['dataset']}"
        except (ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "pid unknown"


@contextlib.contextmanager
def output_lock(out: Path, dataset: Path | str) -> Iterator[None]:
    """Hold the lock on ``out`` (``OUT/.lock``) for the duration; :class:`OutputInUse` when taken."""
    path = out / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write there ({exc.strerror}); give a folder you can write to") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputInUse(
                f"--out {out} is in use by another build ({_read_lock_holder(fd)}); "
                "wait for it to finish or choose another --out"
            ) from None
        global _LOCK_FD
        _LOCK_FD = fd  # forked workers close their copy (_worker_init): a killed build frees the lock at once
        info = {"pid": os.getpid(), "started": datetime.now().astimezone().isoformat(timespec="seconds"),
                "dataset": str(dataset)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        _LOCK_FD = None
        os.close(fd)  # releases the lock


_LOCK_FD: int | None = None  # the open lock file of the running build, if any


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt (once; repeats are ignored while cleaning up)."""
    if not _in_main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a critical step; they are delivered right after it."""
    if not _in_main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_init(log: str) -> None:
    """Pool workers leave interrupts to the main process, which kills them and their kernels; their
    output and their kernels' (start-up warnings) goes to ``log``, not to the user's terminal."""
    if _LOCK_FD is not None:  # a forked copy of the lock's descriptor would keep the lock after the build dies
        try:
            os.close(_LOCK_FD)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def stop_children(roots: list[int] | None = None, timeout: float = 3.0) -> None:
    """Kill the processes ``roots`` (default: every process this one started) with all their
    descendants. Papermill kernels run in sessions of their own, so a signal to the process group
    does not reach them; each process is frozen first, so that none starts another meanwhile."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return
    found: dict[int, Any] = {}

    def tree() -> list[Any]:
        if roots is None:
            with contextlib.suppress(psutil.Error):
                return psutil.Process().children(recursive=True)
            return []
        procs = []
        for pid in roots:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                procs += [proc, *proc.children(recursive=True)]
        return procs

    for _ in range(10):
        new = [p for p in tree() if p.pid not in found]
        if not new:
            break
        for proc in new:
            found[proc.pid] = proc
            with contextlib.suppress(psutil.Error):
                proc.suspend()
    for proc in found.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()

    def alive(proc: Any) -> bool:  # a zombie is dead; reaping it is its parent's (or init's) business
        try:
            return proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    pending, deadline = list(found.values()), time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [proc for proc in pending if alive(proc)]
        if pending:
            time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# publishing


def _move_aside(out: Path, name: str) -> None:
    """Move ``OUT/name`` into ``OUT/.previous/`` (when present)."""
    current = out / name
    if not (current.exists() or current.is_symlink()):
        return
    previous = out / PREVIOUS
    previous.mkdir(exist_ok=True)
    target = previous / name
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    os.replace(current, target)


def _apply_publish(out: Path, plan: dict[str, str]) -> None:
    """Carry out a publish plan; idempotent, so that an interrupted publish can be completed."""
    run = out / RUN
    for name, action in plan.items():
        staged = run / name
        if action == "keep" or (action == "new" and not staged.exists()):
            continue  # kept, or already moved into place
        _move_aside(out, name)
        if action == "new":
            os.replace(staged, out / name)
    shutil.rmtree(out / WORK / PUBLISHED_RUN, ignore_errors=True)
    (out / JOURNAL).unlink(missing_ok=True)


def publish(out: Path, plan: dict[str, str], state: dict[str, bool] | None = None) -> None:
    """Replace OUT's ``notebooks/``, ``results.json`` and ``html/`` by the staged ones in one step.

    ``plan`` maps each of them to ``new`` (take the staged entry), ``drop`` (remove it) or ``keep``;
    ``state["published"]`` is set inside the step (before a held-back interrupt is delivered).
    """
    assert set(plan) == set(OUTPUTS) and set(plan.values()) <= {"new", "drop", "keep"}, plan
    write_json_atomic(out / JOURNAL, {"plan": plan})
    with _signals_held():
        _apply_publish(out, plan)
        if state is not None:
            state["published"] = True
    shutil.rmtree(out / PREVIOUS, ignore_errors=True)


def recover(out: Path) -> None:
    """At the start of a build: complete a publish that a killed process left, put the published
    build's fragments back where a stopped build left them aside, remove leftovers."""
    journal = out / JOURNAL
    if journal.exists():
        try:
            plan = json.loads(journal.read_text(encoding="utf-8"))["plan"]
        except (OSError, ValueError, KeyError):
            plan = None
        if isinstance(plan, dict) and set(plan) == set(OUTPUTS):
            _apply_publish(out, plan)
        journal.unlink(missing_ok=True)
    shutil.rmtree(out / PREVIOUS, ignore_errors=True)
    _restore_published_run(out)
    for old in (".html.tmp", ".html.old"):  # left by earlier versions
        shutil.rmtree(out / old, ignore_errors=True)


def _restore_published_run(out: Path) -> None:
    """Put the published build's ``.run/.work`` back (a build that stopped before publishing)."""
    kept = out / WORK / PUBLISHED_RUN
    run = out / RUN
    for name in OUTPUTS:
        staged = run / name
        if staged.is_dir():
            shutil.rmtree(staged, ignore_errors=True)
        else:
            staged.unlink(missing_ok=True)
    if kept.exists():
        shutil.rmtree(run / WORK, ignore_errors=True)
        run.mkdir(parents=True, exist_ok=True)
        os.replace(kept, run / WORK)


def _fresh_run(out: Path) -> Path:
    """An empty ``OUT/.run`` for the new build; the published build's ``.run/.work`` is kept aside."""
    work = out / WORK
    kept = work / PUBLISHED_RUN
    for entry in list(work.iterdir()) if work.is_dir() else []:
        if entry != kept:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
    (work / "executing").mkdir(parents=True, exist_ok=True)
    run = out / RUN
    if (run / WORK).exists():
        shutil.rmtree(kept, ignore_errors=True)
        os.replace(run / WORK, kept)
    shutil.rmtree(run, ignore_errors=True)
    (run / "notebooks").mkdir(parents=True)
    (run / FRAGMENTS).mkdir(parents=True)
    return run


def published_fragments(out_dir: str | Path) -> Path:
    """Where the fragments of the build published in ``out_dir`` are (``OUT/.run/.work/fragments``)."""
    return Path(out_dir) / RUN / FRAGMENTS


# --------------------------------------------------------------------------------------------
# the build


def resolve_dataset(data_dir: str | Path | None, *, seed: int, generate: bool = True) -> Path:
    """The dataset folder to use; the default synthetic twin is generated when absent (``generate``)."""
    if data_dir is not None:
        path = Path(data_dir).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise OutputError(f"--data {path} is a file; give the dataset folder that holds the table files")
        if not path.is_dir():
            raise OutputError(f"--data {path}: no such dataset folder; give the folder that holds the table files")
        return path
    path = paths.SYNTHETIC_DATA_DIR
    if generate:
        from veiligverder.data import synthetic_proof

        if not synthetic_proof(path)[0]:  # absent, or written by an older generator: write it anew
            from veiligverder.synthetic import write_synthetic

            write_synthetic(path)
    return path


def _chapter_key(chapter: Chapter, params: dict[str, Any], dataset_hash: str, source_hash: str, upstream: str) -> str:
    blob = json.dumps(
        {
            "notebook": chapter.source.read_text(encoding="utf-8"),
            "params": params,
            "dataset": dataset_hash,
            "package": source_hash,
            "upstream": upstream if chapter.stage > 1 else "",
        },
        sort_keys=True,
    )
    return sha256_bytes(blob.encode())


def _copy_file(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def run_chapters(
    chapters: tuple[Chapter, ...],
    *,
    base_params: dict[str, Any],
    out_dir: Path,
    dataset_hash: str,
    jobs: int,
    log: Callable[[str], None],
    run_dir: Path | None = None,
) -> list[ChapterRun]:
    """Execute (or take from the cache) every chapter, stage by stage; parallel within a stage.

    Executed notebooks go to ``run_dir/notebooks`` and fragments to ``run_dir/.work/fragments``
    (``run_dir`` is the notebooks' ``out_dir``; default ``OUT/.run``); the cache is ``OUT/.cache``.
    """
    run = run_dir or out_dir / RUN
    nb_dir = run / "notebooks"
    fragments = run / FRAGMENTS
    cache_dir = out_dir / CACHE
    tmp_dir = out_dir / WORK / "executing"
    for d in (nb_dir, fragments, cache_dir, tmp_dir):
        d.mkdir(parents=True, exist_ok=True)
    source_hash = package_source_hash()
    runs: list[ChapterRun] = []
    timings_path = cache_dir / "timings.json"
    try:
        timings: dict[str, float] = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    except ValueError:
        timings = {}
    for stage in sorted({c.stage for c in chapters}):
        # a chapter depends on the results of the earlier stages only (not on its own last run)
        earlier = [c.name for c in chapters if c.stage < stage]
        upstream = json.dumps(load_fragments(run, earlier), sort_keys=True)
        todo = []
        for chapter in (c for c in chapters if c.stage == stage):
            params = chapter_parameters(chapter, base_params)
            key = _chapter_key(chapter, params, dataset_hash, source_hash, upstream)
            key_file = cache_dir / f"{chapter.name}.key"
            cached_nb, cached_fragment = cache_dir / f"{chapter.name}.ipynb", cache_dir / f"{chapter.name}.json"
            if key_file.exists() and key_file.read_text() == key and cached_nb.exists():
                _copy_file(cached_nb, nb_dir / cached_nb.name)
                if cached_fragment.exists():
                    _copy_file(cached_fragment, fragments / cached_fragment.name)
                runs.append(ChapterRun(chapter.name, timings.get(chapter.name, 0.0), cached=True))
                log(f"  {chapter.name}: unchanged, taken from the cache")
                continue
            key_file.unlink(missing_ok=True)
            todo.append((chapter, params, key))
        if todo:
            failures = _execute_stage(todo, run=run, cache_dir=cache_dir, tmp_dir=tmp_dir, jobs=jobs,
                                      timings=timings, runs=runs, log=log)
            write_json_atomic(timings_path, timings)
            if failures:
                raise BuildError("the build failed:\n" + "\n".join(f"  - {f}" for f in failures))
        write_json_atomic(run / WORK / "timings.json", timings)  # read by the provenance page
    return runs


def _execute_stage(todo: list, *, run: Path, cache_dir: Path, tmp_dir: Path, jobs: int,
                   timings: dict[str, float], runs: list[ChapterRun], log: Callable[[str], None]) -> list[str]:
    """Execute the chapters of one stage in worker processes; returns the failures' messages."""
    failures: list[str] = []
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))), initializer=_worker_init,
                               initargs=(str(tmp_dir.parent / "workers.log"),))
    try:
        with _signals_held():  # workers start with signals held, then ignore SIGINT (see _worker_init)
            futures = {
                pool.submit(_execute, chapter.name, str(chapter.source), str(tmp_dir / f"{chapter.name}.ipynb"),
                            params, str(tmp_dir)): (chapter, key)
                for chapter, params, key in todo
            }
        for future in as_completed(futures):
            chapter, key = futures[future]
            executed = tmp_dir / f"{chapter.name}.ipynb"
            fragment = run / FRAGMENTS / f"{chapter.name}.json"
            try:
                seconds = future.result()
            except BuildError as exc:
                failures.append(str(exc))
                # nothing of a failed chapter may look complete: no executed notebook, no results
                for stale in (executed, fragment):
                    stale.unlink(missing_ok=True)
                continue
            # the cache entry first (its key last), then the staged copy
            os.replace(executed, cache_dir / f"{chapter.name}.ipynb")
            if fragment.exists():
                _copy_file(fragment, cache_dir / f"{chapter.name}.json")
            else:
                (cache_dir / f"{chapter.name}.json").unlink(missing_ok=True)
            tmp_key = cache_dir / f".{chapter.name}.key.tmp"
            tmp_key.write_text(key)
            os.replace(tmp_key, cache_dir / f"{chapter.name}.key")
            _copy_file(cache_dir / f"{chapter.name}.ipynb", run / "notebooks" / f"{chapter.name}.ipynb")
            timings[chapter.name] = round(seconds, 2)
            runs.append(ChapterRun(chapter.name, seconds, cached=False))
            log(f"  {chapter.name}: executed in {seconds:.1f} s")
    except BaseException:
        stop_children(list(pool._processes or {}))  # the workers and their kernels
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return failures


def stage_book(out_dir: Path, notebooks: Path | None = None) -> Path:
    """Copy the book sources and executed notebooks into ``OUT/.stage`` (only changed files)."""
    stage = out_dir / ".stage"
    stage.mkdir(parents=True, exist_ok=True)
    wanted: dict[Path, bytes] = {stage / "_config.yml": paths.BOOK_CONFIG.read_bytes()}
    for src in paths.BOOK_DIR.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            wanted[stage / src.relative_to(paths.BOOK_DIR)] = src.read_bytes()
    for src in (notebooks or out_dir / "notebooks").glob("*.ipynb"):
        wanted[stage / src.name] = src.read_bytes()
    for dest, data in wanted.items():
        write_if_changed(dest, data)
    for old in stage.rglob("*"):
        if old.is_file() and old not in wanted:
            old.unlink()
    return stage


def book_stamp(out_dir: Path, notebooks: Path) -> str:
    """Hash of the staged book sources (what ``html/`` is built from)."""
    stage = stage_book(out_dir, notebooks)
    return sha256_bytes(*(p.read_bytes() + str(p).encode() for p in sorted(stage.rglob("*")) if p.is_file()))


def _published_stamp(out_dir: Path) -> str | None:
    key = out_dir / "html" / BOOK_KEY
    return key.read_text() if key.is_file() and (out_dir / "html" / "index.html").exists() else None


def build_html(out_dir: Path, *, log: Callable[[str], None], run_dir: Path | None = None) -> str:
    """Build the book of the staged notebooks into ``run_dir/html``; any Sphinx warning fails the build.

    Returns ``"keep"`` when the published ``html/`` was built from the same sources (nothing is
    built), else ``"new"``.
    """
    run = run_dir or out_dir / RUN
    stamp = book_stamp(out_dir, run / "notebooks")
    if _published_stamp(out_dir) == stamp:
        log("  book: sources unchanged, HTML kept")
        return "keep"
    jb_out = out_dir / ".jb"
    unfinished = out_dir / CACHE / "jb.unfinished"
    if unfinished.exists():  # a stopped Sphinx run may leave its environment ahead of its output
        shutil.rmtree(jb_out, ignore_errors=True)
    unfinished.parent.mkdir(parents=True, exist_ok=True)
    unfinished.touch()
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(out_dir / ".stage"), "--path-output", str(jb_out), "--builder", "html",
           "-n", "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise BuildError(f"jupyter-book build failed (warnings count as errors):\n{tail}")
    unfinished.unlink()
    html = run / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(jb_out / "_build" / "html", html)
    (html / BOOK_KEY).write_text(stamp)
    return "new"


def build(
    *,
    data_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    params: Params | None = None,
    book: bool = True,
    jobs: int | None = None,
    chapters: tuple[Chapter, ...] | None = None,
    log: Callable[[str], None] = print,
) -> BuildResult:
    """Build everything: executed notebooks, ``results.json`` and (unless ``book=False``) the HTML.

    Parameters
    ----------
    data_dir : path, optional
        A contract dataset folder; default the synthetic twin (generated when absent).
    out_dir : path, optional
        Output folder, default ``_build/`` at the project root.
    params : Params, optional
        Validated build parameters (see :mod:`veiligverder.params`).
    book : bool
        Build the HTML book after the notebooks.
    jobs : int, optional
        Chapters run in parallel; default the number of available cores.
    chapters : tuple of Chapter, optional
        The chapters to run; default :data:`CHAPTERS`.

    Raises
    ------
    OutputError
        ``out_dir`` or ``data_dir`` cannot be used; :class:`OutputInUse` when another build runs in
        ``out_dir``.
    DataValidationError
        The dataset breaks the contract (nothing is executed).
    BuildError
        A chapter or Jupyter Book failed (the chapters that succeeded are published, without
        ``results.json`` and ``html/``).
    BuildInterrupted
        SIGINT or SIGTERM; every child process is stopped and OUT holds the previous build.
    """
    params = params or Params()
    chapters = chapters or CHAPTERS
    data = resolve_dataset(data_dir, seed=params.seed, generate=False)
    out = prepare_out(out_dir, data)
    state = {"published": False}
    with _stop_on_signals():
        try:
            with output_lock(out, data):
                try:
                    recover(out)
                    return _build_locked(out, data, params, book, jobs, chapters, log, state)
                except BaseException:
                    _restore_published_run(out)  # nothing to do once published
                    shutil.rmtree(out / WORK / "executing", ignore_errors=True)
                    (out / WORK / "executing").mkdir(parents=True, exist_ok=True)
                    raise
        except KeyboardInterrupt:
            raise BuildInterrupted(out, state["published"]) from None


def _build_locked(out: Path, data: Path, params: Params, book: bool, jobs: int | None,
                  chapters: tuple[Chapter, ...], log: Callable[[str], None], state: dict[str, bool]) -> BuildResult:
    """:func:`build` once the output folder is locked and repaired."""
    from veiligverder.data import load_dataset

    if data == paths.SYNTHETIC_DATA_DIR:
        resolve_dataset(None, seed=params.seed)  # generates the twin when absent
    dataset = load_dataset(data)  # fails here, with the validation report, on bad data
    jobs = jobs or len(os.sched_getaffinity(0))
    run = _fresh_run(out)
    base = {"data_dir": str(data), "out_dir": str(run), **params.as_dict()}
    log(f"veiligverder {__version__}: dataset {data} ({'synthetic' if dataset.meta.synthetic else 'real'} data)")
    try:
        runs = run_chapters(chapters, base_params=base, out_dir=out, dataset_hash=dataset.meta.content_hash,
                            jobs=jobs, log=log, run_dir=run)
    except BuildError:
        publish(out, {"notebooks": "new", "results.json": "drop", "html": "drop"}, state)
        raise
    results = load_fragments(run)
    results["_meta"] = {
        "dataset_path": str(data),
        "dataset_hash": dataset.meta.content_hash,
        "synthetic": dataset.meta.synthetic,
        "parameters": params.as_dict(),
        "package_version": __version__,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "suppressed": load_suppressed(run),
    }
    write_json_atomic(run / "results.json", results)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(run / "results.json", 0o666 & ~umask)  # readable like every other output
    if book:
        try:
            html = build_html(out, log=log, run_dir=run)
        except BuildError:
            publish(out, {"notebooks": "new", "results.json": "new", "html": "drop"}, state)
            raise
    else:
        published_stamp = _published_stamp(out)
        html = "keep" if published_stamp and published_stamp == book_stamp(out, run / "notebooks") else "drop"
        if html == "drop" and (out / "html").exists():
            log("  book: html/ removed, it was built from other notebooks (build without --no-book to rebuild it)")
    publish(out, {"notebooks": "new", "results.json": "new", "html": html}, state)
    return BuildResult(out, out / "results.json", out / "html" / "index.html" if book else None, runs)
