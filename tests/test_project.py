"""Project-level checks: the package is what nbs/ exports, notebooks are clean and pass their own tests,
the README is generated from nbs/index.ipynb, the course settings are valid."""
import configparser, os, shutil, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name):
    exe = BIN/name
    if not exe.exists(): exe = shutil.which(name)
    if not exe: pytest.fail(f"{name} not found: install the dev extra (pip install -e '.[dev]')")
    return str(exe)


def test_package_is_what_nbs_export(tmp_path):
    for item in ("nbs", "imdb_course", "pyproject.toml"):
        src = ROOT/item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path/item)
    subprocess.run([_tool("nbdev-export")], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    pkg, out = ROOT/"imdb_course", tmp_path/"imdb_course"
    rel = lambda root: {str(p.relative_to(root)) for p in root.rglob("*.py") if "course" not in p.relative_to(root).parts[:1]}
    stale = sorted(r for r in rel(pkg) if not (out/r).is_file() or (out/r).read_text() != (pkg/r).read_text())
    new = sorted(rel(out) - rel(pkg))  # subpackages too (imdb_course/grading/)
    assert not stale and not new, f"imdb_course/ differs from what nbs/ exports: {stale + new}; run nbdev-export"


def test_notebooks_are_clean(tmp_path):
    nbs = sorted(p.relative_to(ROOT/"nbs") for p in (ROOT/"nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for nb in nbs:
        (tmp_path/nb).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT/"nbs"/nb, tmp_path/nb)
    subprocess.run([_tool("nbdev-clean"), "--fname", str(tmp_path)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    dirty = [str(nb) for nb in nbs if (tmp_path/nb).read_bytes() != (ROOT/"nbs"/nb).read_bytes()]
    assert not dirty, f"notebooks not cleaned: {dirty}; run nbdev-clean"


def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"make_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shipped_course_is_synced():
    "imdb_course/course/ (package data) is a byte-identical copy of solutions/, assignments/ and settings.ini."
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"sync_course.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    shipped = ROOT/"imdb_course"/"course"
    for d in ("solutions", "assignments"):
        for p in (ROOT/d).glob("*.ipynb"): assert (shipped/d/p.name).read_bytes() == p.read_bytes(), f"{d}/{p.name}"
    assert (shipped/"settings.ini").read_bytes() == (ROOT/"settings.ini").read_bytes()


def test_nbdev_notebook_tests_pass():
    r = subprocess.run([_tool("nbdev-test"), "--n-workers", "2", "--do-print"], cwd=ROOT, capture_output=True,
                       text=True, timeout=1500, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert "Completed" in r.stdout + r.stderr


def test_settings_ini_is_course_config_only():
    cfg = configparser.ConfigParser(default_section="__none__")
    cfg.read(ROOT/"settings.ini")
    assert "DEFAULT" not in cfg.sections() and {"data", "grading"} <= set(cfg.sections())
    from imdb_course.config import load_settings
    s = load_settings(ROOT/"settings.ini")
    assert s.data["num_words"] >= 4


def test_no_export_directives_in_exercise_notebooks():
    leaks = [p.name for d in ("solutions", "assignments") for p in (ROOT/d).glob("*.ipynb")
             if "#| export" in p.read_text() or "#| default_exp" in p.read_text()]
    assert not leaks, f"nbdev directives in exercise notebooks: {leaks}"


def test_console_script_runs():
    exe = BIN/"imdb-course"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "imdb_course.cli"]
    r = subprocess.run(cmd + ["data", "--source", "sample", "--num-words", "2000"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "the bundled sample" in r.stdout and "review #0" in r.stdout
    r = subprocess.run(cmd + ["data", "--source", "/nonexistent/aclImdb.tar.gz"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def _package_imports() -> dict:
    "module -> {imported module: names} for every `imdb_course` import in the package (lazy imports in functions included)."
    import ast
    pkg, graph = ROOT/"imdb_course", {}
    for f in sorted(pkg.rglob("*.py")):
        if f.name == "_modidx.py": continue
        mod = ".".join(("imdb_course",) + f.relative_to(pkg).with_suffix("").parts).removesuffix(".__init__")
        deps = graph.setdefault(mod, {})
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
                for _ in range(max(node.level - 1, 0)): base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
                if target and target.startswith("imdb_course") and target != "imdb_course":
                    deps.setdefault(target, set()).update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("imdb_course."): deps.setdefault(a.name, set())
    return graph


LAYERS = ("library", "grading", "records", "instructor", "entry")  # imports run this way only (../shared/DESIGN.md)
ENTRY = {"imdb_course.cli", "imdb_course.validate"}  # the command line and the student's pre-check, over everything


def layer(mod:str) -> int:
    "The layer of a module: the student library (top-level modules), the grading engine, the records, the instructor's tools, the entry points."
    if mod in ENTRY: return LAYERS.index("entry")
    sub = mod.split(".")[1] if mod.count(".") >= 2 else None
    return LAYERS.index(sub) if sub in LAYERS else LAYERS.index("library")


def test_layers_import_one_way():
    "student library → grading → records → instructor → cli: no module imports a later layer (lazy imports included)."
    up = [f"{m} ({LAYERS[layer(m)]}) imports {d} ({LAYERS[layer(d)]})" for m, deps in _package_imports().items()
          for d in deps if layer(d) > layer(m)]
    assert not up, f"imports against the layers {LAYERS}: {up}; move the shared code down a layer"


def test_subpackages_are_the_layers():
    "Every module of the package is in a known layer: the top-level modules are the student library and the entry points."
    subs = {p.name for p in (ROOT/"imdb_course").iterdir() if p.is_dir() and (p/"__init__.py").is_file()}
    assert subs == {"grading", "records", "instructor"}, subs


def _notebook_order() -> dict:
    "module -> (layer, notebook path) of the notebook exporting it."
    import json, re
    out = {}
    for nb in (ROOT/"nbs").rglob("*.ipynb"):
        src = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", src, re.M)
        if m: out["imdb_course." + m.group(1)] = (layer("imdb_course." + m.group(1)), str(nb.relative_to(ROOT/"nbs")), src)
    return out


def test_no_notebook_imports_a_later_one():
    "Read in order (layer, then number), each notebook uses only modules of the notebooks before it."
    import re
    order = _notebook_order()
    late = []
    for mod, (lay, path, src) in order.items():
        for dep in set(re.findall(r"(?:from|import) (imdb_course(?:\.\w+)+)", src)):
            dep = dep if dep in order else dep.rpartition(".")[0]
            if dep in order and dep != mod and (order[dep][0], order[dep][1]) > (lay, path):
                late.append(f"{path} imports {dep} ({order[dep][1]})")
    assert not late, f"notebooks importing a later notebook: {late}; renumber them or move the code"


def test_package_imports_have_no_cycle():
    "Imports run one way: no module reaches itself."
    graph = _package_imports()
    def visit(m, path):
        if m in path: raise AssertionError(f"import cycle: {' → '.join(path[path.index(m):] + [m])}; move the shared code down")
        for d in graph.get(m, {}): visit(d, path + [m])
    for m in graph: visit(m, [])


def test_subpackages_have_no_cycle():
    "The same one-way order with each subpackage as one node: nothing a subpackage imports imports it back."
    top = lambda m: ".".join(m.split(".")[:2]) if m.count(".") >= 2 else m
    graph = {}
    for m, deps in _package_imports().items():
        graph.setdefault(top(m), set()).update(top(d) for d in deps if top(d) != top(m))
    def visit(m, path):
        if m in path: raise AssertionError(f"import cycle: {' → '.join(path[path.index(m):] + [m])}; move the shared code down")
        for d in graph.get(m, ()): visit(d, path + [m])
    for m in graph: visit(m, [])


def test_no_private_name_imported_across_modules():
    "What modules share is public: no `from imdb_course.x import _y`."
    leaks = [f"{m} imports {n} from {d}" for m, deps in _package_imports().items() for d, names in deps.items()
             for n in names if n.startswith("_") and n != "__version__"]
    assert not leaks, f"private names imported across modules (make them public): {leaks}"


def test_every_package_import_resolves():
    "Every `imdb_course` import in the package (lazy ones in functions too) names a module that exists, or a name its module defines."
    import ast, importlib
    pkg = ROOT/"imdb_course"
    exists = lambda mod: (pkg.parent/mod.replace(".", "/")).with_suffix(".py").is_file() or (pkg.parent/mod.replace(".", "/")/"__init__.py").is_file()
    missing = []
    for f in sorted(pkg.rglob("*.py")):
        if f.name == "_modidx.py": continue
        mod = ".".join(("imdb_course",) + f.relative_to(pkg).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
                for _ in range(max(node.level - 1, 0)): base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
                if not (target or "").startswith("imdb_course"): continue
                if not exists(target): missing.append(f"{mod}: from {target} import …"); continue
                m = importlib.import_module(target)
                for a in node.names:
                    if a.name != "*" and not hasattr(m, a.name) and not exists(f"{target}.{a.name}"):
                        missing.append(f"{mod}: {a.name} from {target}")
            elif isinstance(node, ast.Import):
                missing += [f"{mod}: import {a.name}" for a in node.names if a.name.startswith("imdb_course.") and not exists(a.name)]
    assert not missing, f"imports of the package that do not resolve (a module moved?): {missing}"
