"""The Gradescope autograder on the reference solution, inside Gradescope's default limits (imdb_course.instructor.gradescope).

Builds the autograder zip of an assignment with the course's own `[grading]` budget (settings.ini of this clone; one
reference run instead of `reference_seeds`, which changes what the zip carries, not what grading a submission costs),
unpacks it into a temp folder laid out like /autograder, runs `setup.sh` against this virtualenv (no apt, no pip: it
prepares the data cache) and then `run_autograder` on the reference solution, inside cgroup (v1) limits equal to
Gradescope's defaults: 768 MiB of memory (`memory.limit_in_bytes`) and ½ CPU (`cpu.cfs_quota_us` = ½ period). It
records the wall time, the score, the cgroup's peak memory (`memory.max_usage_in_bytes`, page cache included), the peak
of its anonymous memory (`total_rss` of memory.stat, sampled every 0.2 s: what the kernel cannot reclaim, the figure
that OOM-kills), each process's peak RSS split into anonymous and file-mapped pages (and who held what when the tree's
anonymous memory peaked), the peak of the summed RSS of the process tree and whether the kernel OOM-killed anything.
The page cache starts cold for this virtualenv, the tree and the data cache (`posix_fadvise` DONTNEED, `--warm-cache`
to skip): a fresh container reads TensorFlow's libraries again and the cgroup is charged for them, as Gradescope's is
(warm, they stay charged to whoever read them first and the cgroup's figure is too low).
`--no-limits` runs the same without the cgroups (for the comparison). `--fail-bwrap` puts a `bwrap` on PATH that fails
as it does in Gradescope's Docker container, so the run takes the unisolated (witness) path. On JAX, this virtualenv's
TensorFlow is hidden from the run (a failing `tensorflow` first on PYTHONPATH; `--with-tensorflow` to keep it): the JAX
autograder's container does not install it, and Keras would import it here only to probe for it (+300 MiB per kernel).

    nice -n 10 .venv/bin/python benchmarks/bench_gradescope.py --assignment 01_epochs --backend tensorflow --fail-bwrap
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile, threading, time, zipfile
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import machine_info  # noqa: E402

CPU_CG, MEM_CG = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/memory")


def own_cgroup(controller:str) -> Path:
    "This process's cgroup (v1) folder of `controller`."
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","): return Path(f"/sys/fs/cgroup/{controller}") / path.lstrip("/")
    raise RuntimeError(f"no cgroup v1 {controller} controller here")


def make_cgroups(name:str, memory_mb:int, cpus:float) -> list:
    "Child cgroups (cpu, memory, cpuacct) of this process's own, limited like Gradescope's container; `[cpu, memory, cpuacct]`."
    cpu, mem, acct = own_cgroup("cpu")/name, own_cgroup("memory")/name, own_cgroup("cpuacct")/name
    for d in (cpu, mem, acct): d.mkdir(exist_ok=True)
    period = int((cpu/"cpu.cfs_period_us").read_text())
    (cpu/"cpu.cfs_quota_us").write_text(str(int(period * cpus)))
    (mem/"memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
    try: (mem/"memory.memsw.limit_in_bytes").write_text(str(memory_mb * 2**20))  # no swapping around the limit
    except OSError: pass
    return [cpu, mem, acct]


def _short(cmd:list) -> str:
    "A process's command line, short: the program and what it runs (a kernel's connection file left out)."
    words = [Path(w).name if "/" in w else w for w in cmd if not w.endswith(".json")]
    return " ".join(words)[:80]


def _status_mb(pid:int) -> tuple:
    "`(RssAnon, RssFile)` of a process in MiB (/proc/PID/status): its own memory and the mapped files (libraries)."
    f = {l.split(":")[0]: int(l.split()[1]) for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("Rss")}
    return f.get("RssAnon", 0) / 1024, f.get("RssFile", 0) / 1024


def sample_cgroup(mem:Path, out:dict):
    "Peaks of the cgroup's own anonymous memory (`total_rss`: what cannot be reclaimed) and page cache (`total_cache`)."
    try: stat = dict(l.split() for l in (mem/"memory.stat").read_text().splitlines())
    except OSError: return
    for k, name in (("total_rss", "cgroup_peak_anon_mb"), ("total_cache", "cgroup_peak_cache_mb")):
        out[name] = round(max(out.get(name, 0), int(stat.get(k, 0)) / 2**20), 1)


def sample_tree(proc:psutil.Process, out:dict, stop:threading.Event, mem:Path|None=None):
    "Peak summed RSS (MiB) and process count of `proc` and its descendants (each one's peak RSS, anonymous and file), every 0.2 s."
    while not stop.is_set():
        if mem is not None: sample_cgroup(mem, out)
        try: procs = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess: break
        rss, anons, per = 0, {}, out.setdefault("per_process_peak_rss_mb", {})
        for p in procs:
            try:
                r = p.memory_info().rss; rss += r
                key = f"{p.pid} {_short(p.cmdline())}"
                anon, fmb = _status_mb(p.pid); anons[key] = round(anon, 1)
                prev = per.get(key, {"rss": 0, "anon": 0, "file": 0})
                per[key] = {"rss": round(max(prev["rss"], r / 2**20), 1), "anon": round(max(prev["anon"], anon), 1),
                            "file": round(max(prev["file"], fmb), 1)}
            except (psutil.Error, OSError): pass
        if sum(anons.values()) > out.get("peak_anon_sum_mb", 0):  # who holds what when the tree's own memory peaks
            out["peak_anon_sum_mb"], out["anon_at_peak_mb"] = round(sum(anons.values()), 1), anons
        out["peak_rss_mb"] = max(out.get("peak_rss_mb", 0), rss / 2**20)
        out["max_processes"] = max(out.get("max_processes", 0), len(procs))
        stop.wait(0.2)


def evict(*folders) -> int:
    """Drop the files under `folders` from the page cache (posix_fadvise DONTNEED; pages a running process maps stay): a container
    that starts cold reads its libraries and data again and the cgroup is charged for them, as Gradescope's is. Bytes seen."""
    seen = 0
    for folder in folders:
        for d, _, files in os.walk(folder):
            for f in files:
                try:
                    fd = os.open(os.path.join(d, f), os.O_RDONLY | os.O_NOFOLLOW)
                except OSError: continue
                try: seen += os.fstat(fd).st_size; os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                except OSError: pass
                finally: os.close(fd)
    return seen


def hide_tensorflow(base:Path, env:dict) -> Path:
    """A `tensorflow` package first on PYTHONPATH that fails to import, as in the JAX autograder's container (it installs
    imdb-course[instructor,jax]: no TensorFlow). In this virtualenv, which has both, Keras on JAX imports TensorFlow to
    probe for it (`keras.utils.set_random_seed`, serialization: `tf.available`), +300 MiB anonymous in a kernel."""
    shim = base/"no-tensorflow"/"tensorflow"; shim.mkdir(parents=True, exist_ok=True)
    (shim/"__init__.py").write_text('raise ImportError("TensorFlow is not installed in the JAX autograder\'s container")\n')
    env["PYTHONPATH"] = os.pathsep.join([str(shim.parent)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return shim.parent


def tree(zip_path:Path, base:Path, notebook:Path, fail_bwrap:bool) -> tuple:
    "A folder laid out like /autograder with `notebook` submitted; the environment run_autograder gets."
    root = base/"autograder"
    shutil.rmtree(root, ignore_errors=True)
    (root/"source").mkdir(parents=True); (root/"submission").mkdir()
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root/"source")
        for i in z.infolist(): os.chmod(root/"source"/i.filename, (i.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(root/"source"/"run_autograder", root/"run_autograder")
    shutil.copy(notebook, root/"submission"/notebook.name)
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "IMDB_COURSE_SETTINGS")}
    env.update(IMDB_COURSE_AUTOGRADER_ROOT=str(root), IMDB_COURSE_AUTOGRADER_VENV=sys.prefix, IMDB_COURSE_AUTOGRADER_SKIP_APT="1")
    if fail_bwrap:
        fake = base/"fakebin"; fake.mkdir(exist_ok=True)
        (fake/"bwrap").write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n")
        (fake/"bwrap").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    return root, env


def run_limited(cmd:list, root:Path, env:dict, cgroups:list) -> dict:
    "Run `cmd` (placed in `cgroups` before it execs), sampling its memory; wall time, peaks, OOM kills."
    def enter():  # in the child, before exec: join the limited cgroups
        for d in cgroups: (d/"cgroup.procs").write_text(str(os.getpid()))
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         preexec_fn=enter if cgroups else None)
    out, stop = {}, threading.Event()
    th = threading.Thread(target=sample_tree, args=(psutil.Process(p.pid), out, stop, cgroups[1] if cgroups else None), daemon=True); th.start()
    log = p.communicate()[0]
    stop.set(); th.join()
    out.update(wall_s=round(time.monotonic() - t0, 1), returncode=p.returncode, log_tail=log[-1500:])
    out["peak_rss_mb"] = round(out.get("peak_rss_mb", 0), 1)
    if cgroups:
        mem = cgroups[1]
        out["cgroup_peak_mb"] = round(int((mem/"memory.max_usage_in_bytes").read_text()) / 2**20, 1)
        stat = dict(l.split() for l in (mem/"memory.stat").read_text().splitlines())
        out["cgroup_rss_peak_note"] = "memory.max_usage_in_bytes counts page cache (reclaimable) as well as process memory"
        oom = dict(l.split() for l in (mem/"memory.oom_control").read_text().splitlines())
        out["oom_kills"] = int(oom.get("oom_kill", 0)); out["failcnt"] = int((mem/"memory.failcnt").read_text())
        cstat = dict(l.split() for l in (cgroups[0]/"cpu.stat").read_text().splitlines())
        out["cpu_throttled_s"] = round(int(cstat.get("throttled_time", 0)) / 1e9, 1)
        out["cpu_s"] = round(int((cgroups[2]/"cpuacct.usage").read_text()) / 1e9, 1)
        out["total_cache_mb"] = round(int(stat.get("total_cache", 0)) / 2**20, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assignment", default="01_epochs")
    ap.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax"))
    ap.add_argument("--timeout", type=int, default=600, help="Gradescope's autograder timeout the zip is built for")
    ap.add_argument("--memory-mb", type=int, default=768)
    ap.add_argument("--cpus", type=float, default=0.5)
    ap.add_argument("--no-limits", action="store_true", help="run without the cgroup limits")
    ap.add_argument("--fail-bwrap", action="store_true", help="bwrap fails as in Gradescope's container (witness-only grading)")
    ap.add_argument("--with-tensorflow", action="store_true", help="on JAX, leave this virtualenv's TensorFlow importable (by "
                    "default it is hidden, as in the JAX autograder's container, which does not install it)")
    ap.add_argument("--warm-cache", action="store_true", help="leave the virtualenv's files in the page cache (by default they are "
                    "dropped first, so the run's cgroup is charged for the libraries it maps, as in a fresh container)")
    ap.add_argument("--wall-limit", type=int, default=None, help="loaded machine: raise the wall-clock limits (notebook_timeout, "
                    "cell_timeout, the assignment's time_limit) in the bench's copy of settings.ini to this many seconds; build with "
                    "a --timeout above it. Memory and CPU seconds are what is measured, not the wall")
    ap.add_argument("--work", default=None, help="folder for the zip, the reference cache and the tree (default: a temp dir)")
    ap.add_argument("--out", default=None, help="result JSON (default benchmarks/results/gradescope_<assignment>_<backend>.json)")
    a = ap.parse_args()
    from imdb_course.instructor.gradescope import build_autograder
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-gradescope-")); work.mkdir(parents=True, exist_ok=True)
    settings = work/"settings.ini"   # the clone's settings, one reference run
    text = (ROOT/"settings.ini").read_text().replace("reference_seeds = 3", "reference_seeds = 1")
    if a.wall_limit:
        import re
        text = re.sub(r"(?m)^(notebook_timeout|cell_timeout|time_limit) = \d+$", lambda m: f"{m.group(1)} = {a.wall_limit}", text)
    settings.write_text(text)
    t0 = time.monotonic()
    z = build_autograder(a.assignment, work/f"gradescope-{a.assignment}.zip", ROOT/"solutions", settings, a.backend, a.timeout,
                         reference_dir=work/"grading")
    build_s = round(time.monotonic() - t0, 1)
    root, env = tree(z, work, ROOT/"solutions"/f"{a.assignment}.ipynb", a.fail_bwrap)
    hidden = a.backend == "jax" and not a.with_tensorflow
    if hidden: hide_tensorflow(work, env)
    t1 = time.monotonic()
    setup = subprocess.run(["bash", str(root/"source"/"setup.sh")], cwd=root, env=env, capture_output=True, text=True)
    setup_s = round(time.monotonic() - t1, 1)
    assert setup.returncode == 0, setup.stderr[-2000:]
    name = f"gs-bench-{os.getpid()}"
    cgroups = [] if a.no_limits else make_cgroups(name, a.memory_mb, a.cpus)
    cold = [] if a.warm_cache else [sys.prefix, str(root)] + [os.environ[k] for k in ("IMDB_COURSE_CACHE",) if os.environ.get(k)]
    evicted_mb = round(evict(*cold) / 2**20) if cold else 0
    load0 = os.getloadavg()
    try: run = run_limited([str(root/"run_autograder")], root, env, cgroups)
    finally:
        for d in cgroups:
            try: d.rmdir()
            except OSError as e: print(f"could not remove {d}: {e}", file=sys.stderr)
    results = json.loads((root/"results"/"results.json").read_text()) if (root/"results"/"results.json").is_file() else {}
    row = {"assignment": a.assignment, "backend": a.backend, "limits": None if a.no_limits else {"memory_mb": a.memory_mb, "cpus": a.cpus},
           "isolation": (results.get("extra_data") or {}).get("isolation"), "score": results.get("score"),
           "max_auto": sum(t["max_score"] for t in results.get("tests", [])), "status": (results.get("extra_data") or {}).get("status"),
           "execution_time_s": results.get("execution_time"), "build_s": build_s, "setup_s": setup_s,
           "wall_limit": a.wall_limit, "cold_cache": not a.warm_cache, "evicted_mb": evicted_mb, "tensorflow_hidden": hidden,
           "env": {k: os.environ[k] for k in sorted(os.environ) if k.startswith(("MALLOC_", "TF_", "XLA_", "IMDB_COURSE_GS"))},
           "load_before": [round(x, 2) for x in load0], "load_after": [round(x, 2) for x in os.getloadavg()], **run}
    info = machine_info()
    table = ("| assignment | backend | limits | isolation | score | run wall s | CPU s | cgroup peak MiB | cgroup anon peak MiB | peak RSS sum MiB | OOM kills | load (1 min) |\n"
             "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
             f"| {a.assignment} | {a.backend} | {'none' if a.no_limits else f'{a.memory_mb} MiB, {a.cpus:g} CPU'} | "
             f"{(row['isolation'] or '?').split(':')[0]} | {row['score']}/{row['max_auto']:g} | {row['wall_s']} | {row.get('cpu_s', '–')} | "
             f"{row.get('cgroup_peak_mb', '–')} | {row.get('cgroup_peak_anon_mb', '–')} | {row['peak_rss_mb']} | {row.get('oom_kills', '–')} | {row['load_before'][0]}→{row['load_after'][0]} |")
    print(table)
    print(json.dumps({k: v for k, v in row.items() if k != "log_tail"}, indent=1))
    out = Path(a.out or HERE/"results"/f"gradescope_{a.assignment}_{a.backend}{'_nolimits' if a.no_limits else ''}.json")
    out.write_text(json.dumps({"machine": info, "row": row, "results_json": results, "table": table}, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
