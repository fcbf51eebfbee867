"""Grading cost: overhead per submission (everything except the student's own training) and throughput with
1 vs 2 workers on a folder of submissions (imdb_course.instructor.grade.grade_folder).

The folder holds N copies of the assignment's solution notebook (full-credit submissions that train), graded
with the course's [grading] parameters from settings.ini (the small fixed budget every submission gets).
Per submission, from result.json and papermill's per-cell durations in the executed notebook:
  total      wall seconds of grade_one (inspect, copy, papermill run, artifact collection, scoring)
  training   cells of the notebook that train (source contains `train(`, `.fit(`, `compare(` or `sweep(`)
  overhead   total - training: kernel start, imports, data loading, other cells, grader scoring

    python benchmarks/bench_grading.py                     # 01_epochs, 4 submissions, 1 then 2 workers
    python benchmarks/bench_grading.py --quick             # the tests' mini fixture assignment, 2 submissions
    python benchmarks/bench_grading.py --modes before after  # today's path (prestart=False) and the pre-started one, side by side

Modes: `before` grades with grade_folder(prestart=False) (kernel and scorer started when needed); `after` with
prestart=True (the scorer starts while the notebook runs; a pool worker pre-starts the next submission's sandbox + kernel).
"""
import json, re, shutil, tempfile, time
from pathlib import Path
from _common import ROOT, banner, markdown, parser, save

NAME = "grading"
TRAINING = re.compile(r"\btrain\(|\.fit\(|\bcompare\(|\bsweep\(")
MINI = ROOT/"tests"/"fixtures"/"mini_assignment"


def cell_seconds(executed:Path) -> dict:
    "Seconds in training cells and in other cells of an executed notebook (papermill metadata)."
    import nbformat
    nb = nbformat.read(executed, as_version=4)
    out = {"training_cells_seconds": 0.0, "other_cells_seconds": 0.0, "training_cells": 0}
    for c in nb.cells:
        if c.cell_type != "code": continue
        d = (c.metadata.get("papermill") or {}).get("duration") or 0.0
        if TRAINING.search(c.source): out["training_cells_seconds"] += d; out["training_cells"] += 1
        else: out["other_cells_seconds"] += d
    return out


def per_submission(out:Path, assignment:str, students:list) -> list:
    rows = []
    for s in students:
        r = json.loads((out/assignment/s/"result.json").read_text())
        cells = cell_seconds(Path(r["executed"])) if r.get("executed") else {}
        t = r.get("timings") or {}
        row = {"student": s, "status": r["status"], "total": r["seconds"], "inspect": t.get("inspect"),
               "execute": t.get("execute"), "score": t.get("score"), "prestarted": bool(t.get("prestarted")), **cells}
        if cells:
            row["kernel_and_papermill"] = (t.get("execute") or 0) - cells["training_cells_seconds"] - cells["other_cells_seconds"]
            row["overhead"] = r["seconds"] - cells["training_cells_seconds"]
        rows.append(row)
    return rows


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--assignment", default="01_epochs")
    p.add_argument("--n", type=int, default=4, help="submissions in the folder")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=["after"], choices=["before", "after"],
                   help="before: prestart=False (today's path); after: prestart=True")
    p.add_argument("--warmup-submission", action="store_true", help="warm up by grading one submission too, not only the reference run")
    p.add_argument("--keep", default=None, help="keep the grading output here (default: a temp dir, deleted)")
    args = p.parse_args(argv)
    kw = dict(solutions_dir=str(ROOT/"solutions"), settings=str(ROOT/"settings.ini"))  # run_all.sh runs from benchmarks/
    if args.quick:
        args.assignment, args.n = "mini", 2
        kw = dict(solutions_dir=str(MINI/"solutions"), settings=str(MINI/"settings.ini"))
    banner(f"grading throughput ({args.assignment}, {args.n} submissions, workers {args.workers})", args)

    import pandas as pd
    from imdb_course.grading.reference import reference_band
    from imdb_course.instructor.grade import grade_folder
    from imdb_course.grading.pipeline import grading_context, prepare_data
    from imdb_course.grading.inspect import grading_params
    from imdb_course.grading.sandbox import grading_limits
    solutions = Path(kw.get("solutions_dir", ROOT/"solutions"))
    solution = solutions/f"{args.assignment}.ipynb"
    params = grading_params(args.assignment, kw.get("settings"))
    limits = grading_limits(args.assignment, kw.get("settings"))
    print(f"# injected parameters: {params}; kernel threads per notebook: {limits.kernel_threads}", flush=True)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="imdb-bench-grading-"))
    try:
        subs = tmp/"submissions"
        subs.mkdir(parents=True, exist_ok=True)
        students = [f"student{i + 1:02d}" for i in range(args.n)]
        for s in students: shutil.copy(solution, subs/f"{s}.ipynb")
        out = tmp/"out"
        # warm-up: the reference run of the solution (cached under out/, as grade_folder does it), which also warms the
        # data cache and the OS file cache; --warmup-submission grades one submission too (the way before 2026-12-02)
        t0 = time.perf_counter()
        if args.warmup_submission:
            warm = tmp/"warmup"; warm.mkdir(exist_ok=True); shutil.copy(solution, warm/"warmup.ipynb")
            grade_folder(warm, args.assignment, out=out, workers=1, progress=False, report=False, **kw)
        else:
            ctx, _ = grading_context(args.assignment, out, solutions_dir=kw["solutions_dir"], settings=kw["settings"])
            ctx.out.mkdir(parents=True, exist_ok=True); ctx = prepare_data(ctx)
            reference_band(ctx, solution)
        warmup = time.perf_counter() - t0
        print(f"   warm-up (reference solution run{' + 1 submission' if args.warmup_submission else ''}): {warmup:.0f} s", flush=True)
        runs, rows = [], []
        for w in args.workers:
          for mode in args.modes:
            t0 = time.perf_counter()
            df = grade_folder(subs, args.assignment, out=out, workers=w, force=True, progress=False, report=False,
                              prestart=mode == "after", **kw)
            wall = time.perf_counter() - t0
            subs_rows = per_submission(out, args.assignment, students)
            for r in subs_rows: r["workers"], r["mode"] = w, mode
            rows += subs_rows
            ok = int((df["status"] == "ok").sum()) if "status" in df else None
            totals = df["total"].tolist() if "total" in df else None
            runs.append({"mode": mode, "workers": w, "submissions": args.n, "ok": ok, "wall_seconds": wall,
                         "submissions_per_minute": 60 * args.n / wall, "seconds_per_submission": wall / args.n, "totals": totals})
            print(f"   {mode}, {w} worker(s): {args.n} submissions in {wall:.0f} s ({60 * args.n / wall:.2f}/min), ok={ok}, "
                  f"totals {totals}", flush=True)
    finally:
        if not args.keep: shutil.rmtree(tmp, ignore_errors=True)

    per = pd.DataFrame(rows)
    cols = ["total", "inspect", "execute", "kernel_and_papermill", "other_cells_seconds", "training_cells_seconds",
            "score", "overhead"]
    per_med = per.groupby(["mode", "workers"])[[c for c in cols if c in per]].median().reset_index()
    per_med["prestarted"] = per.groupby(["mode", "workers"])["prestarted"].sum().values
    thr = pd.DataFrame(runs)
    base = thr.wall_seconds.iloc[0]
    thr["speedup"] = base / thr.wall_seconds
    print("\nper submission (median seconds):")
    print(per_med.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print("\nthroughput:")
    print(thr.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    md = (markdown(thr[["mode", "workers", "submissions", "wall_seconds", "seconds_per_submission", "submissions_per_minute", "speedup"]],
                   {"wall_seconds": ".0f", "seconds_per_submission": ".1f", "submissions_per_minute": ".2f", "speedup": ".2f"})
          + "\n\n" + markdown(per_med, {c: ".1f" for c in cols}))
    print("\n" + md)
    save(NAME, args, {"settings": {"assignment": args.assignment, "submissions": args.n, "workers": args.workers,
                                   "params": params, "kernel_threads": limits.kernel_threads,
                                   "solution": str(solution.relative_to(ROOT) if solution.is_relative_to(ROOT) else solution)},
                      "modes": args.modes, "warmup_seconds": warmup,
                      "notes": "overhead = grade_one wall seconds minus the papermill duration of the notebook's training "
                               "cells (cells calling train(/.fit(/compare(/sweep(, which may also call submit()); prestarted = how many "
                               "submissions ran on a kernel started before them (mode after: all but each worker's first); "
                               "kernel_and_papermill = execute - all cell durations. Submissions are copies of the "
                               "solution, graded with the [grading] parameters of settings.ini.",
                      "throughput": thr.to_dict("records"), "per_submission_median": per_med.to_dict("records"),
                      "per_submission": per.to_dict("records"), "markdown": md})


if __name__ == "__main__":
    main()
