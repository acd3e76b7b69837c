"""Run the chapter notebooks with papermill and build the book with Jupyter Book 1.x.

Order of work in :func:`build`:

1. check the output folder, take its lock, validate the parameters, resolve the dataset (generate
   the synthetic twin when the default is absent); stage 0 loads, validates and scores it once into
   the study cache ``OUT/.cache/study/`` (:mod:`veiligverder.analysis.store`), which every chapter
   opens (parameter ``study_cache``), so that bad data fail before any notebook starts;
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
                      <chapter>.json (the latest run of each chapter); timings.json; study/, the
                      study cache (owner-only; removed when a build of non-synthetic data ends)
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

from veiligverder.pipeline.build import build, resolve_dataset
from veiligverder.pipeline.chapters import CHAPTERS, KERNEL, Chapter, chapter_parameters, notebook_parameters
from veiligverder.pipeline.errors import BuildError, BuildInterrupted, BuildResult, ChapterRun, OutputError, OutputInUse
from veiligverder.pipeline.folder import (JOURNAL, PREVIOUS, RUN, WORK, _apply_publish, output_lock, prepare_out,
                                          publish, published_fragments, recover, stop_children)

__all__ = ["CHAPTERS", "JOURNAL", "KERNEL", "PREVIOUS", "RUN", "WORK", "BuildError", "BuildInterrupted", "BuildResult",
           "Chapter", "ChapterRun", "OutputError", "OutputInUse", "build", "chapter_parameters", "notebook_parameters",
           "output_lock", "prepare_out", "publish", "published_fragments", "recover", "resolve_dataset",
           "stop_children"]
