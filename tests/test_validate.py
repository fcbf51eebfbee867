"""`imdb-course validate` says what the grader will say: on fixture notebooks (tests/fixtures/submissions) the finding
codes of `validate` (static inspection + a small run, no reference, no hidden data) equal those the grader gives
(`validate.finding_codes` of the graded result: run codes and error/warning diagnoses, minus the budget-dependent ones)."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

from imdb_course.instructor.grade import grade_folder
from imdb_course.records.gradebook import Gradebook
from imdb_course.validate import BUDGET_CODES, JOB_ENV, VALIDATE_CELL, finding_codes, validate, validate_this_notebook

F = Path(__file__).resolve().parent/"fixtures"
SUBS, TEMPLATE, SETTINGS = F/"submissions", F/"mini_assignment"/"solutions"/"mini.ipynb", F/"mini_assignment"/"settings.ini"
# a clean one, the classic "passes locally" (EPOCHS hard-coded), no parameters tag, an exception, a damaged file
CASES = ["correct", "hardcoded_epochs", "missing_parameters", "q2_exception", "corrupted_json"]
# the same limits for the grader and validate, roomy enough for a loaded CI machine (a 120 s cell limit cut an honest
# set-up cell once at load 30 on 2 cores): the comparison is about findings, not about timing
LIMITS = {"cell_timeout": 300, "notebook_timeout": 900}
KW = dict(template=TEMPLATE, settings=SETTINGS)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("validate")
    subs = base/"subs"; subs.mkdir()
    for c in CASES: shutil.copy(SUBS/f"{c}.ipynb", subs)
    grade_folder(subs, "mini", out=base/"out", workers=2, solutions_dir=TEMPLATE.parent, settings=SETTINGS, progress=False,
                 limits=LIMITS)
    with Gradebook(base/"out") as gb: return {r.student: r for r in gb.results("mini")}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_validate_agrees_with_the_grader(graded, case):
    v = validate(SUBS/f"{case}.ipynb", "mini", limits=LIMITS, **KW)
    grader = finding_codes(graded[case])
    assert v.codes == grader, (case, v.codes, grader, v.text())
    assert v.ok == (not grader), v.text()                       # clean for the grader <=> clean for validate
    assert v.status == graded[case].status
    assert "points" not in json.dumps(v.to_dict())              # no points, no reference
    if case == "hardcoded_epochs": assert {"hardcoded-parameter", "param-overridden"} <= set(v.codes)
    if case == "correct": assert v.codes == [] and "No problem found" in v.text()


def test_static_is_the_graders_inspection():
    v = validate(SUBS/"hardcoded_epochs.ipynb", "mini", run=False, **KW)
    assert (v.status, v.codes, v.ok) == ("static", ["hardcoded-parameter"], False)
    v = validate(SUBS/"corrupted_json.ipynb", "mini", run=False, **KW)
    assert (v.status, v.codes) == ("invalid", ["invalid-json", "invalid-notebook"]) and "not valid JSON" in v.findings[0]["message"]


def test_cli_exit_codes_and_json(tmp_path):
    run = lambda *a: subprocess.run([str(Path(sys.executable).parent/"imdb-course"), "validate", *map(str, a), "--assignment", "mini",
                                     "--template", str(TEMPLATE), "--settings", str(SETTINGS)],
                                    capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    bad = run(SUBS/"missing_parameters.ipynb", "--static", "--json")
    assert bad.returncode == 1, bad.stderr          # a notebook mistake the grader reports: exit 1
    assert json.loads(bad.stdout)["codes"] == ["missing-parameters-cell"]
    worse = run(SUBS/"hardcoded_epochs.ipynb", "--static")
    assert worse.returncode == 1 and "✗ hardcoded-parameter" in worse.stdout


def test_the_assignment_line(tmp_path, monkeypatch, capsys):
    "The one line for each assignment's last cell: a no-op while graded; otherwise it validates the notebook it names."
    assert VALIDATE_CELL.startswith("from imdb_course.validate import validate_this_notebook; validate_this_notebook()")
    assert "\n" not in VALIDATE_CELL
    monkeypatch.setenv(JOB_ENV, "some-run")
    assert validate_this_notebook(SUBS/"correct.ipynb") is None and capsys.readouterr().out == ""
    monkeypatch.delenv(JOB_ENV)
    v = validate_this_notebook(SUBS/"hardcoded_epochs.ipynb", assignment="mini", run=False, **KW)
    out = capsys.readouterr().out
    assert v.codes == ["hardcoded-parameter"] and "as saved at" in out and "✗ hardcoded-parameter" in out
    monkeypatch.setenv("JPY_SESSION_NAME", str(SUBS/"missing_parameters.ipynb"))   # Jupyter tells the kernel its notebook
    v = validate_this_notebook(assignment="mini", run=False, **KW)
    assert v.notebook == (SUBS/"missing_parameters.ipynb").resolve() and v.codes == ["missing-parameters-cell"]


def test_budget_codes_are_only_budget_ones():
    assert not BUDGET_CODES & {"hardcoded-parameter", "param-overridden", "missing-artifact", "wrong-cell", "history-too-long"}


def test_runs_on_the_students_backend_without_jax(tmp_path, monkeypatch):
    "`[grading.mini] backend = jax` and no JAX here (hidden as `grading_limits` looks for it): validate runs on the student's own backend and says so."
    import importlib.util
    from imdb_course.config import load_settings
    p = tmp_path/"settings.ini"
    p.write_text(SETTINGS.read_text() + "\n[grading.mini]\nbackend = jax\n")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    own = load_settings(p).course.get("backend") or "tensorflow"
    v = validate(SUBS/"correct.ipynb", "mini", template=TEMPLATE, settings=p, limits=LIMITS)
    assert (v.status, v.codes, v.ok) == ("ok", [], True), v.text()
    assert (v.backend, v.grader_backend) == (own, "jax")
    assert f"Ran on your Keras backend, {own} (jax is not installed here); the grader uses jax" in v.text(), v.text()
    assert "JAX is not installed" not in v.text()
