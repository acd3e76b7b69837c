"""The build: resolve the dataset, validate it, run the chapters, write results.json, build and publish."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from veiligverder import __version__, paths
from veiligverder.analysis.store import discard, prune, read_meta, study_key
from veiligverder.params import Params
from veiligverder.report.results import load_fragments, load_suppressed, write_json_atomic
from veiligverder.pipeline.errors import BuildError, BuildInterrupted, BuildResult, OutputError
from veiligverder.pipeline import chapters as book_chapters
from veiligverder.pipeline.chapters import Chapter
from veiligverder.pipeline.folder import CACHE, STUDY, WORK, _fresh_run, _restore_published_run, _stop_on_signals, output_lock, prepare_out, publish, recover
from veiligverder.pipeline.execute import pool_size, run_chapters, start_pool, stop_pool
from veiligverder.pipeline.book import _published_stamp, book_stamp, build_html


def resolve_dataset(data_dir: str | Path | None, *, generate: bool = True) -> Path:
    """The dataset folder to use; the default synthetic twin is generated when absent (``generate``).

    The embedded twin is fixed data: it is always the generator's output for
    :data:`veiligverder.vocab.DEFAULT_SEED`, whatever the build's ``seed`` parameter (which seeds
    the analyses' random draws: matching and power simulations). ``veiligverder synth --seed N``
    writes another twin, to be built with ``--data``.
    """
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
        The chapters to run; default :data:`veiligverder.pipeline.chapters.CHAPTERS`.

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
    chapters = chapters or book_chapters.CHAPTERS  # read at call time (tests swap in their own chapters)
    data = resolve_dataset(data_dir, generate=False)
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


def load_stage0(data: Path, params: Params, cache: Path, log: Callable[[str], None]) -> None:
    """Stage 0: load, validate and score the dataset once into the study cache ``cache``, which
    every chapter opens (parameter ``study_cache``). Bad data raise
    :class:`~veiligverder.data.DataValidationError` here, before any chapter runs."""
    import time

    from veiligverder.analysis.study import load_study

    start = time.perf_counter()
    load_study(data, cache=cache, keys_dir=params.keys_dir, cumulation_threshold=params.cumulation_threshold,
               rematch=params.rematch, seed=params.seed)
    log(f"  stage 0: dataset loaded, validated and scored in {time.perf_counter() - start:.1f} s")


def _build_locked(out: Path, data: Path, params: Params, book: bool, jobs: int | None,
                  chapters: tuple[Chapter, ...], log: Callable[[str], None], state: dict[str, bool]) -> BuildResult:
    """:func:`build` once the output folder is locked and repaired.

    Stage 0 runs when a chapter has to be executed and the study cache lacks the entry, or when the
    dataset is new (its hash unknown): a build where nothing changed loads nothing. A new dataset
    means that chapters will run: their workers are started first, and their kernels start and run
    the chapters' imports (:func:`~veiligverder.pipeline.chapters.warm_code`) while stage 0 runs
    (:func:`~veiligverder.pipeline.execute.start_pool`).
    """
    if data == paths.SYNTHETIC_DATA_DIR:
        resolve_dataset(None)  # generates the twin when absent
    jobs = jobs or len(os.sched_getaffinity(0))
    run = _fresh_run(out)
    cache = out / CACHE / STUDY
    entry = cache / study_key(data, keys_dir=params.keys_dir, cumulation_threshold=params.cumulation_threshold,
                              rematch=params.rematch, seed=params.seed)

    def ensure_study() -> None:
        if not (entry / "study.json").exists():
            load_stage0(data, params, cache, log)
            prune(cache, keep=entry.name)

    meta = read_meta(entry)
    pool = None  # run_chapters stops it; until then, this function does on failure
    try:
        if meta is None:  # a dataset (or setting) this OUT has not seen: fails here on bad data
            warm = book_chapters.warm_code(chapters)
            if warm is not None:
                pool = start_pool(pool_size(chapters, jobs), out / WORK / "executing", warm=warm)
            ensure_study()
            meta = read_meta(entry)
        base = {"data_dir": str(data), "out_dir": str(run), **params.as_dict(), "study_cache": str(cache)}
        log(f"veiligverder {__version__}: dataset {data} ({'synthetic' if meta['synthetic'] else 'real'} data)")
    except BaseException:
        if pool is not None:
            stop_pool(pool)
        raise
    try:
        runs = run_chapters(chapters, base_params=base, out_dir=out, dataset_hash=meta["content_hash"],
                            jobs=jobs, log=log, run_dir=run, prepare=ensure_study, pool=pool)
    except BuildError:
        publish(out, {"notebooks": "new", "results.json": "drop", "html": "drop"}, state)
        raise
    finally:
        if not meta["synthetic"]:  # row-level answers of real data do not stay in OUT
            discard(cache)
    results = load_fragments(run)
    results["_meta"] = {
        "dataset_path": str(data),
        "dataset_hash": meta["content_hash"],
        "synthetic": meta["synthetic"],
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
