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
import os, re, shutil, subprocess, sys, sysconfig, zipfile
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
    code = ("from imdb_course.instructor.course import find_solutions, course_settings, shipped_course_dir; "
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
    assert "imdb_course/instructor/course.py" in names and "imdb_course/course/assignments/01_epochs.ipynb" in names
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
    assert " ok " in ada and "8/11" in ada, ada   # 8 automatic points; the 3 written points wait for the instructor
    assert (tmp_path/"imdb-course-demo"/"grading"/"gradebook.sqlite").is_file()
    canvas = (tmp_path/"imdb-course-demo"/"canvas.csv").read_text().splitlines()   # the rest of the loop
    assert canvas[0].startswith("Student,ID,SIS User ID") and "Points Possible" in canvas[1] and len(canvas) == 2 + 6
    assert "copy detection: " in r.stdout and "imdb-course review" in r.stdout
    import pandas as pd
    pairs = pd.read_csv(next((tmp_path/"imdb-course-demo"/"grading").rglob("similarity.csv")))
    copied = pairs[(pairs.student_a + pairs.student_b).str.contains("fay_copied_from_dee")
                   & (pairs.student_a + pairs.student_b).str.contains("dee_no_embedding")]
    assert copied.flagged.all() and len(copied) == 1


# --- a student's install (issues 23.4 and 24.5) ------------------------------------------------------------------
# Fresh venvs that see the scientific stack and Keras but no Keras backend (no TensorFlow, no JAX): (a) as such, where
# the first cell must install a backend; (b) with a `tensorflow` already installed, as on Colab, which it must keep.
# Real TensorFlow wheels are far too big per test: a tiny fake dist (a `tensorflow` module with a version) stands in.
_BACKENDS = ("tensorflow", "tensorflow_cpu", "jax", "jaxlib")


@pytest.fixture(scope="module")
def farm_without_backend(tmp_path_factory):
    "The running venv's site-packages minus imdb_course, pip, setuptools and every Keras backend, as symlinks."
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp_path_factory.mktemp("deps-nobackend")
    farm.chmod(0o755)
    for entry in site.iterdir():
        if entry.name.startswith(_SKIP) or entry.suffix == ".pth" or entry.name.split("-")[0] in _BACKENDS: continue
        (farm/entry.name).symlink_to(entry)
    return farm


def fake_wheel(dest:Path, dist:str, version:str, module:str="tensorflow") -> Path:
    "A minimal wheel of distribution `dist` (`version`) holding an importable `module`."
    stem = dist.replace("-", "_")
    path = dest/f"{stem}-{version}-py3-none-any.whl"
    info = f"{stem}-{version}.dist-info"
    files = {f"{module}/__init__.py": f'__version__ = "{version}"  # a stand-in for the real package\n',
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: imdb-course-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for n, text in files.items(): z.writestr(n, text)
    return path


@pytest.fixture(scope="module")
def student_wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("student-wheel"))


def test_student_wheel_requires_no_instructor_tools(student_wheel):
    meta = zipfile.ZipFile(student_wheel).read(f"imdb_course-{student_wheel.name.split('-')[1]}.dist-info/METADATA").decode()
    requires = [l.split(":", 1)[1].strip() for l in meta.splitlines() if l.startswith("Requires-Dist:")]
    plain = [r for r in requires if "extra ==" not in r]
    names = {re.split(r"[ ;<>=!\[]", r)[0].lower() for r in plain}
    assert names == {"keras", "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn", "platformdirs", "fastcore"}, plain
    for extra, needs in {"instructor": {"papermill", "flask", "copydetect", "nbclient"}, "dask": {"dask"},
                         "tensorflow": {"tensorflow", "tensorflow-cpu"}}.items():
        got = {re.split(r"[ ;<>=!\[]", r)[0].lower() for r in requires if f'extra == "{extra}"' in r}
        assert needs <= got, (extra, got)


def _first_cell(tmp_path:Path, wheel:Path) -> Path:
    "The released first cell as a script, in a folder holding the student wheel and a decoy that sorts after it as text."
    from imdb_course.instructor.release import install_cell
    folder = tmp_path/"assignment"
    folder.mkdir()
    shutil.copy(wheel, folder/wheel.name)
    version = wheel.name.split("-")[1]
    (folder/f"imdb_course-{version}rc1-py3-none-any.whl").write_text("not a wheel: a text sort would pick me")
    cell = folder/"first_cell.py"
    cell.write_text(install_cell("") + "\nimport imdb_course.checks, imdb_course.config\nprint('imported', imdb_course.__file__)\n")
    return cell


def _dist_version(py:Path, dist:str, cwd:Path) -> str:
    code = f"import importlib.metadata as m\ntry: print(m.version({dist!r}))\nexcept m.PackageNotFoundError: print('absent')"
    return _run([py, "-c", code], cwd).stdout.strip()


def test_first_cell_installs_a_backend_only_where_none_is(tmp_path, farm_without_backend, student_wheel):
    "(a) No Keras backend: the cell installs the kit and TensorFlow (here a stand-in from a local folder), and says so."
    py = make_venv(tmp_path/"venv", farm_without_backend)
    links = tmp_path/"links"
    fake_wheel(links, "tensorflow-cpu", "2.99.0")
    cell = _first_cell(tmp_path, student_wheel)
    r = _run([py, cell], cell.parent, env=_env(PIP_FIND_LINKS=str(links)), timeout=600)
    out = r.stdout
    assert f"installing {cell.parent/student_wheel.name} and TensorFlow (no Keras backend found)" in out, out
    assert "Successfully installed" in out and "tensorflow-cpu-2.99.0" in out  # pip's own output is shown
    assert "is ready" in out and f"imported {tmp_path/'venv'}" in out, out
    assert _dist_version(py, "tensorflow-cpu", tmp_path) == "2.99.0"


def test_first_cell_keeps_an_installed_tensorflow(tmp_path, farm_without_backend, student_wheel):
    "(b) Colab: a `tensorflow` is installed; the cell installs the kit beside it and replaces nothing."
    py = make_venv(tmp_path/"venv", farm_without_backend)
    _run([py, "-m", "pip", "install", "-q", "--no-deps", fake_wheel(tmp_path/"colab", "tensorflow", "2.98.0")], tmp_path)
    links = tmp_path/"links"
    fake_wheel(links, "tensorflow", "2.99.0")  # a newer one pip could reach: it must not take it
    fake_wheel(links, "tensorflow-cpu", "2.99.0")
    keras = _dist_version(py, "keras", tmp_path)
    cell = _first_cell(tmp_path, student_wheel)
    r = _run([py, cell], cell.parent, env=_env(PIP_FIND_LINKS=str(links)), timeout=600)
    assert f"keeping tensorflow==2.98.0, keras=={keras} as installed" in r.stdout, r.stdout
    assert "no Keras backend" not in r.stdout and f"imported {tmp_path/'venv'}" in r.stdout, r.stdout
    assert _dist_version(py, "tensorflow", tmp_path) == "2.98.0" and _dist_version(py, "tensorflow-cpu", tmp_path) == "absent"
    assert _dist_version(py, "keras", tmp_path) == keras
    # run again: imdb_course is there now, the cell installs nothing
    r = _run([py, cell], cell.parent)
    assert "installing" not in r.stdout and "imported" in r.stdout


def test_command_needing_the_instructor_extra_says_what_to_install(tmp_path, monkeypatch, capsys):
    "A student install has no papermill: `imdb-course run` names the extra instead of a bare ModuleNotFoundError."
    from imdb_course.cli import main
    nb = tmp_path/"nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    monkeypatch.setitem(sys.modules, "papermill", None)  # `import papermill` now raises ModuleNotFoundError
    assert main(["run", str(nb)]) == 2
    err = capsys.readouterr().err
    assert "imdb-course run: papermill is not installed" in err and 'pip install "imdb-course[instructor]"' in err, err
