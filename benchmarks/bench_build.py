"""Benchmark: the book build, three ways, in one run.

Run ``python benchmarks/bench_build.py [--data DIR] [--jobs N]``. It times

1. a **clean build**: ``veiligverder build`` into an empty output folder (chapters executed by
   papermill in parallel, then Jupyter Book with execution off);
2. a **no-change rebuild** into the same folder (every chapter and the HTML come from the cache);
3. **Jupyter Book executing the same notebooks itself**: the same book sources, with each chapter
   as an unexecuted notebook whose parameters cell is followed by the same parameter values the
   pipeline injects, built by ``jupyter-book build`` with ``execute_notebooks: force``.

and prints the times and the ratios. Goals (issue 7): clean build <= 60 s with a warm environment on
2 cores, >= 1.5x faster than Jupyter Book's own execution, and a no-change rebuild <= 5 s.
The dataset (default: the synthetic twin, generated first when absent) is made before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veiligverder import paths, pipeline
from veiligverder.params import Params


def timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def jupyter_book_force(built: Path, data: Path, work: Path) -> float:
    """Stage the book with unexecuted, parameterised notebooks and let Jupyter Book execute them."""
    import jupytext
    import nbformat

    stage = work / "book"
    shutil.copytree(built / ".stage", stage)
    scratch = work / "out"
    # stage-2 chapters read stage-1 results; Jupyter Book runs pages in name order, so give them the
    # fragments of the clean build (the same work is still executed: every chapter runs in full)
    shutil.copytree(pipeline.published_fragments(built), scratch / pipeline.WORK / "fragments")
    base = {"data_dir": str(data), "out_dir": str(scratch), **Params().as_dict()}
    for chapter in pipeline.CHAPTERS:
        nb = jupytext.read(chapter.source)
        params = pipeline.chapter_parameters(chapter, base)
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
    return timed([str(jb), "build", str(stage), "--path-output", str(work / "jb"), "--builder", "html", "--keep-going"],
                 cwd=scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (default: the synthetic twin)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    data = pipeline.resolve_dataset(args.data, seed=Params().seed)
    cli = [sys.executable, "-m", "veiligverder.cli", "build", "--data", str(data)]
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "out"
        clean = timed([*cli, "--out", str(out)])
        rebuild = timed([*cli, "--out", str(out)])
        force = jupyter_book_force(out, data, tmp / "force")
    figures = {"cores": cores, "clean_build_s": round(clean, 1), "no_change_rebuild_s": round(rebuild, 1),
               "jupyter_book_force_s": round(force, 1), "speedup_vs_jupyter_book": round(force / clean, 2)}
    print(f"cores: {cores}  dataset: {data}")
    print(f"  clean build (papermill in parallel + jupyter-book, execution off): {clean:7.1f} s   goal <= 60 s")
    print(f"  no-change rebuild (cache):                                         {rebuild:7.1f} s   goal <= 5 s")
    print(f"  jupyter-book build, execute_notebooks: force:                      {force:7.1f} s")
    print(f"  jupyter-book force / clean build:                                  {force / clean:7.2f} x  goal >= 1.5 x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
