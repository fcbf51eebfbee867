"""A course from a pip install: the package wheel, installed into a fresh virtualenv, scaffolds a course with
`imdb-course init` and finds the shipped solutions; `imdb-course release --wheel` puts a student wheel (without the
solutions) beside the notebooks, and a released notebook's first cell installs it where imdb_course is missing.

The fresh venv: TensorFlow & co. are far too big to install per test, and a venv with the system site packages of
/work/main/.venv (itself a venv) is not possible. So the venv is made from the base interpreter (`sys.base_prefix`),
and a `.pth` file adds a *symlink farm* of the running venv's site-packages that leaves out everything of
imdb_course (its dist-info, the editable finder and its .pth) and pip/setuptools. The venv therefore sees the
dependencies (pip counts them as installed, so `pip install imdb_course-*.whl` needs no index: PIP_NO_INDEX=1) but
no imdb_course at all until a wheel is installed; PYTHONPATH is dropped so the worktree cannot shadow it either.
"""
import os, shutil, subprocess, sys, sysconfig, zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (ROOT/"solutions").glob("*.ipynb"))
_SKIP = ("imdb_course", "__editable__", "imdb-course", "pip", "setuptools", "_distutils_hack", "distutils-precedence")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IMDB_COURSE_SETTINGS", "VIRTUAL_ENV")}
    return {**env, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _run(cmd, cwd, check=True, timeout=300, env=None):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=timeout)
    if check: assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def deps_farm(tmp_path_factory):
    "The running venv's site-packages minus imdb_course, pip and setuptools, as symlinks."
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp_path_factory.mktemp("deps")
    farm.chmod(0o755)  # like a real site-packages (pytest's 0700): the sandbox's unprivileged uid must read it
    for entry in site.iterdir():
        if entry.name.startswith(_SKIP) or entry.suffix == ".pth": continue
        (farm/entry.name).symlink_to(entry)
    return farm


def make_venv(path:Path, farm:Path) -> Path:
    "A fresh venv (with pip) from the base interpreter that imports the dependencies from `farm`; its python."
    base = Path(sys.base_prefix)/"bin"/"python3"
    subprocess.run([str(base), "-m", "venv", str(path)], check=True, capture_output=True, timeout=120, env=_env())
    py = path/"bin"/"python"
    purelib = _run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], path).stdout.strip()
    (Path(purelib)/"imdb_course_test_deps.pth").write_text(f"{farm}\n")
    r = _run([py, "-c", "import importlib.util as u; print(u.find_spec('imdb_course'), u.find_spec('keras') is not None)"], path)
    assert r.stdout.split() == ["None", "True"], f"the fresh venv must see keras but not imdb_course: {r.stdout}"
    return py


def build_wheel(dest:Path) -> Path:
    "The instructor's wheel (`pip wheel --no-deps`), built from a copy so the source tree gets no build/ folder."
    src = dest/"src"
    shutil.copytree(ROOT/"imdb_course", src/"imdb_course", ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("pyproject.toml", "README.md"): shutil.copy(ROOT/item, src/item)
    # the build backend (setuptools>=77, isolated build) may come from the index: no PIP_NO_INDEX here
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", src, "-w", dest/"wheel"], dest, env=dict(os.environ))
    return next((dest/"wheel").glob("imdb_course-*.whl"))


@pytest.fixture(scope="module")
def pip_installed(tmp_path_factory, deps_farm):
    "The python of a fresh venv where imdb_course comes only from the wheel."
    d = tmp_path_factory.mktemp("instructor")
    wheel = build_wheel(d)
    names = zipfile.ZipFile(wheel).namelist()
    for n in NAMES: assert f"imdb_course/course/solutions/{n}.ipynb" in names and f"imdb_course/course/assignments/{n}.ipynb" in names
    assert "imdb_course/course/settings.ini" in names
    py = make_venv(d/"venv", deps_farm)
    _run([py, "-m", "pip", "install", "-q", "--no-deps", wheel], d)
    return py


def test_init_from_a_pip_install(pip_installed, tmp_path):
    exe = pip_installed.parent/"imdb-course"
    r = _run([pip_installed, "-c", "import imdb_course; print(imdb_course.__file__)"], tmp_path)
    assert str(pip_installed.parents[1]) in r.stdout, f"imdb_course must come from the venv's wheel: {r.stdout}"
    r = _run([exe, "init", "course"], tmp_path)
    c = tmp_path/"course"
    assert (c/"settings.ini").read_bytes() == (ROOT/"settings.ini").read_bytes()
    assert "# What an assignment's first cell pip-installs" in (c/"settings.ini").read_text()  # the comments too
    for n in NAMES:
        assert (c/"solutions"/f"{n}.ipynb").read_bytes() == (ROOT/"solutions"/f"{n}.ipynb").read_bytes()
        assert (c/"assignments"/f"{n}.ipynb").read_bytes() == (ROOT/"assignments"/f"{n}.ipynb").read_bytes()
        assert (c/"submissions"/n).is_dir() and not any((c/"submissions"/n).iterdir())
    assert "imdb-course demo" in (c/"README.md").read_text() and "cd course" in r.stdout

    (c/"settings.ini").write_text((c/"settings.ini").read_text().replace("workers = 1", "workers = 3"))
    r = _run([exe, "init", "course"], tmp_path, check=False)
    assert r.returncode == 2 and "course/settings.ini already exists" in r.stderr and "--force" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "workers = 3" in (c/"settings.ini").read_text()  # nothing overwritten

    # commands run inside the course folder (or below it) use its settings.ini
    r = _run([exe, "config"], c/"submissions")
    assert f"settings: {c.resolve()/'settings.ini'}" in r.stdout and "[grading] workers = 3" in r.stdout
    r = _run([exe, "release", "--check"], c)
    assert "assignments are up to date" in r.stdout

    _run([exe, "init", "course", "--force"], tmp_path)
    assert "workers = 1" in (c/"settings.ini").read_text()

    # from a pip install there is no source tree to build the student wheel from: a clear error
    r = _run([exe, "release", "--wheel"], c, check=False)
    assert r.returncode == 2 and "from a source tree" in r.stderr and "package_source" in r.stderr, r.stderr


def test_shipped_solutions_found_in_an_empty_folder(pip_installed, tmp_path):
    code = ("from imdb_course.course import find_solutions, course_settings, shipped_course_dir; "
            "print(find_solutions().resolve()); print(course_settings()); print(shipped_course_dir())")
    sol, settings, shipped = _run([pip_installed, "-c", code], tmp_path).stdout.split()
    assert sol == str(Path(shipped)/"solutions") and settings == str(Path(shipped)/"settings.ini")
    assert str(pip_installed.parents[1]) in shipped
    assert sorted(p.stem for p in Path(sol).glob("*.ipynb")) == NAMES
    (tmp_path/"solutions").mkdir()
    assert _run([pip_installed, "-c", code], tmp_path).stdout.split()[0] == str((tmp_path/"solutions").resolve())


def test_released_notebook_installs_the_bundled_wheel(tmp_path, deps_farm):
    # the instructor, in a clone: release with --wheel (this worktree's package, from the running venv)
    shutil.copytree(ROOT/"solutions", tmp_path/"solutions")
    (tmp_path/"settings.ini").write_text("[course]\npackage_source = imdb-course @ https://example.org/imdb_course.whl\n")
    r = subprocess.run([sys.executable, "-c", "import sys; from imdb_course.cli import main; sys.exit(main(sys.argv[1:]))",
                        "release", "solutions", "assignments", "--wheel"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = list((tmp_path/"assignments").glob("imdb_course-*.whl"))
    assert len(wheels) == 1 and "wheel" in r.stdout
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "imdb_course/course.py" in names and "imdb_course/course/assignments/01_epochs.ipynb" in names
    assert not [n for n in names if "/solutions/" in n], "the students' wheel must not carry the solutions"
    first = nbformat.read(tmp_path/"assignments"/"01_epochs.ipynb", as_version=4).cells[1].source
    assert 'PACKAGE_SOURCE = "imdb-course @ https://example.org/imdb_course.whl"' in first  # written from settings.ini

    # the student: a fresh venv without imdb_course runs the first cell next to the wheel
    py = make_venv(tmp_path/"student-venv", deps_farm)
    cell = tmp_path/"first_cell.py"
    cell.write_text(first + "\nprint('imported', imdb_course.__file__)\n")
    r = _run([py, cell], tmp_path/"assignments")
    assert "imported" in r.stdout and str(tmp_path/"student-venv") in r.stdout, r.stdout + r.stderr

    # no wheel beside the notebook and no package source: the cell says what to do (the same venv, its wheel
    # uninstalled: a second fresh venv cost ~10 s)
    _run([py, "-m", "pip", "uninstall", "-y", "-q", "imdb-course"], tmp_path)
    r = _run([py, "-c", "import importlib.util as u; print(u.find_spec('imdb_course'))"], tmp_path)
    assert r.stdout.split() == ["None"], f"imdb_course must be gone from the student venv: {r.stdout}"
    (tmp_path/"empty").mkdir()
    cell.write_text(first.replace('PACKAGE_SOURCE = "imdb-course @ https://example.org/imdb_course.whl"', 'PACKAGE_SOURCE = ""'))
    r = _run([py, cell], tmp_path/"empty", check=False)
    assert r.returncode == 1 and "no imdb_course-*.whl next to this notebook" in r.stderr, r.stderr


@pytest.mark.slow
def test_demo_from_a_pip_install_in_an_empty_folder(pip_installed, tmp_path):
    "`imdb-course demo` with no solutions/ and no settings.ini here: the shipped course is released and graded."
    # a smaller budget keeps CI short; the default budget is measured in benchmarks/ (bench_grading.py)
    r = _run([pip_installed.parent/"imdb-course", "demo", "--workers", "2", "-p", "TRAIN_SAMPLES", "1500", "-p", "EPOCHS", "1"],
             tmp_path, timeout=1200)
    assert "released 5 student notebooks" in r.stdout and "ada_solution" in r.stdout, r.stdout[-3000:]
    ada = next(l for l in r.stdout.splitlines() if l.startswith("ada_solution"))
    assert " ok " in ada and "8/8" in ada, ada
    assert (tmp_path/"imdb-course-demo"/"grading"/"gradebook.sqlite").is_file()
    canvas = (tmp_path/"imdb-course-demo"/"canvas.csv").read_text().splitlines()   # the rest of the loop
    assert canvas[0].startswith("Student,ID,SIS User ID") and "Points Possible" in canvas[1] and len(canvas) == 2 + 6
    assert "copy detection: " in r.stdout and "imdb-course review" in r.stdout
    import pandas as pd
    pairs = pd.read_csv(next((tmp_path/"imdb-course-demo"/"grading").rglob("similarity.csv")))
    copied = pairs[(pairs.student_a + pairs.student_b).str.contains("fay_copied_from_dee")
                   & (pairs.student_a + pairs.student_b).str.contains("dee_no_embedding")]
    assert copied.flagged.all() and len(copied) == 1
