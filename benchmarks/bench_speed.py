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
  sampled_cpu      CPU seconds (user + system) of every process below this one during the batch (grading workers,
                   bubblewrap, runners, kernels, scorers), each sampled every 0.25 s from outside the sandbox: it misses
                   at most the last 0.25 s of each process and processes that lived less than that; the figure to
                   compare on a loaded machine, where wall time says as much about the other jobs

Configurations: `before` (TensorFlow, one budget), `after` (settings.ini as it is, graded JAX kernels read the reference
run's XLA compilation cache read-only: `grading.refcache`), `nocache` (the same settings.ini, the same reference run
and cache, but the graded kernels are not given the cache: they compile every program themselves). Kinds of
submission: `solution` (copies of the solution: every program is in the cache) and `units` (the solution with other
recurrent units, 48 instead of 32: the recurrent programs miss the cache, the honest check that a miss costs nothing).

    python benchmarks/bench_speed.py                                  # 01-05, 4 submissions, 2 workers, before and after
    python benchmarks/bench_speed.py --assignments 04 05 --configs after
    python benchmarks/bench_speed.py --quick                          # smoke test: 01 only, 2 submissions, after only
    python benchmarks/bench_speed.py --assignments 04 05 --configs nocache after --kinds solution units --n 2 --reference-seeds 1

The reference runs are cached under --work (default /tmp/imdb-bench-speed) across invocations, as `grade_folder`
caches them in its output folder: a second invocation measures grading alone from the first submission.
"""
import configparser, json, os, resource, shutil, sys, tempfile, threading, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, banner, markdown, parser, save
from bench_grading import per_submission

NAME = "speed"


def children_cpu() -> float:
    "User + system CPU seconds of every finished child process of this one (and of their waited-for descendants)."
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class DescendantCPU:
    "CPU seconds (user + system) of the processes below this one, each sampled every `every` s from outside (sandboxes too)."
    def __init__(self, every:float=0.25):
        import psutil
        self.psutil, self.every, self.last, self.base = psutil, every, {}, {}
        self.stop_ = threading.Event()
        self._sample(self.base)  # processes already running (a pre-started kernel): only their CPU from now on counts
        self.thread = threading.Thread(target=self._loop, daemon=True); self.thread.start()

    def _sample(self, into:dict):
        for p in self.psutil.Process().children(recursive=True):
            try: t = p.cpu_times(); into[(p.pid, p.create_time())] = t.user + t.system
            except self.psutil.Error: pass

    def _loop(self):
        while not self.stop_.wait(self.every): self._sample(self.last)

    def stop(self) -> float:
        self.stop_.set(); self.thread.join(); self._sample(self.last)
        return sum(v - self.base.get(k, 0.0) for k, v in self.last.items())


VARIANTS = {"units": [("units=32", "units=48"), ("layers.GRU(32)", "layers.GRU(48)"), ("[8, 32, 64]", "[8, 48, 64]")]}


def submission_copy(solution:Path, kind:str, dst:Path):
    "The solution as handed in (`solution`), or a variant whose recurrent layers have other units (`units`)."
    text = solution.read_text(encoding="utf-8")
    for old, new in VARIANTS.get(kind, []): text = text.replace(old, new)
    if kind != "solution" and text == solution.read_text(encoding="utf-8"): raise SystemExit(f"{solution}: no `{kind}` variant")
    dst.write_text(text, encoding="utf-8")


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
    p.add_argument("--configs", nargs="+", default=["before", "after"], choices=["before", "nocache", "after"])
    p.add_argument("--kinds", nargs="+", default=["solution"], choices=["solution", *VARIANTS],
                   help="what is handed in: copies of the solution, or the solution with other units")
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
    import imdb_course.instructor.grade as grade_mod
    with_cache = grade_mod.xla_cache_for
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
        for kind, config in [(k, c) for k in args.kinds for c in args.configs]:
            base = "after" if config == "nocache" else config  # nocache: after's settings, reference and cache
            kw = dict(solutions_dir=str(ROOT/"solutions"), settings=str(settings[base]))
            params = grading_params(name, kw["settings"]); lim = grading_limits(name, kw["settings"])
            out = work/base/"out"
            subs = work/config/name/kind/"submissions"
            if subs.exists(): shutil.rmtree(subs)
            subs.mkdir(parents=True)
            students = [f"student{i + 1:02d}" for i in range(args.n)]
            for s in students: submission_copy(solution, kind, subs/f"{s}.ipynb")
            t0 = time.perf_counter()
            ctx, _ = grading_context(name, out, solutions_dir=kw["solutions_dir"], settings=kw["settings"])
            ctx.out.mkdir(parents=True, exist_ok=True); ctx = prepare_data(ctx)
            reference_band(ctx, solution, workers=args.workers)
            warm = time.perf_counter() - t0
            grade_mod.xla_cache_for = (lambda ctx: None) if config == "nocache" else with_cache
            xla = with_cache(ctx)
            print(f"## {name} [{config}, {kind}] backend {lim.backend}, {params}: reference ready in {warm:.0f} s; "
                  f"XLA cache {'withheld' if config == 'nocache' else xla} ({len(os.listdir(xla)) if xla else 0} programs)", flush=True)
            for rep in range(args.repeat):
                load0, c0, t0 = os.getloadavg(), children_cpu(), time.perf_counter()
                sampler = DescendantCPU()
                df = grade_folder(subs, name, out=out, workers=args.workers, force=True, progress=False, report=False, **kw)
                wall, cpu, sampled = time.perf_counter() - t0, children_cpu() - c0, sampler.stop()
                d = df if "student" in df.columns else df.reset_index()
                totals = d.set_index("student")["total"].reindex(students).tolist() if "total" in d and "student" in d else None
                ok = int((df["status"] == "ok").sum()) if "status" in df else 0
                run = {"assignment": name, "config": config, "kind": kind, "repeat": rep, "backend": lim.backend,
                       "xla_cache_programs": len(os.listdir(xla)) if xla and config != "nocache" else 0,
                       "sampled_cpu_per_sub": sampled / args.n,
                       "train_samples": params["TRAIN_SAMPLES"], "epochs": params["EPOCHS"], "maxlen": params["MAXLEN"],
                       "cell_timeout": lim.cell_timeout, "submissions": args.n, "workers": args.workers, "ok": ok,
                       "wall_seconds": wall, "submissions_per_minute": 60 * args.n / wall, "cpu_per_sub": cpu / args.n,
                       "cpu_bound_rate": 60 * cores / (cpu / args.n) if cpu else None, "totals": totals,
                       "reference_seconds": warm, "load_1min": [round(load0[0], 2), round(os.getloadavg()[0], 2)]}
                runs.append(run)
                for r in per_submission(out, name, students): rows.append({**r, "assignment": name, "config": config, "kind": kind, "repeat": rep})
                print(f"   {n_fmt(run)}", flush=True)
    import pandas as pd
    thr = pd.DataFrame(runs)
    per = pd.DataFrame(rows)
    cols = ["total", "execute", "training_cells_seconds", "other_cells_seconds", "score"]
    med = per.groupby(["assignment", "kind", "config"])[[c for c in cols if c in per]].median().reset_index() if len(per) else per
    thr["sampled_cpu_bound_rate"] = 60 * cores / thr["sampled_cpu_per_sub"]
    md = markdown(thr[["assignment", "kind", "config", "backend", "train_samples", "epochs", "ok", "totals", "wall_seconds",
                       "submissions_per_minute", "sampled_cpu_per_sub", "sampled_cpu_bound_rate", "load_1min"]],
                  {"wall_seconds": ".0f", "submissions_per_minute": ".2f", "cpu_per_sub": ".1f", "cpu_bound_rate": ".2f",
                   "sampled_cpu_per_sub": ".0f", "sampled_cpu_bound_rate": ".2f", "totals": lambda v: ", ".join(f"{x:g}" for x in v or []),
                   "load_1min": lambda v: f"{v[0]:g}–{v[1]:g}"})
    if len(med): md += "\n\n" + markdown(med, {c: ".1f" for c in cols})
    print("\n" + md)
    save(NAME, args, {"settings": {"assignments": names, "submissions": args.n, "workers": args.workers, "configs": args.configs,
                                   "kinds": args.kinds, "nocache": "settings.ini as it is, the graded kernels not given the XLA cache",
                                   "before": "settings.ini with [grading] backend = tensorflow and no [grading.NAME] sections"},
                      "notes": "sampled_cpu_per_sub: user+system CPU of every descendant process, sampled every 0.25 s, per "
                               "submission; sampled_cpu_bound_rate = 60 * cores / sampled_cpu_per_sub. cpu_per_sub: RUSAGE_CHILDREN of the benchmark process over the batch / submissions; "
                               "cpu_bound_rate = 60 * cores / cpu_per_sub. Reference runs excluded (cached before the batch).",
                      "runs": runs, "per_submission": per.to_dict("records"), "markdown": md})


def n_fmt(r) -> str:
    return (f"{r['config']}: {r['ok']}/{r['submissions']} ok in {r['wall_seconds']:.0f} s = {r['submissions_per_minute']:.2f}/min; "
            f"sampled {r['sampled_cpu_per_sub']:.0f} CPU-s per submission; totals {r['totals']}; "
            f"load {r['load_1min']}")


if __name__ == "__main__":
    main()
