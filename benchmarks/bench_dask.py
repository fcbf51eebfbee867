"""Scale-out on Dask: N generated submissions graded through a local Dask cluster of 1, 2 and 4 worker processes
(distributed.LocalCluster, 1 thread each; grade_folder(..., scheduler=ADDRESS), the path of `imdb-course grade --scheduler`).

Submissions: the assignment's solution with small honest differences per student (embedding width, recurrent units,
a comment naming the student), so no two are byte-identical and the models differ a little in cost. They are graded
on a reduced budget (a settings.ini copy with its own `[grading.<assignment>]` section: --train-samples reviews,
--epochs epochs): 100 submissions at the course's normal budget take hours on the shared 2-core machine.
The reference band (reference_seeds runs of the solution) is filled once, before the timed part, in the output
folder every configuration reuses: every configuration is timed on the same footing (no configuration pays for it).

Per submission, from result.json and the executed notebook (as bench_grading.py reads them): total, kernel start +
papermill, training cells, other cells, scoring. Client side, measured around grading.remote (wrapped here, the
library unchanged): the task's bytes (pickled RemoteTask), the result's bytes (pickled RemoteResult, its packed folder),
the seconds from the task's end on the worker to the client holding the result (scheduler notice + gather), to the
files being written (receive_result) and to the row in the gradebook; scheduler transitions and tasks; this process's
CPU (client + the LocalCluster's scheduler, which runs in this process). Data shipping: the course grades on the
bundled sample (nothing shipped); the full archive's broadcast scatter to the W workers is timed beside each run.

    nice -n 10 python benchmarks/bench_dask.py --n 6 --out /tmp/dask6.json      # validate
    nice -n 10 python benchmarks/bench_dask.py --n 100                          # the benchmark (results/dask.json)
    python benchmarks/bench_dask.py --quick                                     # smoke test: 2 submissions, 1 and 2 workers
"""
import json, os, pickle, re, shutil, statistics, tempfile, time
from pathlib import Path
from _common import ROOT, banner, markdown, parser, save
from bench_grading import per_submission

NAME = "dask"
EMB, RNN = "layers.Embedding(NUM_WORDS, 32, mask_zero=True)", "layers.SimpleRNN(32)"


def make_submissions(solution:Path, folder:Path, n:int) -> list:
    "n honest variants of the 01 solution: embedding width and recurrent units vary, a comment names the student."
    import nbformat
    nb0 = nbformat.read(solution, as_version=4)
    cell = next(i for i, c in enumerate(nb0.cells) if EMB in c.source and RNN in c.source)
    students = [f"student{i + 1:03d}" for i in range(n)]
    for i, s in enumerate(students):
        nb = nbformat.read(solution, as_version=4)
        emb, units = (16, 32, 48)[i % 3], (16, 24, 32, 40)[i % 4]
        nb.cells[cell].source = (f"# {s}: embedding {emb}, {units} units\n" + nb.cells[cell].source
                                 .replace(EMB, f"layers.Embedding(NUM_WORDS, {emb}, mask_zero=True)")
                                 .replace(RNN, f"layers.SimpleRNN({units})"))
        nbformat.write(nb, folder/f"{s}.ipynb")
    return students


def timed_grade_task(task, data=None, grade=None):
    "On the worker: grading.remote.grade_task, with the wall clock of its start and end (one machine: one clock)."
    import os, time
    from imdb_course.grading import remote  # the worker's own, unwrapped grade_task
    t0 = time.time()
    res = remote.grade_task(task, data=data, grade=grade)
    return {"res": res, "t_start": t0, "t_end": time.time(), "pid": os.getpid()}


class Probe:
    "Wraps grading.remote's make_task / receive_result / grade_task and Gradebook.record for one run; restores them."
    def __init__(self):
        from imdb_course.grading import remote
        from imdb_course.records.gradebook import Gradebook
        self.remote, self.Gradebook = remote, Gradebook
        self.orig = {"make_task": remote.make_task, "receive_result": remote.receive_result, "grade_task": remote.grade_task,
                     "record": Gradebook.record}
        self.rows, self.scatter = {}, []

    def __enter__(self):
        import cloudpickle, distributed
        r, o, rows = self.remote, self.orig, self.rows
        def make_task(ctx, sub, plan, fingerprint):
            t = o["make_task"](ctx, sub, plan, fingerprint)
            rows.setdefault(sub.student, {})["task_bytes"] = len(cloudpickle.dumps(t))
            rows[sub.student]["notebook_bytes"] = len(t.notebook)
            return t
        def receive_result(wrapped, ctx, sub):
            got = time.time()
            res = wrapped["res"]
            row = rows.setdefault(sub.student, {})
            row.update(t_start=wrapped["t_start"], t_end=wrapped["t_end"], t_got=got, worker_pid=wrapped["pid"],
                       result_bytes=len(pickle.dumps(res)), files_bytes=len(res.files))
            rec = o["receive_result"](res, ctx, sub)
            row["t_received"] = time.time()
            return rec
        def record(gb, result, run_id=None):
            out = o["record"](gb, result, run_id)
            if run_id is not None: rows.setdefault(getattr(result, "student", None), {})["t_recorded"] = time.time()
            return out
        scatter0 = distributed.Client.scatter
        def scatter(client, data, *a, **kw):
            t0 = time.perf_counter(); out = scatter0(client, data, *a, **kw)
            self.scatter.append({"bytes": len(data) if isinstance(data, bytes) else None, "seconds": time.perf_counter() - t0})
            return out
        self.scatter0 = scatter0
        r.make_task, r.receive_result, r.grade_task = make_task, receive_result, timed_grade_task
        self.Gradebook.record = record
        distributed.Client.scatter = scatter
        return self

    def __exit__(self, *exc):
        import distributed
        r, o = self.remote, self.orig
        r.make_task, r.receive_result, r.grade_task = o["make_task"], o["receive_result"], o["grade_task"]
        self.Gradebook.record = o["record"]
        distributed.Client.scatter = self.scatter0

    def client_rows(self) -> dict:
        out = {}
        for s, x in self.rows.items():
            if s is None or "t_end" not in x: continue
            out[s] = {"task_bytes": x.get("task_bytes"), "notebook_bytes": x.get("notebook_bytes"),
                      "result_bytes": x["result_bytes"], "files_bytes": x["files_bytes"], "worker_pid": x["worker_pid"],
                      "worker_task_seconds": x["t_end"] - x["t_start"],
                      "end_to_client": x["t_got"] - x["t_end"],  # scheduler notice + gather of the result
                      "receive": x["t_received"] - x["t_got"],  # unpack the files, rewrite result.json
                      "record": (x.get("t_recorded") or x["t_received"]) - x["t_received"],  # the gradebook row
                      "end_to_gradebook": (x.get("t_recorded") or x["t_received"]) - x["t_end"]}
        return out


def count_scheduler(dask_scheduler=None):
    "On the scheduler: install (once) a plugin counting transitions, distinct task keys and the most tasks held at once."
    from distributed.diagnostics.plugin import SchedulerPlugin
    class Count(SchedulerPlugin):
        def __init__(self): self.keys, self.transitions, self.most = set(), 0, 0
        def transition(self, key, start, finish, *a, **kw):
            self.keys.add(key); self.transitions += 1; self.most = max(self.most, len(dask_scheduler.tasks))
    if "bench-count" not in dask_scheduler.plugins: dask_scheduler.add_plugin(Count(), name="bench-count")
    p = dask_scheduler.plugins["bench-count"]
    return {"transitions": p.transitions, "keys": len(p.keys), "most_tasks_at_once": p.most}


def reset_count(dask_scheduler=None):
    p = dask_scheduler.plugins.get("bench-count")
    if p is not None: p.keys, p.transitions, p.most = set(), 0, 0


def ship_archive(client, archive:Path) -> dict:
    "The full data archive broadcast to every worker (what --scheduler does when [grading] source is an archive)."
    data = archive.read_bytes()
    t0 = time.perf_counter()
    fut = client.scatter(data, broadcast=True, hash=False)
    secs = time.perf_counter() - t0
    del fut
    return {"archive": archive.name, "bytes": len(data), "workers": len(client.scheduler_info()["workers"]), "seconds": secs}


def noop(i): return i


def client_costs(out:Path, assignment:str, settings:str, k:int, tasks:int) -> dict:
    """CPU seconds (this process) of the client's share, without grading: `tasks` no-op tasks through a 1-worker
    LocalCluster (scheduler + client per task), and per result of `k` graded folders: unpickling the RemoteResult,
    receive_result (unpack, result.json), check_fingerprint, the gradebook row."""
    import distributed, pickle
    from imdb_course.grading import remote
    from imdb_course.grading.inspect import Submission
    from imdb_course.grading.isolation import check_fingerprint, package_fingerprint
    from imdb_course.grading.pipeline import grading_context
    from imdb_course.grading.result import GradeResult
    from imdb_course.records.gradebook import Gradebook
    res = {}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0) as cl, \
         distributed.Client(cl) as c:
        c.wait_for_workers(1); c.gather(c.map(noop, range(10)))
        w0, c0 = time.perf_counter(), time.process_time()
        c.gather(c.map(noop, range(tasks)))
        res["noop_tasks"] = {"tasks": tasks, "wall_per_task": (time.perf_counter() - w0) / tasks,
                             "client_and_scheduler_cpu_per_task": (time.process_time() - c0) / tasks}
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(tasks): c.submit(noop, i, pure=False).result()
        res["noop_round_trips"] = {"tasks": tasks, "wall_per_task": (time.perf_counter() - w0) / tasks,
                                   "client_and_scheduler_cpu_per_task": (time.process_time() - c0) / tasks}
    folders = sorted(p for p in (out/assignment).iterdir() if (p/"result.json").is_file())[:k]
    dest = Path(tempfile.mkdtemp(prefix="imdb-bench-dask-client-"))
    try:
        ctx, _ = grading_context(assignment, dest, solutions_dir=str(ROOT/"solutions"), settings=settings)
        ctx.out.mkdir(parents=True, exist_ok=True)
        fp = package_fingerprint()
        t = {"unpickle": 0.0, "receive": 0.0, "fingerprint": 0.0, "record": 0.0}
        sizes = []
        with Gradebook(ctx.out) as gb:
            run_id = gb.start_run(ctx.assignment, ctx.params_hash, ctx.params, 1)
            for f in folders:
                blob = pickle.dumps(remote.RemoteResult(json.loads((f/"result.json").read_text()), remote.pack_folder(f), str(f), "bench"))
                sizes.append(len(blob))
                c0 = time.process_time(); rr = pickle.loads(blob); t["unpickle"] += time.process_time() - c0
                c0 = time.process_time(); rec = remote.receive_result(rr, ctx, Submission(f.name, f/"submitted.ipynb")); t["receive"] += time.process_time() - c0
                c0 = time.process_time(); check_fingerprint(fp); t["fingerprint"] += time.process_time() - c0
                c0 = time.process_time(); gb.record(rec, run_id); t["record"] += time.process_time() - c0
    finally: shutil.rmtree(dest, ignore_errors=True)
    res["per_result_cpu"] = {**{kk: v / len(folders) for kk, v in t.items()}, "results": len(folders),
                             "total": sum(t.values()) / len(folders), "result_bytes_median": statistics.median(sizes)}
    return res


def med(xs): xs = [x for x in xs if x is not None]; return statistics.median(xs) if xs else None


def summarize(args, runs, rows, client_rows, extra:dict):
    "Tables (markdown) and the result file from what was measured so far (saved after every configuration)."
    import pandas as pd
    per, cli, thr = pd.DataFrame(rows), pd.DataFrame(client_rows), pd.DataFrame(runs)
    cols = ["total", "kernel_and_papermill", "training_cells_seconds", "other_cells_seconds", "score", "inspect", "execute"]
    per_med = per.groupby("workers")[[c for c in cols if c in per]].median().reset_index()
    per_med["prestarted"] = per.groupby("workers")["prestarted"].sum().values
    ccols = ["task_bytes", "result_bytes", "files_bytes", "end_to_client", "receive", "record", "end_to_gradebook"]
    cli_med = cli.groupby("workers")[ccols].median().reset_index()
    thr["speedup"] = thr.wall_seconds.iloc[0] / thr.wall_seconds
    thr["load_1min"] = [f"{a[0]:.1f}-{b[0]:.1f}" for a, b in zip(thr.load_average_1_5_15_before, thr.load_average_1_5_15_after)]
    md = (markdown(thr[["workers", "submissions", "ok", "wall_seconds", "submissions_per_minute", "speedup", "load_1min",
                        "client_cpu_per_submission"]],
                   {"wall_seconds": ".0f", "submissions_per_minute": ".2f", "speedup": ".2f", "client_cpu_per_submission": ".3f"})
          + "\n\n" + markdown(per_med, {c: ".1f" for c in cols})
          + "\n\n" + markdown(cli_med, {"task_bytes": ".0f", "result_bytes": ".0f", "files_bytes": ".0f", "end_to_client": ".3f",
                                         "receive": ".3f", "record": ".3f", "end_to_gradebook": ".3f"}))
    print("\n" + md)
    save(NAME, args,
         {"settings": extra.pop("settings"),
          "notes": "Submissions: the 01 solution with embedding width 16/32/48 and SimpleRNN units 16/24/32/40 cycling per student. "
                   "Reduced budget (budget_section). The reference band was filled before the timed part, in the output folder "
                   "all configurations reuse (force=True regrades every submission). Per submission: result.json + papermill "
                   "durations (bench_grading.per_submission). Client: end_to_client = the worker's grade_task end -> the client "
                   "holding the result; receive = unpack + result.json; record = the gradebook row; task/result bytes = pickled "
                   "RemoteTask/RemoteResult. client_process_cpu_seconds: this process (client + the in-process LocalCluster scheduler). "
                   "archive_broadcast: the full archive scattered to every worker after the run (the course grades on the bundled "
                   "sample, which is not shipped).",
          "throughput": thr.to_dict("records"), "per_submission_median": per_med.to_dict("records"),
          "client_median": cli_med.to_dict("records"), "per_submission": per.to_dict("records"),
          "client": cli.to_dict("records"), "markdown": md, **extra})



def main_client_costs(args):
    "--client-costs: measured beside no grading; merged into the result file of the run whose output folder it reads."
    from _common import RESULTS, _clean, machine_info
    keep = Path(args.client_costs)
    settings = keep/"settings.ini"
    banner(f"Dask client costs (results of {keep})", args)
    res = client_costs(keep/"out", args.assignment, str(settings), k=20, tasks=500)
    res["machine"] = machine_info()
    print(json.dumps(_clean(res), indent=1))
    path = Path(args.out) if args.out else RESULTS/f"{NAME}.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc["client_costs"] = _clean(res)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nmerged into {path}")


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--assignment", default="01_epochs")
    p.add_argument("--n", type=int, default=100, help="submissions in the folder")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="Dask worker processes (1 thread each)")
    p.add_argument("--train-samples", type=int, default=1000, help="[grading.<assignment>] train_samples of the reduced budget")
    p.add_argument("--epochs", type=int, default=1, help="[grading.<assignment>] epochs of the reduced budget")
    p.add_argument("--keep", default=None, help="keep the grading output here (default: a temp dir, deleted)")
    p.add_argument("--client-costs", default=None, metavar="OUT",
                   help="only the client's CPU per task and per result, on the graded folders of an earlier --keep OUT/out "
                        "(merged into the --out JSON under client_costs)")
    args = p.parse_args(argv)
    if args.client_costs: return main_client_costs(args)
    if args.quick: args.n, args.workers = 2, [1, 2]  # smoke test: results/dask_quick.json
    if args.assignment != "01_epochs": p.error("the submission generator edits the 01_epochs model cell; use 01_epochs")
    banner(f"Dask scale-out ({args.assignment}, {args.n} submissions, worker processes {args.workers})", args)

    import pandas as pd, psutil, distributed
    from imdb_course.grading.inspect import grading_params
    from imdb_course.grading.sandbox import grading_limits
    from imdb_course.grading.pipeline import grading_context, prepare_data
    from imdb_course.grading.reference import reference_band
    from imdb_course.instructor.grade import grade_folder
    solution = ROOT/"solutions"/f"{args.assignment}.ipynb"
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="imdb-bench-dask-"))
    tmp.mkdir(parents=True, exist_ok=True)
    settings = tmp/"settings.ini"
    budget = f"[grading.{args.assignment}]\ntrain_samples = {args.train_samples}\nepochs = {args.epochs}\n"
    settings.write_text((ROOT/"settings.ini").read_text() + "\n# bench_dask.py: the reduced budget\n" + budget)
    kw = dict(solutions_dir=str(ROOT/"solutions"), settings=str(settings))
    params = grading_params(args.assignment, kw["settings"])
    limits = grading_limits(args.assignment, kw["settings"])
    print(f"# injected parameters: {params}; kernel threads per notebook: {limits.kernel_threads}", flush=True)
    runs, rows, client_rows = [], [], []
    try:
        subs = tmp/"submissions"; subs.mkdir(exist_ok=True)
        students = make_submissions(solution, subs, args.n)
        out = tmp/"out"
        t0 = time.perf_counter()  # the reference band, once, before the timed part (every configuration reuses it)
        ctx, _ = grading_context(args.assignment, out, solutions_dir=kw["solutions_dir"], settings=kw["settings"])
        ctx.out.mkdir(parents=True, exist_ok=True)
        ref = reference_band(prepare_data(ctx), solution, None, workers=2)
        reference_s = time.perf_counter() - t0
        band = {q: r.get("accuracies") for q, r in ref.items() if r.get("accuracies")}
        print(f"   reference band ({ctx.reference_seeds} runs, 2 processes, before the timed part): {reference_s:.0f} s; {band}", flush=True)
        me = psutil.Process()
        def settings_doc(): return {"assignment": args.assignment, "submissions": args.n, "workers": args.workers, "params": params,
                                    "budget_section": budget, "kernel_threads": limits.kernel_threads, "reference_seconds": reference_s,
                                    "reference_band": band, "cluster": "distributed.LocalCluster(processes=True, threads_per_worker=1, memory_limit=0)"}
        for w in args.workers:
            t0 = time.perf_counter()
            with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None,
                                          memory_limit=0) as cluster, distributed.Client(cluster) as client:
                client.wait_for_workers(w)
                start_s = time.perf_counter() - t0
                client.run_on_scheduler(count_scheduler); client.run_on_scheduler(reset_count)
                load0, cpu0 = os.getloadavg(), me.cpu_times()
                t0 = time.perf_counter()
                with Probe() as probe:
                    df = grade_folder(subs, args.assignment, out=out, scheduler=cluster.scheduler_address, force=True,
                                      progress=False, report=False, **kw)
                wall = time.perf_counter() - t0
                cpu1, load1 = me.cpu_times(), os.getloadavg()
                sched = client.run_on_scheduler(count_scheduler)
                ship = ship_archive(client, Path(args.source)) if Path(args.source).is_file() else None
            cr = probe.client_rows()
            for s, x in cr.items(): x.update(student=s, workers=w); client_rows.append(x)
            per = per_submission(out, args.assignment, students)
            for r in per: r["workers"] = w
            rows += per
            ok = int((df["status"] == "ok").sum())
            cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
            run = {"workers": w, "submissions": args.n, "ok": ok, "statuses": df["status"].value_counts().to_dict(),
                   "total_points_median": float(df["total"].median()), "wall_seconds": wall, "cluster_start_seconds": start_s,
                   "submissions_per_minute": 60 * args.n / wall, "seconds_per_submission": wall / args.n,
                   "load_average_1_5_15_before": [round(x, 2) for x in load0], "load_average_1_5_15_after": [round(x, 2) for x in load1],
                   "client_process_cpu_seconds": cpu, "client_cpu_per_submission": cpu / args.n,
                   "scheduler": sched, "scatter_in_run": probe.scatter, "archive_broadcast": ship,
                   "task_bytes_median": med([x["task_bytes"] for x in cr.values()]),
                   "result_bytes_median": med([x["result_bytes"] for x in cr.values()]),
                   "end_to_client_median": med([x["end_to_client"] for x in cr.values()]),
                   "end_to_client_max": max((x["end_to_client"] for x in cr.values()), default=None),
                   "receive_median": med([x["receive"] for x in cr.values()]),
                   "record_median": med([x["record"] for x in cr.values()]),
                   "end_to_gradebook_median": med([x["end_to_gradebook"] for x in cr.values()]),
                   "end_to_gradebook_max": max((x["end_to_gradebook"] for x in cr.values()), default=None),
                   "worker_pids": len({x["worker_pid"] for x in cr.values()})}
            runs.append(run)
            print(f"   {w} worker process(es): {args.n} submissions in {wall:.0f} s ({run['submissions_per_minute']:.2f}/min), "
                  f"ok={ok}, load {run['load_average_1_5_15_before'][0]}->{run['load_average_1_5_15_after'][0]}, "
                  f"end->gradebook median {run['end_to_gradebook_median']:.3f} s, task {run['task_bytes_median']:.0f} B, "
                  f"result {run['result_bytes_median']:.0f} B, scheduler {sched}, archive broadcast {ship}", flush=True)
            try: summarize(args, runs, rows, client_rows, {"settings": settings_doc(), "complete": w == args.workers[-1]})
            except Exception: import traceback; traceback.print_exc()
    finally:
        if not args.keep: shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
