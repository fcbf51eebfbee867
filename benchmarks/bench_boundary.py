"""Isolation and read-back overhead per submission, before/after the sealed boundary (issue 22), side by side.

Each round runs the same small notebook (it writes a 5 MB artifact into OUTPUT_DIR) through the grader's runner inside
bubblewrap once with the code BEFORE (a checkout given by --before, e.g. `git worktree add /tmp/imdb-before fcb94ae`)
and once with this checkout, alternating, so machine load hits both alike. Each side runs in its own process with
PYTHONPATH pointing at its tree. Measured: the whole run (`run_notebook`: sandbox, runner, kernel, papermill, channels)
and the read-back of the artifacts (before: `safe_copytree` from the bound work dir; after: `unpack_tar` of what the
runner sent), plus the unisolated run for the isolation overhead.

    git worktree add /tmp/imdb-before fcb94ae
    nice -n 10 .venv/bin/python benchmarks/bench_boundary.py --before /tmp/imdb-before --rounds 5
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path

CHILD = r'''
import json, sys, tempfile, time
from pathlib import Path
import nbformat
from imdb_course.grading.isolation import choose_isolation
from imdb_course.grading.sandbox import Limits, run_notebook
try: from imdb_course.grading.boundary import unpack_tar
except ImportError:  # the code before the boundary
    unpack_tar = None
    from imdb_course.grading.points import safe_copytree

nb = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("EPOCHS = 1\nOUTPUT_DIR = 'course_output'", metadata={"tags": ["parameters"]}),
    nbformat.v4.new_code_cell("import os, pathlib\nd = pathlib.Path(OUTPUT_DIR)/'q1'; d.mkdir(parents=True, exist_ok=True)\n"
                              "(d/'model.keras').write_bytes(os.urandom(5 * 2**20)); (d/'answer.json').write_text('{}')")],
    metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
out = {}
for mode in sys.argv[1:]:
    iso = choose_isolation(mode)
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)/"work"; work.mkdir()
        nbformat.write(nb, work/"nb.ipynb")  # inside the work dir: where the code before expects it
        t0 = time.perf_counter()
        ex = run_notebook(work/"nb.ipynb", work, {"EPOCHS": 2, "OUTPUT_DIR": str(work/"course_output")}, Limits(), iso=iso)
        t1 = time.perf_counter()
        assert ex.status == "ok", (mode, ex.status, ex.message, ex.detail)
        if unpack_tar is not None and getattr(ex, "artifacts", None) is not None: files = unpack_tar(ex.artifacts, Path(d)/"artifacts")[0]
        else: safe_copytree(work/"course_output", Path(d)/"artifacts"); files = [str(p) for p in (Path(d)/"artifacts").rglob("*") if p.is_file()]
        t2 = time.perf_counter()
        assert len(files) == 2, files
        out[mode] = {"run": t1 - t0, "read_back": t2 - t1}
print(json.dumps(out))
'''


def child(tree:Path, modes:list) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", CHILD, *modes], env=env, capture_output=True, text=True, cwd=tree)
    if r.returncode: raise SystemExit(f"{tree}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="a checkout of the code before (e.g. a git worktree of fcb94ae)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="write the raw figures here")
    a = ap.parse_args()
    trees = {"before": Path(a.before).resolve(), "after": Path(__file__).resolve().parents[1]}
    got = {(side, m, k): [] for side in trees for m in ("off", "required") for k in ("run", "read_back")}
    for i in range(a.rounds):
        for side, tree in (trees.items() if i % 2 == 0 else reversed(trees.items())):
            for m, v in child(tree, ["off", "required"]).items():
                for k, s in v.items(): got[(side, m, k)].append(s)
    med = {k: statistics.median(v) for k, v in got.items()}
    print(f"{a.rounds} rounds, alternating; medians in seconds (min–max)\n")
    print("| measure | before | after | after / before |\n|---|---|---|---|")
    for m, label in (("required", "run in bwrap"), ("off", "run unisolated")):
        for k in ("run", "read_back"):
            b, f = med[("before", m, k)], med[("after", m, k)]
            rng = lambda side: f"{min(got[(side, m, k)]):.3f}–{max(got[(side, m, k)]):.3f}"
            print(f"| {label}: {k.replace('_', '-')} | {b:.3f} ({rng('before')}) | {f:.3f} ({rng('after')}) | {f / b:.2f}× |")
    for side in trees:
        print(f"\nisolation overhead ({side}): {med[(side, 'required', 'run')] - med[(side, 'off', 'run')]:+.3f} s per submission")
    if a.json: Path(a.json).write_text(json.dumps({"|".join(k): v for k, v in got.items()}, indent=1))


if __name__ == "__main__":
    main()
