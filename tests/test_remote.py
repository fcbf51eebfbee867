"""Dask grading without a shared file system (imdb_course.grading.remote).

A `dask scheduler` runs here; its `dask worker` runs inside bubblewrap with a private /tmp and its own cwd: it sees
neither the submissions, nor the client's output folder, nor the data archive, nor the test fixtures. The class is
graded once locally and once on that worker; grades, statuses and codes must agree, and the files must be on the
client only. The data archive is a copy of the bundled sample in the client's temp dir, so the worker can only get
it by shipping: naming the client's path as worker-local data (`worker_data`) fails with the fix.
"""
from __future__ import annotations
import json, os, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path

import psutil
import pytest

from imdb_course.data import SAMPLE_PATH
from imdb_course.records.gradebook import Gradebook
from imdb_course.instructor.grade import grade_folder
from imdb_course.grading.isolation import probe_bwrap
from imdb_course.grading.remote import RemoteError

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (the dev extra installs it)")

ROOT = Path(__file__).resolve().parents[1]
F = ROOT/"tests"/"fixtures"
SOL, SETTINGS = F/"mini_assignment"/"solutions", F/"mini_assignment"/"settings.ini"
KW = dict(solutions_dir=SOL, settings=SETTINGS, progress=False)
CASES = ["correct", "q2_exception", "os_exit", "corrupted_json"]  # ok (trains both questions) / errors in q2 / the kernel
# dies after q1 / invalid (no run): three runs on two worker processes, so one worker runs two (its second pre-started)
BWRAP, NO_BWRAP = probe_bwrap()
DASK = Path(sys.executable).parent/"dask"
pytestmark = pytest.mark.slow  # it trains (1 epoch on 200 reviews, four times)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _wait(pred, timeout, what):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred(): return
        time.sleep(0.3)
    raise TimeoutError(what)


def worker_argv(address:str, hidden:list, nworkers:int=2, binds:tuple=()) -> list:
    "A `dask worker` inside bubblewrap: the whole machine read-only, but a private /tmp and `hidden` folders empty."
    args = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
            "--die-with-parent", "--unshare-pid"]
    # what a worker machine has installed: the Python environment and this imdb_course (CI keeps both under /tmp)
    for keep in sorted({str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve()), str(ROOT)}):
        if keep.startswith("/tmp/"): args += ["--ro-bind", keep, keep]
    for b in binds: args += ["--ro-bind", str(b), str(b)]
    for h in hidden:
        h = str(Path(h).resolve())
        if not h.startswith("/tmp/") or any(h.startswith(k + "/") for k in (str(ROOT), str(Path(sys.prefix).resolve()))):
            args += ["--tmpfs", h]
    args += ["--dir", "/tmp/worker-cwd", "--chdir", "/tmp/worker-cwd", "--"]
    return args + [str(DASK), "worker", address, "--nworkers", str(nworkers), "--nthreads", "1", "--no-dashboard",
                   "--memory-limit", "0", "--local-directory", "/tmp/worker-cwd/dask", "--death-timeout", "60"]


def worker_env(pythonpath:str|None=str(ROOT)) -> dict:
    "The worker's environment: none of the client's data or cache variables; this tree's imdb_course."
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMDB_COURSE_") and k != "PYTHONPATH"}
    env.update(HOME="/tmp/worker-cwd", TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    if pythonpath: env["PYTHONPATH"] = pythonpath
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    "A local scheduler and a bubblewrapped worker (2 processes) that shares no folder of the test."
    if not BWRAP: pytest.skip(f"the worker without a shared disk is simulated with bubblewrap: {NO_BWRAP}")
    base = tmp_path_factory.mktemp("remote")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    sched = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                             cwd=base, stdout=subprocess.DEVNULL, stderr=open(base/"scheduler.log", "w"))
    procs = [sched]
    def start_worker(pythonpath=str(ROOT), nworkers=2, log="worker.log", binds=()):
        p = subprocess.Popen(worker_argv(address, [base, F], nworkers, binds), env=worker_env(pythonpath), cwd="/",
                             stdout=subprocess.DEVNULL, stderr=open(base/log, "w"))
        procs.append(p); return p
    start_worker()
    with distributed.Client(address, timeout=60) as c: c.wait_for_workers(2, timeout=90)
    yield {"address": address, "base": base, "start_worker": start_worker}
    for p in reversed(procs):
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill()


@pytest.fixture(scope="module")
def client_side(cluster):
    "The client's folders: submissions, a data archive only the client has, the local grading of the class."
    base = cluster["base"]
    subs, data = base/"subs", base/"data"
    subs.mkdir(); data.mkdir()
    for c in CASES: shutil.copy(F/"submissions"/f"{c}.ipynb", subs)
    archive = data/"imdb_client_only.tar.xz"
    shutil.copy(SAMPLE_PATH, archive)
    params = {"DATA_SOURCE": str(archive)}
    t0 = time.monotonic()
    local = grade_folder(subs, "mini", out=base/"local", workers=2, params_override=params, **KW)
    return {"subs": subs, "archive": archive, "params": params, "local": local, "local_s": time.monotonic() - t0}


def _reuse_reference(cluster, out:Path):
    shutil.copytree(cluster["base"]/"local"/"reference", out/"reference")  # the reference run is the client's anyway


def _codes(out:Path) -> dict:
    with Gradebook(out) as gb: return {r.student: sorted(r.codes) for r in gb.results("mini")}


def test_worker_sees_no_client_folder(cluster, client_side):
    "The premise: the worker can read neither the submissions, nor the client's output, nor the data archive."
    hidden = [str(client_side["subs"]), str(cluster["base"]/"local"), str(client_side["archive"]), str(F/"submissions")]
    with distributed.Client(cluster["address"]) as c:
        seen = c.run(lambda paths: {p: os.path.exists(p) for p in paths}, hidden)
        cwd = c.run(os.getcwd)
    assert seen and all(not any(v.values()) for v in seen.values()), seen
    assert all(w != os.getcwd() for w in cwd.values())


def test_remote_grades_equal_local(cluster, client_side, tmp_path):
    "The class graded on the worker: same grades, statuses and codes as locally; every file is on the client."
    out = tmp_path/"out"
    _reuse_reference(cluster, out)
    t0 = time.monotonic()
    df = grade_folder(client_side["subs"], "mini", out=out, scheduler=cluster["address"],
                      params_override=client_side["params"], **KW)
    remote_s = time.monotonic() - t0
    print(f"\nlocal grading (reference + {len(CASES)} notebooks, 2 workers): {client_side['local_s']:.1f} s; "
          f"on the Dask worker ({len(CASES)} notebooks): {remote_s:.1f} s")
    cols = ["status", "q1", "q2", "q3w", "total", "max_total"]
    local = client_side["local"]
    assert df[cols].sort_index().equals(local[cols].sort_index()), (df[cols], local[cols])
    assert df.loc["correct", "total"] == 5.0 and df.loc["q2_exception", "status"] == "errors"
    assert _codes(out) == _codes(cluster["base"]/"local")
    with Gradebook(cluster["base"]/"local") as gb: iso_local = {r.student: r.isolation for r in gb.results("mini")}
    with Gradebook(out) as gb:
        assert gb.runs().status.tolist() == ["finished"]
        results = {r.student: r for r in gb.results("mini")}
    for s in ("correct", "q2_exception"):
        r, folder = results[s], out/"mini"/s
        assert r.folder == str(folder) and r.executed == str(folder/"executed.ipynb") and Path(r.executed).is_file()
        assert r.file == str(client_side["subs"]/f"{s}.ipynb") and r.params["DATA_SOURCE"] == str(client_side["archive"])
        assert json.loads((folder/"result.json").read_text())["folder"] == str(folder)
        assert (folder/"feedback.html").is_file()
        assert r.isolation == iso_local[s] and r.isolation.startswith("bwrap")  # the worker's kernels are sandboxed too
        hist = r.questions["q1"]["history"]
        assert hist and hist.startswith(str(folder)) and Path(hist).is_file()  # the curves of the feedback page
    assert "/tmp/imdb-remote-" not in json.dumps([r.to_dict() for r in results.values()])  # no worker path left
    # 3 runs on 2 worker processes: a worker's second notebook ran on the kernel it pre-started during its first
    assert sum(bool(r.timings.get("prestarted")) for r in results.values()) >= 1, {s: r.timings for s, r in results.items()}
    with distributed.Client(cluster["address"]) as c:  # nothing of the results stayed on the worker
        left = c.run(lambda: [str(p) for p in Path(tempfile.gettempdir()).rglob("*")
                              if p.name in ("gradebook.sqlite", "executed.ipynb", "result.json") or p.name.startswith("imdb-remote-")])
        spares = c.run(lambda: [" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
                                if "imdb_course.grading.runner" in (p.info["cmdline"] or []) and "--wait" in (p.info["cmdline"] or [])])
    assert all(v == [] for v in left.values()), left
    assert all(v == [] for v in spares.values()), spares  # the last pre-started kernels were ended with the run


def test_data_not_shipped_fails_with_the_fix(cluster, client_side, tmp_path):
    "Naming the client's archive as the workers' copy (so it is not shipped): refused before anything is graded."
    _reuse_reference(cluster, tmp_path/"out")
    with pytest.raises(RemoteError, match=r"has no .*imdb_client_only.*copy the data there on every worker, or drop --worker-data"):
        grade_folder(client_side["subs"], "mini", out=tmp_path/"out", scheduler=cluster["address"],
                     params_override=client_side["params"], worker_data=str(client_side["archive"]), **KW)
    assert not (tmp_path/"out"/"mini"/"correct").exists()


def test_worker_with_other_code_is_refused(cluster, client_side, tmp_path):
    "A worker importing another imdb_course (a copy of this one with one module changed) is named, with the fix."
    other = tmp_path/"other"
    shutil.copytree(ROOT/"imdb_course", other/"imdb_course", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other/"imdb_course"/"grading"/"points.py", "a") as f: f.write("\nFULL_MARKS_FOR_ALL = True  # a worker's own edit\n")
    _reuse_reference(cluster, tmp_path/"out")
    p = cluster["start_worker"](pythonpath=str(other), nworkers=1, log="worker-other.log", binds=(other,))
    try:
        with distributed.Client(cluster["address"]) as c: c.wait_for_workers(3, timeout=90)
        with pytest.raises(RemoteError, match=r"(other code than the client's|runs imdb_course).*install the client's imdb_course"):
            grade_folder(client_side["subs"], "mini", out=tmp_path/"out", scheduler=cluster["address"],
                         params_override=client_side["params"], **KW)
    finally:
        p.terminate(); p.wait(30)
