"""The sandbox itself (imdb_course.grading.isolation), attacked the way a hostile submission would: each test runs
real code inside bubblewrap and checks the attempt fails while the host stays untouched. In CI bwrap must be there."""
from __future__ import annotations
import os, shutil, socket, subprocess, sys, textwrap, threading, time
from pathlib import Path

import psutil
import pytest

import imdb_course
from imdb_course.grading.isolation import (MAX_PROCESSES, WORK_MOUNT, SandboxUnavailable, choose_isolation, probe_bwrap,
                                           run_isolated)


@pytest.fixture(scope="module")
def iso():
    exe, why = probe_bwrap()
    if not exe:
        if os.environ.get("CI"): pytest.fail(f"CI must test the sandbox: {why}")
        pytest.skip(why)
    return choose_isolation("required")


def _run(iso, tmp_path, code, **kw):
    work = tmp_path/"work"; work.mkdir(exist_ok=True)
    return run_isolated(iso, work, [sys.executable, "-c", textwrap.dedent(code)], **kw), work


def test_home_repo_and_other_students_are_not_visible(iso, tmp_path):
    other = tmp_path/"submissions"/"bob.ipynb"; other.parent.mkdir(); other.write_text("bob's work")
    secret = Path.home()/".imdb-course-test-secret"; secret.write_text("x")
    try:
        r, _ = _run(iso, tmp_path, f"""
            import os
            for p in [{str(other)!r}, {str(secret)!r}, {str(Path(__file__).resolve())!r}, "/etc/shadow", "/etc/passwd"]:
                print(p, os.path.exists(p))
            print("HOME", os.path.expanduser("~"))""")
    finally: secret.unlink()
    assert r.returncode == 0, r.stderr
    seen = dict(l.rsplit(" ", 1) for l in r.stdout.splitlines())
    assert seen.pop("HOME") == WORK_MOUNT
    assert set(seen.values()) == {"False"}, r.stdout


def test_writes_outside_the_work_dir_fail(iso, tmp_path):
    pkg = Path(imdb_course.__file__).resolve().parent
    target = tmp_path/"outside.txt"
    r, work = _run(iso, tmp_path, f"""
        import os, subprocess
        for p in [{str(pkg/'score_hack.py')!r}, {str(target)!r}, "/usr/evil", {str(Path(sys.prefix)/'evil')!r}]:
            try: open(p, "w").write("x"); print("WROTE", p)
            except OSError as e: print("blocked", p, e.errno)
        os.system("echo x > {target} 2>/dev/null; echo x > {pkg}/via_shell.py 2>/dev/null")
        subprocess.run(["/bin/sh", "-c", "echo x > /tmp/ok.txt && cp /tmp/ok.txt ./inside.txt"])""")
    assert "WROTE" not in r.stdout, r.stdout
    assert not (pkg/"score_hack.py").exists() and not (pkg/"via_shell.py").exists() and not target.exists()
    assert (work/"inside.txt").read_text().strip() == "x"  # the work dir and a private /tmp are writable


def test_no_network_even_to_loopback_listeners(iso, tmp_path):
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1); srv.settimeout(5)
    port, got = srv.getsockname()[1], []
    t = threading.Thread(target=lambda: got.append(_accept(srv)), daemon=True); t.start()
    r, _ = _run(iso, tmp_path, f"""
        import socket
        try: socket.create_connection(("127.0.0.1", {port}), timeout=3); print("CONNECTED")
        except OSError as e: print("refused", e)
        print(sorted(n for _, n in socket.if_nameindex()))""")
    t.join(6); srv.close()
    assert "CONNECTED" not in r.stdout and r.stdout.startswith("refused"), r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "['lo']"  # no interface but its own loopback
    assert got == [None]


def _accept(srv):
    try: srv.accept(); return "accepted"
    except OSError: return None


def test_fork_bomb_is_bounded(iso, tmp_path):
    r, _ = _run(iso, tmp_path, """
        import os, time
        n = 0
        for _ in range(5000):
            try:
                if os.fork() == 0: time.sleep(30); os._exit(0)
                n += 1
            except OSError: break
        print("forked", n)""", max_processes=64, timeout=120)
    n = int(r.stdout.split()[-1])
    assert 0 < n < 64, r.stdout + r.stderr


def test_caps_never_read_the_hosts_places_while_bwrap_sets_up(iso, tmp_path):
    """The grader watches each run's /tmp, /dev/shm and work dir through `/proc/<pid>/root`. Until bwrap's child has
    pivoted into the sandbox that path is the host's root: its /tmp (hundreds of thousands of files here) once read as an
    honest run's and stopped it as a file flood under load. Every launch is polled from its first instant."""
    from imdb_course.grading.isolation import bwrap_argv
    from imdb_course.grading.sandbox import _inside_process, place_usage
    host = os.statvfs("/tmp")
    readings, work = [], tmp_path/"work"
    work.mkdir()
    for _ in range(30):
        proc = subprocess.Popen(bwrap_argv(iso, work, ["/bin/sleep", "0.2"]), stdout=subprocess.DEVNULL)
        inner, t0 = None, time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 5:
            if (inner := _inside_process(proc, inner)): readings.append(place_usage(inner.pid))
        proc.wait()
    tmp = [r["/tmp"] for r in readings if "/tmp" in r]
    assert tmp, "no reading of the sandbox's /tmp at all: the test measured nothing"
    assert max(files for _, _, files in tmp) < 100, max(tmp, key=lambda u: u[2])
    assert all(total < host.f_blocks * host.f_frsize for _, total, _ in tmp)  # the sandbox's tmpfs, never the host's disk


def test_processes_left_running_die_with_the_sandbox(iso, tmp_path):
    marker = f"imdb-course-orphan-{os.getpid()}-{time.time_ns()}"
    r, _ = _run(iso, tmp_path, f"""
        import subprocess
        subprocess.Popen(["/bin/sh", "-c", "exec -a {marker} sleep 300"], start_new_session=True)
        print("started")""")
    assert "started" in r.stdout, r.stderr
    time.sleep(0.5)
    alive = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert not alive, alive


def test_cannot_see_or_signal_grader_processes(iso, tmp_path):
    r, _ = _run(iso, tmp_path, f"""
        import os, signal
        print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        try: os.kill({os.getpid()}, signal.SIGTERM); print("SIGNALLED")
        except OSError as e: print("no such process", e.errno)""")
    pids = eval(r.stdout.splitlines()[0])
    assert max(pids) < 10 and "SIGNALLED" not in r.stdout, r.stdout


def test_required_without_bwrap_names_the_fix(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"): choose_isolation("required")
    assert choose_isolation("auto").reason.startswith("bubblewrap (bwrap) is not installed")


def test_read_only_extras_are_visible_even_under_tmp(iso, tmp_path):
    data = tmp_path/"data.txt"; data.write_text("reviews")  # tmp_path lies under the host's /tmp, like CI's venv
    r, _ = _run(iso, tmp_path, f"""
        print(open({str(data)!r}).read())
        try: open({str(data)!r}, "w"); print("WRITABLE")
        except OSError: print("read-only")""", read_only=[data])
    assert r.stdout.split() == ["reviews", "read-only"], r.stdout + r.stderr


def test_prestarted_kernel_sees_only_its_own_work_dir(iso, tmp_path):
    "Two pre-started runs (this submission's and the next one's): neither kernel sees the other's files or folder."
    import nbformat
    from imdb_course.grading.sandbox import Limits, prepare_run, run_notebook
    a, b = prepare_run(Limits(), iso), prepare_run(Limits(), iso)
    try:
        (b.work/"bob.ipynb").write_text("bob's work")  # the next student's copy arrives while alice's notebook runs
        probe = (f"import os, sys; print(sorted(os.listdir('/submission')), os.path.exists({str(b.work/'bob.ipynb')!r}), "
                 f"os.path.exists({str(b.root)!r}), os.path.exists({str(a.root)!r}), 'keras' in sys.modules)")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("X = 1", metadata={"tags": ["parameters"]}),
                                             nbformat.v4.new_code_cell(probe)],
                                      metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
        nbformat.write(nb, a.work/"alice.ipynb")
        ex = run_notebook(a.work/"alice.ipynb", a.work, {"X": 2}, Limits(), executed=tmp_path/"a.ipynb", iso=iso, prepared=a)
        assert ex.status == "ok", ex
        out = nbformat.read(ex.executed, 4).cells[-1].outputs[0]["text"]
        assert "alice.ipynb" in out and "bob" not in out and out.strip().endswith("False False False True"), out
        assert not ex.outside_writes and not ex.leftover, ex
    finally:
        a.discard(); b.discard()
    assert not a.root.exists() and not b.root.exists() and b.proc.poll() is not None


MINI = Path(__file__).resolve().parent/"fixtures"/"mini_assignment"


@pytest.fixture(scope="module")
def mini_jax(iso, tmp_path_factory):
    "The mini assignment on JAX, its reference run done (one seed): it filled the XLA compilation cache."
    pytest.importorskip("jax")
    from imdb_course.grading.pipeline import grading_context, prepare_data
    from imdb_course.grading.reference import reference_run
    tmp = tmp_path_factory.mktemp("xla")
    settings = tmp/"settings.ini"
    settings.write_text((MINI/"settings.ini").read_text().replace("[grading]\n", "[grading]\nbackend = jax\nreference_seeds = 1\n", 1))
    ctx, solution = grading_context("mini", tmp/"out", solutions_dir=MINI/"solutions", settings=settings)
    assert ctx.iso.isolated and ctx.limits.backend == "jax"
    ctx = prepare_data(ctx)
    reference_run(ctx, solution)
    return ctx, solution


def test_reference_run_fills_the_xla_cache_sealed(mini_jax):
    "The trusted reference run fills the cache; then it is the grader's own: read-only, regular files, moved in whole."
    from imdb_course.grading.reference import xla_cache_for
    ctx, _ = mini_jax
    d = Path(xla_cache_for(ctx))
    files = list(d.iterdir())
    assert len(files) >= 5 and all(f.is_file() and not f.is_symlink() and f.name.endswith("-cache") for f in files), files
    assert all(f.stat().st_uid == os.geteuid() and f.stat().st_mode & 0o777 == 0o644 for f in files)
    assert d.stat().st_uid == os.geteuid() and d.stat().st_mode & 0o777 == 0o755
    assert not [p for p in d.parent.iterdir() if p.name.startswith(f".{ctx.params_hash}-xla")]  # no half-filled folder left


ATTACK = '''
import os, errno
d = os.environ["JAX_COMPILATION_CACHE_DIR"]
entry = sorted(os.listdir(d))[0]
tries = {"new": lambda: open(os.path.join(d, "jit_evil-0-cache"), "wb").write(b"x"),
         "overwrite": lambda: open(os.path.join(d, entry), "r+b").write(b"x"),
         "delete": lambda: os.unlink(os.path.join(d, entry)),
         "rename": lambda: os.rename(os.path.join(d, entry), os.path.join(d, entry + ".old")),
         "chmod": lambda: os.chmod(os.path.join(d, entry), 0o666)}
for name, f in tries.items():
    try: f(); print("WROTE", name)
    except OSError as e: print("blocked", name, errno.errorcode.get(e.errno))
'''
HITS = ('import jax.monitoring\nHITS = []\n'
        'jax.monitoring.register_event_listener(lambda event, **kw: HITS.append(event) if event.endswith("cache_hits") else None)')
MISS = 'import jax, jax.numpy as jnp\nprint(float(jax.jit(lambda x: (x * 3 + 1).sum())(jnp.ones(7))), len(HITS) > 0)'


def test_graded_kernel_reads_the_xla_cache_but_cannot_write_it(mini_jax, tmp_path):
    """A graded kernel gets the cache read-only: its programs are reused (cache hits), a new program (a miss) compiles
    without a warning in the outputs, and every attempt to write, delete or re-mode the cache fails and is a finding."""
    import hashlib, nbformat
    from dataclasses import replace
    from imdb_course.grading.inspect import Submission
    from imdb_course.grading.pipeline import grade_one
    from imdb_course.grading.reference import reference_run, xla_cache_for
    ctx, solution = mini_jax
    d = Path(xla_cache_for(ctx))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()}
    ctx = replace(ctx, reference=reference_run(ctx, solution), xla_cache=str(d))
    nb = nbformat.read(solution, 4)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell(HITS))
    nb.cells += [nbformat.v4.new_code_cell(MISS), nbformat.v4.new_code_cell(ATTACK)]
    path = tmp_path/"mallory.ipynb"; nbformat.write(nb, path)
    r = grade_one(ctx, Submission("mallory", path))
    assert r.status == "ok", r.message
    cells = nbformat.read(r.executed, 4).cells
    out = "".join(o.get("text", "") for o in cells[-1].outputs)
    assert "WROTE" not in out and out.count("blocked") == 5, out
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()} == before  # the host's cache unchanged
    assert "sandbox-write-outside" in r.codes, r.codes  # the attempts are a finding, though the cache lies under /tmp here
    tried = {str(d/"jit_evil-0-cache"), str(d/sorted(before)[0]), str(d/(sorted(before)[0] + ".old"))}
    assert set(r.outside_writes) == tried, r.outside_writes  # JAX's own `mkdir(exist_ok=True)` of the cache is none
    assert "".join(o.get("text", "") for o in cells[-2].outputs).split() == ["28.0", "True"]  # programs came from the cache
    noise = [o.get("text", "") for c in cells[:-1] for o in c.get("outputs", []) if o.get("name") == "stderr"
             and o.get("text", "").strip() != "Matplotlib is building the font cache; this may take a moment."]  # its own, on a busy machine
    assert not noise, noise  # no cache warning (read or write), nor any other, in the notebook's outputs
