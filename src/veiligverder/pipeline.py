"""Run the chapter notebooks with papermill and build the book with Jupyter Book 1.x.

Order of work in :func:`build`:

1. validate the parameters, resolve the dataset (generate the synthetic twin when the default is
   absent) and load it once, so that bad data fail before any notebook starts;
2. convert each chapter's MyST text notebook to .ipynb and execute it with papermill (absolute
   paths, explicit kernel), stage by stage, the chapters of a stage in parallel; a chapter whose
   notebook text, parameters, dataset hash, package source and upstream results are unchanged is
   taken from the cache instead;
3. merge the chapters' result fragments into ``results.json`` with ``_meta``;
4. stage the book sources and executed notebooks and run ``jupyter-book build`` with execution off
   and ``-n -W --keep-going``, so that any Sphinx warning fails the build.

Every output is written to a temporary path and moved into place when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from veiligverder import __version__, paths
from veiligverder.params import Params
from veiligverder.report.results import FRAGMENTS, load_fragments, write_json_atomic

KERNEL = "python3"
WORK = ".work"
CACHE = ".cache"


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
# the build


def resolve_dataset(data_dir: str | Path | None, *, seed: int) -> Path:
    """The dataset folder to use; the default synthetic twin is generated when absent."""
    if data_dir is not None:
        path = Path(data_dir).resolve()
        if not path.is_dir():
            raise BuildError(f"--data {path}: no such dataset folder")
        return path
    path = paths.SYNTHETIC_DATA_DIR
    if not (path / "SYNTHETIC").exists():
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


def run_chapters(
    chapters: tuple[Chapter, ...],
    *,
    base_params: dict[str, Any],
    out_dir: Path,
    dataset_hash: str,
    jobs: int,
    log: Callable[[str], None],
) -> list[ChapterRun]:
    """Execute (or take from the cache) every chapter, stage by stage; parallel within a stage."""
    nb_dir = out_dir / "notebooks"
    cache_dir = out_dir / CACHE
    tmp_dir = out_dir / WORK / "executing"
    for d in (nb_dir, cache_dir, tmp_dir):
        d.mkdir(parents=True, exist_ok=True)
    source_hash = package_source_hash()
    runs: list[ChapterRun] = []
    timings_path = out_dir / WORK / "timings.json"
    timings: dict[str, float] = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    for stage in sorted({c.stage for c in chapters}):
        # a chapter depends on the results of the earlier stages only (not on its own last run)
        earlier = [c.name for c in chapters if c.stage < stage]
        upstream = json.dumps(load_fragments(out_dir, earlier), sort_keys=True)
        todo = []
        for chapter in (c for c in chapters if c.stage == stage):
            params = chapter_parameters(chapter, base_params)
            key = _chapter_key(chapter, params, dataset_hash, source_hash, upstream)
            key_file = cache_dir / f"{chapter.name}.key"
            done = nb_dir / f"{chapter.name}.ipynb"
            if key_file.exists() and key_file.read_text() == key and done.exists():
                runs.append(ChapterRun(chapter.name, timings.get(chapter.name, 0.0), cached=True))
                log(f"  {chapter.name}: unchanged, taken from the cache")
                continue
            key_file.unlink(missing_ok=True)
            todo.append((chapter, params, key, key_file, done))
        if not todo:
            continue
        failures: list[str] = []
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
            futures = {
                pool.submit(
                    _execute,
                    chapter.name,
                    str(chapter.source),
                    str(tmp_dir / f"{chapter.name}.ipynb"),
                    params,
                    str(tmp_dir),
                ): (chapter, key, key_file, done)
                for chapter, params, key, key_file, done in todo
            }
            for future, (chapter, key, key_file, done) in futures.items():
                try:
                    seconds = future.result()
                except BuildError as exc:
                    failures.append(str(exc))
                    # nothing of a failed chapter may look complete: no executed notebook, no results
                    for stale in (tmp_dir / f"{chapter.name}.ipynb", done, out_dir / FRAGMENTS / f"{chapter.name}.json"):
                        stale.unlink(missing_ok=True)
                    continue
                os.replace(tmp_dir / f"{chapter.name}.ipynb", done)
                key_file.write_text(key)
                timings[chapter.name] = round(seconds, 2)
                runs.append(ChapterRun(chapter.name, seconds, cached=False))
                log(f"  {chapter.name}: executed in {seconds:.1f} s")
        write_json_atomic(timings_path, timings)
        if failures:
            raise BuildError("the build failed:\n" + "\n".join(f"  - {f}" for f in failures))
    return runs


def stage_book(out_dir: Path) -> Path:
    """Copy the book sources and executed notebooks into ``OUT/.stage`` (only changed files)."""
    stage = out_dir / ".stage"
    stage.mkdir(parents=True, exist_ok=True)
    wanted: dict[Path, bytes] = {stage / "_config.yml": paths.BOOK_CONFIG.read_bytes()}
    for src in paths.BOOK_DIR.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            wanted[stage / src.relative_to(paths.BOOK_DIR)] = src.read_bytes()
    for src in (out_dir / "notebooks").glob("*.ipynb"):
        wanted[stage / src.name] = src.read_bytes()
    for dest, data in wanted.items():
        write_if_changed(dest, data)
    for old in stage.rglob("*"):
        if old.is_file() and old not in wanted:
            old.unlink()
    return stage


def build_html(out_dir: Path, *, log: Callable[[str], None]) -> Path:
    """Run Jupyter Book on the staged sources; any Sphinx warning fails the build."""
    stage = stage_book(out_dir)
    jb_out = out_dir / ".jb"
    stamp = sha256_bytes(*(p.read_bytes() + str(p).encode() for p in sorted(stage.rglob("*")) if p.is_file()))
    html = out_dir / "html"
    stamp_file = out_dir / CACHE / "book.key"
    if html.joinpath("index.html").exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        log("  book: sources unchanged, HTML kept")
        return html / "index.html"
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(stage), "--path-output", str(jb_out), "--builder", "html", "-n", "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        stamp_file.unlink(missing_ok=True)
        raise BuildError(f"jupyter-book build failed (warnings count as errors):\n{tail}")
    tmp = out_dir / ".html.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(jb_out / "_build" / "html", tmp)
    old = out_dir / ".html.old"
    shutil.rmtree(old, ignore_errors=True)
    if html.exists():
        os.replace(html, old)
    os.replace(tmp, html)
    shutil.rmtree(old, ignore_errors=True)
    stamp_file.write_text(stamp)
    return html / "index.html"


def build(
    *,
    data_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    params: Params | None = None,
    book: bool = True,
    jobs: int | None = None,
    chapters: tuple[Chapter, ...] = CHAPTERS,
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
    """
    from veiligverder.data import load_dataset

    params = params or Params()
    out = Path(out_dir or paths.DEFAULT_OUT_DIR).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = resolve_dataset(data_dir, seed=params.seed)
    dataset = load_dataset(data)  # fails here, with the validation report, on bad data
    jobs = jobs or len(os.sched_getaffinity(0))
    base = {"data_dir": str(data), "out_dir": str(out), **params.as_dict()}
    log(f"veiligverder {__version__}: dataset {data} ({'synthetic' if dataset.meta.synthetic else 'real'} data)")
    runs = run_chapters(chapters, base_params=base, out_dir=out, dataset_hash=dataset.meta.content_hash, jobs=jobs, log=log)
    results = load_fragments(out)
    results["_meta"] = {
        "dataset_path": str(data),
        "dataset_hash": dataset.meta.content_hash,
        "synthetic": dataset.meta.synthetic,
        "parameters": params.as_dict(),
        "package_version": __version__,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results_path = out / "results.json"
    write_json_atomic(results_path, results)
    html_index = build_html(out, log=log) if book else None
    return BuildResult(out, results_path, html_index, runs)
