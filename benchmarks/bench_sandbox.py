"""Per-submission overhead of the bubblewrap sandbox: the same trivial notebook run through the grader's runner
(`grading.sandbox.run_notebook`: papermill + a fresh kernel) N times with `sandbox = off` and N times inside bwrap,
interleaved in one run so machine load hits both alike.

    nice -n 10 .venv/bin/python benchmarks/bench_sandbox.py [N]
"""
from __future__ import annotations
import statistics, sys, tempfile, time
from pathlib import Path

import nbformat

from imdb_course.grading.isolation import choose_isolation
from imdb_course.grading.sandbox import Limits, run_notebook


def trivial() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("EPOCHS = 1", metadata={"tags": ["parameters"]}),
               nbformat.v4.new_code_cell("import numpy as np\nprint(np.arange(EPOCHS * 10).sum())")],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})


def main(n:int=5):
    iso = {"off": choose_isolation("off"), "bwrap": choose_isolation("required")}
    times = {k: [] for k in iso}
    with tempfile.TemporaryDirectory() as d:
        for i in range(n):
            for kind, how in iso.items():
                work = Path(d)/f"{kind}-{i}"/"work"; work.mkdir(parents=True)
                nbformat.write(trivial(), work/"nb.ipynb")
                t0 = time.perf_counter()
                ex = run_notebook(work/"nb.ipynb", work, {"EPOCHS": 2}, Limits(), iso=how)
                times[kind].append(time.perf_counter() - t0)
                assert ex.status == "ok", (kind, ex)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"| mode | runs | median s | min s | max s |\n|---|---|---|---|---|")
    for k, v in times.items(): print(f"| {k} | {n} | {med[k]:.2f} | {min(v):.2f} | {max(v):.2f} |")
    print(f"\noverhead of bwrap per submission: {med['bwrap'] - med['off']:+.2f} s (median), "
          f"{(med['bwrap'] / med['off'] - 1) * 100:+.0f} %")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
