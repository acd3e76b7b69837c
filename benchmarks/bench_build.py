"""Benchmark: the book build against its floor and against Jupyter Book's own execution, in one run.

Run ``python benchmarks/bench_build.py [--data DIR] [--json FILE]``. In one run, on a copy of the
project's book and notebooks (so that editing a chapter touches nothing of yours), it times

1. ``clean_build_s``: ``veiligverder build`` into an empty output folder (stage 0 loads and scores
   the dataset once into the study cache; chapters run in worker processes with one long-lived
   kernel each; then Jupyter Book with execution off);
2. ``no_change_rebuild_s``: the same command again (every chapter and the HTML from the cache);
3. ``one_chapter_edit_s``: after a sentence is added to one chapter's prose (``ch5_3_trauma``), and
   ``re_executed``: the chapters that rebuild executed (goal: that chapter only);
4. ``jupyter_book_force_s``: Jupyter Book executing the same notebooks itself
   (``execute_notebooks: force``), each with the same parameter values the pipeline injects and
   an empty study cache of its own (the notebooks build it, as outside a build);
5. ``floor_s``: what no build can go below: Jupyter Book's HTML-only build of the staged book
   (execution off, fresh output folder) plus one load and scoring of the dataset, both timed here.

Goals (issue 13): clean build <= 2.5 x the floor and >= 2 x faster than Jupyter Book's own
execution; no-change rebuild <= 5 s; an edit of one chapter's prose re-executes that chapter only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veiligverder import paths

EDITED = "ch5_3_trauma"


def run(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def project_copy(root: Path) -> Path:
    """The book, notebooks, configuration and reference data in ``root`` (VEILIGVERDER_ROOT)."""
    for name in ("book", "notebooks"):
        shutil.copytree(paths.PROJECT_ROOT / name, root / name)
    shutil.copy(paths.BOOK_CONFIG, root / "_config.yml")
    for name in ("reference", "qualitative"):
        shutil.copytree(paths.DATA_DIR / name, root / "data" / name)
    return root


def jupyter_book_force(built: Path, data: Path, work: Path, env: dict) -> float:
    """Stage the book with unexecuted, parameterised notebooks and let Jupyter Book execute them."""
    import jupytext
    import nbformat

    from veiligverder import pipeline
    from veiligverder.params import Params

    stage = work / "book"
    shutil.copytree(built / ".stage", stage)
    scratch = work / "out"
    # stage-2 chapters read stage-1 results; Jupyter Book runs pages in name order, so give them the
    # fragments of the clean build (the same work is still executed: every chapter runs in full)
    shutil.copytree(pipeline.published_fragments(built), scratch / pipeline.WORK / "fragments")
    base = {"data_dir": str(data), "out_dir": str(scratch), **Params().as_dict(),
            "study_cache": str(work / "study-cache")}
    for chapter in pipeline.CHAPTERS:
        source = Path(env["VEILIGVERDER_ROOT"]) / "notebooks" / f"{chapter.name}.md"
        nb = jupytext.read(source)
        params = pipeline.chapter_parameters(pipeline.Chapter(chapter.name, chapter.stage), base)
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()),
                                             metadata={"tags": ["injected-parameters", "remove-cell"]})
        nb.cells.insert(at + 1, injected)
        nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, stage / f"{chapter.name}.ipynb")
    config = (stage / "_config.yml").read_text()
    config = config.replace('execute_notebooks: "off"', 'execute_notebooks: "force"\n  timeout: 600')
    assert 'execute_notebooks: "force"' in config, "could not switch execution on in _config.yml"
    (stage / "_config.yml").write_text(config)
    jb = Path(sys.executable).with_name("jupyter-book")
    seconds, _ = run([str(jb), "build", str(stage), "--path-output", str(work / "jb"), "--builder", "html",
                      "--keep-going"], env=env, cwd=scratch)
    return seconds


def floor(built: Path, data: Path, work: Path, env: dict) -> tuple[float, float]:
    """Jupyter Book's HTML-only build of the staged book, and one study load (no cache)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    html, _ = run([str(jb), "build", str(built / ".stage"), "--path-output", str(work / "html-only"),
                   "--builder", "html", "--keep-going"], env=env)
    load, _ = run([sys.executable, "-c",
                   "import sys; from veiligverder.analysis.study import prepare_study;"
                   "from veiligverder.data import load_dataset; prepare_study(load_dataset(sys.argv[1]))",
                   str(data)], env=env)
    return html, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (default: the synthetic twin)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    from veiligverder import pipeline

    data = pipeline.resolve_dataset(args.data)  # the twin is generated before any timing
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "VEILIGVERDER_ROOT": str(project_copy(tmp / "project"))}
        cli = [sys.executable, "-m", "veiligverder.cli", "build", "--data", str(data), "--out", str(tmp / "out")]
        clean, _ = run(cli, env=env)
        rebuild, _ = run(cli, env=env)
        chapter = tmp / "project" / "notebooks" / f"{EDITED}.md"
        chapter.write_text(chapter.read_text() + "\nA sentence added by the benchmark.\n")
        edit, log = run(cli, env=env)
        re_executed = re.findall(r"^\s+(\S+): executed", log, flags=re.M)
        html, load = floor(tmp / "out", data, tmp / "floor", env)
        force = jupyter_book_force(tmp / "out", data, tmp / "force", env)
    floor_s = html + load
    figures = {"cores": cores, "clean_build_s": round(clean, 1), "no_change_rebuild_s": round(rebuild, 1),
               "one_chapter_edit_s": round(edit, 1), "re_executed": re_executed,
               "jupyter_book_force_s": round(force, 1), "floor_s": round(floor_s, 1),
               "floor_html_s": round(html, 1), "floor_study_load_s": round(load, 1),
               "clean_over_floor": round(clean / floor_s, 2), "jupyter_book_over_clean": round(force / clean, 2)}
    goals = {
        "clean build <= 2.5 x floor": clean <= 2.5 * floor_s,
        "jupyter-book force >= 2 x clean build": force >= 2 * clean,
        "no-change rebuild <= 5 s": rebuild <= 5,
        f"one chapter edited re-executes only {EDITED}": re_executed == [EDITED],
    }
    figures["goals_met"] = goals
    print(f"cores: {cores}  dataset: {data}")
    print(f"  clean build:                          {clean:7.1f} s  ({clean / floor_s:.2f} x the floor)")
    print(f"  no-change rebuild:                    {rebuild:7.1f} s")
    print(f"  one chapter's prose edited:           {edit:7.1f} s  re-executed: {', '.join(re_executed) or 'none'}")
    print(f"  jupyter-book, execute_notebooks force:{force:7.1f} s  ({force / clean:.2f} x the clean build)")
    print(f"  floor: HTML-only build {html:.1f} s + one study load {load:.1f} s = {floor_s:.1f} s")
    for goal, met in goals.items():
        print(f"  goal {goal}: {'met' if met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
