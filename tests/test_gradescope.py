"""The Gradescope autograder (imdb_course.instructor.gradescope, `imdb-course gradescope build`).

The zip is built for the fixture assignment `mini` (200 reviews, 1 epoch; one reference run), unpacked into a temp
folder laid out like Gradescope's /autograder (`source/` = the zip, `run_autograder` copied beside it, `submission/`,
`results/`), `setup.sh` is run against this virtualenv (no apt, no pip: it only prepares the data cache), and
`run_autograder` grades what is in `submission/`. Each results.json is checked against the rules of Gradescope's
*Autograder Specifications* (https://gradescope-autograders.readthedocs.io/en/latest/specs/) and *Leaderboards*
pages, written out below as a small schema check, and against what `imdb-course grade` finds for the same fixtures
(`tests/fixtures/expected.json`). Gradescope's container cannot run bubblewrap; a `bwrap` on PATH that fails the way
it fails there (`Creating new namespace failed: Operation not permitted`) puts the run in the same position here.
"""
from __future__ import annotations
import json, os, shutil, stat, subprocess, sys, zipfile
from pathlib import Path

import pytest

from imdb_course.instructor.gradescope import META_NAME, VISIBILITY, build_autograder, run_autograder
from imdb_course.grading.isolation import package_dir, probe_bwrap

ROOT = Path(__file__).resolve().parents[1]
F = ROOT/"tests"/"fixtures"
SOL = F/"mini_assignment"/"solutions"
EXPECTED = json.loads((F/"expected.json").read_text())
VENV = Path(sys.prefix)
BWRAP, NO_BWRAP = probe_bwrap()
pytestmark = pytest.mark.slow  # it trains (the reference once, then each graded notebook)

# --- Gradescope's results.json rules (Autograder Specifications, "Output format" and the sections below it) ---------
TOP = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str, "test_output_format": str,
       "test_name_format": str, "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str, "number": str,
        "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
FORMATS = ("text", "simple_format", "html", "md", "ansi")   # "Output String Formatting"
STATUS = ("passed", "failed")                                # "Test case status"


def check_results(d:dict):
    "Every rule of the specification results.json must satisfy (plus what the brief asks of ours: fields always present)."
    assert isinstance(d, dict) and set(d) <= set(TOP), set(d) - set(TOP)
    for k, v in d.items(): assert isinstance(v, TOP[k]) and not isinstance(v, bool), (k, v)
    assert "score" in d or all("score" in t for t in d.get("tests", [])), "score: required if not on each test case"
    for k in ("output_format", "test_output_format", "test_name_format"): assert d.get(k, "text") in FORMATS, k
    for k in ("visibility", "stdout_visibility"): assert d.get(k, "visible") in VISIBILITY, k
    for t in d.get("tests", []):
        assert set(t) <= set(TEST), set(t) - set(TEST)
        for k, v in t.items(): assert isinstance(v, TEST[k]) and not isinstance(v, bool), (k, v)
        assert t.get("visibility", "visible") in VISIBILITY and t.get("status", "passed") in STATUS
        for k in ("name_format", "output_format"): assert t.get(k, "text") in FORMATS
        assert {"name", "score", "max_score", "output", "visibility"} <= set(t), t   # ours: always all five
        assert 0 <= t["score"] <= t["max_score"] or t["max_score"] == 0 == t["score"], t
    for e in d.get("leaderboard", []):   # Leaderboards page: name, value, optional order asc|desc
        assert set(e) <= {"name", "value", "order"} and isinstance(e["name"], str) and e.get("order", "desc") in ("asc", "desc")
        assert isinstance(e["value"], (int, float, str)) and not isinstance(e["value"], bool)
    assert {"score", "execution_time", "output", "tests", "leaderboard"} <= set(d)   # ours: always present
    json.dumps(d, allow_nan=False)   # valid JSON: no NaN or Infinity


def test_check_results_can_fail():
    "The schema check rejects what the specification does not allow."
    good = {"score": 1.0, "execution_time": 3, "output": "x", "tests": [{"name": "q1", "score": 1.0, "max_score": 1.0,
            "output": "", "visibility": "visible"}], "leaderboard": [{"name": "q1 accuracy", "value": 0.8}]}
    check_results(good)
    for bad in ({**good, "tests": [{**good["tests"][0], "visibility": "students"}]}, {**good, "output_format": "pdf"},
                {**good, "tests": [{**good["tests"][0], "status": "ok"}]}, {**good, "scores": 1},
                {**good, "leaderboard": [{"name": "a", "value": 1, "order": "up"}]}, {**good, "tests": [{"name": "q1"}]}):
        with pytest.raises(AssertionError): check_results(bad)


# --- which backend `build` grades on (no training) -------------------------------------------------------------------
def _settings_with_backend(tmp_path, backend:str):
    from imdb_course.config import load_settings
    p = tmp_path/"settings.ini"
    p.write_text((F/"mini_assignment"/"settings.ini").read_text().replace("[grading]\n", f"[grading]\nbackend = {backend}\n"))
    return load_settings(p)


def test_backend_follows_the_measured_table(tmp_path, monkeypatch):
    "The course's grading backend where it was measured to fit 768 MB; else the backend that was, saying why; --backend wins."
    from imdb_course.instructor import gradescope as gs
    s = _settings_with_backend(tmp_path, "jax")
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(gs, "FITS_DEFAULTS", {"tensorflow": {"mini": 600}, "jax": {}})
    monkeypatch.setattr(gs, "DOES_NOT_FIT", {"tensorflow": {}, "jax": {"mini": "kernel OOM-killed in q4"}})
    b, why = gs.choose_backend("mini", s)
    assert b == "tensorflow" and "not mini's grading backend jax ([grading] backend)" in why and "kernel OOM-killed in q4" in why, why
    assert gs.choose_backend("mini", s, "jax") == ("jax", "jax, as asked (--backend)")
    monkeypatch.setattr(gs, "FITS_DEFAULTS", {"tensorflow": {"mini": 600}, "jax": {"mini": 700}})
    assert gs.choose_backend("mini", s)[0] == "jax"
    monkeypatch.setattr(gs, "FITS_DEFAULTS", {"tensorflow": {}, "jax": {}})
    b, why = gs.choose_backend("mini", s)
    assert b == "jax" and "nor on another backend" in why
    assert "at least" in gs.memory_advice("mini", b)   # and `build` asks for more memory



def test_build_follows_the_assignments_own_backend(tmp_path, monkeypatch):
    "`[grading.NAME] backend` (what `grading_limits` grades NAME on) is what `build` uses for NAME, unless the table says it does not fit."
    from imdb_course.config import load_settings
    from imdb_course.grading import pipeline
    from imdb_course.instructor import gradescope as gs
    p = tmp_path/"settings.ini"
    p.write_text((F/"mini_assignment"/"settings.ini").read_text().replace("[grading]\n", "[grading]\nbackend = tensorflow\n")
                 + "\n[grading.mini]\nbackend = jax\n")
    s = load_settings(p)
    assert gs.course_backend(s, "mini") == "jax" and gs.backend_source(s, "mini") == "[grading.mini] backend"
    monkeypatch.setattr(gs, "FITS_DEFAULTS", {"tensorflow": {"mini": 600}, "jax": {"mini": 700}})
    b, why = gs.choose_backend("mini", s)
    assert b == "jax" and "[grading.mini] backend" in why, why
    seen = {}
    class Stop(Exception): pass
    def fake_context(name, out, params_override, solutions_dir, settings, limits):   # stop before the reference run trains
        seen.update(out=Path(out), limits=limits); raise Stop
    monkeypatch.setattr(pipeline, "grading_context", fake_context)
    with pytest.raises(Stop): build_autograder("mini", tmp_path/"z.zip", SOL, s, reference_dir=tmp_path/"grading")
    assert seen["limits"]["backend"] == "jax" and seen["out"].name == "gradescope-jax", seen
    # measured not to fit on its own backend, but on the other: build moves it, and says why
    monkeypatch.setattr(gs, "FITS_DEFAULTS", {"tensorflow": {"mini": 600}, "jax": {}})
    monkeypatch.setattr(gs, "DOES_NOT_FIT", {"tensorflow": {}, "jax": {"mini": "kernel OOM-killed in q4"}})
    b, why = gs.choose_backend("mini", s)
    assert b == "tensorflow" and "not mini's grading backend jax ([grading.mini] backend)" in why and "OOM-killed" in why, why
    with pytest.raises(Stop): build_autograder("mini", tmp_path/"z.zip", SOL, s, reference_dir=tmp_path/"grading")
    assert seen["limits"]["backend"] == "tensorflow" and seen["out"].name == "gradescope-tensorflow", seen
    assert gs.choose_backend("mini", s, "jax") == ("jax", "jax, as asked (--backend)")   # --backend still wins

def test_tensorflow_zip_of_a_jax_course_grades_on_tensorflow(tmp_path, monkeypatch):
    "`[grading] backend = jax` in a course's settings.ini: a TensorFlow autograder's kernels still run on TensorFlow, without JAX."
    import importlib.util
    from imdb_course.grading.sandbox import grading_limits
    from imdb_course.instructor.gradescope import run_limits
    s = _settings_with_backend(tmp_path, "jax")
    lim = run_limits(s, "mini", 600, "tensorflow")
    assert lim["backend"] == "tensorflow"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))  # a TF-only container
    assert grading_limits("mini", s, **lim).backend == "tensorflow"
    with pytest.raises(Exception, match="JAX is not installed"): grading_limits("mini", s)


# --- the zip, and a tree laid out like /autograder ------------------------------------------------------------------
@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    "The autograder zip of `mini` (settings of the fixture, one reference run) and where it was built."
    base = tmp_path_factory.mktemp("gradescope")
    settings = base/"settings.ini"
    settings.write_text((F/"mini_assignment"/"settings.ini").read_text().replace("[grading]\n", "[grading]\nreference_seeds = 1\n"))
    z = build_autograder("mini", base/"autograder.zip", SOL, settings, reference_dir=base/"grading")
    return {"zip": z, "base": base, "settings": settings}


def _tree(autograder, tmp_path, submissions:dict, fail_bwrap:bool) -> tuple:
    "A folder laid out like /autograder (the zip in source/, run_autograder beside it, `submissions` in submission/); its env."
    root = tmp_path/"autograder"
    (root/"source").mkdir(parents=True); (root/"submission").mkdir()
    with zipfile.ZipFile(autograder["zip"]) as z:
        z.extractall(root/"source")
        for info in z.infolist():   # zipfile drops the mode: restore it as `unzip` does
            mode = info.external_attr >> 16
            if mode: os.chmod(root/"source"/info.filename, mode & 0o777)
    shutil.copy2(root/"source"/"run_autograder", root/"run_autograder")   # as Gradescope does
    for name, src in submissions.items():
        (root/"submission"/name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root/"submission"/name)
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "IMDB_COURSE_SETTINGS")}
    env.update(IMDB_COURSE_AUTOGRADER_ROOT=str(root), IMDB_COURSE_AUTOGRADER_VENV=str(VENV), IMDB_COURSE_AUTOGRADER_SKIP_APT="1")
    if fail_bwrap:   # what Gradescope's Docker container answers (default seccomp profile, no CAP_SYS_ADMIN)
        fake = tmp_path/"fakebin"; fake.mkdir()
        (fake/"bwrap").write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n")
        (fake/"bwrap").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    return root, env


def _run(root:Path, env:dict, timeout:float=900) -> dict:
    r = subprocess.run([str(root/"run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((root/"results"/"results.json").read_text())


def _host_strings(root:Path) -> list:
    "Paths of the machine that must not appear in what students read."
    return [str(root), str(root.resolve()), str(VENV), str(package_dir()), str(Path.home()) + "/", "/tmp/imdb-"]


def _assert_no_host_paths(results:dict, root:Path):
    shown = json.dumps({k: results[k] for k in ("output", "tests")})   # what students see (extra_data is not shown)
    for h in _host_strings(root): assert h not in shown, (h, shown[:3000])


def test_zip_layout(autograder, tmp_path):
    "setup.sh and run_autograder at the zip's root and executable; the wheel (no shipped solutions), settings, the student version, reference."
    with zipfile.ZipFile(autograder["zip"]) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        meta = json.loads(z.read(META_NAME))
        wheel = next(n for n in names if n.endswith(".whl"))
        req = z.read("requirements.txt").decode()
        (tmp_path/wheel).write_bytes(z.read(wheel))
        settings = z.read("settings.ini")
        shipped = z.read("solutions/mini.ipynb").decode()
    # the solution never enters the container (a graded notebook there runs as root without bubblewrap): its student version does
    assert "BEGIN SOLUTION" in (SOL/"mini.ipynb").read_text() and "BEGIN SOLUTION" not in shipped and '"question"' in shipped
    assert {"setup.sh", "run_autograder", "requirements.txt", "settings.ini", "solutions/mini.ipynb", "reference/reference.json", META_NAME} <= names
    assert all(modes[s] & 0o111 for s in ("setup.sh", "run_autograder")) and not modes["settings.ini"] & 0o111
    assert req.strip() == f"./{wheel}[instructor,tensorflow]" and settings == autograder["settings"].read_bytes()
    with zipfile.ZipFile(tmp_path/wheel) as w: assert not [n for n in w.namelist() if "/course/solutions/" in n]
    assert meta["assignment"] == "mini" and meta["backend"] == "tensorflow" and meta["auto_points"] == 5.0 and meta["written"] == {"q3w": 1.0}
    assert meta["leaderboard"] == ["q1", "q2"] and meta["limits"]["notebook_timeout"] <= 600 - 150
    assert meta["limits"]["backend"] == "tensorflow" and meta["backend_choice"].startswith("tensorflow")   # kernels on the zip's backend
    with zipfile.ZipFile(autograder["zip"]) as z:
        for script in ("setup.sh", "run_autograder"):
            assert subprocess.run(["bash", "-n"], input=z.read(script), capture_output=True).returncode == 0, script


def test_reference_solution_without_bubblewrap_full_marks(autograder, tmp_path):
    "Gradescope's case: no bubblewrap. The solution gets every automatic point, graded with the witness, and the output says so."
    root, env = _tree(autograder, tmp_path, {"mini.ipynb": SOL/"mini.ipynb"}, fail_bwrap=True)
    setup = subprocess.run(["bash", str(root/"source"/"setup.sh")], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0 and "'backend': 'tensorflow'" in setup.stdout and "Operation not permitted" in setup.stdout, setup.stdout + setup.stderr
    d = _run(root, env)
    check_results(d)
    assert d["score"] == 5.0 and [t["name"] for t in d["tests"]][:2] == ["q1", "q2"]
    assert [(t["score"], t["max_score"]) for t in d["tests"]] == [(2.0, 2.0), (3.0, 3.0), (0.0, 0.0)]
    assert "graded by hand on Gradescope" in d["tests"][2]["name"] and "1 point(s)" in d["tests"][2]["output"]
    assert "No OS sandbox" in d["output"] and "witness" in d["output"] and "Operation not permitted" in d["output"]
    assert "apt-get" not in d["output"] and d["output"].count("bwrap cannot create namespaces") == 1   # said once, without the instructor's fix
    assert d["extra_data"]["status"] == "ok" and d["extra_data"]["isolation"].startswith("none")
    assert [e["name"] for e in d["leaderboard"]] == ["q1 accuracy", "q2 accuracy"] and all(0 < e["value"] <= 1 for e in d["leaderboard"])
    for t, e in zip(d["tests"], d["leaderboard"]): assert f"{e['value']:.3f}" in t["output"]   # the same re-measured accuracy
    assert 0 < d["execution_time"] < 600
    _assert_no_host_paths(d, root)


@pytest.mark.skipif(not BWRAP, reason=f"the isolated case needs bubblewrap: {NO_BWRAP}")
def test_broken_fixture_same_findings_as_grade(autograder, tmp_path):
    "A notebook whose q2 raises (tests/fixtures: q2_exception): the same status, points and codes as `imdb-course grade` gives it."
    root, env = _tree(autograder, tmp_path, {"work/hw.ipynb": F/"submissions"/"q2_exception.ipynb"}, fail_bwrap=False)
    d = _run(root, env)
    check_results(d)
    exp = EXPECTED["q2_exception"]
    assert d["extra_data"]["status"] == exp["status"]
    assert {t["name"]: t["score"] for t in d["tests"][:2]} == exp["q"] and d["score"] == sum(exp["q"].values())
    assert set(exp["codes"]) <= set(d["extra_data"]["codes"])
    assert all(x in d["output"] + d["tests"][1]["output"] for x in exp["text"]), d
    assert "Sandbox: bubblewrap" in d["output"] and d["extra_data"]["isolation"].startswith("bwrap")
    _assert_no_host_paths(d, root)


@pytest.mark.parametrize("files, said", [({}, "no notebook (.ipynb) in your submission (it is empty): upload your mini.ipynb"),
                                         ({"a.ipynb": SOL/"mini.ipynb", "b/c.ipynb": SOL/"mini.ipynb"}, "2 notebooks in your submission (a.ipynb, b/c.ipynb)"),
                                         ({"notes.txt": F/"mini_assignment"/"settings.ini"}, "(found: notes.txt)")])
def test_none_or_several_notebooks_is_a_clear_result(autograder, tmp_path, files, said):
    "No notebook, or several: score 0, the reason in the output and on every question, nothing crashes, nothing runs."
    root, env = _tree(autograder, tmp_path, files, fail_bwrap=False)
    d = _run(root, env, timeout=300)
    check_results(d)
    assert d["score"] == 0 and said in d["output"] and d["output"].startswith("Not graded:")
    assert [t["name"] for t in d["tests"]] == ["q1", "q2", "q3w"] and all(t["score"] == 0 for t in d["tests"])
    assert [e["value"] for e in d["leaderboard"]] == [0.0, 0.0] and not (root/"imdb-course-grading").exists()
    _assert_no_host_paths(d, root)


def test_stale_or_broken_autograder_says_rebuild(autograder, tmp_path):
    "Settings changed after the build (another budget) or the zip's metadata gone: score 0 and the instructor's fix, no crash."
    root, env = _tree(autograder, tmp_path, {"mini.ipynb": SOL/"mini.ipynb"}, fail_bwrap=False)
    ini = root/"source"/"settings.ini"
    ini.write_text(ini.read_text().replace("epochs = 1", "epochs = 2"))
    d = run_autograder(root)   # the same function run_autograder's script calls
    check_results(d)
    assert d["score"] == 0 and "build the zip again" in d["output"] and str(root) not in json.dumps(d)
    (root/"source"/META_NAME).unlink()
    d = _run(root, env, timeout=300)
    check_results(d)
    assert d["score"] == 0 and "is missing" in d["output"] and d["tests"] == []
