"""Grading throughput before/after issue 27, side by side in one run: every assignment graded with the course's
settings.ini as it is (`after`) and with the configuration before it (`before`: `[grading] backend = tensorflow`, no
`[grading.NAME]` sections, i.e. every assignment on the global `[grading]` budget), same code, same machine, same load.

Per assignment and configuration: N copies of the solution notebook graded by `grade_folder` (pre-started kernels)
with W workers, after a warm-up that computes (or reuses) the reference band. Figures:
  wall             seconds for the N submissions; submissions_per_minute = 60 N / wall
  cpu_per_sub      RUSAGE_CHILDREN of this process per submission, kept in the JSON only: it does NOT see the
                   sandboxed kernels and scorers (bubblewrap's own pid namespace reaps them), so it undercounts badly
                   (1.5 CPU-s for a 04 submission); compare wall figures measured side by side instead
  totals           points of each submission (the same in both configurations for the solution; twice the same
                   with --repeat: deterministic grades)

    python benchmarks/bench_speed.py                                  # 01-05, 4 submissions, 2 workers, before and after
    python benchmarks/bench_speed.py --assignments 04 05 --configs after
    python benchmarks/bench_speed.py --quick                          # smoke test: 01 only, 2 submissions, after only

The reference runs are cached under --work (default /tmp/imdb-bench-speed) across invocations, as `grade_folder`
caches them in its output folder: a second invocation measures grading alone from the first submission.
"""
import configparser, json, os, resource, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, banner, markdown, parser, save
from bench_grading import per_submission

NAME = "speed"


def children_cpu() -> float:
    "User + system CPU seconds of every finished child process of this one (and of their waited-for descendants)."
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def after_settings(src:Path, dst:Path, seeds=None) -> Path:
    "settings.ini as it is (with `seeds` reference runs, if given)."
    cfg = configparser.ConfigParser(default_section="__none__", interpolation=None)
    cfg.read(src, encoding="utf-8")
    if seeds: cfg["grading"]["reference_seeds"] = str(seeds)
    with open(dst, "w", encoding="utf-8") as f: cfg.write(f)
    return dst


def before_settings(src:Path, dst:Path, seeds=None) -> Path:
    "settings.ini as it was before issue 27: TensorFlow kernels, one `[grading]` budget for every assignment."
    after_settings(src, dst, seeds)
    cfg = configparser.ConfigParser(default_section="__none__", interpolation=None)
    cfg.read(dst, encoding="utf-8")
    for s in [s for s in cfg.sections() if s.startswith("grading.")]: cfg.remove_section(s)
    cfg["grading"]["backend"] = "tensorflow"
    with open(dst, "w", encoding="utf-8") as f: cfg.write(f)
    return dst


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--assignments", nargs="+", default=["01", "02", "03", "04", "05"], help="assignment prefixes")
    p.add_argument("--configs", nargs="+", default=["before", "after"], choices=["before", "after"])
    p.add_argument("--n", type=int, default=4, help="submissions per batch")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="grade each batch this many times (determinism check)")
    p.add_argument("--reference-seeds", type=int, default=None, help="[grading] reference_seeds for both configurations "
                   "(the reference runs are excluded from the figures; fewer seeds: a shorter warm-up)")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir())/"imdb-bench-speed"), help="reference caches live here")
    args = p.parse_args(argv)
    if args.quick: args.assignments, args.n, args.configs = ["01"], 2, ["after"]
    banner(f"grading before/after issue 27 ({args.assignments}, {args.n} submissions, {args.workers} workers)", args)
    from imdb_course.config import load_settings
    from imdb_course.grading.reference import reference_band
    from imdb_course.instructor.grade import grade_folder
    from imdb_course.grading.pipeline import grading_context, prepare_data
    from imdb_course.grading.inspect import grading_params
    from imdb_course.grading.sandbox import grading_limits
    work = Path(args.work); work.mkdir(parents=True, exist_ok=True)
    settings = {"after": after_settings(ROOT/"settings.ini", work/"settings_after.ini", args.reference_seeds),
                "before": before_settings(ROOT/"settings.ini", work/"settings_before.ini", args.reference_seeds)}
    names = [n for n in load_settings(ROOT/"settings.ini").assignments if any(n.startswith(a) for a in args.assignments)]
    cores = os.cpu_count() or 1
    runs, rows = [], []
    for name in names:
        solution = ROOT/"solutions"/f"{name}.ipynb"
        for config in args.configs:
            kw = dict(solutions_dir=str(ROOT/"solutions"), settings=str(settings[config]))
            params = grading_params(name, kw["settings"]); lim = grading_limits(name, kw["settings"])
            out = work/config/"out"
            subs = work/config/name/"submissions"
            if subs.exists(): shutil.rmtree(subs)
            subs.mkdir(parents=True)
            students = [f"student{i + 1:02d}" for i in range(args.n)]
            for s in students: shutil.copy(solution, subs/f"{s}.ipynb")
            t0 = time.perf_counter()
            ctx, _ = grading_context(name, out, solutions_dir=kw["solutions_dir"], settings=kw["settings"])
            ctx.out.mkdir(parents=True, exist_ok=True); prepare_data(ctx)
            _reference(ctx, solution, workers=args.workers)
            warm = time.perf_counter() - t0
            print(f"## {name} [{config}] backend {lim.backend}, {params}: reference ready in {warm:.0f} s", flush=True)
            for rep in range(args.repeat):
                load0, c0, t0 = os.getloadavg(), children_cpu(), time.perf_counter()
                df = grade_folder(subs, name, out=out, workers=args.workers, force=True, progress=False, report=False, **kw)
                wall, cpu = time.perf_counter() - t0, children_cpu() - c0
                d = df if "student" in df.columns else df.reset_index()
                totals = d.set_index("student")["total"].reindex(students).tolist() if "total" in d and "student" in d else None
                ok = int((df["status"] == "ok").sum()) if "status" in df else 0
                run = {"assignment": name, "config": config, "repeat": rep, "backend": lim.backend,
                       "train_samples": params["TRAIN_SAMPLES"], "epochs": params["EPOCHS"], "maxlen": params["MAXLEN"],
                       "cell_timeout": lim.cell_timeout, "submissions": args.n, "workers": args.workers, "ok": ok,
                       "wall_seconds": wall, "submissions_per_minute": 60 * args.n / wall, "cpu_per_sub": cpu / args.n,
                       "cpu_bound_rate": 60 * cores / (cpu / args.n) if cpu else None, "totals": totals,
                       "reference_seconds": warm, "load_1min": [round(load0[0], 2), round(os.getloadavg()[0], 2)]}
                runs.append(run)
                for r in per_submission(out, name, students): rows.append({**r, "assignment": name, "config": config, "repeat": rep})
                print(f"   {n_fmt(run)}", flush=True)
    import pandas as pd
    thr = pd.DataFrame(runs)
    per = pd.DataFrame(rows)
    cols = ["total", "execute", "training_cells_seconds", "other_cells_seconds", "score"]
    med = per.groupby(["assignment", "config"])[[c for c in cols if c in per]].median().reset_index() if len(per) else per
    md = markdown(thr[["assignment", "config", "backend", "train_samples", "epochs", "cell_timeout", "ok", "wall_seconds",
                       "submissions_per_minute", "load_1min"]],
                  {"wall_seconds": ".0f", "submissions_per_minute": ".2f", "cpu_per_sub": ".1f", "cpu_bound_rate": ".2f",
                   "load_1min": lambda v: f"{v[0]:g}–{v[1]:g}"})
    if len(med): md += "\n\n" + markdown(med, {c: ".1f" for c in cols})
    print("\n" + md)
    save(NAME, args, {"settings": {"assignments": names, "submissions": args.n, "workers": args.workers, "configs": args.configs,
                                   "before": "settings.ini with [grading] backend = tensorflow and no [grading.NAME] sections"},
                      "notes": "cpu_per_sub: RUSAGE_CHILDREN of the benchmark process over the batch / submissions; "
                               "cpu_bound_rate = 60 * cores / cpu_per_sub. Reference runs excluded (cached before the batch).",
                      "runs": runs, "per_submission": per.to_dict("records"), "markdown": md})


def n_fmt(r) -> str:
    return (f"{r['config']}: {r['ok']}/{r['submissions']} ok in {r['wall_seconds']:.0f} s = {r['submissions_per_minute']:.2f}/min; "
            f"{r['cpu_per_sub']:.1f} CPU-s per submission (cpu-bound {r['cpu_bound_rate']:.2f}/min); totals {r['totals']}; "
            f"load {r['load_1min']}")


if __name__ == "__main__":
    main()
