"""The output folder: one build at a time (flock), staged runs, journaled publishing, interrupts.

See :mod:`veiligverder.pipeline` for the layout of the folder and the guarantees."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from veiligverder import paths
from veiligverder.report.results import FRAGMENTS, write_json_atomic
from veiligverder.pipeline.errors import OutputError, OutputInUse


WORK = ".work"


CACHE = ".cache"
STUDY = "study"  # OUT/.cache/study: the study cache of stage 0 (see veiligverder.analysis.store)


RUN = ".run"


LOCK = ".lock"


JOURNAL = ".publish.json"


PREVIOUS = ".previous"


PUBLISHED_RUN = "published-run"


BOOK_KEY = ".book.key"


OUTPUTS = ("notebooks", "results.json", "html")


SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
        _LOCK_FD = fd  # a forked child closes its copy (_worker_init): a killed build frees the lock at once
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


def _resource_tracker_pid() -> int | None:
    """The pid of multiprocessing's resource tracker (started with the spawned pool). It is spared:
    it holds nothing of the build, exits when this process does, and killing it first makes this
    process print tracebacks while its pool's semaphores are released."""
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


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
                return [p for p in psutil.Process().children(recursive=True) if p.pid != _resource_tracker_pid()]
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
